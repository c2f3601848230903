// pmemperm/study/patterns.hpp — the fragmented assignment patterns W1–W8 of
// docs/design.md, generated deterministically for tests, benchmarks and examples.
//
// A study helper, not a core header: it uses std::vector and may throw
// (std::bad_alloc, std::invalid_argument for parameters that do not fit).
// Embedders never include it.
//
// Every pattern comes from a fixed seed through a PRNG written here (splitmix64
// seeding xoshiro256**), with bounded draws by rejection and our own Fisher–Yates
// shuffle, so the same parameters give the same grants on every platform and
// standard library. Full size by default (universe 2^30 pages); `scale_log2`
// divides the page counts by 2^scale_log2 so tests can run the same shapes small.
//
//  id  shape (at scale 0)                                          grants   pages
//  W1  one range of 2^20 pages at a random position                1        2^20
//  W2  64 random ranges of 2^14 pages, pairwise non-adjacent       64       2^20
//  W3  every other page over a random 2^21-page span               2^20     2^20
//  W4  2^16 distinct random single pages over the universe         2^16     2^16
//  W5  2^20 distinct random single pages inside a random 2^22-page
//      window (density 1/4, so ~2^22 * 1/4 * 3/4 = 786432 runs
//      expected — the ~0.79M of docs/design.md; drawing with repeats
//      would give ~0.72M runs instead)                             2^20     2^20
//  W6  4096 random clusters of 256 pages, pairwise non-adjacent and
//      not aligned; 64 random pages (a quarter) of each missing;
//      granted as the maximal runs of each cluster                 ~196k    786432
//
//  W7  churn, a domain's life: 10^6 grant/revoke operations in a
//      2^26-page window (make_churn; see below); what is left at
//      the end, default seed: ~3.3e7 pages in ~27k runs            ~500k    ~3.3e7
//  W8  many domains: 1024 domains partitioning 2^26 pages, each
//      holding ~48 fragments (make_domains; see below)             ~49k     2^26
//
// Scaling: W1, W3, W4 and W5 counts shift right by scale_log2 (never below 1 page);
// W2 keeps 64 ranges of 2^(14 - scale) pages; W6 keeps the 256-page cluster shape
// and has 4096 >> scale clusters (at least one).
//
// W7 and W8 are not single grant lists, so make_pattern refuses them; make_churn
// and make_domains generate them (the `order` parameter is ignored by W7, whose
// stream has an order of its own).
//
// W7, a domain's life. ops = 10^6 >> scale operations (at least 512) inside a
// window of 2^(26 - scale) pages (at least 2^14) at a random place in the universe.
// A working set of window/64 pages drifts forward through the window (wrapping at
// its end), about once over the stream; every operation starts at a uniform page of
// the working set. The share of grants falls linearly from 3/4 to 1/4 over the
// stream (half overall): the working set fills up early and thins out late, while
// pages it has drifted past stay granted, as a long-lived domain's do. Sizes, for grants
// and revokes alike: 1/2 single pages, 7/20 small ranges of 2..64 pages, 3/20 large
// ranges of 65..max(128, window/4096) pages (2^14 at scale 0); a range is cut short
// at the window's end. The exact pages and runs left at the end come from replaying
// the stream on an interval map.
//
// W8, many domains. N = 2^26 >> scale pages at a random place in the universe are
// cut into min(2^14, N/4) equal stripes; each stripe is split at random distinct cut
// points into 2, 3 or 4 pieces, each piece granted to a different domain. Domains
// are dealt from a shuffled deck of all 1024 ids, reshuffled when used up, so every
// domain gets one piece per round of the deck (all hold the same number of pieces
// give or take one) and every domain is non-empty; no page is in two domains, every
// page of the N is in one. Always 1024 domains: below N = 2^11 (scale > 15) there
// are too few pieces, and make_domains throws. Up to scale 10 the stripes only get
// shorter and each domain holds ~48 runs; above it ~3 * 2^(14 - scale), at least one.
//
// Costs: generation is O(g log g) for g grants (one sort for the exact summary).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <stdexcept>
#include <vector>

#include "../types.hpp"

namespace pmemperm::study {

/// splitmix64: turns any 64-bit seed into well-mixed words; used to seed xoshiro.
[[nodiscard]] constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

/// xoshiro256** with bounded draws that are exactly uniform (rejection sampling),
/// so results do not depend on the standard library's distributions.
class prng {
 public:
  explicit constexpr prng(std::uint64_t seed) noexcept {
    for (std::uint64_t& w : s_) w = splitmix64(seed);
  }

  constexpr std::uint64_t operator()() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, n), n > 0.
  constexpr std::uint64_t below(std::uint64_t n) noexcept {
    // Reject the 2^64 mod n smallest values so every residue is equally likely.
    const std::uint64_t reject = (0 - n) % n;
    for (;;) {
      const std::uint64_t x = (*this)();
      if (x >= reject) return x % n;
    }
  }

  /// Uniform in [lo, hi], lo <= hi.
  constexpr std::uint64_t between(std::uint64_t lo, std::uint64_t hi) noexcept {
    return hi - lo == UINT64_MAX ? (*this)() : lo + below(hi - lo + 1);
  }

  /// Fisher–Yates shuffle, platform independent (std::shuffle is not).
  template <class T>
  void shuffle(std::vector<T>& v) noexcept {
    for (std::size_t i = v.size(); i > 1; --i) {
      const auto j = static_cast<std::size_t>(below(i));
      std::swap(v[i - 1], v[j]);
    }
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4]{};
};

enum class pattern_id : std::uint8_t { w1 = 1, w2, w3, w4, w5, w6, w7, w8 };

/// The grant-list patterns (make_pattern), in table order; W7 and W8 have their own
/// generators (make_churn, make_domains).
inline constexpr pattern_id grant_patterns[] = {pattern_id::w1, pattern_id::w2, pattern_id::w3,
                                                pattern_id::w4, pattern_id::w5, pattern_id::w6};

[[nodiscard]] constexpr const char* name(pattern_id id) noexcept {
  switch (id) {
    case pattern_id::w1: return "W1";
    case pattern_id::w2: return "W2";
    case pattern_id::w3: return "W3";
    case pattern_id::w4: return "W4";
    case pattern_id::w5: return "W5";
    case pattern_id::w6: return "W6";
    case pattern_id::w7: return "W7";
    case pattern_id::w8: return "W8";
  }
  return "W?";
}

[[nodiscard]] constexpr const char* description(pattern_id id) noexcept {
  switch (id) {
    case pattern_id::w1: return "one contiguous range";
    case pattern_id::w2: return "congregated: 64 random non-adjacent ranges";
    case pattern_id::w3: return "strided: every other page";
    case pattern_id::w4: return "random sparse: single pages over the universe";
    case pattern_id::w5: return "random dense: single pages in a 4x window";
    case pattern_id::w6: return "clustered-fragmented: 256-page clusters, a quarter missing";
    case pattern_id::w7: return "churn: a domain's life of mixed grants and revokes";
    case pattern_id::w8: return "many domains: 1024 domains partitioning 2^26 pages";
  }
  return "";
}

enum class grant_order : std::uint8_t { random, sorted };

struct pattern_params {
  unsigned universe_log2 = 30;  ///< pages live in [base, base + 2^universe_log2); at most 63
  unsigned scale_log2 = 0;      ///< divide page counts by 2^scale_log2 (see the header comment)
  page_t base = 0;              ///< shift everything, e.g. to put a pattern just below max_page
  std::uint64_t seed = 0;       ///< 0: the fixed default seed
  grant_order order = grant_order::random;
};

struct pattern {
  pattern_id id{};
  page_range universe{};            ///< where the pages were drawn from
  std::vector<page_range> grants;   ///< to apply in this order
  std::uint64_t pages = 0;          ///< distinct pages granted once all grants are applied (exact)
  std::uint64_t runs = 0;           ///< maximal runs once all grants are applied (exact)
};

/// The maximal runs covering the union of `ranges` (valid ranges only), ascending.
[[nodiscard]] inline std::vector<page_range> normalize(std::vector<page_range> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const page_range& a, const page_range& b) { return a.first < b.first; });
  std::vector<page_range> out;
  for (const page_range& r : ranges) {
    if (!out.empty() && r.first <= out.back().last + 1) {
      if (r.last > out.back().last) out.back().last = r.last;
    } else {
      out.push_back(r);
    }
  }
  return out;
}

namespace detail {

inline constexpr std::uint64_t default_seed = 0x706d656d7065726du;  // "pmemperm"

[[nodiscard]] constexpr std::uint64_t scaled(unsigned log2, unsigned scale) noexcept {
  return scale >= log2 ? 1u : std::uint64_t{1} << (log2 - scale);
}

inline void require(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(what);
}

/// k distinct values in [0, n), as a uniform k-subset (the order is not random;
/// callers shuffle or sort). Small windows use a bitmap of taken values; large
/// ones draw with repeats, sort, and top up the shortfall. Both procedures treat
/// every value alike, which is what makes the subset uniform.
[[nodiscard]] inline std::vector<std::uint64_t> distinct_sample(prng& rng, std::uint64_t k, std::uint64_t n) {
  require(k <= n, "pattern does not fit in its window");
  std::vector<std::uint64_t> v;
  v.reserve(static_cast<std::size_t>(k));
  if (n <= (std::uint64_t{1} << 26)) {
    std::vector<std::uint64_t> taken(static_cast<std::size_t>((n + 63) / 64));
    while (v.size() < k) {
      const std::uint64_t x = rng.below(n);
      std::uint64_t& w = taken[static_cast<std::size_t>(x / 64)];
      const std::uint64_t bit = std::uint64_t{1} << (x % 64);
      if ((w & bit) != 0) continue;
      w |= bit;
      v.push_back(x);
    }
    return v;
  }
  while (v.size() < k) {
    while (v.size() < k) v.push_back(rng.below(n));
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  }
  return v;
}

/// Start offsets of `count` pairwise non-adjacent blocks of `len` pages inside
/// [0, span): every placement equally likely (slack split by sorted uniform cuts).
[[nodiscard]] inline std::vector<std::uint64_t> spaced_blocks(prng& rng, std::uint64_t count, std::uint64_t len,
                                                              std::uint64_t span) {
  require(count > 0 && len <= span / count && count * len + (count - 1) <= span,
          "pattern does not fit in its window");
  const std::uint64_t slack = span - count * len - (count - 1);
  std::vector<std::uint64_t> cuts(static_cast<std::size_t>(count));
  for (std::uint64_t& c : cuts) c = rng.between(0, slack);
  std::sort(cuts.begin(), cuts.end());
  for (std::size_t i = 0; i < cuts.size(); ++i) cuts[i] += i * (len + 1);
  return cuts;
}

}  // namespace detail

namespace detail {

/// The universe of `params`, checked to fit below max_page.
[[nodiscard]] inline page_range universe_of(const pattern_params& params) {
  require(params.universe_log2 <= 63, "universe_log2 must be at most 63");
  const std::uint64_t u = std::uint64_t{1} << params.universe_log2;
  require(params.base <= max_page - (u - 1), "universe passes max_page");
  return page_range{params.base, params.base + (u - 1)};
}

/// Each pattern draws from its own stream, so adding one never changes another.
[[nodiscard]] inline prng rng_for(pattern_id id, const pattern_params& params) noexcept {
  return prng((params.seed != 0 ? params.seed : default_seed) + static_cast<std::uint64_t>(id) * 0x9e3779b97f4a7c15u);
}

}  // namespace detail

/// Generate grant-list pattern `id` (W1–W6). Throws std::invalid_argument when the
/// scaled pattern does not fit in the universe, the universe does not fit below
/// max_page, or `id` is W7 or W8 (see make_churn and make_domains).
[[nodiscard]] inline pattern make_pattern(pattern_id id, const pattern_params& params = {}) {
  detail::require(id != pattern_id::w7 && id != pattern_id::w8,
                  "W7 and W8 are not grant lists: use make_churn or make_domains");
  pattern out;
  out.id = id;
  out.universe = detail::universe_of(params);
  const std::uint64_t u = out.universe.size();
  const unsigned s = params.scale_log2;
  prng rng = detail::rng_for(id, params);
  std::vector<page_range>& g = out.grants;
  const page_t b = params.base;

  switch (id) {
    case pattern_id::w1: {
      const std::uint64_t len = detail::scaled(20, s);
      detail::require(len <= u, "pattern does not fit in its window");
      g.push_back(page_range::from_count(b + rng.between(0, u - len), len));
      break;
    }
    case pattern_id::w2: {
      const std::uint64_t len = detail::scaled(14, s);
      for (std::uint64_t at : detail::spaced_blocks(rng, 64, len, u)) g.push_back(page_range::from_count(b + at, len));
      break;
    }
    case pattern_id::w3: {
      const std::uint64_t n = detail::scaled(20, s);
      detail::require(2 * n <= u, "pattern does not fit in its window");
      const page_t start = b + rng.between(0, u - 2 * n);
      g.reserve(static_cast<std::size_t>(n));
      for (std::uint64_t i = 0; i < n; ++i) g.push_back(page_range::single(start + 2 * i));
      break;
    }
    case pattern_id::w4: {
      const std::uint64_t n = detail::scaled(16, s);
      g.reserve(static_cast<std::size_t>(n));
      for (std::uint64_t at : detail::distinct_sample(rng, n, u)) g.push_back(page_range::single(b + at));
      break;
    }
    case pattern_id::w5: {
      const std::uint64_t n = detail::scaled(20, s);
      const std::uint64_t window = 4 * n;
      detail::require(window <= u, "pattern does not fit in its window");
      const page_t start = b + rng.between(0, u - window);
      g.reserve(static_cast<std::size_t>(n));
      for (std::uint64_t at : detail::distinct_sample(rng, n, window)) g.push_back(page_range::single(start + at));
      break;
    }
    case pattern_id::w6: {
      constexpr std::uint64_t cluster = 256;
      constexpr std::size_t missing = cluster / 4;
      const std::uint64_t clusters = s >= 12 ? 1 : std::uint64_t{4096} >> s;
      std::vector<std::uint8_t> present(cluster);
      std::vector<std::uint64_t> slots(cluster);
      for (std::uint64_t at : detail::spaced_blocks(rng, clusters, cluster, u)) {
        // A random quarter of the slots: the first `missing` of a partial shuffle.
        for (std::size_t i = 0; i < cluster; ++i) slots[i] = i;
        for (std::size_t i = 0; i < missing; ++i)
          std::swap(slots[i], slots[i + static_cast<std::size_t>(rng.below(cluster - i))]);
        std::fill(present.begin(), present.end(), std::uint8_t{1});
        for (std::size_t i = 0; i < missing; ++i) present[static_cast<std::size_t>(slots[i])] = 0;
        for (std::size_t i = 0; i < cluster;) {
          if (present[i] == 0) {
            ++i;
            continue;
          }
          std::size_t j = i;
          while (j + 1 < cluster && present[j + 1] != 0) ++j;
          g.push_back(page_range{b + at + i, b + at + j});
          i = j + 1;
        }
      }
      break;
    }
    case pattern_id::w7:
    case pattern_id::w8:
      break;  // refused above
  }

  const std::vector<page_range> runs = normalize(g);
  out.runs = runs.size();
  for (const page_range& r : runs) out.pages += r.size();
  if (params.order == grant_order::sorted) {
    std::sort(g.begin(), g.end(), [](const page_range& x, const page_range& y) { return x.first < y.first; });
  } else {
    rng.shuffle(g);
  }
  return out;
}

struct revoke_params {
  unsigned per_mille = 100;          ///< share of the granted pages to revoke (100 = 10%)
  std::uint64_t block_pages = 64;    ///< largest block revoked by one call
  std::uint64_t seed = 0;            ///< 0: the fixed default seed
};

struct revoke_plan {
  std::vector<page_range> revokes;  ///< random order; pairwise disjoint
  std::uint64_t pages = 0;          ///< granted pages they remove (exact)
};

/// Revoke per_mille of p's granted pages in blocks: each run of p is cut into
/// blocks of block_pages pages (the last one shorter), and random blocks are taken
/// until at least the requested share is covered. Every revoked page was granted,
/// so after applying the plan count() must be p.pages - plan.pages. Sparse
/// patterns (W3, W4, W5) have single-page runs, so their blocks are single pages.
[[nodiscard]] inline revoke_plan make_revoke_plan(const pattern& p, const revoke_params& params = {}) {
  detail::require(params.block_pages > 0 && params.per_mille <= 1000, "bad revoke parameters");
  std::vector<page_range> blocks;
  for (const page_range& r : normalize(p.grants)) {
    for (page_t at = r.first;;) {
      const std::uint64_t left = r.last - at + 1;
      const std::uint64_t len = left < params.block_pages ? left : params.block_pages;
      blocks.push_back(page_range::from_count(at, len));
      if (len == left) break;
      at += len;
    }
  }
  // ceil(pages * per_mille / 1000) without overflowing for any page count here.
  const std::uint64_t target = p.pages / 1000 * params.per_mille + (p.pages % 1000 * params.per_mille + 999) / 1000;
  prng rng((params.seed != 0 ? params.seed : detail::default_seed) ^ (static_cast<std::uint64_t>(p.id) << 56) ^
           0x5265766f6b65u);
  revoke_plan plan;
  for (std::size_t i = 0; i < blocks.size() && plan.pages < target; ++i) {
    const auto j = i + static_cast<std::size_t>(rng.below(blocks.size() - i));
    std::swap(blocks[i], blocks[j]);
    plan.revokes.push_back(blocks[i]);
    plan.pages += blocks[i].size();
  }
  return plan;
}

// ---- W7: churn ---------------------------------------------------------------------

struct churn_op {
  bool grant = true;  ///< grant r, else revoke it
  page_range r{};
};

struct churn_pattern {
  pattern_id id = pattern_id::w7;
  page_range universe{};
  page_range window{};         ///< every operation lies inside it
  std::vector<churn_op> ops;   ///< to apply in this order to an empty set
  std::uint64_t grants = 0;    ///< operations that grant; the rest revoke
  std::uint64_t revokes = 0;
  std::uint64_t singles = 0;   ///< operations drawn as single pages (either kind)
  std::uint64_t smalls = 0;    ///< drawn as 2..64 pages
  std::uint64_t larges = 0;    ///< drawn as large ranges (one cut at the window's end keeps its class)
  std::uint64_t pages = 0;     ///< pages granted once the whole stream is applied (exact)
  std::uint64_t runs = 0;      ///< maximal runs then (exact)
};

namespace detail {

/// Disjoint, non-adjacent intervals first -> last: the plain replay that gives W7's
/// exact final summary, independent of every backend.
class interval_replay {
 public:
  void add(page_range r) {
    page_t lo = r.first;
    page_t hi = r.last;
    auto it = runs_.upper_bound(lo);
    if (it != runs_.begin()) {
      const auto prev = std::prev(it);
      if (prev->second >= lo || lo - prev->second == 1) {
        lo = prev->first;
        if (prev->second > hi) hi = prev->second;
        it = runs_.erase(prev);
      }
    }
    while (it != runs_.end() && (it->first <= hi || it->first - hi == 1)) {
      if (it->second > hi) hi = it->second;
      it = runs_.erase(it);
    }
    runs_.emplace_hint(it, lo, hi);
  }

  void remove(page_range r) {
    auto it = runs_.upper_bound(r.first);
    if (it != runs_.begin() && std::prev(it)->second >= r.first) --it;
    while (it != runs_.end() && it->first <= r.last) {
      const page_range cur{it->first, it->second};
      it = runs_.erase(it);
      if (cur.first < r.first) runs_.emplace_hint(it, cur.first, r.first - 1);
      // The remainder starts past r, so the loop ends on it.
      if (cur.last > r.last) it = runs_.emplace_hint(it, r.last + 1, cur.last);
    }
  }

  [[nodiscard]] std::uint64_t pages() const noexcept {
    std::uint64_t n = 0;
    for (const auto& [first, last] : runs_) n += last - first + 1;
    return n;
  }
  [[nodiscard]] std::uint64_t runs() const noexcept { return runs_.size(); }
  [[nodiscard]] std::vector<page_range> run_list() const {
    std::vector<page_range> out;
    out.reserve(runs_.size());
    for (const auto& [first, last] : runs_) out.push_back(page_range{first, last});
    return out;
  }

 private:
  std::map<page_t, page_t> runs_;
};

}  // namespace detail

/// Generate W7 (see the header comment for the mix). Throws std::invalid_argument
/// when the window does not fit in the universe.
[[nodiscard]] inline churn_pattern make_churn(const pattern_params& params = {}) {
  churn_pattern out;
  out.universe = detail::universe_of(params);
  const std::uint64_t u = out.universe.size();
  const unsigned s = params.scale_log2;
  prng rng = detail::rng_for(pattern_id::w7, params);

  const std::uint64_t ops = std::max<std::uint64_t>(s >= 20 ? 0 : std::uint64_t{1000000} >> s, 512);
  const std::uint64_t window = std::uint64_t{1} << (s >= 12 ? 14 : 26 - s);
  detail::require(window <= u, "pattern does not fit in its window");
  const std::uint64_t ws = window / 64;
  const std::uint64_t large_max = std::max<std::uint64_t>(128, window / 4096);
  out.window = page_range::from_count(out.universe.first + rng.between(0, u - window), window);

  // The working set [c, c + ws) starts anywhere; c drifts forward by avg pages per
  // operation on average, which carries it about once through the window.
  const std::uint64_t positions = window - ws + 1;
  const std::uint64_t avg = std::max<std::uint64_t>(1, (window - ws) / ops);
  std::uint64_t c = rng.below(positions);
  out.ops.reserve(static_cast<std::size_t>(ops));
  detail::interval_replay replay;
  for (std::uint64_t i = 0; i < ops; ++i) {
    c = (c + rng.between(0, 2 * avg)) % positions;
    // P(grant) = (3/2 ops - i) / (2 ops): from 3/4 down to 1/4.
    const bool grant = rng.below(2 * ops) < ops + ops / 2 - i;
    const std::uint64_t cls = rng.below(20);
    std::uint64_t len = 1;
    if (cls < 10) {
      ++out.singles;
    } else if (cls < 17) {
      len = rng.between(2, 64);
      ++out.smalls;
    } else {
      len = rng.between(65, large_max);
      ++out.larges;
    }
    const std::uint64_t at = c + rng.below(ws);
    const std::uint64_t last = std::min(at + len - 1, window - 1);
    const page_range r{out.window.first + at, out.window.first + last};
    out.ops.push_back(churn_op{grant, r});
    if (grant) {
      ++out.grants;
      replay.add(r);
    } else {
      ++out.revokes;
      replay.remove(r);
    }
  }
  out.pages = replay.pages();
  out.runs = replay.runs();
  return out;
}

/// The maximal runs a W7 stream leaves, ascending: the stream replayed on the same
/// plain interval map that gives make_churn its exact summary.
[[nodiscard]] inline std::vector<page_range> final_runs(const churn_pattern& c) {
  detail::interval_replay replay;
  for (const churn_op& op : c.ops) {
    if (op.grant)
      replay.add(op.r);
    else
      replay.remove(op.r);
  }
  return replay.run_list();
}

// ---- W8: many domains --------------------------------------------------------------

/// W8 always has this many domains, with ids 0 .. w8_domains - 1.
inline constexpr std::size_t w8_domains = 1024;

struct domain_share {
  std::vector<page_range> grants;  ///< this domain's grants, in the requested order
  std::uint64_t pages = 0;         ///< exact
  std::uint64_t runs = 0;          ///< maximal runs of this domain alone (exact)
};

struct domain_grant {
  std::uint16_t domain = 0;
  page_range r{};
};

struct domains_pattern {
  pattern_id id = pattern_id::w8;
  page_range universe{};
  page_range span{};                 ///< the pages partitioned between the domains
  std::vector<domain_share> domains; ///< indexed by domain id; w8_domains entries
  std::vector<domain_grant> all;     ///< every grant of every domain, in the requested order
  std::uint64_t pages = 0;           ///< span.size(): every page is held by exactly one domain
  std::uint64_t runs = 0;            ///< sum of the domains' runs
};

/// Generate W8 (see the header comment). Random order shuffles each domain's list and
/// `all` independently; sorted order gives both ascending. Throws
/// std::invalid_argument when 2^26 >> scale_log2 is below 2^11 pages or the span does
/// not fit in the universe.
[[nodiscard]] inline domains_pattern make_domains(const pattern_params& params = {}) {
  domains_pattern out;
  out.universe = detail::universe_of(params);
  const std::uint64_t u = out.universe.size();
  const unsigned s = params.scale_log2;
  prng rng = detail::rng_for(pattern_id::w8, params);

  detail::require(s <= 15, "W8 needs at least 2^11 pages for 1024 domains");
  const std::uint64_t n = std::uint64_t{1} << (26 - s);
  detail::require(n <= u, "pattern does not fit in its window");
  out.span = page_range::from_count(out.universe.first + rng.between(0, u - n), n);
  out.pages = n;
  const std::uint64_t stripes = std::min<std::uint64_t>(std::uint64_t{1} << 14, n / 4);
  const std::uint64_t stripe = n / stripes;  // at least 4, room for 3 cuts

  std::vector<std::uint16_t> deck(w8_domains);
  for (std::size_t i = 0; i < deck.size(); ++i) deck[i] = static_cast<std::uint16_t>(i);
  rng.shuffle(deck);
  std::size_t next = 0;
  out.domains.resize(w8_domains);
  out.all.reserve(static_cast<std::size_t>(stripes * 3));
  std::uint64_t cuts[5]{};
  for (std::uint64_t i = 0; i < stripes; ++i) {
    // Never leave exactly one card: the next stripe must still get two domains.
    const std::size_t left = deck.size() - next;
    auto k = static_cast<std::size_t>(rng.between(2, 4));
    if (k >= left) {
      k = left;
    } else if (left - k == 1) {
      k = left <= 4 ? left : 3;
    }
    // k - 1 distinct interior cut points, by rejection (at most 3 of >= 3 values),
    // kept sorted by insertion as they come.
    cuts[0] = 0;
    for (std::size_t j = 1; j < k;) {
      const std::uint64_t x = rng.between(1, stripe - 1);
      std::size_t at = j;
      while (at > 1 && cuts[at - 1] > x) --at;
      if (at > 1 && cuts[at - 1] == x) continue;
      for (std::size_t m = j; m > at; --m) cuts[m] = cuts[m - 1];
      cuts[at] = x;
      ++j;
    }
    cuts[k] = stripe;
    const page_t base = out.span.first + i * stripe;
    for (std::size_t j = 0; j < k; ++j) {
      const std::uint16_t d = deck[next + j];
      const page_range r{base + cuts[j], base + cuts[j + 1] - 1};
      out.domains[d].grants.push_back(r);
      out.domains[d].pages += r.size();
      out.all.push_back(domain_grant{d, r});
    }
    next += k;
    if (next == deck.size()) {
      rng.shuffle(deck);
      next = 0;
    }
  }

  for (domain_share& d : out.domains) {
    d.runs = normalize(d.grants).size();
    out.runs += d.runs;
    if (params.order == grant_order::random) rng.shuffle(d.grants);
  }
  if (params.order == grant_order::random) rng.shuffle(out.all);
  return out;
}

}  // namespace pmemperm::study
