// pmemperm/detail/hybrid/layout.hpp — how the hybrid stores a chunk, and what each
// form costs.
//
// The hybrid cuts the page space into chunks of 2^16 pages. A chunk that holds
// pages is in exactly one of these representations (`rep`):
//
//   run_slots     its runs are plain index slots {first, last} (bit 63 of first
//                 clear); such slots may run on across chunk borders into other
//                 run_slots chunks
//   inline_pages  up to four pages, as 16-bit offsets inside the chunk's index slot
//   page_list     a sorted list of 16-bit page offsets            (container)
//   run_list      a sorted list of 16-bit {first, last} pairs      (container)
//   word_list     the nonzero 64-bit words of the chunk's bitmap, with their
//                 16-bit word indexes                               (container)
//   bitmap        the chunk's whole bitmap, 1024 words              (container)
//
// Index slot of a chunk held inline or in a container (16 bytes):
//
//   struct slot {
//     uint64_t head;   // bit 63: not a run; bits 62..16: the chunk's first page;
//                      // inline: bits 15..0 the lowest page's offset, else 0
//     uint64_t tail;   // container: its address (8-byte aligned, so bit 0 clear);
//                      // inline: bit 0 set, bits 3..1 the page count (1..4),
//                      // bits 63..16 the other three offsets, ascending
//   };
//
// So every slot's key, the page the index orders it by, is its head without bit
// 63: a run's first page, a container's chunk base, an inline chunk's lowest page.
// It takes one instruction at every step of every index search.
//
// A container is one allocation, 8-byte aligned: an 8-byte header, then the
// payload the geometry table below describes:
//
//   page_list:  uint16_t offset[cap];
//   run_list:   uint16_t pair[cap][2];                // first, last
//   word_list:  uint16_t index[cap]; (padded to 8)    uint64_t bits[cap];
//   bitmap:     uint64_t bits[1024];
//
// The header's counts make the choice of representation O(1): rep_for() compares
// the bytes each candidate would take for those counts (tuning.hpp explains the
// inputs) and picks the smallest, so the choice depends on the chunk's pages
// alone, never on the order of the operations that put them there.
#pragma once

#include "../../config.hpp"

#include <bit>
#include <cstddef>
#include <cstdint>

#include "../../tuning.hpp"
#include "../../types.hpp"
#include "../bits.hpp"

/// The hybrid's small dispatchers and hot helpers are inlined where they are used
/// (a call for each would cost as much as the work they do).
#if defined(__GNUC__) || defined(__clang__)
#  define PMEMPERM_HYB_INLINE [[gnu::always_inline]] inline
#else
#  define PMEMPERM_HYB_INLINE inline
#endif

namespace pmemperm::detail::hyb {

// ---- chunks and index slots --------------------------------------------------------------

inline constexpr unsigned chunk_shift = tuning::hybrid_chunk_shift;
inline constexpr page_t chunk_pages = page_t{1} << chunk_shift;
inline constexpr std::uint32_t last_offset = static_cast<std::uint32_t>(chunk_pages - 1);
inline constexpr std::uint32_t chunk_words = static_cast<std::uint32_t>(chunk_pages / 64);
static_assert(chunk_shift == 16, "offsets and word indexes are stored as 16-bit values");

inline constexpr std::uint64_t container_bit = std::uint64_t{1} << 63;
inline constexpr std::uint64_t inline_bit = 1;  // in the tail
inline constexpr unsigned inline_count_shift = 1;
inline constexpr std::uint64_t inline_count_mask = 7;
inline constexpr std::uint64_t offset_mask = 0xFFFFu;
inline constexpr std::uint64_t base_mask = max_page & ~static_cast<std::uint64_t>(chunk_pages - 1);

/// Pages an inline slot can hold: four 16-bit offsets fill the slot's tail, and the
/// count field in the head holds up to 7.
inline constexpr std::uint32_t inline_capacity = 4;
static_assert(tuning::hybrid_inline_pages <= inline_capacity,
              "tuning::hybrid_inline_pages: an index slot holds at most four 16-bit offsets");
static_assert(tuning::hybrid_max_index_runs >= 1 && tuning::hybrid_max_index_runs <= 64,
              "tuning::hybrid_max_index_runs: 1 to 64 (a grant plans that many runs per chunk on its stack)");
static_assert(tuning::hybrid_growth_divisor >= 1, "tuning::hybrid_growth_divisor: at least 1 (1/divisor headroom)");
static_assert(tuning::hybrid_shrink_slack >= tuning::hybrid_alloc_granule / 2,
              "tuning::hybrid_shrink_slack: below the entries a size-class round-up adds, a fresh container "
              "would already count as too large");

[[nodiscard]] constexpr page_t base_of(page_t p) noexcept { return p & ~static_cast<page_t>(chunk_pages - 1); }

/// One index slot: a run, or a chunk held inline or in a container.
struct slot {
  std::uint64_t head;
  std::uint64_t tail;
  [[nodiscard]] constexpr bool is_run() const noexcept { return (head & container_bit) == 0; }
  [[nodiscard]] constexpr bool is_inline() const noexcept { return !is_run() && (tail & inline_bit) != 0; }
  /// An external container (neither a run nor inline).
  [[nodiscard]] constexpr bool is_container() const noexcept { return !is_run() && (tail & inline_bit) == 0; }
  /// The page the index orders the slot by: a run's first page, a container's
  /// chunk base, an inline chunk's lowest page (no slot of another chunk lies
  /// between the base and it). Evaluated at every step of every index search.
  [[nodiscard]] constexpr page_t key() const noexcept { return head & max_page; }
  /// The first page of the chunk the slot's key lies in: for a slot held inline
  /// or in a container, its chunk's base.
  [[nodiscard]] constexpr page_t chunk() const noexcept { return head & base_mask; }
  /// The last page the slot may hold: a run's last page, or its chunk's last page.
  [[nodiscard]] constexpr page_t end() const noexcept { return is_run() ? tail : chunk() + last_offset; }

  [[nodiscard]] static constexpr slot run(page_t first, page_t last) noexcept { return slot{first, last}; }
  /// An inline chunk at base holding n pages, packed as four 16-bit offsets, lowest
  /// first (the unused ones zero).
  [[nodiscard]] static constexpr slot inline_pages(page_t base, std::uint32_t n, std::uint64_t packed) noexcept {
    return slot{container_bit | base | (packed & offset_mask),
                (packed & ~offset_mask) | inline_bit | (std::uint64_t{n} << inline_count_shift)};
  }
  [[nodiscard]] constexpr std::uint32_t inline_count() const noexcept {
    return static_cast<std::uint32_t>((tail >> inline_count_shift) & inline_count_mask);
  }
  /// An inline slot's offsets, packed as inline_pages() takes them.
  [[nodiscard]] constexpr std::uint64_t inline_packed() const noexcept {
    return (tail & ~offset_mask) | (head & offset_mask);
  }
};

/// The index orders slots by key().
struct slot_key {
  [[nodiscard]] static constexpr page_t key(const slot& s) noexcept { return s.key(); }
};

/// A chunk's representation; the enumerators run from cheapest to costliest on a
/// tie (see rep_for()).
enum class rep : std::uint8_t { empty, run_slots, inline_pages, page_list, run_list, word_list, bitmap };

[[nodiscard]] constexpr bool is_container_kind(rep k) noexcept {
  return k == rep::page_list || k == rep::run_list || k == rep::word_list || k == rep::bitmap;
}

// ---- counts ------------------------------------------------------------------------------------

/// What the representation choice needs to know about a chunk's pages.
struct stats {
  std::uint32_t pages = 0;  // pages granted (at most 65536)
  std::uint32_t runs = 0;   // maximal runs inside the chunk (at most 32768)
  std::uint32_t words = 0;  // nonzero 64-page words of its bitmap (at most 1024)
  friend constexpr bool operator==(const stats&, const stats&) noexcept = default;
};

/// Counts the distinct 64-page words that a stream of ascending, disjoint runs
/// touches (the one place this is written).
struct word_counter {
  std::uint32_t words = 0;
  std::uint32_t last_word = ~0u;
  constexpr void add(std::uint32_t f, std::uint32_t l) noexcept {
    std::uint32_t a = f >> 6;
    if (a == last_word) ++a;
    if (a <= (l >> 6)) words += (l >> 6) - a + 1;
    last_word = l >> 6;
  }
};

/// Accumulates the counts of a chunk's run stream (ascending and maximal).
struct stats_builder {
  stats s;
  word_counter wc;
  constexpr void add(std::uint32_t f, std::uint32_t l) noexcept {
    s.pages += l - f + 1;
    ++s.runs;
    wc.add(f, l);
    s.words = wc.words;
  }
};

// ---- container header and geometry -----------------------------------------------------------

/// The header in front of every container: the chunk's counts, its kind and the
/// payload's capacity, in one 8-byte word. Read and written through the members
/// only (the bit widths live here and nowhere else).
class header {
 public:
  [[nodiscard]] rep kind() const noexcept { return static_cast<rep>(kind_); }
  [[nodiscard]] std::uint32_t cap() const noexcept { return cap_; }
  [[nodiscard]] std::uint32_t pages() const noexcept { return pages_; }
  [[nodiscard]] std::uint32_t runs() const noexcept { return runs_; }
  [[nodiscard]] std::uint32_t words() const noexcept { return words_; }
  [[nodiscard]] stats counts() const noexcept { return stats{pages_, runs_, words_}; }

  void init(rep k, std::uint32_t capacity) noexcept {
    PMEMPERM_ASSERT(is_container_kind(k) && capacity <= 0xFFFFu);
    kind_ = static_cast<std::uint32_t>(k) & 0xFu;
    cap_ = capacity & 0xFFFFu;
    set_counts(stats{});
  }
  void set_counts(stats s) noexcept {
    PMEMPERM_ASSERT(s.pages <= chunk_pages && s.runs <= 0xFFFFu && s.words <= chunk_words);
    pages_ = s.pages & 0x1FFFFu;
    runs_ = s.runs & 0xFFFFu;
    words_ = s.words & 0x7FFu;
  }

 private:
  std::uint32_t pages_ : 17;  // up to 65536
  std::uint32_t words_ : 11;  // up to 1024
  std::uint32_t kind_ : 4;    // a container rep
  std::uint32_t runs_ : 16;   // up to 32768
  std::uint32_t cap_ : 16;    // entries (offsets, pairs or words)
};
static_assert(sizeof(header) == tuning::hybrid_header_bytes);

inline constexpr std::size_t container_align = 8;

[[nodiscard]] constexpr std::size_t round8(std::size_t x) noexcept { return (x + 7) & ~std::size_t{7}; }

/// The payload of a container kind: per entry, `keys` 16-bit values (padded to 8
/// bytes as a block) and then `words` 64-bit words; which count the entries follow
/// (`counted`), plus `spare` entries; or a fixed number of entries.
struct geometry {
  std::uint32_t keys = 0;
  std::uint32_t words = 0;
  std::uint32_t stats::*counted = nullptr;
  std::uint32_t spare = 0;
  std::uint32_t fixed = 0;
};

/// Indexed by rep. A run list keeps one spare pair, so that a revoke splitting a run
/// never needs memory.
inline constexpr geometry geometries[] = {
    {},                                // empty
    {},                                // run_slots
    {},                                // inline_pages
    {1, 0, &stats::pages, 0, 0},       // page_list: offsets
    {2, 0, &stats::runs, 1, 0},        // run_list: first, last
    {1, 1, &stats::words, 0, 0},       // word_list: word indexes, then the words
    {0, 1, nullptr, 0, chunk_words},   // bitmap: every word
};

[[nodiscard]] constexpr const geometry& geometry_of(rep k) noexcept { return geometries[static_cast<std::size_t>(k)]; }

/// Allocation size of a container of kind k with room for cap entries.
[[nodiscard]] constexpr std::size_t container_bytes(rep k, std::size_t cap) noexcept {
  const geometry& g = geometry_of(k);
  return sizeof(header) + round8(2 * g.keys * cap) + 8 * g.words * cap;
}

/// Entries a container of kind k needs for these counts.
[[nodiscard]] constexpr std::uint32_t entries_needed(rep k, stats s) noexcept {
  const geometry& g = geometry_of(k);
  return g.counted == nullptr ? g.fixed : s.*g.counted + g.spare;
}

/// Entries a container holds now (what a copy moves).
[[nodiscard]] inline std::uint32_t entries_in(const header* h) noexcept {
  const geometry& g = geometry_of(h->kind());
  const stats s = h->counts();
  return g.counted == nullptr ? 0u : s.*g.counted;
}

[[nodiscard]] inline std::uint16_t* keys_of(header* h) noexcept {
  return reinterpret_cast<std::uint16_t*>(h + 1);
}
[[nodiscard]] inline const std::uint16_t* keys_of(const header* h) noexcept {
  return reinterpret_cast<const std::uint16_t*>(h + 1);
}
/// The 64-bit words, after the keys (whose block is padded to 8 bytes, so the
/// words are 8-byte aligned in the 8-byte aligned container).
[[nodiscard]] inline word_t* words_of(header* h) noexcept {
  const std::size_t skip = round8(2 * std::size_t{geometry_of(h->kind()).keys} * h->cap());
  return static_cast<word_t*>(static_cast<void*>(reinterpret_cast<unsigned char*>(h + 1) + skip));
}
/// The same for a container known to be of kind K (the offset folds for a bitmap).
template <rep K>
[[nodiscard]] inline word_t* words_of(header* h) noexcept {
  const std::size_t skip = round8(2 * std::size_t{geometry_of(K).keys} * h->cap());
  return static_cast<word_t*>(static_cast<void*>(reinterpret_cast<unsigned char*>(h + 1) + skip));
}
template <rep K>
[[nodiscard]] inline const word_t* words_of(const header* h) noexcept {
  return words_of<K>(const_cast<header*>(h));
}
[[nodiscard]] inline const word_t* words_of(const header* h) noexcept {
  return words_of(const_cast<header*>(h));
}

[[nodiscard]] inline header* container_of(const slot& s) noexcept { return reinterpret_cast<header*>(s.tail); }
[[nodiscard]] inline std::uint64_t address_of(const header* h) noexcept { return reinterpret_cast<std::uint64_t>(h); }

// ---- the cost model ---------------------------------------------------------------------------

/// Capacity to allocate for a need: 1/8 headroom, then as many more entries as fit
/// before the next allocation size class (tuning.hpp), so headroom costs no heap.
[[nodiscard]] constexpr std::uint32_t grown_capacity(rep k, std::uint32_t need) noexcept {
  const geometry& g = geometry_of(k);
  if (g.counted == nullptr) return g.fixed;
  const std::uint32_t limit = k == rep::word_list ? chunk_words : 0xFFFFu;
  std::uint32_t c = need + need / tuning::hybrid_growth_divisor;
  if (c > limit) c = limit;
  constexpr std::size_t gr = tuning::hybrid_alloc_granule, o = tuning::hybrid_alloc_overhead;
  const std::size_t target = (container_bytes(k, c) + o + gr - 1) / gr * gr - o;
  while (c < limit && container_bytes(k, c + 1) <= target) ++c;
  return c;
}

/// A container keeps its capacity while it has room for its need and no more than
/// twice the growth headroom beyond it, plus tuning::hybrid_shrink_slack entries
/// (so a fresh container, whose size-class round-up adds fewer entries than that
/// slack, always fits). The same rule holds after grants and revokes, so the
/// bytes a set holds depend on the order that built it by that band at most; a
/// container that churns (grows, then shrinks) costs at most about a quarter more
/// than its need with the default tuning.
[[nodiscard]] constexpr bool capacity_fits(std::uint32_t cap, std::uint32_t need) noexcept {
  return cap >= need && cap <= need + 2 * (need / tuning::hybrid_growth_divisor) + tuning::hybrid_shrink_slack;
}

/// Bytes the chunk would cost in representation k (its slots included).
[[nodiscard]] constexpr std::size_t cost(rep k, stats s) noexcept {
  constexpr std::size_t never = ~std::size_t{0};
  constexpr std::size_t slot_bytes = tuning::hybrid_slot_bytes;
  if (k == rep::run_slots) return s.runs <= tuning::hybrid_max_index_runs ? slot_bytes * s.runs : never;
  if (k == rep::inline_pages) return s.pages <= tuning::hybrid_inline_pages ? slot_bytes : never;
  if (is_container_kind(k)) return slot_bytes + container_bytes(k, entries_needed(k, s));
  return never;
}

/// The representation of a chunk with these counts: the smallest; ties go to the
/// earlier one in the order of `rep`.
[[nodiscard]] constexpr rep rep_for(stats s) noexcept {
  if (s.pages == 0) return rep::empty;
  rep best = rep::run_slots;
  std::size_t best_cost = cost(rep::run_slots, s);
  // One call per kind, so that each kind's geometry folds into constants.
  auto consider = [&](rep k) noexcept {
    const std::size_t c = cost(k, s);
    if (c < best_cost) {
      best = k;
      best_cost = c;
    }
  };
  consider(rep::inline_pages);
  consider(rep::page_list);
  consider(rep::run_list);
  consider(rep::word_list);
  consider(rep::bitmap);
  return best;
}

// ---- searching 16-bit keys -------------------------------------------------------------------

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

[[nodiscard]] constexpr std::uint16_t u16(std::uint32_t x) noexcept { return static_cast<std::uint16_t>(x); }

/// Set bits of a word. Without a population-count instruction in the target
/// (-mpopcnt), std::popcount is a library call; this is a few arithmetic steps.
[[nodiscard]] constexpr std::uint32_t bit_count(word_t x) noexcept {
#if defined(__POPCNT__)
  return static_cast<std::uint32_t>(std::popcount(x));
#else
  x = x - ((x >> 1) & 0x5555555555555555u);
  x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Fu;
  return static_cast<std::uint32_t>((x * 0x0101010101010101u) >> 56);
#endif
}

}  // namespace pmemperm::detail::hyb
