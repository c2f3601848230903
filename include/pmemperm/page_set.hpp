// pmemperm/page_set.hpp — the concept every backend models.
//
// A page_set is a set of pages (0 ... max_page) held as maximal runs. Generic code
// (permission_map, the tests, the study) is written against this concept only.
//
// Vocabulary mapping for Boost.ICL users: grant = add, revoke = subtract,
// contains_any = intersects, count = cardinality, range_count = iterative_size.
#pragma once

#include "config.hpp"  // first: below C++20 it stops with one #error

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "detail/visitor.hpp"
#include "types.hpp"

namespace pmemperm {
namespace detail {

/// The void visitor type the concept checks grant, revoke and for_each_range
/// with: f(page_range) -> void.
struct range_visitor_archetype {
  /// Does nothing.
  void operator()(page_range) const noexcept {}
};

/// The visitor type the concept checks for_each_range with: f(page_range) -> bool.
struct range_predicate_archetype {
  /// Always true: continue.
  bool operator()(page_range) const noexcept { return true; }
};

}  // namespace detail

/// page_set<S> holds when, for `s` an S and `cs` a const S, `r` a page_range and
/// `p` a page_t, all of the following are noexcept:
///  - `s.grant(r)` and `s.grant(r, on_added)` -> errc: add r; `on_added(page_range)`
///    is called for each maximal run of pages that were not granted before.
///  - `s.revoke(r)` and `s.revoke(r, on_removed)` -> errc: remove r; `on_removed`
///    is called for each maximal run of pages that were granted and no longer are.
///    After a revoke returns, whatever it returns, no page of r is granted.
///    on_added and on_removed are range_visitors (detail/visitor.hpp): they may
///    return void or bool, and what they return is ignored (the change happens).
///  - `s.clear()`: remove everything and return all memory except what the backend
///    keeps by design (a flat bitmap's array, a capped page's page).
///  - `cs.empty()`, `cs.contains(p)`, `cs.contains_all(r)`, `cs.contains_any(r)` -> bool.
///    contains_all/contains_any on an invalid r return false.
///  - `cs.count()` -> std::uint64_t pages granted; `cs.range_count()` -> std::size_t
///    maximal runs.
///  - `cs.memory_bytes()` -> std::size_t: exactly the bytes currently held from the
///    allocator (a fixed-size backend reports its fixed size).
///  - `cs.for_each_range(f)` and `cs.for_each_range(window, f)` -> bool: call
///    `f(page_range)` on each maximal run in ascending order (clipped to the
///    window). f is a range_visitor: it returns void (every run is visited) or
///    something convertible to bool (false stops the walk). Returns false iff f
///    stopped it. A type that is not a range_visitor is rejected at the call, by the
///    range_visitor constraint. (The concept below checks both forms.)
///  - `s.assign(cs)` -> errc: become a copy of cs (strong guarantee).
///  - memory pressure: `s.reserve(n)` -> errc: keep what the next n revokes (one
///    range each) need, so they are exact even if every allocation is refused (0:
///    the default, 1; every set refills to its count after a successful grant);
///    `s.revoke_exact(r)` and `s.revoke_exact(r, on_removed)` -> errc: remove exactly
///    r, or fail (out_of_memory, or capacity_exceeded for a fixed-size set) with
///    nothing changed; `s.shrink_to_fit()` -> errc: afterwards memory_bytes() depends
///    on the granted pages and the reserve count alone. revoke() itself may remove
///    pages outside r only when the reserve is spent and an allocation it attempted
///    was refused; it then reports them and returns revoked_extra.
///  - move construction and move assignment; copy construction is not offered,
///    because copying allocates and must be able to fail.
/// Visitors run while the operation is in progress: they must not access the set
/// they are called from.
template <class S>
concept page_set =
    std::is_nothrow_move_constructible_v<S> && std::is_nothrow_move_assignable_v<S> &&
    !std::is_copy_constructible_v<S> &&
    requires(S& s, const S& cs, page_range r, page_t p, std::size_t n, detail::range_visitor_archetype v,
             detail::range_predicate_archetype f) {
      { s.grant(r) } noexcept -> std::same_as<errc>;
      { s.grant(r, v) } noexcept -> std::same_as<errc>;
      { s.revoke(r) } noexcept -> std::same_as<errc>;
      { s.revoke(r, v) } noexcept -> std::same_as<errc>;
      { s.clear() } noexcept -> std::same_as<void>;
      { cs.empty() } noexcept -> std::same_as<bool>;
      { cs.contains(p) } noexcept -> std::same_as<bool>;
      { cs.contains_all(r) } noexcept -> std::same_as<bool>;
      { cs.contains_any(r) } noexcept -> std::same_as<bool>;
      { cs.count() } noexcept -> std::same_as<std::uint64_t>;
      { cs.range_count() } noexcept -> std::same_as<std::size_t>;
      { cs.memory_bytes() } noexcept -> std::same_as<std::size_t>;
      { cs.for_each_range(f) } noexcept -> std::same_as<bool>;
      { cs.for_each_range(r, f) } noexcept -> std::same_as<bool>;
      { cs.for_each_range(v) } noexcept -> std::same_as<bool>;
      { cs.for_each_range(r, v) } noexcept -> std::same_as<bool>;
      { s.assign(cs) } noexcept -> std::same_as<errc>;
      { s.revoke_exact(r) } noexcept -> std::same_as<errc>;
      { s.revoke_exact(r, v) } noexcept -> std::same_as<errc>;
      { s.reserve(n) } noexcept -> std::same_as<errc>;
      { s.shrink_to_fit() } noexcept -> std::same_as<errc>;
    };

}  // namespace pmemperm
