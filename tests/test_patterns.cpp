// The study's pattern generators (study/patterns.hpp): the same seed gives the same
// operations and another seed others, every summary they claim is recounted here
// from the operations themselves (page by page, not through the header's helpers),
// and every promised shape holds. W7 is replayed on two unrelated backends and W8
// through a permission_map, all at small scale.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <pmemperm/backends/hybrid.hpp>
#include <pmemperm/backends/icl.hpp>
#include <pmemperm/permission_map.hpp>
#include <pmemperm/study/patterns.hpp>

#include "support/generic_ops.hpp"

namespace {

using namespace pmemperm;
namespace st = pmemperm::study;

bool same(const std::vector<page_range>& a, const std::vector<page_range>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const page_range& x, const page_range& y) { return x.first == y.first && x.last == y.last; });
}

bool by_first(const page_range& a, const page_range& b) { return a.first < b.first || (a.first == b.first && a.last < b.last); }

struct tally {
  std::uint64_t pages = 0;
  std::uint64_t runs = 0;
};

/// Distinct pages and maximal runs of the union, by listing every page.
tally count_pages(const std::vector<page_range>& grants) {
  std::vector<page_t> pages;
  for (const page_range& r : grants)
    for (page_t p = r.first;; ++p) {
      pages.push_back(p);
      if (p == r.last) break;
    }
  std::sort(pages.begin(), pages.end());
  pages.erase(std::unique(pages.begin(), pages.end()), pages.end());
  tally t;
  t.pages = pages.size();
  for (std::size_t i = 0; i < pages.size(); ++i)
    if (i == 0 || pages[i] != pages[i - 1] + 1) ++t.runs;
  return t;
}

bool inside(page_range r, page_range area) { return r.valid() && r.first >= area.first && r.last <= area.last; }

st::pattern_params params(unsigned scale, std::uint64_t seed = 0, st::grant_order order = st::grant_order::random) {
  st::pattern_params p;
  p.scale_log2 = scale;
  p.seed = seed;
  p.order = order;
  return p;
}


}  // namespace

TEST_CASE("W1-W6: deterministic per seed, exact summaries, promised shapes", "[patterns]") {
  constexpr unsigned scale = 8;
  for (const st::pattern_id id : st::grant_patterns) {
    CAPTURE(st::name(id));
    const st::pattern a = st::make_pattern(id, params(scale, 7));
    const st::pattern again = st::make_pattern(id, params(scale, 7));
    const st::pattern other = st::make_pattern(id, params(scale, 8));
    const st::pattern sorted = st::make_pattern(id, params(scale, 7, st::grant_order::sorted));
    CHECK(a.id == id);
    CHECK(same(a.grants, again.grants));
    CHECK(a.pages == again.pages);
    CHECK_FALSE(same(a.grants, other.grants));

    const tally t = count_pages(a.grants);
    CHECK(t.pages == a.pages);
    CHECK(t.runs == a.runs);
    CHECK(sorted.pages == a.pages);
    CHECK(sorted.runs == a.runs);
    for (const page_range& r : a.grants) CHECK(inside(r, a.universe));

    // Sorted order is sorted, and both orders hold the same grants.
    CHECK(std::is_sorted(sorted.grants.begin(), sorted.grants.end(), by_first));
    std::vector<page_range> resorted = a.grants;
    std::sort(resorted.begin(), resorted.end(), by_first);
    CHECK(same(resorted, sorted.grants));

    switch (id) {
      case st::pattern_id::w1:
        CHECK(a.grants.size() == 1);
        CHECK(a.pages == std::uint64_t{1} << (20 - scale));
        break;
      case st::pattern_id::w2:
        REQUIRE(sorted.grants.size() == 64);
        for (std::size_t i = 0; i < sorted.grants.size(); ++i) {
          CHECK(sorted.grants[i].size() == std::uint64_t{1} << (14 - scale));
          if (i > 0) CHECK(sorted.grants[i].first > sorted.grants[i - 1].last + 1);  // non-adjacent
        }
        CHECK(a.runs == 64);
        break;
      case st::pattern_id::w3:
        CHECK(a.pages == std::uint64_t{1} << (20 - scale));
        CHECK(a.runs == a.pages);
        for (std::size_t i = 1; i < sorted.grants.size(); ++i)
          CHECK(sorted.grants[i].first == sorted.grants[i - 1].first + 2);
        break;
      case st::pattern_id::w4:
      case st::pattern_id::w5:
        // Distinct single pages: as many pages as grants.
        CHECK(a.grants.size() == (std::uint64_t{1} << ((id == st::pattern_id::w4 ? 16 : 20) - scale)));
        CHECK(a.pages == a.grants.size());
        break;
      case st::pattern_id::w6: {
        // 192 of 256 pages per cluster; the clusters are disjoint and non-adjacent,
        // and each cluster is granted as its maximal runs, so no two grants touch.
        const std::uint64_t clusters = std::uint64_t{4096} >> scale;
        CHECK(a.pages == clusters * 192);
        CHECK(a.runs == a.grants.size());
        for (const page_range& r : a.grants) CHECK(r.size() <= 192);
        break;
      }
      case st::pattern_id::w7:
      case st::pattern_id::w8:
        FAIL("not a grant-list pattern");
        break;
    }
  }
}

TEST_CASE("W7 and W8 have their own generators and refuse impossible sizes", "[patterns]") {
  CHECK_THROWS_AS(st::make_pattern(st::pattern_id::w7), std::invalid_argument);
  CHECK_THROWS_AS(st::make_pattern(st::pattern_id::w8), std::invalid_argument);
  CHECK(std::string(st::name(st::pattern_id::w7)) == "W7");
  CHECK(std::string(st::name(st::pattern_id::w8)) == "W8");

  st::pattern_params small = params(4);
  small.universe_log2 = 20;  // the 2^22-page window / span does not fit
  CHECK_THROWS_AS(st::make_churn(small), std::invalid_argument);
  CHECK_THROWS_AS(st::make_domains(small), std::invalid_argument);
  CHECK_THROWS_AS(st::make_domains(params(16)), std::invalid_argument);  // 2^10 pages, 1024 domains
  CHECK_NOTHROW(st::make_domains(params(15)));
  st::pattern_params top = params(12);
  top.universe_log2 = 20;
  top.base = max_page - ((std::uint64_t{1} << 20) - 1);  // right under max_page
  CHECK(st::make_churn(top).window.last <= max_page);
  CHECK(st::make_domains(top).span.last <= max_page);
}

TEST_CASE("W7: a deterministic stream with the documented mix and an exact end state", "[patterns]") {
  constexpr unsigned scale = 6;
  const st::churn_pattern c = st::make_churn(params(scale, 11));
  const st::churn_pattern again = st::make_churn(params(scale, 11));
  const st::churn_pattern other = st::make_churn(params(scale, 12));

  const std::uint64_t ops = std::uint64_t{1000000} >> scale;
  REQUIRE(c.ops.size() == ops);
  CHECK(st::make_churn(params(14)).ops.size() == 512);  // the floor
  CHECK(c.window.size() == std::uint64_t{1} << (26 - scale));
  CHECK(inside(c.window, c.universe));

  auto same_ops = [](const st::churn_pattern& x, const st::churn_pattern& y) {
    return std::equal(x.ops.begin(), x.ops.end(), y.ops.begin(), y.ops.end(), [](const st::churn_op& a, const st::churn_op& b) {
      return a.grant == b.grant && a.r.first == b.r.first && a.r.last == b.r.last;
    });
  };
  CHECK(same_ops(c, again));
  CHECK_FALSE(same_ops(c, other));

  // Counts: recounted, and the mix near its documented shares (1/2 grants; sizes
  // 1/2, 7/20, 3/20) with generous slack; grants dominate early, revokes late.
  std::uint64_t grants = 0;
  std::uint64_t early_grants = 0;
  std::uint64_t late_grants = 0;
  std::uint64_t singles = 0;
  const std::uint64_t large_max = std::max<std::uint64_t>(128, c.window.size() / 4096);
  for (std::size_t i = 0; i < c.ops.size(); ++i) {
    const st::churn_op& op = c.ops[i];
    REQUIRE(inside(op.r, c.window));
    CHECK(op.r.size() <= large_max);
    if (op.grant) {
      ++grants;
      if (i < ops / 4) ++early_grants;
      if (i >= ops - ops / 4) ++late_grants;
    }
    if (op.r.size() == 1) ++singles;
  }
  CHECK(c.grants == grants);
  CHECK(c.grants + c.revokes == ops);
  CHECK(c.singles + c.smalls + c.larges == ops);
  CHECK(singles >= c.singles);  // a range cut at the window's end may shrink to one page
  CHECK(c.grants * 10 > ops * 4);
  CHECK(c.grants * 10 < ops * 6);
  CHECK(c.singles * 10 > ops * 4);
  CHECK(c.larges * 100 > ops * 10);
  CHECK(c.larges * 100 < ops * 20);
  CHECK(2 * early_grants > 3 * late_grants);

  // The end state, replayed on a bitmap of the window.
  std::vector<std::uint8_t> held(static_cast<std::size_t>(c.window.size()));
  for (const st::churn_op& op : c.ops)
    std::fill(held.begin() + static_cast<std::ptrdiff_t>(op.r.first - c.window.first),
              held.begin() + static_cast<std::ptrdiff_t>(op.r.last - c.window.first + 1), op.grant ? 1 : 0);
  tally t;
  for (std::size_t i = 0; i < held.size(); ++i) {
    t.pages += held[i];
    if (held[i] != 0 && (i == 0 || held[i - 1] == 0)) ++t.runs;
  }
  CHECK(t.pages == c.pages);
  CHECK(t.runs == c.runs);
  CHECK(c.pages > 0);

  // Two unrelated backends end up with the same set.
  hybrid<> h;
  icl_set<> oracle;
  for (const st::churn_op& op : c.ops) {
    REQUIRE((op.grant ? h.grant(op.r) : h.revoke(op.r)) == errc::ok);
    REQUIRE((op.grant ? oracle.grant(op.r) : oracle.revoke(op.r)) == errc::ok);
  }
  REQUIRE(h.check_invariants());
  CHECK(h.count() == c.pages);
  CHECK(h.range_count() == c.runs);
  CHECK(oracle.count() == c.pages);
  CHECK(same(pmemperm::test::collect_ranges(h), pmemperm::test::collect_ranges(oracle)));
}

TEST_CASE("W8: 1024 disjoint fragmented shares covering the span exactly", "[patterns]") {
  for (const unsigned scale : {8u, 14u}) {
    CAPTURE(scale);
    const st::domains_pattern d = st::make_domains(params(scale, 3));
    const st::domains_pattern again = st::make_domains(params(scale, 3));
    const st::domains_pattern other = st::make_domains(params(scale, 4));
    const st::domains_pattern sorted = st::make_domains(params(scale, 3, st::grant_order::sorted));
    REQUIRE(d.domains.size() == st::w8_domains);
    REQUIRE(other.domains.size() == st::w8_domains);
    CHECK(d.span.size() == std::uint64_t{1} << (26 - scale));
    CHECK(d.pages == d.span.size());
    CHECK(inside(d.span, d.universe));

    bool all_same = true;
    bool any_differs = false;
    for (std::size_t i = 0; i < st::w8_domains; ++i) {
      all_same = all_same && same(d.domains[i].grants, again.domains[i].grants);
      any_differs = any_differs || !same(d.domains[i].grants, other.domains[i].grants);
    }
    CHECK(all_same);
    CHECK(any_differs);

    // Per domain: recounted summaries, non-empty, evenly dealt, sorted when asked.
    std::vector<page_range> every;
    std::uint64_t runs = 0;
    std::size_t fewest = SIZE_MAX;
    std::size_t most = 0;
    for (std::size_t i = 0; i < st::w8_domains; ++i) {
      const st::domain_share& s = d.domains[i];
      CHECK_FALSE(s.grants.empty());
      const tally t = count_pages(s.grants);
      CHECK(t.pages == s.pages);
      CHECK(t.runs == s.runs);
      runs += s.runs;
      fewest = std::min(fewest, s.grants.size());
      most = std::max(most, s.grants.size());
      CHECK(std::is_sorted(sorted.domains[i].grants.begin(), sorted.domains[i].grants.end(), by_first));
      std::vector<page_range> resorted = s.grants;
      std::sort(resorted.begin(), resorted.end(), by_first);
      CHECK(same(resorted, sorted.domains[i].grants));
      every.insert(every.end(), s.grants.begin(), s.grants.end());
    }
    CHECK(runs == d.runs);
    CHECK(most - fewest <= 1);
    if (scale <= 10) CHECK(fewest >= 40);  // "many runs" per domain

    // Disjoint and covering: sorted, the pieces tile the span end to end.
    std::sort(every.begin(), every.end(), by_first);
    REQUIRE_FALSE(every.empty());
    CHECK(every.front().first == d.span.first);
    CHECK(every.back().last == d.span.last);
    bool tiles = true;
    for (std::size_t i = 1; i < every.size(); ++i) tiles = tiles && every[i].first == every[i - 1].last + 1;
    CHECK(tiles);

    // `all` holds the same grants, tagged with their domains.
    REQUIRE(d.all.size() == every.size());
    bool tagged = true;
    for (const st::domain_grant& g : d.all) {
      const std::vector<page_range>& own = d.domains[g.domain].grants;
      tagged = tagged && std::any_of(own.begin(), own.end(),
                                     [&](const page_range& r) { return r.first == g.r.first && r.last == g.r.last; });
    }
    CHECK(tagged);
    CHECK(std::is_sorted(sorted.all.begin(), sorted.all.end(),
                         [](const st::domain_grant& a, const st::domain_grant& b) { return by_first(a.r, b.r); }));
  }
}

TEST_CASE("W8 through permission_map<hybrid<>>: every page held by exactly its domain", "[patterns]") {
  const st::domains_pattern d = st::make_domains(params(12, 5));
  std::vector<std::uint16_t> owner(static_cast<std::size_t>(d.span.size()));
  permission_map<hybrid<>> map;
  for (const st::domain_grant& g : d.all) {
    REQUIRE(map.permit(g.domain, g.r) == errc::ok);
    for (page_t p = g.r.first; p <= g.r.last; ++p) owner[static_cast<std::size_t>(p - d.span.first)] = g.domain;
  }
  REQUIRE(map.check_invariants());
  CHECK(map.domain_count() == st::w8_domains);
  for (std::size_t i = 0; i < st::w8_domains; ++i) {
    const auto* s = map.find(static_cast<std::uint16_t>(i));
    REQUIRE(s != nullptr);
    CHECK(s->count() == d.domains[i].pages);
    CHECK(s->range_count() == d.domains[i].runs);
  }

  bool exactly_one = true;
  for (page_t p = d.span.first; p <= d.span.last; ++p) {
    std::size_t holders = 0;
    std::uint16_t who = 0;
    (void)map.for_each_holder(p, [&](std::uint16_t dom) {
      ++holders;
      who = dom;
      return true;
    });
    exactly_one = exactly_one && holders == 1 && who == owner[static_cast<std::size_t>(p - d.span.first)];
  }
  CHECK(exactly_one);
  std::size_t outside = 0;
  auto count_outside = [&](std::uint16_t) {
    ++outside;
    return true;
  };
  if (d.span.first > d.universe.first) (void)map.for_each_holder(d.span.first - 1, count_outside);
  if (d.span.last < d.universe.last) (void)map.for_each_holder(d.span.last + 1, count_outside);
  CHECK(outside == 0);
}
