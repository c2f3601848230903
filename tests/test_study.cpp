// The study's own machinery (bench/support/job.hpp, kernels.hpp): the reference
// answers a job carries are right (checked against the icl_set oracle, not against
// the same binary searches that made them), and the kernels' checks catch a
// structure that answers wrongly. The whole study also runs at small size as its
// own CTest entry (study_small).
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include <pmemperm/backends/hybrid.hpp>
#include <pmemperm/backends/icl.hpp>
#include <pmemperm/backends/rangeset.hpp>

#include "../bench/support/job.hpp"
#include "../bench/support/kernels.hpp"

using namespace pmemperm;
using namespace pmemperm::bench;
using study::pattern_id;

namespace {

const pattern_id every_pattern[] = {pattern_id::w1, pattern_id::w2, pattern_id::w3, pattern_id::w4,
                                    pattern_id::w5, pattern_id::w6, pattern_id::w7, pattern_id::w8};

job small_job(pattern_id id, std::uint64_t seed = 0) {
  study::pattern_params params;
  params.scale_log2 = 10;
  params.seed = seed;
  query_params q;
  q.points = 1024;
  q.spans = 256;
  return make_job(id, params, q);
}

/// hybrid, except that it forgets one page after the build: what a subtly wrong
/// backend looks like to the study.
class forgetful {
 public:
  static constexpr bool huge = false;
  static constexpr bool finishes = true;
  static constexpr bool refuses = false;
  explicit forgetful(std::size_t domains) : inner_(domains) {}
  bool grant(domain_id d, page_range r) { return inner_.grant(d, r); }
  bool revoke(domain_id d, page_range r) { return inner_.revoke(d, r); }
  void finish() {
    // Drop the first granted page of domain 0.
    const std::vector<page_range> runs = inner_.runs(0);
    if (!runs.empty()) static_cast<void>(inner_.revoke(0, page_range::single(runs.front().first)));
  }
  bool contains(domain_id d, page_t p) const { return inner_.contains(d, p); }
  bool contains_all(domain_id d, page_range r) const { return inner_.contains_all(d, r); }
  std::uint64_t count() const { return inner_.count(); }
  std::vector<page_range> runs(domain_id d) const { return inner_.runs(d); }

 private:
  mapped<hybrid<>> inner_;
};

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
      std::vector<page_range> got;
      static_cast<void>(oracle[d].for_each_range([&](page_range r) noexcept {
        got.push_back(r);
        return true;
      }));
      REQUIRE(got == j.runs[d]);
      pages += oracle[d].count();
      runs += oracle[d].range_count();
    }
    CHECK(pages == j.pages);
    CHECK(runs == j.run_count);

    // The sorted build gives the same set.
    std::vector<icl_set<>> sorted(j.domains);
    for (const step& s : j.build_sorted) REQUIRE(sorted[s.d].grant(s.r) == errc::ok);
    for (std::size_t d = 0; d < j.domains; ++d) CHECK(sorted[d].count() == oracle[d].count());

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
      std::vector<page_range> got;
      static_cast<void>(oracle[d].for_each_range([&](page_range r) noexcept {
        got.push_back(r);
        return true;
      }));
      REQUIRE(got == j.runs_after[d]);
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

    forgetful f(j.domains);
    REQUIRE(run_steps(f, j.build));
    f.finish();
    CHECK(f.count() == j.pages - 1);
    CHECK_FALSE(holds(f, j.runs));
  }
  // A single missing page shows in the queries too when one asks about it.
  const job j = small_job(pattern_id::w1);
  forgetful f(1);
  REQUIRE(run_steps(f, j.build));
  f.finish();
  CHECK_FALSE(f.contains(0, j.runs[0].front().first));
  CHECK(f.contains(0, j.runs[0].front().first + 1));
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
