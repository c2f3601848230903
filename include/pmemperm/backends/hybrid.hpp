// pmemperm/backends/hybrid.hpp — the adaptive backend (the recommended default).
//
// The page space is cut into chunks of 2^16 pages; each chunk holding pages keeps
// them in whichever representation is smallest for them (detail/hybrid/layout.hpp):
// runs as plain index slots (which merge across chunk borders, so one slot serves a
// grant spanning any number of whole chunks), up to four pages inline in the slot,
// a page list, a run list, a word list (the nonzero words of a bitmap), or a
// whole-chunk bitmap. Each container kind has its own header under detail/hybrid/.
// All slots live in one B+-tree (detail/btree.hpp) keyed by first page. The
// representation of a chunk is a function of its pages alone (canonical), so the
// same set built in any order has the same shape.
//
// Complexity: every operation is O(log n) in the index slots, plus the slots it
// removes and the words or entries of the (at most two) partly touched chunks it
// reads or converts — a conversion rewrites one chunk, at most 8 KiB. count() and
// range_count() are O(1).
//
// Failure behaviour: a grant makes every allocation it needs (containers, index
// nodes, the refill of the revoke reserve) before changing anything; if one is
// refused it returns out_of_memory and nothing changed, memory_bytes() included.
// The reserve is what reserve_count() revokes (1 unless reserve(n) raised it) may
// need for their splits: index nodes for a run slot cut in two, and in every run
// list that many free pairs. It is counted in memory_bytes(); after a successful
// grant it is full.
//
// A revoke only shrinks containers in place, except for a split. A split that finds
// the reserve spent first asks the allocator (an index node, or a larger run list).
// revoke_exact() then removes exactly r or returns out_of_memory with nothing
// changed. revoke() never fails: only if that very allocation is refused does it
// drop more than r, and then the fewest pages it can without memory — the smaller
// piece of the cut run, or a whole other slot of the index leaf (a run, or a
// chunk's container) or another run of the same run list, whichever holds fewer
// pages. Those pages go to on_removed and it returns revoked_extra; no page of the
// revoked range is ever left granted. Conversions a revoke makes to keep the
// representation smallest are best effort: if memory is refused the chunk stays in
// a larger but exact form until a later operation or shrink_to_fit().
//
// Memory history: containers keep their capacity while it lies between their need
// and that need plus twice the growth headroom and tuning::hybrid_shrink_slack
// entries (detail::hyb::capacity_fits), so the bytes of a set may depend on the
// order that built it, by at most that band per container plus the index's leaf
// fill. shrink_to_fit() rebuilds the set in ascending order, after
// which memory_bytes() depends on the pages and the reserve count alone.
//
// Visitors run while the operation is in progress and must not access the set.
#pragma once

#include "../config.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>

#include "../allocator.hpp"
#include "../detail/bits.hpp"
#include "../detail/btree.hpp"
#include "../detail/hybrid/dispatch.hpp"
#include "../detail/visitor.hpp"
#include "../page_set.hpp"
#include "../tuning.hpp"
#include "../types.hpp"

namespace pmemperm {

namespace detail::hyb {
struct inspector;
}

template <byte_allocator Alloc = new_allocator>
class hybrid {
  friend struct detail::hyb::inspector;

  using slot = detail::hyb::slot;
  using header = detail::hyb::header;
  using view = detail::hyb::view;
  using rep = detail::hyb::rep;
  using stats = detail::hyb::stats;
  /// Index nodes of 1008 bytes: 62 slots of 16 bytes after the node's header, and
  /// with a typical malloc's 8-byte block header exactly 1 KiB, where 1024 bytes
  /// would take a 1040-byte block. Smaller nodes than the 4 KiB default waste less
  /// in a set of a few hundred to a few thousand slots (a random build leaves
  /// leaves about two thirds full, and the reserve holds whole nodes), and a search
  /// reads fewer lines per level; a set of up to 255 slots stays in one lone root
  /// block either way. (W4's 16,065 slots take three levels; with 1024-byte nodes
  /// the block headers alone put it above 8 heap bytes per page.)
  static constexpr std::size_t index_node_bytes = 1008;
  using index = detail::btree<slot, Alloc, index_node_bytes, detail::hyb::slot_key>;
  using cursor = typename index::cursor;
  static constexpr page_t chunk_pages = detail::hyb::chunk_pages;
  static constexpr std::uint32_t last_offset = detail::hyb::last_offset;

  /// The visitor of grant(r) and revoke(r): nothing to report, so nothing is walked.
  struct no_visitor {
    void operator()(page_range) const noexcept {}
  };
  template <class F>
  static constexpr bool reports = !std::is_same_v<std::remove_cvref_t<F>, no_visitor>;

 public:
  using allocator_type = Alloc;

  // ---- construction ------------------------------------------------------------------

  /// An empty set; allocates nothing. O(1).
  hybrid() noexcept
    requires std::is_default_constructible_v<Alloc>
  = default;
  /// An empty set drawing its memory from a; allocates nothing. O(1).
  explicit hybrid(Alloc a) noexcept : tree_(static_cast<Alloc&&>(a)) {}
  hybrid(const hybrid&) = delete;
  hybrid& operator=(const hybrid&) = delete;
  /// Takes o's pages, memory and reserve count; o is left empty. O(1), never fails.
  hybrid(hybrid&& o) noexcept
      : tree_(static_cast<index&&>(o.tree_)),
        pages_(o.pages_),
        runs_(o.runs_),
        heap_(o.heap_),
        lax_(o.lax_),
        needy_(o.needy_),
        one_(o.one_) {
    o.forget();
  }
  /// Frees this set's memory, then takes o's as the move constructor does. O(n).
  hybrid& operator=(hybrid&& o) noexcept {
    if (this != &o) {
      free_containers();
      tree_ = static_cast<index&&>(o.tree_);
      pages_ = o.pages_;
      runs_ = o.runs_;
      heap_ = o.heap_;
      lax_ = o.lax_;
      needy_ = o.needy_;
      one_ = o.one_;
      o.forget();
    }
    return *this;
  }
  /// Frees every block. O(n).
  ~hybrid() { free_containers(); }

  // ---- queries -----------------------------------------------------------------------

  /// Whether no page is granted. O(1).
  [[nodiscard]] bool empty() const noexcept { return pages_ == 0; }
  /// Pages granted. O(1).
  [[nodiscard]] std::uint64_t count() const noexcept { return pages_; }
  /// Maximal runs of granted pages. O(1).
  [[nodiscard]] std::size_t range_count() const noexcept { return runs_; }
  /// Bytes held from the allocator: index nodes (spares included) and containers.
  /// O(1).
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return tree_.memory_bytes() + heap_; }

  /// Whether page p is granted. O(log n), plus O(log entries) in a list container.
  /// A set of one run answers without branching on p: queries that land inside and
  /// outside the run at random would mispredict half the time.
  [[nodiscard]] bool contains(page_t p) const noexcept {
    if (PMEMPERM_LIKELY(runs_ > 1)) return contains_slow(p);
    return static_cast<bool>(static_cast<unsigned>(runs_ == 1) &
                             static_cast<unsigned>(p - one_.first <= one_.last - one_.first));
  }
  /// Whether every page of r is granted (false for an invalid r). O(log n) per slot
  /// r crosses, plus the words or entries of the containers it reads.
  [[nodiscard]] bool contains_all(page_range r) const noexcept {
    if (!r.valid()) return false;
    if (runs_ <= 1)
      return static_cast<bool>(static_cast<unsigned>(runs_ == 1) & static_cast<unsigned>(one_.first <= r.first) &
                               static_cast<unsigned>(r.last <= one_.last));
    return contains_all_slow(r);
  }
  /// Whether some page of r is granted (false for an invalid r). O(log n) plus the
  /// slots and container words r crosses until the first granted page.
  [[nodiscard]] bool contains_any(page_range r) const noexcept {
    if (!r.valid()) return false;
    if (runs_ <= 1) return runs_ == 1 && one_.first <= r.last && r.first <= one_.last;
    return contains_any_slow(r);
  }

  /// Calls f(page_range) for each maximal run, ascending; f returns void (go on) or
  /// bool (false stops). Returns false iff f stopped it. O(n + entries walked).
  template <range_visitor F>
  [[nodiscard]] bool for_each_range(F&& f) const noexcept {
    return walk(page_range{0, max_page}, f);
  }
  /// The same, clipped to window (nothing for an invalid window).
  template <range_visitor F>
  [[nodiscard]] bool for_each_range(page_range window, F&& f) const noexcept {
    if (!window.valid()) return true;
    return walk(window, f);
  }

  // ---- modification ------------------------------------------------------------------

  /// Grants r. invalid_range, or out_of_memory: nothing changed (strong guarantee).
  /// O(log n) plus the slots r swallows and the (at most two) partial chunks it
  /// converts. On success the revoke reserve is full.
  [[nodiscard]] errc grant(page_range r) noexcept {
    no_visitor none;
    return grant(r, none);
  }
  /// The same; on_added(page_range) is called for each maximal run of pages that
  /// were not granted before (before the set changes; it must not access the set).
  template <range_visitor F>
  [[nodiscard]] errc grant(page_range r, F&& on_added) noexcept {
    const errc e = grant_impl(r, on_added);
    remember_single_run();
    return e;
  }

  /// Revokes r. invalid_range: nothing changed. Otherwise no page of r is granted
  /// afterwards; revoked_extra if the reserve was spent and a refused allocation
  /// made it drop pages outside r too (the fewest it could; they are reported).
  /// O(log n) plus the slots removed and the partial chunks edited.
  [[nodiscard]] errc revoke(page_range r) noexcept {
    no_visitor none;
    return revoke(r, none);
  }
  /// The same; on_removed(page_range) is called for each maximal run of pages that
  /// were granted and no longer are.
  template <range_visitor F>
  [[nodiscard]] errc revoke(page_range r, F&& on_removed) noexcept {
    const errc e = revoke_impl(r, on_removed, false, false);
    remember_single_run();
    return e;
  }

  /// Removes exactly r, or returns out_of_memory (a split found the reserve spent
  /// and the allocator refused what it needs) or invalid_range, with nothing
  /// changed. Complexity as revoke().
  [[nodiscard]] errc revoke_exact(page_range r) noexcept {
    no_visitor none;
    return revoke_exact(r, none);
  }
  /// The same, reporting the removed runs as revoke() does.
  template <range_visitor F>
  [[nodiscard]] errc revoke_exact(page_range r, F&& on_removed) noexcept {
    const errc e = revoke_impl(r, on_removed, true, false);
    remember_single_run();
    return e;
  }

  /// Removes every page and frees every block. O(n), never fails.
  void clear() noexcept {
    free_containers();
    tree_.clear();
    forget();
  }

  /// Becomes a copy of o (with this set's reserve count). out_of_memory: nothing
  /// changed (strong guarantee). O(n + container bytes).
  [[nodiscard]] errc assign(const hybrid& o) noexcept {
    if (this == &o) return errc::ok;
    index copy(tree_.allocator());
    if (copy.reserve_inserts(reserve_count()) != errc::ok) return errc::out_of_memory;  // empty: takes nothing
    cursor src = o.tree_.first();
    if (copy.assign_sorted(o.tree_.size(), [&]() noexcept {
          const slot v = o.tree_[src];
          src = o.tree_.next(src);
          return v;
        }) != errc::ok)
      return errc::out_of_memory;
    // Give the copy its own containers; on failure undo the ones made so far.
    std::size_t heap = 0, made = 0;
    bool failed = false;
    for (cursor c = copy.first(); c; c = copy.next(c)) {
      slot& s = copy[c];
      if (!s.is_container()) continue;
      const header* h = detail::hyb::container_of(s);
      const std::size_t bytes = detail::hyb::container_bytes(h->kind(), h->cap());
      void* p = copy.allocator().allocate(bytes, detail::hyb::container_align);
      if (p == nullptr) {
        failed = true;
        break;
      }
      std::memcpy(p, h, bytes);
      s.tail = reinterpret_cast<std::uint64_t>(p);
      heap += bytes;
      ++made;
    }
    if (failed) {
      for (cursor c = copy.first(); c && made > 0; c = copy.next(c)) {
        const slot& s = copy[c];
        if (!s.is_container()) continue;
        const header* h = detail::hyb::container_of(s);
        copy.allocator().deallocate(detail::hyb::container_of(s), detail::hyb::container_bytes(h->kind(), h->cap()),
                                    detail::hyb::container_align);
        --made;
      }
      return errc::out_of_memory;
    }
    free_containers();
    tree_ = static_cast<index&&>(copy);
    pages_ = o.pages_;
    runs_ = o.runs_;
    heap_ = heap;
    // o's run lists carry o's reserve; a different count of ours is made good later.
    lax_ = o.lax_ || o.reserve_count() != reserve_count();
    needy_ = o.needy_ || o.reserve_count() < reserve_count();
    one_ = o.one_;
    return errc::ok;
  }

  // ---- memory pressure ---------------------------------------------------------------

  /// Keeps what `revokes` more revokes (one range each) need, so that they are exact
  /// even if every allocation is refused: index nodes for that many splits, and that
  /// many free pairs in every run list. 0 means the default, 1. Stays in force:
  /// every grant refills to it. out_of_memory: nothing changed. O(n) when run lists
  /// must grow, else O(nodes allocated).
  [[nodiscard]] errc reserve(std::size_t revokes) noexcept {
    const std::size_t t = revokes == 0 ? 1 : revokes;
    const std::size_t old_t = reserve_count();
    repairs fix;
    if (!prepare_repairs(fix, t)) return errc::out_of_memory;
    if (tree_.reserve_inserts(t) != errc::ok) {
      drop_repairs(fix);
      return errc::out_of_memory;
    }
    commit_repairs(fix);
    needy_ = false;
    if (t < old_t) lax_ = true;  // run lists keep the larger room until shrink_to_fit()
    return errc::ok;
  }
  /// The revokes the reserve is kept for (what reserve() set; 1 by default). O(1).
  [[nodiscard]] std::size_t reserve_count() const noexcept { return tree_.reserve_target(); }
  /// Whether the reserve is full: the next reserve_count() revokes are exact. O(1).
  [[nodiscard]] bool reserve_full() const noexcept { return !needy_ && tree_.spare_nodes() >= tree_.worst_need(); }

  /// Rebuilds the set in ascending order with every chunk in its smallest form and
  /// every container at the capacity that build gives it: afterwards memory_bytes()
  /// depends on the pages and reserve_count() alone. out_of_memory: nothing changed.
  /// O(n log n) plus the container bytes.
  [[nodiscard]] errc shrink_to_fit() noexcept {
    hybrid fresh(tree_.allocator());
    if (fresh.reserve(reserve_count()) != errc::ok) return errc::out_of_memory;  // empty: takes nothing
    bool ok = true;
    static_cast<void>(walk(page_range{0, max_page}, [&](page_range p) noexcept {
      ok = fresh.grant(p) == errc::ok;
      return ok;
    }));
    if (!ok) return errc::out_of_memory;
    *this = static_cast<hybrid&&>(fresh);
    return errc::ok;
  }

  /// Every invariant: the index's, each container's counts, order and capacity, the
  /// canonical representation of every chunk (unless a refused allocation left one
  /// in a larger exact form, which is then accepted), the byte total, the page and
  /// run counts. O(n + container bytes); for tests.
  [[nodiscard]] bool check_invariants() const noexcept {
    if (!tree_.check_invariants()) return false;
    std::size_t heap = 0;
    bool have_prev = false;
    slot prev{};
    for (cursor c = tree_.first(); c; c = tree_.next(c)) {
      const slot& s = tree_[c];
      if (s.is_run()) {
        if (!page_range{s.head, s.tail}.valid()) return false;
      } else if (!check_container(s, heap)) {
        return false;
      } else if (!needy_ && short_of_pairs(s, reserve_count())) {
        return false;  // a run list short of its reserve must be marked for repair
      }
      if (have_prev && (prev.is_run() && s.is_run() ? prev.end() + 1 >= s.head : prev.end() >= s.key())) return false;
      prev = s;
      have_prev = true;
      if (!lax_ && !canonical_at(s)) return false;
    }
    if (heap != heap_) return false;
    std::uint64_t pages = 0, runs = 0;
    walk(page_range{0, max_page}, [&](page_range p) noexcept {
      pages += p.size();
      ++runs;
      return true;
    });
    if (runs_ == 1 && !contains_all_slow(one_)) return false;
    if (runs_ != 1 && one_.valid()) return false;
    return pages == pages_ && runs == runs_;
  }

 private:
  // ==== queries through the index ====================================================
  // Also used while an operation is under way, when the single-run copy may be stale.

  [[nodiscard]] bool contains_slow(page_t p) const noexcept {
    const cursor c = tree_.find_last_le(p);
    if (!c) return false;
    const slot& s = tree_[c];
    if (s.is_run()) return p <= s.tail;
    const page_t base = s.chunk();
    if (p - base > last_offset) return false;
    const auto off = static_cast<std::uint32_t>(p - base);
    if (s.is_container()) {  // a whole-chunk bitmap is the commonest container hit: test it directly
      const header* h = detail::hyb::container_of(s);
      if (h->kind() == rep::bitmap) return detail::hyb::bitmap::test(detail::hyb::words_of<rep::bitmap>(h), off);
    }
    return detail::hyb::contains(view::of(s), off);
  }

  [[nodiscard]] bool contains_all_slow(page_range r) const noexcept {
    page_t cur = r.first;
    for (;;) {
      const cursor c = tree_.find_last_le(cur);
      if (!c) return false;
      const slot& s = tree_[c];
      page_t reached;
      if (s.is_run()) {
        if (s.tail < cur) return false;
        reached = s.tail;
      } else {
        const page_t base = s.chunk();
        if (cur - base > last_offset) return false;
        const page_t hi = r.last - base < last_offset ? r.last : base + last_offset;
        if (!detail::hyb::contains_all(view::of(s), static_cast<std::uint32_t>(cur - base),
                                       static_cast<std::uint32_t>(hi - base)))
          return false;
        reached = hi;
      }
      if (reached >= r.last) return true;
      cur = reached + 1;
    }
  }

  [[nodiscard]] bool contains_any_slow(page_range r) const noexcept {
    cursor c = tree_.find_last_le(r.first);
    if (!c) c = tree_.first();
    for (; c; c = tree_.next(c)) {
      const slot& s = tree_[c];
      if (s.key() > r.last) return false;
      if (s.end() < r.first) continue;
      if (s.is_run()) return true;
      const page_t k = s.chunk();
      const std::uint32_t lo = r.first > k ? static_cast<std::uint32_t>(r.first - k) : 0u;
      const std::uint32_t hi = r.last - k < last_offset ? static_cast<std::uint32_t>(r.last - k) : last_offset;
      if (detail::hyb::contains_any(view::of(s), lo, hi)) return true;
    }
    return false;
  }

  // ==== the grant path ================================================================
  //
  // grant_impl() reads top down: two fast paths that edit one slot or container in
  // place; then the general path in four steps, each below in its own subsection:
  //   1. plan     what happens to the (at most two) partly covered chunks and which
  //               runs merge into the index (const: nothing changes);
  //   2. prepare  every allocation the plan needs, all or nothing;
  //   3. report   the added runs to the visitor, and the old state of the window;
  //   4. apply    the plan, which can no longer fail.

  template <class F>
  errc grant_impl(page_range r, F& on_added) noexcept {
    if (PMEMPERM_UNLIKELY(!r.valid())) return errc::invalid_range;
    // The fast paths assume every run list has its reserve; after a refused
    // growth (needy_) the general path repairs them as part of the grant.
    if (!needy_) {
      if (const fast f = grant_within_chunk(r, on_added); f != fast::declined) return result_of(f);
      if (const fast f = grant_into_empty_chunks(r, on_added); f != fast::declined) return result_of(f);
    }
    if (contains_all(r)) return refill_reserve();

    grant_plan plan;
    make_plan(r, plan);                                                      // 1
    if (const errc e = prepare_plan(plan); e != errc::ok) return e;          // 2
    const window_state old = measure_window(r, gap_reporter<F>{on_added, r.first});  // 3
    commit_repairs(plan.fix);                                                // 4
    needy_ = false;
    apply_plan(plan);
    pages_ += r.size() - old.pages;
    runs_ = runs_ + (old.joined_below ? 0u : 1u) - old.starts;
    tree_.settle();
    return errc::ok;
  }

  // ---- fast paths ----------------------------------------------------------------------

  /// What a fast path did: declined (the general path must do the operation), or
  /// done with success, or refused by the allocator with nothing changed.
  enum class fast : std::uint8_t { declined, done, out_of_memory };
  [[nodiscard]] static fast fast_of(errc e) noexcept { return e == errc::ok ? fast::done : fast::out_of_memory; }
  [[nodiscard]] static errc result_of(fast f) noexcept { return f == fast::done ? errc::ok : errc::out_of_memory; }

  /// Whether the pages just outside the chunk at base, next to an edit of its
  /// offsets [lo, hi], are granted: an edit that reaches a border of its chunk may
  /// make or break a run across it, which the chunk's own counts do not see.
  struct outside {
    bool below = false;  // lo == 0 and base - 1 is granted
    bool above = false;  // hi == last_offset and base + chunk_pages is granted
  };
  [[nodiscard]] outside outside_of(page_t base, std::uint32_t lo, std::uint32_t hi) const noexcept {
    outside o;
    if (lo == 0 && base > 0) o.below = contains_slow(base - 1);
    if (hi == last_offset && base + last_offset < max_page) o.above = contains_slow(base + chunk_pages);
    return o;
  }

  /// The slot of a chunk held inline or in a container, found for an edit inside
  /// that chunk: c is find_last_le(x) for a page x of the chunk at base.
  [[nodiscard]] bool holds_chunk(cursor c, page_t base) const noexcept {
    return c && !tree_[c].is_run() && tree_[c].chunk() == base;
  }

  /// A grant inside one chunk held inline or in a container, whose kind it leaves
  /// as it is: the container edited in place (or copied into a resized one), or
  /// the inline slot rewritten (or turned into a container).
  template <class F>
  fast grant_within_chunk(page_range r, F& on_added) noexcept {
    const page_t base = detail::hyb::base_of(r.first);
    if (detail::hyb::base_of(r.last) != base) return fast::declined;
    const cursor c = tree_.find_last_le(base + last_offset);
    const auto lo = static_cast<std::uint32_t>(r.first - base), hi = static_cast<std::uint32_t>(r.last - base);
    if (!holds_chunk(c, base)) return grant_into_run_chunk(c, base, lo, hi, on_added);
    if (tree_[c].is_inline()) return grant_into_inline(c, base, lo, hi, on_added);
    header* h = detail::hyb::container_of(tree_[c]);
    if (lo == hi && lo > 0 && hi < last_offset) {
      if (h->kind() == rep::bitmap) return grant_bitmap_page(h, lo, r.first, on_added);
      if (h->kind() == rep::word_list)
        if (const fast f = grant_word_list_page(h, lo, r.first, on_added); f != fast::declined) return f;
    }
    const view v = view::of(h);
    const detail::hyb::census cs = detail::hyb::survey(v, lo, hi);
    // A successful grant leaves the reserve full; that is the only allocation here
    // but for a resized container.
    if (cs.pages == hi - lo + 1) return fast_of(tree_.prepare_reserve());
    const stats before = h->counts();
    const stats after = detail::hyb::after_grant(before, lo, hi, cs);
    const rep k = h->kind();
    if (detail::hyb::rep_for(after) != k) return fast::declined;
    const std::uint32_t need = need_of(k, after);
    header* fresh = nullptr;
    if (!detail::hyb::capacity_fits(h->cap(), need)) {
      const std::uint32_t cap = detail::hyb::grown_capacity(k, need);
      if (detail::hyb::entries_in(h) > cap) return fast::declined;  // shrinking below today's entries
      fresh = alloc_container(k, cap);
      if (fresh == nullptr) return fast::out_of_memory;
      detail::hyb::copy_into(h, fresh);
    }
    if (tree_.prepare_reserve() != errc::ok) {
      if (fresh != nullptr) free_container(fresh);
      return fast::out_of_memory;
    }
    report_gaps(v, base, lo, hi, on_added);
    const outside o = outside_of(base, lo, hi);
    if (fresh != nullptr) {
      tree_[c].tail = detail::hyb::address_of(fresh);
      free_container(h);
      h = fresh;
    }
    detail::hyb::grant_in_place(h, lo, hi, cs);
    pages_ += after.pages - before.pages;
    runs_ = runs_ + after.runs - before.runs - (o.below && !cs.first ? 1u : 0u) - (o.above && !cs.last ? 1u : 0u);
    return fast::done;
  }

  /// A grant into a chunk held inline whose result is inline or a container: the
  /// slot is rewritten where it is.
  template <class F>
  fast grant_into_inline(cursor c, page_t base, std::uint32_t lo, std::uint32_t hi, F& on_added) noexcept {
    const view v = view::of(tree_[c]);
    const detail::hyb::census cs = detail::hyb::inline_pages::survey(v, lo, hi);
    if (cs.pages == hi - lo + 1) return fast_of(tree_.prepare_reserve());
    const stats before = detail::hyb::inline_pages::counts(v);
    const stats after = detail::hyb::after_grant(before, lo, hi, cs);
    const rep want = detail::hyb::rep_for(after);
    auto source = [&](auto&& emit) noexcept {
      detail::hyb::union_runs([&](auto&& f) noexcept { detail::hyb::inline_pages::walk(v, 0, last_offset, f); }, lo,
                              hi, emit);
    };
    // Runs in the index may merge with neighbours: the general path.
    if (want != rep::inline_pages && !detail::hyb::is_container_kind(want)) return fast::declined;
    slot fresh{};
    header* h = nullptr;
    if (!make_chunk_slot(base, want, after, source, fresh, h)) return fast::out_of_memory;
    if (tree_.prepare_reserve() != errc::ok) {
      if (h != nullptr) free_container(h);
      return fast::out_of_memory;
    }
    report_gaps(v, base, lo, hi, on_added);
    const outside o = outside_of(base, lo, hi);
    replace_slot(c, fresh);
    pages_ += after.pages - before.pages;
    runs_ = runs_ + after.runs - before.runs - (o.below && !cs.first ? 1u : 0u) - (o.above && !cs.last ? 1u : 0u);
    return fast::done;
  }

  /// A grant inside one chunk held as run slots, none of which crosses a border of
  /// the chunk, or holding nothing: the result takes the old slots' places, as run
  /// slots (at most one insert), inline or in a container. c is the last slot keyed
  /// at or below the chunk's last page.
  template <class F>
  fast grant_into_run_chunk(cursor c, page_t base, std::uint32_t lo, std::uint32_t hi, F& on_added) noexcept {
    // The chunk's runs: the run slots at and before c that reach into it.
    cursor at[max_part_runs];
    std::uint32_t of[max_part_runs], ol[max_part_runs];
    std::size_t n = 0;
    for (cursor d = c; d && tree_[d].is_run() && tree_[d].tail >= base; d = tree_.prev(d)) {
      if (n == max_part_runs) return fast::declined;  // more than run slots may hold (a refused conversion)
      at[n++] = d;
    }
    for (std::size_t i = 0; i < n / 2; ++i) {
      const cursor t = at[i];
      at[i] = at[n - 1 - i];
      at[n - 1 - i] = t;
    }
    if (n > 0 && (tree_[at[0]].head < base || tree_[at[n - 1]].tail > base + last_offset)) return fast::declined;
    detail::hyb::census_builder b(lo, hi);
    detail::hyb::stats_builder sb;
    for (std::size_t i = 0; i < n; ++i) {
      of[i] = static_cast<std::uint32_t>(tree_[at[i]].head - base);
      ol[i] = static_cast<std::uint32_t>(tree_[at[i]].tail - base);
      b.add(of[i], ol[i]);
      sb.add(of[i], ol[i]);
    }
    const detail::hyb::census cs = b.done();
    if (cs.pages == hi - lo + 1) return fast_of(tree_.prepare_reserve());
    const stats before = sb.s, after = detail::hyb::after_grant(before, lo, hi, cs);
    const rep want = detail::hyb::rep_for(after);
    auto old_runs = [&](auto&& g) noexcept {
      for (std::size_t i = 0; i < n; ++i)
        if (!g(of[i], ol[i])) return false;
      return true;
    };
    auto source = [&](auto&& emit) noexcept { detail::hyb::union_runs(old_runs, lo, hi, emit); };
    const outside o = outside_of(base, lo, hi);
    if (want == rep::run_slots) {
      if (o.below || o.above) return fast::declined;  // the run would join a neighbouring chunk's
      if (after.runs == n + 1) {  // [lo, hi] touches no run: one more run slot
        if (tree_.prepare_insert(base + lo) != errc::ok) return fast::out_of_memory;
        report_gaps_of(old_runs, base, lo, hi, on_added);
        tree_.insert(slot::run(base + lo, base + hi));
      } else {
        if (tree_.prepare_reserve() != errc::ok) return fast::out_of_memory;
        report_gaps_of(old_runs, base, lo, hi, on_added);
        // Each run of the result holds one or more old runs: the first of them
        // takes it (a key lowered, if at all), the others go.
        page_t gone[max_part_runs];
        std::size_t ngone = 0, i = 0;
        source([&](std::uint32_t f, std::uint32_t l) noexcept {
          bool taken = false;
          for (; i < n && ol[i] <= l; ++i) {
            if (taken) {
              gone[ngone++] = base + of[i];
            } else {
              replace_slot(at[i], slot::run(base + f, base + l));
              taken = true;
            }
          }
        });
        for (std::size_t g = 0; g < ngone; ++g) tree_.erase_from(gone[g], 1);
      }
    } else if (n > 0 && want != rep::empty) {
      slot fresh{};
      header* h = nullptr;
      if (!make_chunk_slot(base, want, after, source, fresh, h)) return fast::out_of_memory;
      if (tree_.prepare_reserve() != errc::ok) {
        if (h != nullptr) free_container(h);
        return fast::out_of_memory;
      }
      report_gaps_of(old_runs, base, lo, hi, on_added);
      replace_slot(at[0], fresh);  // its key is at or below the first run's
      if (n > 1) tree_.erase_from(fresh.key() + 1, n - 1);
    } else {
      return fast::declined;
    }
    pages_ += after.pages - before.pages;
    runs_ = runs_ + after.runs - before.runs - (o.below && !cs.first ? 1u : 0u) - (o.above && !cs.last ? 1u : 0u);
    tree_.settle();
    return fast::done;
  }

  /// Reports the pages of [lo, hi] that the chunk v (at base) does not hold: what
  /// a grant of that window adds.
  template <class F>
  static void report_gaps(const view& v, page_t base, std::uint32_t lo, std::uint32_t hi, F& on_added) noexcept {
    report_gaps_of([&](auto&& g) noexcept { return detail::hyb::walk(v, lo, hi, g); }, base, lo, hi, on_added);
  }
  /// The same for a chunk whose runs walk(g) passes to g(first, last) ascending.
  template <class W, class F>
  static void report_gaps_of([[maybe_unused]] W&& walk, [[maybe_unused]] page_t base, [[maybe_unused]] std::uint32_t lo,
                             [[maybe_unused]] std::uint32_t hi, [[maybe_unused]] F& on_added) noexcept {
    if constexpr (reports<F>) {
      std::uint32_t cur = lo;
      walk([&](std::uint32_t f, std::uint32_t l) noexcept {
        if (l >= lo && f <= hi) {
          const std::uint32_t f2 = f > lo ? f : lo;
          if (f2 > cur) detail::notify(on_added, page_range{base + cur, base + f2 - 1});
          cur = l + 1;
        }
        return true;
      });
      if (cur <= hi) detail::notify(on_added, page_range{base + cur, base + hi});
    }
  }

  /// One page into a whole-chunk bitmap (strictly inside the chunk): the commonest
  /// grant of a fragmented build, done with a few bit tests.
  template <class F>
  fast grant_bitmap_page(header* h, std::uint32_t off, page_t page, F& on_added) noexcept {
    detail::word_t* w = detail::hyb::words_of<rep::bitmap>(h);
    const detail::word_t bit = detail::word_t{1} << (off & 63u);
    detail::word_t& word = w[off >> 6];
    if ((word & bit) != 0) return fast_of(tree_.prepare_reserve());
    const std::uint32_t joins = (detail::hyb::bitmap::test(w, off - 1) ? 1u : 0u) +
                                (detail::hyb::bitmap::test(w, off + 1) ? 1u : 0u);
    const stats now = h->counts();
    const stats after{now.pages + 1u, now.runs + 1u - joins, now.words + (word == 0 ? 1u : 0u)};
    // A bitmap in its smallest form stays so while no two runs join: every other
    // form's cost only grows with a page more (unless a refused conversion left
    // the set lax, when the chunk may not be in its smallest form).
    if ((joins == 2 || lax_) && detail::hyb::rep_for(after) != rep::bitmap) return fast::declined;
    if (tree_.prepare_reserve() != errc::ok) return fast::out_of_memory;
    word |= bit;
    h->set_counts(after);
    detail::notify(on_added, page_range::single(page));
    ++pages_;
    runs_ = runs_ + 1u - joins;
    return fast::done;
  }

  /// One page into a word list (strictly inside the chunk) that stays a word list
  /// and has room for a new word: one search for the page's word, the neighbouring
  /// bits, and at most one word inserted. A chunk filled in ascending order spends
  /// most of its filling as a word list, so this is the common grant of a sorted
  /// build. Declined (the general path) if the list must grow or convert.
  template <class F>
  fast grant_word_list_page(header* h, std::uint32_t off, page_t page, F& on_added) noexcept {
    const std::uint16_t* keys = detail::hyb::keys_of(h);
    const detail::word_t* w = detail::hyb::words_of<rep::word_list>(h);
    const stats now = h->counts();
    const std::uint32_t n = now.words, wi = off >> 6, b = off & 63u;
    // An ascending fill adds to the last word or after it: try that before searching.
    const std::uint32_t i = n != 0 && keys[n - 1] <= wi ? (keys[n - 1] == wi ? n - 1 : n)
                                                        : detail::hyb::lower_u16(keys, n, 1, wi);
    const bool present = i < n && keys[i] == wi;
    const detail::word_t x = present ? w[i] : 0;
    if (((x >> b) & 1u) != 0) return fast_of(tree_.prepare_reserve());
    // The pages on either side, in this word or the list's neighbouring entries.
    const bool below = b != 0 ? ((x >> (b - 1)) & 1u) != 0 : i > 0 && keys[i - 1] == wi - 1 && (w[i - 1] >> 63) != 0;
    const std::uint32_t next = present ? i + 1 : i;
    const bool above = b != 63 ? ((x >> (b + 1)) & 1u) != 0 : next < n && keys[next] == wi + 1 && (w[next] & 1u) != 0;
    const std::uint32_t joins = (below ? 1u : 0u) + (above ? 1u : 0u);
    const stats after{now.pages + 1u, now.runs + 1u - joins, now.words + (present ? 0u : 1u)};
    if (detail::hyb::rep_for(after) != rep::word_list ||
        !detail::hyb::capacity_fits(h->cap(), need_of(rep::word_list, after)))
      return fast::declined;
    if (tree_.prepare_reserve() != errc::ok) return fast::out_of_memory;
    detail::hyb::word_list::grant_between(h, off, off, i, present ? i + 1 : i);  // before set_counts: it reads n
    h->set_counts(after);
    detail::notify(on_added, page_range::single(page));
    ++pages_;
    runs_ = runs_ + 1u - joins;
    return fast::done;
  }

  /// The slot of the chunk at base in form `want` (inline_pages or a container
  /// kind) holding the runs source(emit) gives, whose counts are s: `fresh`, and in
  /// `h` the container allocated for it (nullptr if inline). False, with nothing
  /// allocated, if the allocator refused the container.
  template <class Source>
  [[nodiscard]] bool make_chunk_slot(page_t base, rep want, stats s, Source&& source, slot& fresh,
                                     header*& h) noexcept {
    h = nullptr;
    if (want == rep::inline_pages) {
      fresh = detail::hyb::inline_pages::pack(base, source);
      return true;
    }
    h = alloc_container(want, detail::hyb::grown_capacity(want, need_of(want, s)));
    if (h == nullptr) return false;
    detail::hyb::fill(h, source);
    fresh = slot{detail::hyb::container_bit | base, detail::hyb::address_of(h)};
    return true;
  }

  /// A grant into chunks that hold nothing, touching no granted page: the result
  /// in every chunk it covers is one run, whose cheapest form is a run slot, and
  /// the run slots of neighbouring chunks merge into one. So the whole grant is
  /// one new run slot, [r.first, r.last] (the common case for a new grant into a
  /// fresh part of the universe: a domain's first grants, W1, W2, W8).
  template <class F>
  fast grant_into_empty_chunks(page_range r, F& on_added) noexcept {
    const page_t hb = detail::hyb::base_of(r.first);
    const page_t tail_end = detail::hyb::base_of(r.last) + last_offset;  // last page of r's last chunk
    // The last slot keyed at or below the end of r's chunks must lie wholly below
    // r's first chunk: then no slot (run or container) has a page in those chunks.
    if (const cursor c = tree_.find_last_le(tail_end)) {
      const slot& s = tree_[c];
      if (s.is_run() ? s.tail >= hb : s.key() >= hb) return fast::declined;
      // A run ending just below r would merge with it.
      if (r.first == hb && r.first > 0 && (s.is_run() ? s.tail + 1 == r.first : contains_slow(r.first - 1)))
        return fast::declined;
    }
    // Past the last chunk, only a page at its very end has a neighbour outside.
    if (r.last == tail_end && r.last < max_page && contains_slow(r.last + 1)) return fast::declined;
    if (tree_.prepare_insert(r.first) != errc::ok) return fast::out_of_memory;
    detail::notify(on_added, r);
    tree_.insert(slot::run(r.first, r.last));
    pages_ += r.size();
    ++runs_;
    tree_.settle();
    return fast::done;
  }

  // ---- 1. plan ---------------------------------------------------------------------------

  /// Runs a run_slots chunk may hold, and so what a plan may merge and insert.
  static constexpr std::size_t max_part_runs = tuning::hybrid_max_index_runs;
  static constexpr std::size_t max_merges = 2 * max_part_runs + 1;  // head part, whole chunks, tail part
  static constexpr std::size_t max_new_slots = max_merges + 2;      // ...and one container slot per part

  /// What a grant does to one partly covered chunk.
  struct part {
    page_t base = 0;                   // the chunk's first page
    page_t key = 0;                    // the key of its slot afterwards (if it has one)
    std::uint32_t lo = 0, hi = 0;      // the granted offsets
    rep from = rep::empty;             // its representation before
    rep to = rep::empty;               // and after
    stats after;                       // its counts after
    std::uint32_t nruns = 0;           // to == run_slots: its runs after, as offsets
    std::uint32_t run_lo[max_part_runs] = {}, run_hi[max_part_runs] = {};
    // Filled by prepare:
    bool in_place = false;             // the same container, edited where it is
    header* fresh = nullptr;           // or a fresh container, filled
    slot fresh_inline{};               // or a fresh inline slot
    /// The chunk had no slot of its own (it was empty or run slots) and gets one.
    [[nodiscard]] bool needs_new_slot() const noexcept {
      return to != rep::run_slots && (from == rep::run_slots || from == rep::empty);
    }
  };

  /// Run lists short of their reserve (after a refused growth) and the larger copies
  /// prepared for them: made before anything changes, installed on commit, freed if
  /// the operation fails. The list of copies is itself allocated (it is needed only
  /// after memory pressure, and its length is not known in advance).
  struct repairs {
    header** fresh = nullptr;  // one larger copy per short run list, in index order
    std::size_t n = 0;         // copies made
    std::size_t len = 0;       // entries the list was allocated with
    std::size_t t = 1;         // the reserve count they are made for
  };

  /// Everything a grant that is not a fast path will do (kept in one place, each
  /// step in its own function, so that no stack frame grows large even unoptimised).
  struct grant_plan {
    part parts[2];                             // the partly covered chunks, ascending
    std::size_t nparts = 0;
    page_range mid = page_range::invalid();    // the whole chunks covered
    page_range merges[max_merges];             // runs to merge into the run slots, ascending
    std::size_t nmerges = 0;
    page_t keys[max_new_slots] = {};           // the key of every slot the grant may insert
    std::size_t nkeys = 0;
    repairs fix;                               // run lists short of their reserve, grown on commit
  };

  void make_plan(page_range r, grant_plan& plan) const noexcept {
    bool head_part = false, tail_part = false;
    const page_t hb = detail::hyb::base_of(r.first), tb = detail::hyb::base_of(r.last);
    if (r.first != hb || r.last - hb < last_offset) {
      plan.parts[plan.nparts++] = plan_part(hb, r.first, r.last - hb < last_offset ? r.last : hb + last_offset);
      head_part = true;
    }
    if (tb != hb && r.last - tb < last_offset) {
      plan.parts[plan.nparts++] = plan_part(tb, tb, r.last);
      tail_part = true;
    }
    // Whole chunks between the parts (2^63 is a multiple of the chunk size, so
    // hb + chunk_pages cannot overflow).
    const page_t mid_first = head_part ? hb + chunk_pages : r.first;
    const page_t mid_last = tail_part ? tb - 1 : r.last;
    if (mid_first <= mid_last) plan.mid = page_range{mid_first, mid_last};
    if (head_part) add_part_runs(plan, plan.parts[0]);
    if (plan.mid.valid()) add_merge(plan, plan.mid);
    if (tail_part) add_part_runs(plan, plan.parts[plan.nparts - 1]);
    for (std::size_t j = 0; j < plan.nmerges; ++j) add_key(plan, plan.merges[j].first);
    for (std::size_t i = 0; i < plan.nparts; ++i)
      if (plan.parts[i].needs_new_slot()) add_key(plan, plan.parts[i].key);
  }
  static void add_key(grant_plan& plan, page_t key) noexcept {
    PMEMPERM_ASSERT(plan.nkeys < max_new_slots);
    plan.keys[plan.nkeys++] = key;
  }
  static void add_merge(grant_plan& plan, page_range m) noexcept {
    if (plan.nmerges > 0 && plan.merges[plan.nmerges - 1].last + 1 >= m.first) {
      if (m.last > plan.merges[plan.nmerges - 1].last) plan.merges[plan.nmerges - 1].last = m.last;
    } else {
      PMEMPERM_ASSERT(plan.nmerges < max_merges);
      plan.merges[plan.nmerges++] = m;
    }
  }
  static void add_part_runs(grant_plan& plan, const part& x) noexcept {
    if (x.to != rep::run_slots) return;
    for (std::uint32_t j = 0; j < x.nruns; ++j) add_merge(plan, page_range{x.base + x.run_lo[j], x.base + x.run_hi[j]});
  }

  part plan_part(page_t base, page_t first, page_t last) const noexcept {
    part x;
    x.base = base;
    x.lo = static_cast<std::uint32_t>(first - base);
    x.hi = static_cast<std::uint32_t>(last - base);
    const cursor c = container_at(base);
    const stats before = chunk_stats(base, c);
    x.from = c ? view::of(tree_[c]).kind : (before.pages ? rep::run_slots : rep::empty);
    // Counts afterwards, from the window around [lo, hi] only.
    const std::uint32_t wlo = x.lo > 0 ? x.lo - 1 : 0, whi = x.hi < last_offset ? x.hi + 1 : x.hi;
    std::uint32_t old_pages = 0, touching = 0;
    chunk_walk(base, c, wlo, whi, [&](std::uint32_t f, std::uint32_t l) noexcept {
      ++touching;
      const std::uint32_t f2 = f < x.lo ? x.lo : f, l2 = l > x.hi ? x.hi : l;
      if (f2 <= l2) old_pages += l2 - f2 + 1;
      return true;
    });
    std::uint32_t old_words = 0;
    if (c) {
      old_words = detail::hyb::nonzero_words(view::of(tree_[c]), x.lo >> 6, x.hi >> 6);
    } else {
      detail::hyb::word_counter wc;
      chunk_walk(base, c, x.lo & ~63u, x.hi | 63u, [&](std::uint32_t f, std::uint32_t l) noexcept {
        wc.add(f, l);
        return true;
      });
      old_words = wc.words;
    }
    x.after.pages = before.pages + (x.hi - x.lo + 1) - old_pages;
    x.after.runs = before.runs + 1 - touching;
    x.after.words = before.words + ((x.hi >> 6) - (x.lo >> 6) + 1) - old_words;
    x.to = detail::hyb::rep_for(x.after);
    x.key = base;
    if (x.to == rep::inline_pages) {  // keyed by its lowest page
      std::uint32_t low = x.lo;
      chunk_walk(base, c, 0, x.lo, [&](std::uint32_t f, std::uint32_t) noexcept {
        low = f;
        return false;
      });
      x.key = base + low;
    }
    if (x.to == rep::run_slots) {
      union_of(x, c, [&](std::uint32_t f, std::uint32_t l) noexcept {
        PMEMPERM_ASSERT(x.nruns < max_part_runs);
        x.run_lo[x.nruns] = f;
        x.run_hi[x.nruns] = l;
        ++x.nruns;
      });
    }
    return x;
  }

  /// The chunk's runs after the grant: old runs (from the container at c or the run
  /// slots) joined with [lo, hi].
  template <class Emit>
  void union_of(const part& x, cursor c, Emit&& emit) const noexcept {
    detail::hyb::union_runs([&](auto&& f) noexcept { chunk_walk(x.base, c, 0, last_offset, f); }, x.lo, x.hi, emit);
  }

  // ---- 2. prepare ------------------------------------------------------------------------

  /// Every allocation the plan needs, all or nothing.
  errc prepare_plan(grant_plan& plan) noexcept {
    for (std::size_t i = 0; i < plan.nparts; ++i) {
      if (!prepare_part(plan.parts[i])) {
        for (std::size_t j = 0; j <= i; ++j) drop_fresh(plan.parts[j]);
        return errc::out_of_memory;
      }
    }
    // With no slot to insert, the reserve is still made full here: apply and
    // settle() must not be left to ask for it (a refusal there would leave a
    // successful grant with its reserve short).
    const auto prepare_index = [&]() noexcept {
      return plan.nkeys != 0 ? tree_.prepare_inserts(plan.keys, plan.nkeys, true) : tree_.prepare_reserve();
    };
    if (!prepare_repairs(plan.fix, reserve_count()) || prepare_index() != errc::ok) {
      drop_repairs(plan.fix);
      for (std::size_t j = 0; j < plan.nparts; ++j) drop_fresh(plan.parts[j]);
      return errc::out_of_memory;
    }
    return errc::ok;
  }

  /// Allocates and fills what the chunk needs afterwards. False on out_of_memory.
  bool prepare_part(part& x) noexcept {
    if (x.to == rep::run_slots) return true;
    const cursor c = container_at(x.base);
    if (x.to == rep::inline_pages) {
      x.fresh_inline = detail::hyb::inline_pages::pack(x.base, [&](auto&& emit) noexcept { union_of(x, c, emit); });
      return true;
    }
    const std::uint32_t need = need_of(x.to, x.after);
    const header* old = c && x.from == x.to ? detail::hyb::container_of(tree_[c]) : nullptr;
    if (old != nullptr && detail::hyb::capacity_fits(old->cap(), need)) {
      x.in_place = true;
      return true;
    }
    const std::uint32_t cap = detail::hyb::grown_capacity(x.to, need);
    header* h = alloc_container(x.to, cap);
    if (h == nullptr) return false;
    if (old != nullptr && detail::hyb::entries_in(old) <= cap) {  // the same kind, resized: copy, then edit the copy
      detail::hyb::copy_into(old, h);
      detail::hyb::grant_in_place(h, x.lo, x.hi);
    } else {
      detail::hyb::fill(h, [&](auto&& emit) noexcept { union_of(x, c, emit); });
    }
    x.fresh = h;
    return true;
  }

  void drop_fresh(part& x) noexcept {
    if (x.fresh != nullptr) free_container(x.fresh);
    x.fresh = nullptr;
  }

  /// A grant that adds nothing still leaves the reserve full. All or nothing.
  errc refill_reserve() noexcept {
    repairs fix;
    if (!prepare_repairs(fix, reserve_count())) return errc::out_of_memory;
    if (tree_.prepare_reserve() != errc::ok) {
      drop_repairs(fix);
      return errc::out_of_memory;
    }
    commit_repairs(fix);
    needy_ = false;
    return errc::ok;
  }

  /// Entries a container of kind k needs for counts s and a reserve of t revokes:
  /// a run list keeps one free pair per reserved revoke.
  [[nodiscard]] static std::uint32_t need_of(rep k, stats s, std::size_t t) noexcept {
    return detail::hyb::entries_needed(k, s) + (k == rep::run_list ? static_cast<std::uint32_t>(t - 1) : 0u);
  }
  [[nodiscard]] std::uint32_t need_of(rep k, stats s) const noexcept { return need_of(k, s, reserve_count()); }

  /// A run list with fewer than t free pairs.
  [[nodiscard]] static bool short_of_pairs(const slot& s, std::size_t t) noexcept {
    if (!s.is_container()) return false;
    const header* h = detail::hyb::container_of(s);
    return h->kind() == rep::run_list && h->cap() < need_of(rep::run_list, h->counts(), t);
  }

  /// Prepares a larger copy of every run list short of t free pairs (none unless a
  /// refused growth left one, or t grew). False on out_of_memory, nothing held.
  bool prepare_repairs(repairs& fix, std::size_t t) noexcept {
    fix = repairs{};
    fix.t = t;
    if (!needy_ && t <= reserve_count()) return true;
    std::size_t n = 0;
    for (cursor c = tree_.first(); c; c = tree_.next(c)) n += short_of_pairs(tree_[c], t) ? 1u : 0u;
    if (n == 0) return true;
    void* p = tree_.allocator().allocate(n * sizeof(header*), alignof(header*));
    if (p == nullptr) return false;
    fix.fresh = static_cast<header**>(p);
    fix.len = n;
    for (cursor c = tree_.first(); c; c = tree_.next(c)) {
      if (!short_of_pairs(tree_[c], t)) continue;
      const header* h = detail::hyb::container_of(tree_[c]);
      header* g = alloc_container(rep::run_list,
                                  detail::hyb::grown_capacity(rep::run_list, need_of(rep::run_list, h->counts(), t)));
      if (g == nullptr) {
        drop_repairs(fix);
        return false;
      }
      detail::hyb::copy_into(h, g);
      fix.fresh[fix.n++] = g;
    }
    return true;
  }
  void drop_repairs(repairs& fix) noexcept {
    for (std::size_t i = 0; i < fix.n; ++i) free_container(fix.fresh[i]);
    if (fix.fresh != nullptr) tree_.allocator().deallocate(fix.fresh, fix.len * sizeof(header*), alignof(header*));
    fix = repairs{};
  }
  /// Installs the prepared copies, in the order prepare_repairs() found their lists
  /// (nothing has moved since: only the index's spares may have changed).
  void commit_repairs(repairs& fix) noexcept {
    std::size_t i = 0;
    for (cursor c = tree_.first(); c && i < fix.n; c = tree_.next(c)) {
      slot& sl = tree_[c];
      if (!short_of_pairs(sl, fix.t)) continue;
      free_container(detail::hyb::container_of(sl));
      sl.tail = detail::hyb::address_of(fix.fresh[i++]);
    }
    PMEMPERM_ASSERT(i == fix.n);
    fix.n = 0;
    drop_repairs(fix);
  }

  // ---- 3. report -------------------------------------------------------------------------

  /// The old state of [r.first, r.last + 1]: pages of r granted, run starts.
  struct window_state {
    std::uint64_t pages = 0;
    std::uint64_t starts = 0;
    bool joined_below = false;  // r.first - 1 is granted
  };

  /// Measures the window of r before an edit, passing each granted piece inside r
  /// to each_piece (ascending, clipped to r).
  template <class G>
  window_state measure_window(page_range r, G&& each_piece) const noexcept {
    window_state st;
    const page_range window{r.first, r.last < max_page ? r.last + 1 : r.last};
    std::uint64_t pieces = 0;
    bool first_at_start = false;
    walk(window, [&](page_range p) noexcept {
      if (pieces++ == 0) first_at_start = p.first == r.first;
      if (p.first > r.last) return true;
      const page_range in{p.first, p.last > r.last ? r.last : p.last};
      st.pages += in.size();
      each_piece(in);
      return true;
    });
    each_piece.finish(r);
    st.joined_below = r.first > 0 && contains_slow(r.first - 1);
    st.starts = pieces - (first_at_start && st.joined_below ? 1u : 0u);
    return st;
  }

  /// Reports the gaps between the granted pieces of r: the pages a grant adds.
  template <class F>
  struct gap_reporter {
    F& on_added;
    page_t cur;  // the first page of r not yet accounted for
    void operator()(page_range in) noexcept {
      if constexpr (reports<F>) {
        if (in.first > cur) detail::notify(on_added, page_range{cur, in.first - 1});
        cur = in.last + 1;
      }
    }
    void finish(page_range r) noexcept {
      if constexpr (reports<F>) {
        if (cur <= r.last) detail::notify(on_added, page_range{cur, r.last});
      }
    }
  };

  /// Reports the granted pieces of r themselves: the pages a revoke removes.
  template <class F>
  struct piece_reporter {
    F& on_removed;
    void operator()(page_range in) noexcept {
      if constexpr (reports<F>) detail::notify(on_removed, in);
    }
    void finish(page_range) noexcept {}
  };

  // ---- 4. apply --------------------------------------------------------------------------

  /// Containers edited in place or replaced, container chunks that become runs
  /// removed, run chunks that become containers cleared, whole chunks cleared, then
  /// the run merges and the new container slots. Cannot fail.
  void apply_plan(grant_plan& plan) noexcept {
    for (std::size_t i = 0; i < plan.nparts; ++i) apply_part_containers(plan.parts[i]);
    if (plan.mid.valid()) erase_containers_within(plan.mid.first, plan.mid.last);
    for (std::size_t j = 0; j < plan.nmerges; ++j) merge_run(plan.merges[j]);
    for (std::size_t i = 0; i < plan.nparts; ++i) insert_part_slot(plan.parts[i]);
  }

  /// First step of applying a part: everything but inserting its new slot.
  void apply_part_containers(part& x) noexcept {
    const cursor c = container_at(x.base);
    if (!c) {
      if (x.to != rep::run_slots) clear_run_slots(x.base, x.base + last_offset);
      return;
    }
    slot& s = tree_[c];
    if (x.in_place) {
      detail::hyb::grant_in_place(detail::hyb::container_of(s), x.lo, x.hi);
      return;
    }
    if (s.is_container()) free_container(detail::hyb::container_of(s));
    if (x.to == rep::run_slots) {
      tree_.erase(c, 1);
      return;
    }
    replace_slot(c, slot_for(x));
  }

  void insert_part_slot(part& x) noexcept {
    if (x.needs_new_slot()) tree_.insert(slot_for(x));
  }

  [[nodiscard]] static slot slot_for(const part& x) noexcept {
    if (x.to == rep::inline_pages) return x.fresh_inline;
    return slot{detail::hyb::container_bit | x.base, detail::hyb::address_of(x.fresh)};
  }

  /// Removes the pages [a, b] held as run slots (a chunk's worth at most when used
  /// for a conversion, so no run slot spans past both ends: no split).
  void clear_run_slots(page_t a, page_t b) noexcept {
    cursor c = tree_.find_last_le(a);
    if (c && tree_[c].is_run() && tree_[c].head < a && tree_[c].tail >= a) {
      slot& s = tree_[c];
      PMEMPERM_ASSERT(s.tail <= b);  // a run across the whole chunk would make it full
      if (s.tail > b) return;
      s.tail = a - 1;
    }
    for (;;) {
      c = tree_.lower_bound(a);
      if (!c) return;
      slot& s = tree_[c];
      if (s.key() > b || !s.is_run()) return;  // a container in range is not ours to touch
      if (s.tail > b) {
        s.head = b + 1;
        tree_.key_raised(c);
        return;
      }
      std::size_t n = 1;
      const std::size_t run = index::run_in_leaf(c);
      while (n < run) {
        const slot& t = tree_[cursor{c.leaf, c.slot + n}];
        if (!t.is_run() || t.tail > b) break;
        ++n;
      }
      tree_.erase(c, n);
    }
  }

  /// Frees and removes every container slot of a chunk inside [a, b] (whole chunks).
  void erase_containers_within(page_t a, page_t b) noexcept {
    page_t from = a;
    for (;;) {
      cursor c = tree_.lower_bound(from);
      while (c && tree_[c].key() <= b && tree_[c].is_run()) c = tree_.next(c);
      if (!c || tree_[c].key() > b) return;
      const slot s = tree_[c];
      if (s.is_container()) free_container(detail::hyb::container_of(s));
      from = s.key();
      tree_.erase(c, 1);
    }
  }

  /// Adds the run m to the run slots, merging it with the ones it overlaps or
  /// touches. Needs at most one prepared insert.
  void merge_run(page_range m) noexcept {
    cursor c = tree_.find_last_le(m.first);
    if (c && !(tree_[c].is_run() && tree_[c].tail + 1 >= m.first)) c = tree_.next(c);
    if (!c) c = tree_.find_last_le(m.first) ? cursor{} : tree_.first();
    // c: the first slot that may touch m (a run), or the slot after m.
    if (!c || !tree_[c].is_run() || tree_[c].head > m.last + 1) {
      tree_.insert(slot::run(m.first, m.last));
      return;
    }
    page_t new_last = m.last;
    std::size_t touched = 0;
    for (cursor d = c; d && tree_[d].is_run() && tree_[d].head <= m.last + 1; d = tree_.next(d)) {
      if (tree_[d].tail > new_last) new_last = tree_[d].tail;
      ++touched;
    }
    slot& head = tree_[c];
    const page_t head_first = head.head < m.first ? head.head : m.first;
    const bool lowered = head_first < head.head;
    head.head = head_first;
    head.tail = new_last;
    if (lowered) tree_.key_lowered(c);
    tree_.erase_from(head_first + 1, touched - 1);
  }

  // ==== the revoke path ===============================================================

  /// What a split of a run needs and cannot get: the pages to drop instead. Either a
  /// whole victim (another slot of the index leaf, or another run of the run list),
  /// removed first, or (no victim) r widened to the smaller piece of the cut run.
  struct drop_choice {
    page_range victim = page_range::invalid();
    page_range widened = page_range::invalid();
  };

  template <class F>
  errc revoke_impl(page_range r, F& on_removed, bool exact, bool retried) noexcept {
    if (PMEMPERM_UNLIKELY(!r.valid())) return errc::invalid_range;
    if (const fast f = revoke_within_chunk(r, on_removed); f != fast::declined) return result_of(f);
    if (!contains_any_slow(r)) return errc::ok;
    errc result = errc::ok;
    page_range rr = r;
    // A revoke strictly inside one run splits it. If the reserve for that is spent,
    // ask for memory; only if that is refused may more pages go (revoke()), as few
    // as possible — or nothing changes (revoke_exact()).
    drop_choice drop;
    if (split_refused(r, drop)) {
      if (exact) return errc::out_of_memory;
      if (drop.victim.valid() && !retried) {
        // The victim goes first (it needs no split), which frees the place the
        // split needs; then the revoke is tried once more.
        static_cast<void>(revoke_impl(drop.victim, on_removed, true, true));
        remember_single_run();
        static_cast<void>(revoke_impl(r, on_removed, false, true));
        return errc::revoked_extra;
      }
      result = errc::revoked_extra;
      rr = drop.widened;
    }

    const window_state old = measure_window(rr, piece_reporter<F>{on_removed});
    remove_range(rr);
    const std::uint64_t starts_after = rr.last < max_page && contains_slow(rr.last + 1) ? 1u : 0u;
    pages_ -= old.pages;
    runs_ = runs_ + starts_after - old.starts;
    const page_t hb = detail::hyb::base_of(rr.first), tb = detail::hyb::base_of(rr.last);
    normalize(hb);
    if (tb != hb) normalize(tb);
    tree_.settle();
    return result;
  }

  /// Whether revoking r must split a run (a run slot, or a pair of a run list) and
  /// neither the reserve nor the allocator gives what that needs. Then `drop` says
  /// what to drop instead.
  bool split_refused(page_range r, drop_choice& drop) noexcept {
    const cursor c = tree_.find_last_le(r.first);
    if (!c) return false;
    const slot& s = tree_[c];
    if (s.is_run()) {
      std::size_t added = 0;
      if (s.head < r.first && s.tail > r.last && !tree_.insert_ready(r.last + 1) &&
          tree_.make_insert_ready(r.last + 1, added) != errc::ok) {
        drop = drop_for_slot_split(s, r);
        return true;
      }
      return false;
    }
    if (!s.is_container() || detail::hyb::base_of(r.first) != detail::hyb::base_of(r.last)) return false;
    const page_t base = s.chunk();
    const header* h = detail::hyb::container_of(s);
    const auto lo = static_cast<std::uint32_t>(r.first - base), hi = static_cast<std::uint32_t>(r.last - base);
    if (detail::hyb::revoke_splits(h, lo, hi) && h->cap() <= h->runs() && !grow_list(c)) {
      drop = drop_for_list_split(h, base, lo, hi);
      return true;
    }
    return false;
  }

  /// The fewest pages whose loss lets a run slot strictly around r be split
  /// without a node: its smaller piece, or a smaller slot of the leaf the new slot
  /// goes to (which frees a place there).
  [[nodiscard]] drop_choice drop_for_slot_split(const slot& s, page_range r) const noexcept {
    drop_choice d;
    const std::uint64_t below = r.first - s.head, above = s.tail - r.last;
    d.widened = below <= above ? page_range{s.head, r.last} : page_range{r.first, s.tail};
    std::uint64_t best = below <= above ? below : above;
    const cursor leaf = tree_.leaf_for(r.last + 1);
    for (std::size_t i = 0, n = index::leaf_size(leaf); i < n; ++i) {
      const slot& x = tree_[cursor{leaf.leaf, i}];
      if (x.key() == s.key()) continue;
      const std::uint64_t pages = x.is_run() ? x.tail - x.head + 1 : detail::hyb::stats_of(view::of(x)).pages;
      if (pages < best) {
        best = pages;
        d.victim = page_range{x.key(), x.end()};
      }
    }
    return d;
  }

  /// The same for a split inside the run list h of the chunk at base: the smaller
  /// piece, or a smaller other run of the list (which frees a pair).
  [[nodiscard]] static drop_choice drop_for_list_split(const header* h, page_t base, std::uint32_t lo,
                                                       std::uint32_t hi) noexcept {
    drop_choice d;
    const std::uint16_t* a = detail::hyb::keys_of(h);
    const std::uint32_t i = detail::hyb::run_list::find(h, lo);
    const std::uint32_t below = lo - a[2 * i], above = a[2 * i + 1] - hi;
    d.widened = below <= above ? page_range{base + a[2 * i], base + hi} : page_range{base + lo, base + a[2 * i + 1]};
    std::uint32_t best = below <= above ? below : above;
    for (std::uint32_t j = 0; j < h->runs(); ++j) {
      const std::uint32_t pages = a[2 * j + 1] - a[2 * j] + 1u;
      if (j != i && pages < best) {
        best = pages;
        d.victim = page_range{base + a[2 * j], base + a[2 * j + 1]};
      }
    }
    return d;
  }

  /// Gives the run list at c room for one more pair. False if memory was refused.
  bool grow_list(cursor c) noexcept {
    const header* h = detail::hyb::container_of(tree_[c]);
    const stats now = h->counts();
    const stats after{now.pages, now.runs + 1u, now.words};
    header* g = alloc_container(rep::run_list, detail::hyb::grown_capacity(rep::run_list, need_of(rep::run_list, after)));
    if (g == nullptr) return false;
    detail::hyb::copy_into(h, g);
    free_container(detail::hyb::container_of(tree_[c]));
    tree_[c].tail = detail::hyb::address_of(g);
    return true;
  }

  /// A revoke inside one chunk that needs no memory it does not have: the chunk's
  /// container, inline slot or run slots edited where they are (a split taking the
  /// reserve), then the chunk's representation checked.
  template <class F>
  fast revoke_within_chunk(page_range r, F& on_removed) noexcept {
    const page_t base = detail::hyb::base_of(r.first);
    if (detail::hyb::base_of(r.last) != base) return fast::declined;
    const cursor c = tree_.find_last_le(r.last);
    // No slot at or below r.last, or the last one ends below r: nothing of r is
    // granted (slots are disjoint and ordered).
    if (!c || tree_[c].end() < r.first) return fast::done;
    if (tree_[c].is_run()) return revoke_in_run_slot(c, r, on_removed);
    const auto lo = static_cast<std::uint32_t>(r.first - base), hi = static_cast<std::uint32_t>(r.last - base);
    slot& s = tree_[c];
    if (s.is_inline()) {
      const view v = view::of(s);
      const detail::hyb::census cs = detail::hyb::inline_pages::survey(v, lo, hi);
      if (cs.pages == 0) return fast::done;
      report_pieces(v, base, lo, hi, on_removed);
      const stats before = detail::hyb::inline_pages::counts(v);
      const stats after = detail::hyb::after_revoke(before, lo, hi, cs);
      count_revoke(base, lo, hi, cs, before, after);
      const slot rest = detail::hyb::inline_pages::without(s, lo, hi);
      if (rest.inline_count() == 0) {
        tree_.erase(c, 1);
      } else {
        replace_slot(c, rest);
        if (detail::hyb::rep_for(after) != rep::inline_pages) normalize(base);
      }
      tree_.settle();
      return fast::done;
    }
    header* h = detail::hyb::container_of(s);
    if (lo == hi && lo > 0 && hi < last_offset && h->kind() == rep::bitmap)
      return revoke_bitmap_page(c, h, lo, r.first, on_removed);
    if (h->kind() == rep::run_list && h->cap() <= h->runs() && detail::hyb::run_list::splits(h, lo, hi))
      return fast::declined;  // a split with no free pair: the general path asks for one
    report_pieces(view::of(h), base, lo, hi, on_removed);
    const stats before = h->counts();
    const detail::hyb::census cs = detail::hyb::revoke_counted(h, lo, hi);  // a no-op if cs.pages == 0
    if (cs.pages == 0) return fast::done;
    const stats after = h->counts();
    count_revoke(base, lo, hi, cs, before, after);
    if (after.pages == 0) {
      free_container(h);
      tree_.erase(c, 1);
      tree_.settle();
      return fast::done;
    }
    if (detail::hyb::rep_for(after) != h->kind() ||
        !detail::hyb::capacity_fits(h->cap(), need_of(h->kind(), after))) {
      normalize(base, c, after);
      tree_.settle();
    }
    return fast::done;
  }

  /// One page out of a whole-chunk bitmap (strictly inside the chunk), the mirror
  /// of grant_bitmap_page(): a few bit tests give the chunk's new counts. A bitmap
  /// needs no memory to lose a page; only if the chunk is now cheaper in another
  /// form is it converted (normalize(), which never fails).
  template <class F>
  fast revoke_bitmap_page(cursor c, header* h, std::uint32_t off, page_t page, F& on_removed) noexcept {
    detail::word_t* w = detail::hyb::words_of<rep::bitmap>(h);
    const detail::word_t bit = detail::word_t{1} << (off & 63u);
    detail::word_t& word = w[off >> 6];
    if ((word & bit) == 0) return fast::done;
    const bool below = detail::hyb::bitmap::test(w, off - 1), above = detail::hyb::bitmap::test(w, off + 1);
    word &= ~bit;
    const stats now = h->counts();
    // Runs: a page between two granted ones splits its run; a lone page was a run.
    const stats after{now.pages - 1u, now.runs + (below && above ? 1u : 0u) - (!below && !above ? 1u : 0u),
                      now.words - (word == 0 ? 1u : 0u)};
    h->set_counts(after);
    detail::notify(on_removed, page_range::single(page));
    --pages_;
    runs_ = runs_ + after.runs - now.runs;
    if (PMEMPERM_UNLIKELY(after.pages == 0)) {
      free_container(h);
      tree_.erase(c, 1);
      tree_.settle();
    } else if (detail::hyb::rep_for(after) != rep::bitmap) {
      normalize(detail::hyb::base_of(page), c, after);
      tree_.settle();
    }
    return fast::done;
  }

  /// The set's counts after revoking [lo, hi] from the chunk at base, whose own
  /// counts went from `before` to `after` (census cs, taken before).
  void count_revoke(page_t base, std::uint32_t lo, std::uint32_t hi, const detail::hyb::census& cs, stats before,
                    stats after) noexcept {
    pages_ -= cs.pages;
    runs_ = runs_ + after.runs - before.runs;
    if (PMEMPERM_UNLIKELY(lo == 0 || hi == last_offset)) {
      const outside o = outside_of(base, lo, hi);
      runs_ += (o.below && cs.first ? 1u : 0u) + (o.above && cs.last ? 1u : 0u);
    }
  }

  /// Reports the pages of [lo, hi] that the chunk v (at base) holds: what a revoke
  /// of that window removes.
  template <class F>
  static void report_pieces([[maybe_unused]] const view& v, [[maybe_unused]] page_t base,
                            [[maybe_unused]] std::uint32_t lo, [[maybe_unused]] std::uint32_t hi,
                            [[maybe_unused]] F& on_removed) noexcept {
    if constexpr (reports<F>) {
      detail::hyb::walk(v, lo, hi, [&](std::uint32_t f, std::uint32_t l) noexcept {
        detail::notify(on_removed, page_range{base + f, base + l});
        return true;
      });
    }
  }

  /// A revoke inside one chunk that meets the run slot at c (key <= r.last, end >=
  /// r.first) and no other slot. The chunk's runs afterwards are worked out from
  /// its run slots around c: if run slots are still its smallest form, the run is
  /// trimmed, erased or split (a split only if the reserve makes the insert ready);
  /// if not, and no run crosses the chunk's borders, the chunk's new container or
  /// inline slot takes the run slots' places (no insert at all); otherwise the
  /// slots are edited and the chunk converted as any other (normalize()).
  template <class F>
  fast revoke_in_run_slot(cursor c, page_range r, F& on_removed) noexcept {
    const slot s = tree_[c];
    if (s.head > r.first) {  // r may reach back over a gap to an earlier slot
      const cursor p = tree_.prev(c);
      if (p && tree_[p].end() >= r.first) return fast::declined;
    }
    const page_t base = detail::hyb::base_of(r.first), top = base + last_offset;
    const bool split = s.head < r.first && s.tail > r.last;
    // The chunk's run slots, ascending; `mine` is c's place among them.
    cursor at[max_part_runs];
    std::size_t n = 0;
    bool many = false;  // more than run slots may hold (a refused conversion left them)
    for (cursor d = c; d && tree_[d].is_run() && tree_[d].tail >= base; d = tree_.prev(d)) {
      if (n == max_part_runs) {
        many = true;
        break;
      }
      at[n++] = d;
    }
    for (std::size_t i = 0; i < n / 2; ++i) {
      const cursor t = at[i];
      at[i] = at[n - 1 - i];
      at[n - 1 - i] = t;
    }
    const std::size_t mine = n - 1;
    for (cursor d = tree_.next(c); !many && d && tree_[d].is_run() && tree_[d].head <= top; d = tree_.next(d)) {
      if (n == max_part_runs) {
        many = true;
        break;
      }
      at[n++] = d;
    }
    // The chunk's runs afterwards, as offsets.
    std::uint32_t pf[max_part_runs + 1], pl[max_part_runs + 1];
    std::size_t np = 0;
    bool crosses = false;
    detail::hyb::stats_builder sb;
    auto piece = [&](page_t a, page_t b) noexcept {
      pf[np] = static_cast<std::uint32_t>(a - base);
      pl[np] = static_cast<std::uint32_t>(b - base);
      sb.add(pf[np], pl[np]);
      ++np;
    };
    for (std::size_t i = 0; !many && i < n; ++i) {
      const slot& t = tree_[at[i]];
      crosses = crosses || t.head < base || t.tail > top;
      const page_t a = t.head > base ? t.head : base, b = t.tail < top ? t.tail : top;
      if (i != mine) {
        piece(a, b);
        continue;
      }
      if (a < r.first) piece(a, r.first - 1);
      if (b > r.last) piece(r.last + 1, b);
    }
    const rep want = many ? rep::run_slots : detail::hyb::rep_for(sb.s);
    bool convert = !many && !crosses && want != rep::run_slots && want != rep::empty;
    slot fresh{};
    if (convert) {
      auto source = [&](auto&& emit) noexcept {
        for (std::size_t i = 0; i < np; ++i) emit(pf[i], pl[i]);
      };
      header* h = nullptr;
      convert = make_chunk_slot(base, want, sb.s, source, fresh, h);  // refused: edit the run slots, normalize() tries again
    }
    if (!convert && split && !tree_.insert_ready(r.last + 1)) return fast::declined;

    const page_t f = s.head > r.first ? s.head : r.first, l = s.tail < r.last ? s.tail : r.last;
    detail::notify(on_removed, page_range{f, l});
    pages_ -= l - f + 1;
    // A run slot that starts or ends at a chunk border may continue in the
    // neighbouring chunk's container: cutting it there splits that run of the set.
    if (f == s.head && f > 0 && f == detail::hyb::base_of(f) && contains_slow(f - 1)) ++runs_;
    if (l == s.tail && l < max_page && l - detail::hyb::base_of(l) == last_offset && contains_slow(l + 1)) ++runs_;
    if (split) {
      ++runs_;
    } else if (s.head >= r.first && s.tail <= r.last) {
      --runs_;
    }
    if (convert) {
      replace_slot(at[0], fresh);  // its key is at or below the first run's
      if (n > 1) tree_.erase_from(fresh.key() + 1, n - 1);
    } else {
      slot& t = tree_[c];
      if (split) {
        t.tail = r.first - 1;
        tree_.insert(slot::run(r.last + 1, s.tail));
      } else if (s.head >= r.first && s.tail <= r.last) {
        tree_.erase(c, 1);
      } else if (s.head < r.first) {
        t.tail = r.first - 1;
      } else {
        t.head = r.last + 1;
        tree_.key_raised(c);
      }
      if (many || (want != rep::run_slots && want != rep::empty)) normalize(base);
    }
    tree_.settle();
    return fast::done;
  }

  /// Removes every page of r: run slots trimmed, split or erased, containers of
  /// whole chunks freed, the (at most two) partly covered containers edited in place.
  void remove_range(page_range r) noexcept {
    // The slot at or before r.first.
    cursor c = tree_.find_last_le(r.first);
    if (c) {
      slot& s = tree_[c];
      if (s.is_run() && s.tail >= r.first && s.head < r.first) {
        if (s.tail > r.last) {  // split (the reserve covers it)
          const slot right = slot::run(r.last + 1, s.tail);
          s.tail = r.first - 1;
          tree_.insert(right);
          return;
        }
        s.tail = r.first - 1;
      } else if (!s.is_run() && s.chunk() < r.first && s.end() >= r.first) {
        const page_t hi = r.last < s.end() ? r.last : s.end();
        revoke_in_chunk(c, static_cast<std::uint32_t>(r.first - s.chunk()), static_cast<std::uint32_t>(hi - s.chunk()));
        if (hi == r.last) return;
      }
    }
    // Slots starting inside r.
    page_t from = r.first;
    for (;;) {
      c = tree_.lower_bound(from);
      if (!c) return;
      slot& s = tree_[c];
      const page_t k = s.key();
      if (k > r.last) return;
      if (s.end() > r.last) {  // the last slot, partly covered
        if (s.is_run()) {
          s.head = r.last + 1;
          tree_.key_raised(c);
        } else {
          revoke_in_chunk(c, 0, static_cast<std::uint32_t>(r.last - s.chunk()));
        }
        return;
      }
      // Whole slots: erase as many as this leaf holds in a row.
      std::size_t n = 0;
      const std::size_t run = index::run_in_leaf(c);
      while (n < run) {
        const slot& t = tree_[cursor{c.leaf, c.slot + n}];
        if (t.end() > r.last) break;
        if (t.is_container()) free_container(detail::hyb::container_of(t));
        ++n;
      }
      tree_.erase(c, n);
    }
  }

  /// Revokes offsets [lo, hi] of the chunk held inline or in a container at c;
  /// removes its slot if it empties.
  void revoke_in_chunk(cursor c, std::uint32_t lo, std::uint32_t hi) noexcept {
    slot& s = tree_[c];
    if (s.is_inline()) {
      const slot rest = detail::hyb::inline_pages::without(s, lo, hi);
      if (rest.inline_count() == 0) {
        tree_.erase(c, 1);
        return;
      }
      replace_slot(c, rest);
      return;
    }
    header* h = detail::hyb::container_of(s);
    detail::hyb::revoke_in_place(h, lo, hi);
    if (h->pages() == 0) {
      free_container(h);
      tree_.erase(c, 1);
    }
  }

  /// Brings the chunk at base to its smallest representation (best effort).
  void normalize(page_t base) noexcept {
    const cursor c = container_at(base);
    normalize(base, c, chunk_stats(base, c));
  }
  /// The same, given the chunk's slot (container_at()) and counts.
  void normalize(page_t base, cursor c, stats s) noexcept {
    if (s.pages == 0) return;
    const rep now = c ? view::of(tree_[c]).kind : rep::run_slots;
    const rep want = detail::hyb::rep_for(s);
    auto source = [&](auto&& emit) noexcept {
      chunk_walk(base, c, 0, last_offset, [&](std::uint32_t f, std::uint32_t l) noexcept {
        emit(f, l);
        return true;
      });
    };
    if (want == now) {
      if (!c || !tree_[c].is_container()) return;
      header* h = detail::hyb::container_of(tree_[c]);
      const std::uint32_t need = need_of(now, s);
      if (detail::hyb::capacity_fits(h->cap(), need)) return;
      header* fresh = alloc_container(now, detail::hyb::grown_capacity(now, need));
      if (fresh == nullptr) {
        refused();
        return;
      }
      detail::hyb::copy_into(h, fresh);
      free_container(h);
      tree_[c].tail = detail::hyb::address_of(fresh);
      return;
    }
    if (want == rep::run_slots) {  // a container to at most max_part_runs run slots
      page_range runs[max_part_runs];
      page_t keys[max_part_runs];
      std::uint32_t n = 0;
      source([&](std::uint32_t f, std::uint32_t l) noexcept {
        PMEMPERM_ASSERT(n < max_part_runs);
        runs[n] = page_range{base + f, base + l};
        keys[n] = base + f;
        ++n;
      });
      if (tree_.prepare_inserts(keys, n) != errc::ok) {
        refused();
        return;
      }
      const cursor at = container_at(base);  // preparing may have moved the slot
      const slot old = tree_[at];
      if (old.is_container()) free_container(detail::hyb::container_of(old));
      tree_.erase(at, 1);
      for (std::uint32_t i = 0; i < n; ++i) merge_run(runs[i]);
      return;
    }
    slot fresh{};
    header* h = nullptr;
    if (!make_chunk_slot(base, want, s, source, fresh, h)) {
      refused();
      return;
    }
    if (c) {
      const slot old = tree_[c];
      if (old.is_container()) free_container(detail::hyb::container_of(old));
      replace_slot(c, fresh);
      return;
    }
    if (tree_.prepare_insert(fresh.key()) != errc::ok) {
      if (h != nullptr) free_container(h);
      refused();
      return;
    }
    clear_run_slots(base, base + last_offset);
    tree_.insert(fresh);
  }

  /// A conversion or resize was refused: the chunk stays in a larger or fuller exact
  /// form (which the checker then accepts), and a run list may lack free pairs (which
  /// the next grant repairs).
  void refused() noexcept {
    lax_ = true;
    needy_ = true;
  }

  // ==== walking the index =============================================================

  template <class F>
  bool walk(page_range w, F&& f) const noexcept {
    detail::run_builder rb;  // joins pieces from neighbouring slots into maximal runs
    auto emit = [&](page_range p) noexcept { return detail::visit(f, p); };
    cursor c = tree_.find_last_le(w.first);
    if (!c) c = tree_.first();
    for (; c; c = tree_.next(c)) {
      const slot& s = tree_[c];
      if (s.key() > w.last) break;
      if (s.end() < w.first) continue;
      if (s.is_run()) {
        if (!rb.feed_run(page_range{s.head > w.first ? s.head : w.first, s.tail < w.last ? s.tail : w.last}, emit))
          return false;
        continue;
      }
      const page_t k = s.chunk();
      const std::uint32_t lo = w.first > k ? static_cast<std::uint32_t>(w.first - k) : 0u;
      const std::uint32_t hi = w.last - k < last_offset ? static_cast<std::uint32_t>(w.last - k) : last_offset;
      if (!detail::hyb::walk(view::of(s), lo, hi, [&](std::uint32_t a, std::uint32_t b) noexcept {
            return rb.feed_run(page_range{k + a, k + b}, emit);
          }))
        return false;
    }
    return rb.finish(emit);
  }

  /// The slot of the chunk at base, if the chunk is held inline or in a container.
  [[nodiscard]] cursor container_at(page_t base) const noexcept {
    const cursor c = tree_.find_last_le(base + last_offset);
    if (c && !tree_[c].is_run() && tree_[c].chunk() == base) return c;
    return {};
  }

  /// Puts s in place of the slot at c, of the same chunk. Their keys may differ (an
  /// inline chunk's key is its lowest page), always within the chunk, where no
  /// other slot's key lies: the index only repairs its separators.
  void replace_slot(cursor c, const slot& s) noexcept {
    const page_t old = tree_[c].key();
    tree_[c] = s;
    if (s.key() < old) tree_.key_lowered(c);
    if (s.key() > old) tree_.key_raised(c);
  }

  /// Runs of the chunk at base, clipped to offsets [lo, hi], from the slot at c or
  /// (c empty) from the run slots.
  template <class F>
  bool chunk_walk(page_t base, cursor c, std::uint32_t lo, std::uint32_t hi, F&& f) const noexcept {
    if (c) return detail::hyb::walk(view::of(tree_[c]), lo, hi, f);
    const page_t a = base + lo, b = base + hi;
    cursor d = tree_.find_last_le(a);
    if (!d) d = tree_.first();
    for (; d; d = tree_.next(d)) {
      const slot& s = tree_[d];
      if (s.key() > b) break;
      if (!s.is_run() || s.tail < a) continue;
      const page_t f0 = s.head > a ? s.head : a;
      const page_t l0 = s.tail < b ? s.tail : b;
      if (!f(static_cast<std::uint32_t>(f0 - base), static_cast<std::uint32_t>(l0 - base))) return false;
    }
    return true;
  }

  [[nodiscard]] stats chunk_stats(page_t base, cursor c) const noexcept {
    if (c) return detail::hyb::stats_of(view::of(tree_[c]));
    detail::hyb::stats_builder sb;
    chunk_walk(base, c, 0, last_offset, [&](std::uint32_t f, std::uint32_t l) noexcept {
      sb.add(f, l);
      return true;
    });
    return sb.s;
  }

  /// A set of one run (a clean grant, the common case for a domain) is answered
  /// from a copy of that run, without touching the index.
  void remember_single_run() noexcept {
    one_ = page_range::invalid();
    if (runs_ == 1)
      walk(page_range{0, max_page}, [&](page_range p) noexcept {
        one_ = p;
        return false;
      });
  }

  /// The state of an empty set (after a move or clear; the index is already empty).
  void forget() noexcept {
    pages_ = 0;
    runs_ = 0;
    heap_ = 0;
    lax_ = false;
    needy_ = false;
    one_ = page_range::invalid();
  }

  // ==== memory ========================================================================

  header* alloc_container(rep k, std::uint32_t cap) noexcept {
    const std::size_t bytes = detail::hyb::container_bytes(k, cap);
    void* p = tree_.allocator().allocate(bytes, detail::hyb::container_align);
    if (p == nullptr) return nullptr;
    heap_ += bytes;
    header* h = ::new (p) header{};
    h->init(k, cap);
    return h;
  }
  void free_container(header* h) noexcept {
    const std::size_t bytes = detail::hyb::container_bytes(h->kind(), h->cap());
    heap_ -= bytes;
    tree_.allocator().deallocate(h, bytes, detail::hyb::container_align);
  }
  void free_containers() noexcept {
    for (cursor c = tree_.first(); c; c = tree_.next(c))
      if (tree_[c].is_container()) free_container(detail::hyb::container_of(tree_[c]));
  }

  // ==== checking ======================================================================

  bool check_container(const slot& s, std::size_t& heap) const noexcept {
    if (s.is_container() && !detail::hyb::is_container_kind(detail::hyb::container_of(s)->kind())) return false;
    const view v = view::of(s);
    detail::hyb::stats_builder sb;
    bool ordered = true;
    std::uint32_t prev_last = 0;
    bool any = false;
    detail::hyb::walk(v, 0, last_offset, [&](std::uint32_t f, std::uint32_t l) noexcept {
      if (f > l || (any && f <= prev_last + 1)) ordered = false;
      any = true;
      prev_last = l;
      sb.add(f, l);
      return true;
    });
    if (!ordered || sb.s.pages == 0) return false;
    if (s.is_inline()) return v.n >= 1 && v.n <= detail::hyb::inline_capacity && sb.s.pages == v.n;
    const header* h = v.h;
    if (!(sb.s == h->counts())) return false;
    if (detail::hyb::entries_in(h) > h->cap()) return false;
    if (h->kind() == rep::word_list) {
      const std::uint16_t* idx = detail::hyb::keys_of(h);
      const detail::word_t* w = detail::hyb::words_of(h);
      for (std::uint32_t i = 0; i < h->words(); ++i)
        if (w[i] == 0 || (i > 0 && idx[i] <= idx[i - 1])) return false;
    }
    heap += detail::hyb::container_bytes(h->kind(), h->cap());
    return true;
  }

  /// The chunks a slot belongs to are in their smallest representation.
  bool canonical_at(const slot& s) const noexcept {
    auto ok_at = [&](page_t p) noexcept {
      const page_t base = detail::hyb::base_of(p);
      const cursor c = container_at(base);
      const stats st = chunk_stats(base, c);
      const rep now = c ? view::of(tree_[c]).kind : rep::run_slots;
      if (detail::hyb::rep_for(st) != now) return false;
      if (c && tree_[c].is_container() &&
          !detail::hyb::capacity_fits(detail::hyb::container_of(tree_[c])->cap(), need_of(now, st)))
        return false;
      return true;
    };
    if (!s.is_run()) return ok_at(s.key());
    return ok_at(s.head) && ok_at(s.tail);
  }

  index tree_;
  std::uint64_t pages_ = 0;
  std::uint64_t runs_ = 0;
  std::size_t heap_ = 0;  // bytes of the containers
  bool lax_ = false;      // a refused allocation left some chunk in a larger exact form
  bool needy_ = false;    // ...possibly a run list with fewer free pairs than the reserve
  page_range one_ = page_range::invalid();  // the only run, when runs_ == 1
};

static_assert(page_set<hybrid<>>);

namespace detail::hyb {

/// What tests and the study may look at inside a hybrid, kept out of its public
/// interface.
struct inspector {
  /// The representation of the chunk holding page p (rep::empty if it holds none).
  template <class A>
  [[nodiscard]] static rep representation_at(const hybrid<A>& s, page_t p) noexcept {
    const page_t base = base_of(p);
    const auto c = s.container_at(base);
    if (c) return view::of(s.tree_[c]).kind;
    return s.chunk_stats(base, c).pages != 0 ? rep::run_slots : rep::empty;
  }
  /// Index slots in use.
  template <class A>
  [[nodiscard]] static std::size_t slot_count(const hybrid<A>& s) noexcept {
    return s.tree_.size();
  }
};

}  // namespace detail::hyb

}  // namespace pmemperm
