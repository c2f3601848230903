// Tests specific to chunked_bitmap: its representation (bitmap entries for partly
// granted chunks, merged range entries for full ones), its memory (one bitmap per
// partly granted chunk plus the index and the revoke reserve), maximal runs across
// chunk boundaries, the top of the page space, and the revoke reserve when the
// allocator refuses. The generic suite covers the page_set behaviour every backend
// shares; here small chunk sizes (64, 256 pages) make the boundaries cheap to hit.
#include <catch2/catch.hpp>

#include "support/generic_ops.hpp"
#include "support/printing.hpp"
#include <pmemperm/backends/chunked_bitmap.hpp>
#include <pmemperm/testing.hpp>

#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using pmemperm::alloc_stats;
using pmemperm::chunked_bitmap;
using pmemperm::counting_allocator;
using pmemperm::errc;
using pmemperm::failing_allocator;
using pmemperm::max_page;
using pmemperm::page_range;
using pmemperm::page_t;

using runs = std::vector<page_range>;
// The representation counters (bitmap and range entries, spares, index bytes).
using access = pmemperm::detail::chunked_bitmap_test_access;
using counting = counting_allocator<>;
using failing = failing_allocator<>;

template <page_t C>
using counted = chunked_bitmap<counting, C>;

// Shared helpers of the generic suite, under the names these tests use.
template <class S>
runs snapshot(const S& s) {
  return pmemperm::test::collect_ranges(s);
}
template <class S>
runs snapshot(const S& s, page_range window) {
  return pmemperm::test::collect_ranges(s, window);
}
std::string text(const runs& rs) { return pmemperm::test::ranges_text(rs); }
std::uint64_t pages_in(const runs& rs) { return pmemperm::test::total_pages(rs); }

void require_runs(const runs& actual, const runs& expected, const char* what) {
  if (actual != expected) FAIL(what << ": got " << text(actual) << "\nexpected " << text(expected));
}

// The set holds exactly `expected`, in `bitmaps` bitmap entries and `ranges` range
// entries, and its memory is the index plus one block per bitmap plus the two spares.
template <class S>
void require_shape(const S& s, const alloc_stats& st, const runs& expected, std::size_t bitmaps, std::size_t ranges) {
  require_runs(snapshot(s), expected, "set");
  REQUIRE(s.check_invariants());
  REQUIRE(s.range_count() == expected.size());
  REQUIRE(s.count() == pages_in(expected));
  REQUIRE(s.empty() == expected.empty());
  REQUIRE(access::bitmap_count(s) == bitmaps);
  REQUIRE(access::range_entry_count(s) == ranges);
  REQUIRE(access::spare_bitmaps(s) == (ranges != 0 ? 2u : 0u));
  REQUIRE(s.memory_bytes() == access::index_bytes(s) + (bitmaps + access::spare_bitmaps(s)) * S::bitmap_bytes);
  REQUIRE(s.memory_bytes() == st.live_bytes);
}

struct recorder {
  runs seen;
  void operator()(page_range r) noexcept { seen.push_back(r); }
};

}  // namespace

TEST_CASE("chunked_bitmap: layout and requirements", "[chunked_bitmap]") {
  STATIC_REQUIRE(pmemperm::page_set<chunked_bitmap<>>);
  STATIC_REQUIRE(pmemperm::page_set<chunked_bitmap<counting, 64>>);
  STATIC_REQUIRE(pmemperm::page_set<chunked_bitmap<failing, 256>>);
  STATIC_REQUIRE(chunked_bitmap<>::chunk_pages == 32768);
  STATIC_REQUIRE(chunked_bitmap<>::bitmap_bytes == 4096);  // one 4 KiB page per partly granted chunk
  STATIC_REQUIRE(chunked_bitmap<>::entry_bytes == 16);     // popcount folded into the key's low bits
  STATIC_REQUIRE(chunked_bitmap<counting, 64>::bitmap_bytes == 8);
  STATIC_REQUIRE(std::is_nothrow_default_constructible_v<chunked_bitmap<>>);
  STATIC_REQUIRE(std::is_nothrow_constructible_v<chunked_bitmap<counting>, counting>);
  STATIC_REQUIRE_FALSE(std::is_default_constructible_v<chunked_bitmap<counting>>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<counting, chunked_bitmap<counting>>);
  STATIC_REQUIRE(noexcept(std::declval<const chunked_bitmap<>&>().check_invariants()));

  alloc_stats st;
  chunked_bitmap<counting> s{counting(st)};
  REQUIRE(s.memory_bytes() == 0);
  REQUIRE(st.allocations == 0);  // construction never allocates
  REQUIRE(s.check_invariants());
}

TEST_CASE("chunked_bitmap: full chunks become range entries and merge", "[chunked_bitmap]") {
  alloc_stats st;
  counted<256> s{counting(st)};
  recorder rec;

  REQUIRE(s.grant(page_range{256, 511}, rec) == errc::ok);  // chunk 1, exactly
  require_runs(rec.seen, {{256, 511}}, "added");
  require_shape(s, st, {{256, 511}}, 0, 1);

  REQUIRE(s.grant(page_range{768, 1023}) == errc::ok);  // chunk 3
  require_shape(s, st, {{256, 511}, {768, 1023}}, 0, 2);

  // A partly granted chunk between them is a bitmap; its run continues the range's.
  REQUIRE(s.grant(page_range{512, 600}) == errc::ok);
  require_shape(s, st, {{256, 600}, {768, 1023}}, 1, 2);

  // Filling it makes it full: it joins both neighbours in one range entry.
  rec.seen.clear();
  REQUIRE(s.grant(page_range{590, 780}, rec) == errc::ok);
  require_runs(rec.seen, {{601, 767}}, "added");
  require_shape(s, st, {{256, 1023}}, 0, 1);

  // Chunk 0 in two steps: a bitmap, then full and merged on the left.
  REQUIRE(s.grant(page_range{0, 99}) == errc::ok);
  require_shape(s, st, {{0, 99}, {256, 1023}}, 1, 1);
  REQUIRE(s.grant(page_range{100, 255}) == errc::ok);
  require_shape(s, st, {{0, 1023}}, 0, 1);

  // Chunk 4 filled from its top down: merged on the right of the range.
  REQUIRE(s.grant(page_range{1029, 1279}) == errc::ok);
  require_shape(s, st, {{0, 1023}, {1029, 1279}}, 1, 1);
  REQUIRE(s.grant(page_range{1024, 1028}) == errc::ok);
  require_shape(s, st, {{0, 1279}}, 0, 1);

  // One grant across many chunks: head bitmap, full middle, tail bitmap.
  REQUIRE(s.grant(page_range{2000, 5000}) == errc::ok);
  require_shape(s, st, {{0, 1279}, {2000, 5000}}, 2, 2);
  // Closing the gap merges everything but the tail chunk into one range entry.
  rec.seen.clear();
  REQUIRE(s.grant(page_range{1000, 2100}, rec) == errc::ok);
  require_runs(rec.seen, {{1280, 1999}}, "added");
  require_shape(s, st, {{0, 5000}}, 1, 1);

  // A grant of pages already granted changes nothing and reports nothing.
  const std::size_t mem = s.memory_bytes();
  rec.seen.clear();
  REQUIRE(s.grant(page_range{10, 4000}, rec) == errc::ok);
  REQUIRE(rec.seen.empty());
  REQUIRE(s.memory_bytes() == mem);

  // Granting the rest of the tail chunk and a whole neighbour with bitmaps in it.
  REQUIRE(s.grant(page_range{6000, 6001}) == errc::ok);
  REQUIRE(s.grant(page_range{6100, 6102}) == errc::ok);
  require_shape(s, st, {{0, 5000}, {6000, 6001}, {6100, 6102}}, 2, 1);
  REQUIRE(s.grant(page_range{5001, 6143}) == errc::ok);  // through the end of chunk 23
  require_shape(s, st, {{0, 6143}}, 0, 1);
}

TEST_CASE("chunked_bitmap: a revoke inside a full range brings back a bitmap", "[chunked_bitmap]") {
  alloc_stats st;
  counted<256> s{counting(st)};
  recorder rec;
  REQUIRE(s.grant(page_range{0, 2559}) == errc::ok);  // chunks 0 ... 9
  require_shape(s, st, {{0, 2559}}, 0, 1);

  SECTION("a page in the middle splits the range around one bitmap") {
    REQUIRE(s.revoke(page_range{1300, 1300}, rec) == errc::ok);  // chunk 5
    require_runs(rec.seen, {{1300, 1300}}, "removed");
    require_shape(s, st, {{0, 1299}, {1301, 2559}}, 1, 2);
    REQUIRE_FALSE(s.contains(1300));
    REQUIRE(s.contains_all(page_range{0, 1299}));
    REQUIRE_FALSE(s.contains_all(page_range{0, 1300}));

    // Granting it back restores one range entry and frees the bitmap.
    REQUIRE(s.grant(page_range{1300, 1300}) == errc::ok);
    require_shape(s, st, {{0, 2559}}, 0, 1);
  }

  SECTION("a revoke at either end shrinks the range") {
    REQUIRE(s.revoke(page_range{0, 10}) == errc::ok);
    require_shape(s, st, {{11, 2559}}, 1, 1);
    REQUIRE(s.revoke(page_range{2554, 2559}) == errc::ok);
    require_shape(s, st, {{11, 2553}}, 2, 1);
    REQUIRE(s.revoke(page_range{256, 2303}) == errc::ok);  // the whole range entry
    require_shape(s, st, {{11, 255}, {2304, 2553}}, 2, 0);
  }

  SECTION("a revoke across a chunk boundary makes two bitmaps") {
    rec.seen.clear();
    REQUIRE(s.revoke(page_range{1000, 1100}, rec) == errc::ok);  // chunks 3 and 4
    require_runs(rec.seen, {{1000, 1100}}, "removed");
    require_shape(s, st, {{0, 999}, {1101, 2559}}, 2, 2);
  }

  SECTION("whole chunks leave no bitmap") {
    REQUIRE(s.revoke(page_range{512, 1023}) == errc::ok);
    require_shape(s, st, {{0, 511}, {1024, 2559}}, 0, 2);
    REQUIRE(s.revoke(page_range{0, 2559}) == errc::ok);
    require_shape(s, st, {}, 0, 0);
    REQUIRE(st.live_bytes == 0);
  }

  SECTION("revokes over bitmaps and ranges report maximal runs") {
    REQUIRE(s.revoke(page_range{300, 300}) == errc::ok);
    REQUIRE(s.revoke(page_range{700, 710}) == errc::ok);
    rec.seen.clear();
    REQUIRE(s.revoke(page_range{200, 2000}, rec) == errc::ok);
    require_runs(rec.seen, {{200, 299}, {301, 699}, {711, 2000}}, "removed");
    require_shape(s, st, {{0, 199}, {2001, 2559}}, 2, 1);  // chunks 8, 9 stay a range entry
  }
}

TEST_CASE("chunked_bitmap: the default 4 KiB chunk bitmap comes and goes", "[chunked_bitmap]") {
  alloc_stats st;
  chunked_bitmap<counting> s{counting(st)};
  constexpr page_t c = 32768;

  REQUIRE(s.grant(page_range{5, 5}) == errc::ok);
  require_shape(s, st, {{5, 5}}, 1, 0);
  REQUIRE(s.memory_bytes() - access::index_bytes(s) == 4096);
  REQUIRE(s.revoke(page_range{5, 5}) == errc::ok);  // the last page of the chunk: the bitmap goes
  require_shape(s, st, {}, 0, 0);
  REQUIRE(s.memory_bytes() == 0);

  REQUIRE(s.grant(page_range{5, 5}) == errc::ok);
  REQUIRE(s.grant(page_range{3 * c + 7, 3 * c + 9}) == errc::ok);
  require_shape(s, st, {{5, 5}, {3 * c + 7, 3 * c + 9}}, 2, 0);
  REQUIRE(s.revoke(page_range{0, 10 * c}) == errc::ok);
  REQUIRE(s.memory_bytes() == 0);
  REQUIRE(st.live_bytes == 0);

  // 2^20 pages on chunk boundaries: one range entry (and the two spares for a
  // revoke that cuts two full chunks).
  REQUIRE(s.grant(page_range{0, (page_t{1} << 20) - 1}) == errc::ok);
  require_shape(s, st, {{0, (page_t{1} << 20) - 1}}, 0, 1);
  REQUIRE(s.memory_bytes() == access::index_bytes(s) + 2 * 4096);
  REQUIRE(s.revoke(page_range{40000, 40000}) == errc::ok);
  require_shape(s, st, {{0, 39999}, {40001, (page_t{1} << 20) - 1}}, 1, 2);
  REQUIRE(s.grant(page_range{40000, 40000}) == errc::ok);
  require_shape(s, st, {{0, (page_t{1} << 20) - 1}}, 0, 1);
  s.clear();
  REQUIRE(s.memory_bytes() == 0);
  REQUIRE(st.live_bytes == 0);
}

TEST_CASE("chunked_bitmap: memory is a bitmap per partly granted chunk plus the index", "[chunked_bitmap]") {
  alloc_stats st;
  chunked_bitmap<counting> s{counting(st)};
  constexpr page_t c = 32768;

  SECTION("strided (W3): every other page over 2^21 pages, 64 chunks") {
    const page_t base = page_t{1} << 25;
    for (page_t p = base; p < base + (page_t{1} << 21); p += 2) REQUIRE(s.grant(page_range{p, p}) == errc::ok);
    REQUIRE(s.check_invariants());
    REQUIRE(s.count() == (page_t{1} << 20));
    REQUIRE(s.range_count() == (std::size_t{1} << 20));
    REQUIRE(access::bitmap_count(s) == 64);
    REQUIRE(access::range_entry_count(s) == 0);
    REQUIRE(s.memory_bytes() == 64 * 4096 + access::index_bytes(s));
    REQUIRE(access::index_bytes(s) <= 16 + 80 * 16);  // one small root leaf
    REQUIRE(s.memory_bytes() == st.live_bytes);
  }

  SECTION("one contiguous range: two cut chunks, one range entry, the spares") {
    const page_t first = 1000 * c + 123;
    REQUIRE(s.grant(page_range::from_count(first, page_t{1} << 20)) == errc::ok);
    REQUIRE(access::bitmap_count(s) == 2);
    REQUIRE(access::range_entry_count(s) == 1);
    REQUIRE(s.memory_bytes() == 4 * 4096 + access::index_bytes(s));
    REQUIRE(access::index_bytes(s) <= 16 + 8 * 16);
    REQUIRE(s.memory_bytes() == st.live_bytes);
  }

  SECTION("chunk-aligned runs: one range entry each, no bitmap") {
    for (page_t i = 0; i < 100; ++i) REQUIRE(s.grant(page_range{(2 * i) * c, (2 * i + 1) * c - 1}) == errc::ok);
    REQUIRE(access::bitmap_count(s) == 0);
    REQUIRE(access::range_entry_count(s) == 100);
    REQUIRE(s.memory_bytes() == 2 * 4096 + access::index_bytes(s));
    REQUIRE(s.memory_bytes() == st.live_bytes);
  }
}

TEST_CASE("chunked_bitmap: runs are maximal across chunk boundaries", "[chunked_bitmap]") {
  alloc_stats st;
  counted<64> s{counting(st)};

  // A bitmap ending with a set bit, then a bitmap starting with one.
  REQUIRE(s.grant(page_range{60, 70}) == errc::ok);
  require_shape(s, st, {{60, 70}}, 2, 0);
  require_runs(snapshot(s, page_range{65, 200}), {{65, 70}}, "window");

  // Bitmap, range, bitmap in one run.
  REQUIRE(s.grant(page_range{100, 300}) == errc::ok);
  require_shape(s, st, {{60, 70}, {100, 300}}, 3, 1);
  REQUIRE(s.grant(page_range{71, 99}) == errc::ok);
  require_shape(s, st, {{60, 300}}, 2, 1);
  REQUIRE(s.contains_all(page_range{60, 300}));
  REQUIRE_FALSE(s.contains_all(page_range{59, 300}));
  REQUIRE_FALSE(s.contains_all(page_range{60, 301}));
  REQUIRE(s.contains_any(page_range{0, 60}));
  REQUIRE_FALSE(s.contains_any(page_range{0, 59}));
  REQUIRE_FALSE(s.contains_any(page_range{301, 1000}));

  // Cutting one page out of the range entry: two runs, bitmaps on both sides.
  REQUIRE(s.revoke(page_range{128, 128}) == errc::ok);
  require_shape(s, st, {{60, 127}, {129, 300}}, 3, 2);
  require_runs(snapshot(s, page_range{130, 140}), {{130, 140}}, "window inside a range entry");
  require_runs(snapshot(s, page_range{126, 129}), {{126, 127}, {129, 129}}, "window across the cut");

  // Early stop.
  std::size_t seen = 0;
  REQUIRE_FALSE(s.for_each_range([&](page_range) { return ++seen < 1; }));
  REQUIRE(seen == 1);

  // Runs that meet exactly at a chunk boundary, from two sides.
  REQUIRE(s.grant(page_range{1000, 1023}) == errc::ok);  // chunk 15's top
  REQUIRE(s.grant(page_range{1024, 1030}) == errc::ok);  // chunk 16's bottom
  REQUIRE(s.range_count() == 3);
  REQUIRE(s.revoke(page_range{1023, 1024}) == errc::ok);
  REQUIRE(s.range_count() == 4);
  REQUIRE(s.grant(page_range{1024, 1024}) == errc::ok);
  REQUIRE(s.range_count() == 4);
  REQUIRE(s.grant(page_range{1023, 1023}) == errc::ok);
  REQUIRE(s.range_count() == 3);
  REQUIRE(s.check_invariants());
  REQUIRE(s.memory_bytes() == st.live_bytes);
}

TEST_CASE("chunked_bitmap: pages up to max_page", "[chunked_bitmap]") {
  alloc_stats st;
  chunked_bitmap<counting> s{counting(st)};
  constexpr page_t c = 32768;
  const page_t top_chunk = max_page - (c - 1);

  REQUIRE(s.grant(page_range{max_page - 40000, max_page}) == errc::ok);
  require_shape(s, st, {{max_page - 40000, max_page}}, 1, 1);
  REQUIRE(s.contains(max_page));
  REQUIRE(s.contains_all(page_range{top_chunk - 5, max_page}));
  REQUIRE(s.revoke(page_range{max_page, max_page}) == errc::ok);
  require_shape(s, st, {{max_page - 40000, max_page - 1}}, 2, 0);
  REQUIRE(s.grant(page_range{max_page, max_page}) == errc::ok);
  require_shape(s, st, {{max_page - 40000, max_page}}, 1, 1);

  // The whole page space: one entry, found and cut without walking pages.
  REQUIRE(s.grant(page_range{0, max_page}) == errc::ok);
  require_shape(s, st, {{0, max_page}}, 0, 1);
  REQUIRE(s.count() == max_page + 1);
  REQUIRE(s.contains_all(page_range{0, max_page}));
  REQUIRE(s.revoke(page_range{1, max_page - 1}) == errc::ok);
  require_shape(s, st, {{0, 0}, {max_page, max_page}}, 2, 0);
  REQUIRE(s.grant(page_range{0, max_page}) == errc::ok);
  REQUIRE(s.revoke(page_range{c, max_page}) == errc::ok);
  require_shape(s, st, {{0, c - 1}}, 0, 1);
  REQUIRE(s.revoke(page_range{0, max_page}) == errc::ok);
  require_shape(s, st, {}, 0, 0);
}

TEST_CASE("chunked_bitmap: small chunks against a page-by-page model", "[chunked_bitmap]") {
  // 24 chunks of 64 pages, at the bottom and at the top of the page space.
  constexpr page_t c = 64;
  constexpr page_t span = 24 * c;
  for (const page_t base : {page_t{0}, max_page + 1 - span}) {
    alloc_stats st;
    counted<c> s{counting(st)};
    std::vector<unsigned char> model(span, 0);
    std::mt19937_64 rng(base == 0 ? 7 : 8);
    auto model_runs = [&](page_range w, int want) {
      runs out;
      for (page_t i = w.first - base; i <= w.last - base; ++i) {
        if (model[i] != want) continue;
        if (!out.empty() && out.back().last + 1 == base + i)
          out.back().last = base + i;
        else
          out.push_back(page_range{base + i, base + i});
      }
      return out;
    };
    for (int step = 0; step < 3000; ++step) {
      page_t a = rng() % span;
      page_t b = rng() % 4 == 0 ? rng() % span : a + rng() % (3 * c);
      if (b >= span) b = span - 1;
      if (b < a) std::swap(a, b);
      const page_range r{base + a, base + b};
      recorder rec;
      const bool grant = rng() % 100 < (step % 600 < 400 ? 70 : 35);
      if (grant) {
        const runs want = model_runs(r, 0);
        REQUIRE(s.grant(r, rec) == errc::ok);
        require_runs(rec.seen, want, "added");
        for (page_t i = a; i <= b; ++i) model[i] = 1;
      } else {
        const runs want = model_runs(r, 1);
        REQUIRE(s.revoke(r, rec) == errc::ok);
        require_runs(rec.seen, want, "removed");
        for (page_t i = a; i <= b; ++i) model[i] = 0;
      }
      const runs all = model_runs(page_range{base, base + span - 1}, 1);
      REQUIRE(s.check_invariants());
      REQUIRE(s.range_count() == all.size());
      REQUIRE(s.count() == pages_in(all));
      REQUIRE(s.memory_bytes() == st.live_bytes);
      if (step % 16 == 0) require_runs(snapshot(s), all, "set");
      const page_t p = rng() % span;
      REQUIRE(s.contains(base + p) == (model[p] != 0));
      const page_t d = rng() % (2 * c);
      const page_t q = p + d < span ? p + d : span - 1;
      const runs in = model_runs(page_range{base + p, base + q}, 1);
      REQUIRE(s.contains_any(page_range{base + p, base + q}) == !in.empty());
      REQUIRE(s.contains_all(page_range{base + p, base + q}) == (pages_in(in) == q - p + 1));
    }
  }
}

TEST_CASE("chunked_bitmap: a grant that cannot allocate changes nothing", "[chunked_bitmap]") {
  // The grant below needs two new bitmaps, one index insert for its range entry,
  // and the revoke reserve (the first range entry): fail each in turn.
  for (std::uint64_t k = 0;; ++k) {
    alloc_stats st;
    chunked_bitmap<failing, 256> s{failing(st)};
    REQUIRE(s.grant(page_range{10, 20}) == errc::ok);
    REQUIRE(s.grant(page_range{5000, 5001}) == errc::ok);
    const runs before = snapshot(s);
    const std::size_t mem = s.memory_bytes();
    st.fail_at = st.attempts + k;
    recorder rec;
    const errc e = s.grant(page_range{1000, 3000}, rec);
    REQUIRE(s.check_invariants());
    REQUIRE(s.memory_bytes() == st.live_bytes);
    if (e == errc::ok) {
      REQUIRE(k >= 3);  // two bitmaps and the spares at least
      require_runs(snapshot(s), {{10, 20}, {1000, 3000}, {5000, 5001}}, "after");
      break;
    }
    REQUIRE(e == errc::out_of_memory);
    REQUIRE(rec.seen.empty());
    require_runs(snapshot(s), before, "after a refused grant");
    REQUIRE(s.memory_bytes() == mem);
  }
}

TEST_CASE("chunked_bitmap: revokes succeed when the allocator refuses", "[chunked_bitmap]") {
  alloc_stats st;
  chunked_bitmap<failing, 256> s{failing(st)};
  REQUIRE(s.grant(page_range{0, 2047}) == errc::ok);  // chunks 0 ... 7, one range entry
  REQUIRE(access::spare_bitmaps(s) == 2);
  REQUIRE(s.reserve_full());
  st.fail_at = st.attempts;
  st.fail_always_after = true;  // from now on nothing can be allocated

  // The two spare bitmaps and the index's room serve the first cut exactly, even
  // one that turns two full chunks (256 ... 511 and 512 ... 767) into bitmaps.
  recorder rec;
  REQUIRE(s.revoke(page_range{300, 600}, rec) == errc::ok);
  require_runs(rec.seen, {{300, 600}}, "removed");
  require_runs(snapshot(s), {{0, 299}, {601, 2047}}, "set");
  REQUIRE(access::spare_bitmaps(s) == 0);
  REQUIRE_FALSE(s.reserve_full());

  // No block left, so the cut chunk goes entirely; and the index, sized for the one
  // reserved revoke, has no room for the entry right of the cut, so that part of
  // the range entry goes too. Every extra page is reported.
  rec.seen.clear();
  REQUIRE(s.revoke(page_range{1100, 1100}, rec) == errc::revoked_extra);
  require_runs(rec.seen, {{1024, 2047}}, "removed");
  require_runs(snapshot(s), {{0, 299}, {601, 1023}}, "set");
  REQUIRE(s.check_invariants());

  // Revokes that need nothing new stay exact.
  rec.seen.clear();
  REQUIRE(s.revoke(page_range{260, 261}, rec) == errc::ok);   // inside a bitmap
  REQUIRE(s.revoke(page_range{768, 1023}, rec) == errc::ok);  // a whole range entry
  require_runs(rec.seen, {{260, 261}, {768, 1023}}, "removed");
  require_runs(snapshot(s), {{0, 259}, {262, 299}, {601, 767}}, "set");
  REQUIRE(s.memory_bytes() == st.live_bytes);
  REQUIRE(s.check_invariants());

  // Grants fail cleanly meanwhile, and once memory returns the reserve is refilled.
  REQUIRE(s.grant(page_range{300, 300}) == errc::out_of_memory);
  st.fail_at = UINT64_MAX;
  st.fail_always_after = false;
  REQUIRE(s.grant(page_range{300, 300}) == errc::ok);
  REQUIRE(access::spare_bitmaps(s) == 2);
  REQUIRE(s.check_invariants());
  REQUIRE(s.memory_bytes() == st.live_bytes);
}

TEST_CASE("chunked_bitmap: random revokes under a refusing allocator keep the revoke rule", "[chunked_bitmap]") {
  constexpr page_t c = 64;
  constexpr page_t span = 400 * c;
  alloc_stats st;
  chunked_bitmap<failing, c> s{failing(st)};
  std::vector<unsigned char> model(span, 0);
  std::mt19937_64 rng(11);
  // Many chunk-aligned runs with ragged edges: plenty of range entries to cut.
  for (page_t i = 0; i + 6 * c < span; i += 7 * c) {
    const page_t a = i + rng() % c, b = i + 5 * c + rng() % c;
    REQUIRE(s.grant(page_range{a, b}) == errc::ok);
    for (page_t p = a; p <= b; ++p) model[p] = 1;
  }
  st.fail_at = st.attempts + 3;
  st.fail_always_after = true;
  std::uint64_t extra = 0;
  for (int step = 0; step < 400; ++step) {
    const page_t a = rng() % span;
    const page_t b = a + 3 < span ? a + rng() % 4 : a;
    recorder rec;
    const errc e = s.revoke(page_range{a, b}, rec);
    REQUIRE((e == errc::ok || e == errc::revoked_extra));
    std::uint64_t outside = 0;
    for (const page_range& x : rec.seen) {
      for (page_t p = x.first; p <= x.last; ++p) {
        REQUIRE(model[p] == 1);  // only granted pages are reported
        model[p] = 0;
        if (p < a || p > b) {
          REQUIRE(e == errc::revoked_extra);
          ++outside;
        }
      }
    }
    for (page_t p = a; p <= b; ++p) REQUIRE(model[p] == 0);  // nothing of r stays granted
    for (page_t p = a; p <= b; ++p) REQUIRE_FALSE(s.contains(p));
    if (e == errc::revoked_extra) {
      REQUIRE(outside > 0);
      ++extra;
    }
    REQUIRE(s.check_invariants());
    REQUIRE(s.memory_bytes() == st.live_bytes);
    std::uint64_t left = 0;
    for (unsigned char m : model) left += m;
    REQUIRE(s.count() == left);
  }
  CHECK(extra > 0);
}

TEST_CASE("chunked_bitmap: assign copies the representation", "[chunked_bitmap]") {
  alloc_stats st;
  counted<256> a{counting(st)};
  counted<256> b{counting(st)};
  REQUIRE(a.grant(page_range{100, 3000}) == errc::ok);
  REQUIRE(a.revoke(page_range{1500, 1500}) == errc::ok);
  REQUIRE(b.grant(page_range{7, 7}) == errc::ok);
  REQUIRE(b.grant(page_range{90000, 90010}) == errc::ok);
  REQUIRE(b.assign(a) == errc::ok);
  require_runs(snapshot(b), snapshot(a), "copy");
  REQUIRE(access::bitmap_count(b) == access::bitmap_count(a));
  REQUIRE(access::range_entry_count(b) == access::range_entry_count(a));
  REQUIRE(b.check_invariants());
  REQUIRE(a.memory_bytes() + b.memory_bytes() == st.live_bytes);
  counted<256> m{std::move(b)};
  REQUIRE(b.memory_bytes() == 0);
  REQUIRE(m.check_invariants());
  b = std::move(a);
  REQUIRE(a.memory_bytes() == 0);
  require_runs(snapshot(b), snapshot(m), "moved");
  REQUIRE(b.memory_bytes() + m.memory_bytes() == st.live_bytes);
}
