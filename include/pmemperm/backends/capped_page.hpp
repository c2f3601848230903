// pmemperm/backends/capped_page.hpp — a domain's whole grant in one 4 KiB page.
//
// capped_page is a range set that never allocates: its maximal runs sit in a sorted
// array inside the object, and the object is exactly one 4 KiB page (size and
// alignment). A hypervisor reserves one page per domain up front and constructs the
// set there; from then on no operation needs memory. The price is a fixed capacity
// of 255 runs.
//
// Complexity: every query is one binary search, O(log n) with n <= 255. grant and
// revoke find their place the same way, visit the runs they merge or cut, and then
// shift the tail of the array with one memmove inside the page (at most 4 KiB): that
// shift is the documented exception to the O(log n) rule.
//
// Failure behaviour:
//  - an invalid range returns invalid_range and changes nothing;
//  - the page keeps reserve_count() entries free for revokes that cut a run in two:
//    a grant whose result would leave fewer free entries returns capacity_exceeded,
//    changes nothing and calls no visitor. Unlike the heap backends, whose reserve
//    costs a node, a capped page's reserve costs capacity, so by default it keeps
//    none (all 255 entries can be granted) and reserve(n) opts in;
//  - revoke_exact() removes exactly r, or returns capacity_exceeded with nothing
//    changed when r cuts a run in two on a full page;
//  - revoke() never fails. In that same case it also drops the fewest pages that
//    make the result fit — the smaller piece of the cut run, or the smallest other
//    run on the page, whichever holds fewer — returns revoked_extra and reports
//    the dropped pages with the revoked ones. After any revoke no page of r is
//    granted. This can only happen once the reserve has been spent by earlier cuts.
//
// Visitors are called once the operation is known to succeed, in ascending order,
// before the page is rewritten; they must not call back into the same set.
#pragma once

#include "../config.hpp"  // first: below C++20 it stops with one #error

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>  // placement new, the documented way to build one in caller storage
#include <type_traits>

#include "../detail/visitor.hpp"
#include "../page_set.hpp"
#include "../types.hpp"

namespace pmemperm {
namespace detail {

inline constexpr std::size_t capped_page_bytes = 4096;

/// One stored run, inclusive on both ends. Unlike page_range it has no default
/// member initializers, so constructing an empty page does not write the array.
struct capped_run {
  page_t first;
  page_t last;
};

/// The visitor used by grant(r) and revoke(r) without one.
struct ignore_ranges {
  /// Does nothing.
  constexpr void operator()(page_range) const noexcept {}
};

}  // namespace detail

/// A page_set held entirely in one 4 KiB page; no heap, no allocator.
///
/// Page layout (byte offsets, host byte order):
///
///     struct capped_page {                 // sizeof 4096, alignof 4096
///       uint32_t used;                     //    0: runs in use, 0 ... 255
///       uint32_t reserve;                  //    4: entries kept free for revokes
///       uint64_t pages;                    //    8: pages in all runs, i.e. count()
///       struct { uint64_t first, last; }   //   16: inclusive runs, ascending,
///           runs[255];                     //       disjoint and never adjacent;
///     };                                   //       only runs[0 ... used) is meaningful
///
/// Slots past `used` hold whatever was there before (construction writes only the
/// 16-byte header), and moves and assign() copy only the used part.
///
/// Placing it in caller storage: the storage must be 4096 bytes aligned to 4096 (a
/// page frame is). Construct with placement new; the type is trivially destructible,
/// so the page can simply be reused or returned afterwards:
///
///     void* frame = my_page_pool_take();                    // embedder's own pool
///     auto* set = ::new (frame) pmemperm::capped_page();    // cannot fail
///     ...
///     set->~capped_page();                                  // optional: trivial
///
/// Being an object of its own, it can equally be a member, a static, or (outside
/// code built with -Wframe-larger-than=1024) a local.
class alignas(detail::capped_page_bytes) capped_page final {
  using run = detail::capped_run;
  static constexpr std::size_t header_bytes = 16;

 public:
  /// Bytes the whole set occupies: one page.
  static constexpr std::size_t page_bytes = detail::capped_page_bytes;
  /// The most runs the page can hold.
  static constexpr std::size_t capacity = (page_bytes - header_bytes) / sizeof(run);

  /// An empty set with no reserve. Writes only the header: O(1), cannot fail.
  capped_page() noexcept : used_(0), reserve_(0), pages_(0) {}

  /// Copying is assign(), like every backend; moving copies the used part and
  /// leaves `other` empty, so a stale copy of a domain's grant cannot survive.
  capped_page(const capped_page&) = delete;
  /// Not copyable: use assign().
  capped_page& operator=(const capped_page&) = delete;
  /// Copies other's runs and reserve count, then empties other (its reserve count
  /// stays). O(runs), cannot fail.
  capped_page(capped_page&& other) noexcept : used_(0), reserve_(other.reserve_), pages_(0) {
    copy_from(other);
    other.clear();
  }
  /// Copies other's runs and reserve count, then empties other (its reserve count
  /// stays). O(runs), cannot fail.
  capped_page& operator=(capped_page&& other) noexcept {
    if (this != &other) {
      copy_from(other);
      reserve_ = other.reserve_;
      other.clear();
    }
    return *this;
  }
  /// Trivial: the page can be reused without calling it.
  ~capped_page() = default;

  /// Become a copy of `other`'s runs (this set's reserve count is kept). O(runs);
  /// always ok: both sets have the same capacity.
  errc assign(const capped_page& other) noexcept {
    if (this != &other) copy_from(other);
    return errc::ok;
  }

  // ---- grant -------------------------------------------------------------------

  /// grant(r, on_added) without a visitor.
  errc grant(page_range r) noexcept { return grant(r, detail::ignore_ranges{}); }

  /// Add r; on_added(page_range) gets each maximal run of pages r adds (its result
  /// is ignored). O(log n + runs r fuses) plus one shift of the array tail. Errors,
  /// all with nothing changed and no visitor call: invalid_range; capacity_exceeded
  /// when the result would leave fewer than reserve_count() entries free.
  template <range_visitor F>
  errc grant(page_range r, F&& on_added) noexcept {
    if (!r.valid()) return errc::invalid_range;
    // Runs overlapping r or touching it end to end all fuse with it into one run.
    const std::uint32_t lo = first_ending_at_or_after(r.first == 0 ? 0 : r.first - 1);
    const std::uint32_t hi = first_starting_after(r.last + 1, lo);  // r.last + 1 <= 2^63
    // The result holds used_ - (hi - lo) + 1 runs and must leave the reserve free.
    if (used_ - (hi - lo) + 1u + reserve_ > capacity) return errc::capacity_exceeded;

    // The new pages are the gaps of r between the fused runs; report them while the
    // runs are still in place.
    std::uint64_t added = 0;
    page_t next = r.first;  // lowest page of r not yet known to be granted
    for (std::uint32_t i = lo; i < hi; ++i) {
      const run& cur = runs_[i];
      if (cur.first > next && next <= r.last) {
        const page_t end = cur.first - 1 < r.last ? cur.first - 1 : r.last;
        detail::notify(on_added, page_range{next, end});
        added += end - next + 1;
      }
      if (cur.last + 1 > next) next = cur.last + 1;
    }
    if (next <= r.last) {
      detail::notify(on_added, page_range{next, r.last});
      added += r.last - next + 1;
    }
    // Nothing new means r lay inside one run already; the page stays untouched.
    if (added == 0) return errc::ok;

    run fused{r.first, r.last};
    if (lo != hi) {
      if (runs_[lo].first < fused.first) fused.first = runs_[lo].first;
      if (runs_[hi - 1].last > fused.last) fused.last = runs_[hi - 1].last;
    }
    replace(lo, hi, &fused, 1);
    pages_ += added;
    return errc::ok;
  }

  // ---- revoke ------------------------------------------------------------------

  /// revoke(r, on_removed) without a visitor.
  errc revoke(page_range r) noexcept { return revoke(r, detail::ignore_ranges{}); }

  /// revoke_exact(r, on_removed) without a visitor.
  errc revoke_exact(page_range r) noexcept { return revoke_exact(r, detail::ignore_ranges{}); }

  /// Removes exactly r, like revoke(r, on_removed) (same cost); never revoked_extra.
  /// Errors, nothing changed and no visitor call: invalid_range; capacity_exceeded
  /// when r cuts a run in two and the page has no free entry.
  template <range_visitor F>
  errc revoke_exact(page_range r, F&& on_removed) noexcept {
    if (!r.valid()) return errc::invalid_range;
    if (cuts_full_page(r)) return errc::capacity_exceeded;
    return revoke(r, on_removed);
  }

  /// Keeps `revokes` entries free, so that many revokes are exact; 0 returns to the
  /// default, none. O(1). capacity_exceeded (nothing changed) if fewer entries are
  /// free now.
  errc reserve(std::size_t revokes) noexcept {
    const std::size_t t = revokes;
    if (t > capacity - used_) return errc::capacity_exceeded;
    reserve_ = static_cast<std::uint32_t>(t);
    return errc::ok;
  }
  /// Entries kept free for revokes (what reserve() set). O(1).
  [[nodiscard]] std::size_t reserve_count() const noexcept { return reserve_; }
  /// Whether the next reserve_count() revokes are exact (enough entries free). O(1).
  [[nodiscard]] bool reserve_full() const noexcept { return capacity - used_ >= reserve_; }
  /// Nothing to give back: the set is its page. O(1), always ok.
  errc shrink_to_fit() noexcept { return errc::ok; }

  /// Remove r; on_removed(page_range) gets each maximal run of pages that were
  /// granted and no longer are (its result is ignored). O(log n + runs r meets) plus
  /// one shift of the array tail; O(n) to find a victim in the revoked_extra case.
  /// Returns ok, invalid_range (nothing changed), or revoked_extra. The revoke
  /// rule holds whatever it returns: no page of r is granted afterwards.
  ///
  /// revoked_extra: r lies strictly inside one run and the page is full, so the
  /// two pieces the cut leaves need one slot more than there is. Some granted pages
  /// must go too; removing pages only frees a slot when it removes a whole run, so
  /// the cheapest way out within the cut run is to drop the smaller piece (on a tie,
  /// the upper one). That is what happens: the dropped piece is contiguous with r,
  /// so on_removed gets one run, r plus that piece.
  ///
  /// Dropping the smallest run anywhere in the set could cost fewer pages, but it
  /// would take away pages unrelated to the request, picked by the rest of the set.
  /// Keeping the loss next to r makes it predictable from the cut run alone and
  /// keeps the unmap to one range, which is the rule docs/design.md sets: the smallest
  /// neighbouring fragment. One dropped piece always suffices, since a revoke adds
  /// at most one run.
  template <range_visitor F>
  errc revoke(page_range r, F&& on_removed) noexcept {
    if (!r.valid()) return errc::invalid_range;
    const std::uint32_t lo = first_ending_at_or_after(r.first);
    const std::uint32_t hi = first_starting_after(r.last, lo);
    if (lo == hi) return errc::ok;  // no page of r is granted

    const run head = runs_[lo];
    const run tail = runs_[hi - 1];
    const bool keeps_left = head.first < r.first;
    const bool keeps_right = tail.last > r.last;
    run keep[2];
    std::uint32_t kept = 0;
    std::uint64_t removed = 0;
    errc result = errc::ok;

    if (keeps_left && keeps_right && lo + 1 == hi && used_ == capacity) {
      const std::uint64_t left_pages = r.first - head.first;
      const std::uint64_t right_pages = tail.last - r.last;
      // A whole other run frees an entry too; take it if it is smaller.
      std::uint32_t victim = capacity;
      std::uint64_t best = left_pages < right_pages ? left_pages : right_pages;
      for (std::uint32_t i = 0; i < used_; ++i) {
        const std::uint64_t n = runs_[i].last - runs_[i].first + 1;
        if (i != lo && n < best) {
          best = n;
          victim = i;
        }
      }
      if (victim != capacity) {
        const run v = runs_[victim];
        if (victim < lo) detail::notify(on_removed, page_range{v.first, v.last});
        detail::notify(on_removed, r);
        if (victim > lo) detail::notify(on_removed, page_range{v.first, v.last});
        replace(victim, victim + 1, nullptr, 0);
        const std::uint32_t at = victim < lo ? lo - 1 : lo;
        const run pieces[2] = {run{head.first, r.first - 1}, run{r.last + 1, tail.last}};
        replace(at, at + 1, pieces, 2);
        pages_ -= r.size() + best;
        return errc::revoked_extra;
      }
      page_range gone = r;
      if (left_pages < right_pages) {
        gone.first = head.first;
        keep[kept++] = run{r.last + 1, tail.last};
      } else {
        gone.last = tail.last;
        keep[kept++] = run{head.first, r.first - 1};
      }
      detail::notify(on_removed, gone);
      removed = gone.size();
      result = errc::revoked_extra;
    } else {
      // Runs are never adjacent, so each run's overlap with r is a maximal run of
      // removed pages on its own.
      for (std::uint32_t i = lo; i < hi; ++i) {
        const page_t a = runs_[i].first > r.first ? runs_[i].first : r.first;
        const page_t b = runs_[i].last < r.last ? runs_[i].last : r.last;
        detail::notify(on_removed, page_range{a, b});
        removed += b - a + 1;
      }
      if (keeps_left) keep[kept++] = run{head.first, r.first - 1};
      if (keeps_right) keep[kept++] = run{r.last + 1, tail.last};
    }
    replace(lo, hi, keep, kept);
    pages_ -= removed;
    return result;
  }

  /// Remove everything (the reserve count stays). The page stays (it is the
  /// object). O(1), cannot fail.
  void clear() noexcept {
    used_ = 0;
    pages_ = 0;
  }

  // ---- queries -----------------------------------------------------------------

  /// No page is granted. O(1).
  [[nodiscard]] bool empty() const noexcept { return used_ == 0; }

  /// Page p is granted. O(log n).
  [[nodiscard]] bool contains(page_t p) const noexcept {
    const std::uint32_t i = first_ending_at_or_after(p);
    return i < used_ && runs_[i].first <= p;
  }

  /// Every page of r is granted; false for an invalid r. O(log n).
  [[nodiscard]] bool contains_all(page_range r) const noexcept {
    if (!r.valid()) return false;
    const std::uint32_t i = first_ending_at_or_after(r.first);
    // Runs are maximal, so r is covered only if a single run covers it.
    return i < used_ && runs_[i].first <= r.first && r.last <= runs_[i].last;
  }

  /// Some page of r is granted; false for an invalid r. O(log n).
  [[nodiscard]] bool contains_any(page_range r) const noexcept {
    if (!r.valid()) return false;
    const std::uint32_t i = first_ending_at_or_after(r.first);
    return i < used_ && runs_[i].first <= r.last;
  }

  /// Pages granted (cached). At most max_page + 1 = 2^63, so it cannot overflow. O(1).
  [[nodiscard]] std::uint64_t count() const noexcept { return pages_; }

  /// Maximal runs, i.e. entries in use (0 ... capacity). O(1).
  [[nodiscard]] std::size_t range_count() const noexcept { return used_; }

  /// Always one page: the set holds nothing from any allocator, it is its page. O(1).
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return sizeof(capped_page); }

  /// f(page_range) on each run, ascending; f returns void, or bool (false stops the
  /// walk and makes this return false). O(n). Cannot fail.
  template <range_visitor F>
  [[nodiscard]] bool for_each_range(F&& f) const noexcept {
    for (std::uint32_t i = 0; i < used_; ++i) {
      if (!detail::visit(f, page_range{runs_[i].first, runs_[i].last})) return false;
    }
    return true;
  }

  /// Like for_each_range(f), over the runs meeting `window`, clipped to it. An
  /// invalid window meets nothing: no call, returns true. O(log n + runs visited).
  template <range_visitor F>
  [[nodiscard]] bool for_each_range(page_range window, F&& f) const noexcept {
    if (!window.valid()) return true;
    for (std::uint32_t i = first_ending_at_or_after(window.first); i < used_ && runs_[i].first <= window.last; ++i) {
      const page_t a = runs_[i].first > window.first ? runs_[i].first : window.first;
      const page_t b = runs_[i].last < window.last ? runs_[i].last : window.last;
      if (!detail::visit(f, page_range{a, b})) return false;
    }
    return true;
  }

  /// Runs valid, ascending, disjoint and never adjacent (so maximal), within
  /// capacity, and the cached page count right: false means a bug. O(n).
  [[nodiscard]] bool check_invariants() const noexcept {
    if (used_ > capacity || reserve_ > capacity) return false;
    std::uint64_t total = 0;
    for (std::uint32_t i = 0; i < used_; ++i) {
      const run& cur = runs_[i];
      if (cur.first > cur.last || cur.last > max_page) return false;
      if (i != 0 && cur.first <= runs_[i - 1].last + 1) return false;  // overlap or adjacency
      total += cur.last - cur.first + 1;
    }
    return total == pages_;
  }

 private:
  /// Index of the first run with last >= p (used_ if none).
  /// r lies strictly inside one run and no entry is free for the second piece.
  [[nodiscard]] bool cuts_full_page(page_range r) const noexcept {
    if (used_ < capacity) return false;
    const std::uint32_t i = first_ending_at_or_after(r.first);
    return i < used_ && runs_[i].first < r.first && runs_[i].last > r.last;
  }

  [[nodiscard]] std::uint32_t first_ending_at_or_after(page_t p) const noexcept {
    std::uint32_t base = 0;
    std::uint32_t len = used_;
    while (len != 0) {
      const std::uint32_t half = len / 2;
      if (runs_[base + half].last < p) {
        base += half + 1;
        len -= half + 1;
      } else {
        len = half;
      }
    }
    return base;
  }

  /// Index of the first run at or after `from` with first > p (used_ if none).
  [[nodiscard]] std::uint32_t first_starting_after(page_t p, std::uint32_t from) const noexcept {
    std::uint32_t base = from;
    std::uint32_t len = used_ - from;
    while (len != 0) {
      const std::uint32_t half = len / 2;
      if (runs_[base + half].first <= p) {
        base += half + 1;
        len -= half + 1;
      } else {
        len = half;
      }
    }
    return base;
  }

  /// Replace runs [lo, hi) with the n runs at `with` (which must not point into
  /// the array), shifting the tail once.
  void replace(std::uint32_t lo, std::uint32_t hi, const run* with, std::uint32_t n) noexcept {
    PMEMPERM_ASSERT(lo <= hi && hi <= used_ && used_ - (hi - lo) + n <= capacity);
    const std::uint32_t tail = used_ - hi;
    if (tail != 0 && hi != lo + n) std::memmove(runs_ + lo + n, runs_ + hi, std::size_t{tail} * sizeof(run));
    for (std::uint32_t i = 0; i < n; ++i) runs_[lo + i] = with[i];
    used_ = used_ - (hi - lo) + n;
  }

  void copy_from(const capped_page& other) noexcept {
    used_ = other.used_;
    pages_ = other.pages_;
    if (used_ != 0) std::memcpy(runs_, other.runs_, std::size_t{used_} * sizeof(run));
  }

  std::uint32_t used_;
  std::uint32_t reserve_;  // entries kept free for revokes (0 ... capacity)
  std::uint64_t pages_;
  run runs_[capacity];
};

static_assert(sizeof(capped_page) == detail::capped_page_bytes, "capped_page must be exactly one 4 KiB page");
static_assert(alignof(capped_page) == detail::capped_page_bytes, "capped_page must occupy one page frame");
static_assert(capped_page::capacity == 255);
static_assert(std::is_standard_layout_v<capped_page>, "the page layout above must be the real one");
static_assert(std::is_trivially_destructible_v<capped_page>, "caller storage can be reused without a destructor");
static_assert(std::is_nothrow_default_constructible_v<capped_page>);
static_assert(page_set<capped_page>);

}  // namespace pmemperm
