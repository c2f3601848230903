// tests/support/generic_ops.hpp — test helpers written against the page_set concept only.
//
// Everything here is a template over `page_set S` and touches nothing the concept
// does not promise (test_requirements.cpp instantiates it with the archetype to
// prove it). Lists of ranges are plain std::vectors: this is test code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <pmemperm/page_set.hpp>
#include <pmemperm/types.hpp>

namespace pmemperm::test {

using range_list = std::vector<page_range>;

/// The visitor the tests hand to grant/revoke: appends every range it is called with.
struct range_recorder {
  range_list* out;
  void operator()(page_range r) const { out->push_back(r); }
};

/// Every maximal run of s, in the order for_each_range reports them.
template <page_set S>
[[nodiscard]] range_list collect_ranges(const S& s) {
  range_list out;
  const bool finished = s.for_each_range([&out](page_range r) {
    out.push_back(r);
    return true;
  });
  if (!finished) out.push_back(page_range::invalid());  // makes any comparison fail loudly
  return out;
}

/// The runs of s clipped to window, as for_each_range(window, f) reports them.
template <page_set S>
[[nodiscard]] range_list collect_ranges(const S& s, page_range window) {
  range_list out;
  const bool finished = s.for_each_range(window, [&out](page_range r) {
    out.push_back(r);
    return true;
  });
  if (!finished) out.push_back(page_range::invalid());
  return out;
}

/// All that generic code can observe of a set, as one comparable value.
struct observation {
  range_list ranges;
  std::uint64_t count = 0;
  std::size_t range_count = 0;
  bool empty = true;
  std::size_t memory_bytes = 0;
  friend bool operator==(const observation&, const observation&) = default;
};

template <page_set S>
[[nodiscard]] observation observe(const S& s) {
  return observation{collect_ranges(s), s.count(), s.range_count(), s.empty(), s.memory_bytes()};
}

/// Same pages, same runs, and the summary queries agree. Memory is not compared:
/// two different backends (or a copy) may hold the same set in different space.
template <page_set A, page_set B>
[[nodiscard]] bool equal_sets(const A& a, const B& b) {
  return a.count() == b.count() && a.range_count() == b.range_count() && a.empty() == b.empty() &&
         collect_ranges(a) == collect_ranges(b);
}

/// Ascending, valid, pairwise disjoint and non-adjacent: the shape for_each_range
/// and the visitors of a successful operation must report.
[[nodiscard]] inline bool is_canonical(const range_list& rs) {
  for (std::size_t i = 0; i < rs.size(); ++i) {
    if (!rs[i].valid()) return false;
    if (i > 0 && rs[i - 1].last + 1 >= rs[i].first) return false;  // last + 1 cannot wrap
  }
  return true;
}

/// Sum of sizes, saturating instead of wrapping (a malformed list may overlap).
[[nodiscard]] inline std::uint64_t total_pages(const range_list& rs) {
  std::uint64_t total = 0;
  for (const page_range& r : rs) {
    const std::uint64_t n = r.valid() ? r.size() : 0;
    total = n > UINT64_MAX - total ? UINT64_MAX : total + n;
  }
  return total;
}

/// Checks that the queries of s agree with each other and with its runs: count and
/// range_count with the runs, empty with count, contains/contains_all/contains_any at
/// every run's edges and in every gap. Returns an empty string, or what disagrees.
/// O(runs) queries, so callers use it on small sets or every so often.
template <page_set S>
[[nodiscard]] std::string self_consistency_error(const S& s) {
  const range_list rs = collect_ranges(s);
  if (!is_canonical(rs)) return "for_each_range reports runs that are not ascending, maximal and valid";
  if (s.count() != total_pages(rs)) return "count() differs from the sum of the runs";
  if (s.range_count() != rs.size()) return "range_count() differs from the number of runs";
  if (s.empty() != rs.empty()) return "empty() disagrees with the runs";
  if (s.empty() != (s.count() == 0)) return "empty() disagrees with count()";
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const page_range r = rs[i];
    if (!s.contains(r.first) || !s.contains(r.last)) return "contains() is false at the edge of a run";
    if (!s.contains_all(r) || !s.contains_any(r)) return "contains_all/contains_any false on a whole run";
    if (r.first > 0 && s.contains(r.first - 1)) return "contains() is true just before a run";
    if (r.last < max_page && s.contains(r.last + 1)) return "contains() is true just after a run";
    if (r.first > 0 && s.contains_all(page_range{r.first - 1, r.last})) return "contains_all() spans a gap";
    if (r.last < max_page && s.contains_all(page_range{r.first, r.last + 1})) return "contains_all() spans a gap";
    const page_t gap_first = i == 0 ? 0 : rs[i - 1].last + 1;
    if (gap_first < r.first && s.contains_any(page_range{gap_first, r.first - 1}))
      return "contains_any() is true on a gap";
  }
  if (!rs.empty() && rs.back().last < max_page && s.contains_any(page_range{rs.back().last + 1, max_page}))
    return "contains_any() is true above the last run";
  if (rs.empty() && s.contains_any(page_range{0, max_page})) return "contains_any() is true on an empty set";
  return {};
}

}  // namespace pmemperm::test
