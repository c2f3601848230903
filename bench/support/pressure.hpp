// bench/support/pressure.hpp — the study's pressure measure: what the revoke 10%
// plan costs a pmemperm backend when every allocation is refused, and what
// reserve() buys. Shared by study/pmemperm_study.cpp and the tests (which drive it
// with sets that break the rules, to prove a break is caught).
//
// measure_pressure<T>(job) builds the job twice (its own order; W7: the stream)
// into a target T whose sets allocate through a failing_allocator, while memory is
// plentiful, checks the exact run lists, and then:
//   (a) makes the allocator refuse every allocation and applies the job's revokes
//       (the blocks revoke_pass applies, in its order) with the fail-closed revoke;
//   (b) the same, after reserve(k) with k = the plan's revokes of that set (W8:
//       of that domain, through permission_map::reserve), called before refusing.
// Each pass reports the pages lost: granted pages outside every revoked range
// that are gone afterwards, (pages before - pages after) - (granted pages inside
// the revoked ranges); the revokes that returned revoked_extra; and the revokes
// refused (out_of_memory, nothing changed: only the icl_set oracle may refuse, it
// is not bound by the revoke rule). Both passes check the revoke rule (no page of
// a revoked range is left granted, no page appears).
//
// Wrong: a broken revoke rule, a refused revoke from any other backend, a build or
// reserve(k) refused while memory is plentiful, and any page lost or revoked_extra
// after reserve(k) — the reserve promises exact revokes. A structure that may
// refuse by design (capped_page) is believed where the job could need more runs
// than it holds, as measure() believes it: then its build or its reserve(k) may be
// refused (capacity_exceeded) and its revokes may drop pages without memory being
// involved at all.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <pmemperm/permission_map.hpp>
#include <pmemperm/testing.hpp>
#include <pmemperm/types.hpp>

#include "job.hpp"
#include "kernels.hpp"
#include "measure.hpp"
#include "structures.hpp"

namespace pmemperm {
// The oracle's header needs Boost; its name is enough to know it.
template <byte_allocator Alloc>
class icl_set;
}  // namespace pmemperm

namespace pmemperm::bench {

/// Sets whose revoke may fail with out_of_memory instead of keeping the revoke
/// rule: the icl_set oracle (its header says so), in a map or alone.
template <class S>
inline constexpr bool revoke_may_fail = false;
template <class A>
inline constexpr bool revoke_may_fail<icl_set<A>> = true;

/// The allocator the pressure measure gives every set it builds.
using refusable = failing_allocator<>;

/// A set with its allocator constructed over `stats` (the flat bitmap over the
/// study's universe; a set without an allocator, capped_page, as it is).
template <class S>
S make_refusable(alloc_stats& stats) {
  if constexpr (std::is_constructible_v<S, page_t, refusable>)
    return S(universe_pages, refusable(stats));
  else if constexpr (std::is_constructible_v<S, refusable>)
    return S(refusable(stats));
  else
    return S();
}

/// One pmemperm set S (its allocator a refusable one) as a pressure target: the
/// domain is ignored, as in single<W>.
template <class S>
class pressure_set {
 public:
  using set_type = S;
  static constexpr bool refuses = std::is_same_v<S, capped_page>;
  static constexpr std::uint64_t max_runs = refuses ? capped_page::capacity : ~std::uint64_t{0};

  explicit pressure_set(alloc_stats& stats) : set_(make_refusable<S>(stats)) {}

  errc grant(domain_id, page_range r) noexcept { return set_.grant(r); }
  errc revoke(domain_id, page_range r) noexcept { return set_.revoke(r); }
  errc reserve(domain_id, std::size_t revokes) noexcept { return set_.reserve(revokes); }
  [[nodiscard]] std::uint64_t count() const noexcept { return set_.count(); }
  [[nodiscard]] std::vector<page_range> runs(domain_id) const { return ranges_of(set_); }
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return set_.memory_bytes(); }

 private:
  S set_;
};

/// pmemperm's permission_map over backend S, the map's allocator a refusable one
/// (every domain's set allocates through it): W8 as a hypervisor holds it.
template <class S>
class pressure_map {
 public:
  using set_type = typename permission_map<S, domain_id, refusable>::set_type;
  static constexpr bool refuses = std::is_same_v<S, capped_page>;
  static constexpr std::uint64_t max_runs = refuses ? capped_page::capacity : ~std::uint64_t{0};

  explicit pressure_map(alloc_stats& stats) : map_(refusable(stats)) {}

  errc grant(domain_id d, page_range r) noexcept { return map_.permit(d, r); }
  errc revoke(domain_id d, page_range r) noexcept { return map_.deny(d, r); }
  errc reserve(domain_id d, std::size_t revokes) noexcept { return map_.reserve(d, revokes); }
  [[nodiscard]] std::uint64_t count() const { return map_pages(map_); }
  [[nodiscard]] std::vector<page_range> runs(domain_id d) const { return domain_ranges(map_, d); }
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return map_.memory_bytes(); }

 private:
  permission_map<S, domain_id, refusable> map_;
};

namespace detail {

/// How one pass ended: measured, refused believably, or wrong (`why` says how).
enum class pass_end { measured, does_not_fit, wrong };

struct pass_outcome {
  pass_end end = pass_end::measured;
  std::string why;
};

inline pass_outcome pass_wrong(std::string why) { return {pass_end::wrong, std::move(why)}; }

inline std::uint64_t pages_of(const std::vector<page_range>& runs) {
  std::uint64_t n = 0;
  for (const page_range& r : runs) n += r.size();
  return n;
}

/// One pass of the pressure measure on a fresh T (see the file comment): `k[d]`
/// is domain d's revokes in the plan, reserved first when `reserved`.
template <class T>
pass_outcome pressure_pass(const job& j, const std::vector<std::size_t>& k, bool reserved, pressure_figures& f) {
  pressure_counts& out = reserved ? f.reserved : f.plain;
  alloc_stats stats;
  const refusable alloc(stats);
  const auto t = std::make_unique<T>(stats);

  bool built = true;
  for (const step& s : j.build) built = (s.grant ? t->grant(s.d, s.r) : t->revoke(s.d, s.r)) == errc::ok && built;
  if (!built) {
    if (T::refuses && could_exceed(j, T::max_runs, false))
      return {pass_end::does_not_fit, "does not fit (more than " + std::to_string(T::max_runs) + " runs)"};
    return pass_wrong("a build step failed with memory plentiful");
  }
  if (t->count() != j.pages || !holds(*t, j.runs)) return pass_wrong("the built set differs from the pattern");

  // Believed for a structure that refuses by design: a result with more runs
  // than it holds.
  const bool may_drop = T::refuses && could_exceed(j, T::max_runs, true);
  if (reserved) {
    const std::size_t before = t->memory_bytes();
    for (std::size_t d = 0; d < k.size(); ++d) {
      if (k[d] == 0) continue;
      const errc e = t->reserve(static_cast<domain_id>(d), k[d]);
      if (e == errc::capacity_exceeded && may_drop) {
        out.reserve_refused = true;
      } else if (e != errc::ok) {
        return pass_wrong("reserve(" + std::to_string(k[d]) + ") failed with memory plentiful: " + to_string(e));
      }
    }
    f.reserve_bytes = static_cast<std::int64_t>(t->memory_bytes()) - static_cast<std::int64_t>(before);
  }

  alloc.fail_nth_from_now(0, true);
  std::vector<bool> refused(j.revokes.size(), false);
  for (std::size_t i = 0; i < j.revokes.size(); ++i) {
    const span_query& q = j.revokes[i];
    const errc e = t->revoke(q.d, q.r);
    if (e == errc::revoked_extra) {
      ++out.extra;
    } else if (e == errc::out_of_memory && revoke_may_fail<typename T::set_type>) {
      ++out.refused;
      refused[i] = true;
    } else if (e != errc::ok) {
      return pass_wrong(std::string("a revoke returned ") + to_string(e) + " (the revoke rule: it never fails)");
    }
  }
  alloc.disarm();

  // What may be left: the pattern less every revoke that was not refused.
  std::vector<std::vector<page_range>> cuts(j.domains);
  for (std::size_t i = 0; i < j.revokes.size(); ++i)
    if (!refused[i]) cuts[j.revokes[i].d].push_back(j.revokes[i].r);
  std::uint64_t allowed_pages = 0;
  for (std::size_t d = 0; d < j.domains; ++d) {
    const std::vector<page_range> allowed = bench::detail::subtract(j.runs[d], cuts[d]);
    allowed_pages += pages_of(allowed);
    for (const page_range& r : t->runs(static_cast<domain_id>(d))) {
      const page_range* in = bench::detail::run_of(allowed, r.first);
      if (in == nullptr || r.last > in->last)
        return pass_wrong("after the revokes a revoked page is left granted, or a page appeared (domain " +
                          std::to_string(d) + ")");
    }
  }
  // Every page held is allowed, so the allowed pages not held are the ones lost.
  out.lost = allowed_pages - t->count();

  if ((out.lost != 0 || out.extra != 0) && T::refuses && !may_drop)
    return pass_wrong(std::to_string(out.lost) + " pages dropped where the result fits");
  if (reserved && !out.reserve_refused && (out.lost != 0 || out.extra != 0))
    return pass_wrong("the revokes lost " + std::to_string(out.lost) + " pages (" + std::to_string(out.extra) +
                      " returned revoked_extra)");
  return {};
}

}  // namespace detail

/// The pressure measure of target T (pressure_set or pressure_map) on job j.
template <class T>
pressure_figures measure_pressure(const job& j) {
  pressure_figures f;
  std::vector<std::size_t> k(j.domains, 0);
  for (const span_query& q : j.revokes) ++k[q.d];
  for (const bool reserved : {false, true}) {
    const detail::pass_outcome o = detail::pressure_pass<T>(j, k, reserved, f);
    if (o.end == detail::pass_end::does_not_fit) {
      f.status = o.why;
      return f;
    }
    if (o.end == detail::pass_end::wrong) {
      f.wrong = true;
      f.status = std::string("WRONG: ") + (reserved ? "after reserve(k): " : "") + o.why;
      return f;
    }
    ++f.passes;
  }
  f.ran = true;
  f.status = "ok";
  return f;
}

}  // namespace pmemperm::bench
