// tests/support/sequence.hpp — run a recorded op sequence on a backend kind, and
// shrink a failing one.
//
// run_sequence builds a fresh backend (with a counting_allocator) and a fresh
// oracle, applies the ops through a step_checker, compares the whole set at the end,
// clears it, destroys it and checks that every byte came back. It stops at the
// first mismatch and says where.
//
// shrink_failure turns a failing sequence into something a person can read: the
// shortest failing prefix (everything after the first failing op is irrelevant, and
// since every op is checked, the ops before it all passed), then a greedy removal of
// chunks of ops (halving the chunk size down to single ops) that keeps the sequence
// failing, within a bounded number of re-runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <pmemperm/testing.hpp>

#include "backends.hpp"
#include "checker.hpp"
#include "random_ops.hpp"

namespace pmemperm::test {

struct sequence_result {
  bool failed = false;
  std::size_t index = 0;  // the failing op, or ops.size() for the final checks
  std::string message;
  step_counters counters;
};

template <class Kind>
[[nodiscard]] step_rules rules_for() {
  step_rules rules;
  rules.universe = Kind::universe;
  rules.capacity_bounded = Kind::capacity_bounded;
  rules.capacity = Kind::capacity;
  rules.revoke_may_fail = Kind::is_oracle;
  rules.invariant_check_period = Kind::invariant_period;
  rules.full_check_period = 64 * Kind::invariant_period;
  return rules;
}

/// The memory check for a backend built on `stats`: exact for allocating kinds, the
/// fixed size for the others.
template <class Kind, class S>
[[nodiscard]] std::string memory_error(const S& s, const alloc_stats& stats) {
  if constexpr (Kind::allocates) {
    if (s.memory_bytes() != stats.live_bytes)
      return "memory_bytes() is " + std::to_string(s.memory_bytes()) + " but the allocator has " +
             std::to_string(stats.live_bytes) + " live bytes";
  } else {
    if (s.memory_bytes() != Kind::fixed_bytes || stats.live_bytes != 0)
      return "memory_bytes() is " + std::to_string(s.memory_bytes()) + ", expected the fixed " +
             std::to_string(Kind::fixed_bytes) + " (and no allocation)";
  }
  return {};
}

template <class Kind>
[[nodiscard]] sequence_result run_sequence(const std::vector<op>& ops, std::uint64_t probe_seed) {
  using alloc = counting_allocator<>;
  using set_type = typename Kind::template type<alloc>;
  using oracle_type = oracle_of<Kind>;
  sequence_result result;
  alloc_stats stats;
  {
    set_type s = Kind::make(alloc(stats));
    step_checker<set_type, oracle_type> checker(
        rules_for<Kind>(), oracle_type(), [&stats] { return Kind::make(alloc(stats)); },
        [](const set_type& x) { return Kind::check(x) ? std::string() : std::string("check_invariants() failed"); },
        [&stats](const set_type& x) { return memory_error<Kind>(x, stats); }, probe_seed);
    for (std::size_t i = 0; i < ops.size(); ++i) {
      std::string err = checker.apply(s, ops[i]);
      if (!err.empty()) {
        result.failed = true;
        result.index = i;
        result.message = std::move(err);
        result.counters = checker.counters();
        return result;
      }
    }
    result.counters = checker.counters();
    result.index = ops.size();
    std::string err = checker.compare_all(s);
    if (err.empty()) {
      s.clear();
      if (!s.empty() || s.count() != 0 || s.range_count() != 0 || !collect_ranges(s).empty())
        err = "clear() left pages granted";
      else
        err = memory_error<Kind>(s, stats);
      if (!err.empty()) err = "after clear(): " + err;
    }
    if (!err.empty()) {
      result.failed = true;
      result.message = "at the end of the sequence: " + err;
      return result;
    }
  }
  if (stats.live_bytes != 0) {
    result.failed = true;
    result.message = "after destruction " + std::to_string(stats.live_bytes) + " bytes are still live";
  }
  return result;
}

struct shrunk_failure {
  std::size_t prefix_length = 0;      // the shortest failing prefix
  bool reproducible = true;           // the prefix failed again when re-run
  std::vector<op> minimal;            // a failing subsequence of the prefix
  std::string minimal_message;
  std::size_t reruns = 0;
};

template <class Kind>
[[nodiscard]] shrunk_failure shrink_failure(const std::vector<op>& ops, const sequence_result& first,
                                            std::uint64_t probe_seed, std::size_t max_reruns = 600) {
  shrunk_failure out;
  out.prefix_length = first.index < ops.size() ? first.index + 1 : ops.size();
  std::vector<op> current(ops.begin(), ops.begin() + static_cast<std::ptrdiff_t>(out.prefix_length));
  sequence_result again = run_sequence<Kind>(current, probe_seed);
  ++out.reruns;
  out.reproducible = again.failed;
  if (!again.failed) {
    out.minimal = current;
    out.minimal_message = first.message;
    return out;
  }
  out.minimal_message = again.message;
  // Greedy chunk removal; the last op (the one that fails) is tried too.
  for (std::size_t chunk = current.size() / 2; chunk >= 1 && out.reruns < max_reruns; chunk /= 2) {
    for (std::size_t at = 0; at < current.size() && out.reruns < max_reruns;) {
      std::vector<op> trial;
      trial.reserve(current.size());
      for (std::size_t i = 0; i < current.size(); ++i)
        if (i < at || i >= at + chunk) trial.push_back(current[i]);
      sequence_result r = run_sequence<Kind>(trial, probe_seed);
      ++out.reruns;
      if (r.failed && !trial.empty()) {
        // Keep only what is needed up to the new first failure.
        const std::size_t keep = r.index < trial.size() ? r.index + 1 : trial.size();
        trial.resize(keep);
        current = std::move(trial);
        out.minimal_message = std::move(r.message);
      } else {
        at += chunk;
      }
    }
    if (chunk == 1) break;
  }
  out.minimal = std::move(current);
  return out;
}

/// The report printed for a failing sequence.
template <class Kind>
[[nodiscard]] std::string failure_report(const std::vector<op>& ops, const sequence_result& first,
                                         const shrunk_failure& shrunk, std::uint64_t base,
                                         std::uint64_t sequence, std::uint64_t seed) {
  std::string out = std::string("backend ") + Kind::name + ": differential mismatch\n";
  out += "  base seed " + std::to_string(base) + " (rerun with PMEMPERM_SEED=" + std::to_string(base) +
         "), sequence " + std::to_string(sequence) + ", sequence seed " + std::to_string(seed) + "\n";
  out += "  first failure at op " + std::to_string(first.index) + " of " + std::to_string(ops.size()) + ": " +
         first.message + "\n";
  out += "  shortest failing prefix: " + std::to_string(shrunk.prefix_length) + " ops" +
         (shrunk.reproducible ? "" : " (did NOT fail again when re-run: the failure is not deterministic)") + "\n";
  if (shrunk.prefix_length <= 60) {
    std::vector<op> prefix(ops.begin(), ops.begin() + static_cast<std::ptrdiff_t>(shrunk.prefix_length));
    out += "  the prefix:\n" + ops_text(prefix);
  }
  out += "  shrunk to " + std::to_string(shrunk.minimal.size()) + " ops (" + std::to_string(shrunk.reruns) +
         " re-runs), failing with: " + shrunk.minimal_message + "\n";
  out += ops_text(shrunk.minimal);
  return out;
}

}  // namespace pmemperm::test
