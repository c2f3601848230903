// The census the hybrid's in-place edits keep their counts with
// (detail/hybrid/chunk_view.hpp): every kind's survey() of a window against a
// plain array of flags, and the edits that use it (grant_in_place with a census,
// revoke_counted) leaving the header's counts exact, for random windows biased to
// the chunk's ends and to word borders.
#include <catch2/catch.hpp>

#include <random>

#include "support/hybrid_kind.hpp"

using namespace pmemperm;
using namespace pmemperm::test;

namespace {

/// The census of [lo, hi] the flags give.
hk::census model_census(const chunk_model& m, std::uint32_t lo, std::uint32_t hi) {
  hk::census c;
  c.pages = m.pages(lo, hi);
  c.runs = static_cast<std::uint32_t>(m.runs(lo, hi).size());
  c.words = m.nonzero_words(lo >> 6, hi >> 6);
  c.below = lo > 0 && m.on[lo - 1];
  c.first = m.on[lo];
  c.last = m.on[hi];
  c.above = hi < hk::last_offset && m.on[hi + 1];
  c.head_rest = (lo & 63u) != 0 && m.pages(lo & ~63u, lo - 1) != 0;
  c.tail_rest = (hi & 63u) != 63u && m.pages(hi + 1, hi | 63u) != 0;
  return c;
}

void require_same(const hk::census& got, const hk::census& want) {
  REQUIRE(got.pages == want.pages);
  REQUIRE(got.runs == want.runs);
  REQUIRE(got.words == want.words);
  REQUIRE(got.below == want.below);
  REQUIRE(got.first == want.first);
  REQUIRE(got.last == want.last);
  REQUIRE(got.above == want.above);
  REQUIRE(got.head_rest == want.head_rest);
  REQUIRE(got.tail_rest == want.tail_rest);
}

/// Random grants and revokes through the census, checked after each one.
template <class K>
void exercise_census(std::uint64_t seed, std::uint32_t cap, std::uint32_t span, int steps) {
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  chunk_model m = random_start(K::kind, rng, cap, span);
  test_container c(K::kind, cap);
  fill_from<K>(c, m);
  for (int step = 0; step < steps; ++step) {
    const auto [lo, hi] = random_window(rng, span);
    INFO("step " << step << ", window [" << lo << ", " << hi << "]");
    const hk::census want = model_census(m, lo, hi);
    const hk::census seen = hk::survey(c.view(), lo, hi);
    require_same(seen, want);
    // The counts the census gives are the ones the flags have after the edit.
    chunk_model granted = m, revoked = m;
    granted.set(lo, hi, true);
    revoked.set(lo, hi, false);
    REQUIRE(hk::after_grant(c.h->counts(), lo, hi, seen) == granted.counts());
    REQUIRE(hk::after_revoke(c.h->counts(), lo, hi, seen) == revoked.counts());
    if (rng() % 2 == 0) {
      if (hk::entries_needed(K::kind, granted.counts()) > cap) continue;
      hk::grant_in_place(c.h, lo, hi, seen);
      m = std::move(granted);
    } else {
      if (hk::revoke_splits(c.h, lo, hi) && c.h->cap() <= c.h->runs()) continue;
      require_same(hk::revoke_counted(c.h, lo, hi), want);
      m = std::move(revoked);
    }
    check_whole<K>(c, m);
  }
}

}  // namespace

TEST_CASE("census: page_list", "[hybrid][census]") {
  for (std::uint64_t seed : {51u, 52u}) exercise_census<hk::page_list>(seed, 0xFFFF, 4096, 800);
}

TEST_CASE("census: run_list", "[hybrid][census]") {
  for (std::uint64_t seed : {53u, 54u}) exercise_census<hk::run_list>(seed, 0xFFFF, hk::chunk_pages, 800);
  exercise_census<hk::run_list>(55, 80, 4096, 800);  // tight: splits without a free pair are skipped
}

TEST_CASE("census: word_list", "[hybrid][census]") {
  for (std::uint64_t seed : {56u, 57u}) exercise_census<hk::word_list>(seed, hk::chunk_words, hk::chunk_pages, 800);
}

TEST_CASE("census: bitmap", "[hybrid][census]") {
  for (std::uint64_t seed : {58u, 59u}) exercise_census<hk::bitmap>(seed, hk::chunk_words, hk::chunk_pages, 800);
}

TEST_CASE("census: inline pages", "[hybrid][census]") {
  std::mt19937_64 rng(60);
  const page_t base = page_t{9} << hk::chunk_shift;
  for (int trial = 0; trial < 300; ++trial) {
    chunk_model m;
    const std::uint32_t n = 1 + static_cast<std::uint32_t>(rng() % hk::inline_capacity);
    const std::uint32_t at = static_cast<std::uint32_t>(rng() % hk::chunk_pages);
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::uint32_t o = trial % 2 == 0 ? (at + i) & hk::last_offset
                                             : static_cast<std::uint32_t>(rng() % hk::chunk_pages);
      m.on[o] = true;
    }
    const auto runs = m.runs(0, hk::last_offset);
    const hk::slot s = hk::inline_pages::pack(base, [&](auto&& emit) {
      for (const auto& [f, l] : runs) emit(f, l);
    });
    const hk::view v = hk::view::of(s);
    for (int w = 0; w < 20; ++w) {
      auto [lo, hi] = random_window(rng, hk::chunk_pages);
      if (w == 0) lo = hi = runs.front().first;  // on a page
      INFO("window [" << lo << ", " << hi << "]");
      require_same(hk::survey(v, lo, hi), model_census(m, lo, hi));
    }
  }
}
