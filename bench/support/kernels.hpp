// bench/support/kernels.hpp — what the study measures, written once for every
// structure: the targets (one set, or one set per domain) and the operation
// kernels, each returning what it saw so the caller can check it against the job.
//
// A target T (what a kernel drives) has:
//   explicit T(std::size_t domains)
//   bool grant(domain_id, page_range), bool revoke(domain_id, page_range)
//   void finish()
//   bool contains(domain_id, page_t) const, bool contains_all(domain_id, page_range) const
//   std::uint64_t count() const
//   std::vector<page_range> runs(domain_id) const
//   bool assign(const T&)                 (false: copy unavailable or failed)
//   std::int64_t model_bytes() const      memory_bytes() for ours, -1 otherwise
//   static constexpr bool huge, finishes, refuses   (as the structure's, structures.hpp)
//   static constexpr std::uint64_t max_runs          runs one domain can hold
//
// single<W> puts one structure wrapper behind that interface (domain ignored);
// mapped<S> is pmemperm's permission_map<S> (how a hypervisor holds W8); many<W> is
// one comparator per domain in a vector, the plain equivalent for the comparators.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <pmemperm/permission_map.hpp>
#include <pmemperm/types.hpp>

#include "job.hpp"
#include "structures.hpp"

namespace pmemperm::bench {

/// The runs a structure that refuses can hold (capped_page's capacity).
template <class W>
constexpr std::uint64_t max_runs_of() {
  if constexpr (W::refuses)
    return W::max_runs;
  else
    return ~std::uint64_t{0};
}

template <class W>
class single {
 public:
  static constexpr bool huge = W::huge;
  static constexpr bool finishes = W::finishes;
  static constexpr bool refuses = W::refuses;
  static constexpr std::uint64_t max_runs = max_runs_of<W>();

  explicit single(std::size_t /*domains*/) {}

  bool grant(domain_id, page_range r) { return w_.grant(r); }
  bool revoke(domain_id, page_range r) { return w_.revoke(r); }
  void finish() { w_.finish(); }
  [[nodiscard]] bool contains(domain_id, page_t p) const { return w_.contains(p); }
  [[nodiscard]] bool contains_all(domain_id, page_range r) const { return w_.contains_all(r); }
  [[nodiscard]] std::uint64_t count() const { return w_.count(); }
  [[nodiscard]] std::vector<page_range> runs(domain_id) const { return w_.runs(); }
  bool assign(const single& o) { return w_.assign(o.w_); }
  [[nodiscard]] std::int64_t model_bytes() const { return w_.model_bytes(); }

 private:
  W w_{};
};

/// The pages a permission_map holds, all domains together.
template <class M>
std::uint64_t map_pages(const M& map) {
  std::uint64_t n = 0;
  static_cast<void>(map.for_each_domain([&](domain_id d) {
    n += map.find(d)->count();
    return true;
  }));
  return n;
}

/// The maximal runs domain d holds in a permission_map (none for an unknown domain).
template <class M>
std::vector<page_range> domain_ranges(const M& map, domain_id d) {
  const auto* s = map.find(d);
  return s != nullptr ? ranges_of(*s) : std::vector<page_range>{};
}

/// pmemperm's own per-domain map over backend S. A copy is not offered by the map
/// (assign() is false), so revoke runs rebuild it before each timed pass.
template <class S>
class mapped {
 public:
  static constexpr bool huge = false;
  static constexpr bool finishes = false;
  static constexpr bool refuses = std::is_same_v<S, capped_page>;
  static constexpr std::uint64_t max_runs = refuses ? capped_page::capacity : ~std::uint64_t{0};

  explicit mapped(std::size_t /*domains*/) {}

  bool grant(domain_id d, page_range r) { return map_.permit(d, r) == errc::ok; }
  bool revoke(domain_id d, page_range r) { return map_.deny(d, r) == errc::ok; }
  void finish() {}
  [[nodiscard]] bool contains(domain_id d, page_t p) const { return map_.permitted(d, p); }
  [[nodiscard]] bool contains_all(domain_id d, page_range r) const { return map_.permitted(d, r); }
  [[nodiscard]] std::uint64_t count() const { return map_pages(map_); }
  [[nodiscard]] std::vector<page_range> runs(domain_id d) const { return domain_ranges(map_, d); }
  bool assign(const mapped&) { return false; }
  [[nodiscard]] std::int64_t model_bytes() const { return static_cast<std::int64_t>(map_.memory_bytes()); }

 private:
  permission_map<S, domain_id> map_;
};

/// One structure W per domain, in a vector: the comparators' form of W8.
template <class W>
class many {
 public:
  static constexpr bool huge = W::huge;
  static constexpr bool finishes = W::finishes;
  static constexpr bool refuses = W::refuses;
  static constexpr std::uint64_t max_runs = max_runs_of<W>();

  explicit many(std::size_t domains) {
    sets_.reserve(domains);
    for (std::size_t d = 0; d < domains; ++d) sets_.push_back(std::make_unique<W>());
  }

  bool grant(domain_id d, page_range r) { return sets_[d]->grant(r); }
  bool revoke(domain_id d, page_range r) { return sets_[d]->revoke(r); }
  void finish() {
    for (auto& s : sets_) s->finish();
  }
  [[nodiscard]] bool contains(domain_id d, page_t p) const { return sets_[d]->contains(p); }
  [[nodiscard]] bool contains_all(domain_id d, page_range r) const { return sets_[d]->contains_all(r); }
  [[nodiscard]] std::uint64_t count() const {
    std::uint64_t n = 0;
    for (const auto& s : sets_) n += s->count();
    return n;
  }
  [[nodiscard]] std::vector<page_range> runs(domain_id d) const { return sets_[d]->runs(); }
  bool assign(const many& o) {
    for (std::size_t d = 0; d < sets_.size(); ++d)
      if (!sets_[d]->assign(*o.sets_[d])) return false;
    return true;
  }
  [[nodiscard]] std::int64_t model_bytes() const { return -1; }

 private:
  std::vector<std::unique_ptr<W>> sets_;
};

// ---- kernels -----------------------------------------------------------------------

/// Apply steps; true if every step succeeded.
template <class T>
bool run_steps(T& t, const std::vector<step>& steps) {
  bool ok = true;
  for (const step& s : steps) ok = (s.grant ? t.grant(s.d, s.r) : t.revoke(s.d, s.r)) && ok;
  return ok;
}

/// Revoke the job's revoke blocks; true if every revoke succeeded.
template <class T>
bool revoke_all(T& t, const job& j) {
  bool ok = true;
  for (const span_query& s : j.revokes) ok = t.revoke(s.d, s.r) && ok;
  return ok;
}

/// True answers of contains() over the job's points.
template <class T>
std::uint64_t count_points(const T& t, const job& j) {
  std::uint64_t hits = 0;
  for (const point_query& q : j.points) hits += t.contains(q.d, q.p) ? 1 : 0;
  return hits;
}

/// True answers of contains() along the dependent chain (chain_next).
template <class T>
std::uint64_t count_chain(const T& t, const job& j) {
  const std::size_t n = j.points.size();
  if (n == 0) return 0;
  const std::size_t mask = n - 1;
  std::uint64_t hits = 0;
  std::size_t i = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const bool hit = t.contains(j.points[i].d, j.points[i].p);
    hits += hit ? 1 : 0;
    i = chain_next(i, hit, mask);
  }
  return hits;
}

/// True answers of contains_all() over the job's spans.
template <class T>
std::uint64_t count_spans(const T& t, const job& j) {
  std::uint64_t hits = 0;
  for (const span_query& q : j.spans) hits += t.contains_all(q.d, q.r) ? 1 : 0;
  return hits;
}

/// Does t hold exactly `expected` (per domain)? Compares run lists domain by domain.
template <class T>
bool holds(const T& t, const std::vector<std::vector<page_range>>& expected) {
  for (std::size_t d = 0; d < expected.size(); ++d)
    if (t.runs(static_cast<domain_id>(d)) != expected[d]) return false;
  return true;
}

/// Every query of the job answered one by one against its expected answer: the
/// timed points and spans, then the boundary queries. Untimed; a pass that only
/// counts true answers could let a wrong yes and a wrong no cancel out. Returns
/// an empty string, or what went wrong first.
template <class T>
std::string wrong_answer(const T& t, const job& j) {
  const auto ask = [&t](const point_query& q) { return t.contains(q.d, q.p); };
  const auto ask_all = [&t](const span_query& q) { return t.contains_all(q.d, q.r); };
  const auto page_text = [](const point_query& q) {
    return "contains(domain " + std::to_string(q.d) + " page " + std::to_string(q.p) + ") is wrong";
  };
  const auto range_text = [](const span_query& q) {
    return "contains_all(domain " + std::to_string(q.d) + " [" + std::to_string(q.r.first) + ", " +
           std::to_string(q.r.last) + "]) is wrong";
  };
  // The first query of qs whose answer is not the expected one, described.
  const auto first_wrong = [](const auto& qs, const std::vector<bool>& expected, const auto& query,
                              const auto& text, const char* suffix) -> std::string {
    for (std::size_t i = 0; i < qs.size(); ++i)
      if (query(qs[i]) != expected[i]) return text(qs[i]) + suffix;
    return {};
  };
  std::string why = first_wrong(j.points, j.point_answers, ask, page_text, "");
  if (why.empty()) why = first_wrong(j.edge_points, j.edge_point_answers, ask, page_text, " (run edge)");
  if (why.empty()) why = first_wrong(j.spans, j.span_answers, ask_all, range_text, "");
  if (why.empty()) why = first_wrong(j.edge_spans, j.edge_span_answers, ask_all, range_text, " (run edge)");
  return why;
}

/// After a revoke that dropped more than asked (capped_page's revoked_extra): no
/// revoked page may be left, and everything held must be in `expected` (a subset).
template <class T>
bool holds_subset(const T& t, const job& j) {
  // runs_after holds no revoked page, so a set inside it has none left either.
  for (std::size_t d = 0; d < j.runs_after.size(); ++d) {
    const std::vector<page_range>& allowed = j.runs_after[d];
    for (const page_range& r : t.runs(static_cast<domain_id>(d))) {
      const page_range* in = detail::run_of(allowed, r.first);
      if (in == nullptr || r.last > in->last) return false;
    }
  }
  return true;
}

}  // namespace pmemperm::bench
