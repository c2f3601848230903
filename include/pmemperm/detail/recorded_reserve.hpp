// pmemperm/detail/recorded_reserve.hpp — the memory-pressure members of a set whose
// revokes never need memory: flat_bitmap (clearing bits is always exact) and the
// icl_set oracle (its revokes fail with nothing changed instead). For both,
// revoke_exact is revoke, and reserve(n) only records n for reserve_count(); each set
// says itself whether its reserve is full. A base of the set (CRTP).
#pragma once

#include "../config.hpp"  // first: below C++20 it stops with one #error

#include <cstddef>

#include "../types.hpp"
#include "visitor.hpp"

namespace pmemperm::detail {

template <class Set>
class recorded_reserve {
 public:
  /// Set::revoke(r): the same cost, results and guarantee (that revoke is exact or
  /// changes nothing, so it never returns revoked_extra).
  [[nodiscard]] errc revoke_exact(page_range r) noexcept { return set().revoke(r); }
  /// Set::revoke(r, on_removed), on_removed a range_visitor (its result ignored).
  template <range_visitor F>
  [[nodiscard]] errc revoke_exact(page_range r, F&& on_removed) noexcept {
    return set().revoke(r, static_cast<F&&>(on_removed));
  }
  /// Records the count (0: the default, 1); there is nothing to set aside. O(1),
  /// always ok.
  [[nodiscard]] errc reserve(std::size_t revokes) noexcept {
    count_ = revokes == 0 ? 1 : revokes;
    return errc::ok;
  }
  /// What reserve() recorded (1 by default). O(1).
  [[nodiscard]] std::size_t reserve_count() const noexcept { return count_; }

 private:
  Set& set() noexcept { return static_cast<Set&>(*this); }
  std::size_t count_ = 1;
};

}  // namespace pmemperm::detail
