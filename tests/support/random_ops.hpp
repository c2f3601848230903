// tests/support/random_ops.hpp — seeded random operation sequences.
//
// An op_generator turns a seed into an endless, reproducible stream of operations
// over a page universe [0, universe): grants and revokes of single pages, small
// (2..64), medium (up to 2^16) and huge (up to 2^40 or the universe) ranges, placed
// around a few hot spots (which is what fragments a set), scattered over the whole
// universe, or pressed against page 0 and the top page; now and then an invalid
// range, a clear() or a copy through assign(). Each sequence draws a profile from
// its seed, so some sequences stay sparse and others fragment into hundreds of runs.
//
// Reproducibility: the same seed gives the same ops with the same standard library.
// The base seed and the differential op budget come from PMEMPERM_SEED and
// PMEMPERM_DIFF_OPS when set.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <pmemperm/types.hpp>

#include "printing.hpp"

namespace pmemperm::test {

enum class op_kind : std::uint8_t { grant, revoke, clear, copy };

struct op {
  op_kind kind = op_kind::grant;
  page_range r{};
  friend bool operator==(const op&, const op&) = default;
};

/// The op as a line of C++ that replays it on a set named `s`.
[[nodiscard]] inline std::string op_text(const op& o) {
  const auto range = [&o] {
    return "pmemperm::page_range{" + page_text(o.r.first) + ", " + page_text(o.r.last) + "}";
  };
  switch (o.kind) {
    case op_kind::grant: return "(void)s.grant(" + range() + ");";
    case op_kind::revoke: return "(void)s.revoke(" + range() + ");";
    case op_kind::clear: return "s.clear();";
    case op_kind::copy: return "{ auto c = make(); (void)c.assign(s); s = std::move(c); }";
  }
  return "?";
}

[[nodiscard]] inline std::string ops_text(const std::vector<op>& ops) {
  std::string out;
  for (const op& o : ops) out += "  " + op_text(o) + "\n";
  return out;
}

/// splitmix64: derives independent seeds from a base seed and an index.
[[nodiscard]] constexpr std::uint64_t mix_seed(std::uint64_t base, std::uint64_t index) noexcept {
  std::uint64_t z = base + 0x9e3779b97f4a7c15ULL * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// An unsigned environment variable (decimal or 0x-hex), or `fallback`.
[[nodiscard]] inline std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 0);
  return (end != nullptr && *end == '\0') ? static_cast<std::uint64_t>(v) : fallback;
}

inline constexpr std::uint64_t default_base_seed = 0x70656d7065726dULL;  // "pmemperm"

[[nodiscard]] inline std::uint64_t base_seed() { return env_u64("PMEMPERM_SEED", default_base_seed); }

/// How an op_generator mixes its operations; drawn per sequence from its seed.
struct op_profile {
  unsigned grant_percent = 55;   // of grant/revoke ops
  unsigned invalid_percent = 2;  // ops with an invalid range
  unsigned clear_permille = 1;
  unsigned copy_permille = 2;
  // Size classes, in percent: single, small, medium, huge, to-the-top; the rest is 0.
  unsigned single = 30, small = 30, medium = 22, huge = 8, to_top = 2;
  // Placement, in percent: around a hot spot, anywhere, at page 0, at the top.
  unsigned clustered = 60, scattered = 24, low_edge = 8;  // the rest: high edge
  page_t hot_spread = page_t{1} << 12;  // hot-spot offsets lie within +- this
  unsigned hot_spots = 4;
};

class op_generator {
 public:
  /// Ops over pages [0, universe); universe >= 2^12.
  op_generator(std::uint64_t seed, page_t universe) : rng_(seed), universe_(universe), top_(universe - 1) {
    profile_ = draw_profile();
    hot_.push_back(0);
    hot_.push_back(top_);
    while (hot_.size() < profile_.hot_spots) hot_.push_back(uniform(0, top_));
  }
  op_generator(std::uint64_t seed, page_t universe, const op_profile& p)
      : rng_(seed), universe_(universe), top_(universe - 1), profile_(p) {
    hot_.push_back(0);
    hot_.push_back(top_);
    while (hot_.size() < profile_.hot_spots) hot_.push_back(uniform(0, top_));
  }

  [[nodiscard]] const op_profile& profile() const noexcept { return profile_; }

  /// A single grant or revoke (no clear or copy), valid unless invalid_percent says so.
  op next_edit() {
    op o;
    o.kind = percent() < profile_.grant_percent ? op_kind::grant : op_kind::revoke;
    o.r = percent() < profile_.invalid_percent ? invalid_range() : valid_range();
    return o;
  }

  op next() {
    const unsigned m = static_cast<unsigned>(uniform(0, 999));
    if (m < profile_.clear_permille) return op{op_kind::clear, {}};
    if (m < profile_.clear_permille + profile_.copy_permille) return op{op_kind::copy, {}};
    return next_edit();
  }

  /// A uniformly drawn page in [lo, hi].
  page_t uniform(page_t lo, page_t hi) { return std::uniform_int_distribution<page_t>(lo, hi)(rng_); }
  unsigned percent() { return static_cast<unsigned>(uniform(0, 99)); }

  /// A valid range inside the universe, drawn per the profile.
  page_range valid_range() {
    const std::uint64_t n = draw_size();
    if (n == universe_) return page_range{0, top_};
    const unsigned where = percent();
    page_t first;
    if (where < profile_.clustered) {
      const page_t h = hot_[uniform(0, hot_.size() - 1)];
      const page_t lo = h > profile_.hot_spread ? h - profile_.hot_spread : 0;
      const page_t hi = top_ - h > profile_.hot_spread ? h + profile_.hot_spread : top_;
      first = uniform(lo, hi);
    } else if (where < profile_.clustered + profile_.scattered) {
      first = uniform(0, top_);
    } else if (where < profile_.clustered + profile_.scattered + profile_.low_edge) {
      first = uniform(0, 8);
    } else {
      // Ends at the top page or a few pages below it.
      const std::uint64_t slack = universe_ - n;  // how far below the top it may end
      const page_t last = top_ - uniform(0, slack < 8 ? slack : 8);
      return page_range{last - (n - 1), last};
    }
    if (first > universe_ - n) first = universe_ - n;  // keep [first, first + n) inside
    return page_range{first, first + (n - 1)};
  }

  /// A range every backend must reject: reversed, past max_page, wrapped, or
  /// (for a bounded universe) reaching past the universe.
  page_range invalid_range() {
    const page_t a = uniform(0, top_ > 16 ? top_ - 16 : 0);
    switch (uniform(0, 6)) {
      case 0: return page_range{a + 1 + uniform(0, 7), a};                  // reversed
      case 1: return page_range{max_page - uniform(0, 3), max_page + 1};    // one past max_page
      case 2: return page_range{UINT64_MAX - uniform(0, 3), UINT64_MAX};    // far past max_page
      case 3: return page_range::from_count(a, 0);                          // empty count
      case 4: return page_range::from_count(max_page - 1, 2 + uniform(0, 5));  // overflowing count
      case 5: return page_range{top_ - uniform(0, 3), universe_ + uniform(0, 3)};  // past the universe
      default: return page_range{universe_ + uniform(0, 100), universe_ + 200};      // wholly above it
    }
  }

 private:
  op_profile draw_profile() {
    op_profile p;
    switch (uniform(0, 4)) {
      case 0:  // mixed: the default profile
        break;
      case 1:  // fragmenting: many small grants around hot spots, hundreds of runs
        p.grant_percent = 72;
        p.single = 55, p.small = 35, p.medium = 6, p.huge = 1, p.to_top = 0;
        p.clustered = 85, p.scattered = 7, p.low_edge = 4;
        p.hot_spread = page_t{1} << uniform(9, 13);
        break;
      case 2:  // huge: big ranges and the edges of the universe
        p.single = 20, p.small = 20, p.medium = 25, p.huge = 25, p.to_top = 5;
        p.clustered = 40, p.scattered = 30, p.low_edge = 15;
        p.hot_spread = page_t{1} << 20;
        break;
      case 3:  // scatter: mostly single-page grants over wide hot areas, up to ~1000 runs
        p.grant_percent = 80;
        p.single = 75, p.small = 25, p.medium = 0, p.huge = 0, p.to_top = 0;
        p.clustered = 90, p.scattered = 6, p.low_edge = 2;
        p.hot_spread = page_t{1} << 15;
        break;
      default:  // churn: balanced grants and revokes in one tight area
        p.grant_percent = 50;
        p.single = 40, p.small = 40, p.medium = 15, p.huge = 2, p.to_top = 0;
        p.clustered = 92, p.scattered = 4, p.low_edge = 2;
        p.hot_spread = page_t{1} << 10;
        p.hot_spots = 3;
        break;
    }
    return p;
  }

  std::uint64_t draw_size() {
    const unsigned c = percent();
    unsigned edge = profile_.single;
    if (c < edge) return 1;
    if (c < (edge += profile_.small)) return clamp(uniform(2, 64));
    if (c < (edge += profile_.medium)) return clamp(uniform(65, std::uint64_t{1} << 16));
    if (c < (edge += profile_.huge)) {
      const unsigned e = static_cast<unsigned>(uniform(16, 40));
      return clamp(uniform(std::uint64_t{1} << e, (std::uint64_t{1} << (e + 1)) - 1));
    }
    if (c < edge + profile_.to_top) return universe_ - uniform(0, top_ < (1u << 20) ? top_ : (1u << 20));
    return 1;
  }
  [[nodiscard]] std::uint64_t clamp(std::uint64_t n) const noexcept { return n < universe_ ? n : universe_; }

  std::mt19937_64 rng_;
  page_t universe_;
  page_t top_;
  op_profile profile_;
  std::vector<page_t> hot_;
};

}  // namespace pmemperm::test
