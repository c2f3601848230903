// pmemperm/testing.hpp — allocators for tests and correctness studies.
//
// counting_allocator wraps another allocator and records live and peak bytes;
// failing_allocator fails on purpose: the k-th allocation from now, or any
// allocation that would take the live bytes past a budget. Both keep their state
// in a separately owned control block (`alloc_stats`), so copies and moves of the
// allocator (which containers make) all report into the same place.
#pragma once

#include <cstddef>
#include <cstdint>

#include "allocator.hpp"

namespace pmemperm {

/// Shared bookkeeping for the test allocators. Owned by the test, outlives the
/// containers that use it.
struct alloc_stats {
  std::size_t live_bytes = 0;
  std::size_t peak_bytes = 0;
  std::uint64_t allocations = 0;    ///< successful allocate() calls
  std::uint64_t deallocations = 0;  ///< deallocate() calls
  std::uint64_t failures = 0;       ///< allocate() calls that returned nullptr

  // Fault injection (used by failing_allocator only).
  std::uint64_t fail_at = UINT64_MAX;       ///< fail the attempt with this 0-based index...
  std::uint64_t attempts = 0;               ///< ...counted here (successes and failures)
  std::size_t byte_budget = SIZE_MAX;       ///< fail any allocation taking live_bytes above this
  bool fail_always_after = false;           ///< once fail_at is reached, keep failing
};

/// Counts bytes through to an underlying allocator.
template <byte_allocator Upstream = new_allocator>
class counting_allocator {
 public:
  explicit counting_allocator(alloc_stats& s, Upstream up = {}) noexcept : stats_(&s), up_(static_cast<Upstream&&>(up)) {}

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
  void deallocate(void* p, std::size_t bytes, std::size_t align) noexcept {
    ++stats_->deallocations;
    stats_->live_bytes -= bytes;
    up_.deallocate(p, bytes, align);
  }
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
  explicit failing_allocator(alloc_stats& s, Upstream up = {}) noexcept : stats_(&s), up_(static_cast<Upstream&&>(up)) {}

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
  void deallocate(void* p, std::size_t bytes, std::size_t align) noexcept {
    ++stats_->deallocations;
    stats_->live_bytes -= bytes;
    up_.deallocate(p, bytes, align);
  }
  [[nodiscard]] alloc_stats& stats() const noexcept { return *stats_; }

  /// Fail the n-th allocation attempt from now (0 = the next one).
  void fail_nth_from_now(std::uint64_t n, bool and_after = false) const noexcept {
    stats_->fail_at = stats_->attempts + n;
    stats_->fail_always_after = and_after;
  }
  /// Stop injecting failures.
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
