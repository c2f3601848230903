// pmemperm/tuning.hpp — every threshold of the adaptive backend, in one place.
//
// The hybrid picks, per chunk of hybrid_chunk_pages pages, the representation whose
// size (in bytes, the chunk's index slot included) is smallest for the pages granted
// there. The numbers below are the inputs of that comparison; each says why it has
// the value it has. Changing one changes memory use, never correctness: array sizes
// derive from them, static_asserts in detail/hybrid/layout.hpp reject values the
// layout cannot hold, and the test suite builds and passes with two other sets.
//
// The four that are pure policy can be set at build time by defining the macro
// named beside them (the same value in every translation unit of a program):
// PMEMPERM_HYBRID_MAX_INDEX_RUNS, PMEMPERM_HYBRID_INLINE_PAGES,
// PMEMPERM_HYBRID_GROWTH_DIVISOR and PMEMPERM_HYBRID_SHRINK_SLACK.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pmemperm::tuning {

/// log2 of the hybrid's chunk size. 2^16 pages (256 MiB of 4 KiB pages) is the
/// largest chunk whose page offsets fit in 16 bits, which halves the size of a
/// sparse page list and of a word index compared with 32-bit offsets, while a
/// whole-chunk bitmap (8 KiB) is still cheap to scan and convert.
inline constexpr unsigned hybrid_chunk_shift = 16;

/// Bytes of one index slot. Every representation but "runs in the index" pays one.
inline constexpr std::size_t hybrid_slot_bytes = 16;

/// Bytes of the header in front of every external chunk container (page, run and
/// word counts, capacity, kind, packed in one word): the counts make every size
/// decision O(1), and a small header keeps the many tiny containers of scattered
/// pages inside the smallest allocation size class.
inline constexpr std::size_t hybrid_header_bytes = 8;

/// A chunk keeps its runs as plain index slots only while it has at most this many:
/// up to two runs such slots are no larger than a run container (one slot plus a
/// header), they merge with runs in neighbouring chunks (one slot for a grant that
/// spans many chunks), and they convert back with at most two index inserts — which
/// is what keeps every conversion O(log n).
#ifndef PMEMPERM_HYBRID_MAX_INDEX_RUNS
#  define PMEMPERM_HYBRID_MAX_INDEX_RUNS 2
#endif
inline constexpr std::uint32_t hybrid_max_index_runs = PMEMPERM_HYBRID_MAX_INDEX_RUNS;

/// Pages a chunk can keep inside its index slot, with no allocation at all: four
/// 16-bit offsets fill the slot's second word. Scattered single pages (pattern W4)
/// then cost 16 bytes per 1–4 pages. At most 4; 0 turns the inline form off.
#ifndef PMEMPERM_HYBRID_INLINE_PAGES
#  define PMEMPERM_HYBRID_INLINE_PAGES 4
#endif
inline constexpr std::uint32_t hybrid_inline_pages = PMEMPERM_HYBRID_INLINE_PAGES;

/// Containers grow with 1/8 headroom (at least 4 entries), so a run of grants into
/// one chunk reallocates O(log) times, not at every grant, at a memory cost of at
/// most about 12% of the container.
#ifndef PMEMPERM_HYBRID_GROWTH_DIVISOR
#  define PMEMPERM_HYBRID_GROWTH_DIVISOR 8
#endif
inline constexpr std::uint32_t hybrid_growth_divisor = PMEMPERM_HYBRID_GROWTH_DIVISOR;

/// Most mallocs (glibc's among them) hand out blocks in 16-byte steps with an
/// 8-byte header, so a request of 16m + 8 bytes wastes nothing; containers take the
/// headroom up to that size for free.
inline constexpr std::size_t hybrid_alloc_granule = 16;
inline constexpr std::size_t hybrid_alloc_overhead = 8;

/// A container whose capacity exceeds twice its need plus this many entries is
/// shrunk when a revoke leaves it so (best effort: a refused allocation keeps it).
/// At least hybrid_alloc_granule / 2, the entries rounding up to a size class may
/// add to a page list: a container must fit this rule as soon as it is allocated.
#ifndef PMEMPERM_HYBRID_SHRINK_SLACK
#  define PMEMPERM_HYBRID_SHRINK_SLACK 8
#endif
inline constexpr std::uint32_t hybrid_shrink_slack = PMEMPERM_HYBRID_SHRINK_SLACK;

}  // namespace pmemperm::tuning
