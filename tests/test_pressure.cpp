// Memory pressure: the revoke reserve, exact revokes, shrink_to_fit, and the seven
// cases a new user found with a fixed arena and failing_allocator (each one below
// names its case). Generic cases run over every backend; the oracle (icl_set) is
// not bound by the reserve rules and is skipped where they are the point.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <pmemperm/backends/hybrid.hpp>
#include <pmemperm/backends/rangeset.hpp>
#include <pmemperm/permission_map.hpp>
#include <pmemperm/testing.hpp>

#include "support/backends.hpp"

using namespace pmemperm;
using namespace pmemperm::test;

namespace {

using falloc = failing_allocator<>;

/// Every run of s, in order.
template <class S>
std::vector<page_range> runs_of(const S& s) {
  std::vector<page_range> out;
  static_cast<void>(s.for_each_range([&](page_range r) noexcept {
    out.push_back(r);
    return true;
  }));
  return out;
}

/// Pages the visitor reported, as one list of ranges.
struct recorder {
  std::vector<page_range>* out;
  void operator()(page_range r) const noexcept { out->push_back(r); }
};

std::uint64_t pages_in(const std::vector<page_range>& rs) {
  std::uint64_t n = 0;
  for (const page_range& r : rs) n += r.size();
  return n;
}

/// A fragmented set: `n` runs of 16 pages, 16 apart.
template <class S>
void fill_runs(S& s, page_t base, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) REQUIRE(s.grant(page_range::from_count(base + 32 * i, 16)) == errc::ok);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("reserve(k): k cutting revokes stay exact with every allocation refused", "[pressure]",
                        all_backends) {
  using kind = TestType;
  if constexpr (!kind::is_oracle) {
    for (std::size_t k : {std::size_t{1}, std::size_t{3}, std::size_t{9}}) {
      CAPTURE(kind::name, k);
      alloc_stats st;
      auto s = kind::make(falloc(st));
      fill_runs(s, 1000, 200);
      // A long run too (whole chunks of chunked_bitmap, inside the flat test
      // universe), so index slots and range entries are cut as well.
      const page_t big_last = kind::top < 399999 ? kind::top : 399999;
      REQUIRE(s.grant(page_range{100000, big_last}) == errc::ok);
      REQUIRE(s.reserve(k) == errc::ok);
      const std::size_t bytes = s.memory_bytes();
      if constexpr (kind::allocates) CHECK(bytes == st.live_bytes);
      falloc(st).fail_nth_from_now(0, true);
      for (std::size_t i = 0; i < k; ++i) {
        // Alternate between a fragment run and the big run, cut strictly inside;
        // the big run's cuts straddle a 32768-page border, turning two full chunks
        // of chunked_bitmap back into bitmaps at once.
        const page_range r = i % 2 == 0 ? page_range::from_count(1000 + 32 * (7 * i) + 5, 3)
                                        : page_range{131072 + 32768 * (i / 2) - 3, 131072 + 32768 * (i / 2) + 2};
        std::vector<page_range> gone;
        const std::uint64_t before = s.count();
        REQUIRE(s.revoke(r, recorder{&gone}) == errc::ok);
        CHECK(pages_in(gone) == r.size());
        CHECK(s.count() == before - r.size());
        CHECK_FALSE(s.contains_any(r));
        CHECK(s.contains(r.first - 1));
        CHECK(s.contains(r.last + 1));
        CHECK(kind::check(s));
      }
      falloc(st).disarm();
    }
  }
}

TEMPLATE_LIST_TEST_CASE("a grant that succeeds leaves a reserve of k full, at every refused allocation", "[pressure]",
                        all_backends) {
  using kind = TestType;
  if constexpr (!kind::is_oracle) {
    alloc_stats st;
    auto s = kind::make(falloc(st));
    REQUIRE(s.reserve(5) == errc::ok);
    // Runs one by one through the index's growth (a full root leaf that splits, a
    // second level); each grant is tried with its k-th allocation refused, k = 0, 1,
    // ... until it succeeds: failures change nothing, a success leaves the reserve full.
    const std::size_t runs = kind::capacity_bounded ? kind::capacity - 5 : 600;
    for (std::size_t i = 0; i < runs; ++i) {
      const page_range r = page_range::from_count(8 * i + 3, 2);
      for (std::uint64_t k = 0;; ++k) {
        const std::vector<page_range> before = runs_of(s);
        const std::size_t bytes = s.memory_bytes();
        falloc(st).fail_nth_from_now(k);
        const errc e = s.grant(r);
        falloc(st).disarm();
        CAPTURE(kind::name, i, k, to_string(e));
        if (e == errc::ok) {
          REQUIRE(s.reserve_full());
          break;
        }
        REQUIRE(e == errc::out_of_memory);
        REQUIRE(runs_of(s) == before);
        REQUIRE(s.memory_bytes() == bytes);
      }
      REQUIRE(kind::check(s));
    }
    if constexpr (kind::allocates) CHECK(s.memory_bytes() == st.live_bytes);
  }
}

TEMPLATE_LIST_TEST_CASE("revoke_exact removes exactly r or changes nothing", "[pressure]", all_backends) {
  using kind = TestType;
  alloc_stats st;
  auto s = kind::make(falloc(st));
  fill_runs(s, 0, 240);
  falloc(st).fail_nth_from_now(0, true);
  // Cut run after run until the reserve is gone: every call is exact or a no-op.
  std::size_t failures = 0;
  for (std::size_t i = 0; i < 240; ++i) {
    const page_range r = page_range::from_count(32 * i + 4, 2);
    const std::vector<page_range> before = runs_of(s);
    const std::size_t bytes = s.memory_bytes();
    std::vector<page_range> gone;
    const errc e = s.revoke_exact(r, recorder{&gone});
    CAPTURE(kind::name, i, to_string(e));
    if (e == errc::ok) {
      CHECK(pages_in(gone) == 2);
      CHECK_FALSE(s.contains_any(r));
      CHECK(s.contains(r.first - 1));
      CHECK(s.contains(r.last + 1));
    } else {
      ++failures;
      REQUIRE((e == errc::out_of_memory || e == errc::capacity_exceeded));
      CHECK(gone.empty());
      CHECK(runs_of(s) == before);
      CHECK(s.memory_bytes() == bytes);
    }
    CHECK(kind::check(s));
  }
  if constexpr (kind::allocates) CHECK(s.memory_bytes() == st.live_bytes);
  // The index-based sets run out (bitmaps never need memory to clear bits).
  const std::string name = kind::name;
  if (name == "rangeset" || name == "hybrid") CHECK(failures > 0);
  falloc(st).disarm();
}

TEMPLATE_LIST_TEST_CASE("shrink_to_fit: the bytes depend on the pages alone", "[pressure]", all_backends) {
  using kind = TestType;
  alloc_stats sa, sb;
  auto a = kind::make(falloc(sa));
  auto b = kind::make(falloc(sb));
  // a: the pages directly; b: far more, then revoked down to the same pages.
  fill_runs(a, 5000, 60);
  REQUIRE(b.grant(page_range::from_count(5000, 32 * 60)) == errc::ok);
  fill_runs(b, 200000, 150);
  REQUIRE(b.revoke(page_range::from_count(200000, 32 * 150)) == errc::ok);
  for (std::size_t i = 0; i < 60; ++i) REQUIRE(b.revoke(page_range::from_count(5000 + 32 * i + 16, 16)) == errc::ok);
  REQUIRE(runs_of(a) == runs_of(b));
  REQUIRE(a.shrink_to_fit() == errc::ok);
  REQUIRE(b.shrink_to_fit() == errc::ok);
  CAPTURE(kind::name);
  CHECK(a.memory_bytes() == b.memory_bytes());
  CHECK(runs_of(a) == runs_of(b));
  CHECK(kind::check(a));
  CHECK(kind::check(b));
  // Refused, it changes nothing.
  if constexpr (kind::allocates) {
    falloc(sb).fail_nth_from_now(0, true);
    const std::size_t bytes = b.memory_bytes();
    const errc e = b.shrink_to_fit();
    CHECK((e == errc::ok || e == errc::out_of_memory));
    CHECK(b.memory_bytes() == bytes);
    CHECK(runs_of(a) == runs_of(b));
    falloc(sb).disarm();
  }
}

// ---- the seven cases ------------------------------------------------------------------

template <class Set>
struct map_fixture {
  alloc_stats st;
  permission_map<Set, std::uint16_t, falloc> m{falloc(st)};
  falloc alloc() { return falloc(st); }
};

TEMPLATE_TEST_CASE("case 1: transfer is exact after a refused refill", "[pressure][cases]", rangeset<>, hybrid<>) {
  map_fixture<TestType> f;
  REQUIRE(f.m.permit(1, page_range::closed(0, 99)) == errc::ok);
  REQUIRE(f.m.permit(2, page_range::single(1000)) == errc::ok);
  f.alloc().fail_nth_from_now(0);  // one refusal: the split's refill
  const errc d = f.m.deny(1, page_range::single(10));
  CHECK((d == errc::ok));
  f.alloc().disarm();
  REQUIRE(f.m.transfer(1, 2, page_range::single(50)) == errc::ok);
  CHECK(runs_of(*f.m.find(1)) ==
        std::vector<page_range>{page_range::closed(0, 9), page_range::closed(11, 49), page_range::closed(51, 99)});
  CHECK(runs_of(*f.m.find(2)) == std::vector<page_range>{page_range::single(50), page_range::single(1000)});
  CHECK(f.m.check_invariants());
}

TEMPLATE_TEST_CASE("case 1b: transfer under total refusal is exact or changes nothing", "[pressure][cases]",
                   rangeset<>, hybrid<>) {
  map_fixture<TestType> f;
  REQUIRE(f.m.permit(1, page_range::closed(0, 99)) == errc::ok);
  REQUIRE(f.m.permit(2, page_range::single(1000)) == errc::ok);
  f.alloc().fail_nth_from_now(0, true);
  for (page_t p = 10; p < 90; p += 7) {
    const auto a = runs_of(*f.m.find(1));
    const auto b = runs_of(*f.m.find(2));
    const errc e = f.m.transfer(1, 2, page_range::single(p));
    CAPTURE(p, to_string(e));
    REQUIRE(e != errc::revoked_extra);
    if (e == errc::ok) {
      CHECK_FALSE(f.m.permitted(1, p));
      CHECK(f.m.permitted(2, p));
      CHECK(f.m.find(1)->count() + 1 == pages_in(a));
      CHECK(f.m.find(2)->count() == pages_in(b) + 1);
    } else {
      CHECK(runs_of(*f.m.find(1)) == a);
      CHECK(runs_of(*f.m.find(2)) == b);
    }
  }
  f.alloc().disarm();
  CHECK(f.m.check_invariants());
}

TEMPLATE_TEST_CASE("case 2: a revoke asks for memory before it drops pages", "[pressure][cases]", rangeset<falloc>,
                   hybrid<falloc>) {
  alloc_stats st;
  TestType s{falloc(st)};
  REQUIRE(s.grant(page_range::closed(0, 99)) == errc::ok);
  REQUIRE(s.grant(page_range::single(1000)) == errc::ok);
  falloc(st).fail_nth_from_now(0);
  CHECK(s.revoke(page_range::single(10)) == errc::ok);
  falloc(st).disarm();
  std::vector<page_range> gone;
  CHECK(s.revoke(page_range::single(50), recorder{&gone}) == errc::ok);
  CHECK(gone == std::vector<page_range>{page_range::single(50)});
  CHECK(runs_of(s) == std::vector<page_range>{page_range::closed(0, 9), page_range::closed(11, 49),
                                              page_range::closed(51, 99), page_range::single(1000)});
  CHECK(s.check_invariants());
  CHECK(s.memory_bytes() == st.live_bytes);
}

TEMPLATE_TEST_CASE("case 3: the loss is bounded, and nothing with a reserve", "[pressure][cases]", rangeset<>,
                   hybrid<>) {
  constexpr page_t big = page_t{1} << 20;
  SECTION("without a reserve: each deny drops at most the smallest piece it can") {
    map_fixture<TestType> f;
    REQUIRE(f.m.permit(1, page_range::from_count(0, big)) == errc::ok);
    REQUIRE(f.m.permit(2, page_range::from_count(4 * big, big)) == errc::ok);
    f.alloc().fail_nth_from_now(0, true);
    std::uint64_t lost = 0;
    for (page_t i = 1; i <= 40; ++i) {
      const page_range r = page_range::from_count(i * 20000, 5);
      // What the fewest-pages rule allows: the smaller piece of the cut run, or any
      // other whole run, whichever is smaller.
      const auto before = runs_of(*f.m.find(1));
      std::uint64_t bound = ~std::uint64_t{0};
      for (const page_range& x : before) {
        if (x.first < r.first && r.last < x.last) {
          const std::uint64_t side = std::min(r.first - x.first, x.last - r.last);
          bound = std::min(bound, side);
        } else if (x.first > r.last || x.last < r.first) {
          bound = std::min(bound, x.size());
        }
      }
      std::vector<page_range> gone;
      const errc e = f.m.deny(1, r, recorder{&gone});
      CAPTURE(i, to_string(e));
      REQUIRE((e == errc::ok || e == errc::revoked_extra));
      CHECK_FALSE(f.m.find(1)->contains_any(r));
      const std::uint64_t extra = pages_in(gone) - r.size();
      CHECK(extra <= (e == errc::ok ? 0 : bound));
      lost += extra;
    }
    // Transfers never lose anything.
    for (page_t i = 0; i < 10; ++i) {
      const page_range r = page_range::from_count(4 * big + 1000 + 50000 * i, 10);
      const std::uint64_t a = f.m.find(1)->count(), b = f.m.find(2)->count();
      const errc e = f.m.transfer(2, 1, r);
      REQUIRE(e != errc::revoked_extra);
      if (e == errc::ok) {
        CHECK(f.m.find(1)->count() == a + 10);
        CHECK(f.m.find(2)->count() == b - 10);
      } else {
        CHECK(f.m.find(1)->count() == a);
        CHECK(f.m.find(2)->count() == b);
      }
    }
    f.alloc().disarm();
    CHECK(f.m.check_invariants());
    INFO("pages lost beyond the denied ones: " << lost);
    CHECK(lost < big);
  }
  SECTION("with reserve(k) taken while memory was plentiful: nothing lost") {
    map_fixture<TestType> f;
    REQUIRE(f.m.permit(1, page_range::from_count(0, big)) == errc::ok);
    REQUIRE(f.m.reserve(1, 40) == errc::ok);
    f.alloc().fail_nth_from_now(0, true);
    for (page_t i = 1; i <= 40; ++i) {
      const page_range r = page_range::from_count(i * 20000, 5);
      std::vector<page_range> gone;
      REQUIRE(f.m.deny(1, r, recorder{&gone}) == errc::ok);
      CHECK(pages_in(gone) == 5);
    }
    f.alloc().disarm();
    CHECK(f.m.find(1)->count() == big - 200);
    CHECK(f.m.check_invariants());
  }
}

TEMPLATE_TEST_CASE("case 4: a budget does not block the repair", "[pressure][cases]", rangeset<>, hybrid<>) {
  map_fixture<TestType> f;
  REQUIRE(f.m.permit(1, page_range::closed(0, 999)) == errc::ok);
  for (page_t p = 100; p < 900; p += 100) REQUIRE(f.m.deny(1, page_range::single(p)) == errc::ok);
  REQUIRE(f.m.set_budget(1, f.m.memory_bytes(1)) == errc::ok);
  f.alloc().fail_nth_from_now(0);  // the next split's refill is refused
  CHECK(f.m.deny(1, page_range::single(950)) == errc::ok);
  f.alloc().disarm();
  const auto held = runs_of(*f.m.find(1));
  const std::size_t bytes = f.m.memory_bytes(1);
  const errc e = f.m.permit(1, page_range::single(950));
  CAPTURE(to_string(e));
  if (e == errc::ok) {
    CHECK(f.m.find(1)->reserve_full());
    CHECK(f.m.memory_bytes(1) <= f.m.budget(1));
    // A full reserve: the next cutting deny is exact even with memory refused.
    f.alloc().fail_nth_from_now(0, true);
    CHECK(f.m.deny(1, page_range::single(975)) == errc::ok);
    f.alloc().disarm();
  } else {
    REQUIRE(e == errc::budget_exceeded);
    CHECK(runs_of(*f.m.find(1)) == held);
    CHECK(f.m.memory_bytes(1) == bytes);
  }
  CHECK(f.m.check_invariants());
}

TEMPLATE_TEST_CASE("case 5: permit_all of held pages neither fails nor grows", "[pressure][cases]", rangeset<>,
                   hybrid<>) {
  map_fixture<TestType> f;
  REQUIRE(f.m.permit(1, page_range::closed(0, 99)) == errc::ok);
  const page_range held[] = {page_range::closed(0, 9), page_range::closed(50, 60)};
  const std::size_t bytes = f.m.memory_bytes(1);
  CHECK(f.m.permit_all(1, held) == errc::ok);
  CHECK(f.m.memory_bytes(1) == bytes);
  REQUIRE(f.m.set_budget(1, bytes) == errc::ok);
  CHECK(f.m.permit_all(1, held) == errc::ok);
  CHECK(f.m.memory_bytes(1) == bytes);
  // A copy of one run takes what a grant of it takes (the object's own root).
  map_fixture<TestType> g;
  const page_range two[] = {page_range::closed(0, 49), page_range::closed(50, 99)};
  REQUIRE(g.m.permit_all(1, two) == errc::ok);
  CHECK(g.m.memory_bytes(1) == bytes);
}

TEST_CASE("case 6: hybrid's checker accepts what a refused shrink leaves", "[pressure][cases]") {
  alloc_stats st;
  hybrid<falloc> s{falloc(st)};
  for (page_t p = 0; p < 100; ++p) REQUIRE(s.grant(page_range::single(3 * p)) == errc::ok);
  falloc(st).fail_nth_from_now(0, true);
  for (page_t p = 40; p < 100; ++p) REQUIRE(s.revoke(page_range::single(3 * p)) == errc::ok);
  CHECK(s.count() == 40);
  CHECK(s.memory_bytes() == st.live_bytes);
  CHECK(s.check_invariants());
  falloc(st).disarm();
  REQUIRE(s.shrink_to_fit() == errc::ok);
  CHECK(s.check_invariants());
}

TEST_CASE("case 7: hybrid bytes after shrink_to_fit depend on the pages alone", "[pressure][cases]") {
  SECTION("one page reached by revoking two far-apart ones holds what granting it holds") {
    hybrid<> a, b;
    for (page_t p : {page_t{0}, page_t{1} << 30, page_t{1} << 40}) REQUIRE(a.grant(page_range::single(p)) == errc::ok);
    REQUIRE(a.revoke(page_range::closed(1, max_page)) == errc::ok);
    REQUIRE(b.grant(page_range::single(0)) == errc::ok);
    CHECK(a.memory_bytes() == b.memory_bytes());  // back in the object, without asking
    CHECK(b.memory_bytes() == 0);
  }
  SECTION("forty sparse pages reached from a hundred") {
    hybrid<> a, b;
    for (page_t p = 0; p < 100; ++p) REQUIRE(a.grant(page_range::single(5 * p)) == errc::ok);
    REQUIRE(a.revoke(page_range::closed(5 * 40, 5 * 100)) == errc::ok);
    for (page_t p = 0; p < 40; ++p) REQUIRE(b.grant(page_range::single(5 * p)) == errc::ok);
    REQUIRE(runs_of(a) == runs_of(b));
    REQUIRE(a.shrink_to_fit() == errc::ok);
    REQUIRE(b.shrink_to_fit() == errc::ok);
    CHECK(a.memory_bytes() == b.memory_bytes());
  }
}

TEMPLATE_TEST_CASE("fail-closed revoke drops the smallest run, not the larger side", "[pressure]", rangeset<falloc>,
                   hybrid<falloc>) {
  alloc_stats st;
  TestType s{falloc(st)};
  // Two runs fill the object's root; a tiny third is the cheapest loss.
  REQUIRE(s.grant(page_range::closed(0, 9999)) == errc::ok);
  REQUIRE(s.grant(page_range::single(50000)) == errc::ok);
  falloc(st).fail_nth_from_now(0, true);
  std::uint64_t extra = 0;
  for (page_t p = 1000; p < 9000; p += 1000) {
    std::vector<page_range> gone;
    const page_range r = page_range::single(p);
    const errc e = s.revoke(r, recorder{&gone});
    REQUIRE((e == errc::ok || e == errc::revoked_extra));
    extra += pages_in(gone) - 1;
    CHECK_FALSE(s.contains(p));
    CHECK(s.check_invariants());
  }
  falloc(st).disarm();
  // Never the larger side of a cut: every loss is at most the 1000-page pieces.
  CHECK(extra <= 8 * 1000);
  CHECK(s.count() >= 10000 - 8 - extra);
}

TEST_CASE("destroy reports every run the domain held", "[pressure]") {
  permission_map<hybrid<>> m;
  REQUIRE(m.permit(3, page_range::closed(10, 19)) == errc::ok);
  REQUIRE(m.permit(3, page_range::closed(100, 100)) == errc::ok);
  std::vector<page_range> gone;
  REQUIRE(m.destroy(3, recorder{&gone}) == errc::ok);
  CHECK(gone == std::vector<page_range>{page_range::closed(10, 19), page_range::single(100)});
  CHECK(m.find(3) == nullptr);
  CHECK(m.destroy(3, recorder{&gone}) == errc::no_such_domain);
}

TEST_CASE("deny_exact and reserve on the map", "[pressure]") {
  alloc_stats st;
  permission_map<rangeset<>, std::uint16_t, falloc> m{falloc(st)};
  CHECK(m.reserve(1, 4) == errc::no_such_domain);
  CHECK(m.deny_exact(1, page_range::single(0)) == errc::no_such_domain);
  REQUIRE(m.permit(1, page_range::closed(0, 999)) == errc::ok);
  REQUIRE(m.reserve(1, 4) == errc::ok);
  falloc(st).fail_nth_from_now(0, true);
  for (page_t p = 100; p <= 400; p += 100) CHECK(m.deny_exact(1, page_range::single(p)) == errc::ok);
  // The reserve is spent: the next cut fails exactly, changing nothing.
  const auto before = runs_of(*m.find(1));
  const errc e = m.deny_exact(1, page_range::single(500));
  falloc(st).disarm();
  if (e != errc::ok) {
    CHECK(e == errc::out_of_memory);
    CHECK(runs_of(*m.find(1)) == before);
  }
  REQUIRE(m.set_budget(1, m.memory_bytes(1)) == errc::ok);
  CHECK(m.reserve(1, 1000) == errc::budget_exceeded);
  CHECK(m.check_invariants());
}
