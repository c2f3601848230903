// pmemperm/detail/hybrid_chunk.hpp — the hybrid's per-chunk representations.
//
// The hybrid cuts the page space into chunks of 2^16 pages. Each chunk that holds
// pages is in exactly one of these representations:
//
//   run     its runs are plain index slots {first, last} (bit 63 of first clear);
//           such slots may run on across chunk borders into other run chunks
//   inline  up to 4 pages, as 16-bit offsets inside the chunk's index slot
//   sparse  a sorted list of 16-bit page offsets          (external container)
//   runs    a sorted list of 16-bit {first, last} pairs    (external container)
//   words   the nonzero 64-bit words of the chunk's bitmap, with their 16-bit
//           word indexes                                    (external container)
//   dense   the chunk's whole bitmap, 1024 words            (external container)
//
// Index slot of a container chunk (16 bytes):
//
//   struct slot {
//     uint64_t head;   // bit 63: container; bits 62..16: chunk's first page;
//                      // bit 0: inline; bits 3..1: inline page count (1..4)
//     uint64_t tail;   // inline: four 16-bit offsets, lowest first; else the
//                      // container's address
//   };
//
// External container (one allocation, 8-byte aligned):
//
//   struct container {
//     uint32_t pages : 17;  // pages granted in the chunk (at most 65536)
//     uint32_t words : 11;  // nonzero bitmap words (at most 1024)
//     uint32_t kind  : 4;   // rep::sparse, rep::runs, rep::words or rep::dense
//     uint32_t runs  : 16;  // maximal runs inside the chunk (at most 32768)
//     uint32_t cap   : 16;  // capacity in entries (offsets, pairs or words)
//     // sparse: uint16_t offset[cap];
//     // runs:   uint16_t pair[cap][2];               // first, last
//     // words:  uint16_t index[cap]; (padded to 8)   uint64_t bits[cap];
//     // dense:  uint64_t bits[1024];
//   };
//
// The counts make the choice of representation O(1): rep_for() compares the bytes
// each candidate would take for those counts (tuning.hpp explains the inputs) and
// picks the smallest, so the choice depends on the chunk's pages alone, never on
// the order of the operations that put them there.
//
// Every function here works on offsets within one chunk, costs O(entries or words
// it touches) and never fails; allocation is the caller's business.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../tuning.hpp"
#include "../types.hpp"
#include "bits.hpp"

namespace pmemperm::detail::hyb {

inline constexpr unsigned chunk_shift = tuning::hybrid_chunk_shift;
inline constexpr page_t chunk_pages = page_t{1} << chunk_shift;
inline constexpr std::uint32_t last_offset = static_cast<std::uint32_t>(chunk_pages - 1);
inline constexpr std::uint32_t chunk_words = static_cast<std::uint32_t>(chunk_pages / 64);
static_assert(chunk_shift == 16, "offsets are stored as 16-bit values");

inline constexpr std::uint64_t container_bit = std::uint64_t{1} << 63;
inline constexpr std::uint64_t inline_bit = 1;
inline constexpr std::uint64_t base_mask = max_page & ~static_cast<std::uint64_t>(chunk_pages - 1);

[[nodiscard]] constexpr page_t base_of(page_t p) noexcept { return p & ~static_cast<page_t>(chunk_pages - 1); }

/// One index slot: a run, or a chunk's container (see the layout above).
struct slot {
  std::uint64_t head;
  std::uint64_t tail;
  [[nodiscard]] constexpr bool is_run() const noexcept { return (head & container_bit) == 0; }
  [[nodiscard]] constexpr bool is_inline() const noexcept { return !is_run() && (head & inline_bit) != 0; }
  /// A run's first page, or a container's chunk base (written without a branch:
  /// it is evaluated at every step of every index search).
  [[nodiscard]] constexpr page_t key() const noexcept { return head & (((head >> 63) - 1) | base_mask); }
};

struct slot_key {
  [[nodiscard]] static constexpr page_t key(const slot& s) noexcept { return s.key(); }
};

enum class rep : std::uint8_t { empty, run, inline_sparse, sparse, runs, words, dense };

/// What the representation choice needs to know about a chunk's pages.
struct stats {
  std::uint32_t pages = 0;
  std::uint32_t runs = 0;
  std::uint32_t words = 0;
  friend constexpr bool operator==(const stats&, const stats&) noexcept = default;
};

struct header {
  std::uint32_t pages : 17;  // up to 65536
  std::uint32_t words : 11;  // up to 1024
  std::uint32_t kind : 4;
  std::uint32_t runs : 16;  // up to 32768
  std::uint32_t cap : 16;
};
static_assert(sizeof(header) == tuning::hybrid_header_bytes);

inline constexpr std::size_t container_align = 8;

[[nodiscard]] constexpr std::size_t round8(std::size_t x) noexcept { return (x + 7) & ~std::size_t{7}; }

/// Allocation size of a container of this kind and capacity.
[[nodiscard]] constexpr std::size_t container_bytes(rep k, std::size_t cap) noexcept {
  switch (k) {
    case rep::sparse: return sizeof(header) + round8(2 * cap);
    case rep::runs: return sizeof(header) + round8(4 * cap);
    case rep::words: return sizeof(header) + round8(2 * cap) + 8 * cap;
    case rep::dense: return sizeof(header) + 8 * std::size_t{chunk_words};
    default: return 0;
  }
}

/// Entries a container of kind k needs for these counts (runs keep one spare pair
/// so that a revoke splitting a run never needs memory).
[[nodiscard]] constexpr std::uint32_t entries_needed(rep k, stats s) noexcept {
  switch (k) {
    case rep::sparse: return s.pages;
    case rep::runs: return s.runs + 1;
    case rep::words: return s.words;
    case rep::dense: return chunk_words;
    default: return 0;
  }
}

/// Capacity to allocate for a need: 1/8 headroom, then as many more entries as fit
/// before the next allocation size class (tuning.hpp), so headroom costs no heap.
[[nodiscard]] constexpr std::uint32_t grown_capacity(rep k, std::uint32_t need) noexcept {
  if (k == rep::dense) return chunk_words;
  const std::uint32_t limit = k == rep::words ? chunk_words : 0xFFFFu;
  std::uint32_t c = need + need / tuning::hybrid_growth_divisor;
  if (c > limit) c = limit;
  constexpr std::size_t g = tuning::hybrid_alloc_granule, o = tuning::hybrid_alloc_overhead;
  const std::size_t target = (container_bytes(k, c) + o + g - 1) / g * g - o;
  while (c < limit && container_bytes(k, c + 1) <= target) ++c;
  return c;
}

/// Bytes the chunk would cost in representation k (slot included), for its counts.
[[nodiscard]] constexpr std::size_t cost(rep k, stats s) noexcept {
  constexpr std::size_t never = ~std::size_t{0};
  const std::size_t slot_bytes = tuning::hybrid_slot_bytes;
  switch (k) {
    case rep::run: return s.runs <= tuning::hybrid_max_index_runs ? slot_bytes * s.runs : never;
    case rep::inline_sparse: return s.pages <= tuning::hybrid_inline_pages ? slot_bytes : never;
    case rep::sparse:
    case rep::runs:
    case rep::words:
    case rep::dense: return slot_bytes + container_bytes(k, entries_needed(k, s));
    default: return never;
  }
}

/// The representation of a chunk with these counts: the smallest; ties go to the
/// earlier one in the order run, inline, sparse, runs, words, dense.
[[nodiscard]] constexpr rep rep_for(stats s) noexcept {
  if (s.pages == 0) return rep::empty;
  rep best = rep::run;
  std::size_t best_cost = cost(rep::run, s);
  constexpr rep order[] = {rep::inline_sparse, rep::sparse, rep::runs, rep::words, rep::dense};
  for (rep k : order) {
    const std::size_t c = cost(k, s);
    if (c < best_cost) {
      best = k;
      best_cost = c;
    }
  }
  return best;
}

// ---- access to container payloads ------------------------------------------------------

[[nodiscard]] inline header* hdr(std::uint64_t tail) noexcept { return reinterpret_cast<header*>(tail); }
[[nodiscard]] inline std::uint16_t* u16s(header* h) noexcept {
  return reinterpret_cast<std::uint16_t*>(reinterpret_cast<unsigned char*>(h) + sizeof(header));
}
[[nodiscard]] inline const std::uint16_t* u16s(const header* h) noexcept {
  return reinterpret_cast<const std::uint16_t*>(reinterpret_cast<const unsigned char*>(h) + sizeof(header));
}
/// Bitmap words: after the index array for words, right after the header for dense.
[[nodiscard]] inline word_t* bitwords(header* h) noexcept {
  const std::size_t skip = static_cast<rep>(h->kind) == rep::words ? round8(2 * std::size_t{h->cap}) : 0;
  return reinterpret_cast<word_t*>(reinterpret_cast<unsigned char*>(h) + sizeof(header) + skip);
}
[[nodiscard]] inline const word_t* bitwords(const header* h) noexcept {
  return bitwords(const_cast<header*>(h));
}

/// A copy of a container into a larger one of the same kind (cap already set).
inline void copy_into(const header* from, header* to) noexcept {
  to->pages = from->pages;
  to->runs = from->runs;
  to->words = from->words;
  to->kind = from->kind;
  const std::uint16_t* src = reinterpret_cast<const std::uint16_t*>(reinterpret_cast<const unsigned char*>(from) + sizeof(header));
  std::uint16_t* dst = reinterpret_cast<std::uint16_t*>(reinterpret_cast<unsigned char*>(to) + sizeof(header));
  switch (static_cast<rep>(from->kind)) {
    case rep::sparse: std::memcpy(dst, src, std::size_t{from->pages} * 2); break;
    case rep::runs: std::memcpy(dst, src, std::size_t{from->runs} * 4); break;
    case rep::words:
      std::memcpy(dst, src, std::size_t{from->words} * 2);
      std::memcpy(bitwords(to), bitwords(from), std::size_t{from->words} * sizeof(word_t));
      break;
    case rep::dense: std::memcpy(bitwords(to), bitwords(from), std::size_t{chunk_words} * sizeof(word_t)); break;
    default: break;
  }
}

/// A read-only view of one container chunk, inline or external.
struct view {
  rep kind = rep::empty;
  const header* h = nullptr;
  std::uint64_t packed = 0;  // inline offsets
  std::uint32_t n = 0;       // inline count

  [[nodiscard]] static view of(const slot& s) noexcept {
    view v;
    if (s.is_inline()) {
      v.kind = rep::inline_sparse;
      v.packed = s.tail;
      v.n = static_cast<std::uint32_t>((s.head >> 1) & 7u);
    } else {
      v.h = hdr(s.tail);
      v.kind = static_cast<rep>(v.h->kind);
    }
    return v;
  }
  [[nodiscard]] std::uint32_t inline_at(std::uint32_t i) const noexcept {
    return static_cast<std::uint32_t>((packed >> (16 * i)) & 0xFFFFu);
  }
};

/// Index of the first of the n sorted 16-bit values a[stride*i] that is >= x
/// (halving without a data-dependent branch).
[[nodiscard]] inline std::uint32_t lower_u16(const std::uint16_t* a, std::uint32_t n, std::uint32_t stride,
                                             std::uint32_t x) noexcept {
  if (n == 0) return 0;
  std::uint32_t lo = 0;
  while (n > 1) {
    const std::uint32_t half = n / 2;
    lo = a[stride * (lo + half - 1)] < x ? lo + half : lo;
    n -= half;
  }
  return lo + (a[stride * lo] < x ? 1u : 0u);
}

/// Calls f(first, last) -> bool for each maximal run of the chunk's pages, clipped
/// to the offsets [lo, hi], ascending. Returns false if f stopped it.
template <class F>
bool walk(const view& v, std::uint32_t lo, std::uint32_t hi, F&& f) noexcept {
  switch (v.kind) {
    case rep::inline_sparse:
    case rep::sparse: {
      const std::uint16_t* a = v.kind == rep::sparse ? u16s(v.h) : nullptr;
      const std::uint32_t n = v.kind == rep::sparse ? v.h->pages : v.n;
      auto at = [&](std::uint32_t i) noexcept -> std::uint32_t { return a ? a[i] : v.inline_at(i); };
      std::uint32_t i = 0;
      if (a) {
        i = lower_u16(a, n, 1, lo);
      } else {
        while (i < n && at(i) < lo) ++i;
      }
      while (i < n && at(i) <= hi) {
        const std::uint32_t f0 = at(i);
        std::uint32_t l0 = f0;
        while (i + 1 < n && at(i + 1) == l0 + 1 && l0 + 1 <= hi) {
          ++i;
          ++l0;
        }
        ++i;
        if (!f(f0, l0)) return false;
      }
      return true;
    }
    case rep::runs: {
      const std::uint16_t* a = u16s(v.h);
      const std::uint32_t n = v.h->runs;
      // First pair whose last >= lo.
      std::uint32_t i = lower_u16(a + 1, n, 2, lo);
      for (; i < n && a[2 * i] <= hi; ++i) {
        const std::uint32_t f0 = a[2 * i] < lo ? lo : a[2 * i];
        const std::uint32_t l0 = a[2 * i + 1] > hi ? hi : a[2 * i + 1];
        if (!f(f0, l0)) return false;
      }
      return true;
    }
    case rep::words:
    case rep::dense: {
      const word_t* w = bitwords(v.h);
      const std::uint32_t wl = lo >> 6, wh = hi >> 6;
      run_builder rb;
      auto emit = [&](page_range r) noexcept {
        return static_cast<bool>(f(static_cast<std::uint32_t>(r.first), static_cast<std::uint32_t>(r.last)));
      };
      auto masked = [&](std::uint32_t wi, word_t x) noexcept {
        if (wi == wl) x &= mask_from(lo & 63u);
        if (wi == wh) x &= mask_through(hi & 63u);
        return x;
      };
      if (v.kind == rep::dense) {
        for (std::uint32_t wi = wl; wi <= wh; ++wi) {
          const word_t x = masked(wi, w[wi]);
          if (x != 0 && !rb.feed(page_t{wi} << 6, x, emit)) return false;
        }
      } else {
        const std::uint16_t* idx = u16s(v.h);
        const std::uint32_t n = v.h->words;
        for (std::uint32_t i = lower_u16(idx, n, 1, wl); i < n && idx[i] <= wh; ++i) {
          const word_t x = masked(idx[i], w[i]);
          if (x != 0 && !rb.feed(page_t{idx[i]} << 6, x, emit)) return false;
        }
      }
      return rb.finish(emit);
    }
    default: return true;
  }
}

[[nodiscard]] inline bool contains(const view& v, std::uint32_t off) noexcept {
  switch (v.kind) {
    case rep::inline_sparse:
      for (std::uint32_t i = 0; i < v.n; ++i)
        if (v.inline_at(i) == off) return true;
      return false;
    case rep::sparse: {
      const std::uint16_t* a = u16s(v.h);
      const std::uint32_t i = lower_u16(a, v.h->pages, 1, off);
      return i < v.h->pages && a[i] == off;
    }
    case rep::runs: {
      const std::uint16_t* a = u16s(v.h);
      const std::uint32_t i = lower_u16(a + 1, v.h->runs, 2, off);
      return i < v.h->runs && a[2 * i] <= off;
    }
    case rep::words: {
      const std::uint16_t* idx = u16s(v.h);
      const std::uint32_t i = lower_u16(idx, v.h->words, 1, off >> 6);
      return i < v.h->words && idx[i] == (off >> 6) && ((bitwords(v.h)[i] >> (off & 63u)) & 1u) != 0;
    }
    case rep::dense: return ((bitwords(v.h)[off >> 6] >> (off & 63u)) & 1u) != 0;
    default: return false;
  }
}

[[nodiscard]] inline bool contains_all(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
  if (v.kind == rep::dense) {
    const word_t* w = bitwords(v.h);
    const std::uint32_t wl = lo >> 6, wh = hi >> 6;
    for (std::uint32_t wi = wl; wi <= wh; ++wi) {
      const word_t m = word_mask(wi, lo, hi);
      if ((w[wi] & m) != m) return false;
    }
    return true;
  }
  bool all = false;
  walk(v, lo, hi, [&](std::uint32_t f, std::uint32_t l) noexcept {
    all = f == lo && l == hi;
    return false;
  });
  return all;
}

[[nodiscard]] inline bool contains_any(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
  if (v.kind == rep::dense) {
    const word_t* w = bitwords(v.h);
    const std::uint32_t wl = lo >> 6, wh = hi >> 6;
    for (std::uint32_t wi = wl; wi <= wh; ++wi)
      if ((w[wi] & word_mask(wi, lo, hi)) != 0) return true;
    return false;
  }
  return !walk(v, lo, hi, [](std::uint32_t, std::uint32_t) noexcept { return false; });
}

/// Nonzero bitmap words among word indexes [wl, wh].
[[nodiscard]] inline std::uint32_t nonzero_words(const view& v, std::uint32_t wl, std::uint32_t wh) noexcept {
  if (v.kind == rep::dense) {
    const word_t* w = bitwords(v.h);
    std::uint32_t n = 0;
    for (std::uint32_t wi = wl; wi <= wh; ++wi) n += w[wi] != 0 ? 1u : 0u;
    return n;
  }
  if (v.kind == rep::words) {
    const std::uint16_t* idx = u16s(v.h);
    return lower_u16(idx, v.h->words, 1, wh + 1) - lower_u16(idx, v.h->words, 1, wl);
  }
  if (v.kind == rep::runs) {
    const std::uint16_t* a = u16s(v.h);
    const std::uint32_t n = v.h->runs, lo = wl << 6, hi = (wh << 6) | 63u;
    std::uint32_t count = 0, last_word = ~0u;
    for (std::uint32_t i = lower_u16(a + 1, n, 2, lo); i < n && a[2 * i] <= hi; ++i) {
      const std::uint32_t f = (a[2 * i] > lo ? a[2 * i] : lo) >> 6;
      const std::uint32_t l = (a[2 * i + 1] < hi ? a[2 * i + 1] : hi) >> 6;
      const std::uint32_t from = f == last_word ? f + 1 : f;
      if (from <= l) count += l - from + 1;
      last_word = l;
    }
    return count;
  }
  std::uint32_t n = 0;
  std::uint32_t last_word = ~0u;
  walk(v, wl << 6, (wh << 6) | 63u, [&](std::uint32_t f, std::uint32_t l) noexcept {
    std::uint32_t a = f >> 6;
    if (a == last_word) ++a;
    if (a <= (l >> 6)) n += (l >> 6) - a + 1;
    last_word = l >> 6;
    return true;
  });
  return n;
}

/// The counts of a container chunk.
[[nodiscard]] inline stats stats_of(const view& v) noexcept {
  if (v.kind != rep::inline_sparse) return stats{v.h->pages, v.h->runs, v.h->words};
  stats s;
  s.pages = v.n;
  std::uint32_t prev = ~0u, prev_word = ~0u;
  for (std::uint32_t i = 0; i < v.n; ++i) {
    const std::uint32_t o = v.inline_at(i);
    if (prev == ~0u || o != prev + 1) ++s.runs;
    if ((o >> 6) != prev_word) ++s.words;
    prev = o;
    prev_word = o >> 6;
  }
  return s;
}

/// Accumulates the counts of a run stream (ascending, maximal) of one chunk.
struct stats_builder {
  stats s;
  std::uint32_t last_word = ~0u;
  void add(std::uint32_t f, std::uint32_t l) noexcept {
    s.pages += l - f + 1;
    ++s.runs;
    std::uint32_t a = f >> 6;
    if (a == last_word) ++a;
    if (a <= (l >> 6)) s.words += (l >> 6) - a + 1;
    last_word = l >> 6;
  }
};

/// Writes a run stream into a fresh container h of kind k (cap already set).
/// `source(emit)` calls emit(first, last) for each maximal run, ascending.
template <class Source>
void fill(header* h, rep k, Source&& source) noexcept {
  h->kind = (static_cast<std::uint8_t>(k)) & 0xFu;
  h->pages = 0;
  h->runs = 0;
  h->words = 0;
  std::uint16_t* a = u16s(h);
  word_t* w = bitwords(h);
  if (k == rep::dense) std::memset(w, 0, sizeof(word_t) * chunk_words);
  std::uint32_t n = 0;  // entries written (words: words written)
  stats_builder sb;
  source([&](std::uint32_t f, std::uint32_t l) noexcept {
    sb.add(f, l);
    switch (k) {
      case rep::sparse:
        for (std::uint32_t o = f; o <= l; ++o) a[n++] = static_cast<std::uint16_t>(o);
        break;
      case rep::runs:
        a[2 * n] = static_cast<std::uint16_t>(f);
        a[2 * n + 1] = static_cast<std::uint16_t>(l);
        ++n;
        break;
      case rep::words:
        for (std::uint32_t wi = f >> 6; wi <= (l >> 6); ++wi) {
          if (n == 0 || a[n - 1] != wi) {
            a[n] = static_cast<std::uint16_t>(wi);
            w[n] = 0;
            ++n;
          }
          w[n - 1] |= word_mask(wi, f, l);
        }
        break;
      case rep::dense:
        for (std::uint32_t wi = f >> 6; wi <= (l >> 6); ++wi) w[wi] |= word_mask(wi, f, l);
        break;
      default: break;
    }
  });
  h->pages = (sb.s.pages) & 0x1FFFFu;
  h->runs = static_cast<std::uint16_t>(sb.s.runs);
  h->words = (static_cast<std::uint16_t>(sb.s.words)) & 0x7FFu;
}

/// Packs a run stream of at most 4 pages into an inline slot's head bits and tail.
template <class Source>
void fill_inline(std::uint64_t& head, std::uint64_t& tail, page_t base, Source&& source) noexcept {
  std::uint64_t packed = 0;
  std::uint32_t n = 0;
  source([&](std::uint32_t f, std::uint32_t l) noexcept {
    for (std::uint32_t o = f; o <= l; ++o) packed |= std::uint64_t{o} << (16 * n++);
  });
  head = container_bit | base | inline_bit | (std::uint64_t{n} << 1);
  tail = packed;
}

/// Merges the pages [lo, hi] into a run stream: calls emit for each maximal run of
/// (old ∪ [lo, hi]), where old(f) produces the old runs.
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

// ---- in-place edits of external containers ------------------------------------------

/// Counts for the window edited by an in-place change, taken before and after.
struct window_counts {
  std::uint32_t pages = 0;   // pages in [lo, hi]
  std::uint32_t starts = 0;  // run starts in [lo, hi + 1]
  std::uint32_t words = 0;   // nonzero words in [lo / 64, hi / 64]
  bool below = false;        // page lo - 1 is granted (lo > 0)
};

[[nodiscard]] inline window_counts count_window(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
  window_counts c;
  const std::uint32_t end = hi < last_offset ? hi + 1 : hi;
  if (v.kind != rep::runs && (v.kind != rep::sparse || lo != hi)) c.below = lo > 0 && contains(v, lo - 1);
  if (v.kind == rep::dense) {  // word at a time
    const word_t* w = bitwords(v.h);
    for (std::uint32_t wi = lo >> 6; wi <= (hi >> 6); ++wi) {
      c.pages += static_cast<std::uint32_t>(std::popcount(w[wi] & word_mask(wi, lo, hi)));
      c.words += w[wi] != 0 ? 1u : 0u;
    }
    c.starts = static_cast<std::uint32_t>(count_run_starts(w, lo, end));
    return c;
  }
  if (v.kind == rep::runs) {  // one search, then the few pairs around the window
    const std::uint16_t* a = u16s(v.h);
    const std::uint32_t n = v.h->runs;
    const std::uint32_t wlo = (lo & ~63u) < (lo > 0 ? lo - 1 : 0) ? (lo & ~63u) : (lo > 0 ? lo - 1 : 0);
    const std::uint32_t whi = (hi | 63u) > end ? (hi | 63u) : end;
    std::uint32_t last_word = ~0u;
    for (std::uint32_t i = lower_u16(a + 1, n, 2, wlo); i < n && a[2 * i] <= whi; ++i) {
      const std::uint32_t f = a[2 * i], l = a[2 * i + 1];
      if (lo > 0 && f <= lo - 1 && lo - 1 <= l) c.below = true;
      if (f >= lo && f <= end) ++c.starts;
      const std::uint32_t pf = f > lo ? f : lo, pl = l < hi ? l : hi;
      if (pf <= pl) c.pages += pl - pf + 1;
      const std::uint32_t wf = (f > (lo & ~63u) ? f : (lo & ~63u)) >> 6;
      const std::uint32_t wl2 = (l < (hi | 63u) ? l : (hi | 63u)) >> 6;
      if (wf <= wl2) {
        const std::uint32_t from = wf == last_word ? wf + 1 : wf;
        if (from <= wl2) c.words += wl2 - from + 1;
        last_word = wl2;
      }
    }
    return c;
  }
  if (v.kind == rep::sparse && lo == hi) {  // one page: one search
    const std::uint16_t* a = u16s(v.h);
    const std::uint32_t n = v.h->pages;
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
  bool first_piece = true;
  walk(v, lo, end, [&](std::uint32_t f, std::uint32_t l) noexcept {
    if (!(first_piece && f == lo && c.below)) ++c.starts;
    first_piece = false;
    const std::uint32_t l2 = l > hi ? hi : l;
    if (f <= l2) c.pages += l2 - f + 1;
    return true;
  });
  c.words = nonzero_words(v, lo >> 6, hi >> 6);
  return c;
}

/// The counts after granting [lo, hi], from the window's counts before: the
/// window then holds one run starting at lo (unless it joins the page below), all
/// of its pages, and every word it spans.
[[nodiscard]] inline stats stats_after_grant(stats s, std::uint32_t lo, std::uint32_t hi, window_counts before) noexcept {
  return stats{s.pages + (hi - lo + 1) - before.pages, s.runs + (before.below ? 0u : 1u) - before.starts,
               s.words + ((hi >> 6) - (lo >> 6) + 1) - before.words};
}

inline void set_counts(header* h, stats s) noexcept {
  h->pages = (s.pages) & 0x1FFFFu;
  h->runs = static_cast<std::uint16_t>(s.runs);
  h->words = (static_cast<std::uint16_t>(s.words)) & 0x7FFu;
}

/// Grants [lo, hi] in place. Precondition: cap >= entries_needed(kind, counts after).
/// `before` is count_window() of the container before the edit.
inline void grant_in_place(header* h, std::uint32_t lo, std::uint32_t hi, window_counts before) noexcept {
  const stats after = stats_after_grant(stats{h->pages, h->runs, h->words}, lo, hi, before);
  std::uint16_t* a = u16s(h);
  switch (static_cast<rep>(h->kind)) {
    case rep::dense: {
      word_t* w = bitwords(h);
      for (std::uint32_t wi = lo >> 6; wi <= (hi >> 6); ++wi) w[wi] |= word_mask(wi, lo, hi);
      break;
    }
    case rep::sparse: {
      const std::uint32_t n = h->pages;
      const std::uint32_t i_lo = lower_u16(a, n, 1, lo);
      const std::uint32_t i_hi = lo == hi ? i_lo + before.pages : lower_u16(a, n, 1, hi + 1);
      const std::uint32_t grow = (hi - lo + 1) - (i_hi - i_lo);
      std::memmove(a + i_hi + grow, a + i_hi, (n - i_hi) * sizeof(std::uint16_t));
      for (std::uint32_t o = lo; o <= hi; ++o) a[i_lo + (o - lo)] = static_cast<std::uint16_t>(o);
      h->pages = (n + grow) & 0x1FFFFu;
      break;
    }
    case rep::runs: {
      // Runs touching [lo - 1, hi + 1] collapse into one.
      const std::uint32_t n = h->runs;
      const std::uint32_t from = lower_u16(a + 1, n, 2, lo > 0 ? lo - 1 : 0);
      std::uint32_t to = from;
      while (to < n && a[2 * to] <= hi + 1) ++to;
      std::uint32_t f = lo, l = hi;
      if (to > from) {
        if (a[2 * from] < f) f = a[2 * from];
        if (a[2 * (to - 1) + 1] > l) l = a[2 * (to - 1) + 1];
      }
      std::memmove(a + 2 * (from + 1), a + 2 * to, (n - to) * 2 * sizeof(std::uint16_t));
      a[2 * from] = static_cast<std::uint16_t>(f);
      a[2 * from + 1] = static_cast<std::uint16_t>(l);
      h->runs = static_cast<std::uint16_t>(n + 1 - (to - from));
      break;
    }
    case rep::words: {
      const std::uint32_t n = h->words;
      word_t* w = bitwords(h);
      const std::uint32_t wl = lo >> 6, wh = hi >> 6;
      const std::uint32_t i_lo = lower_u16(a, n, 1, wl);
      const std::uint32_t i_hi = lower_u16(a, n, 1, wh + 1);
      const std::uint32_t grow = (wh - wl + 1) - (i_hi - i_lo);
      std::memmove(a + i_hi + grow, a + i_hi, (n - i_hi) * sizeof(std::uint16_t));
      std::memmove(w + i_hi + grow, w + i_hi, (n - i_hi) * sizeof(word_t));
      // Fill the window from the top down, keeping the old bits of words present.
      std::uint32_t src = i_hi;
      for (std::uint32_t wi = wh + 1; wi-- > wl;) {
        word_t old = 0;
        if (src > i_lo && a[src - 1] == wi) old = w[--src];
        a[i_lo + (wi - wl)] = static_cast<std::uint16_t>(wi);
        w[i_lo + (wi - wl)] = old | word_mask(wi, lo, hi);
      }
      h->words = (static_cast<std::uint16_t>(n + grow)) & 0x7FFu;
      break;
    }
    default: break;
  }
  set_counts(h, after);
}

inline void grant_in_place(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
  grant_in_place(h, lo, hi, count_window(view{static_cast<rep>(h->kind), h, 0, 0}, lo, hi));
}

/// Whether revoking [lo, hi] would split a run of a runs container (and so need a
/// free pair).
[[nodiscard]] inline bool revoke_splits(const header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
  if (static_cast<rep>(h->kind) != rep::runs) return false;
  const std::uint16_t* a = u16s(h);
  const std::uint32_t i = lower_u16(a + 1, h->runs, 2, lo);
  return i < h->runs && a[2 * i] < lo && a[2 * i + 1] > hi;
}

/// Revokes [lo, hi] in place. Precondition: if revoke_splits(), cap > runs.
/// `before` is count_window() of the container before the edit.
inline void revoke_in_place(header* h, std::uint32_t lo, std::uint32_t hi, window_counts before) noexcept {
  // Afterwards the window's only possible run start is hi + 1, if it is granted.
  const view v{static_cast<rep>(h->kind), h, 0, 0};
  const std::uint32_t start_above = hi < last_offset && contains(v, hi + 1) ? 1u : 0u;
  stats after{h->pages - before.pages, h->runs + start_above - before.starts, h->words};
  std::uint16_t* a = u16s(h);
  switch (static_cast<rep>(h->kind)) {
    case rep::dense: {
      word_t* w = bitwords(h);
      for (std::uint32_t wi = lo >> 6; wi <= (hi >> 6); ++wi) w[wi] &= ~word_mask(wi, lo, hi);
      break;
    }
    case rep::sparse: {
      const std::uint32_t n = h->pages;
      const std::uint32_t i_lo = lower_u16(a, n, 1, lo);
      const std::uint32_t i_hi = lower_u16(a, n, 1, hi + 1);
      std::memmove(a + i_lo, a + i_hi, (n - i_hi) * sizeof(std::uint16_t));
      h->pages = (n - (i_hi - i_lo)) & 0x1FFFFu;
      break;
    }
    case rep::runs: {
      const std::uint32_t n = h->runs;
      std::uint32_t from = lower_u16(a + 1, n, 2, lo);  // first run with last >= lo
      if (from < n && a[2 * from] < lo && a[2 * from + 1] > hi) {
        std::memmove(a + 2 * (from + 1), a + 2 * from, (n - from) * 2 * sizeof(std::uint16_t));
        a[2 * from + 1] = static_cast<std::uint16_t>(lo - 1);
        a[2 * (from + 1)] = static_cast<std::uint16_t>(hi + 1);
        h->runs = static_cast<std::uint16_t>(n + 1);
        break;
      }
      if (from < n && a[2 * from] < lo) {  // head run keeps its part below lo
        a[2 * from + 1] = static_cast<std::uint16_t>(lo - 1);
        ++from;
      }
      std::uint32_t to = from;
      while (to < n && a[2 * to + 1] <= hi) ++to;  // runs wholly inside go
      if (to < n && a[2 * to] <= hi) a[2 * to] = static_cast<std::uint16_t>(hi + 1);
      std::memmove(a + 2 * from, a + 2 * to, (n - to) * 2 * sizeof(std::uint16_t));
      h->runs = static_cast<std::uint16_t>(n - (to - from));
      break;
    }
    case rep::words: {
      const std::uint32_t n = h->words;
      word_t* w = bitwords(h);
      const std::uint32_t wl = lo >> 6, wh = hi >> 6;
      const std::uint32_t i_lo = lower_u16(a, n, 1, wl);
      const std::uint32_t i_hi = lower_u16(a, n, 1, wh + 1);
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
      h->words = (static_cast<std::uint16_t>(n - (i_hi - out))) & 0x7FFu;
      break;
    }
    default: break;
  }
  after.words = after.words - before.words + nonzero_words(view{static_cast<rep>(h->kind), h, 0, 0}, lo >> 6, hi >> 6);
  set_counts(h, after);
}

inline void revoke_in_place(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
  revoke_in_place(h, lo, hi, count_window(view{static_cast<rep>(h->kind), h, 0, 0}, lo, hi));
}

}  // namespace pmemperm::detail::hyb
