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
      v.packed = s.inline_packed();
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

/// What an edit of the window [lo, hi] needs to know about the chunk around it,
/// read in one pass before the edit: with the chunk's counts, enough for its exact
/// counts after granting or revoking the window (after_grant(), after_revoke()).
/// The pass reads the window, the page on either side of it and the rest of its
/// first and last words: the offsets survey_lo(lo) .. survey_hi(hi).
struct census {
  std::uint32_t pages = 0;  // granted pages in [lo, hi]
  std::uint32_t runs = 0;   // runs of those pages, cut at lo and hi
  std::uint32_t words = 0;  // nonzero words among [lo / 64, hi / 64]
  bool below = false;       // lo - 1 is granted (lo > 0)
  bool first = false;       // lo is granted
  bool last = false;        // hi is granted
  bool above = false;       // hi + 1 is granted (hi < last_offset)
  bool head_rest = false;   // a page of [lo & ~63, lo - 1] is granted
  bool tail_rest = false;   // a page of [hi + 1, hi | 63] is granted
  /// Where the kind's search for the window ended (its own entry index: the first
  /// entry of the census's reach), so that an edit right after need not search
  /// again; no_entry when the census does not say.
  std::uint32_t at = no_entry;
  static constexpr std::uint32_t no_entry = ~0u;
};

/// The first and the last offset a census of [lo, hi] reads.
[[nodiscard]] constexpr std::uint32_t survey_lo(std::uint32_t lo) noexcept {
  return (lo & 63u) != 0 ? (lo & ~63u) : (lo > 0 ? lo - 1 : 0u);
}
[[nodiscard]] constexpr std::uint32_t survey_hi(std::uint32_t hi) noexcept {
  return (hi & 63u) != 63u ? (hi | 63u) : (hi < last_offset ? hi + 1 : hi);
}

/// Takes a census from the chunk's maximal runs (ascending, disjoint; a run may be
/// cut where it leaves [survey_lo(lo), survey_hi(hi)], and runs wholly outside it
/// may be fed or not).
class census_builder {
 public:
  constexpr census_builder(std::uint32_t lo, std::uint32_t hi) noexcept : lo_(lo), hi_(hi) {}
  constexpr void add(std::uint32_t f, std::uint32_t l) noexcept {
    if (lo_ > 0 && f < lo_ && lo_ - 1 <= l) c_.below = true;
    if (f <= lo_ && lo_ <= l) c_.first = true;
    if (f <= hi_ && hi_ <= l) c_.last = true;
    if (hi_ < last_offset && f <= hi_ + 1 && hi_ < l) c_.above = true;
    const std::uint32_t pf = f > lo_ ? f : lo_, pl = l < hi_ ? l : hi_;
    if (pf <= pl) {
      c_.pages += pl - pf + 1;
      ++c_.runs;
    }
    const std::uint32_t wf = f > (lo_ & ~63u) ? f : (lo_ & ~63u), wt = l < (hi_ | 63u) ? l : (hi_ | 63u);
    if (wf <= wt) wc_.add(wf, wt);
    if ((lo_ & 63u) != 0 && f < lo_ && l >= (lo_ & ~63u)) c_.head_rest = true;
    if ((hi_ & 63u) != 63u && l > hi_ && f <= (hi_ | 63u)) c_.tail_rest = true;
  }
  [[nodiscard]] constexpr census done() noexcept {
    c_.words = wc_.words;
    return c_;
  }

 private:
  std::uint32_t lo_, hi_;
  census c_;
  word_counter wc_;
};

/// The census of [lo, hi] from a chunk given as words: word(i) returns word i of
/// its bitmap (called for ascending i from the word of survey_lo(lo) to the word of
/// survey_hi(hi), each once). A window inside one word, the common case, costs a
/// few masks.
template <class Word>
[[nodiscard]] constexpr census census_of_words(std::uint32_t lo, std::uint32_t hi, Word&& word) noexcept {
  census c;
  const std::uint32_t wl = lo >> 6, wh = hi >> 6;
  const unsigned bl = lo & 63u, bh = hi & 63u;
  const word_t from_lo = mask_from(bl), to_hi = mask_through(bh);
  if (bl == 0 && lo > 0) c.below = (word(wl - 1) >> 63) != 0;
  const word_t x0 = word(wl);
  if (bl != 0) {
    c.below = ((x0 >> (bl - 1)) & 1u) != 0;
    c.head_rest = (x0 & ~from_lo) != 0;
  }
  c.first = ((x0 >> bl) & 1u) != 0;
  word_t x = x0;
  if (wl == wh) {
    const word_t in = x0 & from_lo & to_hi;
    c.pages = bit_count(in);
    c.runs = bit_count(in & ~(in << 1));
    c.words = x0 != 0 ? 1u : 0u;
  } else {
    word_t in = x0 & from_lo;
    c.pages = bit_count(in);
    c.runs = bit_count(in & ~(in << 1));
    c.words = x0 != 0 ? 1u : 0u;
    for (std::uint32_t wi = wl + 1; wi <= wh; ++wi) {
      x = word(wi);
      const word_t carry = in >> 63;
      in = wi == wh ? x & to_hi : x;
      c.pages += bit_count(in);
      c.runs += bit_count(in & ~((in << 1) | carry));
      c.words += x != 0 ? 1u : 0u;
    }
  }
  c.last = ((x >> bh) & 1u) != 0;
  if (bh != 63u) {
    c.above = ((x >> (bh + 1)) & 1u) != 0;
    c.tail_rest = (x & ~to_hi) != 0;
  } else if (hi < last_offset) {
    c.above = (word(wh + 1) & 1u) != 0;
  }
  return c;
}

/// The census of a window that lies strictly inside one run (its pages and the
/// pages on either side all granted): what a revoke that splits the run reads.
[[nodiscard]] constexpr census census_inside_run(std::uint32_t lo, std::uint32_t hi) noexcept {
  census c;
  c.pages = hi - lo + 1;
  c.runs = 1;
  c.words = (hi >> 6) - (lo >> 6) + 1;
  c.below = c.first = c.last = c.above = true;
  c.head_rest = (lo & 63u) != 0;
  c.tail_rest = (hi & 63u) != 63u;
  return c;
}

/// The counts after granting [lo, hi]: the window's runs become one, joined with
/// the runs on either side of it.
[[nodiscard]] constexpr stats after_grant(stats s, std::uint32_t lo, std::uint32_t hi, const census& c) noexcept {
  const std::uint32_t joined = (c.below && c.first ? 1u : 0u) + (c.last && c.above ? 1u : 0u);
  return stats{s.pages + (hi - lo + 1) - c.pages,
               s.runs - c.runs + joined + 1u - (c.below ? 1u : 0u) - (c.above ? 1u : 0u),
               s.words - c.words + ((hi >> 6) - (lo >> 6) + 1)};
}

/// The counts after revoking [lo, hi]: the window's runs go, runs that crossed its
/// ends are cut there, and of its words only the first and last may keep pages.
[[nodiscard]] constexpr stats after_revoke(stats s, std::uint32_t lo, std::uint32_t hi, const census& c) noexcept {
  const std::uint32_t cut = (c.below && c.first ? 1u : 0u) + (c.last && c.above ? 1u : 0u);
  const std::uint32_t kept = (lo >> 6) == (hi >> 6) ? (c.head_rest || c.tail_rest ? 1u : 0u)
                                                    : (c.head_rest ? 1u : 0u) + (c.tail_rest ? 1u : 0u);
  return stats{s.pages - c.pages, s.runs - c.runs + cut, s.words - c.words + kept};
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
  [[nodiscard]] static census survey(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    census_builder b(lo, hi);
    Kind::walk(v, survey_lo(lo), survey_hi(hi), [&](std::uint32_t f, std::uint32_t l) noexcept {
      b.add(f, l);
      return true;
    });
    return b.done();
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
