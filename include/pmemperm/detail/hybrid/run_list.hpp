// pmemperm/detail/hybrid/run_list.hpp — a chunk's pages as a sorted list of 16-bit
// {first, last} pairs (the container for a chunk of many short runs).
//
// Payload: uint16_t pair[cap][2], ascending and maximal; the header's run count is
// the length. The list always has a free pair beyond its runs (and one more per
// reserved revoke, which the hybrid adds), so that a revoke splitting a run needs
// no memory. Searches are O(log runs); edits move the list's tail, O(runs).
#pragma once

#include "../../config.hpp"

#include <cstdint>
#include <cstring>

#include "chunk_view.hpp"

namespace pmemperm::detail::hyb {

struct run_list {
  static constexpr rep kind = rep::run_list;

  /// The first pair whose last page is >= off.
  [[nodiscard]] static std::uint32_t find(const header* h, std::uint32_t off) noexcept {
    return lower_u16(keys_of(h) + 1, h->runs(), 2, off);
  }

  [[nodiscard]] static bool contains(const view& v, std::uint32_t off) noexcept {
    const std::uint16_t* a = keys_of(v.h);
    const std::uint32_t i = find(v.h, off);
    return i < v.h->runs() && a[2 * i] <= off;
  }

  /// Calls f(first, last) -> bool for each run clipped to [lo, hi], ascending;
  /// false if f stopped it.
  template <class F>
  static bool walk(const view& v, std::uint32_t lo, std::uint32_t hi, F&& f) noexcept {
    const std::uint16_t* a = keys_of(v.h);
    const std::uint32_t n = v.h->runs();
    for (std::uint32_t i = find(v.h, lo); i < n && a[2 * i] <= hi; ++i) {
      const std::uint32_t first = a[2 * i] < lo ? lo : a[2 * i];
      const std::uint32_t last = a[2 * i + 1] > hi ? hi : a[2 * i + 1];
      if (!f(first, last)) return false;
    }
    return true;
  }

  [[nodiscard]] static bool contains_all(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    const std::uint16_t* a = keys_of(v.h);
    const std::uint32_t i = find(v.h, lo);
    return i < v.h->runs() && a[2 * i] <= lo && a[2 * i + 1] >= hi;
  }
  [[nodiscard]] static bool contains_any(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    const std::uint16_t* a = keys_of(v.h);
    const std::uint32_t i = find(v.h, lo);
    return i < v.h->runs() && a[2 * i] <= hi;
  }

  [[nodiscard]] static std::uint32_t nonzero_words(const view& v, std::uint32_t wl, std::uint32_t wh) noexcept {
    const std::uint16_t* a = keys_of(v.h);
    const std::uint32_t n = v.h->runs(), lo = wl << 6, hi = (wh << 6) | 63u;
    word_counter wc;
    for (std::uint32_t i = find(v.h, lo); i < n && a[2 * i] <= hi; ++i)
      wc.add(a[2 * i] > lo ? a[2 * i] : lo, a[2 * i + 1] < hi ? a[2 * i + 1] : hi);
    return wc.words;
  }

  /// One search, then the few pairs around the window.
  [[nodiscard]] static window_counts count_window(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    window_counts c;
    const std::uint16_t* a = keys_of(v.h);
    const std::uint32_t n = v.h->runs();
    const std::uint32_t end = hi < last_offset ? hi + 1 : hi;
    const std::uint32_t below = lo > 0 ? lo - 1 : 0;
    const std::uint32_t wlo = (lo & ~63u) < below ? (lo & ~63u) : below;
    const std::uint32_t whi = (hi | 63u) > end ? (hi | 63u) : end;
    word_counter wc;
    for (std::uint32_t i = lower_u16(a + 1, n, 2, wlo); i < n && a[2 * i] <= whi; ++i) {
      const std::uint32_t f = a[2 * i], l = a[2 * i + 1];
      if (lo > 0 && f <= lo - 1 && lo - 1 <= l) c.below = true;
      if (f >= lo && f <= end) ++c.starts;
      const std::uint32_t pf = f > lo ? f : lo, pl = l < hi ? l : hi;
      if (pf <= pl) c.pages += pl - pf + 1;
      const std::uint32_t wf = f > (lo & ~63u) ? f : (lo & ~63u);
      const std::uint32_t wt = l < (hi | 63u) ? l : (hi | 63u);
      if (wf <= wt) wc.add(wf, wt);
    }
    c.words = wc.words;
    return c;
  }

  /// One search, then the pairs the census reads.
  [[nodiscard]] static census survey(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    const std::uint16_t* a = keys_of(v.h);
    const std::uint32_t n = v.h->runs();
    std::uint32_t from = 0;
    return census_from(a, n, lo, hi, lower_u16(a + 1, n, 2, survey_lo(lo)), from);
  }

  /// The census of [lo, hi] from the pairs a[0 .. n), reading from `first`, the
  /// first pair whose last page is >= survey_lo(lo); sets `from` to the first pair
  /// whose last page is >= lo (where an edit of the window starts). One pass over
  /// the pairs the census reads, with no branch on their values but the loops'.
  [[nodiscard]] PMEMPERM_HYB_INLINE static census census_from(const std::uint16_t* a, std::uint32_t n, std::uint32_t lo, std::uint32_t hi,
                                          std::uint32_t first, std::uint32_t& from) noexcept {
    census c;
    c.at = first;
    const std::uint32_t wlo = lo & ~63u, whi = hi | 63u;
    const bool head_word = (lo & 63u) != 0, tail_word = (hi & 63u) != 63u;
    std::uint32_t j = first;
    while (j < n && a[2 * j + 1] < lo) ++j;
    from = j;
    // Nonzero words among [lo / 64, hi / 64]: the words each pair meeting
    // [wlo, whi] spans there, less one where a pair starts in the word the one
    // before it ends in.
    std::uint32_t words = 0, pages = 0, prev_word = ~0u;
    auto count_words = [&](std::uint32_t f, std::uint32_t l) noexcept {
      const std::uint32_t fw = (f > wlo ? f : wlo) >> 6, lw = (l < whi ? l : whi) >> 6;
      words += lw - fw + 1 - (fw == prev_word ? 1u : 0u);
      prev_word = lw;
    };
    std::uint32_t i = head_word ? first : j;
    for (; i < j; ++i) count_words(a[2 * i], a[2 * i + 1]);  // in lo's word, below lo
    for (; i < n && a[2 * i] <= hi; ++i) {                    // meeting [lo, hi]
      const std::uint32_t f = a[2 * i], l = a[2 * i + 1];
      count_words(f, l);
      pages += (l < hi ? l : hi) - (f > lo ? f : lo) + 1;
    }
    const std::uint32_t k = i;
    if (tail_word)
      for (; i < n && a[2 * i] <= whi; ++i) count_words(a[2 * i], a[2 * i + 1]);  // in hi's word, above hi
    c.pages = pages;
    c.runs = k - j;
    c.words = words;
    const bool meets = k > j;
    const std::uint32_t fj = meets ? a[2 * j] : 0u, lk = meets ? a[2 * (k - 1) + 1] : 0u;
    c.first = meets && fj <= lo;
    c.last = meets && lk >= hi;
    c.below = lo > 0 && ((meets && fj < lo) || (j > first && a[2 * (j - 1) + 1] + 1u == lo));
    c.above = hi < last_offset && ((meets && lk > hi) || (k < n && a[2 * k] == hi + 1));
    c.head_rest = head_word && ((meets && fj < lo) || j > first);
    c.tail_rest = tail_word && ((meets && lk > hi) || i > k);
    return c;
  }

  /// Adds [lo, hi]: the runs touching [lo - 1, hi + 1] collapse into one.
  /// Precondition: cap >= the run count afterwards.
  static void grant(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
    grant_from(h, lo, hi, lower_u16(keys_of(h) + 1, h->runs(), 2, lo > 0 ? lo - 1 : 0));
  }
  /// The same after a survey() of the window, whose search it reuses.
  static void grant_at(header* h, std::uint32_t lo, std::uint32_t hi, const census& c) noexcept {
    if (c.at == census::no_entry) return grant(h, lo, hi);
    const std::uint16_t* a = keys_of(h);
    const std::uint32_t n = h->runs(), below = lo > 0 ? lo - 1 : 0;
    std::uint32_t from = c.at;  // the first pair whose last page is >= survey_lo(lo)
    while (from < n && a[2 * from + 1] < below) ++from;
    grant_from(h, lo, hi, from);
  }
  /// The same, given the first pair whose last page is >= lo - 1.
  static void grant_from(header* h, std::uint32_t lo, std::uint32_t hi, std::uint32_t from) noexcept {
    std::uint16_t* a = keys_of(h);
    const std::uint32_t n = h->runs();
    std::uint32_t to = from;
    while (to < n && a[2 * to] <= hi + 1) ++to;
    PMEMPERM_ASSERT(n + 1 - (to - from) <= h->cap());
    std::uint32_t f = lo, l = hi;
    if (to > from) {
      if (a[2 * from] < f) f = a[2 * from];
      if (a[2 * (to - 1) + 1] > l) l = a[2 * (to - 1) + 1];
    }
    std::memmove(a + 2 * (from + 1), a + 2 * to, (n - to) * 2 * sizeof(std::uint16_t));
    a[2 * from] = u16(f);
    a[2 * from + 1] = u16(l);
  }

  /// Whether removing [lo, hi] cuts a run in two (and so takes a free pair).
  [[nodiscard]] static bool splits(const header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
    const std::uint16_t* a = keys_of(h);
    const std::uint32_t i = find(h, lo);
    return i < h->runs() && a[2 * i] < lo && a[2 * i + 1] > hi;
  }

  /// Removes [lo, hi] and returns the census of the window taken before, in one
  /// search. Precondition: if splits(), cap > runs.
  PMEMPERM_HYB_INLINE static census revoke_counted(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
    const std::uint16_t* a = keys_of(h);
    const std::uint32_t n = h->runs();
    std::uint32_t i = find(h, lo);  // the first pair whose last page is >= lo
    if (i < n && a[2 * i] < lo && a[2 * i + 1] > hi) {  // a split, the common revoke: nothing more to read
      static_cast<void>(revoke_at(h, lo, hi, i));
      return census_inside_run(lo, hi);
    }
    const std::uint32_t from = survey_lo(lo);
    while (i > 0 && a[2 * (i - 1) + 1] >= from) --i;
    std::uint32_t at = 0;
    const census c = census_from(a, n, lo, hi, i, at);
    static_cast<void>(revoke_at(h, lo, hi, at));
    return c;
  }

  /// Removes [lo, hi] and returns the new run count. Precondition: if splits(),
  /// cap > runs.
  static std::uint32_t revoke(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
    return revoke_at(h, lo, hi, find(h, lo));
  }
  /// The same, given the first pair whose last page is >= lo.
  static std::uint32_t revoke_at(header* h, std::uint32_t lo, std::uint32_t hi, std::uint32_t from) noexcept {
    std::uint16_t* a = keys_of(h);
    const std::uint32_t n = h->runs();
    if (from < n && a[2 * from] < lo && a[2 * from + 1] > hi) {  // a split
      PMEMPERM_ASSERT(n < h->cap());
      std::memmove(a + 2 * (from + 1), a + 2 * from, (n - from) * 2 * sizeof(std::uint16_t));
      a[2 * from + 1] = u16(lo - 1);
      a[2 * (from + 1)] = u16(hi + 1);
      return n + 1;
    }
    if (from < n && a[2 * from] < lo) {  // the run below keeps its part below lo
      a[2 * from + 1] = u16(lo - 1);
      ++from;
    }
    std::uint32_t to = from;
    while (to < n && a[2 * to + 1] <= hi) ++to;  // runs wholly inside go
    if (to < n && a[2 * to] <= hi) a[2 * to] = u16(hi + 1);
    std::memmove(a + 2 * from, a + 2 * to, (n - to) * 2 * sizeof(std::uint16_t));
    return n - (to - from);
  }

  /// Writes a run stream into an empty container (cap large enough).
  template <class Source>
  static void fill(header* h, Source&& source) noexcept {
    std::uint16_t* a = keys_of(h);
    std::uint32_t n = 0;
    source([&](std::uint32_t f, std::uint32_t l) noexcept {
      PMEMPERM_ASSERT(n < h->cap());
      a[2 * n] = u16(f);
      a[2 * n + 1] = u16(l);
      ++n;
    });
  }

  static void copy(const header* from, header* to) noexcept {
    std::memcpy(keys_of(to), keys_of(from), std::size_t{from->runs()} * 2 * sizeof(std::uint16_t));
  }
};

}  // namespace pmemperm::detail::hyb
