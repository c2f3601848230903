// pmemperm/backends/icl.hpp — icl_set: the Boost.ICL interval_set adapter, the
// reference and test oracle.
//
// icl_set<Alloc> keeps its pages in a boost::icl::interval_set<page_t> of closed
// intervals (ICL joins touching intervals, so its intervals are the maximal runs)
// and uses ICL's own add/subtract/contains/intersects algorithms, so the tests
// compare every backend with an implementation that shares none of their code.
// Closed intervals map page_range one to one; since max_page + 1 = 2^63 still fits
// in page_t, ICL's successor arithmetic and cardinality never wrap, even for a run
// ending at max_page or the whole page space.
// It is not a core header: it uses Boost, std::set and exceptions inside. Nothing
// escapes: every member is noexcept and reports allocation failure as
// errc::out_of_memory with the set unchanged.
//
// Memory: all of it — the std::set nodes and one bookkeeping block — comes from the
// instance's byte_allocator through a counting std allocator adapter, so
// memory_bytes() is exact. The block is allocated at the first grant and returned
// by clear(); construction never allocates. The adapter reaches the byte_allocator
// through that block, and a move only re-points the block at the new owner's
// allocator, so moves neither allocate nor invalidate anything.
//
// Failure: ICL's add allocates at most one node, as its very first step, before
// changing anything. ICL's subtract erases first and then inserts up to two
// remainders; icl_set allocates those nodes ahead (kept in the bookkeeping block
// and handed to the set when it asks), so subtract never allocates once started.
// Hence every failure is out_of_memory with nothing changed. Unlike the heap
// backends, a revoke here *can* fail with out_of_memory (when it must split a run
// and the allocator refuses): the oracle is not bound by the revoke rule.
//
// Complexity: the ICL costs — O(log n + k) for an edit touching k intervals,
// O(log n) for contains*, O(1) count() (cached, checked by check_invariants) and
// range_count(). One heap node per interval.
//
// Visitors see exactly the pages that change state (r minus the set for grant,
// r intersected with the set for revoke), computed from the set before ICL edits
// it; they run inside the call, once it can no longer fail, and must not access
// the set.
//
// Vocabulary: grant = add, revoke = subtract, contains_any = intersects, count =
// cardinality, range_count = iterative_size.
#pragma once

#include "../config.hpp"  // first: below C++20 it stops with one #error

#include <boost/icl/closed_interval.hpp>
#include <boost/icl/interval_set.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <new>
#include <set>
#include <type_traits>
#include <utility>

#include "../allocator.hpp"
#include "../detail/recorded_reserve.hpp"
#include "../detail/visitor.hpp"
#include "../page_set.hpp"
#include "../types.hpp"

namespace pmemperm {
namespace detail {

/// Bookkeeping shared by an icl_set and the std allocators inside its std::set.
template <class Alloc>
struct icl_books {
  Alloc* alloc;             ///< the owning icl_set's allocator (re-pointed on move)
  std::size_t bytes;        ///< held from *alloc, this block included
  std::size_t node_bytes;   ///< size and alignment of the set's nodes, learnt from
  std::size_t node_align;   ///< the first node allocation (0 until then)
  void* spare[2];           ///< nodes allocated ahead for a subtract
  unsigned spares;
};

/// A std allocator over a byte_allocator, counting into icl_books. It throws
/// std::bad_alloc when the byte_allocator returns nullptr; icl_set catches it.
template <class T, class Alloc>
class icl_std_allocator {
 public:
  using value_type = T;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_copy_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;
  using is_always_equal = std::false_type;

  /// Only for the moment ICL default-constructs its std::set; icl_set replaces
  /// it before anything is allocated. Allocating through it throws.
  icl_std_allocator() noexcept = default;
  explicit icl_std_allocator(icl_books<Alloc>* b) noexcept : books_(b) {}
  template <class U>
  icl_std_allocator(const icl_std_allocator<U, Alloc>& o) noexcept : books_(o.books()) {}

  [[nodiscard]] T* allocate(std::size_t n) {
    if (books_ == nullptr || n > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
    const std::size_t bytes = n * sizeof(T);
    if (books_->spares > 0 && bytes == books_->node_bytes && alignof(T) == books_->node_align)
      return static_cast<T*>(books_->spare[--books_->spares]);
    void* p = books_->alloc->allocate(bytes, alignof(T));
    if (p == nullptr) throw std::bad_alloc();
    books_->bytes += bytes;
    if (n == 1 && books_->node_bytes == 0) {
      books_->node_bytes = bytes;
      books_->node_align = alignof(T);
    }
    return static_cast<T*>(p);
  }

  void deallocate(T* p, std::size_t n) noexcept {
    books_->alloc->deallocate(p, n * sizeof(T), alignof(T));
    books_->bytes -= n * sizeof(T);
  }

  [[nodiscard]] icl_books<Alloc>* books() const noexcept { return books_; }

  template <class U>
  friend bool operator==(const icl_std_allocator& a, const icl_std_allocator<U, Alloc>& b) noexcept {
    return a.books() == b.books();
  }

 private:
  icl_books<Alloc>* books_ = nullptr;
};

}  // namespace detail

/// Boost.ICL's interval_set behind the page_set interface: see the header comment.
/// n below is the number of stored intervals (maximal runs). revoke_exact, reserve
/// and reserve_count come from detail::recorded_reserve: revoke_exact is revoke
/// (already exact or nothing), reserve(n) only records n, O(1), always ok.
template <byte_allocator Alloc = new_allocator>
class icl_set : public detail::recorded_reserve<icl_set<Alloc>> {
  template <class T>
  using std_alloc = detail::icl_std_allocator<T, Alloc>;
  using interval = boost::icl::closed_interval<page_t, std::less>;
  using base_set = boost::icl::interval_set<page_t, std::less, interval, std_alloc>;

  /// The interval_set, built around a std::set that uses the counting adapter
  /// (interval_set has no allocator constructor; its std::set is protected).
  struct impl_set : base_set {
    explicit impl_set(detail::icl_books<Alloc>* b) {
      using std_set = typename base_set::ImplSetT;
      this->_set = std_set(typename std_set::key_compare(), typename std_set::allocator_type(b));
    }
    [[nodiscard]] const typename base_set::ImplSetT& raw() const noexcept { return this->_set; }
    /// ICL's free functions are declared for interval_set itself, not derived types.
    [[nodiscard]] const base_set& icl() const noexcept { return *this; }
  };

  struct state {
    detail::icl_books<Alloc> books;
    impl_set set;
  };

 public:
  /// The allocator of the nodes and the bookkeeping block.
  using allocator_type = Alloc;

  /// An empty set. O(1), never allocates.
  icl_set() noexcept
    requires std::is_nothrow_default_constructible_v<Alloc>
  = default;
  /// An empty set allocating from a. O(1), never allocates.
  explicit icl_set(Alloc a) noexcept : alloc_(static_cast<Alloc&&>(a)) {}

  /// Not copyable: copying allocates and could fail; use assign().
  icl_set(const icl_set&) = delete;
  /// Not copyable: use assign().
  icl_set& operator=(const icl_set&) = delete;

  /// Takes o's intervals and allocator (the bookkeeping block is re-pointed at this
  /// object's allocator); o is left empty. O(1), never allocates.
  icl_set(icl_set&& o) noexcept
      : alloc_(static_cast<Alloc&&>(o.alloc_)), st_(std::exchange(o.st_, nullptr)), count_(std::exchange(o.count_, 0)) {
    if (st_ != nullptr) st_->books.alloc = &alloc_;
  }

  /// Frees this set's memory, then takes o's as the move constructor does. O(n).
  icl_set& operator=(icl_set&& o) noexcept {
    if (this != &o) {
      release();
      alloc_ = static_cast<Alloc&&>(o.alloc_);
      st_ = std::exchange(o.st_, nullptr);
      count_ = std::exchange(o.count_, 0);
      if (st_ != nullptr) st_->books.alloc = &alloc_;
    }
    return *this;
  }

  /// Returns every node and the bookkeeping block. O(n).
  ~icl_set() { release(); }

  /// Become a copy of o: built aside with this allocator, then swapped in.
  /// O(n log n). out_of_memory: nothing changed (strong guarantee).
  errc assign(const icl_set& o) noexcept {
    if (this == &o) return errc::ok;
    if (o.st_ == nullptr || o.count_ == 0) {
      release();
      return errc::ok;
    }
    state* fresh = make_state();
    if (fresh == nullptr) return errc::out_of_memory;
    try {
      auto hint = fresh->set.end();
      for (const interval& i : o.st_->set) hint = fresh->set.add(hint, i);
    } catch (const std::bad_alloc&) {
      destroy_state(fresh);
      return errc::out_of_memory;
    }
    release();
    st_ = fresh;
    count_ = o.count_;
    return errc::ok;
  }

  /// grant(r, on_added) without a visitor.
  errc grant(page_range r) noexcept { return grant(r, [](page_range) noexcept {}); }

  /// ICL add; on_added(page_range) sees r minus what was granted before, run by run
  /// (its result is ignored). O(log n + intervals r joins). invalid_range or
  /// out_of_memory (the first grant's block or the one new node refused): nothing
  /// changed, no visitor call.
  template <range_visitor F>
  errc grant(page_range r, F&& on_added) noexcept {
    if (!r.valid()) return errc::invalid_range;
    const bool fresh_state = st_ == nullptr;
    if (fresh_state && (st_ = make_state()) == nullptr) return errc::out_of_memory;
    const interval itv(r.first, r.last);
    const auto [lo, hi] = st_->set.equal_range(itv);
    if (lo == hi) {
      // Nothing of r is granted: ICL inserts one node first, which is the only
      // thing that can fail.
      try {
        st_->set.add(itv);
      } catch (const std::bad_alloc&) {
        if (fresh_state) {
          destroy_state(st_);
          st_ = nullptr;
        }
        return errc::out_of_memory;
      }
      count_ += r.size();
      detail::notify(on_added, r);
      return errc::ok;
    }
    // r overlaps stored intervals: ICL joins them in place and allocates nothing,
    // so the gaps can be reported before the add.
    std::uint64_t added = 0;
    page_t cursor = r.first;
    for (auto it = lo; it != hi; ++it) {
      if (it->lower() > cursor) {
        detail::notify(on_added, page_range{cursor, it->lower() - 1});
        added += it->lower() - cursor;
      }
      cursor = it->upper() + 1;
    }
    if (cursor <= r.last) {
      detail::notify(on_added, page_range{cursor, r.last});
      added += r.last - cursor + 1;
    }
    try {
      st_->set.add(itv);
    } catch (const std::bad_alloc&) {
      PMEMPERM_ASSERT(false);  // ICL's joining add does not allocate
      return errc::out_of_memory;
    }
    count_ += added;
    return errc::ok;
  }

  /// revoke(r, on_removed) without a visitor.
  errc revoke(page_range r) noexcept { return revoke(r, [](page_range) noexcept {}); }

  /// ICL subtract; on_removed(page_range) sees r intersected with what was granted,
  /// run by run (its result is ignored). O(log n + intervals r meets). The oracle is
  /// not bound by the revoke rule: invalid_range, or out_of_memory when a split's
  /// nodes are refused, both with nothing changed and no visitor call; never
  /// revoked_extra.
  template <range_visitor F>
  errc revoke(page_range r, F&& on_removed) noexcept {
    if (!r.valid()) return errc::invalid_range;
    if (st_ == nullptr) return errc::ok;
    const interval itv(r.first, r.last);
    const auto [lo, hi] = st_->set.equal_range(itv);
    if (lo == hi) return errc::ok;
    // The remainders subtract will insert: the parts of the first and last
    // overlapped intervals outside r.
    auto last_it = hi;
    --last_it;
    const unsigned needed = (lo->lower() < r.first ? 1u : 0u) + (last_it->upper() > r.last ? 1u : 0u);
    if (!reserve_spares(needed)) return errc::out_of_memory;
    std::uint64_t removed = 0;
    for (auto it = lo; it != hi; ++it) {
      const page_range x{it->lower() < r.first ? r.first : it->lower(), it->upper() > r.last ? r.last : it->upper()};
      detail::notify(on_removed, x);
      removed += x.size();
    }
    try {
      st_->set.subtract(itv);
    } catch (const std::bad_alloc&) {
      PMEMPERM_ASSERT(false);  // the spares cover every node subtract inserts
      release_spares();
      return errc::out_of_memory;
    }
    release_spares();
    count_ -= removed;
    return errc::ok;
  }

  // revoke_exact, reserve and reserve_count: detail::recorded_reserve (a revoke here
  // is already exact or out_of_memory with nothing changed).

  /// Always false: the oracle holds no revoke reserve. O(1).
  [[nodiscard]] bool reserve_full() const noexcept { return false; }
  /// One node per run and one bookkeeping block, which an empty set gives back.
  /// O(1), always ok.
  errc shrink_to_fit() noexcept {
    if (count_ == 0) release();
    return errc::ok;
  }

  /// Empty the set and return all its memory. O(n), cannot fail.
  void clear() noexcept { release(); }

  /// No page is granted. O(1).
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }

  /// Page p is granted. O(log n).
  [[nodiscard]] bool contains(page_t p) const noexcept {
    return st_ != nullptr && p <= max_page && boost::icl::contains(st_->set.icl(), p);
  }

  /// Every page of r is granted; false for an invalid r. O(log n).
  [[nodiscard]] bool contains_all(page_range r) const noexcept {
    return st_ != nullptr && r.valid() && boost::icl::contains(st_->set.icl(), interval(r.first, r.last));
  }

  /// Some page of r is granted; false for an invalid r. O(log n).
  [[nodiscard]] bool contains_any(page_range r) const noexcept {
    return st_ != nullptr && r.valid() && boost::icl::intersects(st_->set.icl(), interval(r.first, r.last));
  }

  /// Pages granted (cached). O(1).
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }

  /// Intervals stored, i.e. maximal runs. O(1).
  [[nodiscard]] std::size_t range_count() const noexcept {
    return st_ == nullptr ? 0 : st_->set.iterative_size();
  }

  /// Bytes held from the allocator: nodes and the bookkeeping block. O(1).
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return st_ == nullptr ? 0 : st_->books.bytes; }

  /// f(page_range) on each interval, ascending; f returns void, or bool (false
  /// stops the walk and makes this return false). O(n). Cannot fail.
  template <range_visitor F>
  [[nodiscard]] bool for_each_range(F&& f) const noexcept {
    if (st_ == nullptr) return true;
    for (const interval& i : st_->set)
      if (!detail::visit(f, page_range{i.lower(), i.upper()})) return false;
    return true;
  }

  /// Like for_each_range(f), over the intervals meeting window, clipped to it; an
  /// invalid window meets nothing (returns true). O(log n + intervals visited).
  template <range_visitor F>
  [[nodiscard]] bool for_each_range(page_range window, F&& f) const noexcept {
    if (st_ == nullptr || !window.valid()) return true;
    const auto [lo, hi] = st_->set.equal_range(interval(window.first, window.last));
    for (auto it = lo; it != hi; ++it) {
      const page_range x{it->lower() < window.first ? window.first : it->lower(),
                         it->upper() > window.last ? window.last : it->upper()};
      if (!detail::visit(f, x)) return false;
    }
    return true;
  }

  /// Intervals are non-empty, within [0, max_page], ascending and separated by at
  /// least one page (so maximal); the cached count equals ICL's cardinality; no
  /// spare nodes are left over; the byte count covers at least the books. False
  /// means a bug. O(n).
  [[nodiscard]] bool check_invariants() const noexcept {
    if (st_ == nullptr) return count_ == 0;
    std::uint64_t pages = 0;
    bool first = true;
    page_t prev_upper = 0;
    for (const interval& i : st_->set.raw()) {
      if (i.lower() > i.upper() || i.upper() > max_page) return false;
      if (!first && i.lower() <= prev_upper + 1) return false;
      pages += i.upper() - i.lower() + 1;
      prev_upper = i.upper();
      first = false;
    }
    return pages == count_ && boost::icl::cardinality(st_->set.icl()) == count_ && st_->books.spares == 0 &&
           st_->books.bytes >= sizeof(state);
  }

 private:
  [[nodiscard]] state* make_state() noexcept {
    void* p = alloc_.allocate(sizeof(state), alignof(state));
    if (p == nullptr) return nullptr;
    auto* s = static_cast<state*>(p);
    ::new (static_cast<void*>(&s->books)) detail::icl_books<Alloc>{&alloc_, sizeof(state), 0, 0, {nullptr, nullptr}, 0};
    try {
      ::new (static_cast<void*>(&s->set)) impl_set(&s->books);
    } catch (const std::bad_alloc&) {
      alloc_.deallocate(p, sizeof(state), alignof(state));
      return nullptr;
    }
    return s;
  }

  void destroy_state(state* s) noexcept {
    s->set.~impl_set();
    alloc_.deallocate(s, sizeof(state), alignof(state));
  }

  void release() noexcept {
    if (st_ != nullptr) {
      destroy_state(st_);
      st_ = nullptr;
    }
    count_ = 0;
  }

  /// Allocate n (<= 2) nodes ahead for the set to take; false, with nothing held,
  /// if the allocator refuses.
  [[nodiscard]] bool reserve_spares(unsigned n) noexcept {
    detail::icl_books<Alloc>& b = st_->books;
    PMEMPERM_ASSERT(n <= 2 && b.spares == 0 && (n == 0 || b.node_bytes != 0));
    while (b.spares < n) {
      void* p = alloc_.allocate(b.node_bytes, b.node_align);
      if (p == nullptr) {
        release_spares();
        return false;
      }
      b.bytes += b.node_bytes;
      b.spare[b.spares++] = p;
    }
    return true;
  }

  void release_spares() noexcept {
    detail::icl_books<Alloc>& b = st_->books;
    while (b.spares > 0) {
      alloc_.deallocate(b.spare[--b.spares], b.node_bytes, b.node_align);
      b.bytes -= b.node_bytes;
    }
  }

  [[no_unique_address]] Alloc alloc_{};
  state* st_ = nullptr;
  std::uint64_t count_ = 0;
};

static_assert(page_set<icl_set<>>);

}  // namespace pmemperm
