// pmemperm/detail/hybrid/page_list.hpp — a chunk's pages as a sorted list of
// 16-bit offsets (the container for a few scattered pages).
//
// Payload: uint16_t offset[cap], ascending; the header's page count is the length.
// Searches are O(log pages); edits move the list's tail, O(pages).
#pragma once

#include "../../config.hpp"

#include <cstdint>
#include <cstring>

#include "chunk_view.hpp"

namespace pmemperm::detail::hyb {

struct page_list {
  static constexpr rep kind = rep::page_list;

  [[nodiscard]] static bool contains(const view& v, std::uint32_t off) noexcept {
    const std::uint16_t* a = keys_of(v.h);
    const std::uint32_t n = v.h->pages();
    const std::uint32_t i = lower_u16(a, n, 1, off);
    return i < n && a[i] == off;
  }

  /// Calls f(first, last) -> bool for each maximal run clipped to [lo, hi],
  /// ascending; false if f stopped it.
  template <class F>
  static bool walk(const view& v, std::uint32_t lo, std::uint32_t hi, F&& f) noexcept {
    const std::uint16_t* a = keys_of(v.h);
    const std::uint32_t n = v.h->pages();
    std::uint32_t i = lower_u16(a, n, 1, lo);
    while (i < n && a[i] <= hi) {
      const std::uint32_t first = a[i];
      std::uint32_t last = first;
      while (i + 1 < n && a[i + 1] == last + 1 && last + 1 <= hi) {
        ++i;
        ++last;
      }
      ++i;
      if (!f(first, last)) return false;
    }
    return true;
  }

  [[nodiscard]] static bool contains_all(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    return by_walk<page_list>::contains_all(v, lo, hi);
  }
  [[nodiscard]] static bool contains_any(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    return by_walk<page_list>::contains_any(v, lo, hi);
  }
  [[nodiscard]] static std::uint32_t nonzero_words(const view& v, std::uint32_t wl, std::uint32_t wh) noexcept {
    return by_walk<page_list>::nonzero_words(v, wl, wh);
  }

  /// One page (the common edit) costs one search; a wider window, a walk.
  [[nodiscard]] static window_counts count_window(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    if (lo != hi) return by_walk<page_list>::count_window(v, lo, hi);
    window_counts c;
    const std::uint16_t* a = keys_of(v.h);
    const std::uint32_t n = v.h->pages();
    const std::uint32_t i = lower_u16(a, n, 1, lo);
    const bool present = i < n && a[i] == lo;
    const std::uint32_t j = present ? i + 1 : i;
    const bool above = lo < last_offset && j < n && a[j] == lo + 1;
    c.below = i > 0 && a[i - 1] + 1u == lo;
    c.pages = present ? 1u : 0u;
    c.starts = (present && !c.below ? 1u : 0u) + (above && !present ? 1u : 0u);
    c.words = ((i > 0 && (a[i - 1] >> 6) == (lo >> 6)) || (i < n && (a[i] >> 6) == (lo >> 6))) ? 1u : 0u;
    return c;
  }

  /// One page costs one search; a wider window, a walk.
  [[nodiscard]] static census survey(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    if (lo != hi) return by_walk<page_list>::survey(v, lo, hi);
    const std::uint16_t* a = keys_of(v.h);
    const std::uint32_t n = v.h->pages();
    const std::uint32_t i = lower_u16(a, n, 1, lo);
    census c;
    c.first = c.last = i < n && a[i] == lo;
    c.pages = c.runs = c.first ? 1u : 0u;
    const std::uint32_t j = c.first ? i + 1 : i;
    c.below = i > 0 && a[i - 1] + 1u == lo;
    c.above = j < n && a[j] == lo + 1u;
    c.head_rest = i > 0 && (a[i - 1] >> 6) == (lo >> 6);
    c.tail_rest = j < n && (a[j] >> 6) == (lo >> 6);
    c.words = c.first || c.head_rest || c.tail_rest ? 1u : 0u;
    c.at = i;
    return c;
  }

  /// The same after a survey() of the window: one page needs no search then.
  static void grant_at(header* h, std::uint32_t lo, std::uint32_t hi, const census& c) noexcept {
    if (lo != hi || c.at == census::no_entry) return grant(h, lo, hi);
    std::uint16_t* a = keys_of(h);
    const std::uint32_t n = h->pages();
    if (c.first) return;
    PMEMPERM_ASSERT(n + 1 <= h->cap() && (c.at == n || a[c.at] > lo));
    std::memmove(a + c.at + 1, a + c.at, (n - c.at) * sizeof(std::uint16_t));
    a[c.at] = u16(lo);
  }

  /// Adds [lo, hi]. Precondition: cap >= the page count afterwards.
  static void grant(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
    std::uint16_t* a = keys_of(h);
    const std::uint32_t n = h->pages();
    const std::uint32_t i_lo = lower_u16(a, n, 1, lo);
    const std::uint32_t i_hi =
        lo == hi ? i_lo + (i_lo < n && a[i_lo] == lo ? 1u : 0u) : lower_u16(a, n, 1, hi + 1);
    const std::uint32_t grow = (hi - lo + 1) - (i_hi - i_lo);
    PMEMPERM_ASSERT(n + grow <= h->cap());
    std::memmove(a + i_hi + grow, a + i_hi, (n - i_hi) * sizeof(std::uint16_t));
    for (std::uint32_t o = lo; o <= hi; ++o) a[i_lo + (o - lo)] = u16(o);
  }

  /// Removes [lo, hi] and returns the census of the window taken before.
  static census revoke_counted(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
    const census c = survey(view::of(h), lo, hi);
    static_cast<void>(revoke(h, lo, hi));
    return c;
  }

  /// Removes [lo, hi] and returns the new page count. Never needs room.
  static std::uint32_t revoke(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
    std::uint16_t* a = keys_of(h);
    const std::uint32_t n = h->pages();
    const std::uint32_t i_lo = lower_u16(a, n, 1, lo);
    const std::uint32_t i_hi = lower_u16(a, n, 1, hi + 1);
    std::memmove(a + i_lo, a + i_hi, (n - i_hi) * sizeof(std::uint16_t));
    return n - (i_hi - i_lo);
  }

  /// Writes a run stream into an empty container (cap large enough).
  template <class Source>
  static void fill(header* h, Source&& source) noexcept {
    std::uint16_t* a = keys_of(h);
    std::uint32_t n = 0;
    source([&](std::uint32_t f, std::uint32_t l) noexcept {
      PMEMPERM_ASSERT(n + (l - f + 1) <= h->cap());
      for (std::uint32_t o = f; o <= l; ++o) a[n++] = u16(o);
    });
  }

  /// Copies the payload into a container of the same kind with room for it.
  static void copy(const header* from, header* to) noexcept {
    std::memcpy(keys_of(to), keys_of(from), std::size_t{from->pages()} * sizeof(std::uint16_t));
  }
};

}  // namespace pmemperm::detail::hyb
