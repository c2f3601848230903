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
  [[nodiscard]] static bool contains(const view& v, std::uint32_t off) noexcept { return test(words_of<kind>(v.h), off); }

  /// Calls f(first, last) -> bool for each maximal run clipped to [lo, hi],
  /// ascending; false if f stopped it.
  template <class F>
  static bool walk(const view& v, std::uint32_t lo, std::uint32_t hi, F&& f) noexcept {
    const word_t* w = words_of<kind>(v.h);
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
    const word_t* w = words_of<kind>(v.h);
    for (std::uint32_t wi = lo >> 6; wi <= (hi >> 6); ++wi) {
      const word_t m = word_mask(wi, lo, hi);
      if ((w[wi] & m) != m) return false;
    }
    return true;
  }
  [[nodiscard]] static bool contains_any(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    const word_t* w = words_of<kind>(v.h);
    for (std::uint32_t wi = lo >> 6; wi <= (hi >> 6); ++wi)
      if ((w[wi] & word_mask(wi, lo, hi)) != 0) return true;
    return false;
  }
  [[nodiscard]] static std::uint32_t nonzero_words(const view& v, std::uint32_t wl, std::uint32_t wh) noexcept {
    const word_t* w = words_of<kind>(v.h);
    std::uint32_t n = 0;
    for (std::uint32_t wi = wl; wi <= wh; ++wi) n += w[wi] != 0 ? 1u : 0u;
    return n;
  }

  /// Word at a time.
  [[nodiscard]] static window_counts count_window(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    window_counts c;
    const word_t* w = words_of<kind>(v.h);
    c.below = lo > 0 && test(w, lo - 1);
    for (std::uint32_t wi = lo >> 6; wi <= (hi >> 6); ++wi) {
      c.pages += bit_count(w[wi] & word_mask(wi, lo, hi));
      c.words += w[wi] != 0 ? 1u : 0u;
    }
    c.starts = static_cast<std::uint32_t>(count_run_starts(w, lo, hi < last_offset ? hi + 1 : hi));
    return c;
  }

  [[nodiscard]] static census survey(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
    const word_t* w = words_of<kind>(v.h);
    return census_of_words(lo, hi, [w](std::uint32_t wi) noexcept { return w[wi]; });
  }

  static void grant_at(header* h, std::uint32_t lo, std::uint32_t hi, const census&) noexcept { grant(h, lo, hi); }
  static void grant(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
    word_t* w = words_of<kind>(h);
    for (std::uint32_t wi = lo >> 6; wi <= (hi >> 6); ++wi) w[wi] |= word_mask(wi, lo, hi);
  }
  /// Clears [lo, hi] and returns the census of the window taken before.
  /// A window of one or two words, the common revoke, is read and cleared in a
  /// few masks.
  PMEMPERM_HYB_INLINE static census revoke_counted(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
    word_t* w = words_of<kind>(h);
    const std::uint32_t wl = lo >> 6, wh = hi >> 6;
    if (wh - wl <= 1) {
      const unsigned bl = lo & 63u, bh = hi & 63u;
      const word_t xl = w[wl], xh = w[wh], ml = mask_from(bl), mh = mask_through(bh);
      census c;
      c.below = bl != 0 ? ((xl >> (bl - 1)) & 1u) != 0 : lo > 0 && (w[wl - 1] >> 63) != 0;
      c.above = bh != 63u ? ((xh >> (bh + 1)) & 1u) != 0 : hi < last_offset && (w[wh + 1] & 1u) != 0;
      c.first = ((xl >> bl) & 1u) != 0;
      c.last = ((xh >> bh) & 1u) != 0;
      c.head_rest = (xl & ~ml) != 0;
      c.tail_rest = (xh & ~mh) != 0;
      if (wl == wh) {
        const word_t in = xl & ml & mh;
        c.pages = bit_count(in);
        c.runs = bit_count(in & ~(in << 1));
        c.words = xl != 0 ? 1u : 0u;
        w[wl] = xl & ~(ml & mh);
      } else {
        const word_t in_l = xl & ml, in_h = xh & mh;
        c.pages = bit_count(in_l) + bit_count(in_h);
        c.runs = bit_count(in_l & ~(in_l << 1)) + bit_count(in_h & ~((in_h << 1) | (in_l >> 63)));
        c.words = (xl != 0 ? 1u : 0u) + (xh != 0 ? 1u : 0u);
        w[wl] = xl & ~ml;
        w[wh] = xh & ~mh;
      }
      return c;
    }
    const census c = census_of_words(lo, hi, [w](std::uint32_t wi) noexcept { return w[wi]; });
    w[wl] &= ~mask_from(lo & 63u);
    for (std::uint32_t wi = wl + 1; wi < wh; ++wi) w[wi] = 0;
    w[wh] &= ~mask_through(hi & 63u);
    return c;
  }

  /// Clears [lo, hi]; the bitmap has no length, so it returns 0.
  static std::uint32_t revoke(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
    word_t* w = words_of<kind>(h);
    for (std::uint32_t wi = lo >> 6; wi <= (hi >> 6); ++wi) w[wi] &= ~word_mask(wi, lo, hi);
    return 0;
  }

  template <class Source>
  static void fill(header* h, Source&& source) noexcept {
    word_t* w = words_of<kind>(h);
    std::memset(w, 0, sizeof(word_t) * chunk_words);
    source([&](std::uint32_t f, std::uint32_t l) noexcept {
      for (std::uint32_t wi = f >> 6; wi <= (l >> 6); ++wi) w[wi] |= word_mask(wi, f, l);
    });
  }

  static void copy(const header* from, header* to) noexcept {
    std::memcpy(words_of<kind>(to), words_of<kind>(from), std::size_t{chunk_words} * sizeof(word_t));
  }
};

}  // namespace pmemperm::detail::hyb
