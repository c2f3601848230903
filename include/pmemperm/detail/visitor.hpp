// pmemperm/detail/visitor.hpp — what a visitor is, and how the library calls one.
//
// Every API that hands pages or domains to a caller's function — for_each_range,
// grant/revoke/deny's on_added/on_removed, permission_map's for_each_holder and
// for_each_domain, destroy's on_removed — takes a *visitor*: something callable as
// f(x) that returns either
//  - void: "keep going", so a plain `[&](page_range r) { unmap(r); }` visits
//    everything, or
//  - something convertible to bool: false stops a walk early (for_each_* then
//    returns false), true keeps going.
// Grant and revoke visitors are told about changes that happen whatever they
// return, so their results are ignored.
//
// The public concepts `visitor_of<F, Arg>` and `range_visitor<F>` (Arg =
// page_range) constrain those APIs, so that a wrong visitor type is rejected at the
// call, with the concept's name in the diagnostic, not deep inside a backend.
// detail::visit(f, x) is the one way the library calls a visitor whose result
// matters: true means continue.
#pragma once

#include "../config.hpp"

#include <type_traits>
#include <utility>

#include "../types.hpp"

namespace pmemperm {

/// F is a visitor of Arg: for `f` an lvalue of F (whatever reference F names) and
/// `x` an Arg, `f(x)` is valid and returns void (continue) or a type convertible to
/// bool (false: stop). Whether it is noexcept is up to the caller: the library calls
/// it from noexcept functions, so a visitor that throws terminates the program.
template <class F, class Arg>
concept visitor_of =
    requires(std::remove_reference_t<F>& f, Arg x) { f(x); } &&
    (std::is_void_v<decltype(std::declval<std::remove_reference_t<F>&>()(std::declval<Arg&>()))> ||
     std::is_convertible_v<decltype(std::declval<std::remove_reference_t<F>&>()(std::declval<Arg&>())), bool>);

/// A visitor of page ranges: what for_each_range, grant, revoke and deny take.
template <class F>
concept range_visitor = visitor_of<F, page_range>;

namespace detail {

/// Calls f(x) once; returns true to continue: always for a void visitor, else the
/// visitor's result converted to bool. O(1) plus the visitor's own cost.
template <class F, class Arg>
  requires visitor_of<F, Arg>
[[nodiscard]] constexpr bool visit(F& f, Arg x) noexcept {
  if constexpr (std::is_void_v<decltype(f(x))>) {
    f(x);
    return true;
  } else {
    return static_cast<bool>(f(x));
  }
}

/// Calls f(x) once for a change the caller is told about, ignoring what it returns
/// (grant's on_added, revoke's on_removed). O(1) plus the visitor's own cost.
template <class F, class Arg>
  requires visitor_of<F, Arg>
constexpr void notify(F& f, Arg x) noexcept {
  static_cast<void>(f(x));
}

}  // namespace detail
}  // namespace pmemperm
