// bench/support/workload.hpp — what every structure is asked to do for one
// pattern, prepared once, with the answers every structure must give.
//
// For pattern W: its grants in random order (study/patterns.hpp), the 10% revoke
// plan in blocks, 2^16 contains() queries (half on granted pages, half anywhere in
// the universe) and 2^14 contains_all() ranges of 1..1024 pages (a third inside a
// granted run, a third starting on a granted page with any length, a third
// anywhere), all shuffled and drawn from fixed seeds. The expected number of true
// answers comes from a binary search over the pattern's maximal runs and, when
// Boost is there, is cross-checked with the icl_set oracle; a benchmark whose
// structure answers differently is reported as wrong, never as fast.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include <pmemperm/study/patterns.hpp>
#include <pmemperm/types.hpp>

#if PMEMPERM_BENCH_HAVE_ICL
#include <pmemperm/backends/icl.hpp>
#endif

namespace pmemperm::bench {

/// Thread CPU time in seconds: on a shared machine, time spent descheduled is not
/// the structure's fault, so every timing in the target benchmark uses this clock.
[[nodiscard]] inline double thread_seconds() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

[[noreturn]] inline void die(const char* what) {
  std::fprintf(stderr, "bench_targets: %s\n", what);
  std::abort();
}

struct workload {
  study::pattern pat;
  study::revoke_plan plan;
  std::vector<page_range> runs;     ///< the maximal runs of the granted set, ascending
  std::vector<page_t> points;       ///< contains() queries
  std::vector<page_range> spans;    ///< contains_all() queries
  std::uint64_t points_true = 0;    ///< expected number of true answers
  std::uint64_t spans_true = 0;
  std::uint64_t pages_after_revoke = 0;
};

namespace detail {

/// The run holding p, or runs.end().
inline std::vector<page_range>::const_iterator run_of(const std::vector<page_range>& runs, page_t p) {
  auto it = std::upper_bound(runs.begin(), runs.end(), p, [](page_t x, const page_range& r) { return x < r.first; });
  if (it == runs.begin()) return runs.end();
  --it;
  return p <= it->last ? it : runs.end();
}

}  // namespace detail

[[nodiscard]] inline workload make_workload(study::pattern_id id, std::size_t point_count = std::size_t{1} << 16,
                                            std::size_t span_count = std::size_t{1} << 14) {
  workload w;
  study::pattern_params params;
  params.universe_log2 = 30;
  w.pat = study::make_pattern(id, params);
  w.plan = study::make_revoke_plan(w.pat);
  w.runs = study::normalize(w.pat.grants);
  w.pages_after_revoke = w.pat.pages - w.plan.pages;
  if (w.pat.universe.last >= (page_t{1} << 32)) die("pattern outside the 32-bit page range");

  // The k-th granted page (k < pages), through the runs' page-count prefix sums.
  std::vector<std::uint64_t> before(w.runs.size());
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < w.runs.size(); ++i) {
    before[i] = sum;
    sum += w.runs[i].size();
  }
  const auto nth_granted = [&](std::uint64_t k) -> std::pair<page_t, const page_range*> {
    const auto i = static_cast<std::size_t>(std::upper_bound(before.begin(), before.end(), k) - before.begin()) - 1;
    return {w.runs[i].first + (k - before[i]), &w.runs[i]};
  };

  study::prng rng(0x62656e6368u + static_cast<std::uint64_t>(id));  // "bench"
  const page_t universe = w.pat.universe.last + 1;

  w.points.reserve(point_count);
  for (std::size_t i = 0; i < point_count; ++i)
    w.points.push_back(i % 2 == 0 ? nth_granted(rng.below(w.pat.pages)).first : rng.below(universe));
  rng.shuffle(w.points);

  w.spans.reserve(span_count);
  for (std::size_t i = 0; i < span_count; ++i) {
    const std::uint64_t len = rng.between(1, 1024);
    page_t first = 0;
    page_t last = 0;
    switch (i % 3) {
      case 0: {  // inside one run: true
        const auto [p, run] = nth_granted(rng.below(w.pat.pages));
        first = p;
        last = std::min<page_t>(run->last, p + len - 1);
        break;
      }
      case 1:  // from a granted page, any length: true or false
        first = nth_granted(rng.below(w.pat.pages)).first;
        last = first + len - 1;
        break;
      default:  // anywhere: mostly false
        first = rng.below(universe - len + 1);
        last = first + len - 1;
        break;
    }
    if (last >= universe) last = universe - 1;
    w.spans.push_back(page_range{first, last});
  }
  rng.shuffle(w.spans);

  for (page_t p : w.points) w.points_true += detail::run_of(w.runs, p) != w.runs.end() ? 1 : 0;
  for (const page_range& r : w.spans) {
    const auto it = detail::run_of(w.runs, r.first);
    w.spans_true += it != w.runs.end() && r.last <= it->last ? 1 : 0;
  }

#if PMEMPERM_BENCH_HAVE_ICL
  // The oracle must agree with the plain binary search, or nothing is verified.
  icl_set<> oracle;
  for (const page_range& g : w.pat.grants)
    if (oracle.grant(g) != errc::ok) die("icl_set oracle: grant failed");
  if (oracle.count() != w.pat.pages || oracle.range_count() != w.pat.runs) die("icl_set oracle: wrong set");
  std::uint64_t points_true = 0;
  std::uint64_t spans_true = 0;
  for (page_t p : w.points) points_true += oracle.contains(p) ? 1 : 0;
  for (const page_range& r : w.spans) spans_true += oracle.contains_all(r) ? 1 : 0;
  if (points_true != w.points_true || spans_true != w.spans_true) die("icl_set oracle disagrees with the run list");
#endif
  return w;
}

}  // namespace pmemperm::bench
