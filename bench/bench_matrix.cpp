// bench_matrix — the study's measurements as a Google Benchmark matrix: every
// structure on every pattern (W1–W8) for every operation, with Google Benchmark's
// filters, repetitions and reporters (--benchmark_format=json, --benchmark_out=...).
//
// Names are <pattern>/<operation>/<structure>, e.g. W6/contains_chain/hybrid:
//   build            the pattern's own order into fresh sets (W7: the churn stream of
//                    grants and revokes, so W7/build is the mixed stream)
//   build_sorted     the same final set granted in ascending order
//   contains         independent queries (throughput)
//   contains_chain   each query's place depends on the previous answer (latency)
//   contains_all     ranges of 1..1024 pages
//   revoke           10% of the granted pages in blocks of up to 64, on a fresh copy
// Structures: ours (hybrid, rangeset, chunked, capped where the pattern fits, flat,
// icl_set) and the comparators found by CMake (icl, croaring, btree). W8 runs ours
// through permission_map and the comparators as one structure per domain; the flat
// bitmap is left out of W8 (1024 x 128 MiB).
//
// Counters: heap_B (real heap bytes after a random-order build, the same malloc-level
// meter for every structure), model_B (memory_bytes(), ours only), heap_B_per_page,
// and per-operation times (per_build, per_query, per_revoke). Every pass checks its
// answers against the job's reference (bench/support/job.hpp), which every
// structure must match: a structure that answers wrongly is skipped with an error
// and the program exits 1. Timings are thread CPU time (manual time).
//
// Options: the --benchmark_* flags, plus --scale N (or PMEMPERM_BENCH_SCALE=N):
// divide the pattern sizes by 2^N (default 0, full size). A missing comparator is
// named at start; the rest still run.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <pmemperm/backends/chunked_bitmap.hpp>
#include <pmemperm/backends/hybrid.hpp>
#include <pmemperm/backends/rangeset.hpp>

#include "support/heap_meter.hpp"
#include "support/job.hpp"
#include "support/kernels.hpp"
#include "support/measure.hpp"
#include "support/structures.hpp"

namespace {

using namespace pmemperm;
using namespace pmemperm::bench;
using study::pattern_id;

unsigned scale_log2 = 0;
std::vector<std::string> failures;

// ---- per-pattern state, built lazily and dropped when the next pattern starts ----

/// A target's reference build (measure.hpp), kept for the pattern's benchmarks.
struct prebuilt_base {
  virtual ~prebuilt_base() = default;
};

template <class T>
struct prebuilt final : prebuilt_base {
  explicit prebuilt(const job& j) : ref(j) {}
  reference_build<T> ref;
};

struct pattern_state {
  pattern_id id{};
  job j;
  std::map<std::string, std::unique_ptr<prebuilt_base>> built;
};

std::unique_ptr<pattern_state> current;

pattern_state& prepare(pattern_id id) {
  if (!current || current->id != id) {
    current.reset();
    auto st = std::make_unique<pattern_state>();
    st->id = id;
    study::pattern_params params;
    params.scale_log2 = scale_log2;
    st->j = make_job(id, params);
    current = std::move(st);
  }
  return *current;
}

void fail(benchmark::State& state, const std::string& what) {
  if (std::find(failures.begin(), failures.end(), what) == failures.end()) failures.push_back(what);
  state.SkipWithError(what.c_str());
}

template <class T>
T* prebuild(pattern_state& ps, const std::string& name, benchmark::State& state) {
  std::unique_ptr<prebuilt_base>& slot = ps.built[name];
  if (!slot) slot = std::make_unique<prebuilt<T>>(ps.j);
  const reference_build<T>& ref = static_cast<prebuilt<T>&>(*slot).ref;
  if (ref.refused) {
    state.SkipWithError(ref.verdict.c_str());
    return nullptr;
  }
  if (!ref.ok()) {
    fail(state, std::string(study::name(ps.id)) + "/" + name + ": " + ref.verdict);
    return nullptr;
  }
  T& t = *ref.set;
  state.counters["pages"] = static_cast<double>(ps.j.pages);
  if (ref.heap >= 0) {
    state.counters["heap_B"] = static_cast<double>(ref.heap);
    state.counters["heap_B_per_page"] = static_cast<double>(ref.heap) / static_cast<double>(ps.j.pages);
  }
  if (const std::int64_t model = t.model_bytes(); model >= 0) state.counters["model_B"] = static_cast<double>(model);
  return &t;
}

enum class op { build, build_sorted, contains, contains_chain, contains_all, revoke };
constexpr op all_ops[] = {op::build, op::build_sorted, op::contains, op::contains_chain, op::contains_all, op::revoke};

const char* op_name(op o) {
  switch (o) {
    case op::build: return "build";
    case op::build_sorted: return "build_sorted";
    case op::contains: return "contains";
    case op::contains_chain: return "contains_chain";
    case op::contains_all: return "contains_all";
    case op::revoke: return "revoke";
  }
  return "?";
}

benchmark::Counter per(double n) {
  return benchmark::Counter(n, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

template <class T>
void run(benchmark::State& state, pattern_id id, const std::string& name, op o) {
  pattern_state& ps = prepare(id);
  T* pre = prebuild<T>(ps, name, state);
  if (pre == nullptr) return;
  const job& j = ps.j;
  const std::string where = std::string(study::name(id)) + "/" + op_name(o) + "/" + name;

  std::string problem;
  if (o == op::build || o == op::build_sorted) {
    const std::vector<step>& steps = o == op::build ? j.build : j.build_sorted;
    bool checked = false;
    for (auto _ : state) {
      const double seconds = build_pass<T>(j, steps, checked, problem);
      if (!problem.empty()) {
        fail(state, where + ": " + problem);
        return;
      }
      state.SetIterationTime(seconds);
    }
    const auto batch = static_cast<double>(build_batch<T>(j, steps));
    state.counters["per_build"] = per(batch);
    state.counters["per_step"] = per(batch * static_cast<double>(steps.size()));
    return;
  }

  if (o == op::revoke) {
    bool checked = false;
    bool extra = false;
    for (auto _ : state) {
      const double seconds = revoke_pass(*pre, j, checked, extra, problem);
      if (!problem.empty()) {
        fail(state, where + ": " + problem);
        return;
      }
      state.SetIterationTime(seconds);
    }
    if (extra) state.SetLabel("revoked_extra");
    state.counters["per_revoke"] = per(static_cast<double>(j.revokes.size()));
    return;
  }

  std::uint64_t expected = 0;
  std::size_t queries = 0;
  switch (o) {
    case op::contains: expected = j.points_true; queries = j.points.size(); break;
    case op::contains_chain: expected = j.chain_true; queries = j.points.size(); break;
    default: expected = j.spans_true; queries = j.spans.size(); break;
  }
  const auto kernel = [&](const T& t) {
    return o == op::contains ? count_points(t, j) : o == op::contains_chain ? count_chain(t, j) : count_spans(t, j);
  };
  for (auto _ : state) {
    const double per_query = query_pass(*pre, queries, expected, kernel, op_name(o), problem);
    if (!problem.empty()) {
      fail(state, where + ": " + problem);
      return;
    }
    state.SetIterationTime(per_query * static_cast<double>(queries));
  }
  state.counters["per_query"] = per(static_cast<double>(queries));
}

// ---- registration ------------------------------------------------------------------

using runner = void (*)(benchmark::State&, pattern_id, const std::string&, op);

struct structure {
  const char* name;
  runner single_set;
  runner domains;  ///< nullptr: not run on W8
};

std::vector<structure> structures() {
  std::vector<structure> s;
  s.push_back({"hybrid", &run<single<ours<hybrid<>>>>, &run<mapped<hybrid<>>>});
  s.push_back({"rangeset", &run<single<ours<rangeset<>>>>, &run<mapped<rangeset<>>>});
  s.push_back({"chunked", &run<single<ours<chunked_bitmap<>>>>, &run<mapped<chunked_bitmap<>>>});
  s.push_back({"capped", &run<single<capped>>, &run<mapped<capped_page>>});
#if PMEMPERM_BENCH_HAVE_ICL
  s.push_back({"icl_set", &run<single<ours<icl_set<>>>>, &run<mapped<icl_set<>>>});
#endif
  s.push_back({"flat", &run<single<flat>>, nullptr});
#if PMEMPERM_BENCH_HAVE_ICL
  s.push_back({"icl", &run<single<icl>>, &run<many<icl>>});
#endif
#if PMEMPERM_BENCH_HAVE_ROARING
  s.push_back({"croaring", &run<single<roaring>>, &run<many<roaring>>});
#endif
#if PMEMPERM_BENCH_HAVE_ABSL
  s.push_back({"btree", &run<single<btree>>, &run<many<btree>>});
#endif
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  // --scale N (or PMEMPERM_BENCH_SCALE): N in 0..15, decimal digits only.
  const auto parse_scale = [](const char* text) {
    if (text == nullptr || std::strlen(text) == 0 || std::strlen(text) > 2 ||
        std::strspn(text, "0123456789") != std::strlen(text) || std::atoi(text) > 15) {
      std::fprintf(stderr, "bench_matrix: --scale must be 0..15\n");
      std::exit(2);
    }
    return static_cast<unsigned>(std::atoi(text));
  };
  if (const char* s = std::getenv("PMEMPERM_BENCH_SCALE"); s != nullptr && *s != '\0') scale_log2 = parse_scale(s);
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--scale") == 0)
      scale_log2 = parse_scale(i + 1 < argc ? argv[++i] : nullptr);
    else
      argv[kept++] = argv[i];
  }
  argc = kept;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  std::printf("bench_matrix: patterns W1-W8 at scale 1/2^%u; structures:", scale_log2);
  const std::vector<structure> all = structures();
  for (const structure& s : all) std::printf(" %s", s.name);
  std::printf("\n");
  if (!PMEMPERM_BENCH_HAVE_ICL) std::printf("missing: Boost.ICL and icl_set (libboost-dev)\n");
  if (!PMEMPERM_BENCH_HAVE_ROARING) std::printf("missing: CRoaring (libroaring-dev)\n");
  if (!PMEMPERM_BENCH_HAVE_ABSL) std::printf("missing: absl::btree_map (libabsl-dev)\n");
  if (!heap_meter::available()) std::printf("missing: heap meter (glibc without sanitizers): no heap_B counters\n");
  std::fflush(stdout);

  const pattern_id patterns[] = {pattern_id::w1, pattern_id::w2, pattern_id::w3, pattern_id::w4,
                                 pattern_id::w5, pattern_id::w6, pattern_id::w7, pattern_id::w8};
  for (pattern_id id : patterns)
    for (op o : all_ops)
      for (const structure& s : all) {
        const runner fn = id == pattern_id::w8 ? s.domains : s.single_set;
        if (fn == nullptr) continue;
        const std::string sname = s.name;
        const std::string name = std::string(study::name(id)) + "/" + op_name(o) + "/" + sname;
        benchmark::RegisterBenchmark(name.c_str(), [fn, id, sname, o](benchmark::State& st) { fn(st, id, sname, o); })
            ->UseManualTime()
            ->Unit(o == op::build || o == op::build_sorted || o == op::revoke ? benchmark::kMillisecond
                                                                              : benchmark::kMicrosecond);
      }
  benchmark::RunSpecifiedBenchmarks();
  current.reset();
  benchmark::Shutdown();
  if (!failures.empty()) {
    std::printf("\nFAILED: wrong answers:\n");
    for (const std::string& f : failures) std::printf("  %s\n", f.c_str());
    return 1;
  }
  return 0;
}
