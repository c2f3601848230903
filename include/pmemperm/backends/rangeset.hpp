// pmemperm/backends/rangeset.hpp — coalesced maximal ranges in a B+-tree.
//
// Each maximal run of granted pages is one 16-byte entry {first, last} in the
// ordered index of detail/btree.hpp. Merging on grant and trimming or splitting on
// revoke keep the entries maximal, so range_count() is the number of runs.
//
// Index nodes are 1 KiB: 63 runs per leaf. A grant or revoke shifts half a leaf on
// average, and a search in a large set asks for all 16 lines of a leaf at once, so
// at 2^20 runs 1 KiB nodes build, revoke and answer faster than 4 KiB ones (whose
// shifts alone took a quarter of a random build), and build faster than 768-byte
// ones; 512-byte leaves fill too poorly in random order to stay under 20 bytes per
// run. Up to 255 runs the set is one block sized to its runs (at most 4 KiB; a set
// of one run lives inside the object). A random-order build of many runs holds
// about 19.2 bytes per run (leaves about 86% full, plus the index and the reserve);
// assign() and shrink_to_fit() pack about 16.5.
//
// Complexity, for n runs held: grant, revoke, contains, contains_all, contains_any
// are O(log n), plus O(k) for the k entries a grant merges or a revoke removes.
// count() and range_count() are O(1). for_each_range is O(log n + runs visited).
//
// Failure behaviour: a grant that needs memory — its own nodes and the refill of
// the revoke reserve — takes it before changing anything; if the allocator refuses
// it returns out_of_memory and the set, memory_bytes() included, is unchanged. So
// after a successful grant the reserve is full: the index nodes that reserve_count()
// revokes may need for their splits (one range, one new entry each; 1 unless
// reserve(n) raised it), counted in memory_bytes().
//
// A revoke that must split a run and finds the reserve spent first asks the
// allocator for the node. revoke_exact() then either removes exactly r or returns
// out_of_memory with nothing changed. revoke() never fails: only when that very
// allocation is refused does it drop more than r, and then as little as it can
// without memory — the smaller of the two pieces of the split run, or the smallest
// other run in the index leaf that has to take the new entry, whichever holds
// fewer pages — reports those pages to on_removed and returns revoked_extra. No
// page of the revoked range is ever left granted.
//
// shrink_to_fit() repacks the index densely: afterwards memory_bytes() depends on
// the number of runs and the reserve count alone. Before it, the index carries the
// slack of its history (leaves between a third full and full).
//
// Visitors run while the operation is in progress and must not access the set.
#pragma once

#include "../config.hpp"

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "../allocator.hpp"
#include "../detail/btree.hpp"
#include "../detail/visitor.hpp"
#include "../page_set.hpp"
#include "../types.hpp"

namespace pmemperm {

template <byte_allocator Alloc = new_allocator>
class rangeset {
 public:
  /// Bytes of one index node: 63 runs per leaf (the header says why 1 KiB).
  static constexpr std::size_t index_node_bytes = 1024;

 private:
  struct entry {
    page_t first;
    page_t last;
  };
  using index = detail::btree<entry, Alloc, index_node_bytes>;
  using cursor = typename index::cursor;

 public:
  /// The byte_allocator that every index node comes from.
  using allocator_type = Alloc;

  /// An empty set: O(1); never allocates, never fails.
  rangeset() noexcept
    requires std::is_default_constructible_v<Alloc>
  = default;
  /// An empty set drawing on a: O(1); never allocates, never fails.
  explicit rangeset(Alloc a) noexcept : tree_(static_cast<Alloc&&>(a)) {}
  /// Not copyable (a copy allocates and may fail): assign() copies and returns an errc.
  rangeset(const rangeset&) = delete;
  /// Not copyable (a copy allocates and may fail): assign() copies and returns an errc.
  rangeset& operator=(const rangeset&) = delete;
  /// Takes o's runs, nodes and allocator: O(1); never fails; o is left empty and usable.
  rangeset(rangeset&& o) noexcept : tree_(static_cast<index&&>(o.tree_)), pages_(o.pages_) { o.pages_ = 0; }
  /// Frees this set's nodes, then takes o's like the move constructor: O(n); never fails.
  rangeset& operator=(rangeset&& o) noexcept {
    if (this != &o) {
      tree_ = static_cast<index&&>(o.tree_);
      pages_ = o.pages_;
      o.pages_ = 0;
    }
    return *this;
  }
  /// Frees every node: O(n); never fails.
  ~rangeset() = default;

  // ---- modification ---------------------------------------------------------------

  /// grant(r, f) with no visitor: O(log n + k); ok, or invalid_range/out_of_memory with nothing changed.
  [[nodiscard]] errc grant(page_range r) noexcept { return grant(r, [](page_range) noexcept {}); }

  /// Grants r, f sees each new piece: O(log n + k); ok, or invalid_range/out_of_memory with nothing changed.
  template <range_visitor F>
  [[nodiscard]] errc grant(page_range r, F&& on_added) noexcept {
    if (!r.valid()) return errc::invalid_range;
    // One descent finds where r.first goes and, next to it, the first run that
    // overlaps or touches r.
    const cursor pos = tree_.seek(r.first);
    cursor c = tree_.before(pos);
    if (!c || tree_[c].last + 1 < r.first) c = tree_.at_or_after(pos);
    if (!c || tree_[c].first > r.last + 1) {
      if (tree_.insert_is_settled(pos)) {  // the common case: a free slot, the reserve full
        tree_.insert_at(pos, entry{r.first, r.last});
        pages_ += r.size();
        detail::notify(on_added, r);
        return errc::ok;
      }
      if (const errc e = tree_.prepare_insert(r.first); e != errc::ok) return e;
      tree_.insert(entry{r.first, r.last});
      pages_ += r.size();
      detail::notify(on_added, r);
      tree_.settle();
      return errc::ok;
    }
    // Merging needs no node, but a successful grant leaves the reserve full.
    if (const errc e = tree_.prepare_reserve(); e != errc::ok) return e;
    // Merge every entry that overlaps or touches r into the first one; report
    // the gaps between them that r fills.
    page_t cur = r.first;
    page_t new_last = r.last;
    std::uint64_t added = 0;
    std::size_t touched = 0;
    for (cursor d = c; d && tree_[d].first <= r.last + 1; d = tree_.next(d)) {
      const entry& e = tree_[d];
      if (e.first > cur) {
        detail::notify(on_added, page_range{cur, e.first - 1});
        added += e.first - cur;
      }
      if (e.last + 1 > cur) cur = e.last + 1;
      if (e.last > new_last) new_last = e.last;
      ++touched;
    }
    if (cur <= r.last) {
      detail::notify(on_added, page_range{cur, r.last});
      added += r.last - cur + 1;
    }
    entry& head = tree_[c];
    const page_t head_first = head.first < r.first ? head.first : r.first;
    const bool lowered = head_first < head.first;
    head.first = head_first;
    head.last = new_last;
    if (lowered) tree_.key_lowered(c);
    if (touched > 1) erase_runs(tree_.next(c), touched - 1);
    pages_ += added;
    tree_.settle();
    return errc::ok;
  }

  /// revoke(r, f) with no visitor: O(log n + k); ok, revoked_extra, or invalid_range with nothing changed.
  [[nodiscard]] errc revoke(page_range r) noexcept { return revoke(r, [](page_range) noexcept {}); }

  /// Removes r, f sees each piece: O(log n + k); ok, revoked_extra (memory refused), invalid_range (no change).
  template <range_visitor F>
  [[nodiscard]] errc revoke(page_range r, F&& on_removed) noexcept {
    return revoke_impl(r, on_removed, false);
  }

  /// revoke_exact(r, f) with no visitor: O(log n + k); ok, or invalid_range/out_of_memory, nothing changed.
  [[nodiscard]] errc revoke_exact(page_range r) noexcept { return revoke_exact(r, [](page_range) noexcept {}); }

  /// Removes exactly r, f sees each piece: O(log n + k); ok, or invalid_range/out_of_memory, nothing changed.
  template <range_visitor F>
  [[nodiscard]] errc revoke_exact(page_range r, F&& on_removed) noexcept {
    return revoke_impl(r, on_removed, true);
  }

  /// Keeps nodes for the next `revokes` revokes (0: 1): O(revokes * height); ok, or out_of_memory, no change.
  [[nodiscard]] errc reserve(std::size_t revokes) noexcept { return tree_.reserve_inserts(revokes == 0 ? 1 : revokes); }
  /// The revokes the reserve covers, as reserve() set it: O(1); never fails.
  [[nodiscard]] std::size_t reserve_count() const noexcept { return tree_.reserve_target(); }
  /// Whether the reserve is full, so the next reserve_count() revokes are exact: O(1); never fails.
  [[nodiscard]] bool reserve_full() const noexcept {
    return !tree_.reserve_short() && tree_.spare_nodes() >= tree_.worst_need();
  }

  /// Packs the index densely (bytes then depend on n alone): O(n); ok, or out_of_memory with nothing changed.
  [[nodiscard]] errc shrink_to_fit() noexcept {
    index fresh(tree_.allocator());
    if (fresh.reserve_inserts(tree_.reserve_target()) != errc::ok) return errc::out_of_memory;
    cursor c = tree_.first();
    const errc e = fresh.assign_sorted(tree_.size(), [&]() noexcept {
      const entry v = tree_[c];
      c = tree_.next(c);
      return v;
    });
    if (e != errc::ok) return e;
    tree_ = static_cast<index&&>(fresh);
    return errc::ok;
  }

 private:
  template <class F>
  errc revoke_impl(page_range r, F& on_removed, bool exact) noexcept {
    if (!r.valid()) return errc::invalid_range;
    cursor c = first_overlapping(r.first);
    if (!c || tree_[c].first > r.last) return errc::ok;
    entry& e = tree_[c];
    if (e.first < r.first && e.last > r.last) return split(c, r, on_removed, exact);
    std::uint64_t removed = 0;
    cursor d = c;
    if (e.first < r.first) {  // the head run loses its tail
      detail::notify(on_removed, page_range{r.first, e.last});
      removed += e.last - r.first + 1;
      e.last = r.first - 1;
      d = tree_.next(d);
    }
    std::size_t inner = 0;
    cursor first_inner{};
    for (; d && tree_[d].last <= r.last; d = tree_.next(d)) {
      const entry& x = tree_[d];
      detail::notify(on_removed, page_range{x.first, x.last});
      removed += x.last - x.first + 1;
      if (inner++ == 0) first_inner = d;
    }
    if (d && tree_[d].first <= r.last) {  // the tail run loses its head
      entry& t = tree_[d];
      detail::notify(on_removed, page_range{t.first, r.last});
      removed += r.last - t.first + 1;
      t.first = r.last + 1;
      tree_.key_raised(d);
    }
    if (inner > 0) erase_runs(first_inner, inner);
    pages_ -= removed;
    tree_.settle();
    return errc::ok;
  }

 public:
  /// Removes every run and frees every node, the reserve's too: O(n); never fails.
  void clear() noexcept {
    tree_.clear();
    pages_ = 0;
  }

  /// Becomes a densely packed copy of o: O(n + o's runs); ok, or out_of_memory with nothing changed.
  [[nodiscard]] errc assign(const rangeset& o) noexcept {
    if (this == &o) return errc::ok;
    cursor c = o.tree_.first();
    const errc e = tree_.assign_sorted(o.tree_.size(), [&]() noexcept {
      const entry v = o.tree_[c];
      c = o.tree_.next(c);
      return v;
    });
    if (e == errc::ok) pages_ = o.pages_;
    return e;
  }

  // ---- queries ----------------------------------------------------------------------

  /// Whether no page is granted: O(1); never fails.
  [[nodiscard]] bool empty() const noexcept { return pages_ == 0; }
  /// Pages granted: O(1); never fails.
  [[nodiscard]] std::uint64_t count() const noexcept { return pages_; }
  /// Maximal runs held, one index entry each: O(1); never fails.
  [[nodiscard]] std::size_t range_count() const noexcept { return tree_.size(); }
  /// Bytes held from the allocator, spare nodes included, exactly: O(1); never fails.
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return tree_.memory_bytes(); }

  /// Whether page p is granted: O(log n); never fails.
  [[nodiscard]] bool contains(page_t p) const noexcept {
    const cursor c = tree_.find_last_le(p);
    return c && p <= tree_[c].last;
  }
  /// Whether every page of r is granted (false if r is invalid): O(log n); never fails.
  [[nodiscard]] bool contains_all(page_range r) const noexcept {
    if (!r.valid()) return false;
    const cursor c = tree_.find_last_le(r.first);
    return c && r.last <= tree_[c].last;
  }
  /// Whether some page of r is granted (false if r is invalid): O(log n); never fails.
  [[nodiscard]] bool contains_any(page_range r) const noexcept {
    if (!r.valid()) return false;
    const cursor c = tree_.find_last_le(r.last);
    return c && tree_[c].last >= r.first;
  }

  /// Calls f on each run in order until f returns false: O(runs visited); false iff f stopped; never fails.
  template <range_visitor F>
  [[nodiscard]] bool for_each_range(F&& f) const noexcept {
    for (cursor c = tree_.first(); c; c = tree_.next(c))
      if (!detail::visit(f, page_range{tree_[c].first, tree_[c].last})) return false;
    return true;
  }
  /// The same for runs clipped to window (none if invalid): O(log n + runs visited); never fails.
  template <range_visitor F>
  [[nodiscard]] bool for_each_range(page_range window, F&& f) const noexcept {
    if (!window.valid()) return true;
    for (cursor c = first_overlapping(window.first); c && tree_[c].first <= window.last; c = tree_.next(c)) {
      const entry& e = tree_[c];
      const page_range x{e.first < window.first ? window.first : e.first, e.last > window.last ? window.last : e.last};
      if (!detail::visit(f, x)) return false;
    }
    return true;
  }

  /// Levels of the index (0 when empty), for studies: O(1); never fails.
  [[nodiscard]] std::size_t index_height() const noexcept { return tree_.height(); }
  /// Spare nodes held for revokes (in memory_bytes()), for studies: O(1); never fails.
  [[nodiscard]] std::size_t reserved_nodes() const noexcept { return tree_.spare_nodes(); }

  /// Checks the index, maximal valid runs and the cached count, for tests: O(n); never fails.
  [[nodiscard]] bool check_invariants() const noexcept {
    if (!tree_.check_invariants()) return false;
    std::uint64_t pages = 0;
    bool have_prev = false;
    page_t prev_last = 0;
    for (cursor c = tree_.first(); c; c = tree_.next(c)) {
      const entry& e = tree_[c];
      if (!page_range{e.first, e.last}.valid()) return false;
      if (have_prev && prev_last + 1 >= e.first) return false;
      have_prev = true;
      prev_last = e.last;
      pages += e.last - e.first + 1;
    }
    return pages == pages_;
  }

 private:
  /// First entry whose run ends at or after p.
  [[nodiscard]] cursor first_overlapping(page_t p) const noexcept {
    const cursor c = tree_.find_last_le(p);
    if (!c) return tree_.first();
    return tree_[c].last >= p ? c : tree_.next(c);
  }
  /// Erases the k consecutive runs from c on: those in c's leaf at once, the rest
  /// (a range spanning leaves) by key, a leaf at a time.
  void erase_runs(cursor c, std::size_t k) noexcept {
    const page_t first = tree_[c].first;
    const std::size_t here = index::run_in_leaf(c) < k ? index::run_in_leaf(c) : k;
    tree_.erase(c, here);
    tree_.erase_from(first, k - here);
  }
  /// r lies strictly inside the run at c: cut it in two. If the reserve is spent,
  /// ask for a node first; only a refusal lets revoke() drop more (see the header).
  template <class F>
  errc split(cursor c, page_range r, F& on_removed, bool exact) noexcept {
    const page_t key = r.last + 1;
    // The new right piece goes just after c: in c's leaf when c is not its last
    // value, else wherever the key routes.
    const cursor pos =
        c.slot + 1 < index::leaf_size(c) ? cursor{c.leaf, c.slot + 1} : tree_.seek(key);
    if (index::has_room(pos)) {  // the common case: no node needed
      entry& e = tree_[c];
      const entry right{key, e.last};
      e.last = r.first - 1;
      tree_.insert_at(pos, right);
      pages_ -= r.size();
      detail::notify(on_removed, r);
      tree_.settle();
      return errc::ok;
    }
    std::size_t added = 0;
    if (!tree_.insert_ready(key) && tree_.make_insert_ready(key, added) != errc::ok) {
      if (exact) return errc::out_of_memory;
      return split_without_memory(c, r, on_removed);
    }
    entry& e = tree_[c];
    const entry right{key, e.last};
    e.last = r.first - 1;
    tree_.insert(right);
    pages_ -= r.size();
    detail::notify(on_removed, r);
    tree_.settle();
    return errc::ok;
  }

  /// The split needs a slot in a full leaf and no node can be had: drop the fewest
  /// pages that make it fit — a whole other run of that leaf (which frees its slot),
  /// or else the smaller piece of the cut run (which then needs no new entry).
  template <class F>
  errc split_without_memory(cursor c, page_range r, F& on_removed) noexcept {
    const entry e = tree_[c];
    const std::uint64_t below = r.first - e.first, above = e.last - r.last;
    const std::uint64_t side = below <= above ? below : above;
    cursor victim{};
    std::uint64_t victim_pages = side;
    const cursor leaf = tree_.leaf_for(r.last + 1);
    for (std::size_t i = 0, n = index::leaf_size(leaf); i < n; ++i) {
      const entry& x = tree_[cursor{leaf.leaf, i}];
      const std::uint64_t pages = x.last - x.first + 1;
      if (x.first != e.first && pages < victim_pages) {
        victim = cursor{leaf.leaf, i};
        victim_pages = pages;
      }
    }
    if (victim) {
      const entry x = tree_[victim];
      if (x.first < e.first) detail::notify(on_removed, page_range{x.first, x.last});
      detail::notify(on_removed, r);
      if (x.first > e.first) detail::notify(on_removed, page_range{x.first, x.last});
      tree_.erase(victim, 1);
      PMEMPERM_ASSERT(tree_.insert_ready(r.last + 1));
      const cursor d = tree_.find_last_le(r.first);
      tree_[d].last = r.first - 1;
      tree_.insert(entry{r.last + 1, e.last});
      pages_ -= r.size() + victim_pages;
      tree_.settle();
      return errc::revoked_extra;
    }
    page_range gone;
    if (below <= above) {
      gone = page_range{e.first, r.last};
      tree_[c].first = r.last + 1;
      tree_.key_raised(c);
    } else {
      gone = page_range{r.first, e.last};
      tree_[c].last = r.first - 1;
    }
    pages_ -= gone.size();
    detail::notify(on_removed, gone);
    tree_.settle();
    return errc::revoked_extra;
  }

  index tree_;
  std::uint64_t pages_ = 0;
};

static_assert(page_set<rangeset<>>);

}  // namespace pmemperm
