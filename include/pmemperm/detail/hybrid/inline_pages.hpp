// pmemperm/detail/hybrid/inline_pages.hpp — a chunk of up to four pages, kept
// inside its index slot: no container, no allocation.
//
// The slot's tail packs the offsets, lowest first, 16 bits each; the head holds
// the count (slot::inline_pages()). Every function is O(pages held), at most four.
#pragma once

#include "../../config.hpp"

#include <cstdint>

#include "chunk_view.hpp"

namespace pmemperm::detail::hyb {

struct inline_pages {
  static constexpr rep kind = rep::inline_pages;

  [[nodiscard]] static bool contains(const view& v, std::uint32_t off) noexcept {
    for (std::uint32_t i = 0; i < v.n; ++i)
      if (v.inline_at(i) == off) return true;
    return false;
  }

  /// Calls f(first, last) -> bool for each maximal run clipped to [lo, hi],
  /// ascending; false if f stopped it.
  template <class F>
  static bool walk(const view& v, std::uint32_t lo, std::uint32_t hi, F&& f) noexcept {
    std::uint32_t i = 0;
    while (i < v.n && v.inline_at(i) < lo) ++i;
    while (i < v.n && v.inline_at(i) <= hi) {
      const std::uint32_t first = v.inline_at(i);
      std::uint32_t last = first;
      while (i + 1 < v.n && v.inline_at(i + 1) == last + 1 && last + 1 <= hi) {
        ++i;
        ++last;
      }
      ++i;
      if (!f(first, last)) return false;
    }
    return true;
  }

  [[nodiscard]] static bool contains_all(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    return by_walk<inline_pages>::contains_all(v, lo, hi);
  }
  [[nodiscard]] static bool contains_any(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    return by_walk<inline_pages>::contains_any(v, lo, hi);
  }
  [[nodiscard]] static std::uint32_t nonzero_words(const view& v, std::uint32_t wl, std::uint32_t wh) noexcept {
    return by_walk<inline_pages>::nonzero_words(v, wl, wh);
  }
  [[nodiscard]] static window_counts count_window(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    return by_walk<inline_pages>::count_window(v, lo, hi);
  }
  [[nodiscard]] static census survey(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    return by_walk<inline_pages>::survey(v, lo, hi);
  }

  /// The counts of the pages held.
  [[nodiscard]] static stats counts(const view& v) noexcept {
    stats_builder sb;
    walk(v, 0, last_offset, [&](std::uint32_t f, std::uint32_t l) noexcept {
      sb.add(f, l);
      return true;
    });
    return sb.s;
  }

  /// The slot holding the pages of a run stream (at most inline_capacity pages):
  /// `source(emit)` calls emit(first, last) for each run, ascending.
  template <class Source>
  [[nodiscard]] static slot pack(page_t base, Source&& source) noexcept {
    std::uint64_t packed = 0;
    std::uint32_t n = 0;
    source([&](std::uint32_t f, std::uint32_t l) noexcept {
      for (std::uint32_t o = f; o <= l; ++o) {
        PMEMPERM_ASSERT(n < inline_capacity);
        packed |= std::uint64_t{o} << (16 * n++);
      }
    });
    return slot::inline_pages(base, n, packed);
  }

  /// The slot without the offsets [lo, hi]; its inline_count() is 0 if none is left.
  [[nodiscard]] static slot without(const slot& s, std::uint32_t lo, std::uint32_t hi) noexcept {
    const view v = view::of(s);
    std::uint64_t packed = 0;
    std::uint32_t n = 0;
    for (std::uint32_t i = 0; i < v.n; ++i) {
      const std::uint32_t o = v.inline_at(i);
      if (o < lo || o > hi) packed |= std::uint64_t{o} << (16 * n++);
    }
    return slot::inline_pages(s.chunk(), n, packed);
  }
};

}  // namespace pmemperm::detail::hyb
