// fuzz/page_set_target.cpp — one page_set backend against an oracle, driven by the
// input bytes (format in fuzz_support.hpp), with allocation faults.
//
// The first byte picks the backend (every backend of the generic suite); the rest
// is a program of ops: grant, revoke, revoke_exact (all with a visitor), reserve,
// shrink_to_fit, clear, assign into a fresh set, and a budget on the allocator's
// live bytes. After every op the target checks what pmemperm promises:
//  - the result code is one the op may return in this situation: out_of_memory and
//    revoked_extra only if an allocation was refused during that very call, and
//    revoked_extra / a failed revoke_exact never while the reserve still covers
//    the revoke (it is tracked: reserve(n) or a successful grant fills it, each
//    revoke may use one of it, reserve_full() refreshes it);
//  - a failed call changed nothing: contents, memory_bytes(), the allocator's live
//    bytes, and its visitor was not called;
//  - visitors reported exactly the pages added or removed (with revoked_extra: every
//    page of the range, and beyond it only pages that were granted, no more than
//    the backend's documented worst case);
//  - the contents equal the oracle's (Boost.ICL; the plain model for the ICL
//    adapter), and count(), range_count(), contains* agree with them;
//  - memory_bytes() equals the live bytes of the allocator, which also audits every
//    block; check_invariants() holds; a successful grant leaves reserve_full();
//  - after shrink_to_fit the bytes equal those of a set built from scratch with the
//    same pages and reserve count, then shrunk.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <utility>

#include <pmemperm/page_set.hpp>
#include <pmemperm/types.hpp>

#include "../tests/support/backends.hpp"
#include "../tests/support/model.hpp"
#include "fuzz_support.hpp"

namespace pmemperm::fuzz {
namespace {

constexpr std::size_t max_ops = 400;

enum class op_code : unsigned { grant, revoke, revoke_exact, reserve, shrink, clear, copy, budget, scatter, count };

template <class Kind>
class session {
  using S = typename Kind::template type<fuzz_allocator>;
  using O = test::oracle_of<Kind>;

 public:
  session() noexcept : drawer_(Kind::top) {}

  void run(input& in) {
    S s = make();
    O oracle;
    for (op_ = 0; op_ < max_ops && !in.done(); ++op_) {
      const std::uint8_t b = in.u8();
      const auto code = static_cast<op_code>((b & 15u) % static_cast<unsigned>(op_code::count));
      before_ = snapshot(s, oracle);
      switch (code) {
        case op_code::grant: grant(s, oracle, drawer_.range(in), b); break;
        case op_code::scatter: {
          // Many runs at once, so that the fuzzer reaches deep trees and long run
          // lists quickly: count grants of len pages, stride apart, from p.
          const page_t p = drawer_.page(in);
          const std::size_t n = 1u + std::size_t{in.u8()} * 2u;
          const page_t stride = 2u + in.u8(), len = 1u + in.u8() % 4u;
          for (std::size_t i = 0; i < n && p + i * stride + len - 1 <= Kind::top; ++i) {
            before_ = snapshot(s, oracle);
            grant(s, oracle, page_range{p + i * stride, p + i * stride + len - 1}, b);
          }
          break;
        }
        case op_code::revoke: revoke(s, oracle, in, b, false); break;
        case op_code::revoke_exact: revoke(s, oracle, in, b, true); break;
        case op_code::reserve: reserve(s, in, b); break;
        case op_code::shrink: shrink(s, b); break;
        case op_code::clear:
          s.clear();
          oracle.clear();
          break;
        case op_code::copy: copy(s, b); break;
        case op_code::budget: {
          // A cap on the live bytes, for the ops that follow: 0 lifts it.
          const std::uint8_t k = in.u8();
          stats_.byte_budget = k == 0 ? SIZE_MAX : stats_.live_bytes + std::size_t{k} * 16;
          break;
        }
        case op_code::count: break;
      }
      faults().disarm();
      if (s.reserve_full()) guaranteed_ = s.reserve_count();
      if (tracing_)
        std::fprintf(stderr, "op %zu: code %u fault %u: %zu bytes, reserve %zu%s, covering %zu\n", op_,
                     static_cast<unsigned>(code), b >> 4u, s.memory_bytes(), s.reserve_count(),
                     s.reserve_full() ? " full" : "", guaranteed_);
      check_all(s, oracle);
    }
  }

 private:
  struct state {
    std::size_t bytes = 0, live = 0;
    std::uint64_t failures = 0;
    std::size_t guaranteed = 0;
  };

  [[nodiscard]] S make() { return Kind::make(fuzz_allocator(stats_, test::tracking_allocator(audit_))); }
  [[nodiscard]] fault_plan faults() noexcept { return fault_plan{&stats_}; }
  [[nodiscard]] state snapshot(const S& s, const O&) const noexcept {
    return state{s.memory_bytes(), stats_.live_bytes, stats_.failures, guaranteed_};
  }
  [[nodiscard]] bool refused_now() const noexcept { return stats_.failures != before_.failures; }
  [[nodiscard]] bool in_universe(page_range r) const noexcept { return r.valid() && r.last <= Kind::top; }

  void fail(const std::string& what) const { broken(std::string(Kind::name) + ": " + what, op_); }

  /// The call failed: nothing may have changed (the oracle was not touched).
  void unchanged(const S& s, const O& oracle, const range_list& reported, const char* what) const {
    if (!reported.empty()) fail(std::string(what) + " failed but called its visitor");
    if (s.memory_bytes() != before_.bytes || stats_.live_bytes != before_.live)
      fail(std::string(what) + " failed but changed memory: " + std::to_string(before_.bytes) + " -> " +
           std::to_string(s.memory_bytes()) + " bytes, live " + std::to_string(before_.live) + " -> " +
           std::to_string(stats_.live_bytes));
    if (test::collect_ranges(s) != test::collect_ranges(oracle)) fail(std::string(what) + " failed but changed the pages");
  }

  void grant(S& s, O& oracle, page_range r, std::uint8_t b) {
    range_list reported;
    faults().arm(b);
    if (!in_universe(r)) {
      const errc e = s.grant(r, test::range_recorder{&reported});
      if (e != errc::invalid_range) fail("grant " + text(r) + " of an invalid range returned " + to_string(e));
      unchanged(s, oracle, reported, "grant");
      return;
    }
    const range_list added = minus(range_list{r}, test::collect_ranges(oracle, r));
    const errc e = s.grant(r, test::range_recorder{&reported});
    faults().disarm();
    if (tracing_) std::fprintf(stderr, "grant %s: %s\n", text(r).c_str(), to_string(e));
    if (e == errc::ok) {
      if (reported != added) fail("grant " + text(r) + " reported " + text(reported) + ", expected " + text(added));
      static_cast<void>(oracle.grant(r));
      if (!s.reserve_full() && !Kind::is_oracle) fail("a successful grant left the revoke reserve short");
      return;
    }
    if (e == errc::out_of_memory && Kind::allocates) {
      if (!refused_now()) fail("grant " + text(r) + " returned out_of_memory although no allocation was refused");
    } else if (e == errc::capacity_exceeded && Kind::capacity_bounded) {
      O after;
      static_cast<void>(after.assign(oracle));
      static_cast<void>(after.grant(r));
      if (after.range_count() + s.reserve_count() <= Kind::capacity)
        fail("grant " + text(r) + " returned capacity_exceeded with room for the result and the reserve");
    } else {
      fail("grant " + text(r) + " returned " + to_string(e));
    }
    unchanged(s, oracle, reported, "grant");
  }

  void revoke(S& s, O& oracle, input& in, std::uint8_t b, bool exact) {
    const char* what = exact ? "revoke_exact" : "revoke";
    const page_range r = drawer_.range(in);
    range_list reported;
    faults().arm(b);
    if (!in_universe(r)) {
      const errc e = exact ? s.revoke_exact(r, test::range_recorder{&reported}) : s.revoke(r, test::range_recorder{&reported});
      if (e != errc::invalid_range) fail(std::string(what) + " of an invalid range returned " + to_string(e));
      unchanged(s, oracle, reported, what);
      return;
    }
    const range_list old = test::collect_ranges(oracle);
    const range_list removed = clip(old, r);
    const std::size_t covered = guaranteed_;
    // Each revoke may use one reserved revoke, whatever it needed.
    guaranteed_ = covered > 0 ? covered - 1 : 0;
    const errc e = exact ? s.revoke_exact(r, test::range_recorder{&reported}) : s.revoke(r, test::range_recorder{&reported});
    faults().disarm();
    if (tracing_) std::fprintf(stderr, "%s %s: %s\n", what, text(r).c_str(), to_string(e));
    const std::string call = std::string(what) + " " + text(r);
    if (e == errc::ok) {
      if (reported != removed) fail(call + " reported " + text(reported) + ", expected " + text(removed));
      static_cast<void>(oracle.revoke(r));
      return;
    }
    // Would the exact result fit a fixed-capacity set?
    const auto exact_too_big = [&]() {
      O after;
      static_cast<void>(after.assign(oracle));
      static_cast<void>(after.revoke(r));
      return after.range_count() > Kind::capacity;
    };
    const bool refused = Kind::allocates && refused_now();
    const bool may_lose = covered == 0 && (refused || (Kind::capacity_bounded && exact_too_big()));
    if (exact || (Kind::is_oracle && e == errc::out_of_memory)) {
      // An exact revoke (and the oracle's revoke) fails only when it truly could
      // not get memory, with nothing changed.
      const bool allowed = (e == errc::out_of_memory && refused && (covered == 0 || Kind::is_oracle)) ||
                           (e == errc::capacity_exceeded && Kind::capacity_bounded && may_lose);
      if (!allowed)
        fail(call + " returned " + to_string(e) + (refused ? " (an allocation was refused" : " (no allocation refused") +
             ", reserve covering " + std::to_string(covered) + " revokes)");
      unchanged(s, oracle, reported, what);
      return;
    }
    if (e != errc::revoked_extra || !may_lose)
      fail(call + " returned " + to_string(e) + (refused ? " (an allocation was refused" : " (no allocation refused") +
           ", reserve covering " + std::to_string(covered) + " revokes)");
    // Fail-closed: r is gone, nothing new appeared, the visitor saw all that went.
    const range_list now = test::collect_ranges(s);
    if (!clip(now, r).empty()) fail(call + " returned revoked_extra and left pages of r granted");
    if (!minus(now, old).empty()) fail(call + " returned revoked_extra and granted pages: " + text(minus(now, old)));
    const range_list lost = minus(old, now);
    if (!normalise(reported) || reported != lost)
      fail(call + " returned revoked_extra, reported " + text(reported) + ", lost " + text(lost));
    if (lost == removed) fail(call + " returned revoked_extra but removed exactly r");
    check_worst_case(call, old, r, minus(lost, removed));
    for (page_range x : lost) static_cast<void>(oracle.revoke(x));
  }

  /// The worst case README.md documents for what a fail-closed revoke drops beyond
  /// r. chunked_bitmap: the cut chunks and, right of them, the rest of the run at
  /// r's end. The others: no more pages than the smaller piece of the one run r
  /// lies strictly inside (only such a cut needs memory).
  void check_worst_case(const std::string& call, const range_list& old, page_range r, const range_list& extra) const {
    const auto run_at = [&](page_t p) {
      for (page_range x : old)
        if (x.first <= p && p <= x.last) return x;
      return page_range::invalid();
    };
    if constexpr (requires { S::chunk_pages; }) {
      const page_t lo = r.first - r.first % S::chunk_pages;
      page_t hi = r.last | (S::chunk_pages - 1);
      if (r.last < max_page && run_at(r.last + 1).valid() && run_at(r.last + 1).last > hi) hi = run_at(r.last + 1).last;
      for (page_range x : extra)
        if (x.first < lo || x.last > hi)
          fail(call + " dropped " + text(x) + ", outside the cut chunks and the run right of them");
    } else {
      const page_range x = run_at(r.first);
      if (!x.valid() || x.first >= r.first || x.last <= r.last)
        fail(call + " returned revoked_extra, but r does not lie strictly inside one run");
      const page_t smaller = std::min(r.first - x.first, x.last - r.last);
      if (test::total_pages(extra) > smaller)
        fail(call + " dropped " + std::to_string(test::total_pages(extra)) + " pages beyond r, more than the " +
             std::to_string(smaller) + " of the smaller piece of " + text(x));
    }
  }

  void reserve(S& s, input& in, std::uint8_t b) {
    const std::uint8_t k = in.u8();
    const std::size_t n = k < 200 ? k % 8 : std::size_t{k - 200u};
    const std::size_t had = s.reserve_count();
    faults().arm(b);
    const errc e = s.reserve(n);
    faults().disarm();
    if (tracing_) std::fprintf(stderr, "reserve(%zu): %s\n", n, to_string(e));
    if (e == errc::ok) {
      if (n != 0 && s.reserve_count() != n) fail("reserve(" + std::to_string(n) + ") left reserve_count() " +
                                                 std::to_string(s.reserve_count()));
      if (n == 0 && s.reserve_count() > 1) fail("reserve(0) did not return to the default");
      if (!Kind::is_oracle && !s.reserve_full()) fail("reserve(" + std::to_string(n) + ") succeeded, reserve not full");
      guaranteed_ = Kind::is_oracle ? 0 : s.reserve_count();
      return;
    }
    const bool allowed = (e == errc::out_of_memory && Kind::allocates && refused_now()) ||
                         (e == errc::capacity_exceeded && Kind::capacity_bounded);
    if (!allowed) fail("reserve(" + std::to_string(n) + ") returned " + to_string(e));
    if (s.reserve_count() != had) fail("a failed reserve changed reserve_count()");
    if (s.memory_bytes() != before_.bytes || stats_.live_bytes != before_.live) fail("a failed reserve changed memory");
  }

  void shrink(S& s, std::uint8_t b) {
    const bool armed = faults().arm(b);
    const errc e = s.shrink_to_fit();
    faults().disarm();
    if (e != errc::ok) {
      if (e != errc::out_of_memory || !refused_now()) fail("shrink_to_fit returned " + std::string(to_string(e)));
      if (s.memory_bytes() != before_.bytes || stats_.live_bytes != before_.live)
        fail("a failed shrink_to_fit changed memory");
      return;
    }
    if (armed || stats_.byte_budget != SIZE_MAX) return;
    // The bytes are a function of the pages and the reserve count alone: a set built
    // from scratch to the same pages and shrunk holds the same.
    alloc_stats st;
    test::allocation_audit au;
    S twin = Kind::make(fuzz_allocator(st, test::tracking_allocator(au)));
    if (twin.reserve(s.reserve_count()) != errc::ok) fail("reserve on a fresh set failed");
    const bool all = s.for_each_range([&](page_range x) { return twin.grant(x) == errc::ok; });
    if (!all || twin.shrink_to_fit() != errc::ok) fail("building the twin failed");
    if (twin.memory_bytes() != s.memory_bytes())
      fail("after shrink_to_fit " + std::to_string(s.memory_bytes()) + " bytes; the same pages built and shrunk: " +
           std::to_string(twin.memory_bytes()));
  }

  void copy(S& s, std::uint8_t b) {
    S c = make();
    faults().arm(b);
    const errc e = c.assign(s);
    faults().disarm();
    if (e != errc::ok) {
      if (e != errc::out_of_memory || !refused_now()) fail("assign returned " + std::string(to_string(e)));
      if (!c.empty()) fail("a failed assign left pages in the target");
      return;
    }
    if (test::collect_ranges(c) != test::collect_ranges(s)) fail("assign made a copy that differs");
    s = std::move(c);
    guaranteed_ = 0;  // the copy has a reserve of its own (counted afresh below if full)
  }

  void check_all(const S& s, const O& oracle) const {
    if (!Kind::check(s)) fail("check_invariants() is false");
    const range_list mine = test::collect_ranges(s);
    const range_list theirs = test::collect_ranges(oracle);
    if (mine != theirs) fail("contents differ from the oracle:\n  backend " + text(mine) + "\n  oracle  " + text(theirs));
    if (s.count() != test::total_pages(theirs)) fail("count() disagrees");
    if (s.range_count() != theirs.size()) fail("range_count() disagrees");
    if (s.empty() != theirs.empty()) fail("empty() disagrees");
    if (Kind::allocates) {
      if (s.memory_bytes() != stats_.live_bytes)
        fail("memory_bytes() " + std::to_string(s.memory_bytes()) + " != live bytes " + std::to_string(stats_.live_bytes));
    } else if (s.memory_bytes() != Kind::fixed_bytes || stats_.live_bytes != 0) {
      fail("a set without an allocator changed its bytes");
    }
    if (const std::string p = audit_.problems(); !p.empty()) fail("allocator audit: " + p);
    // Queries around the runs' edges.
    for (std::size_t i = 0; i < theirs.size() && i < 8; ++i) {
      const page_range x = theirs[theirs.size() - 1 - i];
      if (!s.contains(x.first) || !s.contains(x.last) || !s.contains_all(x)) fail("a granted run is not contained");
      if (x.first > 0 && (s.contains(x.first - 1) || s.contains_all(page_range{x.first - 1, x.last})))
        fail("the page before a run is contained");
      if (x.last < max_page && s.contains(x.last + 1)) fail("the page after a run is contained");
    }
  }

  alloc_stats stats_;
  test::allocation_audit audit_;
  drawer drawer_;
  state before_;
  std::size_t guaranteed_ = 0;  // revokes the reserve must still make exact
  std::size_t op_ = 0;
  bool tracing_ = std::getenv("PMEMPERM_FUZZ_TRACE") != nullptr;  // each op's outcome on stderr
};

template <class Kind>
void run_one(input& in) {
  session<Kind> s;
  s.run(in);
}

template <class... Kinds>
void dispatch(std::uint8_t which, input& in, std::tuple<Kinds...>*) {
  std::size_t i = 0;
  const std::size_t pick = which % sizeof...(Kinds);
  static_cast<void>(((i++ == pick ? (run_one<Kinds>(in), true) : false) || ...));
}

}  // namespace
}  // namespace pmemperm::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pmemperm::fuzz::input in(data, size);
  const std::uint8_t which = in.u8();
  pmemperm::fuzz::dispatch(which, in, static_cast<pmemperm::test::all_backends*>(nullptr));
  return 0;
}
