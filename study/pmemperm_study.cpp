// pmemperm_study — the strategy study, pmemperm's main job: every backend and every
// comparator on the fragmented patterns W1–W8, measured side by side in one run.
//
// For each pattern (bench/support/job.hpp) and structure it measures, all as thread
// CPU time, the best of repeated passes:
//   memory        real heap bytes after a random-order build (malloc_usable_size +
//                 8 per live block, the same meter for everybody:
//                 bench/support/heap_meter.hpp), memory_bytes() for ours, and heap
//                 bytes per granted page
//   build         the pattern in its own order (W7: the churn stream), and sorted
//   contains      independent queries (throughput) and a dependent chain (latency)
//   contains_all  ranges of 1..1024 pages
//   revoke        10% of the granted pages in blocks of up to 64
//   pressure      (ours only, untimed) the same revokes with every allocation
//                 refused: the pages lost beyond the revoked ones, and the same
//                 after reserve(k), where it must be none (pressure.hpp)
// and checks every answer: counts and exact run lists after build and revoke, and
// the number of true answers of every query pass against the job's own reference
// (binary searches over the generator's runs). A structure that answers wrongly is
// reported WRONG, left out of the ratios, and the program exits 1; so does one
// that breaks the revoke rule under pressure or loses a page after reserve(k).
//
// Output: a table per pattern with each structure's figures and its ratios to the
// best comparator (Boost.ICL, CRoaring, absl::btree_map: whichever were found at
// build time), a target summary for hybrid and rangeset, the pressure tables, and
// in the output folder
// results.json, results.csv, and (with gnuplot) memory_per_page.png and
// contains.png, rendered from the CSV by the charts.gp written beside them.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/utsname.h>

#include <pmemperm/backends/capped_page.hpp>
#include <pmemperm/backends/chunked_bitmap.hpp>
#include <pmemperm/backends/flat_bitmap.hpp>
#include <pmemperm/backends/hybrid.hpp>
#include <pmemperm/backends/rangeset.hpp>

#include "support/heap_meter.hpp"
#include "support/job.hpp"
#include "support/kernels.hpp"
#include "support/measure.hpp"
#include "support/pressure.hpp"
#include "support/structures.hpp"

namespace {

using namespace pmemperm;
using namespace pmemperm::bench;
using study::pattern_id;

// ---- options ---------------------------------------------------------------------

struct settings {
  std::vector<pattern_id> patterns;
  std::vector<std::string> structures;  ///< empty: all
  unsigned scale_log2 = 0;
  std::uint64_t seed = 0;
  unsigned queries_log2 = 16;
  double min_time = 0.2;  ///< seconds of passes per measurement (at least one pass)
  std::string out = "study-out";
  bool charts = true;
};

const pattern_id all_patterns[] = {pattern_id::w1, pattern_id::w2, pattern_id::w3, pattern_id::w4,
                                   pattern_id::w5, pattern_id::w6, pattern_id::w7, pattern_id::w8};

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: pmemperm_study [options]\n"
               "\n"
               "Runs every pmemperm backend and every comparator found at build time on the\n"
               "fragmented patterns W1-W8 (docs/design.md), checks that all give the same answers,\n"
               "measures what pmemperm's revokes lose when every allocation is refused (and\n"
               "that after reserve() they lose nothing), prints a table per pattern and writes\n"
               "results.json, results.csv and PNG charts.\n"
               "With no options: all patterns at full size, all structures, ./study-out.\n"
               "\n"
               "  --patterns LIST   comma-separated pattern ids, e.g. W1,W3,W8 (default: all)\n"
               "  --backends LIST   comma-separated structures (default: all). Ours: hybrid,\n"
               "                    hybrid/vec (W8 only: no map), rangeset, chunked, capped,\n"
               "                    flat, icl_set; comparators: icl, croaring, btree (those\n"
               "                    built in are listed at start)\n"
               "  --scale N         divide every pattern's page counts by 2^N (default 0, full\n"
               "                    size; 10 runs everything in seconds). At large N a run\n"
               "                    is shorter than a 64-page revoke block, so more than 10%%\n"
               "                    is revoked, and times approach the clock's resolution\n"
               "  --seed N          pattern seed (default: the fixed seed of study/patterns.hpp)\n"
               "  --queries N       2^N contains() queries, 2^(N-2) contains_all() ranges per\n"
               "                    pattern (default 16, range 4..20)\n"
               "  --min-time S      seconds of repeated passes per measurement; the best pass\n"
               "                    is kept (default 0.2; 0 = one pass each)\n"
               "  --out DIR         output folder (default study-out), created if missing\n"
               "  --no-charts       do not run gnuplot\n"
               "  --help            this text\n"
               "\n"
               "Exit status: 0 all structures agreed, 1 a structure gave a wrong answer (or,\n"
               "under memory pressure, broke the revoke rule or lost pages after reserve()),\n"
               "2 bad arguments or output folder.\n");
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, ','))
    if (!cur.empty()) out.push_back(cur);
  return out;
}

/// A decimal number: digits only (no sign, no base prefix), no overflow.
bool parse_u64(const char* s, std::uint64_t& out) {
  if (s == nullptr || *s < '0' || *s > '9') return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (*end != '\0' || errno == ERANGE) return false;
  out = v;
  return true;
}

bool parse_pattern(std::string s, pattern_id& out) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (pattern_id id : all_patterns)
    if (s == study::name(id)) {
      out = id;
      return true;
    }
  return false;
}

/// Parses argv; returns false (after a message) on a bad argument.
bool parse(int argc, char** argv, settings& st) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    std::uint64_t v = 0;
    const auto bad = [&](const char* why) {
      std::fprintf(stderr, "pmemperm_study: %s: %s\n", a.c_str(), why);
      return false;
    };
    if (a == "--help" || a == "-h") {
      usage(stdout);
      std::exit(0);
    } else if (a == "--no-charts") {
      st.charts = false;
    } else if (value == nullptr) {
      return bad("unknown option, or a value is missing (see --help)");
    } else if (a == "--patterns") {
      st.patterns.clear();
      for (const std::string& p : split(value)) {
        pattern_id id{};
        if (!parse_pattern(p, id)) return bad("unknown pattern (W1..W8)");
        if (std::find(st.patterns.begin(), st.patterns.end(), id) == st.patterns.end()) st.patterns.push_back(id);
      }
      if (st.patterns.empty()) return bad("no pattern given");
      ++i;
    } else if (a == "--backends") {
      st.structures = split(value);
      if (st.structures.empty()) return bad("no structure given");
      ++i;
    } else if (a == "--scale") {
      if (!parse_u64(value, v) || v > 15) return bad("expected 0..15 (W8 needs at least 2^11 pages)");
      st.scale_log2 = static_cast<unsigned>(v);
      ++i;
    } else if (a == "--seed") {
      if (!parse_u64(value, v)) return bad("expected a number");
      st.seed = v;
      ++i;
    } else if (a == "--queries") {
      if (!parse_u64(value, v) || v < 4 || v > 20) return bad("expected 4..20");
      st.queries_log2 = static_cast<unsigned>(v);
      ++i;
    } else if (a == "--min-time") {
      char* end = nullptr;
      const double t = std::strtod(value, &end);
      if (*end != '\0' || !(t >= 0) || t > 60) return bad("expected seconds, 0..60");
      st.min_time = t;
      ++i;
    } else if (a == "--out") {
      st.out = value;
      ++i;
    } else {
      return bad("unknown option (see --help)");
    }
  }
  if (st.patterns.empty()) st.patterns.assign(std::begin(all_patterns), std::end(all_patterns));
  return true;
}

// ---- the structures --------------------------------------------------------------

struct structure {
  const char* name;
  const char* kind;
  result (*single_pattern)(const job&, const settings&);  ///< W1–W7; nullptr: W8 only
  result (*domains_pattern)(const job&, const settings&); ///< W8; nullptr: not run
  const char* why_not_domains;
  pressure_figures (*single_pressure)(const job&) = nullptr;   ///< ours only: W1–W7
  pressure_figures (*domains_pressure)(const job&) = nullptr;  ///< ours only: W8
};

template <class W>
result run_single(const job& j, const settings& st) {
  return measure<single<W>>(j, st.min_time);
}
template <class S>
result run_mapped(const job& j, const settings& st) {
  return measure<mapped<S>>(j, st.min_time);
}
template <class W>
result run_many(const job& j, const settings& st) {
  return measure<many<W>>(j, st.min_time);
}

/// The pressure measure of pmemperm's set S over a refusable allocator (W1–W7),
/// and of permission_map<M> over one (W8).
template <class S>
pressure_figures pressure_single(const job& j) {
  return measure_pressure<pressure_set<S>>(j);
}
template <class M>
pressure_figures pressure_mapped(const job& j) {
  return measure_pressure<pressure_map<M>>(j);
}

std::vector<structure> all_structures() {
  std::vector<structure> s;
  s.push_back({"hybrid", "pmemperm", &run_single<ours<hybrid<>>>, &run_mapped<hybrid<>>, nullptr,
               &pressure_single<hybrid<refusable>>, &pressure_mapped<hybrid<>>});
  s.push_back({"rangeset", "pmemperm", &run_single<ours<rangeset<>>>, &run_mapped<rangeset<>>, nullptr,
               &pressure_single<rangeset<refusable>>, &pressure_mapped<rangeset<>>});
  // W8 without permission_map: a hybrid per domain in a vector indexed by domain
  // id, the shape the comparators are measured in. Its gap to "hybrid" on W8 is
  // what the map's domain lookup costs.
  s.push_back({"hybrid/vec", "pmemperm", nullptr, &run_many<ours<hybrid<>>>, nullptr});
  s.push_back({"chunked", "pmemperm", &run_single<ours<chunked_bitmap<>>>, &run_mapped<chunked_bitmap<>>, nullptr,
               &pressure_single<chunked_bitmap<refusable>>, &pressure_mapped<chunked_bitmap<>>});
  s.push_back({"capped", "pmemperm", &run_single<capped>, &run_mapped<capped_page>, nullptr,
               &pressure_single<capped_page>, &pressure_mapped<capped_page>});
#if PMEMPERM_BENCH_HAVE_ICL
  s.push_back({"icl_set", "pmemperm", &run_single<ours<icl_set<>>>, &run_mapped<icl_set<>>, nullptr,
               &pressure_single<icl_set<refusable>>, &pressure_mapped<icl_set<>>});
#endif
  s.push_back({"flat", "floor", &run_single<flat>, nullptr, "1024 flat bitmaps of the 2^30-page universe need 128 GiB",
               &pressure_single<flat_bitmap<refusable>>, nullptr});
#if PMEMPERM_BENCH_HAVE_ICL
  s.push_back({"icl", "comparator", &run_single<icl>, &run_many<icl>, nullptr});
#endif
#if PMEMPERM_BENCH_HAVE_ROARING
  s.push_back({"croaring", "comparator", &run_single<roaring>, &run_many<roaring>, nullptr});
#endif
#if PMEMPERM_BENCH_HAVE_ABSL
  s.push_back({"btree", "comparator", &run_single<btree>, &run_many<btree>, nullptr});
#endif
  return s;
}

std::vector<std::string> missing_comparators() {
  std::vector<std::string> m;
  if (!PMEMPERM_BENCH_HAVE_ICL) m.push_back("Boost.ICL and icl_set (Boost headers not found: libboost-dev)");
  if (!PMEMPERM_BENCH_HAVE_ROARING) m.push_back("CRoaring (CMake package roaring not found: libroaring-dev)");
  if (!PMEMPERM_BENCH_HAVE_ABSL) m.push_back("absl::btree_map (CMake package absl not found: libabsl-dev)");
  if (!heap_meter::available()) m.push_back("heap meter (needs glibc, no sanitizers): heap bytes not measured");
  return m;
}

// ---- reporting -------------------------------------------------------------------

struct pattern_report {
  pattern_id id;
  std::size_t domains = 1;
  std::uint64_t steps = 0;
  std::uint64_t grants = 0;
  std::uint64_t pages = 0;
  std::uint64_t runs = 0;
  std::uint64_t revoke_blocks = 0;
  std::uint64_t revoke_pages = 0;
  std::size_t points = 0;
  std::size_t spans = 0;
  double seconds = 0;
  std::vector<result> results;
};

std::string human_bytes(std::int64_t b) {
  if (b < 0) return "-";
  char buf[32];
  const double d = static_cast<double>(b);
  if (b < 10 * 1024)
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(b));
  else if (b < 10 * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", d / 1024);
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", d / (1024.0 * 1024.0));
  return buf;
}

std::string human_time(double s) {
  if (std::isnan(s)) return "-";
  char buf[32];
  if (s < 1e-6)
    std::snprintf(buf, sizeof buf, "%.1f ns", s * 1e9);
  else if (s < 1e-3)
    std::snprintf(buf, sizeof buf, "%.1f us", s * 1e6);
  else if (s < 1)
    std::snprintf(buf, sizeof buf, "%.2f ms", s * 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

double per_page(const result& r, const pattern_report& p) {
  return r.heap >= 0 && p.pages != 0 ? static_cast<double>(r.heap) / static_cast<double>(p.pages) : nan_value;
}

/// What an embedder pays per granted page: the heap plus the object itself.
double total_per_page(const result& r, const pattern_report& p) {
  return r.heap >= 0 && p.pages != 0 ? static_cast<double>(r.heap + r.object) / static_cast<double>(p.pages)
                                     : nan_value;
}

/// The metrics that get a ratio to the best comparator, in table order.
struct metric {
  const char* name;
  double (*get)(const result&);
};
const metric metrics[] = {
    {"memory", [](const result& r) { return r.heap >= 0 ? static_cast<double>(r.heap) : nan_value; }},
    {"build", [](const result& r) { return r.build; }},
    {"build_sorted", [](const result& r) { return r.build_sorted; }},
    {"contains", [](const result& r) { return r.contains; }},
    {"chain", [](const result& r) { return r.chain; }},
    {"contains_all", [](const result& r) { return r.contains_all; }},
    {"revoke", [](const result& r) { return r.revoke; }},
};
constexpr std::size_t metric_count = std::size(metrics);

/// The best (smallest) comparator value of metric m on pattern p, and whose.
std::pair<double, std::string> best_comparator(const pattern_report& p, std::size_t m) {
  double best = nan_value;
  std::string who;
  for (const result& r : p.results) {
    if (r.kind != "comparator" || !r.ran || r.wrong) continue;
    const double v = metrics[m].get(r);
    if (!std::isnan(v) && (std::isnan(best) || v < best)) {
      best = v;
      who = r.structure;
    }
  }
  return {best, who};
}

double ratio(const pattern_report& p, const result& r, std::size_t m) {
  if (!r.ran || r.wrong) return nan_value;
  const double best = best_comparator(p, m).first;
  const double v = metrics[m].get(r);
  return std::isnan(best) || std::isnan(v) || best <= 0 ? nan_value : v / best;
}

std::string fmt_ratio(double x) {
  if (std::isnan(x)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, x < 0.01 ? "%.4f" : x < 100 ? "%.2f" : "%.0f", x);
  return buf;
}

/// The measured values of a structure that ran, in table order (after its name):
/// heap, B/page, memory_bytes, object, build, sorted, contains, chain,
/// contains_all, revoke. The console and the Markdown tables both show these.
std::vector<std::string> value_cells(const result& r, const pattern_report& p) {
  char pp[32] = "-";
  if (!std::isnan(per_page(r, p))) std::snprintf(pp, sizeof pp, "%.3g", per_page(r, p));
  return {human_bytes(r.heap),       pp,
          human_bytes(r.model),      human_bytes(r.object),
          human_time(r.build),       human_time(r.build_sorted),
          human_time(r.contains),    human_time(r.chain),
          human_time(r.contains_all), human_time(r.revoke)};
}

void print_pattern(const pattern_report& p) {
  std::printf("\n%s  %s\n", study::name(p.id), study::description(p.id));
  std::printf("    %llu pages in %llu runs%s; build: %llu steps (%llu grants); revoke: %llu blocks, %llu pages;"
              " %zu contains, %zu contains_all\n",
              static_cast<unsigned long long>(p.pages), static_cast<unsigned long long>(p.runs),
              p.domains > 1 ? (" over " + std::to_string(p.domains) + " domains").c_str() : "",
              static_cast<unsigned long long>(p.steps), static_cast<unsigned long long>(p.grants),
              static_cast<unsigned long long>(p.revoke_blocks), static_cast<unsigned long long>(p.revoke_pages),
              p.points, p.spans);
  std::printf("  %-9s %11s %8s %12s %7s %10s %10s %9s %9s %12s %10s\n", "structure", "heap", "B/page",
              "memory_bytes", "object", "build", "sorted", "contains", "chain", "contains_all", "revoke10%");
  for (const result& r : p.results) {
    if (!r.ran) {
      std::printf("  %-9s %s\n", r.structure.c_str(), r.status.c_str());
    } else {
      static constexpr int widths[] = {11, 8, 12, 7, 10, 10, 9, 9, 12, 10};
      const std::vector<std::string> cells = value_cells(r, p);
      std::printf("  %-9s", r.structure.c_str());
      for (std::size_t i = 0; i < cells.size(); ++i) std::printf(" %*s", widths[i], cells[i].c_str());
      std::printf("%s\n", r.wrong ? "  WRONG" : "");
      if (r.wrong) std::printf("  %-9s %s\n", "", r.status.c_str());
      if (!r.revoke_note.empty()) std::printf("  %-9s (revoke: %s)\n", "", r.revoke_note.c_str());
    }
    if (r.pressure.wrong) std::printf("  %-9s under pressure: %s\n", "", r.pressure.status.c_str());
  }
  std::printf("  ratio to the best comparator (< 1: better than all of them)\n");
  std::printf("  %-9s", "best:");
  for (std::size_t m = 0; m < metric_count; ++m) {
    const auto [v, who] = best_comparator(p, m);
    std::printf(" %12s", who.empty() ? "-" : who.c_str());
  }
  std::printf("\n  %-9s", "structure");
  for (const metric& m : metrics) std::printf(" %12s", m.name);
  std::printf("\n");
  for (const result& r : p.results) {
    if (!r.ran || r.wrong || r.kind == "comparator") continue;
    std::printf("  %-9s", r.structure.c_str());
    for (std::size_t m = 0; m < metric_count; ++m) std::printf(" %12s", fmt_ratio(ratio(p, r, m)).c_str());
    std::printf("\n");
  }
}

const result* find(const pattern_report& p, const char* name) {
  for (const result& r : p.results)
    if (r.structure == name && r.ran && !r.wrong) return &r;
  return nullptr;
}

struct machine_info {
  std::string cpu = "unknown";
  unsigned cores = 0;
  std::string memory = "unknown";
  std::string system = "unknown";
  std::string compiler;
};

machine_info read_machine() {
  machine_info m;
  std::ifstream cpu("/proc/cpuinfo");
  for (std::string line; std::getline(cpu, line);)
    if (line.rfind("model name", 0) == 0) {
      m.cpu = line.substr(line.find(':') + 2);
      break;
    }
  m.cores = std::thread::hardware_concurrency();
  std::ifstream mem("/proc/meminfo");
  for (std::string line; std::getline(mem, line);)
    if (line.rfind("MemTotal:", 0) == 0) {
      const double kib = std::atof(line.c_str() + 9);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f GiB", kib / (1024.0 * 1024.0));
      m.memory = buf;
    }
  utsname u{};
  if (uname(&u) == 0) m.system = std::string(u.sysname) + " " + u.release + " " + u.machine;
#if defined(__clang__)
  m.compiler = "clang++ " __clang_version__;
#elif defined(__GNUC__)
  m.compiler = "g++ " __VERSION__;
#else
  m.compiler = "unknown";
#endif
#if defined(NDEBUG)
  m.compiler += ", NDEBUG";
#endif
#if defined(__OPTIMIZE__)
  m.compiler += ", optimised";
#endif
  return m;
}

/// A row of a summary table (targets, pressure): a cell per pattern.
struct summary_row {
  std::string what;
  std::vector<std::string> cells;
};

/// docs/design.md's targets for hybrid and rangeset, pattern by pattern, as measured:
/// a row per target, a cell per pattern ("0.71 ok", "1.44 MISS", "-").
std::vector<summary_row> target_table(const std::vector<pattern_report>& reports) {
  struct spec {
    const char* what;
    const char* structure;
    std::size_t metric;   ///< index into metrics
    const char* against;  ///< nullptr: the best comparator
    double bound;
  };
  const spec specs[] = {
      {"hybrid memory / best (<= 1)", "hybrid", 0, nullptr, 1.0},
      {"hybrid contains / best (<= 1)", "hybrid", 3, nullptr, 1.0},
      {"hybrid contains_all / best (<= 1)", "hybrid", 5, nullptr, 1.0},
      {"hybrid build / croaring (<= 1)", "hybrid", 1, "croaring", 1.0},
      {"hybrid revoke / croaring (<= 1)", "hybrid", 6, "croaring", 1.0},
      {"rangeset build / icl (<= 0.33)", "rangeset", 1, "icl", 1.0 / 3},
      {"rangeset build / btree (<= 1)", "rangeset", 1, "btree", 1.0},
      {"rangeset contains / icl (<= 0.33)", "rangeset", 3, "icl", 1.0 / 3},
      {"rangeset contains / btree (<= 1)", "rangeset", 3, "btree", 1.0},
      {"rangeset revoke / icl (<= 0.33)", "rangeset", 6, "icl", 1.0 / 3},
      {"rangeset revoke / btree (<= 1)", "rangeset", 6, "btree", 1.0},
  };
  std::vector<summary_row> rows;
  for (const spec& sp : specs) {
    summary_row row{sp.what, {}};
    for (const pattern_report& p : reports) {
      const result* r = find(p, sp.structure);
      double x = nan_value;
      if (r != nullptr) {
        if (sp.against != nullptr) {
          const result* c = find(p, sp.against);
          const double a = metrics[sp.metric].get(*r);
          const double b = c != nullptr ? metrics[sp.metric].get(*c) : nan_value;
          if (!std::isnan(a) && !std::isnan(b) && b > 0) x = a / b;
        } else {
          x = ratio(p, *r, sp.metric);
        }
      }
      row.cells.push_back(std::isnan(x) ? "-" : fmt_ratio(x) + (x <= sp.bound ? " ok" : " MISS"));
    }
    rows.push_back(std::move(row));
  }
  // The absolute memory targets.
  summary_row extra{"hybrid extra (see note)", {}};
  for (const pattern_report& p : reports) {
    const result* h = find(p, "hybrid");
    std::string cell = "-";
    char buf[32];
    if (h != nullptr && h->heap >= 0) {
      if (p.id == pattern_id::w1 || p.id == pattern_id::w2) {
        const long long over = static_cast<long long>(h->heap) - static_cast<long long>(16 * p.runs);
        std::snprintf(buf, sizeof buf, "%+lld B", over);
        cell = std::string(buf) + (over <= 256 ? " ok" : " MISS");
      } else if (p.id == pattern_id::w4) {
        std::snprintf(buf, sizeof buf, "%.2f B/p", per_page(*h, p));
        cell = std::string(buf) + (per_page(*h, p) <= 8 ? " ok" : " MISS");
      } else if (const result* c = find(p, "croaring"); p.id == pattern_id::w6 && c != nullptr && c->heap > 0) {
        const double x = static_cast<double>(h->heap) / static_cast<double>(c->heap);
        cell = fmt_ratio(x) + (x <= 0.5 ? " ok" : " MISS");
      }
    }
    extra.cells.push_back(cell);
  }
  rows.push_back(std::move(extra));
  summary_row per_range{"rangeset heap B per range (<= 20)", {}};
  for (const pattern_report& p : reports) {
    const result* r = find(p, "rangeset");
    std::string cell = "-";
    if (r != nullptr && r->heap >= 0 && p.runs != 0 && p.domains == 1) {
      const double b = static_cast<double>(r->heap) / static_cast<double>(p.runs);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f", b);
      cell = std::string(buf) + (b <= 20 ? " ok" : " MISS");
    }
    per_range.cells.push_back(cell);
  }
  rows.push_back(std::move(per_range));
  return rows;
}

const char* const target_note =
    "best = the best of the comparators found (icl, croaring, btree). hybrid extra: W1/W2 heap minus a plain\n"
    "array of 16-byte ranges (<= 256 B), W4 heap bytes per granted page (<= 8), W6 heap / CRoaring heap\n"
    "(<= 0.5). rangeset's speed targets are stated at 2^20 ranges (W3); the other patterns are shown too.\n";

/// Any result of the structure called `name` on pattern p (find() only returns
/// one that ran and agreed), or nullptr.
const result* find_any(const pattern_report& p, const std::string& name) {
  for (const result& r : p.results)
    if (r.structure == name) return &r;
  return nullptr;
}

/// Which figure of the pressure measure a cell shows.
enum class pressure_figure { plain, reserved, reserve_bytes };

/// A cell of the pressure tables: pages lost, then "(Nx)" for revokes that
/// returned revoked_extra, "(N refused)" for revokes refused, "*" where reserve(k)
/// was refused by design; or the bytes reserve(k) added. `na` is what a
/// comparator shows.
std::string pressure_cell(const result* r, pressure_figure which, const char* na) {
  if (r == nullptr) return "-";
  const pressure_figures& f = r->pressure;
  // A pass measured before a wrong one shows its figures.
  if (f.wrong && !(which == pressure_figure::plain && f.passes > 0)) return "WRONG";
  if (!f.ran && !f.wrong) {
    if (f.status.rfind("n/a", 0) == 0) return na;
    return f.status.rfind("does not fit", 0) == 0 ? "does not fit" : "not run";
  }
  if (which == pressure_figure::reserve_bytes) return human_bytes(f.reserve_bytes);
  const pressure_counts& c = which == pressure_figure::plain ? f.plain : f.reserved;
  std::string cell = std::to_string(c.lost);
  if (c.extra != 0) cell += " (" + std::to_string(c.extra) + "x)";
  if (c.refused != 0) cell += " (" + std::to_string(c.refused) + " refused)";
  if (c.reserve_refused) cell += "*";
  return cell;
}

/// The pressure tables, a row per structure and pass: `lost` the pages lost (a
/// comparator gets one row of `na`), or else what reserve(k) cost (ours only).
std::vector<summary_row> pressure_table(const std::vector<pattern_report>& reports, bool lost, const char* na) {
  std::vector<summary_row> rows;
  if (reports.empty()) return rows;
  for (const result& first : reports.front().results) {
    const bool ours = first.kind != "comparator";
    if (!ours && !lost) continue;
    if (ours && first.pressure.status.rfind("n/a", 0) == 0) continue;  // measured under another row
    const auto row = [&](const std::string& what, pressure_figure which) {
      summary_row out{what, {}};
      for (const pattern_report& p : reports) out.cells.push_back(pressure_cell(find_any(p, first.structure), which, na));
      rows.push_back(std::move(out));
    };
    if (!lost) {
      row(first.structure, pressure_figure::reserve_bytes);
    } else if (ours) {
      row(first.structure + ", default reserve", pressure_figure::plain);
      row(first.structure + ", reserve(k)", pressure_figure::reserved);
    } else {
      row(first.structure, pressure_figure::plain);
    }
  }
  return rows;
}

const char* const pressure_note =
    "The revoke 10% column's blocks, in its order, applied to a fresh build (the pattern's own order; W7: the\n"
    "stream) once every allocation is refused. Pages lost: granted pages outside the revoked ranges that the\n"
    "revokes dropped, i.e. (pages before - pages after) - (granted pages inside the revoked ranges); (Nx):\n"
    "revokes that returned revoked_extra; (N refused): revokes that failed with out_of_memory and changed nothing\n"
    "(the icl_set oracle only). reserve(k): the same after reserve(k), k = the plan's revokes of the set (W8: of\n"
    "each domain, through permission_map::reserve), called while memory was plentiful; any page lost after it\n"
    "counts as a wrong answer, except where reserve(k) was refused by design (*: capped_page, a plan of more cuts\n"
    "than its page has free entries). Both passes check that no revoked page is left granted. n/a (—): a\n"
    "comparator, which has no reserve.\n";

/// A summary table on the console: a label column, then a cell per pattern.
void print_summary(const std::vector<pattern_report>& reports, const char* first, const std::vector<summary_row>& rows,
                   int label_width, int cell_width) {
  std::printf("%-*s", label_width, first);
  for (const pattern_report& p : reports) std::printf(" %*s", cell_width, study::name(p.id));
  std::printf("\n");
  for (const summary_row& row : rows) {
    std::printf("%-*s", label_width, row.what.c_str());
    for (const std::string& c : row.cells) std::printf(" %*s", cell_width, c.c_str());
    std::printf("\n");
  }
}

void print_targets(const std::vector<pattern_report>& reports) {
  std::printf("\n=== targets (docs/design.md), this run; ok = met ===\n");
  print_summary(reports, "target", target_table(reports), 36, 11);
  std::printf("%s", target_note);
}

void print_pressure(const std::vector<pattern_report>& reports) {
  std::printf("\n=== under memory pressure: pages lost beyond the revoked ones, every allocation refused ===\n");
  print_summary(reports, "structure", pressure_table(reports, true, "n/a"), 26, 17);
  std::printf("memory_bytes() added by reserve(k):\n");
  print_summary(reports, "structure", pressure_table(reports, false, "n/a"), 26, 17);
  std::printf("%s", pressure_note);
}

/// A summary table in Markdown; `bold` says which cells to set in bold.
void markdown_summary(std::ofstream& out, const std::vector<pattern_report>& reports, const char* first,
                      const std::vector<summary_row>& rows, bool (*bold)(const std::string&)) {
  out << "| " << first << " |";
  for (const pattern_report& p : reports) out << ' ' << study::name(p.id) << " |";
  out << "\n|---|";
  for (std::size_t i = 0; i < reports.size(); ++i) out << "--:|";
  out << "\n";
  for (const summary_row& row : rows) {
    out << "| " << row.what << " |";
    for (const std::string& c : row.cells) out << ' ' << (bold(c) ? "**" + c + "**" : c) << " |";
    out << "\n";
  }
}

/// A note for Markdown: one paragraph.
std::string paragraph(std::string note) {
  std::replace(note.begin(), note.end(), '\n', ' ');
  return note;
}

/// The tables as Markdown (tables.md), for docs/study.md.
bool write_markdown(const std::filesystem::path& file, const machine_info& m,
                    const std::vector<pattern_report>& reports) {
  std::ofstream out(file);
  out << "Machine: " << m.cpu << ", " << m.cores << " cores, " << m.memory << "; " << m.system << "; " << m.compiler
      << ".\n\n";
  for (const pattern_report& p : reports) {
    out << "#### " << study::name(p.id) << ": " << study::description(p.id) << "\n\n"
        << p.pages << " pages in " << p.runs << " runs"
        << (p.domains > 1 ? " over " + std::to_string(p.domains) + " domains" : std::string()) << "; build "
        << p.steps << " steps; revoke " << p.revoke_blocks << " blocks (" << p.revoke_pages << " pages).\n\n";
    out << "| structure | heap | B/page | memory_bytes | object | build | sorted | contains | chain | contains_all "
           "| revoke 10% | × mem | × build | × contains | × contains_all | × revoke |\n"
           "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
    for (const result& r : p.results) {
      if (!r.ran) {
        out << "| " << r.structure << " | " << r.status << " ||||||||||||||| \n";
        continue;
      }
      std::vector<std::string> cells = value_cells(r, p);
      if (!r.revoke_note.empty()) cells.back() += " (revoked_extra)";
      if (r.kind != "comparator")
        for (std::size_t k : {0, 1, 3, 5, 6}) cells.push_back(fmt_ratio(ratio(p, r, k)));
      else
        cells.resize(cells.size() + 5);
      out << "| " << (r.structure == "hybrid" ? "**hybrid**" : r.structure) << " |";
      for (const std::string& c : cells) out << ' ' << c << " |";
      out << "\n";
    }
    out << "\nBest comparator: ";
    for (std::size_t k = 0; k < metric_count; ++k) {
      const auto [v, who] = best_comparator(p, k);
      out << (k == 0 ? "" : ", ") << metrics[k].name << " " << (who.empty() ? "-" : who);
    }
    out << ".\n\n";
  }
  out << "#### Targets (docs/design.md)\n\n";
  markdown_summary(out, reports, "target", target_table(reports),
                   [](const std::string& c) { return c.find("MISS") != std::string::npos; });
  out << "\n" << paragraph(target_note) << "\n";
  out << "\n#### Under memory pressure: pages lost beyond the revoked ones, every allocation refused\n\n";
  // A page lost after reserve(k) is a wrong answer: it stands out.
  const auto flagged = [](const std::string& c) { return c == "WRONG"; };
  markdown_summary(out, reports, "structure", pressure_table(reports, true, "—"), flagged);
  out << "\n" << paragraph(pressure_note) << "\n\nWhat reserve(k) added to `memory_bytes()`:\n\n";
  markdown_summary(out, reports, "structure", pressure_table(reports, false, "—"), flagged);
  return static_cast<bool>(out);
}

std::string json_number(double x) {
  if (std::isnan(x)) return "null";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"";
}

/// The pressure figures of a result as a JSON object (numbers null where the
/// measure did not run).
std::string json_pressure(const pressure_figures& f) {
  const auto counts = [&f](const pressure_counts& c) {
    if (!f.ran) return std::string("null");
    return "{\"lost_pages\": " + std::to_string(c.lost) + ", \"revoked_extra\": " + std::to_string(c.extra) +
           ", \"refused\": " + std::to_string(c.refused) +
           ", \"reserve_refused\": " + (c.reserve_refused ? "true" : "false") + "}";
  };
  return "{\"status\": " + json_string(f.status) + ", \"default_reserve\": " + counts(f.plain) +
         ", \"reserve_k\": " + counts(f.reserved) +
         ", \"reserve_bytes\": " + (f.ran ? std::to_string(f.reserve_bytes) : "null") + "}";
}

bool write_json(const std::filesystem::path& file, const settings& st, const machine_info& m,
                const std::vector<pattern_report>& reports) {
  std::ofstream out(file);
  out << "{\n  \"program\": \"pmemperm_study\",\n";
  out << "  \"machine\": {\"cpu\": " << json_string(m.cpu) << ", \"cores\": " << m.cores
      << ", \"memory\": " << json_string(m.memory) << ", \"system\": " << json_string(m.system)
      << ", \"compiler\": " << json_string(m.compiler) << "},\n";
  out << "  \"settings\": {\"scale_log2\": " << st.scale_log2 << ", \"seed\": " << st.seed
      << ", \"queries_log2\": " << st.queries_log2 << ", \"min_time\": " << json_number(st.min_time)
      << ", \"heap_meter\": " << (heap_meter::available() ? "true" : "false") << "},\n";
  out << "  \"units\": {\"heap_bytes\": \"malloc_usable_size + 8 per live block\", \"model_bytes\": "
         "\"memory_bytes()\", \"build_s\": \"seconds per whole build\", \"contains_ns\": \"ns per query\", "
         "\"revoke_s\": \"seconds per whole revoke plan\", \"pressure\": \"the revoke plan with every allocation "
         "refused (default_reserve), and after reserve(k), k = the plan's revokes of the set or domain (reserve_k): "
         "lost_pages = granted pages outside the revoked ranges that were dropped, revoked_extra and refused = "
         "revokes that returned revoked_extra or out_of_memory; reserve_bytes = what reserve(k) added to "
         "memory_bytes()\"},\n";
  out << "  \"patterns\": [\n";
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const pattern_report& p = reports[i];
    out << "    {\"id\": " << json_string(study::name(p.id)) << ", \"description\": "
        << json_string(study::description(p.id)) << ", \"domains\": " << p.domains << ", \"pages\": " << p.pages
        << ", \"runs\": " << p.runs << ", \"build_steps\": " << p.steps << ", \"grants\": " << p.grants
        << ", \"revoke_blocks\": " << p.revoke_blocks << ", \"revoke_pages\": " << p.revoke_pages
        << ", \"contains_queries\": " << p.points << ", \"contains_all_queries\": " << p.spans
        << ", \"seconds\": " << json_number(p.seconds) << ",\n     \"best_comparator\": {";
    for (std::size_t m2 = 0; m2 < metric_count; ++m2) {
      const auto [v, who] = best_comparator(p, m2);
      out << (m2 == 0 ? "" : ", ") << json_string(metrics[m2].name) << ": "
          << (who.empty() ? "null" : json_string(who));
    }
    out << "},\n     \"results\": [\n";
    for (std::size_t k = 0; k < p.results.size(); ++k) {
      const result& r = p.results[k];
      out << "       {\"structure\": " << json_string(r.structure) << ", \"kind\": " << json_string(r.kind)
          << ", \"status\": " << json_string(r.status) << ", \"heap_bytes\": "
          << (r.heap >= 0 ? std::to_string(r.heap) : "null") << ", \"heap_blocks\": "
          << (r.blocks >= 0 ? std::to_string(r.blocks) : "null") << ", \"model_bytes\": "
          << (r.model >= 0 ? std::to_string(r.model) : "null") << ", \"object_bytes\": " << r.object
          << ", \"heap_bytes_per_page\": "
          << json_number(per_page(r, p)) << ", \"build_s\": " << json_number(r.build)
          << ", \"build_sorted_s\": " << json_number(r.build_sorted)
          << ", \"contains_ns\": " << json_number(r.contains * 1e9)
          << ", \"contains_chain_ns\": " << json_number(r.chain * 1e9)
          << ", \"contains_all_ns\": " << json_number(r.contains_all * 1e9)
          << ", \"revoke_s\": " << json_number(r.revoke) << ", \"revoke_note\": " << json_string(r.revoke_note)
          << ", \"pressure\": " << json_pressure(r.pressure) << ", \"ratio_to_best_comparator\": {";
      for (std::size_t m2 = 0; m2 < metric_count; ++m2)
        out << (m2 == 0 ? "" : ", ") << json_string(metrics[m2].name) << ": " << json_number(ratio(p, r, m2));
      out << "}}" << (k + 1 < p.results.size() ? "," : "") << "\n";
    }
    out << "     ]}" << (i + 1 < reports.size() ? "," : "") << "\n";
  }
  out << "  ]\n}\n";
  return static_cast<bool>(out);
}

bool write_csv(const std::filesystem::path& file, const std::vector<pattern_report>& reports) {
  std::ofstream out(file);
  out << "pattern,structure,kind,status,pages,runs,heap_bytes,model_bytes,object_bytes,heap_bytes_per_page,build_s,"
         "build_sorted_s,contains_ns,contains_chain_ns,contains_all_ns,revoke_s";
  for (const metric& m : metrics) out << ",ratio_" << m.name;
  out << ",pressure_status,pressure_lost_pages,pressure_revoked_extra,pressure_refused,reserved_lost_pages,"
         "reserved_revoked_extra,reserved_refused,reserve_refused,reserve_bytes\n";
  const auto num = [](double x) { return std::isnan(x) ? std::string() : json_number(x); };
  const auto text = [](std::string t) {
    std::replace(t.begin(), t.end(), ',', ';');
    return "\"" + t + "\"";
  };
  for (const pattern_report& p : reports)
    for (const result& r : p.results) {
      out << study::name(p.id) << ',' << r.structure << ',' << r.kind << ',' << text(r.status) << ',' << p.pages << ','
          << p.runs << ',' << (r.heap >= 0 ? std::to_string(r.heap) : "") << ','
          << (r.model >= 0 ? std::to_string(r.model) : "") << ',' << r.object << ',' << num(per_page(r, p)) << ',' << num(r.build)
          << ',' << num(r.build_sorted) << ',' << num(r.contains * 1e9) << ',' << num(r.chain * 1e9) << ','
          << num(r.contains_all * 1e9) << ',' << num(r.revoke);
      for (std::size_t m = 0; m < metric_count; ++m) out << ',' << num(ratio(p, r, m));
      const pressure_figures& f = r.pressure;
      out << ',' << text(f.status);
      for (const pressure_counts* c : {&f.plain, &f.reserved})
        for (const std::uint64_t n : {c->lost, c->extra, c->refused}) out << ',' << (f.ran ? std::to_string(n) : "");
      out << ',' << (f.ran ? (f.reserved.reserve_refused ? "1" : "0") : "") << ','
          << (f.ran ? std::to_string(f.reserve_bytes) : "") << "\n";
    }
  return static_cast<bool>(out);
}

/// One gnuplot data block: a row per pattern, a column per structure.
void write_matrix(std::ofstream& out, const std::vector<pattern_report>& reports,
                  const std::vector<std::string>& names, double (*value)(const result&, const pattern_report&)) {
  out << "pattern";
  for (const std::string& n : names) out << ' ' << n;
  out << "\n";
  for (const pattern_report& p : reports) {
    out << study::name(p.id);
    for (const std::string& n : names) {
      const result* r = find(p, n.c_str());
      const double v = r != nullptr ? value(*r, p) : nan_value;
      out << ' ' << (std::isnan(v) || v <= 0 ? std::string("NaN") : json_number(v));
    }
    out << "\n";
  }
}

std::string colour_of(const std::string& name) {
  static const char* const table[][2] = {{"hybrid", "#d62728"}, {"rangeset", "#1f77b4"}, {"chunked", "#17becf"},
                                         {"capped", "#bcbd22"}, {"icl_set", "#9467bd"}, {"flat", "#7f7f7f"},
                                         {"icl", "#ff7f0e"},    {"croaring", "#2ca02c"}, {"btree", "#8c564b"}};
  for (const auto& entry : table)
    if (name == entry[0]) return entry[1];
  return "#000000";
}

/// Writes charts.gp and its data beside the results and runs gnuplot. Returns
/// false (with a message) when gnuplot is missing or fails.
bool render_charts(const std::filesystem::path& dir, const std::vector<pattern_report>& reports,
                   const machine_info& m) {
  std::error_code ec;
  for (const char* old : {"memory_per_page.png", "contains.png"}) std::filesystem::remove(dir / old, ec);
  std::vector<std::string> names;
  for (const pattern_report& p : reports)
    for (const result& r : p.results)
      if (r.ran && !r.wrong && std::find(names.begin(), names.end(), r.structure) == names.end())
        names.push_back(r.structure);
  if (names.empty()) {
    std::fprintf(stderr, "pmemperm_study: nothing was measured, no charts\n");
    return false;
  }
  {
    std::ofstream mem(dir / "memory_per_page.dat");
    write_matrix(mem, reports, names, [](const result& r, const pattern_report& p) { return total_per_page(r, p); });
    std::ofstream con(dir / "contains.dat");
    write_matrix(con, reports, names, [](const result& r, const pattern_report&) { return r.contains * 1e9; });
  }
  std::ofstream gp(dir / "charts.gp");
  const std::string subtitle = m.cpu + ", " + std::to_string(m.cores) + " cores; " + m.compiler.substr(0, 40);
  gp << "# pmemperm_study charts; run from this folder: gnuplot charts.gp\n"
        "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
        "  set terminal pngcairo size 1200,620 font 'sans,10'\n"
        "} else {\n"
        "  set terminal png size 1200,620\n"
        "}\n"
        "set datafile missing 'NaN'\n"
        "set style data histograms\n"
        "set style histogram clustered gap 1\n"
        "set style fill solid 0.85 border -1\n"
        "set boxwidth 0.9\n"
        "set logscale y\n"
        "set grid ytics mytics\n"
        "set key outside right top vertical\n"
        "set xtics nomirror\n"
        "set key noenhanced\n"
        "set title noenhanced\n";
  // One fixed colour per structure, whichever subset ran.
  std::string colours;
  for (const std::string& n : names) colours += (colours.empty() ? "" : " ") + colour_of(n);
  gp << "colours = '" << colours << "'\n";
  gp << "set output 'memory_per_page.png'\n"
        "set title \"pmemperm study: bytes per granted page, heap + object (log scale; lower is better)\\n"
     << subtitle
     << "\"\n"
        "set ylabel '(heap bytes + sizeof) / granted page'\n"
        "set format y '%g'\n"
        "plot for [i=2:"
     << names.size() + 1
     << "] 'memory_per_page.dat' using i:xtic(1) title columnheader(i) lc rgb word(colours, i - 1)\n";
  gp << "set output 'contains.png'\n"
        "set title \"pmemperm study: contains(), ns per independent query (log scale; lower is better)\\n"
     << subtitle
     << "\"\n"
        "set ylabel 'ns per query'\n"
        "plot for [i=2:"
     << names.size() + 1 << "] 'contains.dat' using i:xtic(1) title columnheader(i) lc rgb word(colours, i - 1)\n";
  gp.close();
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::fprintf(stderr, "pmemperm_study: gnuplot not found, charts not rendered (Debian: gnuplot-nox);"
                         " %s/charts.gp renders them\n", dir.c_str());
    return false;
  }
  // The folder is quoted for the shell: ' becomes '\'' inside single quotes.
  std::string quoted = "'";
  for (char c : dir.string()) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  const std::string cmd = "cd " + quoted + " && gnuplot charts.gp";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "pmemperm_study: gnuplot failed on %s/charts.gp\n", dir.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  settings st;
  if (!parse(argc, argv, st)) return 2;
  std::vector<structure> chosen;
  for (const structure& s : all_structures())
    if (st.structures.empty() || std::find(st.structures.begin(), st.structures.end(), s.name) != st.structures.end())
      chosen.push_back(s);
  for (const std::string& n : st.structures) {
    bool known = false;
    for (const structure& s : all_structures()) known = known || n == s.name;
    if (!known) {
      std::fprintf(stderr, "pmemperm_study: --backends: '%s' is not built in; built in:", n.c_str());
      for (const structure& s : all_structures()) std::fprintf(stderr, " %s", s.name);
      std::fprintf(stderr, "\n");
      return 2;
    }
  }
  const std::filesystem::path dir(st.out);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "pmemperm_study: cannot create %s: %s\n", st.out.c_str(), ec.message().c_str());
    return 2;
  }
  {  // Find out now, not after minutes of measuring, whether the folder takes files.
    const std::filesystem::path probe = dir / ".pmemperm_study_probe";
    std::ofstream test(probe);
    test << "probe\n";
    test.close();
    const bool writable = static_cast<bool>(test);
    std::filesystem::remove(probe, ec);
    if (!writable) {
      std::fprintf(stderr, "pmemperm_study: cannot write to %s\n", st.out.c_str());
      return 2;
    }
  }

  const machine_info machine = read_machine();
  std::printf("pmemperm study: universe 2^30 pages, scale 1/2^%u, %s seed, 2^%u contains and 2^%u contains_all per"
              " pattern, best of passes over %.3g s per measurement (thread CPU time)\n",
              st.scale_log2, st.seed == 0 ? "default" : "custom", st.queries_log2, st.queries_log2 - 2,
              st.min_time);
  std::printf("machine: %s, %u cores, %s; %s; %s\n", machine.cpu.c_str(), machine.cores, machine.memory.c_str(),
              machine.system.c_str(), machine.compiler.c_str());
  std::printf("structures:");
  for (const structure& s : chosen) std::printf(" %s (%s)", s.name, s.kind);
  std::printf("\n");
  for (const std::string& m : missing_comparators()) std::printf("missing: %s\n", m.c_str());
  std::printf("heap = malloc_usable_size + 8 bytes per live block after the build; memory_bytes = what ours"
              " account for themselves\n");
  std::fflush(stdout);

  std::vector<pattern_report> reports;
  bool all_agree = true;
  const auto study_start = std::chrono::steady_clock::now();
  for (std::size_t k = 0; k < st.patterns.size(); ++k) {
    const pattern_id id = st.patterns[k];
    const auto t0 = std::chrono::steady_clock::now();
    std::fprintf(stderr, "study: [%zu/%zu] %s %s ...\n", k + 1, st.patterns.size(), study::name(id),
                 study::description(id));
    job j;
    try {
      study::pattern_params params;
      params.scale_log2 = st.scale_log2;
      params.seed = st.seed;
      query_params q;
      q.points = std::size_t{1} << st.queries_log2;
      q.spans = std::size_t{1} << (st.queries_log2 - 2);
      j = make_job(id, params, q);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "pmemperm_study: %s: %s\n", study::name(id), e.what());
      return 2;
    }
    pattern_report p;
    p.id = id;
    p.domains = j.domains;
    p.steps = j.build.size();
    p.grants = j.stream_grants;
    p.pages = j.pages;
    p.runs = j.run_count;
    p.revoke_blocks = j.revokes.size();
    p.revoke_pages = j.revoke_pages;
    p.points = j.points.size();
    p.spans = j.spans.size();
    for (const structure& s : chosen) {
      result r;
      if (j.domains > 1 && s.domains_pattern == nullptr) {
        r.status = std::string("not run: ") + s.why_not_domains;
      } else if (j.domains == 1 && s.single_pattern == nullptr) {
        r.status = "not run: many domains only";
      } else {
        r = j.domains > 1 ? s.domains_pattern(j, st) : s.single_pattern(j, st);
      }
      r.structure = s.name;
      r.kind = s.kind;
      const auto pressure = j.domains > 1 ? s.domains_pressure : s.single_pressure;
      if (pressure != nullptr)
        r.pressure = pressure(j);
      else if (s.single_pressure == nullptr && s.domains_pressure == nullptr)
        r.pressure.status = std::strcmp(s.kind, "comparator") == 0 ? "n/a: a comparator, no reserve"
                                                                     : "n/a: the same sets as another row";
      else
        r.pressure.status = r.status;  // not run on this pattern
      all_agree = all_agree && !r.wrong && !r.pressure.wrong;
      p.results.push_back(std::move(r));
    }
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "study: [%zu/%zu] %s done in %.1f s\n", k + 1, st.patterns.size(), study::name(id),
                 p.seconds);
    print_pattern(p);
    std::fflush(stdout);
    reports.push_back(std::move(p));
  }
  print_targets(reports);
  print_pressure(reports);

  const bool json_ok = write_json(dir / "results.json", st, machine, reports);
  const bool csv_ok = write_csv(dir / "results.csv", reports) && write_markdown(dir / "tables.md", machine, reports);
  if (!json_ok || !csv_ok) {
    std::fprintf(stderr, "pmemperm_study: could not write the results to %s\n", st.out.c_str());
    return 2;
  }
  bool charts = false;
  if (st.charts) charts = render_charts(dir, reports, machine);
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - study_start).count();
  std::printf("\nwrote %s/results.json, %s/results.csv, %s/tables.md%s (%.0f s in all)\n", st.out.c_str(),
              st.out.c_str(), st.out.c_str(),
              charts ? (", " + st.out + "/memory_per_page.png, " + st.out + "/contains.png").c_str() : "", total);
  std::printf("%s\n", all_agree ? "all structures agree on every answer, and lose no page after reserve()"
                                 : "DISAGREEMENT: a structure gave wrong answers (WRONG above)");
  return all_agree ? 0 : 1;
}
