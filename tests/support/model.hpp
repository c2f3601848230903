// tests/support/model.hpp — model_set: an obviously correct page set for expectations.
//
// A std::map from the first page of each maximal run to its last page. Every
// operation is the textbook one (find the runs that touch the range, erase them,
// insert what is left), so it is easy to trust and slow on purpose; the tests use
// it to compute what a backend should report for small cases and as the oracle when
// the backend under test is the Boost.ICL adapter itself.
//
// It models page_set (move-only, every member noexcept), so the generic helpers work
// on it. Memory comes from std::map: an allocation failure terminates the test run,
// which is acceptable for a test model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>

#include <pmemperm/page_set.hpp>
#include <pmemperm/types.hpp>

namespace pmemperm::test {

class model_set {
 public:
  model_set() = default;
  model_set(model_set&&) noexcept = default;
  model_set& operator=(model_set&&) noexcept = default;
  model_set(const model_set&) = delete;
  model_set& operator=(const model_set&) = delete;

  errc grant(page_range r) noexcept {
    return grant(r, [](page_range) {});
  }
  template <class F>
  errc grant(page_range r, F&& on_added) noexcept {
    if (!r.valid()) return errc::invalid_range;
    // Report the gaps of r first, while the old runs are still there.
    page_t next = r.first;  // first page of r not yet accounted for
    bool done = false;
    for_each_range(r, [&](page_range piece) {
      if (piece.first > next) on_added(page_range{next, piece.first - 1});
      if (piece.last == r.last) {
        done = true;
      } else {
        next = piece.last + 1;
      }
      return true;
    });
    if (!done) on_added(page_range{next, r.last});

    page_t lo = r.first;
    page_t hi = r.last;
    auto it = first_touching(lo);
    while (it != runs_.end() && it->first <= hi + 1) {  // hi + 1 <= 2^63: no wrap
      if (it->first < lo) lo = it->first;
      if (it->second > hi) hi = it->second;
      pages_ -= it->second - it->first + 1;
      it = runs_.erase(it);
    }
    runs_.emplace(lo, hi);
    pages_ += hi - lo + 1;
    return errc::ok;
  }

  errc revoke(page_range r) noexcept {
    return revoke(r, [](page_range) {});
  }
  template <class F>
  errc revoke(page_range r, F&& on_removed) noexcept {
    if (!r.valid()) return errc::invalid_range;
    auto it = first_overlapping(r.first);
    while (it != runs_.end() && it->first <= r.last) {
      const page_t first = it->first;
      const page_t last = it->second;
      on_removed(page_range{first < r.first ? r.first : first, last > r.last ? r.last : last});
      pages_ -= last - first + 1;
      it = runs_.erase(it);
      if (first < r.first) {
        runs_.emplace(first, r.first - 1);
        pages_ += r.first - first;
      }
      if (last > r.last) {
        it = runs_.emplace(r.last + 1, last).first;
        pages_ += last - r.last;
        ++it;
      }
    }
    return errc::ok;
  }

  void clear() noexcept {
    runs_.clear();
    pages_ = 0;
  }
  [[nodiscard]] bool empty() const noexcept { return runs_.empty(); }

  [[nodiscard]] bool contains(page_t p) const noexcept {
    auto it = runs_.upper_bound(p);
    if (it == runs_.begin()) return false;
    --it;
    return it->second >= p;
  }
  [[nodiscard]] bool contains_all(page_range r) const noexcept {
    if (!r.valid()) return false;
    auto it = runs_.upper_bound(r.first);
    if (it == runs_.begin()) return false;
    --it;
    return it->second >= r.last;
  }
  [[nodiscard]] bool contains_any(page_range r) const noexcept {
    if (!r.valid()) return false;
    auto it = first_overlapping(r.first);
    return it != runs_.end() && it->first <= r.last;
  }

  [[nodiscard]] std::uint64_t count() const noexcept { return pages_; }
  [[nodiscard]] std::size_t range_count() const noexcept { return runs_.size(); }
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return 0; }

  template <class F>
  bool for_each_range(F&& f) const noexcept {
    for (const auto& [first, last] : runs_)
      if (!f(page_range{first, last})) return false;
    return true;
  }
  template <class F>
  bool for_each_range(page_range window, F&& f) const noexcept {
    if (!window.valid()) return true;
    for (auto it = first_overlapping(window.first); it != runs_.end() && it->first <= window.last; ++it) {
      const page_range piece{it->first < window.first ? window.first : it->first,
                             it->second > window.last ? window.last : it->second};
      if (!f(piece)) return false;
    }
    return true;
  }

  errc assign(const model_set& other) noexcept {
    if (this != &other) {
      runs_ = other.runs_;
      pages_ = other.pages_;
    }
    return errc::ok;
  }

  // The model never runs out of memory: every revoke is exact, nothing to reserve.
  errc revoke_exact(page_range r) noexcept { return revoke(r); }
  template <class F>
  errc revoke_exact(page_range r, F&& on_removed) noexcept {
    return revoke(r, static_cast<F&&>(on_removed));
  }
  errc reserve(std::size_t) noexcept { return errc::ok; }
  errc shrink_to_fit() noexcept { return errc::ok; }

 private:
  using map_type = std::map<page_t, page_t>;

  // The first run whose last page is >= p.
  [[nodiscard]] map_type::const_iterator first_overlapping(page_t p) const noexcept {
    auto it = runs_.upper_bound(p);
    if (it != runs_.begin() && std::prev(it)->second >= p) --it;
    return it;
  }
  // The first run that overlaps p or ends right before it (so a grant at p merges with it).
  [[nodiscard]] map_type::iterator first_touching(page_t p) noexcept {
    auto it = runs_.upper_bound(p);
    if (it != runs_.begin() && std::prev(it)->second + 1 >= p) --it;  // second + 1 <= 2^63
    return it;
  }

  map_type runs_;
  std::uint64_t pages_ = 0;
};

static_assert(page_set<model_set>);

}  // namespace pmemperm::test
