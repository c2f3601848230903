// The study's own machinery (bench/support/job.hpp, kernels.hpp, measure.hpp,
// pressure.hpp): the reference answers a job carries are right (checked against
// the icl_set oracle, not against the same binary searches that made them),
// measure() reports a structure that answers wrongly, or refuses what it could
// hold, as WRONG, and measure_pressure() reports one that breaks the revoke rule or
// loses a page after reserve(k) as WRONG. The whole study also runs at small size
// as its own CTest entry (study_small).
//
// The heap meter replaces malloc, which the sanitizers of the test build do too:
// it stays off here.
#define PMEMPERM_BENCH_HEAP_HOOKS 0

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <pmemperm/backends/capped_page.hpp>
#include <pmemperm/backends/chunked_bitmap.hpp>
#include <pmemperm/backends/hybrid.hpp>
#include <pmemperm/backends/icl.hpp>
#include <pmemperm/backends/rangeset.hpp>

#include "support/generic_ops.hpp"

#include "../bench/support/job.hpp"
#include "../bench/support/kernels.hpp"
#include "../bench/support/measure.hpp"
#include "../bench/support/pressure.hpp"

using namespace pmemperm;
using namespace pmemperm::bench;
using study::pattern_id;

namespace {

const pattern_id every_pattern[] = {pattern_id::w1, pattern_id::w2, pattern_id::w3, pattern_id::w4,
                                    pattern_id::w5, pattern_id::w6, pattern_id::w7, pattern_id::w8};

job small_job(pattern_id id, std::uint64_t seed = 0, unsigned scale_log2 = 10) {
  study::pattern_params params;
  params.scale_log2 = scale_log2;
  params.seed = seed;
  query_params q;
  q.points = 1024;
  q.spans = 256;
  return make_job(id, params, q);
}

/// A target over hybrid with one deliberate fault, to show that measure() and the
/// verifiers catch it:
///  - forget:   drops the first granted page of domain 0 after the build (finish);
///  - lie:      contains() says no for the first granted page of domain 0, while the
///              set itself (and so for_each_range) is right;
///  - sorted:   a build whose first step is a grant at the lowest page of the
///              pattern (the sorted build) skips its second step;
///  - refuse:   claims to refuse (like capped_page) every grant past the tenth.
enum class fault { none, forget, lie, sorted, refuse };

template <fault F>
class faulty {
 public:
  static constexpr bool huge = false;
  static constexpr bool finishes = true;
  static constexpr bool refuses = F == fault::refuse;
  static constexpr std::uint64_t max_runs = 1000000;
  explicit faulty(std::size_t domains) : inner_(domains) {}
  bool grant(domain_id d, page_range r) {
    ++steps_;
    if (F == fault::refuse && steps_ > 10) return false;
    if (F == fault::sorted && steps_ == 1) first_ = r.first;
    if (F == fault::sorted && steps_ == 2 && first_ == lowest_) return true;
    return inner_.grant(d, r);
  }
  bool revoke(domain_id d, page_range r) {
    ++steps_;
    return inner_.revoke(d, r);
  }
  void finish() {
    if (F != fault::forget) return;
    const std::vector<page_range> runs = inner_.runs(0);
    if (!runs.empty()) static_cast<void>(inner_.revoke(0, page_range::single(runs.front().first)));
  }
  bool contains(domain_id d, page_t p) const {
    if (F == fault::lie && d == 0) {
      const std::vector<page_range> runs = inner_.runs(0);
      if (!runs.empty() && p == runs.front().first) return false;
    }
    return inner_.contains(d, p);
  }
  bool contains_all(domain_id d, page_range r) const { return inner_.contains_all(d, r); }
  std::uint64_t count() const { return inner_.count(); }
  std::vector<page_range> runs(domain_id d) const { return inner_.runs(d); }
  bool assign(const faulty&) { return false; }  // revoke passes rebuild in sorted order
  std::int64_t model_bytes() const { return inner_.model_bytes(); }

  static inline page_t lowest_ = 0;  ///< the lowest page of the job (set by the test)

 private:
  mapped<hybrid<>> inner_;
  std::uint64_t steps_ = 0;
  page_t first_ = 0;
};

/// A rangeset with one deliberate fault under memory pressure, to show that
/// measure_pressure() catches it:
///  - no_reserve: reserve() says ok and keeps nothing;
///  - keep:       the first revoke says ok and removes nothing;
///  - refuse:     revoke() is revoke_exact(), so a cut that needs memory fails with
///                out_of_memory, changing nothing (what only the icl_set oracle may do).
enum class pressure_fault { no_reserve, keep, refuse };

template <pressure_fault F>
class pressure_faulty {
 public:
  explicit pressure_faulty(refusable a) noexcept : inner_(a) {}
  errc grant(page_range r) noexcept { return inner_.grant(r); }
  errc revoke(page_range r) noexcept {
    if (F == pressure_fault::keep && revokes_++ == 0) return errc::ok;
    return F == pressure_fault::refuse ? inner_.revoke_exact(r) : inner_.revoke(r);
  }
  errc reserve(std::size_t n) noexcept { return F == pressure_fault::no_reserve ? errc::ok : inner_.reserve(n); }
  std::uint64_t count() const noexcept { return inner_.count(); }
  template <class G>
  bool for_each_range(G&& g) const noexcept {
    return inner_.for_each_range(g);
  }
  std::size_t memory_bytes() const noexcept { return inner_.memory_bytes(); }

 private:
  rangeset<refusable> inner_;
  std::uint64_t revokes_ = 0;
};

/// W1 at 1/64 size: one run of 2^14 pages, 26 revoke blocks cutting it, enough
/// cuts that a set without memory must drop pages.
job cut_job() { return small_job(pattern_id::w1, 0, 6); }

}  // namespace

TEST_CASE("study jobs: reference answers agree with the icl_set oracle on every pattern", "[study]") {
  for (pattern_id id : every_pattern) {
    CAPTURE(study::name(id));
    const job j = small_job(id);
    REQUIRE(j.runs.size() == j.domains);
    REQUIRE(j.runs_after.size() == j.domains);
    REQUIRE(j.points.size() == 1024);
    REQUIRE(j.spans.size() == 256);
    CHECK(j.domains == (id == pattern_id::w8 ? study::w8_domains : 1));

    // The oracle replays the build (W7: grants and revokes), one set per domain.
    std::vector<icl_set<>> oracle(j.domains);
    for (const step& s : j.build)
      REQUIRE((s.grant ? oracle[s.d].grant(s.r) : oracle[s.d].revoke(s.r)) == errc::ok);
    std::uint64_t pages = 0;
    std::uint64_t runs = 0;
    for (std::size_t d = 0; d < j.domains; ++d) {
      REQUIRE(test::collect_ranges(oracle[d]) == j.runs[d]);
      pages += oracle[d].count();
      runs += oracle[d].range_count();
    }
    CHECK(pages == j.pages);
    CHECK(runs == j.run_count);

    // The sorted build gives the same set, in ascending order.
    std::vector<icl_set<>> sorted(j.domains);
    for (std::size_t i = 0; i < j.build_sorted.size(); ++i) {
      const step& s = j.build_sorted[i];
      REQUIRE(s.grant);
      if (i > 0 && j.build_sorted[i - 1].d == s.d) CHECK(j.build_sorted[i - 1].r.last < s.r.first);
      REQUIRE(sorted[s.d].grant(s.r) == errc::ok);
    }
    for (std::size_t d = 0; d < j.domains; ++d) {
      CHECK(test::collect_ranges(sorted[d]) == j.runs[d]);
    }

    // Every query's expected answer, one by one, and the run-edge queries.
    REQUIRE(j.point_answers.size() == j.points.size());
    REQUIRE(j.span_answers.size() == j.spans.size());
    REQUIRE(j.edge_point_answers.size() == j.edge_points.size());
    REQUIRE(j.edge_span_answers.size() == j.edge_spans.size());
    CHECK(j.edge_points.size() >= 4);
    for (std::size_t i = 0; i < j.points.size(); ++i)
      REQUIRE(oracle[j.points[i].d].contains(j.points[i].p) == j.point_answers[i]);
    for (std::size_t i = 0; i < j.spans.size(); ++i)
      REQUIRE(oracle[j.spans[i].d].contains_all(j.spans[i].r) == j.span_answers[i]);
    for (std::size_t i = 0; i < j.edge_points.size(); ++i)
      REQUIRE(oracle[j.edge_points[i].d].contains(j.edge_points[i].p) == j.edge_point_answers[i]);
    for (std::size_t i = 0; i < j.edge_spans.size(); ++i)
      REQUIRE(oracle[j.edge_spans[i].d].contains_all(j.edge_spans[i].r) == j.edge_span_answers[i]);

    std::uint64_t points_true = 0;
    for (const point_query& q : j.points) points_true += oracle[q.d].contains(q.p) ? 1 : 0;
    CHECK(points_true == j.points_true);
    // About half the points are on granted pages of their domain.
    CHECK(points_true >= j.points.size() * 2 / 5);
    std::uint64_t chain_true = 0;
    for (std::size_t i = 0, k = 0; k < j.points.size(); ++k) {
      const bool hit = oracle[j.points[i].d].contains(j.points[i].p);
      chain_true += hit ? 1 : 0;
      i = chain_next(i, hit, j.points.size() - 1);
    }
    CHECK(chain_true == j.chain_true);
    std::uint64_t spans_true = 0;
    for (const span_query& q : j.spans) spans_true += oracle[q.d].contains_all(q.r) ? 1 : 0;
    CHECK(spans_true == j.spans_true);
    CHECK(spans_true > 0);
    CHECK(spans_true < j.spans.size());

    // The revokes take about 10% of the pages, only granted ones, and leave runs_after.
    std::uint64_t revoked = 0;
    for (const span_query& q : j.revokes) {
      REQUIRE(oracle[q.d].contains_all(q.r));
      REQUIRE(oracle[q.d].revoke(q.r) == errc::ok);
      revoked += q.r.size();
    }
    CHECK(revoked == j.revoke_pages);
    CHECK(revoked * 10 >= j.pages);
    CHECK(revoked * 10 < j.pages + 64 * 10 * j.domains);
    for (std::size_t d = 0; d < j.domains; ++d) {
      REQUIRE(test::collect_ranges(oracle[d]) == j.runs_after[d]);
    }
  }
}

TEST_CASE("study jobs: deterministic per seed, different across seeds", "[study]") {
  for (pattern_id id : {pattern_id::w4, pattern_id::w7, pattern_id::w8}) {
    CAPTURE(study::name(id));
    const job a = small_job(id, 7);
    const job b = small_job(id, 7);
    const job c = small_job(id, 8);
    CHECK(a.runs == b.runs);
    CHECK(a.points_true == b.points_true);
    CHECK(a.spans_true == b.spans_true);
    CHECK(a.revoke_pages == b.revoke_pages);
    CHECK(a.runs != c.runs);
  }
}

TEST_CASE("study kernels: right structures pass every check, a wrong one is caught", "[study]") {
  for (pattern_id id : every_pattern) {
    CAPTURE(study::name(id));
    const job j = small_job(id);
    const auto check_right = [&](auto& t) {
      REQUIRE(run_steps(t, j.build));
      t.finish();
      CHECK(t.count() == j.pages);
      CHECK(holds(t, j.runs));
      CHECK(wrong_answer(t, j).empty());
      CHECK(count_points(t, j) == j.points_true);
      CHECK(count_chain(t, j) == j.chain_true);
      CHECK(count_spans(t, j) == j.spans_true);
      REQUIRE(revoke_all(t, j));
      CHECK(holds(t, j.runs_after));
      CHECK(holds_subset(t, j));
    };
    if (j.domains == 1) {
      single<ours<rangeset<>>> r(1);
      check_right(r);
      single<ours<hybrid<>>> h(1);
      check_right(h);
    } else {
      mapped<hybrid<>> m(j.domains);
      check_right(m);
    }

    // One page missing: the run lists and the answer-by-answer check both see it
    // (the run-edge queries include the first page of every domain).
    faulty<fault::forget> f(j.domains);
    REQUIRE(run_steps(f, j.build));
    f.finish();
    CHECK(f.count() == j.pages - 1);
    CHECK_FALSE(holds(f, j.runs));
    CHECK_FALSE(wrong_answer(f, j).empty());

    // One wrong answer while the set itself is right: only the queries see it.
    faulty<fault::lie> l(j.domains);
    REQUIRE(run_steps(l, j.build));
    CHECK(holds(l, j.runs));
    CHECK_FALSE(wrong_answer(l, j).empty());
  }
}

TEST_CASE("measure: right structures are ok, every kind of fault is reported WRONG", "[study]") {
  for (pattern_id id : every_pattern) {
    CAPTURE(study::name(id));
    const job j = small_job(id);
    page_t lowest = max_page;
    for (const auto& rs : j.runs) lowest = std::min(lowest, rs.front().first);

    const result ok = j.domains == 1 ? measure<single<ours<hybrid<>>>>(j, 0) : measure<mapped<hybrid<>>>(j, 0);
    CHECK(ok.status == "ok");
    CHECK(ok.ran);
    CHECK_FALSE(ok.wrong);
    CHECK(ok.model >= 0);
    CHECK(ok.build > 0);
    CHECK(ok.contains > 0);
    CHECK(ok.revoke > 0);

    const result forgot = measure<faulty<fault::forget>>(j, 0);
    CHECK(forgot.wrong);
    CHECK(forgot.status.rfind("WRONG", 0) == 0);
    const result lied = measure<faulty<fault::lie>>(j, 0);
    CHECK(lied.wrong);
    CHECK(lied.status.find("contains(") != std::string::npos);
    faulty<fault::sorted>::lowest_ = lowest;
    const result sorted_wrong = measure<faulty<fault::sorted>>(j, 0);
    CHECK(sorted_wrong.wrong == (j.build_sorted.size() > 1));
    // A refusal where the structure could hold the whole pattern is a fault, not
    // "does not fit" (W1 has a single grant, so nothing is refused there).
    const result refused = measure<faulty<fault::refuse>>(j, 0);
    CHECK_FALSE(could_exceed(j, faulty<fault::refuse>::max_runs, false));
    CHECK(refused.wrong == (j.build.size() > 10));
  }
}

TEST_CASE("measure: capped_page fits where it can, and says so where it cannot", "[study]") {
  for (pattern_id id : every_pattern) {
    CAPTURE(study::name(id));
    const job j = small_job(id);
    const result r = j.domains == 1 ? measure<single<capped>>(j, 0) : measure<mapped<capped_page>>(j, 0);
    CHECK_FALSE(r.wrong);
    std::uint64_t most_runs = 0;
    for (const auto& rs : j.runs) most_runs = std::max<std::uint64_t>(most_runs, rs.size());
    if (most_runs > capped_page::capacity) {
      CHECK_FALSE(r.ran);
      CHECK(r.status.rfind("does not fit", 0) == 0);
    }
    if (id != pattern_id::w7 && most_runs <= capped_page::capacity && j.build.size() <= capped_page::capacity) {
      CHECK(r.ran);
      CHECK(r.status == "ok");
    }
  }
}

TEST_CASE("study kernels: holds_subset rejects a revoked page left granted", "[study]") {
  const job j = small_job(pattern_id::w2);
  single<ours<rangeset<>>> t(1);
  REQUIRE(run_steps(t, j.build));
  REQUIRE(revoke_all(t, j));
  CHECK(holds_subset(t, j));
  // Re-grant one revoked page: the result is no longer a subset of what may stay.
  REQUIRE(t.grant(0, page_range::single(j.revokes.front().r.first)));
  CHECK_FALSE(holds_subset(t, j));
  CHECK_FALSE(holds(t, j.runs_after));
}

TEST_CASE("pressure: every backend keeps the revoke rule and loses nothing after reserve(k)", "[study]") {
  for (pattern_id id : every_pattern) {
    CAPTURE(study::name(id));
    const job j = small_job(id);
    const auto check = [&](const pressure_figures& f, const char* name) {
      CAPTURE(name, f.status);
      CHECK_FALSE(f.wrong);
      if (!f.ran) {
        CHECK(f.status.rfind("does not fit", 0) == 0);
        return;
      }
      CHECK(f.reserved.lost == 0);
      CHECK(f.reserved.extra == 0);
      CHECK(f.reserve_bytes >= 0);
    };
    if (j.domains == 1) {
      check(measure_pressure<pressure_set<hybrid<refusable>>>(j), "hybrid");
      check(measure_pressure<pressure_set<rangeset<refusable>>>(j), "rangeset");
      check(measure_pressure<pressure_set<chunked_bitmap<refusable>>>(j), "chunked");
      check(measure_pressure<pressure_set<capped_page>>(j), "capped");
      check(measure_pressure<pressure_set<icl_set<refusable>>>(j), "icl_set");
    } else {
      check(measure_pressure<pressure_map<hybrid<>>>(j), "hybrid");
      check(measure_pressure<pressure_map<rangeset<>>>(j), "rangeset");
      check(measure_pressure<pressure_map<chunked_bitmap<>>>(j), "chunked");
      check(measure_pressure<pressure_map<capped_page>>(j), "capped");
      check(measure_pressure<pressure_map<icl_set<>>>(j), "icl_set");
    }
  }
}

TEST_CASE("pressure: without a reserve cuts drop pages, reserve(k) makes them exact", "[study]") {
  const job j = cut_job();
  for (const pressure_figures& f : {measure_pressure<pressure_set<rangeset<refusable>>>(j),
                                    measure_pressure<pressure_set<hybrid<refusable>>>(j)}) {
    CAPTURE(f.status);
    REQUIRE(f.ran);
    CHECK(f.plain.lost > 0);
    CHECK(f.plain.extra > 0);
    CHECK(f.plain.refused == 0);
    CHECK(f.reserved.lost == 0);
    CHECK(f.reserved.extra == 0);
    CHECK(f.reserve_bytes > 0);
  }
  // The oracle refuses the cuts instead, changing nothing: refused, not lost.
  const pressure_figures oracle = measure_pressure<pressure_set<icl_set<refusable>>>(j);
  REQUIRE(oracle.ran);
  CHECK(oracle.plain.lost == 0);
  CHECK(oracle.plain.refused > 0);

  // capped_page needs no memory; its reserve costs capacity. A plan of more cuts
  // than the page has entries cannot be reserved for (believed: the result could
  // not fit), and then it drops pages once the page is full.
  const job many = small_job(pattern_id::w1, 0, 2);
  REQUIRE(many.revokes.size() > capped_page::capacity);
  const pressure_figures capped_f = measure_pressure<pressure_set<capped_page>>(many);
  CAPTURE(capped_f.status);
  REQUIRE(capped_f.ran);
  CHECK_FALSE(capped_f.wrong);
  CHECK(capped_f.reserved.reserve_refused);
  CHECK(capped_f.plain.lost > 0);
  CHECK(capped_f.reserve_bytes == 0);
}

TEST_CASE("pressure: a lost page after reserve(k) or a broken revoke rule is reported WRONG", "[study]") {
  const job j = cut_job();
  const pressure_figures no_reserve = measure_pressure<pressure_set<pressure_faulty<pressure_fault::no_reserve>>>(j);
  CHECK(no_reserve.wrong);
  CHECK(no_reserve.status.find("after reserve(k)") != std::string::npos);
  const pressure_figures kept = measure_pressure<pressure_set<pressure_faulty<pressure_fault::keep>>>(j);
  CHECK(kept.wrong);
  CHECK(kept.status.find("left granted") != std::string::npos);
  const pressure_figures refused = measure_pressure<pressure_set<pressure_faulty<pressure_fault::refuse>>>(j);
  CHECK(refused.wrong);
  CHECK(refused.status.find("out_of_memory") != std::string::npos);
}
