// bench/support/range_map.hpp — the absl::btree_map comparator: a coalesced range
// map from each run's first page to its last page.
//
// Runs are kept maximal (overlapping or touching runs are merged on grant), so a
// lookup is one upper_bound and a step back: O(log n). A grant or revoke costs
// O(log n + k) for the k runs it swallows, like any ordered-map range set; a revoke
// splits at most one run into two. Built for the benchmarks only: it throws
// std::bad_alloc like any std container and has no failure guarantees.
#pragma once

#include <absl/container/btree_map.h>

#include <cstdint>
#include <iterator>
#include <vector>

#include <pmemperm/types.hpp>

namespace pmemperm::bench {

class range_map {
 public:
  void grant(page_range r) {
    page_t first = r.first;
    page_t last = r.last;
    auto lo = runs_.upper_bound(first);  // first run starting after r.first
    if (lo != runs_.begin()) {
      const auto prev = std::prev(lo);
      if (prev->second + 1 >= first) {  // overlaps or touches r on the left
        if (prev->second >= last) return;  // r is already granted
        lo = prev;
        first = prev->first;
      }
    }
    auto hi = lo;
    while (hi != runs_.end() && hi->first <= last + 1) {
      if (hi->second > last) last = hi->second;
      ++hi;
    }
    if (lo == hi) {
      runs_.emplace_hint(hi, first, last);
    } else if (lo->first == first) {
      // The merged run keeps lo's key: extend it in place, drop the runs it swallowed.
      lo->second = last;
      runs_.erase(std::next(lo), hi);
    } else {
      // r starts before every run it swallows: the key changes, so re-insert.
      const auto at = runs_.erase(lo, hi);
      runs_.emplace_hint(at, first, last);
    }
  }

  void revoke(page_range r) {
    auto lo = runs_.upper_bound(r.first);
    if (lo != runs_.begin()) {
      const auto prev = std::prev(lo);
      if (prev->second >= r.first) lo = prev;
    }
    if (lo == runs_.end() || lo->first > r.last) return;
    auto hi = lo;
    bool right = false;  // the last run overlapped reaches past r
    page_t right_last = 0;
    while (hi != runs_.end() && hi->first <= r.last) {
      if (hi->second > r.last) {
        right = true;
        right_last = hi->second;
      }
      ++hi;
    }
    if (lo->first < r.first) {
      // Keep lo's key and trim it to the part before r.
      lo->second = r.first - 1;
      ++lo;
    }
    const auto at = runs_.erase(lo, hi);
    if (right) runs_.emplace_hint(at, r.last + 1, right_last);
  }

  [[nodiscard]] bool contains(page_t p) const {
    auto it = runs_.upper_bound(p);
    if (it == runs_.begin()) return false;
    --it;
    return p <= it->second;
  }

  [[nodiscard]] bool contains_all(page_range r) const {
    auto it = runs_.upper_bound(r.first);
    if (it == runs_.begin()) return false;
    --it;
    return r.last <= it->second;
  }

  [[nodiscard]] std::uint64_t count() const {
    std::uint64_t pages = 0;
    for (const auto& [first, last] : runs_) pages += last - first + 1;
    return pages;
  }

  [[nodiscard]] std::vector<page_range> runs() const {
    std::vector<page_range> out;
    out.reserve(runs_.size());
    for (const auto& [first, last] : runs_) out.push_back(page_range{first, last});
    return out;
  }

 private:
  absl::btree_map<page_t, page_t> runs_;
};

}  // namespace pmemperm::bench
