// pmemperm/testing.hpp — allocators for tests and correctness studies.
//
// counting_allocator wraps another allocator and records live and peak bytes;
// failing_allocator fails on purpose: the k-th allocation from now, or any
// allocation that would take the live bytes past a budget. Both keep their state
// in a separately owned control block (`alloc_stats`), so copies and moves of the
// allocator (which containers make) all report into the same place.
#pragma once

#include "config.hpp"  // first: below C++20 it stops with one #error

#include <cstddef>
#include <cstdint>

#include "allocator.hpp"

namespace pmemperm {

/// Shared bookkeeping for the test allocators. Owned by the test, outlives the
/// containers that use it.
struct alloc_stats {
  std::size_t live_bytes = 0;       ///< bytes allocated and not yet deallocated
  std::size_t peak_bytes = 0;       ///< the highest live_bytes seen
  std::uint64_t allocations = 0;    ///< successful allocate() calls
  std::uint64_t deallocations = 0;  ///< deallocate() calls
  std::uint64_t failures = 0;       ///< allocate() calls that returned nullptr

  // Fault injection (used by failing_allocator only).
  std::uint64_t fail_at = UINT64_MAX;       ///< fail the attempt with this 0-based index...
  std::uint64_t attempts = 0;               ///< ...counted here (successes and failures)
  std::size_t byte_budget = SIZE_MAX;       ///< fail any allocation taking live_bytes above this
  bool fail_always_after = false;           ///< once fail_at is reached, keep failing
};

/// Counts bytes through to an underlying allocator. Copies share the stats.
template <byte_allocator Upstream = new_allocator>
class counting_allocator {
 public:
  /// Reports into s (which must outlive every copy) and allocates from up. O(1).
  explicit counting_allocator(alloc_stats& s, Upstream up = {}) noexcept : stats_(&s), up_(static_cast<Upstream&&>(up)) {}

  /// Upstream's allocation, counted (a nullptr from upstream counts as a failure).
  /// O(1) plus upstream's cost.
  [[nodiscard]] void* allocate(std::size_t bytes, std::size_t align) noexcept {
    void* p = up_.allocate(bytes, align);
    if (p == nullptr) {
      ++stats_->failures;
      return nullptr;
    }
    ++stats_->allocations;
    stats_->live_bytes += bytes;
    if (stats_->live_bytes > stats_->peak_bytes) stats_->peak_bytes = stats_->live_bytes;
    return p;
  }
  /// Uncounts p and returns it to upstream. O(1) plus upstream's cost.
  void deallocate(void* p, std::size_t bytes, std::size_t align) noexcept {
    ++stats_->deallocations;
    stats_->live_bytes -= bytes;
    up_.deallocate(p, bytes, align);
  }
  /// The shared stats. O(1).
  [[nodiscard]] alloc_stats& stats() const noexcept { return *stats_; }

 private:
  alloc_stats* stats_;
  [[no_unique_address]] Upstream up_;
};

/// Counts like counting_allocator and fails on demand: the allocation attempt whose
/// index equals stats.fail_at (then every later one too if fail_always_after), and
/// any allocation that would take live_bytes past stats.byte_budget.
template <byte_allocator Upstream = new_allocator>
class failing_allocator {
 public:
  /// Reports into and takes its failure plan from s (which must outlive every
  /// copy); allocates from up. O(1).
  explicit failing_allocator(alloc_stats& s, Upstream up = {}) noexcept : stats_(&s), up_(static_cast<Upstream&&>(up)) {}

  /// nullptr when this attempt is planned to fail or would pass the byte budget,
  /// else upstream's allocation; counted either way. O(1) plus upstream's cost.
  [[nodiscard]] void* allocate(std::size_t bytes, std::size_t align) noexcept {
    const std::uint64_t index = stats_->attempts++;
    const bool hit = index == stats_->fail_at || (stats_->fail_always_after && index > stats_->fail_at);
    if (hit || stats_->live_bytes > stats_->byte_budget || bytes > stats_->byte_budget - stats_->live_bytes) {
      ++stats_->failures;
      return nullptr;
    }
    void* p = up_.allocate(bytes, align);
    if (p == nullptr) {
      ++stats_->failures;
      return nullptr;
    }
    ++stats_->allocations;
    stats_->live_bytes += bytes;
    if (stats_->live_bytes > stats_->peak_bytes) stats_->peak_bytes = stats_->live_bytes;
    return p;
  }
  /// Uncounts p and returns it to upstream. O(1) plus upstream's cost.
  void deallocate(void* p, std::size_t bytes, std::size_t align) noexcept {
    ++stats_->deallocations;
    stats_->live_bytes -= bytes;
    up_.deallocate(p, bytes, align);
  }
  /// The shared stats (and failure plan). O(1).
  [[nodiscard]] alloc_stats& stats() const noexcept { return *stats_; }

  /// Fail the n-th allocation attempt from now (0 = the next one), and every later
  /// one too if and_after. O(1).
  void fail_nth_from_now(std::uint64_t n, bool and_after = false) const noexcept {
    stats_->fail_at = stats_->attempts + n;
    stats_->fail_always_after = and_after;
  }
  /// Stop injecting failures: no planned failure, no byte budget. O(1).
  void disarm() const noexcept {
    stats_->fail_at = UINT64_MAX;
    stats_->fail_always_after = false;
    stats_->byte_budget = SIZE_MAX;
  }

 private:
  alloc_stats* stats_;
  [[no_unique_address]] Upstream up_;
};

static_assert(byte_allocator<counting_allocator<>>);
static_assert(byte_allocator<failing_allocator<>>);

}  // namespace pmemperm
