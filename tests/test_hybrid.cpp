// The hybrid's representation choices: what each fragmentation pattern becomes,
// conversions in both directions at the same thresholds, and the same shape
// whatever the order of the operations (the generic suite checks its contents).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <random>
#include <vector>

#include <pmemperm/backends/hybrid.hpp>
#include <pmemperm/study/patterns.hpp>
#include <pmemperm/testing.hpp>

namespace {

using namespace pmemperm;
using rep = detail::hyb::rep;
constexpr page_t chunk = detail::hyb::chunk_pages;

/// Representation of every chunk that holds pages, keyed by chunk base.
std::map<page_t, rep> shape_of(const hybrid<>& s) {
  std::map<page_t, rep> shape;
  (void)s.for_each_range([&](page_range r) {
    for (page_t b = detail::hyb::base_of(r.first);; b += chunk) {
      shape.emplace(b, detail::hyb::inspector::representation_at(s, b));
      if (b >= detail::hyb::base_of(r.last)) break;
    }
    return true;
  });
  return shape;
}

hybrid<> build(const std::vector<page_range>& grants) {
  hybrid<> s;
  for (const page_range& r : grants) REQUIRE(s.grant(r) == errc::ok);
  REQUIRE(s.check_invariants());
  return s;
}

std::map<rep, std::size_t> histogram(const std::map<page_t, rep>& shape) {
  std::map<rep, std::size_t> h;
  for (const auto& [base, k] : shape) ++h[k];
  return h;
}

study::pattern make(study::pattern_id id, unsigned scale, study::grant_order order = study::grant_order::random) {
  study::pattern_params p;
  p.scale_log2 = scale;
  p.order = order;
  return study::make_pattern(id, p);
}

}  // namespace

TEST_CASE("hybrid: each pattern gets the representation that suits it", "[hybrid]") {
  SECTION("W1 and W2: long runs stay plain index slots, one per run") {
    for (auto id : {study::pattern_id::w1, study::pattern_id::w2}) {
      const auto p = make(id, 2);
      const hybrid<> s = build(p.grants);
      for (const auto& [base, k] : shape_of(s)) REQUIRE(k == rep::run_slots);
      REQUIRE(detail::hyb::inspector::slot_count(s) == p.runs);  // merged across chunk borders
      REQUIRE(s.memory_bytes() <= 16 * p.runs + 256);
    }
  }
  SECTION("W3 and W5: dense fragmentation becomes whole-chunk bitmaps") {
    for (auto id : {study::pattern_id::w3, study::pattern_id::w5}) {
      const auto p = make(id, 4);  // same density per chunk as full size
      const hybrid<> s = build(p.grants);
      const auto shape = shape_of(s);
      INFO("pattern " << study::name(id));
      REQUIRE(shape.size() >= 3);
      // The region is not chunk-aligned: its first and last chunks are only partly
      // in it; every chunk between holds the pattern's full density.
      for (auto it = std::next(shape.begin()); it != std::prev(shape.end()); ++it) REQUIRE(it->second == rep::bitmap);
      REQUIRE(s.memory_bytes() <= 2 * p.pages);  // bits per page, where a run list needs 16 bytes
    }
  }
  SECTION("W4: scattered single pages stay in the slot or a small sparse list") {
    const auto p = make(study::pattern_id::w4, 0);
    const hybrid<> s = build(p.grants);
    const auto h = histogram(shape_of(s));
    for (const auto& [k, n] : h) REQUIRE((k == rep::run_slots || k == rep::inline_pages || k == rep::page_list));
    REQUIRE(h.count(rep::inline_pages) == 1);
    REQUIRE(h.count(rep::page_list) == 1);
    REQUIRE(s.memory_bytes() <= 8 * p.pages);
  }
  SECTION("W6: clusters become the nonzero words of a bitmap, not a whole bitmap") {
    const auto p = make(study::pattern_id::w6, 2);
    const hybrid<> s = build(p.grants);
    const auto h = histogram(shape_of(s));
    std::size_t chunks = 0;
    for (const auto& [k, n] : h) chunks += n;
    REQUIRE(h.count(rep::word_list) == 1);
    REQUIRE(h.at(rep::word_list) * 10 >= chunks * 9);  // all but chunks shared by clusters
    REQUIRE(h.count(rep::bitmap) == 0);
  }
}

TEST_CASE("hybrid: conversions happen at the same thresholds in both directions", "[hybrid]") {
  // Pages are added one by one in a fixed shape, then removed in the opposite
  // order. The set after k grants equals the set after removing back down to k
  // pages, so a canonical representation must be the same at every step: every
  // threshold crossed going up is crossed at the same place going down.
  struct shape {
    const char* name;
    page_t first;
    page_t step;
    std::size_t pages;
  };
  const shape shapes[] = {
      {"every other page", 5 * chunk + 2, 2, 9000},    // inline, sparse, dense
      {"one page per word", 9 * chunk + 1, 64, 1000},  // inline, sparse, words
      {"pairs every 8 pages", 3 * chunk, 4, 6000},     // via run lists and bitmaps
  };
  for (const shape& sh : shapes) {
    INFO(sh.name);
    alloc_stats st;
    hybrid<counting_allocator<>> s{counting_allocator<>(st)};
    std::vector<page_t> pages;
    for (std::size_t i = 0; i < sh.pages; ++i)
      pages.push_back(sh.step == 4 ? sh.first + 8 * (i / 2) + (i % 2)  // pairs: pages 8k and 8k + 1
                                   : sh.first + sh.step * i);
    std::vector<rep> up;
    for (page_t p : pages) {
      REQUIRE(s.grant(page_range::single(p)) == errc::ok);
      up.push_back(detail::hyb::inspector::representation_at(s, sh.first));
      REQUIRE(s.memory_bytes() == st.live_bytes);
    }
    REQUIRE(s.check_invariants());
    std::vector<rep> kinds_seen = up;
    kinds_seen.erase(std::unique(kinds_seen.begin(), kinds_seen.end()), kinds_seen.end());
    REQUIRE(kinds_seen.size() >= 3);  // the shape does cross thresholds
    for (std::size_t k = pages.size(); k-- > 1;) {
      REQUIRE(s.revoke(page_range::single(pages[k])) == errc::ok);
      INFO("down to " << k << " pages");
      REQUIRE(detail::hyb::inspector::representation_at(s, sh.first) == up[k - 1]);
    }
    REQUIRE(s.check_invariants());
    REQUIRE(s.revoke(page_range::single(pages[0])) == errc::ok);
    REQUIRE(s.empty());
    REQUIRE(s.memory_bytes() == 0);
    REQUIRE(st.live_bytes == 0);
  }
}

TEST_CASE("hybrid: W6 built in sorted, reverse and random order has one shape", "[hybrid]") {
  const auto sorted = make(study::pattern_id::w6, 3, study::grant_order::sorted);
  std::vector<page_range> reverse(sorted.grants.rbegin(), sorted.grants.rend());
  const auto random = make(study::pattern_id::w6, 3, study::grant_order::random);
  REQUIRE(random.grants != sorted.grants);

  const hybrid<> a = build(sorted.grants);
  const hybrid<> b = build(reverse);
  const hybrid<> c = build(random.grants);
  REQUIRE(shape_of(a) == shape_of(b));
  REQUIRE(shape_of(a) == shape_of(c));
  REQUIRE(detail::hyb::inspector::slot_count(a) == detail::hyb::inspector::slot_count(b));
  REQUIRE(detail::hyb::inspector::slot_count(a) == detail::hyb::inspector::slot_count(c));
  REQUIRE(a.range_count() == sorted.runs);
  REQUIRE(c.range_count() == sorted.runs);

  // Taking every third cluster grant away again, in another order, lands on the
  // shape the remaining grants have when built directly.
  std::vector<page_range> kept, dropped;
  for (std::size_t i = 0; i < sorted.grants.size(); ++i) (i % 3 == 0 ? dropped : kept).push_back(sorted.grants[i]);
  hybrid<> d = build(random.grants);
  for (auto it = dropped.rbegin(); it != dropped.rend(); ++it) REQUIRE(d.revoke(*it) == errc::ok);
  const hybrid<> e = build(kept);
  REQUIRE(d.check_invariants());
  REQUIRE(shape_of(d) == shape_of(e));
  REQUIRE(d.count() == e.count());
}

TEST_CASE("hybrid: single pages in and out of whole-chunk bitmaps keep every count exact", "[hybrid]") {
  // The one-page fast paths of a bitmap chunk (grant and revoke) work out the
  // chunk's counts and the set's run count from the neighbouring bits. Pages at
  // word borders, next to the chunk's ends and in the neighbouring chunks check
  // them against a plain model, as do the conversions a revoke can cause.
  std::mt19937_64 rng(20261206);
  const page_t base = 7 * chunk;
  const page_t lo = base - 64, hi = base + chunk + 63;  // the chunk and a word of either neighbour
  std::vector<bool> model(static_cast<std::size_t>(hi - lo + 1), false);
  alloc_stats st;
  hybrid<counting_allocator<>> s{counting_allocator<>(st)};
  const auto pick = [&]() -> page_t {
    static constexpr page_t edges[] = {0, 1, 2, 62, 63, 64, 65, 127, 128};
    switch (rng() % 4) {
      case 0: return base + edges[rng() % std::size(edges)];
      case 1: return base + chunk - 1 - edges[rng() % std::size(edges)];
      case 2: return (rng() % 2 == 0 ? base - 1 - rng() % 64 : base + chunk + rng() % 64);
      default: return base + rng() % chunk;
    }
  };
  const auto runs_of_model = [&]() {
    std::size_t runs = 0;
    for (std::size_t i = 0; i < model.size(); ++i) runs += model[i] && (i == 0 || !model[i - 1]) ? 1u : 0u;
    return runs;
  };
  // Dense enough for a bitmap: every other page, then a random half of the rest.
  for (page_t p = base; p < base + chunk; p += 2) model[static_cast<std::size_t>(p - lo)] = true;
  for (page_t p = base + 1; p < base + chunk; p += 2) model[static_cast<std::size_t>(p - lo)] = rng() % 2 == 0;
  for (std::size_t i = 0; i < model.size(); ++i)
    if (model[i]) REQUIRE(s.grant(page_range::single(lo + i)) == errc::ok);
  REQUIRE(detail::hyb::inspector::representation_at(s, base) == rep::bitmap);
  std::uint64_t pages = static_cast<std::uint64_t>(std::count(model.begin(), model.end(), true));
  std::size_t runs = runs_of_model();
  REQUIRE(s.count() == pages);
  REQUIRE(s.range_count() == runs);
  std::size_t kinds_left_bitmap = 0;
  // First edits at random places, then every page of the window once in a random
  // order, mostly revoked: the chunk thins out through its other forms.
  std::vector<page_t> sweep;
  for (page_t p = lo; p <= hi; ++p) sweep.push_back(p);
  std::shuffle(sweep.begin(), sweep.end(), rng);
  const std::size_t random_steps = 30000;
  for (std::size_t step = 0; step < random_steps + sweep.size(); ++step) {
    const page_t p = step < random_steps ? pick() : sweep[step - random_steps];
    const bool grant = step < random_steps ? rng() % 3 == 0 : rng() % 16 == 0;
    INFO("step " << step << (grant ? " grant " : " revoke ") << p);
    std::vector<page_range> seen;
    const auto note = [&](page_range r) { seen.push_back(r); };
    const bool had = model[static_cast<std::size_t>(p - lo)];
    REQUIRE((grant ? s.grant(page_range::single(p), note) : s.revoke(page_range::single(p), note)) == errc::ok);
    if (had != grant) {  // the model's counts, kept step by step and recounted now and then
      const std::size_t i = static_cast<std::size_t>(p - lo);
      const bool left = i > 0 && model[i - 1], right = i + 1 < model.size() && model[i + 1];
      const std::size_t joined = (left ? 1u : 0u) + (right ? 1u : 0u);
      pages = grant ? pages + 1 : pages - 1;
      runs = grant ? runs + 1 - joined : runs + joined - 1;
      model[i] = grant;
    }
    REQUIRE(seen.size() == (had != grant ? 1u : 0u));
    if (!seen.empty()) REQUIRE(seen.front() == page_range::single(p));
    REQUIRE(s.contains(p) == grant);
    REQUIRE(s.count() == pages);
    REQUIRE(s.range_count() == runs);
    REQUIRE(s.memory_bytes() == st.live_bytes);
    if (detail::hyb::inspector::representation_at(s, base) != rep::bitmap) ++kinds_left_bitmap;
    if (step % 4096 == 0) {
      REQUIRE(s.check_invariants());
      REQUIRE(pages == static_cast<std::uint64_t>(std::count(model.begin(), model.end(), true)));
      REQUIRE(runs == runs_of_model());
    }
  }
  REQUIRE(s.check_invariants());
  REQUIRE(kinds_left_bitmap > 0);  // the revokes did take the chunk out of its bitmap
}

TEST_CASE("hybrid: single pages into a word list keep every count exact", "[hybrid]") {
  // The one-page grant into a word list finds the page's word (or where it goes),
  // reads the neighbouring bits, in the same word or in the list's neighbouring
  // entries, and may insert the word. Pages at bits 0 and 63, next to present and
  // absent words, checked against a plain model after every step.
  std::mt19937_64 rng(61206);
  const page_t base = 3 * chunk;
  std::vector<bool> model(static_cast<std::size_t>(chunk), false);
  alloc_stats st;
  hybrid<counting_allocator<>> s{counting_allocator<>(st)};
  // Forty words, every eighth, about half full: cheapest as a word list.
  for (std::uint32_t k = 0; k < 40; ++k)
    for (std::uint32_t b = 0; b < 64; ++b)
      if (rng() % 2 == 0) model[8 * k * 64 + 64 + b] = true;
  for (std::size_t i = 0; i < model.size(); ++i)
    if (model[i]) REQUIRE(s.grant(page_range::single(base + i)) == errc::ok);
  REQUIRE(detail::hyb::inspector::representation_at(s, base) == rep::word_list);
  std::uint64_t pages = static_cast<std::uint64_t>(std::count(model.begin(), model.end(), true));
  std::size_t runs = 0;
  for (std::size_t i = 0; i < model.size(); ++i) runs += model[i] && (i == 0 || !model[i - 1]) ? 1u : 0u;
  std::size_t as_word_list = 0;
  for (int step = 0; step < 4000; ++step) {
    // A word of the list or one next to it, and a bit biased to its ends.
    const std::uint32_t word = 8 * static_cast<std::uint32_t>(rng() % 40) + 1 + static_cast<std::uint32_t>(rng() % 3) - 1;
    const std::uint32_t bit = rng() % 3 == 0 ? (rng() % 2 == 0 ? 0u : 63u) : static_cast<std::uint32_t>(rng() % 64);
    const std::size_t i = std::size_t{word} * 64 + bit;
    const bool grant = rng() % 4 != 0;
    INFO("step " << step << (grant ? " grant " : " revoke ") << "offset " << i);
    const bool was_word_list = detail::hyb::inspector::representation_at(s, base) == rep::word_list;
    std::vector<page_range> seen;
    const auto note = [&](page_range r) { seen.push_back(r); };
    const page_range r = page_range::single(base + i);
    REQUIRE((grant ? s.grant(r, note) : s.revoke(r, note)) == errc::ok);
    if (model[i] != grant) {
      const bool left = i > 0 && model[i - 1], right = i + 1 < model.size() && model[i + 1];
      const std::size_t joined = (left ? 1u : 0u) + (right ? 1u : 0u);
      pages = grant ? pages + 1 : pages - 1;
      runs = grant ? runs + 1 - joined : runs + joined - 1;
      model[i] = grant;
      REQUIRE(seen.size() == 1);
      REQUIRE(seen.front() == r);
      if (grant && was_word_list) ++as_word_list;
    } else {
      REQUIRE(seen.empty());
    }
    REQUIRE(s.contains(base + i) == grant);
    REQUIRE(s.count() == pages);
    REQUIRE(s.range_count() == runs);
    REQUIRE(s.memory_bytes() == st.live_bytes);
    REQUIRE(s.check_invariants());
  }
  REQUIRE(as_word_list > 100);  // the grants did go into a word list
}
