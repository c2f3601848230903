// tests/support/backends.hpp — the backends the generic suite runs over.
//
// Each backend is described by a "kind": a traits struct that says how to build one
// (with a given byte_allocator, or with its defaults), which pages it accepts, and
// which optional semantics apply to it (a fixed capacity, no allocator at all). The
// tests are TEMPLATE_LIST_TEST_CASEs over `all_backends`; testing a new backend is
// one more line in that list.
//
// Kind members:
//   name                  printable name, shown in every failure
//   type<Alloc>           the backend using allocator Alloc (ignored if !allocates)
//   make(Alloc), make()   a fresh, empty backend (never allocates); make() uses the
//                         backend's default allocator
//   universe / top        valid pages are 0 ... top, top = universe - 1
//   allocates             takes memory from its allocator (else fixed_bytes, always)
//   capacity_bounded      may answer capacity_exceeded / revoked_extra (capped_page rules)
//   capacity              the most runs it holds when capacity_bounded
//   is_oracle             the backend is the oracle itself: check it against model_set;
//                         it is also not bound by the revoke rule (a revoke may fail
//                         with out_of_memory, changing nothing)
//   invariant_period      the differential runs check(s) every this many ops (1 unless
//                         the checker itself is O(universe), like the flat bitmap's)
//   check(s)              the backend's own invariant checker
//   constructible_as_promised<Alloc>   the constructors each backend promises, noexcept
//
// A kind's parameters are plain `class` (not byte_allocator) and every B<...> in it
// depends on a member's own template parameter: clang 14 crashes checking a
// backend's constraints eagerly through a template template parameter.
#pragma once

#include <cstddef>
#include <concepts>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

#include <pmemperm/allocator.hpp>
#include <pmemperm/backends/capped_page.hpp>
#include <pmemperm/backends/chunked_bitmap.hpp>
#include <pmemperm/backends/flat_bitmap.hpp>
#include <pmemperm/backends/hybrid.hpp>
#include <pmemperm/backends/icl.hpp>
#include <pmemperm/backends/rangeset.hpp>
#include <pmemperm/page_set.hpp>
#include <pmemperm/testing.hpp>
#include <pmemperm/types.hpp>

#include "model.hpp"

namespace pmemperm::test {

/// A string usable as a template argument, so a kind carries its name in its type.
template <std::size_t N>
struct fixed_name {
  char text[N];
  constexpr fixed_name(const char (&s)[N]) noexcept {  // implicit: heap_kind<rangeset, "rangeset">
    for (std::size_t i = 0; i < N; ++i) text[i] = s[i];
  }
};

/// Every page 0 ... max_page.
inline constexpr page_t full_universe = max_page + 1;

/// The checker every backend must offer; a kind refuses a backend without one.
template <class S>
concept has_invariant_checker = requires(const S& s) {
  { s.check_invariants() } noexcept -> std::same_as<bool>;
};

/// A heap backend `B<Alloc>` over all pages, built as `B<Alloc>(alloc)` or `B<new_allocator>()`.
template <template <class> class B, fixed_name Name, bool IsOracle = false>
struct heap_kind {
  static constexpr const char* name = Name.text;
  template <class Alloc>
  using type = B<Alloc>;
  static constexpr page_t universe = full_universe;
  static constexpr page_t top = universe - 1;
  static constexpr bool allocates = true;
  static constexpr std::size_t fixed_bytes = 0;
  static constexpr bool capacity_bounded = false;
  static constexpr std::size_t capacity = SIZE_MAX;
  static constexpr bool is_oracle = IsOracle;
  static constexpr unsigned invariant_period = 1;

  template <class Alloc>
  [[nodiscard]] static type<Alloc> make(Alloc a) noexcept {
    return type<Alloc>(std::move(a));
  }
  template <class Alloc = new_allocator>
  [[nodiscard]] static type<Alloc> make() noexcept {
    return type<Alloc>();
  }
  /// How the backend promises to be constructed (checked by test_requirements.cpp).
  template <class Alloc>
  static constexpr bool constructible_as_promised =
      std::is_nothrow_constructible_v<type<Alloc>, Alloc> && !std::is_convertible_v<Alloc, type<Alloc>> &&
      std::is_nothrow_default_constructible_v<type<std::conditional_t<true, new_allocator, Alloc>>>;

  template <class S>
  [[nodiscard]] static bool check(const S& s) noexcept {
    static_assert(has_invariant_checker<S>, "every backend offers check_invariants()");
    return s.check_invariants();
  }
};

/// Fixes the trailing page-count parameter of a backend such as
/// chunked_bitmap<Alloc, ChunkPages>, so that it fits heap_kind:
///   heap_kind<with_pages<chunked_bitmap, 64>::type, "chunked_bitmap<64>">
template <template <class, page_t> class B, page_t Pages>
struct with_pages {
  template <class Alloc>
  using type = B<Alloc, Pages>;
};

/// A flat bitmap over pages 0 ... Universe - 1.
template <page_t Universe>
struct flat_kind {
  static constexpr const char* name = "flat_bitmap";
  template <class Alloc>
  using type = flat_bitmap<Alloc>;
  static constexpr page_t universe = Universe;
  static constexpr page_t top = universe - 1;
  static constexpr bool allocates = true;
  static constexpr std::size_t fixed_bytes = 0;
  static constexpr bool capacity_bounded = false;
  static constexpr std::size_t capacity = SIZE_MAX;
  static constexpr bool is_oracle = false;
  // Its checker recounts every word; every 8th op keeps the differential fast, and
  // count()/range_count() (what the checker recounts) are compared after every op.
  static constexpr unsigned invariant_period = Universe / 64 > 1024 ? 8 : 1;

  template <class Alloc>
  [[nodiscard]] static type<Alloc> make(Alloc a) noexcept {
    return type<Alloc>(Universe, std::move(a));
  }
  template <class Alloc = new_allocator>
  [[nodiscard]] static type<Alloc> make() noexcept {
    return type<Alloc>(Universe);
  }
  template <class Alloc>
  static constexpr bool constructible_as_promised =
      std::is_nothrow_constructible_v<type<Alloc>, page_t, Alloc> &&
      std::is_nothrow_constructible_v<type<std::conditional_t<true, new_allocator, Alloc>>, page_t> &&
      !std::is_convertible_v<page_t, type<Alloc>>;

  template <class S>
  [[nodiscard]] static bool check(const S& s) noexcept {
    static_assert(has_invariant_checker<S>, "every backend offers check_invariants()");
    return s.check_invariants();
  }
};

/// capped_page: one 4 KiB page, no allocator, a fixed number of runs.
struct capped_kind {
  static constexpr const char* name = "capped_page";
  template <class>
  using type = capped_page;
  static constexpr page_t universe = full_universe;
  static constexpr page_t top = universe - 1;
  static constexpr bool allocates = false;
  static constexpr std::size_t fixed_bytes = 4096;
  static constexpr bool capacity_bounded = true;
  static constexpr std::size_t capacity = capped_page::capacity;
  static constexpr bool is_oracle = false;
  static constexpr unsigned invariant_period = 1;

  template <class Alloc>
  [[nodiscard]] static capped_page make(Alloc) noexcept {
    return capped_page();
  }
  [[nodiscard]] static capped_page make() noexcept { return capped_page(); }
  template <class>
  static constexpr bool constructible_as_promised = std::is_nothrow_default_constructible_v<capped_page>;

  template <class S>
  [[nodiscard]] static bool check(const S& s) noexcept {
    static_assert(has_invariant_checker<S>, "every backend offers check_invariants()");
    return s.check_invariants();
  }
};

/// The universe flat_bitmap is tested with: 4097 words, the last one partly used
/// (37 pages), so the tail mask is exercised. Its invariant checker and a full
/// for_each_range cost O(universe / 64) each, which is what keeps it this small:
/// at 2^24 pages the differential's 10^6 ops would take many minutes.
inline constexpr page_t flat_test_universe = (page_t{1} << 18) + 37;

/// Every backend the generic suite runs over. Add a backend here (and its include
/// above), e.g. `heap_kind<hybrid, "hybrid">` or
/// `heap_kind<with_pages<chunked_bitmap, 32768>::type, "chunked_bitmap">`.
/// PMEMPERM_TEST_HYBRID_ONLY narrows it to the hybrid: the builds of the suite with
/// other tuning values (tests/CMakeLists.txt) check the one backend they change.
#if defined(PMEMPERM_TEST_HYBRID_ONLY)
using all_backends = std::tuple<heap_kind<hybrid, "hybrid">>;
#else
using all_backends = std::tuple<                                             //
    heap_kind<rangeset, "rangeset">,                                         //
    capped_kind,                                                             //
    flat_kind<flat_test_universe>,                                           //
    heap_kind<with_pages<chunked_bitmap, 32768>::type, "chunked_bitmap">,    //
    heap_kind<with_pages<chunked_bitmap, 64>::type, "chunked_bitmap<64>">,  //
    heap_kind<hybrid, "hybrid">,                                             //
    heap_kind<icl_set, "icl_set", /*IsOracle=*/true>>;                      //
#endif

/// The oracle a backend is checked against: Boost.ICL, or the plain model for the
/// ICL adapter itself (an oracle checked against itself proves nothing).
template <class Kind>
using oracle_of = std::conditional_t<Kind::is_oracle, model_set, icl_set<>>;

}  // namespace pmemperm::test
