// pmemperm/detail/hybrid/bitmap.hpp — a chunk's whole bitmap, 1024 words (the
// container for a chunk dense with short runs).
//
// Payload: uint64_t bits[1024]. contains() is one load; everything else is
// O(words in the window).
#pragma once

#include "../../config.hpp"

#include <bit>
#include <cstdint>
#include <cstring>

#include "chunk_view.hpp"

namespace pmemperm::detail::hyb {

struct bitmap {
  static constexpr rep kind = rep::bitmap;

  [[nodiscard]] static bool test(const word_t* w, std::uint32_t off) noexcept {
    return ((w[off >> 6] >> (off & 63u)) & 1u) != 0;
  }
  [[nodiscard]] static bool contains(const view& v, std::uint32_t off) noexcept { return test(words_of(v.h), off); }

  /// Calls f(first, last) -> bool for each maximal run clipped to [lo, hi],
  /// ascending; false if f stopped it.
  template <class F>
  static bool walk(const view& v, std::uint32_t lo, std::uint32_t hi, F&& f) noexcept {
    const word_t* w = words_of(v.h);
    run_builder rb;
    auto emit = [&](page_range r) noexcept {
      return static_cast<bool>(f(static_cast<std::uint32_t>(r.first), static_cast<std::uint32_t>(r.last)));
    };
    for (std::uint32_t wi = lo >> 6; wi <= (hi >> 6); ++wi) {
      const word_t x = w[wi] & word_mask(wi, lo, hi);
      if (x != 0 && !rb.feed(page_t{wi} << 6, x, emit)) return false;
    }
    return rb.finish(emit);
  }

  [[nodiscard]] static bool contains_all(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    const word_t* w = words_of(v.h);
    for (std::uint32_t wi = lo >> 6; wi <= (hi >> 6); ++wi) {
      const word_t m = word_mask(wi, lo, hi);
      if ((w[wi] & m) != m) return false;
    }
    return true;
  }
  [[nodiscard]] static bool contains_any(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    const word_t* w = words_of(v.h);
    for (std::uint32_t wi = lo >> 6; wi <= (hi >> 6); ++wi)
      if ((w[wi] & word_mask(wi, lo, hi)) != 0) return true;
    return false;
  }
  [[nodiscard]] static std::uint32_t nonzero_words(const view& v, std::uint32_t wl, std::uint32_t wh) noexcept {
    const word_t* w = words_of(v.h);
    std::uint32_t n = 0;
    for (std::uint32_t wi = wl; wi <= wh; ++wi) n += w[wi] != 0 ? 1u : 0u;
    return n;
  }

  /// Word at a time.
  [[nodiscard]] static window_counts count_window(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    window_counts c;
    const word_t* w = words_of(v.h);
    c.below = lo > 0 && test(w, lo - 1);
    for (std::uint32_t wi = lo >> 6; wi <= (hi >> 6); ++wi) {
      c.pages += static_cast<std::uint32_t>(std::popcount(w[wi] & word_mask(wi, lo, hi)));
      c.words += w[wi] != 0 ? 1u : 0u;
    }
    c.starts = static_cast<std::uint32_t>(count_run_starts(w, lo, hi < last_offset ? hi + 1 : hi));
    return c;
  }

  static void grant(header* h, std::uint32_t lo, std::uint32_t hi, const window_counts&) noexcept {
    word_t* w = words_of(h);
    for (std::uint32_t wi = lo >> 6; wi <= (hi >> 6); ++wi) w[wi] |= word_mask(wi, lo, hi);
  }
  /// Clears [lo, hi]; the bitmap has no length, so it returns 0.
  static std::uint32_t revoke(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
    word_t* w = words_of(h);
    for (std::uint32_t wi = lo >> 6; wi <= (hi >> 6); ++wi) w[wi] &= ~word_mask(wi, lo, hi);
    return 0;
  }

  template <class Source>
  static void fill(header* h, Source&& source) noexcept {
    word_t* w = words_of(h);
    std::memset(w, 0, sizeof(word_t) * chunk_words);
    source([&](std::uint32_t f, std::uint32_t l) noexcept {
      for (std::uint32_t wi = f >> 6; wi <= (l >> 6); ++wi) w[wi] |= word_mask(wi, f, l);
    });
  }

  static void copy(const header* from, header* to) noexcept {
    std::memcpy(words_of(to), words_of(from), std::size_t{chunk_words} * sizeof(word_t));
  }
};

}  // namespace pmemperm::detail::hyb
