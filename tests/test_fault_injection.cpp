// Fault injection: fail each allocation of each op in turn, and check the strong
// guarantee and the revoke rule.
//
// For a sequence of ops, a recording run first counts the allocation attempts A
// each op makes when nothing fails. Then, op by op, for k in 0 ... A-1 the op is
// run with attempt k failing (and, separately, with attempts k, k+1, ... all
// failing), on a copy of the oracle:
//  - a grant that fails returns out_of_memory and leaves the set exactly as it was
//    (runs, count, range_count, memory_bytes) without calling the visitor;
//  - a grant that absorbs the failure must be exactly right;
//  - a revoke succeeds (ok, or revoked_extra with the extra pages reported and
//    taken from the oracle), and no page of r stays granted;
//  - the allocator's live bytes equal memory_bytes() after every attempt.
// When an attempt changed the set, the set is rebuilt by replaying the ops before
// it (deterministic, no failures), which must reproduce the state exactly. Then the
// op runs for real with no failure. assign() is injected the same way, and a byte
// budget run keeps the allocator short for hundreds of ops. Nothing may leak.
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <pmemperm/testing.hpp>

#include "support/backends.hpp"
#include "support/checker.hpp"
#include "support/generic_ops.hpp"
#include "support/printing.hpp"
#include "support/random_ops.hpp"
#include "support/sequence.hpp"

using namespace pmemperm;
using namespace pmemperm::test;

namespace {

struct fault_totals {
  std::uint64_t ops = 0;
  std::uint64_t points = 0;  // injected failures that were actually reached
  std::uint64_t grant_refused = 0, grant_absorbed = 0;
  std::uint64_t revoke_ok = 0, revoke_extra = 0, revoke_refused = 0;
  std::uint64_t restores = 0;
  std::uint64_t max_runs = 0;  // the most runs a sequence reached
  std::uint64_t assign_points = 0;
  std::uint64_t budget_ops = 0, budget_grant_refused = 0, budget_revoke_extra = 0;
};

template <class S>
errc apply_edit(S& s, const op& o) noexcept {
  return o.kind == op_kind::grant ? s.grant(o.r) : s.revoke(o.r);
}

template <class Kind>
class fault_runner {
 public:
  using alloc = failing_allocator<>;
  using set_type = typename Kind::template type<alloc>;
  using oracle_type = oracle_of<Kind>;
  using checker_type = step_checker<set_type, oracle_type>;

  fault_runner(const std::vector<op>& ops, std::uint64_t seed, fault_totals& totals)
      : ops_(ops), seed_(seed), totals_(totals) {}

  /// Runs the whole sequence with injection; returns an error text or "".
  std::string run() {
    std::vector<std::uint64_t> attempts = record();
    std::string err;
    {
      set_type s = Kind::make(alloc(stats_));
      checker_type checker = make_checker(false);
      const alloc control(stats_);
      for (std::size_t i = 0; i < ops_.size(); ++i) {
        const op& o = ops_[i];
        for (int variant = 0; variant < 2; ++variant) {
          const bool persistent = variant == 0;
          for (std::uint64_t k = 0; k < attempts[i]; ++k) {
            err = inject(s, checker, i, k, persistent, control);
            if (!err.empty())
              return where(i) + ", allocation " + std::to_string(k) + (persistent ? " and after" : "") + " failing: " + err;
          }
        }
        err = checker.apply(s, o);
        if (!err.empty()) return where(i) + " without failures: " + err;
        ++totals_.ops;
        if (i % 32 == 31 || i + 1 == ops_.size()) {
          err = inject_assign(s);
          if (!err.empty()) return where(i) + ", assign: " + err;
        }
      }
      err = checker.compare_all(s);
      if (!err.empty()) return "at the end: " + err;
      if (checker.counters().max_runs > totals_.max_runs) totals_.max_runs = checker.counters().max_runs;
    }
    if (stats_.live_bytes != 0) return std::to_string(stats_.live_bytes) + " bytes leaked";
    return {};
  }

 private:
  std::string where(std::size_t i) const {
    return "sequence seed " + std::to_string(seed_) + ", op " + std::to_string(i) + " " + op_text(ops_[i]);
  }

  checker_type make_checker(bool failures_possible) {
    step_rules rules = rules_for<Kind>();
    rules.failures_possible = failures_possible;
    alloc_stats* stats = &stats_;
    return checker_type(
        rules, oracle_type(), [stats] { return Kind::make(alloc(*stats)); },
        [](const set_type& x) { return Kind::check(x) ? std::string() : std::string("check_invariants() failed"); },
        [stats](const set_type& x) { return memory_error<Kind>(x, *stats); }, seed_);
  }

  /// Allocation attempts per op when nothing fails.
  std::vector<std::uint64_t> record() const {
    std::vector<std::uint64_t> attempts;
    alloc_stats stats;
    set_type s = Kind::make(alloc(stats));
    for (const op& o : ops_) {
      const std::uint64_t before = stats.attempts;
      static_cast<void>(apply_edit(s, o));
      attempts.push_back(stats.attempts - before);
    }
    return attempts;
  }

  /// The set after the first n ops, built afresh without failures.
  set_type replay(std::size_t n) {
    set_type s = Kind::make(alloc(stats_));
    for (std::size_t i = 0; i < n; ++i) static_cast<void>(apply_edit(s, ops_[i]));
    return s;
  }

  std::string inject(set_type& s, checker_type& checker, std::size_t i, std::uint64_t k, bool persistent,
                     const alloc& control) {
    const op& o = ops_[i];
    const observation before = observe(s);
    step_rules rules = rules_for<Kind>();
    rules.failures_possible = true;
    checker_type trial = checker.fork(rules);
    const step_counters c0 = trial.counters();
    const std::uint64_t first_attempt = stats_.attempts;
    control.fail_nth_from_now(k, persistent);
    std::string err = trial.apply(s, o);
    control.disarm();
    if (!err.empty()) return err;
    const bool reached = stats_.attempts > first_attempt + k;
    const step_counters& c1 = trial.counters();
    if (reached) {
      ++totals_.points;
      if (o.kind == op_kind::grant) {
        if (c1.out_of_memory > c0.out_of_memory) {
          ++totals_.grant_refused;
          if (observe(s) != before) return "the failed grant changed the set";
        } else {
          ++totals_.grant_absorbed;
        }
      } else {
        if (c1.out_of_memory > c0.out_of_memory)
          ++totals_.revoke_refused;  // only the ICL oracle may; checked by the step rules
        else if (c1.revoked_extra > c0.revoked_extra)
          ++totals_.revoke_extra;
        else
          ++totals_.revoke_ok;
      }
    }
    if (observe(s) != before) {
      ++totals_.restores;
      s = replay(i);
      if (observe(s) != before) return "replaying the ops before it did not rebuild the same set";
    }
    if (stats_.live_bytes != s.memory_bytes() && Kind::allocates) return "live bytes differ after the restore";
    return {};
  }

  /// assign() into an empty and into a non-empty target, with each of its
  /// allocations failing in turn (a sample of them when a copy makes many: ICL
  /// allocates one node per run).
  std::string inject_assign(const set_type& source) {
    for (const bool prefilled : {false, true}) {
      alloc_stats target_stats;
      {
        const auto prepare = [prefilled](set_type& t) {
          if (!prefilled) return;
          static_cast<void>(t.grant(page_range{3, 5}));
          static_cast<void>(t.grant(page_range{Kind::top - 1, Kind::top}));
        };
        // How many allocations the copy makes when nothing fails.
        std::uint64_t needed = 0;
        {
          alloc_stats dry_stats;
          set_type dry = Kind::make(alloc(dry_stats));
          prepare(dry);
          const std::uint64_t first_attempt = dry_stats.attempts;
          if (dry.assign(source) != errc::ok) return "assign failed without any injected failure";
          needed = dry_stats.attempts - first_attempt;
        }
        std::vector<std::uint64_t> ks;
        for (std::uint64_t k = 0; k < needed; ++k)
          if (k < 16 || k + 4 >= needed || k % (needed / 8 + 1) == 0) ks.push_back(k);

        set_type target = Kind::make(alloc(target_stats));
        prepare(target);
        const alloc control(target_stats);
        for (const std::uint64_t k : ks) {
          const observation before = observe(target);
          const std::uint64_t first_attempt = target_stats.attempts;
          control.fail_nth_from_now(k);
          const errc e = target.assign(source);
          control.disarm();
          if (std::string m = memory_error<Kind>(target, target_stats); !m.empty()) return "target: " + m;
          if (target_stats.attempts <= first_attempt + k) return "assign made fewer allocations than it did before";
          ++totals_.assign_points;
          ++totals_.points;
          if (e == errc::ok) {
            // The failure was absorbed: the copy must be complete; start over from the old state.
            if (!equal_sets(target, source)) return "assign absorbed a failure but the copy differs";
            target.clear();
            prepare(target);
            continue;
          }
          if (e != errc::out_of_memory) return std::string("failed assign returned ") + to_string(e);
          if (observe(target) != before) return "the failed assign changed the target";
        }
        if (target.assign(source) != errc::ok) return "assign failed after the injected failures";
        if (!equal_sets(target, source)) return "the copy differs from its source";
        if (std::string m = memory_error<Kind>(target, target_stats); !m.empty()) return "target: " + m;
      }
      if (target_stats.live_bytes != 0)
        return "the assign target leaked " + std::to_string(target_stats.live_bytes) + " bytes";
    }
    return {};
  }

  const std::vector<op>& ops_;
  std::uint64_t seed_;
  fault_totals& totals_;
  alloc_stats stats_;
};

/// Random edits that fragment the set quickly (hundreds of runs in a few hundred ops).
std::vector<op> fragmenting_edits(std::uint64_t seed, page_t universe, std::size_t n) {
  op_profile p;
  p.grant_percent = 80;
  p.invalid_percent = 1;
  p.single = 60, p.small = 30, p.medium = 8, p.huge = 1, p.to_top = 1;
  p.clustered = 85, p.scattered = 9, p.low_edge = 3;
  p.hot_spread = page_t{1} << 14;
  op_generator gen(seed, universe, p);
  std::vector<op> ops;
  for (std::size_t i = 0; i < n; ++i) ops.push_back(gen.next_edit());
  return ops;
}

/// 2100 disjoint single pages granted in random order (so the index grows through
/// every split), then 300 edits that merge, split and trim among them.
std::vector<op> many_runs_edits(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<page_t> pages;
  for (page_t p = 0; p < 2100; ++p) pages.push_back(1000 + 2 * p);
  std::shuffle(pages.begin(), pages.end(), rng);
  std::vector<op> ops;
  for (page_t p : pages) ops.push_back(op{op_kind::grant, page_range::single(p)});
  std::uniform_int_distribution<page_t> where(900, 1000 + 2 * 2100 + 100);
  std::uniform_int_distribution<page_t> size(1, 6);
  for (int i = 0; i < 300; ++i) {
    const page_t a = where(rng);
    ops.push_back(op{i % 2 == 0 ? op_kind::grant : op_kind::revoke, page_range{a, a + size(rng) - 1}});
  }
  return ops;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("fault injection: every allocation of every op fails in turn", "[fault]", all_backends) {
  using kind = TestType;
  INFO("backend: " << kind::name);
  if constexpr (!kind::allocates) {
    // Nothing to inject; what can still be checked: it never allocates and always
    // reports its fixed size.
    alloc_stats stats;
    auto s = kind::make(failing_allocator<>(stats));
    failing_allocator<>(stats).fail_nth_from_now(0, true);
    for (const op& o : fragmenting_edits(base_seed(), kind::universe, 2000)) {
      const errc e = apply_edit(s, o);
      REQUIRE(e != errc::out_of_memory);
      REQUIRE(s.memory_bytes() == kind::fixed_bytes);
    }
    CHECK(stats.attempts == 0);
    SUCCEED(std::string(kind::name) + " takes no memory from an allocator: no fault to inject");
  } else {
    fault_totals totals;
    for (std::uint64_t seq = 0; seq < 6; ++seq) {
      const std::uint64_t seed = mix_seed(base_seed() ^ 0xfa17ULL, seq);
      const std::vector<op> ops = fragmenting_edits(seed, kind::universe, 400);
      fault_runner<kind> runner(ops, seed, totals);
      const std::string err = runner.run();
      REQUIRE(err == "");
    }
    {
      const std::uint64_t seed = mix_seed(base_seed() ^ 0xfa17ULL, 100);
      const std::vector<op> ops = many_runs_edits(seed);
      fault_runner<kind> runner(ops, seed, totals);
      const std::string err = runner.run();
      REQUIRE(err == "");
    }
    std::cout << "fault injection " << kind::name << ": " << totals.points << " failure points over " << totals.ops
              << " ops (grants refused " << totals.grant_refused << ", absorbed " << totals.grant_absorbed
              << "; revokes ok " << totals.revoke_ok << ", revoked_extra " << totals.revoke_extra
              << ", refused " << totals.revoke_refused << "; assign " << totals.assign_points << "; restores "
              << totals.restores << "; up to " << totals.max_runs << " runs)\n";
    CHECK(totals.points > 0);
    CHECK(totals.max_runs > 2000);
    CHECK(totals.assign_points > 0);
  }
}

TEMPLATE_LIST_TEST_CASE("fault injection: a byte budget that stays short", "[fault]", all_backends) {
  using kind = TestType;
  using alloc = failing_allocator<>;
  using set_type = typename kind::template type<alloc>;
  using oracle_type = oracle_of<kind>;
  INFO("backend: " << kind::name);
  if constexpr (!kind::allocates) {
    SUCCEED(std::string(kind::name) + " takes no memory from an allocator: no budget to enforce");
  } else {
    fault_totals totals;
    const std::size_t slacks[] = {0, 16, 64, 512, 4096, 20000};
    std::uint64_t seq = 0;
    for (const std::size_t slack : slacks) {
      for (int rep = 0; rep < 3; ++rep, ++seq) {
        const std::uint64_t seed = mix_seed(base_seed() ^ 0xb0d6e7ULL, seq);
        INFO("sequence seed " << seed << ", slack " << slack);
        const std::vector<op> ops = fragmenting_edits(seed, kind::universe, 900);
        alloc_stats stats;
        {
          set_type s = kind::make(alloc(stats));
          step_rules rules = rules_for<kind>();
          step_checker<set_type, oracle_type> checker(
              rules, oracle_type(), [&stats] { return kind::make(alloc(stats)); },
              [](const set_type& x) { return kind::check(x) ? std::string() : std::string("check_invariants() failed"); },
              [&stats](const set_type& x) { return memory_error<kind>(x, stats); }, seed);
          for (std::size_t i = 0; i < ops.size(); ++i) {
            if (i == (rep == 0 ? 0u : 200u)) {  // from here on, the allocator is short
              stats.byte_budget = stats.live_bytes + slack;
              checker.rules().failures_possible = true;
            }
            if (i == 800) {  // and then memory comes back
              stats.byte_budget = SIZE_MAX;
              checker.rules().failures_possible = false;
            }
            const step_counters c0 = checker.counters();
            const std::string err = checker.apply(s, ops[i]);
            INFO("op " << i << ": " << op_text(ops[i]));
            REQUIRE(err == "");
            REQUIRE(stats.live_bytes <= stats.byte_budget);
            if (stats.byte_budget != SIZE_MAX) {
              ++totals.budget_ops;
              totals.budget_grant_refused += checker.counters().out_of_memory - c0.out_of_memory;
              totals.budget_revoke_extra += checker.counters().revoked_extra - c0.revoked_extra;
            }
          }
          REQUIRE(checker.compare_all(s) == "");
        }
        REQUIRE(stats.live_bytes == 0);
      }
    }
    std::cout << "byte budget " << kind::name << ": " << totals.budget_ops << " ops under a budget, "
              << totals.budget_grant_refused << " refused, " << totals.budget_revoke_extra << " revoked_extra\n";
    CHECK(totals.budget_grant_refused > 0);
  }
}
