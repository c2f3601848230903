// tests/support/checker.hpp — apply an op to a backend and to its oracle, and compare.
//
// step_checker is the heart of the differential, fault-injection and accounting
// tests. For each op it computes what must happen from the oracle's contents before
// the op (the pages a grant adds are the gaps of r, the pages a revoke removes are
// the granted pieces of r), applies the op to both sides, and compares the result
// code, the runs the visitor reported, count(), range_count(), empty(), contains at
// the op's edges and at random points, contains_all/contains_any, for_each_range over
// a window around the op (with and without an early stop), plus the caller's
// invariant and memory checks. The expected page count is tracked here, not asked
// of the oracle, so the oracle's own cardinality is checked too.
//
// The outcomes a backend may choose are bounded by step_rules:
//  - capacity_exceeded only on a grant whose exact result has more runs than
//    `capacity` (and then it must be chosen), nothing changed, no visitor call;
//  - revoked_extra only on a revoke whose exact result has too many runs, or when
//    allocations may fail; the reported pages must contain every granted page of r,
//    be disjoint, and beyond r be pages that were granted. The oracle then loses them too;
//  - out_of_memory only on grant/assign when allocations may fail, nothing changed.
//
// Every check returns an empty string or a description of the first mismatch, so
// the caller can shrink a failing sequence before reporting it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <new>
#include <random>
#include <string>
#include <utility>

#include <pmemperm/page_set.hpp>
#include <pmemperm/types.hpp>

#include "generic_ops.hpp"
#include "model.hpp"
#include "printing.hpp"
#include "random_ops.hpp"

namespace pmemperm::test {

struct step_rules {
  page_t universe = max_page + 1;  // pages at or above it are invalid_range
  bool capacity_bounded = false;
  std::size_t capacity = SIZE_MAX;
  bool failures_possible = false;  // the allocator may fail during this op
  bool revoke_may_fail = false;    // the oracle backend: a failing revoke may be out_of_memory
  unsigned full_check_period = 64;      // ops between whole-set comparisons
  unsigned invariant_check_period = 1;  // ops between backend invariant checks
};

struct step_counters {
  std::uint64_t ops = 0, grants = 0, revokes = 0, invalid = 0, clears = 0, copies = 0;
  std::uint64_t capacity_exceeded = 0, revoked_extra = 0, out_of_memory = 0;
  std::uint64_t visitor_ranges = 0, max_runs = 0;
};

/// The gaps of r between `covered`, the ascending pieces of r that are granted.
[[nodiscard]] inline range_list gaps_within(page_range r, const range_list& covered) {
  range_list out;
  page_t next = r.first;
  for (const page_range& c : covered) {
    if (c.first > next) out.push_back(page_range{next, c.first - 1});
    if (c.last == r.last) return out;
    next = c.last + 1;
  }
  out.push_back(page_range{next, r.last});
  return out;
}

template <page_set S, page_set O>
class step_checker {
 public:
  using make_fn = std::function<S()>;
  using check_fn = std::function<std::string(const S&)>;

  /// `make` builds an empty backend (for copy ops); `invariants` and `memory` return
  /// an error text or an empty string.
  step_checker(step_rules rules, O oracle, make_fn make, check_fn invariants, check_fn memory, std::uint64_t probe_seed)
      : rules_(rules),
        oracle_(std::move(oracle)),
        make_(std::move(make)),
        invariants_(std::move(invariants)),
        memory_(std::move(memory)),
        rng_(probe_seed) {}

  [[nodiscard]] const O& oracle() const noexcept { return oracle_; }
  [[nodiscard]] O& oracle() noexcept { return oracle_; }
  [[nodiscard]] std::uint64_t expected_count() const noexcept { return count_; }
  [[nodiscard]] const step_counters& counters() const noexcept { return counters_; }
  [[nodiscard]] step_rules& rules() noexcept { return rules_; }

  /// A checker in the same state, on a copy of the oracle, with other rules: for
  /// trying an op whose effect on the backend may be undone afterwards.
  [[nodiscard]] step_checker fork(const step_rules& rules) {
    O copy;
    if (copy.assign(oracle_) != errc::ok) throw std::bad_alloc();  // test code: the oracle's memory is plain new
    step_checker f(rules, std::move(copy), make_, invariants_, memory_, rng_());
    f.count_ = count_;
    f.counters_ = counters_;
    return f;
  }

  /// Apply o to s and to the oracle; compare everything cheap, and the whole set
  /// every full_check_period ops.
  std::string apply(S& s, const op& o) {
    ++counters_.ops;
    std::string err;
    switch (o.kind) {
      case op_kind::grant: err = grant(s, o.r); break;
      case op_kind::revoke: err = revoke(s, o.r); break;
      case op_kind::clear: err = clear(s); break;
      case op_kind::copy: err = copy(s); break;
    }
    if (!err.empty()) return err;
    if (counters_.ops % rules_.invariant_check_period == 0) {
      if (err = invariants_(s); !err.empty()) return err;
    }
    if (err = memory_(s); !err.empty()) return err;
    const page_range focus = in_universe(o.r) ? o.r : random_range();
    if (err = compare_near(s, focus); !err.empty()) return err;
    if (counters_.ops % rules_.full_check_period == 0) return compare_all(s);
    return {};
  }

  /// The whole set against the oracle, plus self-consistency of s's queries.
  std::string compare_all(const S& s) {
    const range_list mine = collect_ranges(s);
    const range_list theirs = collect_ranges(oracle_);
    if (mine != theirs)
      return "for_each_range differs from the oracle:\n    backend " + ranges_text(mine) + "\n    oracle  " +
             ranges_text(theirs);
    if (oracle_.count() != count_)
      return "the oracle's count() " + std::to_string(oracle_.count()) + " differs from the tracked count " +
             std::to_string(count_);
    // The self-consistency sweep asks O(runs) queries: every fourth full check, and
    // whenever called outside the op cadence (at the end of a sequence).
    if (counters_.ops % (4 * rules_.full_check_period) == 0 || counters_.ops % rules_.full_check_period != 0) {
      if (std::string e = self_consistency_error(s); !e.empty()) return "backend: " + e;
    }
    if (std::string e = invariants_(s); !e.empty()) return e;
    return {};
  }

 private:
  [[nodiscard]] bool in_universe(page_range r) const noexcept { return r.valid() && r.last < rules_.universe; }
  [[nodiscard]] page_t top() const noexcept { return rules_.universe - 1; }

  page_t draw(page_t lo, page_t hi) { return std::uniform_int_distribution<page_t>(lo, hi)(rng_); }

  page_range random_range() {
    const page_t a = draw(0, top());
    const page_t n = draw(0, 4096);
    return page_range{a, top() - a > n ? a + n : top()};
  }

  static std::string errc_mismatch(const char* what, page_range r, errc got, const std::string& expected) {
    return std::string(what) + " " + range_text(r) + " returned " + to_string(got) + ", expected " + expected;
  }

  std::string invalid_op(S& s, const char* what, page_range r, errc e, const range_list& reported,
                         std::uint64_t count_before, std::size_t runs_before, std::size_t bytes_before) {
    ++counters_.invalid;
    if (e != errc::invalid_range) return errc_mismatch(what, r, e, "invalid_range");
    if (!reported.empty()) return std::string(what) + " of an invalid range called the visitor";
    if (s.count() != count_before || s.range_count() != runs_before || s.memory_bytes() != bytes_before)
      return std::string(what) + " of an invalid range " + range_text(r) + " changed the set";
    return {};
  }

  std::string grant(S& s, page_range r) {
    range_list reported;
    const std::uint64_t count_before = s.count();
    const std::size_t runs_before = s.range_count();
    const std::size_t bytes_before = s.memory_bytes();
    if (!in_universe(r)) {
      const errc e = s.grant(r, range_recorder{&reported});
      return invalid_op(s, "grant", r, e, reported, count_before, runs_before, bytes_before);
    }
    ++counters_.grants;
    const range_list added = gaps_within(r, collect_ranges(oracle_, r));
    if (const errc oe = oracle_.grant(r); oe != errc::ok) return errc_mismatch("oracle grant", r, oe, "ok");
    count_ += total_pages(added);
    const std::size_t exact_runs = oracle_.range_count();
    if (exact_runs > counters_.max_runs) counters_.max_runs = exact_runs;
    const bool too_many = rules_.capacity_bounded && exact_runs > rules_.capacity;

    const errc e = s.grant(r, range_recorder{&reported});
    counters_.visitor_ranges += reported.size();
    if (e == errc::ok && !too_many) {
      if (reported != added)
        return "grant " + range_text(r) + " reported " + ranges_text(reported) + ", expected " + ranges_text(added);
      return {};
    }
    const bool may_refuse = (e == errc::capacity_exceeded && too_many) ||
                            (e == errc::out_of_memory && rules_.failures_possible);
    if (!may_refuse) {
      std::string expected = too_many ? "capacity_exceeded" : "ok";
      if (rules_.failures_possible) expected += " or out_of_memory";
      return errc_mismatch("grant", r, e, expected + " (exact result: " + std::to_string(exact_runs) + " runs)");
    }
    (e == errc::capacity_exceeded ? counters_.capacity_exceeded : counters_.out_of_memory) += 1;
    if (!reported.empty()) return "grant " + range_text(r) + " failed with " + to_string(e) + " but called the visitor";
    if (s.count() != count_before || s.range_count() != runs_before || s.memory_bytes() != bytes_before)
      return "grant " + range_text(r) + " failed with " + to_string(e) + " but changed count/range_count/memory_bytes";
    // Undo the oracle: the pages it added were exactly the gaps.
    for (const page_range& g : added) static_cast<void>(oracle_.revoke(g));
    count_ -= total_pages(added);
    return {};
  }

  std::string revoke(S& s, page_range r) {
    range_list reported;
    if (!in_universe(r)) {
      const std::uint64_t count_before = s.count();
      const std::size_t runs_before = s.range_count();
      const std::size_t bytes_before = s.memory_bytes();
      const errc e = s.revoke(r, range_recorder{&reported});
      return invalid_op(s, "revoke", r, e, reported, count_before, runs_before, bytes_before);
    }
    ++counters_.revokes;
    const range_list removed = collect_ranges(oracle_, r);
    if (const errc oe = oracle_.revoke(r); oe != errc::ok) return errc_mismatch("oracle revoke", r, oe, "ok");
    count_ -= total_pages(removed);
    const std::size_t exact_runs = oracle_.range_count();
    const bool too_many = rules_.capacity_bounded && exact_runs > rules_.capacity;

    const std::uint64_t count_before = s.count();
    const std::size_t runs_before = s.range_count();
    const std::size_t bytes_before = s.memory_bytes();
    const errc e = s.revoke(r, range_recorder{&reported});
    counters_.visitor_ranges += reported.size();
    if (e == errc::out_of_memory && rules_.failures_possible && rules_.revoke_may_fail) {
      // Only the ICL oracle may do this, and then it must change nothing.
      ++counters_.out_of_memory;
      if (!reported.empty()) return "revoke " + range_text(r) + " failed with out_of_memory but called the visitor";
      if (s.count() != count_before || s.range_count() != runs_before || s.memory_bytes() != bytes_before)
        return "revoke " + range_text(r) + " failed with out_of_memory but changed the set";
      for (const page_range& x : removed) static_cast<void>(oracle_.grant(x));
      count_ += total_pages(removed);
      return {};
    }
    if (s.contains_any(r)) return "revoke " + range_text(r) + " returned " + to_string(e) + " and left a page of r granted";
    if (e == errc::ok && !too_many) {
      if (reported != removed)
        return "revoke " + range_text(r) + " reported " + ranges_text(reported) + ", expected " + ranges_text(removed);
      return {};
    }
    if (e != errc::revoked_extra || !(too_many || rules_.failures_possible)) {
      const char* expected = too_many ? "revoked_extra" : rules_.failures_possible ? "ok or revoked_extra" : "ok";
      return errc_mismatch("revoke", r, e, std::string(expected) + " (exact result: " + std::to_string(exact_runs) + " runs)");
    }
    ++counters_.revoked_extra;
    // The reported pages: disjoint, covering exactly the granted pages of r inside r,
    // and beyond r only pages that were granted (and are still in the oracle).
    model_set seen;
    for (const page_range& x : reported) {
      if (!x.valid()) return "revoke " + range_text(r) + " reported an invalid range " + range_text(x);
      if (seen.contains_any(x)) return "revoke " + range_text(r) + " reported a page twice: " + ranges_text(reported);
      static_cast<void>(seen.grant(x));
    }
    if (collect_ranges(seen, r) != removed)
      return "revoke " + range_text(r) + " returned revoked_extra; inside r it reported " +
             ranges_text(collect_ranges(seen, r)) + ", expected " + ranges_text(removed);
    static_cast<void>(seen.revoke(r));
    const range_list extra = collect_ranges(seen);
    if (extra.empty()) return "revoke " + range_text(r) + " returned revoked_extra but reported no extra page";
    for (const page_range& x : extra) {
      if (collect_ranges(oracle_, x) != range_list{x})
        return "revoke " + range_text(r) + " reported extra pages " + range_text(x) + " that were not granted";
      static_cast<void>(oracle_.revoke(x));
      count_ -= x.size();
    }
    if (rules_.capacity_bounded && oracle_.range_count() > rules_.capacity)
      return "revoke " + range_text(r) + " returned revoked_extra and still holds more runs than its capacity";
    return {};
  }

  std::string clear(S& s) {
    ++counters_.clears;
    s.clear();
    oracle_.clear();
    count_ = 0;
    if (!s.empty() || s.count() != 0 || s.range_count() != 0) return "clear() left pages granted";
    return {};
  }

  std::string copy(S& s) {
    ++counters_.copies;
    S c = make_();
    const errc e = c.assign(s);
    if (e == errc::out_of_memory && rules_.failures_possible) return {};
    if (e != errc::ok) return std::string("assign returned ") + to_string(e) + ", expected ok";
    if (!equal_sets(c, s)) return "assign made a copy that differs from its source";
    s = std::move(c);
    return {};
  }

  /// Cheap comparisons around `focus`: summaries, points, a window, early stop.
  /// The oracle is asked once for its runs in a window around the focus; the truth
  /// for points and ranges inside the window is read from those runs (the oracle's
  /// own contains* are not needed), points outside it are asked of the oracle.
  std::string compare_near(const S& s, page_range focus) {
    if (s.count() != count_)
      return "count() is " + std::to_string(s.count()) + ", expected " + std::to_string(count_);
    if (s.range_count() != oracle_.range_count())
      return "range_count() is " + std::to_string(s.range_count()) + ", expected " +
             std::to_string(oracle_.range_count());
    if (s.empty() != (count_ == 0)) return "empty() disagrees with the expected count";

    // A window around the focus, possibly reaching past the universe.
    const page_t below = draw(0, 4096);
    const page_t above = draw(0, 4096);
    const page_range window{focus.first > below ? focus.first - below : 0,
                            max_page - focus.last > above ? focus.last + above : max_page};
    const range_list mine = collect_ranges(s, window);
    const range_list theirs = collect_ranges(oracle_, window);
    if (mine != theirs)
      return "for_each_range(" + range_text(window) + ") is " + ranges_text(mine) + ", oracle " + ranges_text(theirs);

    // Points: the focus edges and their neighbours, and random points near and far.
    const page_t points[8] = {focus.first, focus.last, focus.first == 0 ? 0 : focus.first - 1,
                              focus.last == top() ? top() : focus.last + 1,
                              draw(focus.first > 64 ? focus.first - 64 : 0, top() - focus.last > 64 ? focus.last + 64 : top()),
                              draw(focus.first, focus.last), draw(0, top()), draw(0, top())};
    for (const page_t p : points) {
      const bool expected = within(window, p) ? covers(theirs, p) : oracle_.contains(p);
      if (s.contains(p) != expected)
        return "contains(" + page_text(p) + ") is " + (expected ? "false" : "true") + ", runs near it: " +
               ranges_text(collect_ranges(oracle_, page_range{p > 8 ? p - 8 : 0, max_page - p > 8 ? p + 8 : max_page}));
    }
    if (rules_.universe <= max_page && (s.contains(rules_.universe) || s.contains(max_page)))
      return "contains() is true above the universe";

    // contains_all / contains_any on the focus, the window and a small range in it.
    const page_t a = draw(window.first, window.last);
    const page_range small{a, window.last - a > 8 ? a + draw(0, 8) : window.last};
    for (const page_range q : {focus, window, small}) {
      const range_list pieces = clip(theirs, q);
      const bool all = pieces.size() == 1 && pieces.front() == q;
      const bool any = !pieces.empty();
      if (s.contains_all(q) != all)
        return "contains_all(" + range_text(q) + ") is " + (all ? "false" : "true") + ", runs there: " + ranges_text(pieces);
      if (s.contains_any(q) != any)
        return "contains_any(" + range_text(q) + ") is " + (any ? "false" : "true") + ", runs there: " + ranges_text(pieces);
    }

    // Early stop: stopping at the first run returns false iff there was a run.
    if (counters_.ops % 8 == 0) {
      std::size_t calls = 0;
      const bool finished = s.for_each_range(window, [&calls](page_range) {
        ++calls;
        return false;
      });
      if (calls != (theirs.empty() ? 0u : 1u) || finished != theirs.empty())
        return "for_each_range(" + range_text(window) + ") did not stop when told to";
    }
    return {};
  }

  [[nodiscard]] static bool within(page_range w, page_t p) noexcept { return w.first <= p && p <= w.last; }

  /// Whether p lies in one of the ascending runs.
  [[nodiscard]] static bool covers(const range_list& runs, page_t p) {
    const auto it = std::upper_bound(runs.begin(), runs.end(), p, [](page_t x, const page_range& r) { return x < r.first; });
    return it != runs.begin() && std::prev(it)->last >= p;
  }

  /// The ascending runs clipped to q.
  [[nodiscard]] static range_list clip(const range_list& runs, page_range q) {
    range_list out;
    for (const page_range& r : runs)
      if (r.last >= q.first && r.first <= q.last)
        out.push_back(page_range{r.first < q.first ? q.first : r.first, r.last > q.last ? q.last : r.last});
    return out;
  }

  step_rules rules_;
  O oracle_;
  std::uint64_t count_ = 0;
  make_fn make_;
  check_fn invariants_;
  check_fn memory_;
  std::mt19937_64 rng_;
  step_counters counters_;
};

}  // namespace pmemperm::test
