// pmemperm/detail/hybrid/word_list.hpp — a chunk's pages as the nonzero 64-bit
// words of its bitmap, each with its 16-bit word index (the container for pages
// that cluster in a few words).
//
// Payload: uint16_t index[cap] (ascending; the block padded to 8 bytes), then
// uint64_t bits[cap]; the header's word count is the length, and no stored word is
// zero. Searches are O(log words); edits move the lists' tails, O(words).
#pragma once

#include "../../config.hpp"

#include <cstdint>
#include <cstring>

#include "chunk_view.hpp"

namespace pmemperm::detail::hyb {

struct word_list {
  static constexpr rep kind = rep::word_list;

  [[nodiscard]] static bool contains(const view& v, std::uint32_t off) noexcept {
    const std::uint16_t* idx = keys_of(v.h);
    const std::uint32_t n = v.h->words();
    const std::uint32_t i = lower_u16(idx, n, 1, off >> 6);
    return i < n && idx[i] == (off >> 6) && ((words_of<kind>(v.h)[i] >> (off & 63u)) & 1u) != 0;
  }

  /// Calls f(first, last) -> bool for each maximal run clipped to [lo, hi],
  /// ascending; false if f stopped it.
  template <class F>
  static bool walk(const view& v, std::uint32_t lo, std::uint32_t hi, F&& f) noexcept {
    const std::uint16_t* idx = keys_of(v.h);
    const word_t* w = words_of<kind>(v.h);
    const std::uint32_t n = v.h->words(), wl = lo >> 6, wh = hi >> 6;
    run_builder rb;
    auto emit = [&](page_range r) noexcept {
      return static_cast<bool>(f(static_cast<std::uint32_t>(r.first), static_cast<std::uint32_t>(r.last)));
    };
    for (std::uint32_t i = lower_u16(idx, n, 1, wl); i < n && idx[i] <= wh; ++i) {
      const word_t x = w[i] & word_mask(idx[i], lo, hi);
      if (x != 0 && !rb.feed(page_t{idx[i]} << 6, x, emit)) return false;
    }
    return rb.finish(emit);
  }

  [[nodiscard]] static bool contains_all(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    return by_walk<word_list>::contains_all(v, lo, hi);
  }
  [[nodiscard]] static bool contains_any(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    return by_walk<word_list>::contains_any(v, lo, hi);
  }
  [[nodiscard]] static std::uint32_t nonzero_words(const view& v, std::uint32_t wl, std::uint32_t wh) noexcept {
    const std::uint16_t* idx = keys_of(v.h);
    const std::uint32_t n = v.h->words();
    return lower_u16(idx, n, 1, wh + 1) - lower_u16(idx, n, 1, wl);
  }
  [[nodiscard]] static window_counts count_window(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    return by_walk<word_list>::count_window(v, lo, hi);
  }

  /// One search, then the words the census reads.
  [[nodiscard]] static census survey(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    const std::uint16_t* idx = keys_of(v.h);
    const word_t* w = words_of<kind>(v.h);
    const std::uint32_t n = v.h->words();
    const std::uint32_t first = lower_u16(idx, n, 1, survey_lo(lo) >> 6);
    std::uint32_t i = first;
    census c = census_of_words(lo, hi, [&](std::uint32_t wi) noexcept -> word_t {
      while (i < n && idx[i] < wi) ++i;
      return i < n && idx[i] == wi ? w[i] : word_t{0};
    });
    c.at = first;
    return c;
  }

  /// Adds [lo, hi]: every word of the window is then present. Precondition: cap >=
  /// the word count afterwards.
  static void grant(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
    const std::uint16_t* a = keys_of(h);
    const std::uint32_t n = h->words();
    grant_between(h, lo, hi, lower_u16(a, n, 1, lo >> 6), lower_u16(a, n, 1, (hi >> 6) + 1));
  }
  /// The same after a survey() of the window, whose search it reuses.
  static void grant_at(header* h, std::uint32_t lo, std::uint32_t hi, const census& c) noexcept {
    if (c.at == census::no_entry) return grant(h, lo, hi);
    const std::uint16_t* a = keys_of(h);
    const std::uint32_t n = h->words(), wl = lo >> 6, wh = hi >> 6;
    std::uint32_t i_lo = c.at;  // the first entry at or above survey_lo(lo)'s word
    while (i_lo < n && a[i_lo] < wl) ++i_lo;
    std::uint32_t i_hi = i_lo;
    while (i_hi < n && a[i_hi] <= wh) ++i_hi;
    grant_between(h, lo, hi, i_lo, i_hi);
  }
  /// The same, given the list's first entry in the window's words and the first
  /// one past them.
  static void grant_between(header* h, std::uint32_t lo, std::uint32_t hi, std::uint32_t i_lo,
                            std::uint32_t i_hi) noexcept {
    std::uint16_t* a = keys_of(h);
    word_t* w = words_of<kind>(h);
    const std::uint32_t n = h->words(), wl = lo >> 6, wh = hi >> 6;
    const std::uint32_t grow = (wh - wl + 1) - (i_hi - i_lo);
    PMEMPERM_ASSERT(n + grow <= h->cap());
    std::memmove(a + i_hi + grow, a + i_hi, (n - i_hi) * sizeof(std::uint16_t));
    std::memmove(w + i_hi + grow, w + i_hi, (n - i_hi) * sizeof(word_t));
    // Fill the window from the top down, keeping the old bits of words present.
    std::uint32_t src = i_hi;
    for (std::uint32_t wi = wh + 1; wi-- > wl;) {
      word_t old = 0;
      if (src > i_lo && a[src - 1] == wi) old = w[--src];
      a[i_lo + (wi - wl)] = u16(wi);
      w[i_lo + (wi - wl)] = old | word_mask(wi, lo, hi);
    }
  }

  /// Removes [lo, hi] and returns the census of the window taken before, in one
  /// search. Never needs room.
  PMEMPERM_HYB_INLINE static census revoke_counted(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
    const std::uint16_t* idx = keys_of(h);
    const word_t* w = words_of<kind>(h);
    const std::uint32_t n = h->words(), wl = lo >> 6, wh = hi >> 6;
    const std::uint32_t start = lower_u16(idx, n, 1, survey_lo(lo) >> 6);
    std::uint32_t i = start;
    const census c = census_of_words(lo, hi, [&](std::uint32_t wi) noexcept -> word_t {
      while (i < n && idx[i] < wi) ++i;
      return i < n && idx[i] == wi ? w[i] : word_t{0};
    });
    std::uint32_t i_lo = start;
    while (i_lo < n && idx[i_lo] < wl) ++i_lo;
    std::uint32_t i_hi = i_lo;
    while (i_hi < n && idx[i_hi] <= wh) ++i_hi;
    static_cast<void>(revoke_between(h, lo, hi, i_lo, i_hi));
    return c;
  }

  /// Removes [lo, hi] and returns the new word count; words left empty leave the
  /// list. Never needs room.
  static std::uint32_t revoke(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
    const std::uint16_t* a = keys_of(h);
    const std::uint32_t n = h->words();
    return revoke_between(h, lo, hi, lower_u16(a, n, 1, lo >> 6), lower_u16(a, n, 1, (hi >> 6) + 1));
  }
  /// The same, given the list's first entry in the window's words and the first
  /// one past them.
  static std::uint32_t revoke_between(header* h, std::uint32_t lo, std::uint32_t hi, std::uint32_t i_lo,
                                      std::uint32_t i_hi) noexcept {
    std::uint16_t* a = keys_of(h);
    word_t* w = words_of<kind>(h);
    const std::uint32_t n = h->words();
    std::uint32_t out = i_lo;
    for (std::uint32_t i = i_lo; i < i_hi; ++i) {
      const word_t x = w[i] & ~word_mask(a[i], lo, hi);
      if (x != 0) {
        a[out] = a[i];
        w[out] = x;
        ++out;
      }
    }
    std::memmove(a + out, a + i_hi, (n - i_hi) * sizeof(std::uint16_t));
    std::memmove(w + out, w + i_hi, (n - i_hi) * sizeof(word_t));
    return n - (i_hi - out);
  }

  /// Writes a run stream into an empty container (cap large enough).
  template <class Source>
  static void fill(header* h, Source&& source) noexcept {
    std::uint16_t* a = keys_of(h);
    word_t* w = words_of<kind>(h);
    std::uint32_t n = 0;
    source([&](std::uint32_t f, std::uint32_t l) noexcept {
      for (std::uint32_t wi = f >> 6; wi <= (l >> 6); ++wi) {
        if (n == 0 || a[n - 1] != wi) {
          PMEMPERM_ASSERT(n < h->cap());
          a[n] = u16(wi);
          w[n] = 0;
          ++n;
        }
        w[n - 1] |= word_mask(wi, f, l);
      }
    });
  }

  static void copy(const header* from, header* to) noexcept {
    std::memcpy(keys_of(to), keys_of(from), std::size_t{from->words()} * sizeof(std::uint16_t));
    std::memcpy(words_of<kind>(to), words_of<kind>(from), std::size_t{from->words()} * sizeof(word_t));
  }
};

}  // namespace pmemperm::detail::hyb
