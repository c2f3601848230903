// The hybrid's inline form on its own (detail/hybrid/inline_pages.hpp): up to four
// pages packed in the index slot.
#include <catch2/catch.hpp>

#include <random>

#include "support/hybrid_kind.hpp"

using namespace pmemperm;
using namespace pmemperm::test;
using detail::hyb::inline_pages;

namespace {

detail::hyb::slot pack(page_t base, const chunk_model& m) {
  const auto runs = m.runs(0, detail::hyb::last_offset);
  return inline_pages::pack(base, [&](auto&& emit) {
    for (const auto& [f, l] : runs) emit(f, l);
  });
}

}  // namespace

TEST_CASE("inline_pages: packed pages read back, window by window", "[hybrid][inline_pages]") {
  std::mt19937_64 rng(41);
  const page_t base = page_t{7} << detail::hyb::chunk_shift;
  for (int trial = 0; trial < 300; ++trial) {
    chunk_model m;
    const std::uint32_t n = 1 + static_cast<std::uint32_t>(rng() % detail::hyb::inline_capacity);
    const bool clustered = trial % 2 == 0;
    const std::uint32_t first = static_cast<std::uint32_t>(rng() % detail::hyb::chunk_pages);
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::uint32_t o = clustered ? (first + i * static_cast<std::uint32_t>(1 + rng() % 2)) & detail::hyb::last_offset
                                        : static_cast<std::uint32_t>(rng() % detail::hyb::chunk_pages);
      m.on[o] = true;
    }
    if (trial == 1) m = chunk_model{}, m.on[0] = m.on[detail::hyb::last_offset] = true;
    const detail::hyb::slot s = pack(base, m);
    REQUIRE(s.is_inline());
    REQUIRE(s.chunk() == base);
    REQUIRE(s.key() == base + m.runs(0, detail::hyb::last_offset).front().first);  // keyed by its lowest page
    const detail::hyb::view v = detail::hyb::view::of(s);
    REQUIRE(inline_pages::counts(v) == m.counts());
    REQUIRE(detail::hyb::stats_of(v) == m.counts());
    for (int w = 0; w < 20; ++w) {
      const auto [lo, hi] = random_window(rng, detail::hyb::chunk_pages);
      check_window<inline_pages>(v, m, lo, hi);
    }
    // Removing a window keeps the rest; removing everything leaves a count of 0.
    const auto [lo, hi] = random_window(rng, detail::hyb::chunk_pages);
    const detail::hyb::slot rest = inline_pages::without(s, lo, hi);
    chunk_model left = m;
    left.set(lo, hi, false);
    REQUIRE(rest.inline_count() == left.counts().pages);
    if (rest.inline_count() != 0) REQUIRE(inline_pages::counts(detail::hyb::view::of(rest)) == left.counts());
    REQUIRE(inline_pages::without(s, 0, detail::hyb::last_offset).inline_count() == 0);
  }
}
