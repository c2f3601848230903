// bench/support/structures.hpp — every structure of the target benchmark behind one
// small interface, so one benchmark template measures them all the same way.
//
// A structure wrapper W has:
//   W()                                  an empty set over the 2^30-page universe
//   bool grant(page_range) / revoke(page_range)   false on failure
//   void finish()                        after the last grant of a build (CRoaring
//                                        run-optimises there; a no-op elsewhere)
//   bool contains(page_t) const, bool contains_all(page_range) const
//   std::uint64_t count() const, std::vector<page_range> runs() const (verification)
//   bool assign(const W&)                become a copy
//   std::int64_t model_bytes() const     memory_bytes() for ours, -1 for comparators
//   static constexpr bool huge           a copy costs far more than the operation
//                                        measured (the 128 MiB flat bitmap): no
//                                        batched builds, revoke restored by re-grant
//   static constexpr bool finishes       finish() does real work
//   static constexpr bool refuses        may refuse a grant or revoke exactly by
//                                        design (capped_page: capacity_exceeded,
//                                        revoked_extra): a refusal means "does not
//                                        fit", not a wrong answer; then
//   static constexpr std::uint64_t max_runs   the runs it can hold
//
// Which comparators exist is decided by CMake (PMEMPERM_BENCH_HAVE_ICL / _ROARING /
// _ABSL); chunked_bitmap joins when its header exists.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <pmemperm/backends/capped_page.hpp>
#include <pmemperm/backends/flat_bitmap.hpp>
#include <pmemperm/backends/hybrid.hpp>
#include <pmemperm/backends/rangeset.hpp>
#include <pmemperm/types.hpp>

#if __has_include(<pmemperm/backends/chunked_bitmap.hpp>)
#include <pmemperm/backends/chunked_bitmap.hpp>
#define PMEMPERM_BENCH_HAVE_CHUNKED 1
#else
#define PMEMPERM_BENCH_HAVE_CHUNKED 0
#endif

#ifndef PMEMPERM_BENCH_HAVE_ICL
#define PMEMPERM_BENCH_HAVE_ICL 0
#endif
#ifndef PMEMPERM_BENCH_HAVE_ROARING
#define PMEMPERM_BENCH_HAVE_ROARING 0
#endif
#ifndef PMEMPERM_BENCH_HAVE_ABSL
#define PMEMPERM_BENCH_HAVE_ABSL 0
#endif

#if PMEMPERM_BENCH_HAVE_ICL
#include <pmemperm/backends/icl.hpp>
#include <boost/icl/closed_interval.hpp>
#include <boost/icl/interval_set.hpp>
#endif
#if PMEMPERM_BENCH_HAVE_ROARING
#include <roaring/roaring.h>
#endif
#if PMEMPERM_BENCH_HAVE_ABSL
#include "range_map.hpp"
#endif

namespace pmemperm::bench {

/// The universe every pattern lives in (docs/design.md: 2^30 pages).
inline constexpr unsigned universe_log2 = 30;
inline constexpr page_t universe_pages = page_t{1} << universe_log2;

/// The maximal runs of one of pmemperm's sets, ascending (for verification).
template <class S>
std::vector<page_range> ranges_of(const S& set) {
  std::vector<page_range> out;
  static_cast<void>(set.for_each_range([&](page_range r) {
    out.push_back(r);
    return true;
  }));
  return out;
}

/// One of pmemperm's backends, used through its page_set interface.
template <class S>
class ours {
 public:
  using set_type = S;
  static constexpr bool huge = false;
  static constexpr bool finishes = false;
  static constexpr bool refuses = false;

  ours() noexcept = default;

  bool grant(page_range r) noexcept { return set_.grant(r) == errc::ok; }
  bool revoke(page_range r) noexcept { return set_.revoke(r) == errc::ok; }
  void finish() noexcept {}
  [[nodiscard]] bool contains(page_t p) const noexcept { return set_.contains(p); }
  [[nodiscard]] bool contains_all(page_range r) const noexcept { return set_.contains_all(r); }
  [[nodiscard]] std::uint64_t count() const noexcept { return set_.count(); }
  [[nodiscard]] std::size_t range_count() const noexcept { return set_.range_count(); }
  [[nodiscard]] std::vector<page_range> runs() const { return ranges_of(set_); }
  bool assign(const ours& o) noexcept { return set_.assign(o.set_) == errc::ok; }
  [[nodiscard]] std::int64_t model_bytes() const noexcept { return static_cast<std::int64_t>(set_.memory_bytes()); }

 protected:
  S set_{};
};

/// The flat bitmap over the whole universe. Copying it for every revoke iteration
/// would cost a 128 MiB allocation and copy each time; since a bitmap has exactly
/// one state per set, re-granting the revoked blocks restores it exactly.
class flat final : public ours<flat_bitmap<>> {
 public:
  static constexpr bool huge = true;
  flat() noexcept { set_ = flat_bitmap<>(universe_pages); }
};

/// capped_page: all ranges in one 4 KiB page, no heap. Patterns with more than its
/// capacity of runs are refused (capacity_exceeded), and a revoke whose exact result
/// does not fit drops pages (revoked_extra): both are results of the study.
class capped final : public ours<capped_page> {
 public:
  static constexpr bool refuses = true;
  static constexpr std::uint64_t max_runs = capped_page::capacity;
};

#if PMEMPERM_BENCH_HAVE_ICL
/// Boost.ICL interval_set of closed intervals (ICL joins touching intervals, so its
/// intervals are the maximal runs), used directly rather than through icl_set so
/// the comparator carries none of the adapter's bookkeeping.
class icl {
 public:
  static constexpr bool huge = false;
  static constexpr bool finishes = false;
  static constexpr bool refuses = false;

  bool grant(page_range r) {
    set_.add(interval(r.first, r.last));
    return true;
  }
  bool revoke(page_range r) {
    set_.subtract(interval(r.first, r.last));
    return true;
  }
  void finish() noexcept {}
  [[nodiscard]] bool contains(page_t p) const { return boost::icl::contains(set_, p); }
  [[nodiscard]] bool contains_all(page_range r) const {
    return boost::icl::contains(set_, interval(r.first, r.last));
  }
  [[nodiscard]] std::uint64_t count() const { return boost::icl::cardinality(set_); }
  [[nodiscard]] std::vector<page_range> runs() const {
    std::vector<page_range> out;
    for (const interval& i : set_) out.push_back(page_range{i.lower(), i.upper()});
    return out;
  }
  bool assign(const icl& o) {
    set_ = o.set_;
    return true;
  }
  [[nodiscard]] std::int64_t model_bytes() const noexcept { return -1; }

 private:
  using interval = boost::icl::closed_interval<page_t>;
  boost::icl::interval_set<page_t, std::less, interval> set_;
};
#endif

#if PMEMPERM_BENCH_HAVE_ROARING
/// CRoaring with 32-bit values: every page of the 2^30-page universe fits, so the
/// 64-bit variant (a map of 32-bit bitmaps) would only add a level. The build ends
/// with run_optimize() and shrink_to_fit(), the comparator's most compact form.
class roaring {
 public:
  static constexpr bool huge = false;
  static constexpr bool finishes = true;
  static constexpr bool refuses = false;

  roaring() : r_(roaring_bitmap_create()) {}
  roaring(roaring&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  roaring& operator=(roaring&& o) noexcept {
    std::swap(r_, o.r_);
    return *this;
  }
  roaring(const roaring&) = delete;
  roaring& operator=(const roaring&) = delete;
  ~roaring() {
    if (r_ != nullptr) roaring_bitmap_free(r_);
  }

  bool grant(page_range r) noexcept {
    if (r.first == r.last)
      roaring_bitmap_add(r_, value(r.first));
    else
      roaring_bitmap_add_range_closed(r_, value(r.first), value(r.last));
    return true;
  }
  bool revoke(page_range r) noexcept {
    if (r.first == r.last)
      roaring_bitmap_remove(r_, value(r.first));
    else
      roaring_bitmap_remove_range_closed(r_, value(r.first), value(r.last));
    return true;
  }
  void finish() noexcept {
    roaring_bitmap_run_optimize(r_);
    roaring_bitmap_shrink_to_fit(r_);
  }
  [[nodiscard]] bool contains(page_t p) const noexcept { return roaring_bitmap_contains(r_, value(p)); }
  [[nodiscard]] bool contains_all(page_range r) const noexcept {
    return roaring_bitmap_contains_range(r_, r.first, r.last + 1);  // half-open
  }
  [[nodiscard]] std::uint64_t count() const noexcept { return roaring_bitmap_get_cardinality(r_); }
  [[nodiscard]] std::vector<page_range> runs() const {
    std::vector<page_range> out;
    roaring_iterate(r_, &collect, &out);
    return out;
  }
  bool assign(const roaring& o) noexcept {
    roaring_bitmap_t* copy = roaring_bitmap_copy(o.r_);
    if (copy == nullptr) return false;
    roaring_bitmap_free(r_);
    r_ = copy;
    return true;
  }
  [[nodiscard]] std::int64_t model_bytes() const noexcept { return -1; }

 private:
  static std::uint32_t value(page_t p) noexcept { return static_cast<std::uint32_t>(p); }

  static bool collect(std::uint32_t v, void* out) {
    auto& runs = *static_cast<std::vector<page_range>*>(out);
    if (!runs.empty() && runs.back().last + 1 == v)
      runs.back().last = v;
    else
      runs.push_back(page_range::single(v));
    return true;
  }

  roaring_bitmap_t* r_;
};
static_assert(universe_log2 <= 32, "32-bit CRoaring needs every page below 2^32");
#endif

#if PMEMPERM_BENCH_HAVE_ABSL
/// absl::btree_map<page_t, page_t> as a coalesced range map (range_map.hpp).
class btree {
 public:
  static constexpr bool huge = false;
  static constexpr bool finishes = false;
  static constexpr bool refuses = false;

  bool grant(page_range r) {
    map_.grant(r);
    return true;
  }
  bool revoke(page_range r) {
    map_.revoke(r);
    return true;
  }
  void finish() noexcept {}
  [[nodiscard]] bool contains(page_t p) const { return map_.contains(p); }
  [[nodiscard]] bool contains_all(page_range r) const { return map_.contains_all(r); }
  [[nodiscard]] std::uint64_t count() const { return map_.count(); }
  [[nodiscard]] std::vector<page_range> runs() const { return map_.runs(); }
  bool assign(const btree& o) {
    map_ = o.map_;
    return true;
  }
  [[nodiscard]] std::int64_t model_bytes() const noexcept { return -1; }

 private:
  range_map map_;
};
#endif

}  // namespace pmemperm::bench
