// tests/support/hybrid_kind.hpp — checks one container kind of the hybrid on its
// own, against a plain array of 65,536 flags.
//
// Every kind header (detail/hybrid/*.hpp) offers the same static interface; this
// drives it directly, without the hybrid or its index: fill a container from a run
// stream, then edit it in place with random windows (biased to the chunk's ends and
// to word borders) and compare, after every edit, the window reads (contains, walk,
// contains_all, contains_any, nonzero_words, count_window) with the flags, and every
// few edits the whole container (its runs and the header's counts).
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include <pmemperm/detail/hybrid/dispatch.hpp>

namespace pmemperm::test {

namespace hk = pmemperm::detail::hyb;

/// The oracle: one flag per offset of a chunk.
struct chunk_model {
  std::vector<bool> on = std::vector<bool>(hk::chunk_pages, false);

  void set(std::uint32_t lo, std::uint32_t hi, bool v) {
    for (std::uint32_t o = lo; o <= hi; ++o) on[o] = v;
  }
  [[nodiscard]] std::vector<std::pair<std::uint32_t, std::uint32_t>> runs(std::uint32_t lo, std::uint32_t hi) const {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
    for (std::uint32_t o = lo; o <= hi; ++o) {
      if (!on[o]) continue;
      std::uint32_t l = o;
      while (l < hi && on[l + 1]) ++l;
      out.emplace_back(o, l);
      o = l;
    }
    return out;
  }
  [[nodiscard]] std::uint32_t pages(std::uint32_t lo, std::uint32_t hi) const {
    std::uint32_t n = 0;
    for (std::uint32_t o = lo; o <= hi; ++o) n += on[o] ? 1u : 0u;
    return n;
  }
  [[nodiscard]] bool starts_run(std::uint32_t o) const { return on[o] && (o == 0 || !on[o - 1]); }
  [[nodiscard]] std::uint32_t nonzero_words(std::uint32_t wl, std::uint32_t wh) const {
    std::uint32_t n = 0;
    for (std::uint32_t w = wl; w <= wh; ++w) n += pages(w * 64, w * 64 + 63) != 0 ? 1u : 0u;
    return n;
  }
  [[nodiscard]] hk::stats counts() const {
    std::uint32_t starts = 0;
    for (std::uint32_t o = 0; o <= hk::last_offset; ++o) starts += starts_run(o) ? 1u : 0u;
    return hk::stats{pages(0, hk::last_offset), starts, nonzero_words(0, hk::chunk_words - 1)};
  }
  [[nodiscard]] hk::window_counts window(std::uint32_t lo, std::uint32_t hi) const {
    hk::window_counts c;
    c.pages = pages(lo, hi);
    const std::uint32_t end = hi < hk::last_offset ? hi + 1 : hi;
    for (std::uint32_t o = lo; o <= end; ++o) c.starts += starts_run(o) ? 1u : 0u;
    c.words = nonzero_words(lo >> 6, hi >> 6);
    c.below = lo > 0 && on[lo - 1];
    return c;
  }
};

/// A container of kind K with room for `cap` entries, in storage the test owns.
struct test_container {
  std::vector<std::uint64_t> storage;
  hk::header* h = nullptr;
  test_container(hk::rep k, std::uint32_t cap) : storage(hk::container_bytes(k, cap) / 8 + 1) {
    h = ::new (static_cast<void*>(storage.data())) hk::header{};
    h->init(k, cap);
  }
  [[nodiscard]] hk::view view() const { return hk::view::of(h); }
};

/// A random window: mostly short, often at the chunk's ends or a word border.
inline std::pair<std::uint32_t, std::uint32_t> random_window(std::mt19937_64& rng, std::uint32_t span) {
  const std::uint32_t len_kind = static_cast<std::uint32_t>(rng() % 8);
  std::uint32_t len = len_kind < 4 ? 1u : len_kind < 7 ? 1u + static_cast<std::uint32_t>(rng() % 130) : 1u + static_cast<std::uint32_t>(rng() % 3000);
  std::uint32_t lo = 0;
  switch (rng() % 6) {
    case 0: lo = 0; break;
    case 1: lo = span >= len ? span - len : 0; break;                                   // ends at the top
    case 2: lo = static_cast<std::uint32_t>(rng() % (span / 64)) * 64; break;           // a word's first page
    case 3: lo = static_cast<std::uint32_t>(rng() % (span / 64)) * 64 + 63; break;      // a word's last page
    default: lo = static_cast<std::uint32_t>(rng() % span); break;
  }
  if (lo >= span) lo = span - 1;
  if (len > span - lo) len = span - lo;
  return {lo, lo + len - 1};
}

/// Compares the window reads of K on [lo, hi] with the model.
template <class K>
void check_window(const hk::view& v, const chunk_model& m, std::uint32_t lo, std::uint32_t hi) {
  INFO("window [" << lo << ", " << hi << "]");
  std::vector<std::pair<std::uint32_t, std::uint32_t>> seen;
  REQUIRE(K::walk(v, lo, hi, [&](std::uint32_t f, std::uint32_t l) {
    seen.emplace_back(f, l);
    return true;
  }));
  REQUIRE(seen == m.runs(lo, hi));
  // A walk stopped at its first run reports that it was stopped.
  if (!seen.empty()) REQUIRE_FALSE(K::walk(v, lo, hi, [](std::uint32_t, std::uint32_t) { return false; }));
  REQUIRE(K::contains(v, lo) == m.on[lo]);
  REQUIRE(K::contains(v, hi) == m.on[hi]);
  const std::uint32_t pages = m.pages(lo, hi);
  REQUIRE(K::contains_all(v, lo, hi) == (pages == hi - lo + 1));
  REQUIRE(K::contains_any(v, lo, hi) == (pages != 0));
  REQUIRE(K::nonzero_words(v, lo >> 6, hi >> 6) == m.nonzero_words(lo >> 6, hi >> 6));
  const hk::window_counts got = K::count_window(v, lo, hi), want = m.window(lo, hi);
  REQUIRE(got.pages == want.pages);
  REQUIRE(got.starts == want.starts);
  REQUIRE(got.words == want.words);
  REQUIRE(got.below == want.below);
}

/// The whole container against the model: every run, and the header's counts.
template <class K>
void check_whole(const test_container& c, const chunk_model& m) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> seen;
  K::walk(c.view(), 0, hk::last_offset, [&](std::uint32_t f, std::uint32_t l) {
    seen.emplace_back(f, l);
    return true;
  });
  REQUIRE(seen == m.runs(0, hk::last_offset));
  REQUIRE(c.h->counts() == m.counts());
  REQUIRE(hk::entries_in(c.h) <= c.h->cap());
}

/// Fills a container of kind K from the model's runs (through the dispatcher,
/// which also sets the counts).
template <class K>
void fill_from(test_container& c, const chunk_model& m) {
  const auto runs = m.runs(0, hk::last_offset);
  hk::fill(c.h, [&](auto&& emit) {
    for (const auto& [f, l] : runs) emit(f, l);
  });
}

/// Random in-place edits of a container of kind K, checked after each one. Pages
/// live in [0, span); grants that would need more than `cap` entries are skipped
/// (the hybrid never asks for them), as are splits of a run list with no free pair.
/// A random chunk of kind k that fits `cap` entries: 40 random windows granted or
/// revoked, each kept only if the result still fits.
inline chunk_model random_start(hk::rep k, std::mt19937_64& rng, std::uint32_t cap, std::uint32_t span) {
  chunk_model m;
  for (int i = 0; i < 40; ++i) {
    const auto [lo, hi] = random_window(rng, span);
    chunk_model next = m;
    next.set(lo, hi, (rng() % 3) != 0);
    if (hk::entries_needed(k, next.counts()) <= cap) m = std::move(next);
  }
  return m;
}

template <class K>
void exercise_kind(std::uint64_t seed, std::uint32_t cap, std::uint32_t span, int steps, double grant_share) {
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  chunk_model m = random_start(K::kind, rng, cap, span);
  test_container c(K::kind, cap);
  fill_from<K>(c, m);
  check_whole<K>(c, m);

  // A copy into a roomier container reads the same.
  test_container copy(K::kind, cap);
  hk::copy_into(c.h, copy.h);
  check_whole<K>(copy, m);

  for (int step = 0; step < steps; ++step) {
    const auto [lo, hi] = random_window(rng, span);
    INFO("step " << step);
    check_window<K>(c.view(), m, lo, hi);
    const bool grant = std::uniform_real_distribution<double>(0, 1)(rng) < grant_share;
    if (grant) {
      const hk::window_counts before = hk::count_window(c.view(), lo, hi);
      const hk::stats after = hk::stats_after_grant(c.h->counts(), lo, hi, before);
      if (hk::entries_needed(K::kind, after) > cap) continue;
      hk::grant_in_place(c.h, lo, hi, before);
      m.set(lo, hi, true);
    } else {
      if (hk::revoke_splits(c.h, lo, hi) && c.h->cap() <= c.h->runs()) continue;
      hk::revoke_in_place(c.h, lo, hi);
      m.set(lo, hi, false);
    }
    check_window<K>(c.view(), m, lo, hi);
    if (step % 16 == 0 || lo == 0 || hi == hk::last_offset) check_whole<K>(c, m);
  }
  check_whole<K>(c, m);
}

}  // namespace pmemperm::test
