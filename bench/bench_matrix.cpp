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

struct prebuilt_base {
  virtual ~prebuilt_base() = default;
  bool ok = false;
  bool refused = false;
  std::string wrong;  ///< what was wrong with the built set, if anything
  std::int64_t heap = -1;
  std::int64_t model = -1;
};

/// A target built once from the pattern, in storage allocated before the heap
/// meter opens (so the meter counts the structure's heap, not the object).
template <class T>
struct prebuilt final : prebuilt_base {
  alignas(T) unsigned char storage[sizeof(T)];
  T* t = nullptr;
  ~prebuilt() override {
    if (t != nullptr) t->~T();
  }
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
  if (!slot) {
    auto pb = std::make_unique<prebuilt<T>>();
    bool granted = false;
    {
      heap_scope scope;
      pb->t = ::new (static_cast<void*>(pb->storage)) T(ps.j.domains);
      granted = run_steps(*pb->t, ps.j.build);
      pb->t->finish();
      pb->heap = heap_meter::available() ? scope.bytes() : -1;
    }
    pb->refused = !granted && T::refuses && could_exceed(ps.j, T::max_runs, false);
    pb->ok = granted && pb->t->count() == ps.j.pages && holds(*pb->t, ps.j.runs);
    if (!pb->ok)
      pb->wrong = "the built set differs from the pattern";
    else
      pb->wrong = wrong_answer(*pb->t, ps.j);
    pb->ok = pb->ok && pb->wrong.empty();
    pb->model = pb->t->model_bytes();
    slot = std::move(pb);
  }
  auto& pb = static_cast<prebuilt<T>&>(*slot);
  if (pb.refused) {
    state.SkipWithError("does not fit (capacity_exceeded)");
    return nullptr;
  }
  if (!pb.ok) {
    fail(state, std::string(study::name(ps.id)) + "/" + name + ": " + pb.wrong);
    return nullptr;
  }
  state.counters["pages"] = static_cast<double>(ps.j.pages);
  if (pb.heap >= 0) {
    state.counters["heap_B"] = static_cast<double>(pb.heap);
    state.counters["heap_B_per_page"] = static_cast<double>(pb.heap) / static_cast<double>(ps.j.pages);
  }
  if (pb.model >= 0) state.counters["model_B"] = static_cast<double>(pb.model);
  return pb.t;
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

  if (o == op::build || o == op::build_sorted) {
    const std::vector<step>& steps = o == op::build ? j.build : j.build_sorted;
    const std::size_t batch =
        T::huge || j.domains > 1 ? 1 : std::clamp<std::size_t>((std::size_t{1} << 14) / std::max<std::size_t>(1, steps.size()), 1, 1024);
    bool checked = false;
    for (auto _ : state) {
      std::vector<std::unique_ptr<T>> sets;
      for (std::size_t i = 0; i < batch; ++i) sets.push_back(std::make_unique<T>(j.domains));
      bool ok = true;
      const double t0 = thread_seconds();
      for (auto& s : sets) {
        ok = run_steps(*s, steps) && ok;
        s->finish();
      }
      state.SetIterationTime(thread_seconds() - t0);
      for (auto& s : sets) ok = ok && s->count() == j.pages;
      if (!ok || (!checked && !holds(*sets.front(), j.runs))) {
        fail(state, where + ": wrong set after the build");
        return;
      }
      checked = true;
    }
    state.counters["per_build"] = per(static_cast<double>(batch));
    state.counters["per_step"] = per(static_cast<double>(batch * steps.size()));
    return;
  }

  if (o == op::revoke) {
    bool checked = false;
    for (auto _ : state) {
      std::unique_ptr<T> copy;
      T* s = pre;
      if constexpr (!T::huge) {
        copy = std::make_unique<T>(j.domains);
        if (!copy->assign(*pre) && !run_steps(*copy, j.build_sorted)) {
          fail(state, where + ": could not copy the built set");
          return;
        }
        s = copy.get();
      }
      const double t0 = thread_seconds();
      const bool ok = revoke_all(*s, j);
      state.SetIterationTime(thread_seconds() - t0);
      if (!ok && !(T::refuses && could_exceed(j, T::max_runs, true))) {
        fail(state, where + ": a revoke failed");
        return;
      }
      if (!ok ? !holds_subset(*s, j)
              : !checked && (s->count() != j.pages - j.revoke_pages || !holds(*s, j.runs_after))) {
        fail(state, where + ": wrong set after the revokes");
        return;
      }
      if (!ok) state.SetLabel("revoked_extra");
      checked = true;
      if constexpr (T::huge) {
        for (const span_query& q : j.revokes) static_cast<void>(s->grant(q.d, q.r));
        if (s->count() != j.pages) {
          fail(state, where + ": re-grant after the revokes failed");
          return;
        }
      }
    }
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
  for (auto _ : state) {
    const double t0 = thread_seconds();
    const std::uint64_t hits =
        o == op::contains ? count_points(*pre, j) : o == op::contains_chain ? count_chain(*pre, j) : count_spans(*pre, j);
    state.SetIterationTime(thread_seconds() - t0);
    benchmark::DoNotOptimize(hits);
    if (hits != expected) {
      fail(state, where + ": " + std::to_string(hits) + " true answers, expected " + std::to_string(expected));
      return;
    }
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
