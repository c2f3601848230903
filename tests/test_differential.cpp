// Differential test: seeded random op sequences on every backend, checked after
// every op against the oracle (Boost.ICL; the plain model for the ICL adapter).
//
// At least 10^6 ops per backend per run, as sequences of 2000 ops from a fresh set.
// PMEMPERM_SEED sets the base seed, PMEMPERM_DIFF_OPS the ops per backend. A
// mismatch prints the seed, the shortest failing prefix and a shrunk reproducer.
#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/backends.hpp"
#include "support/printing.hpp"
#include "support/random_ops.hpp"
#include "support/sequence.hpp"

using namespace pmemperm;
using namespace pmemperm::test;

namespace {

constexpr std::uint64_t default_ops_per_backend = 1'000'000;
constexpr std::size_t ops_per_sequence = 2000;

std::vector<op> generate(std::uint64_t seed, page_t universe, std::size_t n) {
  op_generator gen(seed, universe);
  std::vector<op> ops;
  ops.reserve(n);
  for (std::size_t i = 0; i < n; ++i) ops.push_back(gen.next());
  return ops;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("differential: random sequences agree with the oracle after every op", "[differential]",
                        all_backends) {
  using kind = TestType;
  INFO("backend: " << kind::name);
  const std::uint64_t base = base_seed();
  const std::uint64_t total = env_u64("PMEMPERM_DIFF_OPS", default_ops_per_backend);
  const auto start = std::chrono::steady_clock::now();

  std::uint64_t done = 0;
  std::uint64_t sequences = 0;
  step_counters sum;
  for (std::uint64_t seq = 0; done < total; ++seq) {
    const std::uint64_t seed = mix_seed(base, seq);
    const std::size_t n = total - done < ops_per_sequence ? static_cast<std::size_t>(total - done) : ops_per_sequence;
    const std::vector<op> ops = generate(seed, kind::universe, n);
    const sequence_result result = run_sequence<kind>(ops, seed);
    if (result.failed) {
      const shrunk_failure shrunk = shrink_failure<kind>(ops, result, seed);
      FAIL(failure_report<kind>(ops, result, shrunk, base, seq, seed));
    }
    done += n;
    ++sequences;
    const step_counters& c = result.counters;
    sum.ops += c.ops, sum.grants += c.grants, sum.revokes += c.revokes, sum.invalid += c.invalid;
    sum.clears += c.clears, sum.copies += c.copies, sum.visitor_ranges += c.visitor_ranges;
    sum.capacity_exceeded += c.capacity_exceeded, sum.revoked_extra += c.revoked_extra;
    if (c.max_runs > sum.max_runs) sum.max_runs = c.max_runs;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "differential " << kind::name << ": " << sum.ops << " ops in " << sequences << " sequences, "
            << seconds << " s (base seed " << base << "); grants " << sum.grants << ", revokes " << sum.revokes
            << ", invalid " << sum.invalid << ", clears " << sum.clears << ", copies " << sum.copies
            << ", capacity_exceeded " << sum.capacity_exceeded << ", revoked_extra " << sum.revoked_extra
            << ", most runs held " << sum.max_runs << "\n";
  CHECK(sum.ops == total);
  // The sequences must actually reach the interesting states.
  CHECK(sum.max_runs > (kind::capacity_bounded ? kind::capacity : 255));
  if constexpr (kind::capacity_bounded) {
    CHECK(sum.capacity_exceeded > 0);
    CHECK(sum.revoked_extra > 0);
  }
}

namespace {

/// The plain model with one planted bug: a grant of exactly 5 pages starting at an
/// odd page does not report the pages it adds. Used to prove that the harness
/// notices, and that it shrinks the sequence to the op that matters.
class planted_bug_set : public model_set {
 public:
  planted_bug_set() = default;
  using model_set::grant;
  template <class F>
  errc grant(page_range r, F&& on_added) noexcept {
    if (r.valid() && r.size() == 5 && r.first % 2 == 1) return model_set::grant(r);
    return model_set::grant(r, on_added);
  }
  errc assign(const planted_bug_set& o) noexcept { return model_set::assign(o); }
  [[nodiscard]] bool check_invariants() const noexcept { return true; }
};

struct planted_bug_kind {
  static constexpr const char* name = "planted_bug";
  template <class>
  using type = planted_bug_set;
  static constexpr page_t universe = full_universe;
  static constexpr bool allocates = false;
  static constexpr std::size_t fixed_bytes = 0;
  static constexpr bool capacity_bounded = false;
  static constexpr std::size_t capacity = SIZE_MAX;
  static constexpr bool is_oracle = false;
  static constexpr unsigned invariant_period = 1;
  template <class Alloc>
  static planted_bug_set make(Alloc) noexcept {
    return planted_bug_set();
  }
  static bool check(const planted_bug_set& s) noexcept { return s.check_invariants(); }
};

}  // namespace

TEST_CASE("differential: a planted bug is caught and its reproducer shrunk", "[differential][meta]") {
  static_assert(page_set<planted_bug_set>);
  const std::uint64_t base = base_seed();
  bool caught = false;
  for (std::uint64_t seq = 0; seq < 50 && !caught; ++seq) {
    const std::uint64_t seed = mix_seed(base, seq);
    const std::vector<op> ops = generate(seed, planted_bug_kind::universe, ops_per_sequence);
    const sequence_result result = run_sequence<planted_bug_kind>(ops, seed);
    if (!result.failed) continue;
    caught = true;
    const shrunk_failure shrunk = shrink_failure<planted_bug_kind>(ops, result, seed);
    INFO(failure_report<planted_bug_kind>(ops, result, shrunk, base, seq, seed));
    CHECK(shrunk.reproducible);
    CHECK(shrunk.prefix_length == result.index + 1);
    // The bug needs one grant of 5 pages at an odd page that adds something.
    REQUIRE(shrunk.minimal.size() == 1);
    const op& o = shrunk.minimal.front();
    CHECK(o.kind == op_kind::grant);
    CHECK(o.r.size() == 5);
    CHECK(o.r.first % 2 == 1);
    CHECK_THAT(shrunk.minimal_message, Catch::Contains("reported"));
  }
  CHECK(caught);
}
