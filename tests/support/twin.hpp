// tests/support/twin.hpp — a backend driven in lockstep with the plain model.
//
// twin<Kind> holds a backend (on a counting_allocator) and a model_set. Each grant
// or revoke goes to both; the result codes, the visitor output and then the whole
// sets are compared (plus the backend's self-consistency, its invariant checker and
// its memory accounting). The behaviour tests use it so that every expectation is
// computed by the model, and state the property under test on top.
//
// Ranges outside the backend's universe are expected to be invalid_range (the model
// itself only knows max_page). Sets stay small: capped_page never hits its capacity.
#pragma once

#include <string>

#include <catch2/catch.hpp>

#include <pmemperm/testing.hpp>

#include "backends.hpp"
#include "generic_ops.hpp"
#include "model.hpp"
#include "printing.hpp"
#include "sequence.hpp"

namespace pmemperm::test {

template <class Kind>
struct twin {
  using alloc = counting_allocator<>;
  using set_type = typename Kind::template type<alloc>;

  alloc_stats stats;
  set_type s = Kind::make(alloc(stats));
  model_set m;

  [[nodiscard]] static bool in_universe(page_range r) noexcept { return r.valid() && r.last <= Kind::top; }

  /// Grant on both; returns what the backend's visitor reported.
  range_list grant(page_range r) {
    INFO("grant " << range_text(r));
    range_list got, want;
    const errc e = s.grant(r, range_recorder{&got});
    const errc expected = in_universe(r) ? m.grant(r, range_recorder{&want}) : errc::invalid_range;
    REQUIRE(e == expected);
    REQUIRE(got == want);
    verify();
    return got;
  }

  /// Revoke on both; returns what the backend's visitor reported.
  range_list revoke(page_range r) {
    INFO("revoke " << range_text(r));
    range_list got, want;
    const errc e = s.revoke(r, range_recorder{&got});
    const errc expected = in_universe(r) ? m.revoke(r, range_recorder{&want}) : errc::invalid_range;
    REQUIRE(e == expected);
    REQUIRE(got == want);
    verify();
    return got;
  }

  /// The backend equals the model, is self-consistent, keeps its invariants and
  /// accounts for its memory exactly.
  void verify() {
    INFO("backend " << ranges_text(collect_ranges(s)) << ", model " << ranges_text(collect_ranges(m)));
    REQUIRE(equal_sets(s, m));
    REQUIRE(self_consistency_error(s) == "");
    REQUIRE(Kind::check(s));
    REQUIRE(memory_error<Kind>(s, stats) == "");
  }
};

}  // namespace pmemperm::test
