// pmemperm/detail/bits.hpp — word-at-a-time bit operations for the bitmap backends.
//
// Holds the page <-> bit mapping (page p of a bitmap is bit p % 64 of word p / 64,
// lowest page in the least significant bit), masks for a span of bits inside one
// word, a counter of run starts over a bit span, and run_builder, which turns a
// stream of words into maximal runs of set bits.
//
// Complexity: every helper costs O(1) per 64-bit word it looks at; none loops
// over individual pages. Nothing here allocates or fails.
#pragma once

#include "../config.hpp"  // first: below C++20 it stops with one #error

#include <bit>
#include <cstdint>

#include "../types.hpp"
#include "visitor.hpp"

namespace pmemperm::detail {

using word_t = std::uint64_t;

inline constexpr unsigned word_bits = 64;
inline constexpr word_t all_ones = ~word_t{0};

/// Index of the word holding bit (page) b.
[[nodiscard]] constexpr std::uint64_t word_of(std::uint64_t b) noexcept { return b >> 6; }

/// Position of bit (page) b inside its word.
[[nodiscard]] constexpr unsigned bit_of(std::uint64_t b) noexcept { return static_cast<unsigned>(b & 63u); }

/// First bit (page) of word w.
[[nodiscard]] constexpr std::uint64_t first_bit_of_word(std::uint64_t w) noexcept { return w << 6; }

/// Words needed to hold `bits` bits; written so that it cannot overflow near 2^64.
[[nodiscard]] constexpr std::uint64_t words_for(std::uint64_t bits) noexcept {
  return (bits >> 6) + ((bits & 63u) != 0 ? 1u : 0u);
}

/// Bits lo..63 of a word (lo <= 63).
[[nodiscard]] constexpr word_t mask_from(unsigned lo) noexcept { return all_ones << lo; }

/// Bits 0..hi of a word (hi <= 63).
[[nodiscard]] constexpr word_t mask_through(unsigned hi) noexcept { return all_ones >> (63u - hi); }

/// Bits lo..hi of a word (lo <= hi <= 63).
[[nodiscard]] constexpr word_t mask_span(unsigned lo, unsigned hi) noexcept {
  return mask_from(lo) & mask_through(hi);
}

/// The bits of word w that lie inside the bit span [first, last] (w must overlap it).
[[nodiscard]] constexpr word_t word_mask(std::uint64_t w, std::uint64_t first, std::uint64_t last) noexcept {
  const unsigned lo = w == word_of(first) ? bit_of(first) : 0u;
  const unsigned hi = w == word_of(last) ? bit_of(last) : 63u;
  return mask_span(lo, hi);
}

/// Population count as a 64-bit value, so callers can accumulate without casts.
[[nodiscard]] constexpr std::uint64_t popcount64(word_t w) noexcept {
  return static_cast<std::uint64_t>(std::popcount(w));
}

/// Bits of word x that start a run: set, with the bit below clear. `below` is the
/// top bit of the preceding word (0 for word 0), which decides bit 0.
[[nodiscard]] constexpr word_t run_starts(word_t x, word_t below) noexcept {
  return x & ~((x << 1) | (below >> 63));
}

/// Number of positions b in [first, last] where bit b is set and bit b - 1 is not
/// (or b == 0): the run starts inside the span. Reads words word_of(first) - 1 (when
/// it exists) through word_of(last). Knowing the starts just around an edited span
/// is what lets a bitmap keep its run count exact in O(words touched).
[[nodiscard]] constexpr std::uint64_t count_run_starts(const word_t* words, std::uint64_t first,
                                                       std::uint64_t last) noexcept {
  std::uint64_t n = 0;
  const std::uint64_t wl = word_of(last);
  for (std::uint64_t w = word_of(first); w <= wl; ++w) {
    const word_t below = w > 0 ? words[w - 1] : 0;
    n += popcount64(run_starts(words[w], below) & word_mask(w, first, last));
  }
  return n;
}

/// Turns words fed in ascending order into maximal runs of set bits. A run that
/// reaches the end of one word and continues at bit 0 of the next fed word is
/// merged; words that are skipped (because they are zero) end the pending run
/// naturally, so callers may feed only nonzero words.
///
/// `emit(page_range)` (a range_visitor) is called for each completed run through
/// detail::visit: returning false asks the caller to stop, and feed()/feed_run()/
/// finish() then return false; a void emit never stops.
class run_builder {
 public:
  /// Feed `bits`, whose bit 0 stands for page `base`. Bases must be ascending and
  /// at least 64 apart. O(runs in bits); false when emit asked to stop.
  template <range_visitor Emit>
  constexpr bool feed(page_t base, word_t bits, Emit& emit) noexcept {
    while (bits != 0) {
      const unsigned start = static_cast<unsigned>(std::countr_zero(bits));
      const unsigned len = static_cast<unsigned>(std::countr_one(bits >> start));
      const page_t f = base + start;
      const page_t l = f + (len - 1u);
      if (open_ && last_ + 1 == f) {
        last_ = l;
      } else {
        if (open_ && !detail::visit(emit, page_range{first_, last_})) {
          open_ = false;
          return false;
        }
        first_ = f;
        last_ = l;
        open_ = true;
      }
      if (start + len >= word_bits) break;
      bits &= mask_from(start + len);
    }
    return true;
  }

  /// Feed a whole run of pages at once (a backend that also stores runs, not only
  /// words, mixes these with feed()): it joins the pending run when adjacent. Runs
  /// and words must come in ascending order, without overlap. O(1); false when emit
  /// asked to stop.
  template <range_visitor Emit>
  constexpr bool feed_run(page_range r, Emit& emit) noexcept {
    if (open_ && last_ + 1 == r.first) {
      last_ = r.last;
      return true;
    }
    if (open_ && !detail::visit(emit, page_range{first_, last_})) {
      open_ = false;
      return false;
    }
    first_ = r.first;
    last_ = r.last;
    open_ = true;
    return true;
  }

  /// Emit the pending run, if any. O(1); false when emit asked to stop.
  template <range_visitor Emit>
  constexpr bool finish(Emit& emit) noexcept {
    if (!open_) return true;
    open_ = false;
    return detail::visit(emit, page_range{first_, last_});
  }

 private:
  page_t first_ = 0;
  page_t last_ = 0;
  bool open_ = false;
};

}  // namespace pmemperm::detail
