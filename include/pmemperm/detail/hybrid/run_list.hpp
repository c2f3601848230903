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

  /// Adds [lo, hi]: the runs touching [lo - 1, hi + 1] collapse into one.
  /// Precondition: cap >= the run count afterwards.
  static void grant(header* h, std::uint32_t lo, std::uint32_t hi, const window_counts&) noexcept {
    std::uint16_t* a = keys_of(h);
    const std::uint32_t n = h->runs();
    const std::uint32_t from = lower_u16(a + 1, n, 2, lo > 0 ? lo - 1 : 0);
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

  /// Removes [lo, hi] and returns the new run count. Precondition: if splits(),
  /// cap > runs.
  static std::uint32_t revoke(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
    std::uint16_t* a = keys_of(h);
    const std::uint32_t n = h->runs();
    std::uint32_t from = find(h, lo);
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
