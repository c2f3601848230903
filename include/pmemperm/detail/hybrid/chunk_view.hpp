// pmemperm/detail/hybrid/chunk_view.hpp — what every container kind shares: a
// read-only view of a chunk held inline or in a container, the counts an in-place
// edit needs about its window, and the run-stream algorithms written once for all
// kinds (each kind's header overrides them where it can do better).
//
// Every function here works on offsets within one chunk, costs O(entries or words
// it touches) and never fails.
#pragma once

#include "../../config.hpp"

#include <cstdint>

#include "layout.hpp"

namespace pmemperm::detail::hyb {

/// A read-only view of one chunk held inline or in a container.
struct view {
  rep kind = rep::empty;
  const header* h = nullptr;  // containers
  std::uint64_t packed = 0;   // inline: the offsets, lowest first
  std::uint32_t n = 0;        // inline: how many

  [[nodiscard]] static view of(const slot& s) noexcept {
    view v;
    if (s.is_inline()) {
      v.kind = rep::inline_pages;
      v.packed = s.tail;
      v.n = s.inline_count();
    } else {
      v.h = container_of(s);
      v.kind = v.h->kind();
    }
    return v;
  }
  [[nodiscard]] static view of(const header* h) noexcept { return view{h->kind(), h, 0, 0}; }
  [[nodiscard]] std::uint32_t inline_at(std::uint32_t i) const noexcept {
    return static_cast<std::uint32_t>((packed >> (16 * i)) & 0xFFFFu);
  }
};

/// Counts about the window [lo, hi] of an in-place edit, taken before it.
struct window_counts {
  std::uint32_t pages = 0;   // pages in [lo, hi]
  std::uint32_t starts = 0;  // run starts in [lo, hi + 1]
  std::uint32_t words = 0;   // nonzero words among [lo / 64, hi / 64]
  bool below = false;        // page lo - 1 is granted (lo > 0)
};

/// The counts after granting [lo, hi], from the window's counts before: the window
/// then holds one run starting at lo (unless it joins the page below), all of its
/// pages, and every word it spans.
[[nodiscard]] constexpr stats stats_after_grant(stats s, std::uint32_t lo, std::uint32_t hi,
                                                window_counts before) noexcept {
  return stats{s.pages + (hi - lo + 1) - before.pages, s.runs + (before.below ? 0u : 1u) - before.starts,
               s.words + ((hi >> 6) - (lo >> 6) + 1) - before.words};
}

/// The shared, walk-based algorithms. `Kind` supplies walk(view, lo, hi, f) and
/// contains(view, off); a kind uses these where it has nothing faster.
template <class Kind>
struct by_walk {
  [[nodiscard]] static bool contains_all(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    bool all = false;
    Kind::walk(v, lo, hi, [&](std::uint32_t f, std::uint32_t l) noexcept {
      all = f == lo && l == hi;
      return false;
    });
    return all;
  }
  [[nodiscard]] static bool contains_any(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    return !Kind::walk(v, lo, hi, [](std::uint32_t, std::uint32_t) noexcept { return false; });
  }
  [[nodiscard]] static std::uint32_t nonzero_words(const view& v, std::uint32_t wl, std::uint32_t wh) noexcept {
    word_counter wc;
    Kind::walk(v, wl << 6, (wh << 6) | 63u, [&](std::uint32_t f, std::uint32_t l) noexcept {
      wc.add(f, l);
      return true;
    });
    return wc.words;
  }
  [[nodiscard]] static window_counts count_window(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    window_counts c;
    c.below = lo > 0 && Kind::contains(v, lo - 1);
    const std::uint32_t end = hi < last_offset ? hi + 1 : hi;
    bool first_piece = true;
    Kind::walk(v, lo, end, [&](std::uint32_t f, std::uint32_t l) noexcept {
      if (!(first_piece && f == lo && c.below)) ++c.starts;
      first_piece = false;
      const std::uint32_t l2 = l > hi ? hi : l;
      if (f <= l2) c.pages += l2 - f + 1;
      return true;
    });
    c.words = Kind::nonzero_words(v, lo >> 6, hi >> 6);
    return c;
  }
};

/// Merges the pages [lo, hi] into a run stream: calls emit(first, last) for each
/// maximal run of (old ∪ [lo, hi]), where old(f) produces the old runs ascending.
template <class Old, class Emit>
void union_runs(Old&& old, std::uint32_t lo, std::uint32_t hi, Emit&& emit) noexcept {
  bool have = false, placed = false;
  std::uint32_t pf = 0, pl = 0;
  auto push = [&](std::uint32_t f, std::uint32_t l) noexcept {
    if (have && f <= pl + 1) {
      if (l > pl) pl = l;
      return;
    }
    if (have) emit(pf, pl);
    pf = f;
    pl = l;
    have = true;
  };
  old([&](std::uint32_t f, std::uint32_t l) noexcept {
    if (!placed && lo <= f) {
      push(lo, hi);
      placed = true;
    }
    push(f, l);
    return true;
  });
  if (!placed) push(lo, hi);
  if (have) emit(pf, pl);
}

}  // namespace pmemperm::detail::hyb
