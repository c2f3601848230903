// pattern_table — a correctness walk: grant the fragmented patterns W1–W6 on
// every backend, then revoke 10% of the granted pages in blocks, and print for each
// backend the pages, ranges and memory it ends with, plus build and revoke times.
//
// Every backend is cross-checked against icl_set (the Boost.ICL oracle), whose own
// result is checked against the exact page and run counts of the generator: the
// runs must be identical (for_each_range compared run by run), and the pages the
// visitors report must add up to the change in count(). capped_page may reject a
// grant (capacity_exceeded: its row stops there) or revoke more than asked
// (revoked_extra: then its set must be a subset of the oracle's). Any other
// disagreement or error makes the program exit with status 1.
//
// Backends added later (chunked_bitmap, hybrid) join the table automatically when
// their headers exist.
#include <pmemperm/backends/capped_page.hpp>
#include <pmemperm/backends/flat_bitmap.hpp>
#include <pmemperm/backends/icl.hpp>
#include <pmemperm/backends/rangeset.hpp>
#include <pmemperm/study/patterns.hpp>

#if __has_include(<pmemperm/backends/chunked_bitmap.hpp>)
#  include <pmemperm/backends/chunked_bitmap.hpp>
#  define PATTERN_TABLE_HAS_CHUNKED_BITMAP 1
#endif
#if __has_include(<pmemperm/backends/hybrid.hpp>)
#  include <pmemperm/backends/hybrid.hpp>
#  define PATTERN_TABLE_HAS_HYBRID 1
#endif

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace pmemperm;
using clock_type = std::chrono::steady_clock;

struct options {
  study::pattern_params pattern;
  bool ok = true;
};

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: pattern_table [--scale N] [--universe-log2 N] [--seed N] [--sorted] [--help]\n"
               "  Grants the fragmented patterns W1-W6 on every backend, revokes 10%% of the\n"
               "  granted pages in blocks of up to 64, and prints pages, ranges and memory per\n"
               "  backend, cross-checked against Boost.ICL.\n"
               "  --scale N          divide the pattern page counts by 2^N (default 0: full size)\n"
               "  --universe-log2 N  universe of 2^N pages, 20..34 (default 30: 4 TiB of 4 KiB pages)\n"
               "  --seed N           a seed other than the fixed default\n"
               "  --sorted           grant in ascending order instead of random order\n");
}

bool parse_number(const char* s, std::uint64_t& out) {
  if (s == nullptr || *s == '\0') return false;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 0);
  if (*end != '\0') return false;
  out = v;
  return true;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    std::uint64_t v = 0;
    const bool has_value = i + 1 < argc;
    if (std::strcmp(a, "--help") == 0 || std::strcmp(a, "-h") == 0) {
      usage(stdout);
      std::exit(0);
    } else if (std::strcmp(a, "--sorted") == 0) {
      o.pattern.order = study::grant_order::sorted;
    } else if (std::strcmp(a, "--scale") == 0 && has_value && parse_number(argv[++i], v) && v <= 40) {
      o.pattern.scale_log2 = static_cast<unsigned>(v);
    } else if (std::strcmp(a, "--universe-log2") == 0 && has_value && parse_number(argv[++i], v) && v >= 20 &&
               v <= 34) {
      o.pattern.universe_log2 = static_cast<unsigned>(v);
    } else if (std::strcmp(a, "--seed") == 0 && has_value && parse_number(argv[++i], v)) {
      o.pattern.seed = v;
    } else {
      std::fprintf(stderr, "pattern_table: bad argument '%s'\n", a);
      usage(stderr);
      o.ok = false;
      return o;
    }
  }
  return o;
}

/// The state the oracle reached, and what it must equal.
struct reference {
  std::vector<page_range> built;
  std::vector<page_range> revoked;
};

struct phase_result {
  errc result = errc::ok;
  bool ran = false;
  std::uint64_t pages = 0;
  std::size_t ranges = 0;
  std::size_t memory = 0;
  double ms = 0;
  std::string check;  // empty: agreed
};

struct row {
  std::string backend;
  phase_result build;
  phase_result revoke;
};

template <class S>
std::vector<page_range> runs_of(const S& s) {
  std::vector<page_range> v;
  (void)s.for_each_range([&v](page_range r) {
    v.push_back(r);
    return true;
  });
  return v;
}

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

void snapshot(phase_result& ph, const auto& s) {
  ph.ran = true;
  ph.pages = s.count();
  ph.ranges = s.range_count();
  ph.memory = s.memory_bytes();
}

/// Builds p on s, then applies the revoke plan, checking each phase against ref.
/// When ref is null (the oracle itself), checks against the generator's counts.
template <class S>
row run_backend(const char* name, S& s, const study::pattern& p, const study::revoke_plan& plan,
                const reference* ref, reference* record) {
  row out;
  out.backend = name;

  // Build.
  std::uint64_t reported = 0;
  auto on_added = [&reported](page_range r) { reported += r.size(); };
  auto t0 = clock_type::now();
  for (const page_range& g : p.grants) {
    const errc e = s.grant(g, on_added);
    if (e != errc::ok) {
      out.build.result = e;
      break;
    }
  }
  out.build.ms = ms_since(t0);
  snapshot(out.build, s);
  if (out.build.result == errc::capacity_exceeded) {
    out.revoke.check = "";  // nothing to compare: the pattern does not fit by design
    return out;
  }
  if (out.build.result != errc::ok) {
    out.build.check = std::string("grant failed: ") + to_string(out.build.result);
    return out;
  }
  const std::vector<page_range> built = runs_of(s);
  if (reported != s.count()) out.build.check = "visitor pages != count()";
  if (!s.check_invariants()) out.build.check = "check_invariants() failed";
  if (ref == nullptr) {
    if (s.count() != p.pages || s.range_count() != p.runs || built.size() != p.runs)
      out.build.check = "differs from the generator's counts";
  } else if (built != ref->built || s.count() != p.pages || s.range_count() != built.size()) {
    out.build.check = "differs from icl_set";
  }
  if (record != nullptr) record->built = built;

  // Revoke 10% in blocks.
  std::uint64_t removed = 0;
  auto on_removed = [&removed](page_range r) { removed += r.size(); };
  const std::uint64_t before = s.count();
  bool extra = false;
  t0 = clock_type::now();
  for (const page_range& r : plan.revokes) {
    const errc e = s.revoke(r, on_removed);
    if (e == errc::revoked_extra) {
      extra = true;
    } else if (e != errc::ok) {
      out.revoke.result = e;
      break;
    }
  }
  out.revoke.ms = ms_since(t0);
  snapshot(out.revoke, s);
  if (out.revoke.result == errc::ok && extra) out.revoke.result = errc::revoked_extra;
  if (out.revoke.result != errc::ok && out.revoke.result != errc::revoked_extra) {
    out.revoke.check = std::string("revoke failed: ") + to_string(out.revoke.result);
    return out;
  }
  const std::vector<page_range> after = runs_of(s);
  if (removed != before - s.count()) out.revoke.check = "visitor pages != count() change";
  if (!s.check_invariants()) out.revoke.check = "check_invariants() failed";
  for (const page_range& r : plan.revokes)
    if (s.contains_any(r)) out.revoke.check = "a revoked page is still granted";
  if (ref == nullptr) {
    if (s.count() != p.pages - plan.pages) out.revoke.check = "differs from the plan's counts";
  } else if (!extra) {
    if (after != ref->revoked || s.range_count() != after.size()) out.revoke.check = "differs from icl_set";
  } else {
    // revoked_extra: a subset of the oracle's set, never a superset.
    std::uint64_t pages = 0;
    for (const page_range& r : after) pages += r.size();
    bool subset = pages == s.count() && s.count() < p.pages - plan.pages;
    for (std::size_t i = 0, j = 0; subset && i < after.size(); ++i) {
      while (j < ref->revoked.size() && ref->revoked[j].last < after[i].first) ++j;
      subset = j < ref->revoked.size() && ref->revoked[j].first <= after[i].first &&
               after[i].last <= ref->revoked[j].last;
    }
    if (!subset) out.revoke.check = "revoked_extra, but not a subset of icl_set";
  }
  if (record != nullptr) record->revoked = after;
  return out;
}

std::string bytes_per_page(std::size_t bytes, std::uint64_t pages) {
  if (pages == 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(bytes) / static_cast<double>(pages));
  return buf;
}

void print_phase(const phase_result& ph, bool with_per_page) {
  if (!ph.ran) {
    std::printf(" %-17s %9s %8s %11s", "-", "", "", "");
    if (with_per_page) std::printf(" %8s", "");
    std::printf(" %8s", "");
    return;
  }
  std::printf(" %-17s %9llu %8zu %11zu", to_string(ph.result), static_cast<unsigned long long>(ph.pages), ph.ranges,
              ph.memory);
  if (with_per_page) std::printf(" %8s", bytes_per_page(ph.memory, ph.pages).c_str());
  std::printf(" %8.1f", ph.ms);
}

void print_table(const study::pattern& p, const study::revoke_plan& plan, const std::vector<row>& rows) {
  std::printf("\n%s  %s: %zu grants, %llu pages in %llu runs; revoke %zu blocks, %llu pages\n", study::name(p.id),
              study::description(p.id), p.grants.size(), static_cast<unsigned long long>(p.pages),
              static_cast<unsigned long long>(p.runs), plan.revokes.size(), static_cast<unsigned long long>(plan.pages));
  std::printf("  %-16s %-17s %9s %8s %11s %8s %8s | %-17s %9s %8s %11s %8s\n", "backend", "build", "pages", "ranges",
              "memory B", "B/page", "ms", "revoke 10%", "pages", "ranges", "memory B", "ms");
  for (const row& r : rows) {
    std::printf("  %-16s", r.backend.c_str());
    print_phase(r.build, true);
    std::printf(" |");
    print_phase(r.revoke, false);
    std::printf("\n");
  }
  for (const row& r : rows) {
    if (!r.build.check.empty()) std::printf("  MISMATCH %s build: %s\n", r.backend.c_str(), r.build.check.c_str());
    if (!r.revoke.check.empty()) std::printf("  MISMATCH %s revoke: %s\n", r.backend.c_str(), r.revoke.check.c_str());
  }
}

bool agreed(const std::vector<row>& rows) {
  for (const row& r : rows)
    if (!r.build.check.empty() || !r.revoke.check.empty()) return false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);
  if (!opt.ok) return 2;
  const page_t universe = page_t{1} << opt.pattern.universe_log2;

  std::printf("pmemperm pattern table: universe 2^%u pages, scale 1/2^%u, %s-order grants, seed %s\n",
              opt.pattern.universe_log2, opt.pattern.scale_log2,
              opt.pattern.order == study::grant_order::sorted ? "sorted" : "random",
              opt.pattern.seed == 0 ? "default" : std::to_string(opt.pattern.seed).c_str());
  std::printf("memory B = memory_bytes(): bytes held from the allocator (malloc headers not included)\n");

  bool all_agree = true;
  for (const study::pattern_id id : study::grant_patterns) {
    std::fprintf(stderr, "pattern_table: %s ...\n", study::name(id));
    study::pattern p;
    study::revoke_plan plan;
    try {
      p = study::make_pattern(id, opt.pattern);
      plan = study::make_revoke_plan(p);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "pattern_table: %s: %s\n", study::name(id), e.what());
      return 2;
    }

    std::vector<row> rows;
    reference ref;
    {
      icl_set<> s;
      rows.push_back(run_backend("icl_set<>", s, p, plan, nullptr, &ref));
    }
    {
      rangeset<> s;
      rows.push_back(run_backend("rangeset<>", s, p, plan, &ref, nullptr));
    }
    {
      const auto s = std::make_unique<capped_page>();
      rows.push_back(run_backend("capped_page", *s, p, plan, &ref, nullptr));
    }
    {
      flat_bitmap<> s(universe);
      rows.push_back(run_backend("flat_bitmap<>", s, p, plan, &ref, nullptr));
    }
#if defined(PATTERN_TABLE_HAS_CHUNKED_BITMAP)
    {
      chunked_bitmap<> s;
      rows.push_back(run_backend("chunked_bitmap<>", s, p, plan, &ref, nullptr));
    }
#endif
#if defined(PATTERN_TABLE_HAS_HYBRID)
    {
      hybrid<> s;
      rows.push_back(run_backend("hybrid<>", s, p, plan, &ref, nullptr));
    }
#endif
    print_table(p, plan, rows);
    std::fflush(stdout);
    all_agree = all_agree && agreed(rows);
  }
  std::printf("\n%s\n", all_agree ? "all backends agree with icl_set" : "DISAGREEMENT: see MISMATCH lines above");
  return all_agree ? 0 : 1;
}
