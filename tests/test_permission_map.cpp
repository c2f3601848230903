// permission_map over rangeset<>, hybrid<> and capped_page (and chunked_bitmap<> in
// the differential run).
//
// What is checked, per backend:
//  - the per-domain basics (permit, deny with and without a visitor, permitted for a
//    page and a range, destroy, find), unknown domains, and that a failed call never
//    creates a domain;
//  - budgets: the exact edge — what a permit needs is measured as the peak of the
//    domain's bytes on a scratch map; a budget of exactly that passes, one byte less
//    gives budget_exceeded and changes nothing — deny never failing for budget, and
//    capped_page's fixed 4 KiB;
//  - permit_all (all or nothing, the budget hit halfway), permit_exclusive,
//    transfer (not_held, both sides unchanged on failure, `to` created), holders;
//  - memory_bytes() against a counting allocator after every operation, and 0 live
//    bytes once the map is gone;
//  - a differential run of random multi-domain sequences against a model (one
//    Boost.ICL set per domain), compared after every operation;
//  - fault injection at every allocation of permit, permit_all, permit_exclusive and
//    transfer: on failure nothing changed, memory_bytes() included;
//  - many domains (W8-like: 1024 domains partitioning 2^26 pages, each fragmented).
// Whether an operation allocates depends on the room left in a backend's nodes, so
// the budget and fault-injection cases search a sequence of candidate operations
// for ones that do (first_allocating) instead of hard-coding states.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <pmemperm/backends/capped_page.hpp>
#include <pmemperm/backends/chunked_bitmap.hpp>
#include <pmemperm/backends/hybrid.hpp>
#include <pmemperm/backends/icl.hpp>
#include <pmemperm/backends/rangeset.hpp>
#include <pmemperm/permission_map.hpp>
#include <pmemperm/testing.hpp>

#include "support/generic_ops.hpp"
#include "support/printing.hpp"

using namespace pmemperm;

namespace {

using domain = std::uint16_t;
using run_list = std::vector<page_range>;
using counted = counting_allocator<>;
using failing = failing_allocator<>;
template <class Set>
using counted_map = permission_map<Set, domain, counted>;
template <class Set>
using failing_map = permission_map<Set, domain, failing>;

/// A fixed-size set (capped_page): one 4 KiB page, no allocator, a run capacity.
template <class Set>
inline constexpr bool bounded = std::is_same_v<Set, capped_page>;

/// What memory_bytes(d) is for a domain that holds nothing.
template <class Set>
inline constexpr std::size_t empty_set_bytes = bounded<Set> ? sizeof(capped_page) : 0;

template <class S>
run_list runs_of(const S& s) {
  return test::collect_ranges(s);
}

// ---- a map's observable state ---------------------------------------------------

struct domain_view {
  run_list runs;
  std::uint64_t pages = 0;
  std::size_t bytes = 0;
  std::size_t budget = 0;
  bool operator==(const domain_view&) const = default;
};

struct map_view {
  std::map<domain, domain_view> domains;
  std::size_t bytes = 0;
  bool operator==(const map_view&) const = default;

  /// The same domains, runs and budgets (bytes may differ: a best-effort
  /// allocation that was refused leaves the contents exact but the size different).
  [[nodiscard]] bool same_contents(const map_view& o) const {
    if (domains.size() != o.domains.size()) return false;
    for (auto a = domains.begin(), b = o.domains.begin(); a != domains.end(); ++a, ++b)
      if (a->first != b->first || a->second.runs != b->second.runs || a->second.budget != b->second.budget)
        return false;
    return true;
  }
};

std::string text(const map_view& v) {
  std::string out = "map of " + std::to_string(v.bytes) + " bytes:";
  for (const auto& [d, dv] : v.domains) {
    out += "\n  domain " + std::to_string(d) + ": " + std::to_string(dv.pages) + " pages, " +
           std::to_string(dv.bytes) + " bytes, budget " +
           (dv.budget == SIZE_MAX ? std::string("none") : std::to_string(dv.budget)) + ", runs " +
           test::ranges_text(dv.runs, 16);
  }
  return out;
}

template <class M>
map_view view_of(const M& m) {
  map_view v;
  v.bytes = m.memory_bytes();
  const bool all = m.for_each_domain([&](domain d) {
    const auto* s = m.find(d);
    REQUIRE(s != nullptr);
    v.domains.emplace(d, domain_view{runs_of(*s), s->count(), m.memory_bytes(d), m.budget(d)});
    return true;
  });
  REQUIRE(all);
  REQUIRE(v.domains.size() == m.domain_count());
  return v;
}

template <class M>
std::vector<domain> holders_of(const M& m, page_t p) {
  std::vector<domain> out;
  const bool all = m.for_each_holder(p, [&out](domain d) {
    out.push_back(d);
    return true;
  });
  REQUIRE(all);
  return out;
}

// ---- the model: one Boost.ICL set per domain -------------------------------------

struct model {
  std::map<domain, icl_set<>> sets;
  std::map<domain, std::size_t> budgets;

  [[nodiscard]] bool has(domain d) const { return sets.count(d) != 0; }
  icl_set<>& at(domain d) { return sets[d]; }
  void grant(domain d, page_range r) { REQUIRE(sets[d].grant(r) == errc::ok); }
  void revoke(domain d, page_range r) {
    auto it = sets.find(d);
    if (it != sets.end()) REQUIRE(it->second.revoke(r) == errc::ok);
  }
  void erase(domain d) {
    sets.erase(d);
    budgets.erase(d);
  }
  [[nodiscard]] std::size_t budget(domain d) const {
    const auto it = budgets.find(d);
    return it == budgets.end() ? SIZE_MAX : it->second;
  }
  [[nodiscard]] std::vector<domain> holders(page_t p) const {
    std::vector<domain> out;
    for (const auto& [d, s] : sets)
      if (s.contains(p)) out.push_back(d);
    return out;
  }
  [[nodiscard]] bool other_holds_any(domain d, page_range r) const {
    for (const auto& [e, s] : sets)
      if (e != d && s.contains_any(r)) return true;
    return false;
  }
  /// Runs of d's set with every range of rs granted too (the set itself unchanged).
  [[nodiscard]] std::size_t runs_after_grants(domain d, const run_list& rs) const {
    icl_set<> copy;
    const auto it = sets.find(d);
    if (it != sets.end()) REQUIRE(copy.assign(it->second) == errc::ok);
    for (const page_range& r : rs) REQUIRE(copy.grant(r) == errc::ok);
    return copy.range_count();
  }
};

/// The map holds exactly what the model holds, and answers every query the same.
template <class M>
void require_matches(const M& m, const model& md, const alloc_stats& st, std::mt19937_64& rng,
                     page_range near) {
  INFO(text(view_of(m)));
  REQUIRE(m.check_invariants());
  REQUIRE(m.memory_bytes() == st.live_bytes);
  REQUIRE(m.domain_count() == md.sets.size());
  for (const auto& [d, s] : md.sets) {
    INFO("domain " << d);
    const auto* set = m.find(d);
    REQUIRE(set != nullptr);
    REQUIRE(runs_of(*set) == runs_of(s));
    REQUIRE(set->count() == s.count());
    REQUIRE(m.budget(d) == md.budget(d));
  }
  // Sample points: the edges of the last operation's range, and random pages.
  std::vector<page_t> points;
  if (near.valid()) {
    for (page_t p : {near.first, near.last}) {
      points.push_back(p);
      if (p > 0) points.push_back(p - 1);
      if (p < max_page) points.push_back(p + 1);
    }
  }
  for (int i = 0; i < 6; ++i) points.push_back(rng() % 4200);
  for (page_t p : points) {
    INFO("page " << test::page_text(p));
    REQUIRE(holders_of(m, p) == md.holders(p));
    for (domain d = 0; d < 18; ++d) {
      const bool expect = md.has(d) && md.sets.at(d).contains(p);
      REQUIRE(m.permitted(d, p) == expect);
    }
  }
  if (near.valid()) {
    for (domain d = 0; d < 18; ++d) {
      const bool expect = md.has(d) && md.sets.at(d).contains_all(near);
      REQUIRE(m.permitted(d, near) == expect);
    }
  }
}

// ---- helpers for the fixed scenarios ---------------------------------------------

/// Every other block of `block` pages in [first, first + blocks * 2 * block).
template <class M>
void permit_striped(M& m, domain d, page_t first, std::uint64_t blocks, std::uint64_t block) {
  for (std::uint64_t i = 0; i < blocks; ++i)
    REQUIRE(m.permit(d, page_range::from_count(first + i * 2 * block, block)) == errc::ok);
}

/// What an operation on domain d allocates, measured on a map built by `build` with
/// a counting allocator (no other domain allocates during the op): the bytes d's
/// set held before, and how far the live bytes rose above their level before.
struct growth {
  std::size_t set_before = 0;
  std::size_t rise = 0;
};
template <class Set, class Build, class Op>
growth measure(domain d, Build&& build, Op&& op) {
  alloc_stats st;
  counted_map<Set> m{counted(st)};
  build(m);
  const std::size_t live_before = st.live_bytes;
  growth g;
  g.set_before = m.memory_bytes(d);
  st.peak_bytes = st.live_bytes;
  REQUIRE(op(m) == errc::ok);
  g.rise = st.peak_bytes - live_before;
  return g;
}

/// Allocation calls so far (successful or not), for either test allocator.
inline std::uint64_t calls(const alloc_stats& st) { return st.allocations + st.failures; }

/// The smallest k for which op(m, k), run after op(m, 0) ... op(m, k - 1), calls the
/// allocator. Whether an op allocates depends on the room left in the backend's
/// nodes, so the tests search for one instead of guessing.
template <class M, class Op>
std::uint64_t first_allocating(M& m, const alloc_stats& st, Op&& op) {
  for (std::uint64_t k = 0; k < 4000; ++k) {
    const std::uint64_t before = calls(st);
    REQUIRE(op(m, k) == errc::ok);
    if (calls(st) > before) return k;
  }
  FAIL("no op in the sequence allocates");
  return 0;
}

}  // namespace

// =================================================================================
// Basics
// =================================================================================

TEMPLATE_TEST_CASE("permission_map: permit, deny, permitted, find, destroy", "[permission_map]", rangeset<>,
                   hybrid<>, capped_page) {
  alloc_stats st;
  {
    counted_map<TestType> m{counted(st)};
    REQUIRE(m.domain_count() == 0);
    REQUIRE(m.memory_bytes() == 0);
    REQUIRE(m.find(1) == nullptr);

    REQUIRE(m.permit(1, page_range{100, 199}) == errc::ok);
    REQUIRE(m.memory_bytes() == st.live_bytes);
    REQUIRE(m.permit(1, page_range{300, 300}) == errc::ok);
    REQUIRE(m.permit(2, page_range{150, 349}) == errc::ok);
    REQUIRE(m.memory_bytes() == st.live_bytes);
    REQUIRE(m.domain_count() == 2);

    CHECK(m.permitted(1, 100));
    CHECK(m.permitted(1, 199));
    CHECK_FALSE(m.permitted(1, 200));
    CHECK(m.permitted(1, 300));
    CHECK(m.permitted(1, page_range{100, 199}));
    CHECK_FALSE(m.permitted(1, page_range{100, 200}));
    CHECK_FALSE(m.permitted(1, page_range{199, 300}));
    CHECK(m.permitted(2, page_range{150, 349}));
    CHECK_FALSE(m.permitted(1, page_range::invalid()));
    CHECK_FALSE(m.permitted(2, page_range{349, 150}));

    const auto* s1 = m.find(1);
    REQUIRE(s1 != nullptr);
    CHECK(runs_of(*s1) == run_list{{100, 199}, {300, 300}});
    CHECK(s1->count() == 101);
    CHECK(m.memory_bytes(1) == s1->memory_bytes());

    // deny with a visitor reports exactly the pages the domain lost.
    run_list removed;
    REQUIRE(m.deny(1, page_range{150, 310}, [&removed](page_range r) { removed.push_back(r); }) == errc::ok);
    CHECK(removed == run_list{{150, 199}, {300, 300}});
    CHECK(runs_of(*m.find(1)) == run_list{{100, 149}});
    CHECK(m.permitted(2, page_range{150, 349}));  // another domain's pages are untouched
    REQUIRE(m.memory_bytes() == st.live_bytes);

    // A deny in the middle of a run splits it.
    REQUIRE(m.deny(2, page_range{200, 200}) == errc::ok);
    CHECK(runs_of(*m.find(2)) == run_list{{150, 199}, {201, 349}});
    // A deny of pages not held is a no-op that still succeeds.
    removed.clear();
    REQUIRE(m.deny(1, page_range{5000, 6000}, [&removed](page_range r) { removed.push_back(r); }) == errc::ok);
    CHECK(removed.empty());

    // A domain emptied by deny still exists.
    REQUIRE(m.deny(1, page_range{0, max_page}) == errc::ok);
    REQUIRE(m.find(1) != nullptr);
    CHECK(m.find(1)->empty());
    CHECK(m.domain_count() == 2);
    CHECK(m.memory_bytes(1) == empty_set_bytes<TestType>);

    // Pages at the top of the page space.
    REQUIRE(m.permit(3, page_range{max_page - 2, max_page}) == errc::ok);
    CHECK(m.permitted(3, max_page));
    CHECK(m.permitted(3, page_range{max_page - 2, max_page}));
    REQUIRE(m.memory_bytes() == st.live_bytes);

    REQUIRE(m.destroy(1) == errc::ok);
    CHECK(m.find(1) == nullptr);
    CHECK(m.memory_bytes(1) == 0);
    CHECK_FALSE(m.permitted(1, 120));
    CHECK(m.domain_count() == 2);
    REQUIRE(m.memory_bytes() == st.live_bytes);
    REQUIRE(m.destroy(1) == errc::no_such_domain);

    REQUIRE(m.destroy(2) == errc::ok);
    REQUIRE(m.destroy(3) == errc::ok);
    CHECK(m.domain_count() == 0);
    CHECK(m.memory_bytes() == st.live_bytes);
    REQUIRE(m.check_invariants());
  }
  CHECK(st.live_bytes == 0);
}

TEMPLATE_TEST_CASE("permission_map: unknown domains and invalid ranges change nothing", "[permission_map]",
                   rangeset<>, hybrid<>, capped_page) {
  alloc_stats st;
  {
    counted_map<TestType> m{counted(st)};
    REQUIRE(m.permit(7, page_range{10, 20}) == errc::ok);
    const map_view before = view_of(m);

    CHECK(m.deny(1, page_range{10, 20}) == errc::no_such_domain);
    run_list seen;
    CHECK(m.deny(1, page_range{10, 20}, [&seen](page_range r) { seen.push_back(r); }) == errc::no_such_domain);
    CHECK(seen.empty());
    CHECK(m.destroy(1) == errc::no_such_domain);
    CHECK(m.transfer(1, 7, page_range{10, 20}) == errc::no_such_domain);
    CHECK(m.transfer(1, 2, page_range{10, 20}) == errc::no_such_domain);
    CHECK_FALSE(m.permitted(1, 10));
    CHECK_FALSE(m.permitted(1, page_range{10, 20}));
    CHECK(m.find(1) == nullptr);
    CHECK(m.memory_bytes(1) == 0);
    CHECK(m.budget(1) == SIZE_MAX);

    const page_range bad[] = {page_range{20, 10}, page_range{max_page, max_page + 1},
                              page_range::from_count(max_page, 2), page_range::invalid()};
    for (const page_range r : bad) {
      INFO(test::range_text(r));
      CHECK(m.permit(1, r) == errc::invalid_range);
      CHECK(m.permit(7, r) == errc::invalid_range);
      CHECK(m.deny(7, r) == errc::invalid_range);
      CHECK(m.permit_exclusive(1, r) == errc::invalid_range);
      CHECK(m.transfer(7, 1, r) == errc::invalid_range);
      const page_range two[] = {page_range{1, 1}, r};
      CHECK(m.permit_all(1, two) == errc::invalid_range);
      CHECK(m.permit_all(7, two) == errc::invalid_range);
    }
    // An empty permit_all succeeds and creates nothing.
    CHECK(m.permit_all(1, std::span<const page_range>{}) == errc::ok);
    REQUIRE(view_of(m) == before);
    REQUIRE(m.memory_bytes() == st.live_bytes);
    REQUIRE(m.check_invariants());
  }
  CHECK(st.live_bytes == 0);
}

// =================================================================================
// Budgets
// =================================================================================

TEMPLATE_TEST_CASE("permission_map: budget edges, exactly at and one byte over", "[permission_map]", rangeset<>,
                   hybrid<>) {
  using M = counted_map<TestType>;
  struct scenario {
    const char* name;
    void (*build)(M&);
    page_range (*grant)(std::uint64_t k);  // the k-th candidate permit into domain 1
  };
  const scenario scenarios[] = {
      {"an empty domain (created by its budget)", [](M& m) { REQUIRE(m.permit(2, {0, 9}) == errc::ok); },
       [](std::uint64_t k) { return page_range::from_count(100 + 200 * k, 100); }},
      {"a second run", [](M& m) { REQUIRE(m.permit(1, {0, 9}) == errc::ok); },
       [](std::uint64_t k) { return page_range::from_count(100 + 200 * k, 100); }},
      {"fragmented, one more run", [](M& m) { permit_striped(m, 1, 0, 300, 3); },
       [](std::uint64_t k) { return page_range::single(5000 + 2 * k); }},
      {"fragmented, a run in a chunk of its own", [](M& m) { permit_striped(m, 1, 0, 40, 1); },
       [](std::uint64_t k) { return page_range::from_count((k + 16) << 16, 6); }},
      {"dense single pages", [](M& m) {
         for (page_t p = 0; p < 2000; p += 3) REQUIRE(m.permit(1, page_range::single(p)) == errc::ok);
       }, [](std::uint64_t k) { return page_range::single(7000 + 3 * k); }},
      {"filling gaps between pages", [](M& m) {
         for (page_t p = 0; p < 3000; p += 4) REQUIRE(m.permit(1, page_range::single(p)) == errc::ok);
       }, [](std::uint64_t k) { return page_range::single(2 + 4 * k); }},
  };
  for (const scenario& sc : scenarios) {
    SECTION(sc.name) {
      // set_budget(1, SIZE_MAX) makes domain 1 exist in every scenario, so the
      // measured op allocates for the set alone.
      std::uint64_t k = 0;
      {
        alloc_stats st;
        M scratch{counted(st)};
        sc.build(scratch);
        REQUIRE(scratch.set_budget(1, SIZE_MAX) == errc::ok);
        k = first_allocating(scratch, st, [&sc](M& m, std::uint64_t j) { return m.permit(1, sc.grant(j)); });
      }
      const auto build = [&sc, k](M& m) {
        sc.build(m);
        REQUIRE(m.set_budget(1, SIZE_MAX) == errc::ok);
        for (std::uint64_t j = 0; j < k; ++j) REQUIRE(m.permit(1, sc.grant(j)) == errc::ok);
      };
      const page_range grant = sc.grant(k);
      const growth g = measure<TestType>(1, build, [grant](M& m) { return m.permit(1, grant); });
      const std::size_t need = g.set_before + g.rise;
      INFO("permit " << test::range_text(grant) << " after " << k << " others: the set holds " << g.set_before
                     << " bytes and peaks at " << need);
      REQUIRE(g.rise > 0);

      {  // exactly at the budget: ok
        alloc_stats st2;
        M m{counted(st2)};
        build(m);
        REQUIRE(m.set_budget(1, need) == errc::ok);
        CHECK(m.budget(1) == need);
        REQUIRE(m.permit(1, grant) == errc::ok);
        CHECK(m.permitted(1, grant));
        CHECK(m.memory_bytes(1) <= need);
        CHECK(m.memory_bytes() == st2.live_bytes);
        CHECK(m.check_invariants());
      }
      {  // one byte less: budget_exceeded, nothing changed
        alloc_stats st2;
        M m{counted(st2)};
        build(m);
        REQUIRE(m.set_budget(1, need - 1) == errc::ok);
        const map_view before = view_of(m);
        CHECK(m.permit(1, grant) == errc::budget_exceeded);
        CHECK(view_of(m) == before);
        CHECK(m.memory_bytes() == st2.live_bytes);
        CHECK(m.check_invariants());
        // permit_exclusive and a transfer into domain 1 are bound by the same budget.
        CHECK(m.permit_exclusive(1, grant) == errc::budget_exceeded);
        CHECK(view_of(m) == before);
        REQUIRE(m.permit(9, grant) == errc::ok);
        const map_view before_transfer = view_of(m);
        CHECK(m.transfer(9, 1, grant) == errc::budget_exceeded);
        CHECK(view_of(m) == before_transfer);
        CHECK(m.memory_bytes() == st2.live_bytes);
        // Raising the budget by that byte lets the same permit through.
        REQUIRE(m.set_budget(1, need) == errc::ok);
        CHECK(m.permit(1, grant) == errc::ok);
        CHECK(m.check_invariants());
      }
    }
  }
}

TEMPLATE_TEST_CASE("permission_map: set_budget", "[permission_map]", rangeset<>, hybrid<>, capped_page) {
  alloc_stats st;
  counted_map<TestType> m{counted(st)};
  CHECK(m.budget(1) == SIZE_MAX);
  // A budget creates the domain (with an empty set).
  REQUIRE(m.set_budget(1, 1u << 20) == errc::ok);
  REQUIRE(m.find(1) != nullptr);
  CHECK(m.find(1)->empty());
  CHECK(m.budget(1) == (1u << 20));
  CHECK(m.memory_bytes() == st.live_bytes);

  permit_striped(m, 1, 0, 100, 2);
  const std::size_t held = m.memory_bytes(1);
  const map_view before = view_of(m);
  // Below what the set holds: refused, nothing changed.
  CHECK(m.set_budget(1, held - 1) == errc::budget_exceeded);
  CHECK(view_of(m) == before);
  // Exactly what it holds: fine; then nothing that allocates passes, but a permit
  // that needs no memory does.
  REQUIRE(m.set_budget(1, held) == errc::ok);
  CHECK(m.permit(1, page_range{0, 1}) == errc::ok);  // already held
  CHECK(m.memory_bytes() == st.live_bytes);

  // A failed set_budget on an unknown domain does not create it.
  if constexpr (bounded<TestType>) {
    CHECK(m.set_budget(2, sizeof(capped_page) - 1) == errc::budget_exceeded);
    CHECK(m.find(2) == nullptr);
    CHECK(m.set_budget(2, 0) == errc::budget_exceeded);
    CHECK(m.find(2) == nullptr);
    CHECK(m.set_budget(2, sizeof(capped_page)) == errc::ok);
    CHECK(m.permit(2, page_range{1, 1}) == errc::ok);
  } else {
    // An empty heap set holds no memory, so any budget fits it; then the domain
    // gets what needs no memory at all (maybe nothing), and memory stays 0.
    CHECK(m.set_budget(2, 0) == errc::ok);
    CHECK(m.find(2) != nullptr);
    errc e = errc::ok;
    for (page_t p = 1; p < 200 && e == errc::ok; p += 2) {
      const map_view was = view_of(m);
      e = m.permit(2, page_range::single(p));
      if (e != errc::ok) CHECK(view_of(m) == was);
      CHECK(m.memory_bytes(2) == 0);
    }
    CHECK(e == errc::budget_exceeded);
  }
  // Destroying a domain forgets its budget.
  REQUIRE(m.destroy(1) == errc::ok);
  CHECK(m.budget(1) == SIZE_MAX);
  CHECK(m.memory_bytes() == st.live_bytes);
  CHECK(m.check_invariants());
}

TEMPLATE_TEST_CASE("permission_map: deny never fails for budget", "[permission_map]", rangeset<>, hybrid<>,
                   capped_page) {
  alloc_stats st;
  counted_map<TestType> m{counted(st)};
  // Runs of 5 pages, 1 page apart, in several hybrid chunks.
  for (page_t base : {page_t{0}, page_t{1} << 16, page_t{3} << 16})
    for (page_t i = 0; i < 60; ++i) REQUIRE(m.permit(1, page_range::from_count(base + i * 6, 5)) == errc::ok);
  REQUIRE(m.set_budget(1, m.memory_bytes(1)) == errc::ok);
  // Split runs one after another: each split needs a slot the set reserved ahead;
  // refilling the reserve may allocate past the budget, which deny allows.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 150; ++i) {
    const page_t base = (page_t{rng() % 4} << 16) + (rng() % 60) * 6;
    const page_range r = page_range::single(base + 1 + rng() % 3);
    run_list removed;
    const errc e = m.deny(1, r, [&removed](page_range x) { removed.push_back(x); });
    INFO("deny " << test::range_text(r) << " -> " << to_string(e));
    CHECK((e == errc::ok || (bounded<TestType> && e == errc::revoked_extra)));
    CHECK_FALSE(m.permitted(1, r.first));
    REQUIRE(m.memory_bytes() == st.live_bytes);
  }
  CHECK(m.check_invariants());
}

TEST_CASE("permission_map<capped_page>: revoked_extra passes through deny", "[permission_map]") {
  alloc_stats st;
  counted_map<capped_page> m{counted(st)};
  // capacity - 1 single pages, then one run of 11 pages: the page is full.
  for (page_t i = 0; i + 1 < capped_page::capacity; ++i) REQUIRE(m.permit(1, page_range::single(2 * i)) == errc::ok);
  REQUIRE(m.permit(1, page_range{10000, 10010}) == errc::ok);
  REQUIRE(m.find(1)->range_count() == capped_page::capacity);
  // One more run does not fit.
  const map_view before = view_of(m);
  CHECK(m.permit(1, page_range{20000, 20000}) == errc::capacity_exceeded);
  // permit_all: the first range fits (it extends a run), the second does not.
  const page_range two[] = {page_range{10011, 10011}, page_range{20000, 20000}};
  CHECK(m.permit_all(1, two) == errc::capacity_exceeded);
  CHECK(view_of(m) == before);

  // Cutting the run in two needs one run too many: the fewest pages go too — here
  // the first one-page run, which is smaller than either piece of the cut run.
  run_list removed;
  CHECK(m.deny_exact(1, page_range{10003, 10003}) == errc::capacity_exceeded);
  CHECK(view_of(m) == before);
  CHECK(m.deny(1, page_range{10003, 10003}, [&removed](page_range r) { removed.push_back(r); }) ==
        errc::revoked_extra);
  CHECK(removed == run_list{{0, 0}, {10003, 10003}});
  CHECK_FALSE(m.permitted(1, 10003));
  CHECK_FALSE(m.permitted(1, 0));
  CHECK(m.permitted(1, page_range{10000, 10002}));
  CHECK(m.permitted(1, page_range{10004, 10010}));
  CHECK(m.check_invariants());
  CHECK(m.memory_bytes() == st.live_bytes);

  // Budgets below the page are refused; the page itself fits any budget >= 4096.
  CHECK(m.set_budget(1, 4095) == errc::budget_exceeded);
  CHECK(m.budget(1) == SIZE_MAX);
  CHECK(m.set_budget(1, 4096) == errc::ok);
  CHECK(m.permit(1, page_range{10003, 10003}) == errc::ok);  // extends a run: fits
}

TEST_CASE("permission_map<capped_page>: transfer never drops extra pages from the source", "[permission_map]") {
  alloc_stats st;
  counted_map<capped_page> m{counted(st)};
  for (page_t i = 0; i + 1 < capped_page::capacity; ++i) REQUIRE(m.permit(1, page_range::single(2 * i)) == errc::ok);
  REQUIRE(m.permit(1, page_range{10000, 10010}) == errc::ok);
  const map_view before = view_of(m);
  // Moving the middle of the run would need a run more than the source can hold.
  CHECK(m.transfer(1, 2, page_range{10003, 10005}) == errc::capacity_exceeded);
  CHECK(view_of(m) == before);
  // An end of the run, or a whole run, can move.
  CHECK(m.transfer(1, 2, page_range{10008, 10010}) == errc::ok);
  CHECK(m.transfer(1, 2, page_range{0, 0}) == errc::ok);
  CHECK(runs_of(*m.find(2)) == run_list{{0, 0}, {10008, 10010}});
  CHECK_FALSE(m.permitted(1, 0));
  // Now there is room for the cut.
  CHECK(m.transfer(1, 2, page_range{10003, 10005}) == errc::ok);
  CHECK(m.permitted(1, page_range{10000, 10002}));
  CHECK(m.permitted(1, page_range{10006, 10007}));
  CHECK(m.check_invariants());
  CHECK(m.memory_bytes() == st.live_bytes);
}

// =================================================================================
// permit_all, permit_exclusive, transfer, holders
// =================================================================================

TEMPLATE_TEST_CASE("permission_map: permit_all is all or nothing", "[permission_map]", rangeset<>, hybrid<>,
                   capped_page) {
  alloc_stats st;
  {
    counted_map<TestType> m{counted(st)};
    REQUIRE(m.permit(1, page_range{0, 9}) == errc::ok);
    const page_range rs[] = {{20, 29}, {10, 19}, {100, 100}, {1u << 20, (1u << 20) + 3}};
    REQUIRE(m.permit_all(1, rs) == errc::ok);
    CHECK(runs_of(*m.find(1)) == run_list{{0, 29}, {100, 100}, {1u << 20, (1u << 20) + 3}});
    CHECK(m.memory_bytes() == st.live_bytes);
    // Onto a new domain.
    REQUIRE(m.permit_all(5, rs) == errc::ok);
    CHECK(runs_of(*m.find(5)) == run_list{{10, 29}, {100, 100}, {1u << 20, (1u << 20) + 3}});
    CHECK(m.memory_bytes() == st.live_bytes);
    CHECK(m.check_invariants());
  }
  CHECK(st.live_bytes == 0);
}

TEMPLATE_TEST_CASE("permission_map: permit_all with the budget hit halfway changes nothing", "[permission_map]",
                   rangeset<>, hybrid<>) {
  // permit_all builds the new set as a copy, metered on its own: the budget bounds
  // the copy (its peak), while the old set stays as it is until the copy replaces it.
  using M = counted_map<TestType>;
  const auto build = [](M& m) {
    permit_striped(m, 1, 0, 20, 2);
    REQUIRE(m.set_budget(1, SIZE_MAX) == errc::ok);
  };
  run_list rs;
  for (page_t i = 0; i < 40; ++i) rs.push_back(page_range::single(((i + 4) << 16) + 5));  // a chunk each
  const run_list first_half(rs.begin(), rs.begin() + 20);
  // The rise includes the copy's set object, which comes from the map, not the budget.
  const std::size_t object = sizeof(typename M::set_type);
  const std::size_t half =
      measure<TestType>(1, build, [&](M& m) { return m.permit_all(1, first_half); }).rise - object;
  const std::size_t all = measure<TestType>(1, build, [&](M& m) { return m.permit_all(1, rs); }).rise - object;
  INFO("the copy peaks at " << half << " bytes with half the ranges, " << all << " with all");
  REQUIRE(half < all);

  alloc_stats st;
  M m{counted(st)};
  build(m);
  REQUIRE(m.set_budget(1, all - 1) == errc::ok);
  const map_view before = view_of(m);
  CHECK(m.permit_all(1, rs) == errc::budget_exceeded);
  CHECK(view_of(m) == before);
  CHECK(m.memory_bytes() == st.live_bytes);
  CHECK(m.check_invariants());
  // The first half alone fits, and the budget still holds afterwards.
  REQUIRE(m.set_budget(1, half) == errc::ok);
  CHECK(m.permit_all(1, first_half) == errc::ok);
  CHECK(m.memory_bytes(1) <= half);
  CHECK(m.check_invariants());
  // With exactly what it needs, all of it passes.
  alloc_stats st2;
  M m2{counted(st2)};
  build(m2);
  REQUIRE(m2.set_budget(1, all) == errc::ok);
  CHECK(m2.permit_all(1, rs) == errc::ok);
  for (const page_range& r : rs) CHECK(m2.permitted(1, r));
  CHECK(m2.memory_bytes(1) <= all);
  CHECK(m2.memory_bytes() == st2.live_bytes);
}

TEMPLATE_TEST_CASE("permission_map: permit_exclusive", "[permission_map]", rangeset<>, hybrid<>, capped_page) {
  alloc_stats st;
  counted_map<TestType> m{counted(st)};
  REQUIRE(m.permit(1, page_range{100, 199}) == errc::ok);
  REQUIRE(m.permit(2, page_range{300, 300}) == errc::ok);
  const map_view before = view_of(m);

  // Any page held by another domain is a conflict; nothing changes, nothing is created.
  CHECK(m.permit_exclusive(3, page_range{199, 250}) == errc::conflict);
  CHECK(m.permit_exclusive(3, page_range{0, 1000}) == errc::conflict);
  CHECK(m.permit_exclusive(1, page_range{250, 300}) == errc::conflict);
  CHECK(m.permit_exclusive(2, page_range{150, 150}) == errc::conflict);
  CHECK(view_of(m) == before);
  CHECK(m.find(3) == nullptr);

  // Pages the domain holds itself are no conflict.
  CHECK(m.permit_exclusive(1, page_range{150, 299}) == errc::ok);
  CHECK(runs_of(*m.find(1)) == run_list{{100, 299}});
  CHECK(m.permit_exclusive(3, page_range{301, 400}) == errc::ok);
  CHECK(m.permit_exclusive(3, page_range{0, 99}) == errc::ok);
  CHECK(m.permitted(3, page_range{301, 400}));
  CHECK(m.permitted(3, page_range{0, 99}));
  CHECK(holders_of(m, 50) == std::vector<domain>{3});
  CHECK(holders_of(m, 300) == std::vector<domain>{2});
  CHECK(m.memory_bytes() == st.live_bytes);
  CHECK(m.check_invariants());
}

TEMPLATE_TEST_CASE("permission_map: transfer", "[permission_map]", rangeset<>, hybrid<>, capped_page) {
  alloc_stats st;
  {
    counted_map<TestType> m{counted(st)};
    REQUIRE(m.permit(1, page_range{100, 199}) == errc::ok);
    REQUIRE(m.permit(1, page_range{300, 399}) == errc::ok);
    REQUIRE(m.permit(2, page_range{150, 160}) == errc::ok);  // shared with 1
    map_view before = view_of(m);

    SECTION("not_held: the source lacks a page, nothing changes, nothing is created") {
      CHECK(m.transfer(1, 3, page_range{150, 250}) == errc::not_held);
      CHECK(m.transfer(1, 3, page_range{199, 300}) == errc::not_held);
      CHECK(m.transfer(1, 3, page_range{0, 0}) == errc::not_held);
      CHECK(m.transfer(2, 1, page_range{150, 161}) == errc::not_held);
      CHECK(m.transfer(1, 1, page_range{150, 250}) == errc::not_held);
      CHECK(view_of(m) == before);
      CHECK(m.find(3) == nullptr);
    }
    SECTION("into a new domain") {
      REQUIRE(m.transfer(1, 3, page_range{120, 129}) == errc::ok);
      CHECK(runs_of(*m.find(1)) == run_list{{100, 119}, {130, 199}, {300, 399}});
      CHECK(runs_of(*m.find(3)) == run_list{{120, 129}});
      CHECK(runs_of(*m.find(2)) == run_list{{150, 160}});  // bystander untouched
    }
    SECTION("into an existing domain, merging with what it holds") {
      REQUIRE(m.transfer(1, 2, page_range{161, 199}) == errc::ok);
      CHECK(runs_of(*m.find(1)) == run_list{{100, 160}, {300, 399}});
      CHECK(runs_of(*m.find(2)) == run_list{{150, 199}});
      // A page held by both moves too: afterwards only `to` has it.
      REQUIRE(m.transfer(1, 2, page_range{155, 160}) == errc::ok);
      CHECK(holders_of(m, 155) == std::vector<domain>{2});
      // A whole run.
      REQUIRE(m.transfer(1, 2, page_range{300, 399}) == errc::ok);
      CHECK(runs_of(*m.find(1)) == run_list{{100, 154}});
    }
    SECTION("from == to is a no-op when held") {
      REQUIRE(m.transfer(1, 1, page_range{100, 199}) == errc::ok);
      CHECK(view_of(m) == before);
    }
    SECTION("the source may end up empty and still exists") {
      REQUIRE(m.transfer(2, 1, page_range{150, 160}) == errc::ok);
      REQUIRE(m.find(2) != nullptr);
      CHECK(m.find(2)->empty());
      CHECK(holders_of(m, 155) == std::vector<domain>{1});
    }
    CHECK(m.memory_bytes() == st.live_bytes);
    CHECK(m.check_invariants());
  }
  CHECK(st.live_bytes == 0);
}

TEMPLATE_TEST_CASE("permission_map: for_each_holder", "[permission_map]", rangeset<>, hybrid<>, capped_page) {
  alloc_stats st;
  counted_map<TestType> m{counted(st)};
  for (domain d : {domain{9}, domain{3}, domain{500}, domain{65535}, domain{0}})
    REQUIRE(m.permit(d, page_range{1000, 1999}) == errc::ok);
  REQUIRE(m.permit(3, page_range{5, 5}) == errc::ok);
  REQUIRE(m.deny(500, page_range{1500, 1500}) == errc::ok);

  CHECK(holders_of(m, 1000) == std::vector<domain>{0, 3, 9, 500, 65535});  // ascending
  CHECK(holders_of(m, 1500) == std::vector<domain>{0, 3, 9, 65535});
  CHECK(holders_of(m, 5) == std::vector<domain>{3});
  CHECK(holders_of(m, 6).empty());
  CHECK(holders_of(m, max_page).empty());

  // Early stop: false from f stops the walk and makes it return false.
  std::vector<domain> seen;
  CHECK_FALSE(m.for_each_holder(1000, [&seen](domain d) {
    seen.push_back(d);
    return seen.size() < 2;
  }));
  CHECK(seen == std::vector<domain>{0, 3});
  seen.clear();
  CHECK_FALSE(m.for_each_holder(5, [&seen](domain d) {
    seen.push_back(d);
    return false;
  }));
  CHECK(seen == std::vector<domain>{3});
  // No holder: f is never called, true.
  CHECK(m.for_each_holder(6, [](domain) { return false; }));
}

TEMPLATE_TEST_CASE("permission_map: memory_bytes is exact after every operation", "[permission_map]", rangeset<>,
                   hybrid<>, capped_page) {
  alloc_stats st;
  {
    counted_map<TestType> m{counted(st)};
    std::mt19937_64 rng(11);
    const auto same = [&] {
      REQUIRE(m.memory_bytes() == st.live_bytes);
      std::size_t sets = 0;
      REQUIRE(m.for_each_domain([&](domain d) {
        sets += m.memory_bytes(d);
        return true;
      }));
      REQUIRE(sets <= m.memory_bytes());
    };
    for (int i = 0; i < 600; ++i) {
      const domain d = static_cast<domain>(rng() % 300);  // > 255 domains: the index grows a level
      const page_range r = page_range::from_count(rng() % 3000, 1 + rng() % 20);
      switch (rng() % 6) {
        case 0:
        case 1: static_cast<void>(m.permit(d, r)); break;
        case 2: static_cast<void>(m.deny(d, r)); break;
        case 3: {
          const page_range rs[] = {r, page_range::single(r.last + 2)};
          static_cast<void>(m.permit_all(d, rs));
          break;
        }
        case 4: static_cast<void>(m.transfer(d, static_cast<domain>(rng() % 300), r)); break;
        default: static_cast<void>(m.destroy(d)); break;
      }
      same();
    }
    REQUIRE(m.check_invariants());
    // Moving the map moves its bytes.
    const std::size_t bytes = m.memory_bytes();
    counted_map<TestType> moved(std::move(m));
    CHECK(moved.memory_bytes() == bytes);
    CHECK(moved.memory_bytes() == st.live_bytes);
    CHECK(moved.check_invariants());
  }
  CHECK(st.live_bytes == 0);
}

// =================================================================================
// Differential: random multi-domain sequences against one ICL set per domain
// =================================================================================

namespace {

page_range random_range(std::mt19937_64& rng) {
  switch (rng() % 20) {
    case 0: return rng() % 2 ? page_range{50, 40} : page_range{max_page - 3, max_page + 2};
    case 1: {
      const page_t len = 1 + rng() % 8;
      return page_range{max_page - len - rng() % 4, max_page - rng() % 2};
    }
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 7: return page_range::single(rng() % 4096);
    case 8: return page_range::from_count(rng() % 4096, 1 + rng() % 2000);
    default: return page_range::from_count(rng() % 4096, 1 + rng() % 40);
  }
}

/// Runs `ops` random operations; counts the result codes into `seen`.
template <class Set>
void differential(std::uint64_t seed, int ops, std::map<errc, int>& seen) {
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  alloc_stats st;
  {
    counted_map<Set> m{counted(st)};
    model md;
    constexpr domain domains = 16;
    const auto pick = [&rng] { return static_cast<domain>(rng() % domains); };

    for (int i = 0; i < ops; ++i) {
      const map_view before = view_of(m);
      const std::size_t live_before = st.live_bytes;
      page_range near = page_range::invalid();
      const unsigned kind = static_cast<unsigned>(rng() % 16);
      // A permit-like call that failed must have changed nothing at all.
      const auto unchanged = [&] {
        REQUIRE(view_of(m) == before);
        REQUIRE(st.live_bytes == live_before);
      };
      // The budget stays respected by whatever a permit-like call allocated.
      const auto within_budget = [&](domain d) {
        if constexpr (!bounded<Set>) {
          const auto it = before.domains.find(d);
          const std::size_t was = it == before.domains.end() ? 0 : it->second.bytes;
          REQUIRE(m.memory_bytes(d) <= std::max(m.budget(d), was));
        }
      };
      // Which failures a grant of rs into d may report. A capped page refuses only a
      // result that does not fit, whatever the order of rs (permit_all).
      const auto too_many_runs = [&](domain d, const run_list& rs) {
        return bounded<Set> && md.runs_after_grants(d, rs) > capped_page::capacity;
      };
      const auto allowed_failure = [&](domain d, const run_list& rs, errc e) {
        if (e == errc::capacity_exceeded) return too_many_runs(d, rs);
        if (e == errc::budget_exceeded) return !bounded<Set> && md.budget(d) != SIZE_MAX;
        return false;
      };
      const auto must_fail = [&](domain d, const run_list& rs) { return too_many_runs(d, rs); };

      if (kind < 5) {  // permit
        const domain d = pick();
        const page_range r = random_range(rng);
        near = r;
        const errc e = m.permit(d, r);
        ++seen[e];
        INFO("op " << i << ": permit(" << d << ", " << test::range_text(r) << ") -> " << to_string(e));
        if (!r.valid()) {
          REQUIRE(e == errc::invalid_range);
          unchanged();
        } else if (e == errc::ok) {
          REQUIRE_FALSE(must_fail(d, {r}));
          md.grant(d, r);
          within_budget(d);
        } else {
          REQUIRE(allowed_failure(d, {r}, e));
          unchanged();
        }
      } else if (kind < 8) {  // deny, with the visitor
        const domain d = pick();
        const page_range r = random_range(rng);
        near = r;
        run_list removed;
        const errc e = m.deny(d, r, [&removed](page_range x) { removed.push_back(x); });
        ++seen[e];
        INFO("op " << i << ": deny(" << d << ", " << test::range_text(r) << ") -> " << to_string(e));
        if (!r.valid()) {
          REQUIRE(e == errc::invalid_range);
          unchanged();
        } else if (!md.has(d)) {
          REQUIRE(e == errc::no_such_domain);
          unchanged();
        } else {
          // Expected: the domain's runs clipped to r.
          run_list lost;
          const bool done = md.at(d).for_each_range(r, [&lost](page_range x) {
            lost.push_back(x);
            return true;
          });
          REQUIRE(done);
          if (e == errc::ok) {
            REQUIRE(removed == lost);
            md.revoke(d, r);
          } else {
            // capped_page on a full page: r plus the fewest pages that make it fit
            // (the smaller piece of the cut run, or one smaller whole run).
            REQUIRE(bounded<Set>);
            REQUIRE(e == errc::revoked_extra);
            REQUIRE((removed.size() == 1 || removed.size() == 2));
            for (const page_range& x : lost) {
              bool covered = false;
              for (const page_range& y : removed) covered = covered || (y.first <= x.first && x.last <= y.last);
              REQUIRE(covered);
            }
            for (const page_range& y : removed) REQUIRE(md.at(d).contains_all(y));
            for (const page_range& y : removed) md.revoke(d, y);
          }
          REQUIRE_FALSE(m.find(d)->contains_any(r));
        }
      } else if (kind < 10) {  // permit_all
        const domain d = pick();
        run_list rs;
        // Fragmenting batches; larger for capped_page, so that it reaches its capacity.
        const bool batch = rng() % (bounded<Set> ? 3 : 8) == 0;
        const std::size_t n = batch ? (bounded<Set> ? 100 + rng() % 200 : 20 + rng() % 40) : 1 + rng() % 4;
        if (batch) {  // single pages two apart
          const page_t base = rng() % 4096;
          for (std::size_t k = 0; k < n; ++k) rs.push_back(page_range::single(base + 2 * k));
        } else {
          for (std::size_t k = 0; k < n; ++k) rs.push_back(random_range(rng));
        }
        near = rs[0];
        const errc e = m.permit_all(d, rs);
        ++seen[e];
        INFO("op " << i << ": permit_all(" << d << ", " << test::ranges_text(rs) << ") -> " << to_string(e));
        const bool any_invalid = std::any_of(rs.begin(), rs.end(), [](page_range r) { return !r.valid(); });
        if (any_invalid) {
          REQUIRE(e == errc::invalid_range);
          unchanged();
        } else if (e == errc::ok) {
          REQUIRE_FALSE(must_fail(d, rs));
          for (const page_range& r : rs) md.grant(d, r);
          within_budget(d);
        } else {
          REQUIRE(allowed_failure(d, rs, e));
          unchanged();
        }
      } else if (kind < 11) {  // permit_exclusive
        const domain d = pick();
        const page_range r = random_range(rng);
        near = r;
        const errc e = m.permit_exclusive(d, r);
        ++seen[e];
        INFO("op " << i << ": permit_exclusive(" << d << ", " << test::range_text(r) << ") -> " << to_string(e));
        if (!r.valid()) {
          REQUIRE(e == errc::invalid_range);
          unchanged();
        } else if (md.other_holds_any(d, r)) {
          REQUIRE(e == errc::conflict);
          unchanged();
        } else if (e == errc::ok) {
          REQUIRE_FALSE(must_fail(d, {r}));
          md.grant(d, r);
          within_budget(d);
        } else {
          REQUIRE(allowed_failure(d, {r}, e));
          unchanged();
        }
      } else if (kind < 14) {  // transfer, mostly of something the source holds
        const domain from = pick();
        const domain to = rng() % 8 == 0 ? from : pick();
        page_range r = random_range(rng);
        if (md.has(from) && rng() % 4 != 0) {
          // A piece of one of from's runs.
          const run_list runs = runs_of(md.at(from));
          if (!runs.empty()) {
            const page_range run = runs[rng() % runs.size()];
            const page_t a = run.first + rng() % std::min<page_t>(run.size(), 64);
            const page_t b = a + rng() % std::min<page_t>(run.last - a + 1, 64);
            r = page_range{a, b};
          }
        }
        near = r;
        const errc e = m.transfer(from, to, r);
        ++seen[e];
        INFO("op " << i << ": transfer(" << from << ", " << to << ", " << test::range_text(r) << ") -> "
                   << to_string(e));
        if (!r.valid()) {
          REQUIRE(e == errc::invalid_range);
          unchanged();
        } else if (!md.has(from)) {
          REQUIRE(e == errc::no_such_domain);
          unchanged();
        } else if (!md.at(from).contains_all(r)) {
          REQUIRE(e == errc::not_held);
          unchanged();
        } else if (from == to) {
          REQUIRE(e == errc::ok);
          unchanged();
        } else if (e == errc::ok) {
          REQUIRE_FALSE(must_fail(to, {r}));
          md.grant(to, r);
          md.revoke(from, r);
          within_budget(to);
        } else if (e == errc::capacity_exceeded && bounded<Set> &&
                   md.at(from).range_count() == capped_page::capacity && r.first > 0 &&
                   md.at(from).contains(r.first - 1) && md.at(from).contains(r.last + 1)) {
          unchanged();  // the source could not have been cut exactly
        } else {
          REQUIRE(allowed_failure(to, {r}, e));
          unchanged();
        }
      } else if (kind < 15) {  // set_budget
        const domain d = pick();
        const std::size_t held = md.has(d) ? m.memory_bytes(d) : empty_set_bytes<Set>;
        std::size_t b = SIZE_MAX;
        switch (rng() % 4) {
          case 0: break;
          case 1: b = held > 0 ? held - 1 - rng() % held : 0; break;
          default: b = held + rng() % 2048; break;
        }
        const errc e = m.set_budget(d, b);
        ++seen[e];
        INFO("op " << i << ": set_budget(" << d << ", " << b << ") held " << held << " -> " << to_string(e));
        if (b >= held) {
          REQUIRE(e == errc::ok);
          static_cast<void>(md.at(d));  // creates the domain if needed
          md.budgets[d] = b;
        } else {
          REQUIRE(e == errc::budget_exceeded);
          unchanged();
        }
      } else {  // destroy (rarely)
        const domain d = pick();
        const errc e = m.destroy(d);
        ++seen[e];
        INFO("op " << i << ": destroy(" << d << ") -> " << to_string(e));
        if (md.has(d)) {
          REQUIRE(e == errc::ok);
          md.erase(d);
          REQUIRE(m.find(d) == nullptr);
          REQUIRE(m.memory_bytes(d) == 0);
        } else {
          REQUIRE(e == errc::no_such_domain);
          unchanged();
        }
      }
      require_matches(m, md, st, rng, near);
    }
  }
  REQUIRE(st.live_bytes == 0);
}

}  // namespace

TEMPLATE_TEST_CASE("permission_map: differential against one ICL set per domain", "[permission_map]", rangeset<>,
                   hybrid<>, capped_page, chunked_bitmap<>) {
  std::map<errc, int> seen;
  for (std::uint64_t seed : {1u, 2u, 3u}) differential<TestType>(seed, 1500, seen);
  // The sequences reach every outcome that applies to the backend.
  for (const errc e : {errc::ok, errc::invalid_range, errc::conflict, errc::no_such_domain, errc::not_held,
                       bounded<TestType> ? errc::capacity_exceeded : errc::budget_exceeded})
    CHECK(seen[e] > 0);
  if constexpr (bounded<TestType>) CHECK(seen[errc::revoked_extra] > 0);
}

// =================================================================================
// Fault injection: every allocation of permit, permit_all, permit_exclusive, transfer
// =================================================================================

namespace {

/// A few domains with fragmented sets; enough domains (> 255) with `many` that the
/// domain index has more than one level.
template <class M>
void build_fragmented(M& m, bool many) {
  permit_striped(m, 1, 0, 120, 3);
  REQUIRE(m.permit(1, page_range{1u << 18, (1u << 18) + 999}) == errc::ok);
  for (page_t p = 5000; p < 5400; p += 7) REQUIRE(m.permit(2, page_range::single(p)) == errc::ok);
  REQUIRE(m.permit(3, page_range{max_page - 100, max_page}) == errc::ok);
  if (many)
    for (domain d = 10; d < 310; ++d) REQUIRE(m.permit(d, page_range::single(100000 + d)) == errc::ok);
}

/// Runs `op` on a map built by `build`, once without failures, then with each of its
/// allocation attempts failing in turn (alone, and with every later one failing too).
/// A failed op returns out_of_memory and leaves the map exactly as it was, bytes
/// included; an op that absorbed the failure (a best-effort allocation) must have
/// the full effect.
template <class Set, class Build, class Op>
std::uint64_t inject_each(Build&& build, Op&& op) {
  std::uint64_t attempts = 0;
  map_view before, after;
  {
    alloc_stats st;
    failing_map<Set> m{failing(st)};
    build(m);
    before = view_of(m);
    const std::uint64_t a0 = st.attempts;
    REQUIRE(op(m) == errc::ok);
    attempts = st.attempts - a0;
    after = view_of(m);
    REQUIRE(m.check_invariants());
    REQUIRE(m.memory_bytes() == st.live_bytes);
  }
  INFO(attempts << " allocation attempts when nothing fails");
  REQUIRE(attempts > 0);
  std::uint64_t failed = 0;
  for (const bool and_after : {false, true}) {
    for (std::uint64_t k = 0; k < attempts; ++k) {
      INFO("attempt " << k << (and_after ? " and every later one" : "") << " fails");
      alloc_stats st;
      {
        failing_map<Set> m{failing(st)};
        build(m);
        REQUIRE(view_of(m) == before);
        failing(st).fail_nth_from_now(k, and_after);
        const errc e = op(m);
        failing(st).disarm();
        INFO("-> " << to_string(e));
        if (e == errc::ok) {
          REQUIRE(view_of(m).same_contents(after));
        } else {
          ++failed;
          REQUIRE(e == errc::out_of_memory);
          const map_view now = view_of(m);
          INFO("now " << text(now) << "\nbefore " << text(before));
          REQUIRE(now == before);
        }
        REQUIRE(m.check_invariants());
        REQUIRE(m.memory_bytes() == st.live_bytes);
        // The map still works: the op succeeds now.
        if (e != errc::ok) REQUIRE(op(m) == errc::ok);
        REQUIRE(view_of(m).same_contents(after));
        REQUIRE(m.memory_bytes() == st.live_bytes);
      }
      REQUIRE(st.live_bytes == 0);
    }
  }
  return failed;
}

/// Fault injection for the ops of a sequence op(m, 0), op(m, 1), ... that allocate,
/// each run after `build` and the ops before it, until one is found that some
/// injected failure makes fail (an op whose allocations are all best effort, like
/// refilling a revoke reserve, absorbs every failure; that is checked too).
template <class Set, class Build, class Op>
void inject_first_allocating(const char* what, Build&& build, Op&& op_k) {
  INFO(what);
  using M = failing_map<Set>;
  std::vector<std::uint64_t> allocating;
  {
    alloc_stats st;
    M m{failing(st)};
    build(m);
    for (std::uint64_t k = 0; k < 4000 && allocating.size() < 8; ++k) {
      const std::uint64_t before = calls(st);
      const errc e = op_k(m, k);
      // A sequence may run out (a transfer of pages the source no longer holds) once
      // it has shown allocating ops: how many of its ops allocate depends on the
      // sets' node sizes, not on what is tested here.
      if (e != errc::ok && !allocating.empty()) break;
      REQUIRE(e == errc::ok);
      if (calls(st) > before) allocating.push_back(k);
    }
  }
  REQUIRE_FALSE(allocating.empty());
  std::uint64_t failed = 0;
  for (std::size_t i = 0; i < allocating.size() && failed == 0; ++i) {
    const std::uint64_t k = allocating[i];
    INFO("op number " << k);
    failed += inject_each<Set>(
        [&](M& m) {
          build(m);
          for (std::uint64_t j = 0; j < k; ++j) REQUIRE(op_k(m, j) == errc::ok);
        },
        [&](M& m) { return op_k(m, k); });
  }
  REQUIRE(failed > 0);
}

}  // namespace

TEMPLATE_TEST_CASE("permission_map: fault injection at every allocation", "[permission_map]", rangeset<>, hybrid<>,
                   capped_page) {
  using M = failing_map<TestType>;
  using K = std::uint64_t;
  for (const bool many : {false, true}) {
    INFO((many ? "310 domains" : "4 domains"));
    const auto build = [many](M& m) { build_fragmented(m, many); };
    const auto far = [](K k) { return page_range::from_count((page_t{1} << 22) + 16 * k, 9); };
    const page_t mid = page_t{1} << 18;  // domain 1 holds [mid, mid + 999]

    if constexpr (!bounded<TestType>) {  // capped_page allocates only for new domains and copies
      inject_first_allocating<TestType>("permit: new runs in an existing domain", build,
                                        [&](M& m, K k) { return m.permit(1, far(k)); });
      inject_first_allocating<TestType>("permit: pages between pages", build,
                                        [](M& m, K k) { return m.permit(2, page_range::single(5003 + 7 * k)); });
      inject_first_allocating<TestType>("permit_exclusive: an existing domain", build,
                                        [&](M& m, K k) { return m.permit_exclusive(2, far(k)); });
      inject_first_allocating<TestType>("transfer: cutting runs, into an existing domain", build, [&](M& m, K k) {
        return m.transfer(1, 2, page_range::from_count(mid + 10 + 4 * k, 2));
      });
      inject_first_allocating<TestType>("transfer: whole runs into an existing domain", build,
                                        [](M& m, K k) { return m.transfer(1, 3, page_range::from_count(6 * k, 3)); });
    }
    inject_first_allocating<TestType>("permit: new domains", build,
                                      [&](M& m, K k) { return m.permit(static_cast<domain>(4 + k), far(k)); });
    inject_first_allocating<TestType>("permit: new domains above the others", build, [&](M& m, K k) {
      return m.permit(static_cast<domain>(60000 + k), far(k));
    });
    inject_first_allocating<TestType>("permit_all: an existing domain", build, [&](M& m, K k) {
      const page_range rs[] = {far(k), {1, 1}, {2000, 2000}, {mid + 2000, mid + 2003}};
      return m.permit_all(1, rs);
    });
    inject_first_allocating<TestType>("permit_all: new domains", build, [&](M& m, K k) {
      const page_range rs[] = {far(k), {1, 1}, {2000, 2000}, {mid + 2000, mid + 2003}};
      return m.permit_all(static_cast<domain>(400 + k), rs);
    });
    inject_first_allocating<TestType>("permit_exclusive: new domains", build, [&](M& m, K k) {
      return m.permit_exclusive(static_cast<domain>(500 + k), far(k));
    });
    inject_first_allocating<TestType>("transfer: cutting runs, into new domains", build, [&](M& m, K k) {
      return m.transfer(1, static_cast<domain>(600 + k), page_range::from_count(mid + 10 + 4 * k, 2));
    });
  }
}
TEMPLATE_TEST_CASE("permission_map: running out of memory with a byte budget", "[permission_map]", rangeset<>,
                   hybrid<>, capped_page) {
  // The allocator is kept short for a whole random sequence: every call either
  // succeeds or changes nothing (deny always succeeds).
  alloc_stats st;
  {
    failing_map<TestType> m{failing(st)};
    build_fragmented(m, false);
    std::mt19937_64 rng(5);
    for (int i = 0; i < 400; ++i) {
      st.byte_budget = st.live_bytes + rng() % 6000;
      const map_view before = view_of(m);
      const domain d = static_cast<domain>(rng() % 12);
      const page_range r = page_range::from_count(rng() % 6000, 1 + rng() % 5);
      errc e = errc::ok;
      switch (rng() % 4) {
        case 0: e = m.permit(d, r); break;
        case 1: {
          const page_range rs[] = {r, page_range::single(r.last + 3), page_range::single(r.last + 9)};
          e = m.permit_all(d, rs);
          break;
        }
        case 2: e = m.transfer(d, static_cast<domain>(rng() % 12), r); break;
        default: {
          e = m.deny(d, r);
          REQUIRE((e == errc::ok || e == errc::no_such_domain || (bounded<TestType> && e == errc::revoked_extra)));
          if (m.find(d) != nullptr) REQUIRE_FALSE(m.find(d)->contains_any(r));
          break;
        }
      }
      if (e == errc::out_of_memory || e == errc::not_held || e == errc::no_such_domain) {
        INFO(to_string(e));
        REQUIRE(view_of(m) == before);
      }
      st.byte_budget = SIZE_MAX;
      REQUIRE(m.memory_bytes() == st.live_bytes);
      REQUIRE(m.check_invariants());
    }
  }
  REQUIRE(st.live_bytes == 0);
}

// =================================================================================
// Many domains (W8-like)
// =================================================================================

TEMPLATE_TEST_CASE("permission_map: 1024 domains partitioning 2^26 pages", "[permission_map]", rangeset<>, hybrid<>,
                   capped_page) {
  // 2^16 stripes of 1024 pages; stripe i goes to two domains, cut at a random page:
  // the head to owner[i], the tail to another domain. Every page has exactly one
  // holder and each domain holds ~128 scattered pieces.
  constexpr page_t stripe = 1024;
  constexpr std::size_t stripes = std::size_t{1} << 16;
  constexpr domain domains = 1024;
  std::mt19937_64 rng(26);
  std::vector<domain> head(stripes), tail(stripes);
  std::vector<page_t> cut(stripes);
  for (std::size_t i = 0; i < stripes; ++i) {
    head[i] = static_cast<domain>(i % domains);
    cut[i] = 1 + rng() % (stripe - 1);
  }
  std::shuffle(head.begin(), head.end(), rng);
  for (std::size_t i = 0; i < stripes; ++i)
    tail[i] = static_cast<domain>((head[i] + 1 + rng() % (domains - 1)) % domains);
  const auto owner = [&](page_t p) {
    const std::size_t i = static_cast<std::size_t>(p / stripe);
    return p % stripe < cut[i] ? head[i] : tail[i];
  };

  alloc_stats st;
  {
    counted_map<TestType> m{counted(st)};
    for (std::size_t i = 0; i < stripes; ++i) {
      const page_t base = i * stripe;
      REQUIRE(m.permit(head[i], page_range{base, base + cut[i] - 1}) == errc::ok);
      REQUIRE(m.permit(tail[i], page_range{base + cut[i], base + stripe - 1}) == errc::ok);
    }
    REQUIRE(m.domain_count() == domains);
    REQUIRE(m.memory_bytes() == st.live_bytes);
    REQUIRE(m.check_invariants());
    std::uint64_t pages = 0;
    REQUIRE(m.for_each_domain([&](domain d) {
      pages += m.find(d)->count();
      return true;
    }));
    REQUIRE(pages == stripes * stripe);

    const auto check_pages = [&](int n) {
      for (int k = 0; k < n; ++k) {
        const page_t p = rng() % (stripes * stripe);
        const domain o = owner(p);
        INFO("page " << p << " owner " << o);
        REQUIRE(holders_of(m, p) == std::vector<domain>{o});
        REQUIRE(m.permitted(o, p));
        REQUIRE_FALSE(m.permitted(static_cast<domain>((o + 1 + rng() % (domains - 1)) % domains), p));
      }
    };
    check_pages(512);

    // Exclusive grants conflict everywhere inside the partition, not beyond it.
    CHECK(m.permit_exclusive(5, page_range{0, stripes * stripe - 1}) == errc::conflict);
    CHECK(m.permit_exclusive(owner(12345), page_range{12345, 12345}) == errc::ok);
    CHECK(m.permit_exclusive(2000, page_range::from_count(stripes * stripe, 10)) == errc::ok);
    REQUIRE(m.destroy(2000) == errc::ok);

    // Transfers move pieces between domains; ownership follows.
    for (int k = 0; k < 200; ++k) {
      const std::size_t i = static_cast<std::size_t>(rng() % stripes);
      const page_range piece{i * stripe, i * stripe + cut[i] - 1};
      const domain to = static_cast<domain>(rng() % domains);
      REQUIRE(m.transfer(head[i], to, piece) == errc::ok);
      head[i] = to;
      REQUIRE(holders_of(m, piece.first) == std::vector<domain>{to});
      REQUIRE(holders_of(m, piece.last) == std::vector<domain>{to});
    }
    check_pages(256);
    REQUIRE(m.memory_bytes() == st.live_bytes);

    // Destroying half the domains leaves their pages with no holder.
    for (domain d = 0; d < domains; d += 2) REQUIRE(m.destroy(d) == errc::ok);
    REQUIRE(m.domain_count() == domains / 2);
    for (int k = 0; k < 256; ++k) {
      const page_t p = rng() % (stripes * stripe);
      const domain o = owner(p);
      REQUIRE(holders_of(m, p) == (o % 2 == 0 ? std::vector<domain>{} : std::vector<domain>{o}));
    }
    REQUIRE(m.memory_bytes() == st.live_bytes);
    REQUIRE(m.check_invariants());
  }
  REQUIRE(st.live_bytes == 0);
}

TEMPLATE_TEST_CASE("permission_map: permit_all refuses only a result that does not fit, whatever the order",
                   "[permission_map]", rangeset<>, hybrid<>, capped_page) {
  // A fixed-capacity set is full after 255 lone pages. A permit_all that adds one
  // lone page and, later in its list, joins three of the runs into one ends with
  // 254 runs: it must succeed, although its first range alone would overflow.
  // Also for a new domain, whose ranges alone make 256 runs before the last joins
  // two. Heap sets take both anyway; all must end with the same pages.
  permission_map<TestType> m;
  std::vector<page_range> lone;
  for (page_t p = 10; p <= 2550; p += 10) lone.push_back(page_range::single(p));  // 255 runs
  for (const page_range& r : lone) REQUIRE(m.permit(1, r) == errc::ok);
  const page_range joined{10, 30};  // joins 10, 20 and 30
  const page_range extra = page_range::single(5000);
  const page_range both[] = {extra, joined};
  REQUIRE(m.permit_all(1, both) == errc::ok);
  const auto* s = m.find(1);
  REQUIRE(s != nullptr);
  CHECK(s->range_count() == 254);
  CHECK(s->contains_all(joined));
  CHECK(s->contains(5000));
  CHECK(s->count() == 255 - 3 + 21 + 1);

  std::vector<page_range> fresh = lone;
  fresh.push_back(extra);                  // 256 lone pages so far
  fresh.push_back(page_range{2540, 2550});  // joins the last two
  REQUIRE(m.permit_all(2, fresh) == errc::ok);
  const auto* t = m.find(2);
  REQUIRE(t != nullptr);
  CHECK(t->range_count() == 255);
  CHECK(t->contains_all(page_range{2540, 2550}));

  // A result that does not fit is still refused, with nothing changed.
  if constexpr (std::is_same_v<TestType, capped_page>) {
    std::vector<page_range> too_many = lone;
    too_many.push_back(extra);
    too_many.push_back(page_range::single(6000));
    too_many.push_back(page_range{2540, 2550});  // 257 - 1 = 256 runs
    REQUIRE(m.permit_all(3, too_many) == errc::capacity_exceeded);
    CHECK(m.find(3) == nullptr);
    const page_range over[] = {page_range::single(7000), page_range::single(7002)};  // 257 runs
    REQUIRE(m.permit_all(2, over) == errc::capacity_exceeded);
    CHECK(m.find(2)->range_count() == 255);
    CHECK(!m.find(2)->contains(7000));
  }
}
