// pmemperm/backends/chunked_bitmap.hpp — the sub-bitmap design: lazily allocated
// bitmaps per fixed chunk, whole chunks as merged range entries, one ordered index.
//
// The page space is cut into chunks of ChunkPages pages (a power of two, at least
// 64; the default 32768 makes one chunk's bitmap exactly 4 KiB). A chunk is
//  - absent, when none of its pages is granted: it costs nothing;
//  - a bitmap entry, when some but not all of its pages are granted: one block of
//    ChunkPages / 8 bytes, allocated when the chunk's first page is granted and
//    freed when its last page is revoked;
//  - part of a range entry, when all of its pages are granted: adjacent full
//    chunks share one entry, so a range entry always covers whole chunks and no
//    two range entries touch.
// Both kinds live in the B+-tree of detail/btree.hpp, keyed by their first page.
// This is the design as it was proposed, kept faithful so that it can be studied:
// its memory is ChunkPages / 8 bytes per partly granted chunk, plus 16 bytes per
// entry in the index, plus the revoke reserve below.
//
// Index entry (16 bytes; the key is the entry's first page, always chunk aligned,
// so a bitmap entry's popcount fits in the key's low bits for free):
//
//   struct entry {
//     page_t tag;        // first page | popcount: low log2(ChunkPages) bits are 0 for
//                        //   a range entry, and the chunk's granted page count
//                        //   (1 ... ChunkPages - 1) for a bitmap entry
//     union {
//       page_t  last;    // range entry: its last page (a chunk's last page)
//       word_t* bits;    // bitmap entry: ChunkPages / 64 words, page base + i is
//     };                 //   bit i % 64 of word i / 64
//   };
//
// Complexity: grant and revoke are O(log n) plus the words of the at most two
// chunks the range cuts, plus O(1) for each entry they absorb or remove (and the
// words of a removed bitmap only when a visitor wants its runs); whole chunks are
// handled as range entries, never page by page. contains is O(log n);
// contains_all and contains_any are O(log n) plus the words of at most two chunks.
// count() and range_count() are cached: the run count is kept exact by counting
// run starts just around the edited span before and after the edit. for_each_range
// is O(log n + entries visited + words of the bitmaps visited) and reports maximal
// runs, joined across chunk boundaries.
//
// Failure behaviour: a grant makes every allocation it needs (bitmap blocks, index
// nodes, the revoke reserve) before changing anything; if one is refused it frees
// what it took and returns out_of_memory with the set, memory_bytes() included,
// unchanged. A revoke never fails for lack of memory: while range entries exist,
// the set keeps two spare bitmap blocks (counted in memory_bytes()) for the at most
// two full chunks that a revoke turns back into bitmaps, and the index keeps its
// own reserve for three inserts. A revoke that needs more (the reserve spent by an
// earlier revoke) tries to allocate it; if the allocator refuses, the revoke widens its
// range instead: first each cut full chunk is revoked entirely, then, if even the
// one index insert that may remain is impossible, the rest of the range entry to
// the right of the revoked range goes too. Every extra page is reported through
// on_removed and the revoke returns revoked_extra: no page of the range asked for
// is ever left granted. The reserves are refilled, best effort, after every revoke.
//
// Visitors run while the operation is in progress and must not access the set.
#pragma once

#include "../config.hpp"  // first: below C++20 it stops with one #error

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "../allocator.hpp"
#include "../detail/bits.hpp"
#include "../detail/btree.hpp"
#include "../detail/visitor.hpp"
#include "../page_set.hpp"
#include "../types.hpp"

namespace pmemperm {
namespace detail {

/// The representation counters of a chunked_bitmap, for its tests and studies
/// only (not part of the page_set interface): each is O(1) and reads a cached
/// count. A friend of chunked_bitmap.
struct chunked_bitmap_test_access {
  /// Bitmap entries (partly granted chunks), each holding one block.
  template <class S>
  [[nodiscard]] static std::size_t bitmap_count(const S& s) noexcept {
    return s.bitmaps_;
  }
  /// Range entries (maximal spans of full chunks).
  template <class S>
  [[nodiscard]] static std::size_t range_entry_count(const S& s) noexcept {
    return s.ranges_;
  }
  /// Spare bitmap blocks held for revokes (2 per reserved revoke while range
  /// entries exist, else 0; fewer after a refused refill).
  template <class S>
  [[nodiscard]] static std::size_t spare_bitmaps(const S& s) noexcept {
    return s.spare_n_;
  }
  /// Bytes of the index alone (nodes and their reserve).
  template <class S>
  [[nodiscard]] static std::size_t index_bytes(const S& s) noexcept {
    return s.tree_.memory_bytes();
  }
  /// Levels of the index.
  template <class S>
  [[nodiscard]] static std::size_t index_height(const S& s) noexcept {
    return s.tree_.height();
  }
};

}  // namespace detail

/// The sub-bitmap design: see the header comment. n below is the number of index
/// entries (bitmap entries plus range entries).
template <byte_allocator Alloc = new_allocator, page_t ChunkPages = 32768>
class chunked_bitmap {
  friend struct detail::chunked_bitmap_test_access;
  static_assert(ChunkPages >= 64 && (ChunkPages & (ChunkPages - 1)) == 0,
                "ChunkPages must be a power of two of at least one 64-bit word");
  static_assert(ChunkPages <= (page_t{1} << 32), "a chunk's bitmap must stay a reasonable block");

  using word_t = detail::word_t;
  static constexpr page_t low_bits = ChunkPages - 1;

  struct entry {
    page_t tag;
    union payload {
      page_t last;
      word_t* bits;
    } u;
  };
  struct key_of {
    [[nodiscard]] static constexpr page_t key(const entry& e) noexcept { return e.tag & ~low_bits; }
  };
  // No inline root: a revoke that cuts a range entry may add two entries, and
  // a lone root leaf keeps room for them (an inline root has room for one).
  using index = detail::btree<entry, Alloc, 4096, key_of, 0>;
  using cursor = typename index::cursor;

 public:
  /// The allocator of the index nodes and the bitmap blocks.
  using allocator_type = Alloc;
  /// Pages per chunk.
  static constexpr page_t chunk_pages = ChunkPages;
  /// Words of one chunk's bitmap.
  static constexpr std::size_t chunk_words = static_cast<std::size_t>(ChunkPages / 64);
  /// Bytes of one chunk's bitmap block.
  static constexpr std::size_t bitmap_bytes = static_cast<std::size_t>(ChunkPages / 8);
  /// The index nodes' alignment, so a pool that serves one serves both.
  static constexpr std::size_t bitmap_align = 16;
  /// Bytes of one index entry (bitmap or range).
  static constexpr std::size_t entry_bytes = sizeof(entry);

  /// An empty set with the default reserve (1). O(1), never allocates.
  chunked_bitmap() noexcept
    requires std::is_default_constructible_v<Alloc>
  {
    tree_.set_reserve_target(index_inserts_per_revoke);
  }
  /// An empty set allocating from a. O(1), never allocates.
  explicit chunked_bitmap(Alloc a) noexcept : tree_(static_cast<Alloc&&>(a)) {
    tree_.set_reserve_target(index_inserts_per_revoke);
  }
  /// Not copyable: copying allocates and could fail; use assign().
  chunked_bitmap(const chunked_bitmap&) = delete;
  /// Not copyable: use assign().
  chunked_bitmap& operator=(const chunked_bitmap&) = delete;
  /// Takes o's index, blocks, allocator and reserve count; o is left empty with
  /// the default reserve. O(1), never allocates.
  chunked_bitmap(chunked_bitmap&& o) noexcept
      : tree_(static_cast<index&&>(o.tree_)),
        spare_(std::exchange(o.spare_, nullptr)),
        spare_n_(std::exchange(o.spare_n_, 0)),
        target_(std::exchange(o.target_, 1)),
        pages_(std::exchange(o.pages_, 0)),
        runs_(std::exchange(o.runs_, 0)),
        ranges_(std::exchange(o.ranges_, 0)),
        bitmaps_(std::exchange(o.bitmaps_, 0)) {
    o.tree_.set_reserve_target(index_inserts_per_revoke);
  }
  /// Frees this set's memory, then takes o's as the move constructor does. O(n)
  /// for the blocks freed, never allocates.
  chunked_bitmap& operator=(chunked_bitmap&& o) noexcept {
    if (this != &o) {
      release_blocks();  // with this set's allocator, before it is replaced
      tree_ = static_cast<index&&>(o.tree_);
      spare_ = std::exchange(o.spare_, nullptr);
      spare_n_ = std::exchange(o.spare_n_, 0);
      target_ = std::exchange(o.target_, 1);
      pages_ = std::exchange(o.pages_, 0);
      runs_ = std::exchange(o.runs_, 0);
      ranges_ = std::exchange(o.ranges_, 0);
      bitmaps_ = std::exchange(o.bitmaps_, 0);
      o.tree_.set_reserve_target(index_inserts_per_revoke);
    }
    return *this;
  }
  /// Returns every block and index node to the allocator. O(n).
  ~chunked_bitmap() { release_blocks(); }

  // ---- modification ---------------------------------------------------------------

  /// grant(r, on_added) without a visitor.
  [[nodiscard]] errc grant(page_range r) noexcept { return grant(r, no_visitor{}); }

  /// Adds r; on_added(page_range) gets each maximal run of pages r adds (its result
  /// is ignored). O(log n + words of the at most two chunks r cuts + entries it
  /// absorbs). Everything it needs (bitmap blocks, index nodes, the refilled revoke
  /// reserve) is allocated before anything changes: invalid_range or out_of_memory
  /// leave the set as it was, memory_bytes() included, with no visitor call. A grant
  /// of pages already held only refills the reserve (out_of_memory if refused).
  template <range_visitor F>
  [[nodiscard]] errc grant(page_range r, F&& on_added) noexcept {
    if (!r.valid()) return errc::invalid_range;
    const std::uint64_t had = granted_in(r);
    if (had == r.size()) return refill_reserve();
    const grant_plan p = plan_grant(r, r.size() - had);

    word_t* b0 = nullptr;
    word_t* b1 = nullptr;
    word_t* spare = nullptr;  // a chain of freshly allocated spare blocks
    std::size_t nspare = 0;
    auto undo = [&]() noexcept {
      if (b0 != nullptr) free_block(b0);
      if (b1 != nullptr) free_block(b1);
      free_chain(spare);
    };
    if (p.pc0 != 0 && !p.b0_old && (b0 = alloc_block()) == nullptr) return errc::out_of_memory;
    if (p.pc1 != 0 && !p.b1_old && (b1 = alloc_block()) == nullptr) {
      undo();
      return errc::out_of_memory;
    }
    // A range entry may be cut by a later revoke, which must find its bitmap ready.
    if (!chain_blocks(spares_wanted(p.has_s || ranges_ > 0), spare, nspare)) {
      undo();
      return errc::out_of_memory;
    }
    // A grant that adds no index entry still leaves the index reserve full.
    if (tree_.prepare_reserve() != errc::ok) {
      undo();
      return errc::out_of_memory;
    }
    page_t keys[3];
    std::size_t n = 0;
    if (b0 != nullptr) keys[n++] = p.k0b;
    if (p.has_s && p.s_how == source::insert) keys[n++] = p.s_first;
    if (b1 != nullptr) keys[n++] = p.k1b;
    if (n != 0) {
      if (const errc e = tree_.prepare_inserts(keys, n); e != errc::ok) {
        undo();
        return e;
      }
    }
    splice_spares(spare, nspare);
    commit_grant(p, r, b0, b1, on_added);
    return errc::ok;
  }

  /// revoke(r, on_removed) without a visitor.
  [[nodiscard]] errc revoke(page_range r) noexcept { return revoke(r, no_visitor{}); }

  /// Removes r; on_removed(page_range) gets each maximal run of pages that were
  /// granted and no longer are (its result is ignored). O(log n + words of the at
  /// most two chunks r cuts + entries it removes). ok; invalid_range (nothing
  /// changed); or revoked_extra: the reserve was spent and the allocator refused
  /// what the exact cut needs, so each cut full chunk (then, if the index cannot
  /// grow either, the rest of the cut range entry on the right) went too, all
  /// reported to on_removed. Whatever it returns, no page of r is granted.
  template <range_visitor F>
  [[nodiscard]] errc revoke(page_range r, F&& on_removed) noexcept {
    return revoke_impl(r, on_removed, false);
  }

  /// revoke_exact(r, on_removed) without a visitor.
  [[nodiscard]] errc revoke_exact(page_range r) noexcept { return revoke_exact(r, no_visitor{}); }
  /// Removes exactly r, like revoke(r, on_removed), or returns out_of_memory (a cut
  /// full chunk or an index insert found the reserve spent and the allocator
  /// refused) with nothing changed and no visitor call; invalid_range likewise.
  template <range_visitor F>
  [[nodiscard]] errc revoke_exact(page_range r, F&& on_removed) noexcept {
    return revoke_impl(r, on_removed, true);
  }

  /// Keeps, while range entries exist, two spare bitmap blocks and index room for
  /// three inserts per revoke: the next `revokes` revokes are then exact even if
  /// every allocation is refused (a revoke cuts at most two full chunks and inserts
  /// at most three entries). 0 means the default, 1. O(revokes x index height).
  /// out_of_memory: nothing changed.
  [[nodiscard]] errc reserve(std::size_t revokes) noexcept {
    const std::size_t t = revokes == 0 ? 1 : revokes;
    const std::size_t old_t = target_;
    target_ = t;
    word_t* chain = nullptr;
    std::size_t n = 0;
    if (!chain_blocks(spares_wanted(ranges_ != 0), chain, n)) {
      target_ = old_t;
      return errc::out_of_memory;
    }
    if (tree_.reserve_inserts(index_inserts_per_revoke * t) != errc::ok) {
      free_chain(chain);
      target_ = old_t;
      return errc::out_of_memory;
    }
    splice_spares(chain, n);
    settle_spare();  // a lower count gives blocks back
    return errc::ok;
  }
  /// Revokes the reserve is kept for (what reserve() set; 1 by default). O(1).
  [[nodiscard]] std::size_t reserve_count() const noexcept { return target_; }
  /// False after a revoke could not refill the spare blocks or the index reserve: a
  /// later revoke cutting a full chunk may then have to revoke extra pages. O(1).
  [[nodiscard]] bool reserve_full() const noexcept {
    return spare_n_ >= spares_wanted(ranges_ != 0) && !tree_.reserve_short();
  }
  /// Repacks the index and drops surplus spares; the bitmaps are as small as the
  /// design makes them already. O(n + bitmap bytes) (it copies the set).
  /// out_of_memory: nothing changed.
  [[nodiscard]] errc shrink_to_fit() noexcept {
    chunked_bitmap fresh(tree_.allocator());
    fresh.target_ = target_;
    if (fresh.tree_.reserve_inserts(tree_.reserve_target()) != errc::ok) return errc::out_of_memory;
    if (const errc e = fresh.assign(*this); e != errc::ok) return e;
    *this = static_cast<chunked_bitmap&&>(fresh);
    return errc::ok;
  }

 private:
  template <range_visitor F>
  errc revoke_impl(page_range r, F& on_removed, bool exact) noexcept {
    if (!r.valid()) return errc::invalid_range;
    revoke_plan p{};
    if (pages_ == 0 || !plan_revoke(r, p)) return errc::ok;
    word_t* b0 = nullptr;
    word_t* b1 = nullptr;
    if (!acquire_exact(p, b0, b1)) {
      if (exact) return errc::out_of_memory;
      // Security before availability: widen the revoke until it needs nothing new.
      page_range w = p.r;
      if (p.b0_fresh) {
        w.first = p.k0b;
        if (p.k0b == p.k1b) w.last = p.k0b + low_bits;
      }
      if (p.b1_fresh) w.last = p.k1b + low_bits;
      static_cast<void>(plan_revoke(w, p));
      if (p.has_r && tree_.prepare_insert(p.r_first) != errc::ok && !tree_.insert_ready(p.r_first)) {
        w.last = p.r_last;
        static_cast<void>(plan_revoke(w, p));
      }
    }
    commit_revoke(p, b0, b1, on_removed);
    return p.r == r ? errc::ok : errc::revoked_extra;
  }

 public:
  /// Removes everything and returns all memory: bitmaps, spares and index nodes
  /// (the reserve count stays; the reserve is refilled at the next grant). O(n),
  /// cannot fail.
  void clear() noexcept {
    release_blocks();
    tree_.clear();
    pages_ = 0;
    runs_ = 0;
    ranges_ = 0;
    bitmaps_ = 0;
  }

  /// Becomes a copy of o's pages, the index packed densely (this set's reserve
  /// count is kept). O(n + o's bitmap bytes). Strong guarantee: every block is
  /// allocated before anything changes; out_of_memory leaves this set as it was.
  [[nodiscard]] errc assign(const chunked_bitmap& o) noexcept {
    if (this == &o) return errc::ok;
    // Once the index is rebuilt, this set's old bitmaps can no longer be found:
    // list them first (in a block of their own, freed at the end).
    word_t** olds = nullptr;
    const std::size_t old_count = bitmaps_;
    if (old_count != 0) {
      olds = static_cast<word_t**>(alloc().allocate(old_count * sizeof(word_t*), alignof(word_t*)));
      if (olds == nullptr) return errc::out_of_memory;
      std::size_t i = 0;
      for (cursor c = tree_.first(); c; c = tree_.next(c))
        if (is_bitmap(tree_[c])) olds[i++] = tree_[c].u.bits;
    }
    auto drop_olds = [&]() noexcept {
      if (olds != nullptr) alloc().deallocate(olds, old_count * sizeof(word_t*), alignof(word_t*));
    };
    // The copies, chained through their first word until they are filled.
    word_t* chain = nullptr;
    auto drop_chain = [&]() noexcept {
      while (chain != nullptr) {
        word_t* next = nullptr;
        std::memcpy(&next, chain, sizeof next);
        free_block(chain);
        chain = next;
      }
    };
    for (std::size_t i = 0; i < o.bitmaps_; ++i) {
      word_t* b = alloc_block();
      if (b == nullptr) {
        drop_chain();
        drop_olds();
        return errc::out_of_memory;
      }
      std::memcpy(b, &chain, sizeof chain);
      chain = b;
    }
    word_t* spare = nullptr;
    std::size_t nspare = 0;
    if (!chain_blocks(spares_wanted(o.ranges_ != 0), spare, nspare)) {
      drop_chain();
      drop_olds();
      return errc::out_of_memory;
    }
    cursor oc = o.tree_.first();
    const errc e = tree_.assign_sorted(o.tree_.size(), [&]() noexcept {
      entry v = o.tree_[oc];
      oc = o.tree_.next(oc);
      if (is_bitmap(v)) {
        word_t* b = chain;
        std::memcpy(&chain, b, sizeof chain);
        std::memcpy(b, v.u.bits, bitmap_bytes);
        v.u.bits = b;
      }
      return v;
    });
    if (e != errc::ok) {
      drop_chain();
      free_chain(spare);
      drop_olds();
      return e;
    }
    for (std::size_t i = 0; i < old_count; ++i) free_block(olds[i]);
    drop_olds();
    splice_spares(spare, nspare);
    pages_ = o.pages_;
    runs_ = o.runs_;
    ranges_ = o.ranges_;
    bitmaps_ = o.bitmaps_;
    settle_spare();
    return errc::ok;
  }

  // ---- queries ----------------------------------------------------------------------

  /// No page is granted. O(1).
  [[nodiscard]] bool empty() const noexcept { return pages_ == 0; }
  /// Pages granted (cached). O(1).
  [[nodiscard]] std::uint64_t count() const noexcept { return pages_; }
  /// Maximal runs of granted pages, joined across chunks (cached). O(1).
  [[nodiscard]] std::size_t range_count() const noexcept { return runs_; }
  /// Index nodes (with their reserve) + one block per bitmap entry + the spare
  /// blocks: exactly what is held from the allocator. O(1).
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return tree_.memory_bytes() + (bitmaps_ + spare_n_) * bitmap_bytes;
  }

  /// Page p is granted. O(log n).
  [[nodiscard]] bool contains(page_t p) const noexcept {
    const cursor c = tree_.find_last_le(p);
    if (!c) return false;
    const entry& e = tree_[c];
    if (!is_bitmap(e)) return p <= e.u.last;
    return p <= key(e) + low_bits && test(e.u.bits, p - key(e));
  }

  /// Every page of r is granted; false for an invalid r. O(log n + entries r
  /// spans + words of the at most two bitmaps it cuts).
  [[nodiscard]] bool contains_all(page_range r) const noexcept {
    if (!r.valid()) return false;
    cursor c = tree_.find_last_le(r.first);
    page_t pos = r.first;
    for (;;) {
      if (!c) return false;
      const entry& e = tree_[c];
      const page_t k = key(e);
      const page_t e_end = end(e);
      if (k > pos || e_end < pos) return false;
      if (is_bitmap(e)) {
        if (pos == k && e_end <= r.last) return false;  // a bitmap entry is never full
        const page_t hi = e_end < r.last ? e_end : r.last;
        if (!all_set(e.u.bits, pos - k, hi - k)) return false;
      }
      if (e_end >= r.last) return true;
      pos = e_end + 1;
      c = tree_.next(c);
    }
  }

  /// Some page of r is granted; false for an invalid r. O(log n + words of the at
  /// most two bitmaps r cuts).
  [[nodiscard]] bool contains_any(page_range r) const noexcept {
    if (!r.valid()) return false;
    // Stops at the first granted page found: a range entry, a bitmap entry wholly
    // inside r (never empty), or a set bit of a bitmap r cuts.
    return !for_each_overlap(r, [&](const entry& e, page_t k, page_t e_end, page_t lo, page_t hi) noexcept {
      if (!is_bitmap(e) || (k >= r.first && e_end <= r.last)) return false;
      return !any_set(e.u.bits, lo - k, hi - k);
    });
  }

  /// f(page_range) on each maximal run (joined across chunks), ascending; f returns
  /// void, or bool (false stops the walk and makes this return false). O(n + words
  /// of every bitmap). Cannot fail.
  template <range_visitor F>
  [[nodiscard]] bool for_each_range(F&& f) const noexcept {
    return for_each_range(page_range{0, max_page}, static_cast<F&&>(f));
  }

  /// Like for_each_range(f), over the runs meeting window, clipped to it; an invalid
  /// window meets nothing (returns true). O(log n + entries visited + words of the
  /// bitmaps visited).
  template <range_visitor F>
  [[nodiscard]] bool for_each_range(page_range window, F&& f) const noexcept {
    if (!window.valid() || pages_ == 0) return true;
    auto emit = [&f](page_range x) noexcept { return detail::visit(f, x); };
    detail::run_builder runs;
    const bool whole = for_each_overlap(window, [&](const entry& e, page_t k, page_t, page_t lo, page_t hi) noexcept {
      if (!is_bitmap(e)) return runs.feed_run(page_range{lo, hi}, emit);
      const std::uint64_t a = lo - k, b = hi - k;
      for (std::uint64_t w = detail::word_of(a); w <= detail::word_of(b); ++w) {
        const word_t bits = e.u.bits[w] & detail::word_mask(w, a, b);
        if (bits != 0 && !runs.feed(k + detail::first_bit_of_word(w), bits, emit)) return false;
      }
      return true;
    });
    return whole && runs.finish(emit);
  }

  // The representation counters (bitmap and range entries, spares, index bytes and
  // height) are for tests and studies: detail::chunked_bitmap_test_access.

  /// Every invariant: the index's; range entries chunk aligned, maximal and not
  /// touching each other; bitmap entries neither empty nor full, with the right
  /// popcount; the cached page, run, range and bitmap counts; the spare block held
  /// only while range entries exist. False means a bug. O(entries + bitmap words).
  [[nodiscard]] bool check_invariants() const noexcept {
    if (!tree_.check_invariants()) return false;
    std::uint64_t pages = 0, starts = 0;
    std::size_t ranges = 0, bitmaps = 0;
    bool have_prev = false, prev_range = false, prev_last_set = false;
    page_t prev_end = 0;
    for (cursor c = tree_.first(); c; c = tree_.next(c)) {
      const entry& e = tree_[c];
      const page_t k = key(e);
      if (k > max_page || (have_prev && k <= prev_end)) return false;
      const bool below = have_prev && prev_end + 1 == k && prev_last_set;
      if (!is_bitmap(e)) {
        const page_t l = e.u.last;
        if (l < k || l > max_page || (l & low_bits) != low_bits) return false;
        if (have_prev && prev_range && prev_end + 1 == k) return false;
        ++ranges;
        pages += l - k + 1;
        if (!below) ++starts;
      } else {
        if (e.u.bits == nullptr) return false;
        // One pass over the words for both counts: this check runs after every op
        // of the differential tests, in unoptimised builds.
        std::uint64_t pc = 0;
        word_t prev = below ? word_t{1} << 63 : 0;
        for (std::size_t w = 0; w < chunk_words; ++w) {
          const word_t x = e.u.bits[w];
          if (x == 0 || x == detail::all_ones) {  // most words, without a call
            pc += x == 0 ? 0u : 64u;
            starts += x != 0 && (prev >> 63) == 0 ? 1u : 0u;
          } else {
            pc += detail::popcount64(x);
            starts += detail::popcount64(detail::run_starts(x, prev));
          }
          prev = x;
        }
        if (pc != popcount(e)) return false;
        ++bitmaps;
        pages += pc;
      }
      have_prev = true;
      prev_range = !is_bitmap(e);
      prev_end = end(e);
      prev_last_set = last_page_set(e);
    }
    if (pages != pages_ || starts != runs_ || ranges != ranges_ || bitmaps != bitmaps_) return false;
    if (spare_n_ > spares_wanted(ranges_ != 0)) return false;
    std::size_t chained = 0;
    for (word_t* b = spare_; b != nullptr; b = next_in_chain(b)) ++chained;
    return chained == spare_n_;
  }

 private:
  struct no_visitor {
    void operator()(page_range) const noexcept {}
  };
  template <class F>
  static constexpr bool reports = !std::is_same_v<std::remove_cvref_t<F>, no_visitor>;

  /// How the full span S of a grant gets its index entry.
  enum class source : std::uint8_t {
    insert,  // one more entry
    same,    // the old entry with S's first page as key is overwritten
    lowered  // the first old entry inside S is overwritten and its key lowered
  };

  /// What a grant of r will do, computed before anything changes. The partly
  /// granted chunks after it are the head chunk (k0b) and the tail chunk (k1b);
  /// every chunk between them is full, and the full chunks form the span S, joined
  /// with the range entries around it. Old entries keyed in [w_lo, w_hi] are
  /// replaced by B0 (head bitmap), S and B1 (tail bitmap).
  struct grant_plan {
    page_t k0b, k1b;
    page_t s_first, s_last;
    page_t s_key;  // the lowered entry's old key
    page_t w_lo, w_hi;
    std::uint64_t pc0, pc1;  // pages granted in the head/tail chunk after; 0: no bitmap entry
    std::uint64_t added, starts_before, starts_after;
    bool b0_old, b1_old;  // that bitmap exists and is edited in place
    bool has_s;
    source s_how;
  };

  /// What a revoke of r will do. Old entries keyed in [w_lo, w_hi] (every entry
  /// overlapping r) are replaced by: the left part of a range entry cut by r (RL,
  /// keeps its key), the head and tail chunk bitmaps (B0, B1), and the right part
  /// of a range entry cut by r (RR). RR is always a new entry: raising a key in
  /// place could pass a stale separator of the index (which only repairs lowered
  /// keys), so an entry keeps its key or is replaced.
  struct revoke_plan {
    page_range r;
    page_t k0b, k1b;
    page_t w_lo, w_hi;
    page_t l_last;
    page_t r_first, r_last;
    std::uint64_t pc0, pc1;  // pages left in the head/tail chunk; 0: no bitmap entry
    std::uint64_t removed, starts_before, starts_after;
    bool has_l, has_r;
    bool b0_fresh, b1_fresh;  // that chunk was full: a block must be found for it
    bool b0_same, b1_same;    // an old entry has that chunk's first page as key
  };

  // ---- entries ------------------------------------------------------------------------

  [[nodiscard]] static constexpr page_t chunk_of(page_t p) noexcept { return p & ~low_bits; }
  [[nodiscard]] static constexpr bool is_bitmap(const entry& e) noexcept { return (e.tag & low_bits) != 0; }
  [[nodiscard]] static constexpr page_t key(const entry& e) noexcept { return e.tag & ~low_bits; }
  [[nodiscard]] static constexpr std::uint64_t popcount(const entry& e) noexcept { return e.tag & low_bits; }
  [[nodiscard]] static constexpr page_t end(const entry& e) noexcept {
    return is_bitmap(e) ? key(e) + low_bits : e.u.last;
  }
  [[nodiscard]] static bool last_page_set(const entry& e) noexcept {
    return !is_bitmap(e) || (e.u.bits[chunk_words - 1] >> 63) != 0;
  }
  [[nodiscard]] static entry make_range(page_t first, page_t last) noexcept {
    entry e{};
    e.tag = first;
    e.u.last = last;
    return e;
  }
  [[nodiscard]] static entry make_bitmap(page_t base, std::uint64_t pc, word_t* bits) noexcept {
    PMEMPERM_ASSERT(pc != 0 && pc < ChunkPages && chunk_of(base) == base);
    entry e{};
    e.tag = base | pc;
    e.u.bits = bits;
    return e;
  }

  // ---- bit spans inside one chunk (offsets a <= b < ChunkPages) ---------------------

  [[nodiscard]] static bool test(const word_t* bits, std::uint64_t i) noexcept {
    return ((bits[detail::word_of(i)] >> detail::bit_of(i)) & 1u) != 0;
  }
  [[nodiscard]] static std::uint64_t count_set(const word_t* bits, std::uint64_t a, std::uint64_t b) noexcept {
    std::uint64_t n = 0;
    for (std::uint64_t w = detail::word_of(a); w <= detail::word_of(b); ++w)
      n += detail::popcount64(bits[w] & detail::word_mask(w, a, b));
    return n;
  }
  [[nodiscard]] static bool all_set(const word_t* bits, std::uint64_t a, std::uint64_t b) noexcept {
    for (std::uint64_t w = detail::word_of(a); w <= detail::word_of(b); ++w) {
      const word_t m = detail::word_mask(w, a, b);
      if ((bits[w] & m) != m) return false;
    }
    return true;
  }
  [[nodiscard]] static bool any_set(const word_t* bits, std::uint64_t a, std::uint64_t b) noexcept {
    for (std::uint64_t w = detail::word_of(a); w <= detail::word_of(b); ++w)
      if ((bits[w] & detail::word_mask(w, a, b)) != 0) return true;
    return false;
  }
  static void fill_span(word_t* bits, std::uint64_t a, std::uint64_t b, bool set) noexcept {
    for (std::uint64_t w = detail::word_of(a); w <= detail::word_of(b); ++w) {
      const word_t m = detail::word_mask(w, a, b);
      bits[w] = set ? (bits[w] | m) : (bits[w] & ~m);
    }
  }

  // ---- memory -------------------------------------------------------------------------

  [[nodiscard]] Alloc& alloc() noexcept { return tree_.allocator(); }
  [[nodiscard]] word_t* alloc_block() noexcept {
    return static_cast<word_t*>(alloc().allocate(bitmap_bytes, bitmap_align));
  }
  void free_block(word_t* b) noexcept { alloc().deallocate(b, bitmap_bytes, bitmap_align); }
  void release_blocks() noexcept {
    for (cursor c = tree_.first(); c; c = tree_.next(c))
      if (is_bitmap(tree_[c])) free_block(tree_[c].u.bits);
    free_chain(spare_);
    spare_ = nullptr;
    spare_n_ = 0;
  }
  /// A grant that adds nothing still leaves the reserve full. All or nothing.
  [[nodiscard]] errc refill_reserve() noexcept {
    word_t* chain = nullptr;
    std::size_t n = 0;
    if (!chain_blocks(spares_wanted(ranges_ != 0), chain, n)) return errc::out_of_memory;
    if (tree_.prepare_reserve() != errc::ok) {
      free_chain(chain);
      return errc::out_of_memory;
    }
    splice_spares(chain, n);
    return errc::ok;
  }
  /// Spare blocks kept: two per reserved revoke while range entries exist (a revoke
  /// cuts at most two full chunks, each becoming a bitmap).
  [[nodiscard]] std::size_t spares_wanted(bool ranges_exist) const noexcept { return ranges_exist ? 2 * target_ : 0; }
  static word_t* next_in_chain(word_t* b) noexcept {
    word_t* n;
    std::memcpy(&n, b, sizeof n);
    return n;
  }
  void free_chain(word_t* b) noexcept {
    while (b != nullptr) {
      word_t* n = next_in_chain(b);
      free_block(b);
      b = n;
    }
  }
  /// Allocates the spare blocks missing for `want` into a private chain. All or
  /// nothing.
  bool chain_blocks(std::size_t want, word_t*& chain, std::size_t& n) noexcept {
    chain = nullptr;
    n = 0;
    while (spare_n_ + n < want) {
      word_t* b = alloc_block();
      if (b == nullptr) {
        free_chain(chain);
        chain = nullptr;
        n = 0;
        return false;
      }
      std::memcpy(b, &chain, sizeof chain);
      chain = b;
      ++n;
    }
    return true;
  }
  void splice_spares(word_t* chain, std::size_t n) noexcept {
    while (chain != nullptr) {
      word_t* next = next_in_chain(chain);
      std::memcpy(chain, &spare_, sizeof spare_);
      spare_ = chain;
      chain = next;
    }
    spare_n_ += n;
  }
  word_t* take_spare_block() noexcept {
    word_t* b = spare_;
    spare_ = next_in_chain(b);
    --spare_n_;
    return b;
  }
  /// Ends every change: the spare blocks exist exactly while range entries do (a
  /// refused refill leaves some missing until a later operation succeeds).
  void settle_spare() noexcept {
    const std::size_t want = spares_wanted(ranges_ != 0);
    while (spare_n_ > want) free_block(take_spare_block());
    word_t* chain = nullptr;
    std::size_t n = 0;
    while (spare_n_ < want && chain_blocks(spare_n_ + 1, chain, n)) splice_spares(chain, n);
  }

  // ---- lookups ------------------------------------------------------------------------

  /// The entry holding page p, if any.
  [[nodiscard]] cursor covering(page_t p) const noexcept {
    const cursor c = tree_.find_last_le(p);
    return c && end(tree_[c]) >= p ? c : cursor{};
  }
  /// The first entry that ends at or after p.
  [[nodiscard]] cursor first_ending_at_or_after(page_t p) const noexcept {
    const cursor c = tree_.find_last_le(p);
    if (!c) return tree_.first();
    return end(tree_[c]) >= p ? c : tree_.next(c);
  }
  /// Calls f(entry, key, end, lo, hi) -> bool for each entry overlapping w,
  /// ascending, with [lo, hi] its part inside w; false from f stops the walk.
  /// Returns false if stopped.
  template <class F>
  bool for_each_overlap(page_range w, F&& f) const noexcept {
    for (cursor c = first_ending_at_or_after(w.first); c; c = tree_.next(c)) {
      const entry& e = tree_[c];
      const page_t k = key(e);
      if (k > w.last) break;
      const page_t e_end = end(e);
      if (!f(e, k, e_end, k > w.first ? k : w.first, e_end < w.last ? e_end : w.last)) return false;
    }
    return true;
  }
  /// Pages of r that are granted. O(log n + entries overlapping r + words of the
  /// at most two bitmaps r cuts).
  [[nodiscard]] std::uint64_t granted_in(page_range r) const noexcept {
    std::uint64_t n = 0;
    static_cast<void>(for_each_overlap(r, [&](const entry& e, page_t k, page_t e_end, page_t lo, page_t hi) noexcept {
      if (!is_bitmap(e))
        n += hi - lo + 1;
      else if (lo == k && hi == e_end)
        n += popcount(e);
      else
        n += count_set(e.u.bits, lo - k, hi - k);
      return true;
    }));
    return n;
  }
  /// Run starts in [lo, hi]: granted pages whose predecessor is not granted. The
  /// edit of a range changes run starts only inside it and just after it.
  [[nodiscard]] std::uint64_t starts_in(page_t lo, page_t hi) const noexcept {
    std::uint64_t n = 0;
    bool have_prev = false, prev_last_set = false;
    page_t prev_end = 0;
    static_cast<void>(for_each_overlap(page_range{lo, hi}, [&](const entry& e, page_t k, page_t e_end, page_t a,
                                                                page_t b) noexcept {
      const bool below = have_prev ? prev_end + 1 == k && prev_last_set : k > 0 && contains(k - 1);
      if (!is_bitmap(e)) {
        if (a == k && !below) ++n;
      } else {
        n += detail::count_run_starts(e.u.bits, a - k, b - k);
        if (a == k && below && (e.u.bits[0] & 1u) != 0) --n;
      }
      have_prev = true;
      prev_end = e_end;
      prev_last_set = last_page_set(e);
      return true;
    }));
    return n;
  }

  // ---- grant ----------------------------------------------------------------------------

  /// The head or tail chunk [kb, kb + ChunkPages) that r covers only in [a, b]:
  /// whether it is full after the grant, else its popcount after and whether its
  /// bitmap already exists.
  [[nodiscard]] bool full_after_grant(page_t kb, page_t a, page_t b, std::uint64_t& pc, bool& old) const noexcept {
    pc = 0;
    old = false;
    const cursor c = covering(kb);
    if (!c) {
      pc = b - a + 1;
      return false;
    }
    const entry& e = tree_[c];
    if (!is_bitmap(e)) return true;
    const std::uint64_t after = popcount(e) + (b - a + 1) - count_set(e.u.bits, a - kb, b - kb);
    if (after == ChunkPages) return true;
    pc = after;
    old = true;
    return false;
  }

  [[nodiscard]] grant_plan plan_grant(page_range r, std::uint64_t added) const noexcept {
    grant_plan p{};
    p.added = added;
    p.k0b = chunk_of(r.first);
    p.k1b = chunk_of(r.last);
    const page_t k0e = p.k0b + low_bits, k1e = p.k1b + low_bits;
    bool full0 = true, full1 = true;
    if (r.first != p.k0b || r.last < k0e)
      full0 = full_after_grant(p.k0b, r.first, r.last < k0e ? r.last : k0e, p.pc0, p.b0_old);
    if (p.k1b != p.k0b && r.last != k1e) full1 = full_after_grant(p.k1b, p.k1b, r.last, p.pc1, p.b1_old);

    page_t s_lo = 0, s_hi = 0;
    if (p.k0b == p.k1b) {
      p.has_s = full0;
      s_lo = p.k0b;
      s_hi = k0e;
    } else {
      s_lo = full0 ? p.k0b : p.k0b + ChunkPages;
      s_hi = full1 ? k1e : p.k1b - 1;
      p.has_s = s_lo <= s_hi;
    }
    p.w_lo = p.k0b;
    p.w_hi = r.last;
    if (p.has_s) {
      // Join the range entries that touch or overlap S.
      if (s_lo > 0) {
        const cursor c = tree_.find_last_le(s_lo - 1);
        if (c && !is_bitmap(tree_[c]) && tree_[c].u.last >= s_lo - 1) s_lo = key(tree_[c]);
      }
      if (s_hi < max_page) {
        const cursor c = tree_.find_last_le(s_hi + 1);
        if (c && !is_bitmap(tree_[c]) && tree_[c].u.last > s_hi) s_hi = tree_[c].u.last;
      }
      p.s_first = s_lo;
      p.s_last = s_hi;
      if (s_lo < p.w_lo) p.w_lo = s_lo;
      if (s_hi > p.w_hi) p.w_hi = s_hi;
      const cursor c = tree_.find_last_le(s_lo);
      if (c && key(tree_[c]) == s_lo) {
        p.s_how = source::same;
      } else {
        const cursor d = c ? tree_.next(c) : tree_.first();
        if (d && key(tree_[d]) <= s_hi) {
          p.s_how = source::lowered;
          p.s_key = key(tree_[d]);
        } else {
          p.s_how = source::insert;
        }
      }
    }
    p.starts_before = starts_in(r.first, r.last < max_page ? r.last + 1 : r.last);
    p.starts_after = r.first > 0 && contains(r.first - 1) ? 0 : 1;
    return p;
  }

  template <class F>
  void commit_grant(const grant_plan& p, page_range r, word_t* b0, word_t* b1, F& on_added) noexcept {
    // 1. Walk the old entries: report the pages r adds, edit the bitmaps that stay,
    //    free the ones that become part of S.
    auto emit = [&on_added](page_range x) noexcept { detail::notify(on_added, x); };
    detail::run_builder runs;
    std::size_t old_ranges = 0, old_bitmaps = 0;
    page_t pos = r.first;
    for (cursor c = tree_.lower_bound(p.w_lo); c; c = tree_.next(c)) {
      const entry& e = tree_[c];
      const page_t k = key(e);
      if (k > p.w_hi) break;
      if constexpr (reports<F>) {
        if (k > pos && pos <= r.last) static_cast<void>(runs.feed_run(page_range{pos, k - 1 < r.last ? k - 1 : r.last}, emit));
      }
      const page_t e_end = end(e);
      if (!is_bitmap(e)) {
        ++old_ranges;
      } else {
        ++old_bitmaps;
        const bool keep = (p.pc0 != 0 && k == p.k0b) || (p.pc1 != 0 && k == p.k1b);
        if ((keep || reports<F>) && k <= r.last && e_end >= r.first) {
          const std::uint64_t a = (k > r.first ? k : r.first) - k;
          const std::uint64_t b = (e_end < r.last ? e_end : r.last) - k;
          for (std::uint64_t w = detail::word_of(a); w <= detail::word_of(b); ++w) {
            const word_t m = detail::word_mask(w, a, b);
            if constexpr (reports<F>) {
              const word_t changed = m & ~e.u.bits[w];
              if (changed != 0) static_cast<void>(runs.feed(k + detail::first_bit_of_word(w), changed, emit));
            }
            if (keep) e.u.bits[w] |= m;
          }
        }
        if (!keep) free_block(e.u.bits);
      }
      if (e_end >= pos) pos = e_end + 1;
    }
    if constexpr (reports<F>) {
      if (pos <= r.last) static_cast<void>(runs.feed_run(page_range{pos, r.last}, emit));
      static_cast<void>(runs.finish(emit));
    }
    // 2. New bitmaps.
    if (b0 != nullptr) {
      std::memset(b0, 0, bitmap_bytes);
      fill_span(b0, r.first - p.k0b, (r.last < p.k0b + low_bits ? r.last : p.k0b + low_bits) - p.k0b, true);
    }
    if (b1 != nullptr) {
      std::memset(b1, 0, bitmap_bytes);
      fill_span(b1, 0, r.last - p.k1b, true);
    }
    // 3. The index: the inserts first, on the very tree they were prepared on (a
    //    lowered key would reroute them), then the entries edited in place, then
    //    the erase of everything else in the window.
    const entry s = make_range(p.s_first, p.s_last);
    if (b0 != nullptr) tree_.insert(make_bitmap(p.k0b, p.pc0, b0));
    if (p.has_s && p.s_how == source::insert) tree_.insert(s);
    if (b1 != nullptr) tree_.insert(make_bitmap(p.k1b, p.pc1, b1));
    if (p.b0_old) tree_[tree_.find_last_le(p.k0b)].tag = p.k0b | p.pc0;
    if (p.b1_old) tree_[tree_.find_last_le(p.k1b)].tag = p.k1b | p.pc1;
    if (p.has_s && p.s_how == source::same) {
      tree_[tree_.find_last_le(p.s_first)] = s;
    } else if (p.has_s && p.s_how == source::lowered) {
      const cursor c = tree_.find_last_le(p.s_key);
      tree_[c] = s;
      tree_.key_lowered(c);
    }
    page_t keep[3];
    std::size_t n = 0;
    if (p.pc0 != 0) keep[n++] = p.k0b;
    if (p.has_s) keep[n++] = p.s_first;
    if (p.pc1 != 0) keep[n++] = p.k1b;
    erase_window(p.w_lo, p.w_hi, keep, n);

    pages_ += p.added;
    runs_ = runs_ - static_cast<std::size_t>(p.starts_before) + static_cast<std::size_t>(p.starts_after);
    ranges_ = ranges_ - old_ranges + (p.has_s ? 1u : 0u);
    bitmaps_ = bitmaps_ - old_bitmaps + (p.pc0 != 0 ? 1u : 0u) + (p.pc1 != 0 ? 1u : 0u);
    tree_.settle();
    settle_spare();
  }

  // ---- revoke ---------------------------------------------------------------------------

  /// The head or tail chunk [kb, kb + ChunkPages) that r covers only in [a, b]: its
  /// popcount after the revoke (0 if it ends empty or was absent), whether it was
  /// full (then its bitmap must be made), and whether an old entry starts at kb.
  void after_revoke(page_t kb, page_t a, page_t b, std::uint64_t& pc, bool& fresh, bool& same) const noexcept {
    pc = 0;
    fresh = false;
    same = false;
    const cursor c = covering(kb);
    if (!c) return;
    const entry& e = tree_[c];
    same = key(e) == kb;
    if (!is_bitmap(e)) {
      pc = ChunkPages - (b - a + 1);
      fresh = true;
    } else {
      pc = popcount(e) - count_set(e.u.bits, a - kb, b - kb);
    }
  }

  /// Fills p for revoking r; false when no page of r is granted.
  [[nodiscard]] bool plan_revoke(page_range r, revoke_plan& p) const noexcept {
    p = revoke_plan{};
    p.r = r;
    const cursor first = first_ending_at_or_after(r.first);
    if (!first || key(tree_[first]) > r.last) return false;
    const cursor last = tree_.find_last_le(r.last);
    const entry head = tree_[first];
    const entry tail = tree_[last];
    p.removed = granted_in(r);
    if (p.removed == 0) return false;
    p.w_lo = key(head);
    p.w_hi = key(tail);
    p.k0b = chunk_of(r.first);
    p.k1b = chunk_of(r.last);
    const page_t k0e = p.k0b + low_bits, k1e = p.k1b + low_bits;
    if (r.first != p.k0b || r.last < k0e)
      after_revoke(p.k0b, r.first, r.last < k0e ? r.last : k0e, p.pc0, p.b0_fresh, p.b0_same);
    if (p.k1b != p.k0b && r.last != k1e) after_revoke(p.k1b, p.k1b, r.last, p.pc1, p.b1_fresh, p.b1_same);
    if (!is_bitmap(head) && key(head) < p.k0b) {
      p.has_l = true;
      p.l_last = p.k0b - 1;
    }
    if (!is_bitmap(tail) && tail.u.last > k1e) {
      p.has_r = true;
      p.r_first = k1e + 1;
      p.r_last = tail.u.last;
    }
    p.starts_before = starts_in(r.first, r.last < max_page ? r.last + 1 : r.last);
    p.starts_after = r.last < max_page && contains(r.last + 1) ? 1 : 0;
    return true;
  }

  /// Finds what the exact revoke needs: blocks for cut full chunks (the spare, then
  /// the allocator) and room for its index inserts. All or nothing.
  [[nodiscard]] bool acquire_exact(const revoke_plan& p, word_t*& b0, word_t*& b1) noexcept {
    word_t* got[2] = {nullptr, nullptr};
    bool spare[2] = {false, false};
    const std::size_t need = (p.b0_fresh ? 1u : 0u) + (p.b1_fresh ? 1u : 0u);
    auto give_back = [&]() noexcept {
      for (std::size_t i = 0; i < need; ++i) {
        if (got[i] == nullptr) continue;
        if (spare[i]) {
          word_t* none = nullptr;
          std::memcpy(got[i], &none, sizeof none);  // a chain of one
          splice_spares(got[i], 1);
        } else {
          free_block(got[i]);
        }
      }
    };
    for (std::size_t i = 0; i < need; ++i) {
      if (spare_n_ > 0) {
        got[i] = take_spare_block();
        spare[i] = true;
      } else if ((got[i] = alloc_block()) == nullptr) {
        give_back();
        return false;
      }
    }
    page_t keys[3];
    std::size_t n = 0;
    if (p.pc0 != 0 && !p.b0_same) keys[n++] = p.k0b;
    if (p.pc1 != 0 && !p.b1_same) keys[n++] = p.k1b;
    if (p.has_r) keys[n++] = p.r_first;
    if (!tree_.inserts_ready(keys, n) && tree_.prepare_inserts(keys, n) != errc::ok) {
      give_back();
      return false;
    }
    std::size_t i = 0;
    if (p.b0_fresh) b0 = got[i++];
    if (p.b1_fresh) b1 = got[i];
    return true;
  }

  template <class F>
  void commit_revoke(const revoke_plan& p, word_t* b0, word_t* b1, F& on_removed) noexcept {
    const page_range r = p.r;
    const page_t k0e = p.k0b + low_bits;
    // 1. Walk the old entries: report the pages removed, edit the bitmaps that
    //    stay, free the ones that end empty.
    auto emit = [&on_removed](page_range x) noexcept { detail::notify(on_removed, x); };
    detail::run_builder runs;
    std::size_t old_ranges = 0, old_bitmaps = 0;
    for (cursor c = tree_.lower_bound(p.w_lo); c; c = tree_.next(c)) {
      const entry& e = tree_[c];
      const page_t k = key(e);
      if (k > p.w_hi) break;
      const page_t e_end = end(e);
      const page_t lo = k > r.first ? k : r.first;
      const page_t hi = e_end < r.last ? e_end : r.last;
      if (!is_bitmap(e)) {
        ++old_ranges;
        if constexpr (reports<F>) static_cast<void>(runs.feed_run(page_range{lo, hi}, emit));
        continue;
      }
      ++old_bitmaps;
      const bool keep = (p.pc0 != 0 && k == p.k0b) || (p.pc1 != 0 && k == p.k1b);
      if (keep || reports<F>) {
        const std::uint64_t a = lo - k, b = hi - k;
        for (std::uint64_t w = detail::word_of(a); w <= detail::word_of(b); ++w) {
          const word_t m = detail::word_mask(w, a, b);
          if constexpr (reports<F>) {
            const word_t changed = m & e.u.bits[w];
            if (changed != 0) static_cast<void>(runs.feed(k + detail::first_bit_of_word(w), changed, emit));
          }
          if (keep) e.u.bits[w] &= ~m;
        }
      }
      if (!keep) free_block(e.u.bits);
    }
    if constexpr (reports<F>) static_cast<void>(runs.finish(emit));
    // 2. Bitmaps for cut full chunks.
    if (b0 != nullptr) {
      std::memset(b0, 0xff, bitmap_bytes);
      fill_span(b0, r.first - p.k0b, (r.last < k0e ? r.last : k0e) - p.k0b, false);
    }
    if (b1 != nullptr) {
      std::memset(b1, 0xff, bitmap_bytes);
      fill_span(b1, 0, r.last - p.k1b, false);
    }
    // 3. The index: no key changes here, so in place first, then the inserts, then
    //    the erase.
    if (p.has_l) tree_[tree_.find_last_le(p.w_lo)].u.last = p.l_last;
    if (p.pc0 != 0 && p.b0_same) {
      entry& e = tree_[tree_.find_last_le(p.k0b)];
      e = make_bitmap(p.k0b, p.pc0, b0 != nullptr ? b0 : e.u.bits);
    }
    if (p.pc1 != 0 && p.b1_same) {
      entry& e = tree_[tree_.find_last_le(p.k1b)];
      e = make_bitmap(p.k1b, p.pc1, b1 != nullptr ? b1 : e.u.bits);
    }
    if (p.pc0 != 0 && !p.b0_same) tree_.insert(make_bitmap(p.k0b, p.pc0, b0));
    if (p.pc1 != 0 && !p.b1_same) tree_.insert(make_bitmap(p.k1b, p.pc1, b1));
    if (p.has_r) tree_.insert(make_range(p.r_first, p.r_last));
    page_t keep[3];
    std::size_t n = 0;
    if (p.has_l) keep[n++] = p.w_lo;
    if (p.pc0 != 0) keep[n++] = p.k0b;
    if (p.pc1 != 0) keep[n++] = p.k1b;
    erase_window(p.w_lo, p.w_hi, keep, n);

    pages_ -= p.removed;
    runs_ = runs_ - static_cast<std::size_t>(p.starts_before) + static_cast<std::size_t>(p.starts_after);
    ranges_ = ranges_ - old_ranges + (p.has_l ? 1u : 0u) + (p.has_r ? 1u : 0u);
    bitmaps_ = bitmaps_ - old_bitmaps + (p.pc0 != 0 ? 1u : 0u) + (p.pc1 != 0 ? 1u : 0u);
    tree_.settle();
    settle_spare();
  }

  /// Erases every entry keyed in [lo, hi] except the `n` keys in keep, a leaf's
  /// run at a time.
  void erase_window(page_t lo, page_t hi, const page_t* keep, std::size_t n) noexcept {
    auto kept = [keep, n](page_t k) noexcept {
      for (std::size_t i = 0; i < n; ++i)
        if (keep[i] == k) return true;
      return false;
    };
    page_t from = lo;
    for (;;) {
      cursor c = tree_.lower_bound(from);
      while (c && key(tree_[c]) <= hi && kept(key(tree_[c]))) c = tree_.next(c);
      if (!c || key(tree_[c]) > hi) return;
      const std::size_t run = index::run_in_leaf(c);
      std::size_t k = 1;
      page_t last_key = key(tree_[c]);
      for (cursor d = c; k < run; ++k) {
        ++d.slot;
        const page_t dk = key(tree_[d]);
        if (dk > hi || kept(dk)) break;
        last_key = dk;
      }
      tree_.erase(c, k);
      if (last_key >= hi) return;
      from = last_key + 1;
    }
  }

  index tree_;
  /// Index entries one revoke may add: a bitmap for each of the two cut chunks and
  /// the range entry right of the cut.
  static constexpr std::size_t index_inserts_per_revoke = 3;

  word_t* spare_ = nullptr;  // the revoke reserve: a chain of blocks, while range entries exist
  std::size_t spare_n_ = 0;  // blocks in that chain
  std::size_t target_ = 1;   // revokes the reserve is kept for (reserve())
  std::uint64_t pages_ = 0;
  std::size_t runs_ = 0;
  std::size_t ranges_ = 0;
  std::size_t bitmaps_ = 0;
};

static_assert(page_set<chunked_bitmap<>>);

}  // namespace pmemperm
