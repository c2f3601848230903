// bench/support/job.hpp — one pattern of the study (W1–W8), prepared once as the
// operations every structure is asked to do, with the answers it must give.
//
// Every pattern becomes the same shape of job, so one set of kernels (kernels.hpp)
// measures every structure on every pattern:
//
//   build        W1–W6: the pattern's grants, random order (and sorted, a second
//                list). W7: the churn stream itself, 10^6 grants and revokes in
//                their order (sorted: the surviving runs, ascending). W8: every
//                domain's grants (domain, range), all domains interleaved.
//   runs         the maximal runs each domain holds after the build (the exact
//                answer: from the generator's own normalisation, W7 from its
//                interval-map replay, study::final_runs; independent of every
//                structure)
//   points       contains() queries: half on a granted page of the queried
//                domain, half on any page (W8: any page of the 2^26-page span);
//                the dependent chain walks the same points in an order that
//                depends on each answer (chain_next)
//   spans        contains_all() ranges of 1..1024 pages: a third inside one run,
//                a third from a granted page with any length, a third anywhere
//   revokes      10% of the granted pages in blocks of up to 64 pages, random
//                order (study::make_revoke_plan; W8 per domain, then interleaved)
//   runs_after   the maximal runs each domain holds after the revokes
//   edges        untimed boundary queries: for a sample of runs (every run of a
//                small domain, always the first and last), the pages just before,
//                at, and just after both ends, and the run itself, one page more on
//                either side, and its first page alone as contains_all ranges
//
// Every query's expected answer (and the number of true ones) comes from binary
// searches over `runs`; the tests check those against the Boost.ICL oracle.
// Domains are 0 .. domains-1; single-set patterns use domain 0 only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <vector>

#include <pmemperm/study/patterns.hpp>
#include <pmemperm/types.hpp>

namespace pmemperm::bench {

/// Thread CPU time in seconds: on a shared machine, time spent descheduled is not
/// the structure's fault, so every timing of the study uses this clock.
[[nodiscard]] inline double thread_seconds() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

using domain_id = std::uint16_t;

/// One operation of a build: grant (or, in W7's stream, revoke) r for domain d.
struct step {
  domain_id d = 0;
  bool grant = true;
  page_range r{};
};

struct point_query {
  domain_id d = 0;
  page_t p = 0;
};

struct span_query {
  domain_id d = 0;
  page_range r{};
};

struct job {
  study::pattern_id id{};
  std::size_t domains = 1;
  page_range universe{};
  std::vector<step> build;         ///< the pattern's own order (random; W7: the stream)
  std::vector<step> build_sorted;  ///< ascending grants of the same final set
  std::uint64_t stream_grants = 0; ///< grants in `build` (the rest revoke)
  std::vector<std::vector<page_range>> runs;  ///< per domain, after the build
  std::uint64_t pages = 0;         ///< pages granted after the build, all domains
  std::uint64_t run_count = 0;     ///< maximal runs after the build, all domains
  std::vector<span_query> revokes;
  std::uint64_t revoke_pages = 0;
  std::vector<std::vector<page_range>> runs_after;  ///< per domain, after the revokes
  std::vector<point_query> points;
  std::vector<span_query> spans;
  std::uint64_t points_true = 0;
  std::uint64_t chain_true = 0;
  std::uint64_t spans_true = 0;
  std::vector<bool> point_answers;  ///< expected contains() of each point
  std::vector<bool> span_answers;   ///< expected contains_all() of each span
  std::vector<point_query> edge_points;
  std::vector<bool> edge_point_answers;
  std::vector<span_query> edge_spans;
  std::vector<bool> edge_span_answers;
};

/// The next index of the dependent chain: the answer just read decides where the
/// next query is (one or two places on), so the next query's page cannot be loaded
/// before this answer is known. Indexes only move forward, so a pass visits
/// distinct points until it wraps around (`mask` is the point count minus one, a
/// power of two).
[[nodiscard]] constexpr std::size_t chain_next(std::size_t i, bool answer, std::size_t mask) noexcept {
  return (i + 1 + (answer ? 1 : 0)) & mask;
}

namespace detail {

/// The run of `runs` (ascending, disjoint) holding p, or nullptr.
[[nodiscard]] inline const page_range* run_of(const std::vector<page_range>& runs, page_t p) {
  auto it = std::upper_bound(runs.begin(), runs.end(), p, [](page_t x, const page_range& r) { return x < r.first; });
  if (it == runs.begin()) return nullptr;
  --it;
  return p <= it->last ? &*it : nullptr;
}

/// The runs left of `runs` after removing the (disjoint) `cuts`.
[[nodiscard]] inline std::vector<page_range> subtract(const std::vector<page_range>& runs,
                                                      std::vector<page_range> cuts) {
  std::sort(cuts.begin(), cuts.end(), [](const page_range& a, const page_range& b) { return a.first < b.first; });
  std::vector<page_range> out;
  std::size_t c = 0;
  for (page_range r : runs) {
    while (c < cuts.size() && cuts[c].last < r.first) ++c;
    bool alive = true;
    for (std::size_t k = c; k < cuts.size() && cuts[k].first <= r.last; ++k) {
      if (cuts[k].first > r.first) out.push_back(page_range{r.first, cuts[k].first - 1});
      if (cuts[k].last >= r.last) {
        alive = false;
        break;
      }
      r.first = cuts[k].last + 1;
    }
    if (alive) out.push_back(r);
  }
  return out;
}

inline std::vector<step> grants_of(const std::vector<page_range>& rs, domain_id d = 0) {
  std::vector<step> out;
  out.reserve(rs.size());
  for (const page_range& r : rs) out.push_back(step{d, true, r});
  return out;
}

}  // namespace detail

/// Queries of a job: how many, and from which seed.
struct query_params {
  std::size_t points = std::size_t{1} << 16;  ///< a power of two (the chain's mask)
  std::size_t spans = std::size_t{1} << 14;
};

/// Prepare pattern `id` with `params` (scale, seed, universe). Throws
/// std::invalid_argument for parameters the generators refuse.
[[nodiscard]] inline job make_job(study::pattern_id id, const study::pattern_params& params,
                                  const query_params& q = {}) {
  using study::pattern_id;
  job j;
  j.id = id;
  study::pattern_params sorted_params = params;
  sorted_params.order = study::grant_order::sorted;
  std::vector<std::vector<page_range>> revoke_blocks;  // per domain

  if (id == pattern_id::w7) {
    const study::churn_pattern c = study::make_churn(params);
    j.universe = c.universe;
    j.build.reserve(c.ops.size());
    for (const study::churn_op& op : c.ops) j.build.push_back(step{0, op.grant, op.r});
    j.stream_grants = c.grants;
    j.runs.push_back(study::final_runs(c));
    j.build_sorted = detail::grants_of(j.runs[0]);
    study::pattern as_grants;
    as_grants.id = id;
    as_grants.grants = j.runs[0];
    as_grants.pages = c.pages;
    as_grants.runs = c.runs;
    revoke_blocks.push_back(study::make_revoke_plan(as_grants).revokes);
  } else if (id == pattern_id::w8) {
    const study::domains_pattern w = study::make_domains(params);
    const study::domains_pattern s = study::make_domains(sorted_params);
    j.universe = w.universe;
    j.domains = w.domains.size();
    for (const study::domain_grant& g : w.all) j.build.push_back(step{g.domain, true, g.r});
    for (const study::domain_grant& g : s.all) j.build_sorted.push_back(step{g.domain, true, g.r});
    j.stream_grants = j.build.size();
    for (std::size_t d = 0; d < w.domains.size(); ++d) {
      j.runs.push_back(study::normalize(w.domains[d].grants));
      study::pattern share;
      share.id = id;
      share.grants = w.domains[d].grants;
      share.pages = w.domains[d].pages;
      share.runs = w.domains[d].runs;
      study::revoke_params rp;
      rp.seed = d + 1;
      revoke_blocks.push_back(study::make_revoke_plan(share, rp).revokes);
    }
  } else {
    const study::pattern p = study::make_pattern(id, params);
    const study::pattern s = study::make_pattern(id, sorted_params);
    j.universe = p.universe;
    j.build = detail::grants_of(p.grants);
    j.build_sorted = detail::grants_of(s.grants);
    j.stream_grants = j.build.size();
    j.runs.push_back(study::normalize(p.grants));
    revoke_blocks.push_back(study::make_revoke_plan(p).revokes);
  }

  for (const auto& rs : j.runs) {
    j.run_count += rs.size();
    for (const page_range& r : rs) j.pages += r.size();
  }
  for (std::size_t d = 0; d < revoke_blocks.size(); ++d) {
    for (const page_range& r : revoke_blocks[d]) {
      j.revokes.push_back(span_query{static_cast<domain_id>(d), r});
      j.revoke_pages += r.size();
    }
    j.runs_after.push_back(detail::subtract(j.runs[d], revoke_blocks[d]));
  }

  study::prng rng(0x7374756479u ^ (static_cast<std::uint64_t>(id) << 40) ^ params.seed);  // "study"
  if (j.domains > 1) rng.shuffle(j.revokes);

  // The k-th granted page of domain d, through the runs' page-count prefix sums.
  std::vector<std::vector<std::uint64_t>> before(j.domains);
  std::vector<std::uint64_t> domain_pages(j.domains, 0);
  for (std::size_t d = 0; d < j.domains; ++d) {
    before[d].reserve(j.runs[d].size());
    for (const page_range& r : j.runs[d]) {
      before[d].push_back(domain_pages[d]);
      domain_pages[d] += r.size();
    }
  }
  // A random domain that holds something, and a random granted page of it.
  const auto pick_domain = [&]() {
    for (;;) {
      const auto d = static_cast<domain_id>(rng.below(j.domains));
      if (domain_pages[d] != 0) return d;
    }
  };
  const auto nth_granted = [&](domain_id d, std::uint64_t k) -> std::pair<page_t, const page_range*> {
    const auto& b = before[d];
    const auto i = static_cast<std::size_t>(std::upper_bound(b.begin(), b.end(), k) - b.begin()) - 1;
    return {j.runs[d][i].first + (k - b[i]), &j.runs[d][i]};
  };
  // "Anywhere": the universe, except W8, whose pages all sit in one 2^26-page span.
  page_range anywhere = j.universe;
  if (id == pattern_id::w8) {
    anywhere = page_range{max_page, 0};
    for (const auto& rs : j.runs) {
      anywhere.first = std::min(anywhere.first, rs.front().first);
      anywhere.last = std::max(anywhere.last, rs.back().last);
    }
  }

  if (j.pages != 0) {
    j.points.reserve(q.points);
    for (std::size_t i = 0; i < q.points; ++i) {
      const domain_id d = pick_domain();
      const page_t p =
          i % 2 == 0 ? nth_granted(d, rng.below(domain_pages[d])).first : anywhere.first + rng.below(anywhere.size());
      j.points.push_back(point_query{d, p});
    }
    rng.shuffle(j.points);

    j.spans.reserve(q.spans);
    for (std::size_t i = 0; i < q.spans; ++i) {
      const domain_id d = pick_domain();
      const std::uint64_t len = rng.between(1, std::min<std::uint64_t>(1024, anywhere.size()));
      page_range r{};
      switch (i % 3) {
        case 0: {  // inside one run: true
          const auto [p, run] = nth_granted(d, rng.below(domain_pages[d]));
          r = page_range{p, std::min<page_t>(run->last, p + len - 1)};
          break;
        }
        case 1:  // from a granted page, any length
          r.first = nth_granted(d, rng.below(domain_pages[d])).first;
          r.last = std::min<page_t>(r.first + len - 1, anywhere.last);
          break;
        default:  // anywhere: mostly false
          r.first = anywhere.first + rng.below(anywhere.size() - len + 1);
          r.last = r.first + len - 1;
          break;
      }
      j.spans.push_back(span_query{d, r});
    }
    rng.shuffle(j.spans);
  }

  const auto granted = [&](domain_id d, page_t p) { return detail::run_of(j.runs[d], p) != nullptr; };
  const auto covered = [&](domain_id d, page_range r) {
    const page_range* run = detail::run_of(j.runs[d], r.first);
    return run != nullptr && r.last <= run->last;
  };
  for (const point_query& q1 : j.points) {
    j.point_answers.push_back(granted(q1.d, q1.p));
    j.points_true += j.point_answers.back() ? 1 : 0;
  }
  if (!j.points.empty()) {
    const std::size_t mask = j.points.size() - 1;
    std::size_t i = 0;
    for (std::size_t n = 0; n < j.points.size(); ++n) {
      const bool hit = detail::run_of(j.runs[j.points[i].d], j.points[i].p) != nullptr;
      j.chain_true += hit ? 1 : 0;
      i = chain_next(i, hit, mask);
    }
  }
  for (const span_query& s : j.spans) {
    j.span_answers.push_back(covered(s.d, s.r));
    j.spans_true += j.span_answers.back() ? 1 : 0;
  }

  // Boundary queries, where an off-by-one would show.
  const std::size_t per_domain = std::max<std::size_t>(2, 4096 / j.domains);
  for (std::size_t d = 0; d < j.domains; ++d) {
    const std::vector<page_range>& rs = j.runs[d];
    const std::size_t step_by = std::max<std::size_t>(1, rs.size() / per_domain);
    std::vector<std::size_t> chosen;
    for (std::size_t i = 0; i < rs.size(); i += step_by) chosen.push_back(i);
    if (!rs.empty() && chosen.back() != rs.size() - 1) chosen.push_back(rs.size() - 1);
    for (std::size_t i : chosen) {
      const page_range r = rs[i];
      const auto dd = static_cast<domain_id>(d);
      for (page_t p : {r.first - 1, r.first, r.first + 1, r.last - 1, r.last, r.last + 1})
        if (p >= j.universe.first && p <= j.universe.last) j.edge_points.push_back(point_query{dd, p});
      j.edge_spans.push_back(span_query{dd, r});
      j.edge_spans.push_back(span_query{dd, page_range::single(r.first)});
      if (r.first > j.universe.first) j.edge_spans.push_back(span_query{dd, page_range{r.first - 1, r.last}});
      if (r.last < j.universe.last) j.edge_spans.push_back(span_query{dd, page_range{r.first, r.last + 1}});
    }
  }
  for (const point_query& q1 : j.edge_points) j.edge_point_answers.push_back(granted(q1.d, q1.p));
  for (const span_query& s : j.edge_spans) j.edge_span_answers.push_back(covered(s.d, s.r));
  return j;
}

}  // namespace pmemperm::bench
