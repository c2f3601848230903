// pmemperm/study/patterns.hpp — the fragmented assignment patterns W1–W6 of
// DESIGN.md, generated deterministically for tests, benchmarks and examples.
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
//      expected — the ~0.79M of DESIGN.md; drawing with repeats
//      would give ~0.72M runs instead)                             2^20     2^20
//  W6  4096 random clusters of 256 pages, pairwise non-adjacent and
//      not aligned; 64 random pages (a quarter) of each missing;
//      granted as the maximal runs of each cluster                 ~196k    786432
//
// Scaling: W1, W3, W4 and W5 counts shift right by scale_log2 (never below 1 page);
// W2 keeps 64 ranges of 2^(14 - scale) pages; W6 keeps the 256-page cluster shape
// and has 4096 >> scale clusters (at least one).
//
// W7 (churn) and W8 (many domains) are operation sequences rather than grant
// lists; they will be added here by a later issue, next to these.
//
// Costs: generation is O(g log g) for g grants (one sort for the exact summary).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
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

enum class pattern_id : std::uint8_t { w1 = 1, w2, w3, w4, w5, w6 };

/// The patterns this header generates, in table order.
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

/// Generate pattern `id`. Throws std::invalid_argument when the scaled pattern does
/// not fit in the universe or the universe does not fit below max_page.
[[nodiscard]] inline pattern make_pattern(pattern_id id, const pattern_params& params = {}) {
  detail::require(params.universe_log2 <= 63, "universe_log2 must be at most 63");
  const std::uint64_t u = std::uint64_t{1} << params.universe_log2;
  detail::require(params.base <= max_page - (u - 1), "universe passes max_page");
  const unsigned s = params.scale_log2;

  pattern out;
  out.id = id;
  out.universe = page_range{params.base, params.base + (u - 1)};
  prng rng((params.seed != 0 ? params.seed : detail::default_seed) + static_cast<std::uint64_t>(id) * 0x9e3779b97f4a7c15u);
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

}  // namespace pmemperm::study
