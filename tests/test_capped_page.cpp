// Tests specific to capped_page: the one-page representation, its fixed capacity,
// and the revoke rule on a full page. The generic suite covers the page_set
// behaviour every backend shares; here the expectations come from a plain page
// bitmap (one byte per page over a small window), which knows nothing of runs.
#include <catch2/catch.hpp>

#include "support/generic_ops.hpp"
#include "support/printing.hpp"
#include <pmemperm/backends/capped_page.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using pmemperm::capped_page;
using pmemperm::errc;
using pmemperm::max_page;
using pmemperm::page_range;
using pmemperm::page_t;

using runs = std::vector<page_range>;

constexpr std::size_t cap = capped_page::capacity;

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

// The set must be exactly `expected`, through every query that reads it.
void require_state(const capped_page& s, const runs& expected) {
  const runs actual = snapshot(s);
  if (actual != expected) FAIL("set holds " << text(actual) << "\nexpected " << text(expected));
  REQUIRE(s.check_invariants());
  REQUIRE(s.range_count() == expected.size());
  REQUIRE(s.count() == pages_in(expected));
  REQUIRE(s.empty() == expected.empty());
  REQUIRE(s.memory_bytes() == 4096);
}

void require_runs(const runs& actual, const runs& expected, const char* what) {
  if (actual != expected) FAIL(what << ": got " << text(actual) << "\nexpected " << text(expected));
}

// A full page: run i is [spacing*i, spacing*i + width - 1].
void fill(capped_page& s, page_t spacing, page_t width, page_t offset = 0) {
  for (std::size_t i = 0; i < cap; ++i) {
    const page_t first = offset + spacing * i;
    REQUIRE(s.grant(page_range{first, first + width - 1}) == errc::ok);
  }
  REQUIRE(s.range_count() == cap);
}

runs filled_runs(page_t spacing, page_t width, page_t offset = 0) {
  runs out;
  for (std::size_t i = 0; i < cap; ++i) out.push_back(page_range{offset + spacing * i, offset + spacing * i + width - 1});
  return out;
}

// The reference: one byte per page of the window [base, base + size). Loops use
// raw pointers so that unoptimised sanitizer builds stay quick.
struct bitmap_model {
  page_t base;
  std::vector<unsigned char> bits;

  bitmap_model(page_t b, std::size_t size) : base(b), bits(size, 0) {}

  void set(page_range r, unsigned char v) { std::memset(bits.data() + (r.first - base), v, r.last - r.first + 1); }
  bool has(page_t p) const { return p >= base && p - base < bits.size() && bits[p - base] != 0; }
  bool all(page_range r) const {
    const unsigned char* b = bits.data() + (r.first - base);
    return std::find(b, b + (r.last - r.first + 1), 0) == b + (r.last - r.first + 1);
  }
  bool any(page_range r) const {
    const unsigned char* b = bits.data() + (r.first - base);
    return std::find(b, b + (r.last - r.first + 1), 1) != b + (r.last - r.first + 1);
  }

  // Maximal runs of pages set in *this and clear in `minus` (if given).
  runs runs_of(const bitmap_model* minus = nullptr) const {
    runs out;
    const unsigned char* b = bits.data();
    const unsigned char* m = minus != nullptr ? minus->bits.data() : nullptr;
    const std::size_t n = bits.size();
    std::size_t i = 0;
    while (i < n) {
      while (i < n && !(b[i] != 0 && (m == nullptr || m[i] == 0))) ++i;
      if (i == n) break;
      const std::size_t start = i;
      while (i < n && b[i] != 0 && (m == nullptr || m[i] == 0)) ++i;
      out.push_back(page_range{base + start, base + i - 1});
    }
    return out;
  }
};

}  // namespace

TEST_CASE("capped_page is one page and nothing else", "[capped_page]") {
  STATIC_REQUIRE(sizeof(capped_page) == 4096);
  STATIC_REQUIRE(alignof(capped_page) == 4096);
  STATIC_REQUIRE(capped_page::page_bytes == 4096);
  STATIC_REQUIRE(capped_page::capacity == 255);
  STATIC_REQUIRE(pmemperm::page_set<capped_page>);
  // No destructor to run means nothing owned elsewhere: no heap, ever.
  STATIC_REQUIRE(std::is_trivially_destructible_v<capped_page>);
  STATIC_REQUIRE(std::is_standard_layout_v<capped_page>);
  STATIC_REQUIRE(std::is_nothrow_default_constructible_v<capped_page>);
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<capped_page>);
  STATIC_REQUIRE_FALSE(std::is_copy_assignable_v<capped_page>);

  capped_page s;
  REQUIRE(s.memory_bytes() == 4096);
  fill(s, 3, 2);
  REQUIRE(s.memory_bytes() == 4096);
  s.clear();
  REQUIRE(s.memory_bytes() == 4096);
  require_state(s, {});
}

TEST_CASE("capped_page lives in caller-provided page frames", "[capped_page]") {
  // Four adjacent frames, as a hypervisor's reserved pool would hand them out.
  alignas(4096) static unsigned char pool[4][4096];
  std::memset(pool, 0xA5, sizeof pool);  // stale contents, as a reused frame has

  capped_page* sets[4];
  for (int i = 0; i < 4; ++i) {
    sets[i] = ::new (static_cast<void*>(pool[i])) capped_page();
    REQUIRE(static_cast<void*>(sets[i]) == static_cast<void*>(pool[i]));
    require_state(*sets[i], {});
  }

  // Work every frame hard; each must stay exactly what was done to it.
  fill(*sets[0], 2, 1);
  fill(*sets[1], 5, 4, 1000);
  REQUIRE(sets[1]->revoke(page_range{1001, 1001}) == errc::revoked_extra);  // splits a full page
  REQUIRE(sets[2]->grant(page_range{0, max_page}) == errc::ok);
  fill(*sets[3], 9, 7);
  REQUIRE(sets[3]->revoke(page_range{9 * 254, max_page}) == errc::ok);

  require_state(*sets[0], filled_runs(2, 1));
  runs one = filled_runs(5, 4, 1000);
  one[0] = page_range{1002, 1003};  // [1000,1000] was the smaller piece and went
  require_state(*sets[1], one);
  require_state(*sets[2], {page_range{0, max_page}});
  runs three = filled_runs(9, 7);
  three.pop_back();
  require_state(*sets[3], three);

  SECTION("the bytes follow the documented layout") {
    std::uint32_t used = 0;
    std::uint32_t reserved = 1;
    std::uint64_t pages = 0;
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::memcpy(&used, pool[1] + 0, 4);
    std::memcpy(&reserved, pool[1] + 4, 4);
    std::memcpy(&pages, pool[1] + 8, 8);
    REQUIRE(used == cap);
    REQUIRE(reserved == 0);
    REQUIRE(pages == sets[1]->count());
    for (std::size_t i = 0; i < cap; ++i) {
      std::memcpy(&first, pool[1] + 16 + 16 * i, 8);
      std::memcpy(&last, pool[1] + 24 + 16 * i, 8);
      REQUIRE(first == one[i].first);
      REQUIRE(last == one[i].last);
    }
  }

  SECTION("the frame can be reused without running a destructor") {
    auto* again = ::new (static_cast<void*>(pool[0])) capped_page();
    require_state(*again, {});
    require_state(*sets[1], one);
  }

  for (capped_page* s : sets) s->~capped_page();
}

TEST_CASE("capped_page fills to capacity and refuses more without changing", "[capped_page]") {
  capped_page s;
  // Runs [4i, 4i]: page 4i+2 touches none of them, page 4i+1 extends one.
  std::vector<page_t> order;
  for (std::size_t i = 0; i < cap; ++i) order.push_back(4 * i);
  std::shuffle(order.begin(), order.end(), std::mt19937_64{42});
  for (page_t p : order) REQUIRE(s.grant(page_range::single(p)) == errc::ok);
  const runs full = filled_runs(4, 1);
  require_state(s, full);

  std::vector<page_range> seen;
  auto record = [&seen](page_range r) { seen.push_back(r); };

  // Byte image of the whole object: "nothing changed" means not one byte.
  unsigned char before[4096];
  std::memcpy(before, static_cast<const void*>(&s), 4096);
  auto unchanged = [&] {
    REQUIRE(std::memcmp(before, static_cast<const void*>(&s), 4096) == 0);
    REQUIRE(seen.empty());
    require_state(s, full);
  };

  SECTION("a run of its own does not fit") {
    REQUIRE(s.grant(page_range{4 * 10 + 2, 4 * 10 + 2}, record) == errc::capacity_exceeded);
    unchanged();
    REQUIRE(s.grant(page_range{4 * 300, 4 * 400}, record) == errc::capacity_exceeded);  // past the last run
    unchanged();
    REQUIRE(s.grant(page_range{max_page, max_page}, record) == errc::capacity_exceeded);
    unchanged();
  }

  SECTION("invalid input is rejected before capacity") {
    REQUIRE(s.grant(page_range{9, 2}, record) == errc::invalid_range);
    REQUIRE(s.grant(page_range{4 * 10 + 2, max_page + 1}, record) == errc::invalid_range);
    REQUIRE(s.revoke(page_range{max_page + 1, max_page + 1}, record) == errc::invalid_range);
    unchanged();
  }

  SECTION("grants that need no new run still work") {
    REQUIRE(s.grant(page_range{40, 40}, record) == errc::ok);  // already granted
    unchanged();
    REQUIRE(s.grant(page_range{41, 41}, record) == errc::ok);  // extends [40,40]
    require_runs(seen, {page_range{41, 41}}, "added");
    REQUIRE(s.range_count() == cap);
    seen.clear();
    REQUIRE(s.grant(page_range{4 * 254 - 1, 4 * 254 + 7}, record) == errc::ok);  // grows the last run both ways
    require_runs(seen, {page_range{4 * 254 - 1, 4 * 254 - 1}, page_range{4 * 254 + 1, 4 * 254 + 7}}, "added");
    REQUIRE(s.range_count() == cap);
    REQUIRE(s.check_invariants());
  }

  SECTION("merging frees capacity") {
    // [41,43] bridges [40,40] and [44,44]: one run fewer.
    REQUIRE(s.grant(page_range{41, 43}, record) == errc::ok);
    require_runs(seen, {page_range{41, 43}}, "added");
    REQUIRE(s.range_count() == cap - 1);
    seen.clear();
    // ...which is exactly room for one run of its own, and no more.
    REQUIRE(s.grant(page_range{4 * 100 + 2, 4 * 100 + 2}, record) == errc::ok);
    REQUIRE(s.range_count() == cap);
    REQUIRE(s.grant(page_range{4 * 101 + 2, 4 * 101 + 2}, record) == errc::capacity_exceeded);
    // A grant over many runs folds them all into one.
    seen.clear();
    REQUIRE(s.grant(page_range{1, 4 * 50 - 1}, record) == errc::ok);
    REQUIRE(s.range_count() == cap - 49);
    REQUIRE(s.contains_all(page_range{0, 4 * 50}));
    REQUIRE(seen.size() == 49);  // the gaps between the 50 runs it fuses
    REQUIRE(s.check_invariants());
  }

  SECTION("revokes that do not split still free room") {
    REQUIRE(s.revoke(page_range{4 * 7, 4 * 9}, record) == errc::ok);
    require_runs(seen, {page_range{28, 28}, page_range{32, 32}, page_range{36, 36}}, "removed");
    REQUIRE(s.range_count() == cap - 3);
    REQUIRE(s.grant(page_range{2, 2}) == errc::ok);
    REQUIRE(s.check_invariants());
  }
}

TEST_CASE("capped_page: a revoke that would split a full page drops the smaller piece", "[capped_page]") {
  capped_page s;
  fill(s, 10, 6);  // runs [10i, 10i+5]
  runs expected = filled_runs(10, 6);
  std::vector<page_range> seen;
  auto record = [&seen](page_range r) { seen.push_back(r); };

  struct split_case {
    page_range cut;
    page_range reported;  // r and the dropped piece
    page_range kept;
  };
  // The run is [1000,1005].
  const split_case cases[] = {
      {{1002, 1002}, {1000, 1002}, {1003, 1005}},  // left 2 < right 3: left goes
      {{1003, 1003}, {1003, 1005}, {1000, 1002}},  // left 3 > right 2: right goes
      {{1002, 1003}, {1002, 1005}, {1000, 1001}},  // 2 == 2: the upper piece goes
      {{1001, 1001}, {1000, 1001}, {1002, 1005}},  // a single page piece
      {{1001, 1004}, {1001, 1005}, {1000, 1000}},  // 1 == 1: upper
  };
  for (const split_case& c : cases) {
    CAPTURE(c.cut.first, c.cut.last);
    capped_page t;
    REQUIRE(t.assign(s) == errc::ok);
    seen.clear();
    REQUIRE(t.revoke(c.cut, record) == errc::revoked_extra);
    require_runs(seen, {c.reported}, "removed");
    REQUIRE_FALSE(t.contains_any(c.cut));
    REQUIRE(t.contains_all(c.kept));
    runs e = expected;
    e[100] = c.kept;
    require_state(t, e);
  }
  seen.clear();

  SECTION("the same cut on a page with room is exact") {
    REQUIRE(s.revoke(page_range{0, 5}) == errc::ok);  // whole run: room for one more
    expected.erase(expected.begin());
    seen.clear();
    REQUIRE(s.revoke(page_range{1002, 1002}, record) == errc::ok);
    require_runs(seen, {page_range{1002, 1002}}, "removed");
    const auto at = expected.begin() + 99;
    *at = page_range{1000, 1001};
    expected.insert(at + 1, page_range{1003, 1005});
    require_state(s, expected);
    // Full again; the next split has to drop.
    REQUIRE(s.revoke(page_range{2003, 2003}) == errc::revoked_extra);
    REQUIRE_FALSE(s.contains(2003));
  }

  SECTION("cuts at a run's edge never drop anything") {
    REQUIRE(s.revoke(page_range{1000, 1001}, record) == errc::ok);
    REQUIRE(s.revoke(page_range{1005, 1007}, record) == errc::ok);
    require_runs(seen, {page_range{1000, 1001}, page_range{1005, 1005}}, "removed");
    expected[100] = page_range{1002, 1004};
    require_state(s, expected);
  }

  SECTION("a cut across several runs on a full page is exact") {
    REQUIRE(s.revoke(page_range{1003, 1021}, record) == errc::ok);
    require_runs(seen, {page_range{1003, 1005}, page_range{1010, 1015}, page_range{1020, 1021}}, "removed");
    expected[100] = page_range{1000, 1002};
    expected[102] = page_range{1022, 1025};
    expected.erase(expected.begin() + 101);
    require_state(s, expected);
  }

  SECTION("a big run keeps its bulk; the small piece goes") {
    capped_page t;
    runs e;
    // Three-page fillers: larger than the cut's small piece, so that piece is
    // the cheapest loss (a smaller run elsewhere would go instead).
    for (page_t i = 0; i < cap - 1; ++i) {
      REQUIRE(t.grant(page_range{4 * i, 4 * i + 2}) == errc::ok);
      e.push_back(page_range{4 * i, 4 * i + 2});
    }
    REQUIRE(t.grant(page_range{1 << 20, (1 << 30) - 1}) == errc::ok);
    seen.clear();
    REQUIRE(t.revoke(page_range{(1 << 30) - 3, (1 << 30) - 3}, record) == errc::revoked_extra);
    require_runs(seen, {page_range{(1 << 30) - 3, (1 << 30) - 1}}, "removed");
    e.push_back(page_range{1 << 20, (1 << 30) - 4});
    require_state(t, e);
    seen.clear();
    REQUIRE(t.revoke(page_range{(1 << 20) + 1, (1 << 20) + 1}, record) == errc::revoked_extra);
    require_runs(seen, {page_range{1 << 20, (1 << 20) + 1}}, "removed");
  }
}

TEST_CASE("capped_page at the top of the page space", "[capped_page]") {
  capped_page s;
  std::vector<page_range> seen;
  auto record = [&seen](page_range r) { seen.push_back(r); };

  REQUIRE(s.grant(page_range{max_page - 9, max_page}, record) == errc::ok);
  require_runs(seen, {page_range{max_page - 9, max_page}}, "added");
  REQUIRE(s.contains(max_page));
  REQUIRE_FALSE(s.contains(max_page + 1));
  REQUIRE(s.contains_all(page_range{max_page - 9, max_page}));
  REQUIRE(s.contains_any(page_range{max_page, max_page}));
  REQUIRE_FALSE(s.contains_any(page_range{0, max_page - 10}));
  REQUIRE_FALSE(s.contains_all(page_range{max_page, max_page + 1}));
  REQUIRE_FALSE(s.contains_any(page_range{max_page, max_page + 1}));

  REQUIRE(s.grant(page_range{max_page - 19, max_page - 10}) == errc::ok);  // adjacent below: merges
  require_state(s, {page_range{max_page - 19, max_page}});

  seen.clear();
  REQUIRE(s.revoke(page_range{max_page, max_page}, record) == errc::ok);
  require_runs(seen, {page_range{max_page, max_page}}, "removed");
  require_state(s, {page_range{max_page - 19, max_page - 1}});

  seen.clear();
  REQUIRE(s.grant(page_range{0, max_page}, record) == errc::ok);
  require_runs(seen, {page_range{0, max_page - 20}, page_range{max_page, max_page}}, "added");
  REQUIRE(s.count() == std::uint64_t{1} << 63);
  require_state(s, {page_range{0, max_page}});

  runs windowed;
  REQUIRE(s.for_each_range(page_range{max_page - 5, max_page}, [&](page_range r) {
    windowed.push_back(r);
    return true;
  }));
  require_runs(windowed, {page_range{max_page - 5, max_page}}, "window");

  for (const page_range bad : {page_range{0, max_page + 1}, page_range{max_page + 1, max_page + 1}, page_range{max_page, max_page - 1}, page_range::from_count(max_page, 2)}) {
    REQUIRE(s.grant(bad) == errc::invalid_range);
    REQUIRE(s.revoke(bad) == errc::invalid_range);
  }
  require_state(s, {page_range{0, max_page}});

  SECTION("a full page whose last run ends at max_page") {
    capped_page t;
    runs e;
    // Three-page fillers: larger than the cut's small piece, so that piece is
    // the cheapest loss (a smaller run elsewhere would go instead).
    for (page_t i = 0; i < cap - 1; ++i) {
      REQUIRE(t.grant(page_range{4 * i, 4 * i + 2}) == errc::ok);
      e.push_back(page_range{4 * i, 4 * i + 2});
    }
    REQUIRE(t.grant(page_range{max_page - 100, max_page}) == errc::ok);
    REQUIRE(t.grant(page_range{max_page - 200, max_page - 200}) == errc::capacity_exceeded);
    REQUIRE(t.check_invariants());
    seen.clear();
    REQUIRE(t.revoke(page_range{max_page - 2, max_page - 2}, record) == errc::revoked_extra);
    require_runs(seen, {page_range{max_page - 2, max_page}}, "removed");
    e.push_back(page_range{max_page - 100, max_page - 3});
    require_state(t, e);

    seen.clear();
    REQUIRE(t.revoke(page_range{0, max_page}, record) == errc::ok);
    require_runs(seen, e, "removed");
    require_state(t, {});
  }
}

TEST_CASE("capped_page moves and assign copy the used part", "[capped_page]") {
  capped_page a;
  fill(a, 3, 1, max_page - 3 * 254);
  const runs full = filled_runs(3, 1, max_page - 3 * 254);
  require_state(a, full);

  capped_page b(std::move(a));
  require_state(b, full);
  require_state(a, {});  // a moved-from grant must not linger

  capped_page c;
  REQUIRE(c.grant(page_range{5, 9}) == errc::ok);
  c = std::move(b);
  require_state(c, full);
  require_state(b, {});

  REQUIRE(a.grant(page_range{1, 1}) == errc::ok);
  REQUIRE(a.assign(c) == errc::ok);
  require_state(a, full);
  require_state(c, full);
  REQUIRE(a.assign(a) == errc::ok);
  require_state(a, full);
  capped_page& same = a;
  a = std::move(same);
  require_state(a, full);

  int calls = 0;
  REQUIRE_FALSE(a.for_each_range([&](page_range) { return ++calls < 100; }));
  REQUIRE(calls == 100);
  calls = 0;
  REQUIRE_FALSE(a.for_each_range(page_range{0, max_page}, [&](page_range) { return ++calls < 10; }));
  REQUIRE(calls == 10);
}

TEST_CASE("capped_page agrees with a page bitmap under capacity pressure", "[capped_page]") {
  constexpr std::size_t window = 4096;
  const page_t base = GENERATE(page_t{0}, page_t{max_page - window + 1});
  const std::uint64_t seed = GENERATE(std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{3});
  CAPTURE(base, seed);

  std::mt19937_64 rng(seed);
  auto below = [&rng](std::uint64_t n) { return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng); };
  auto random_range = [&]() {
    const std::uint64_t pick = below(100);
    // Mostly small: the set must stay fragmented enough to live at capacity.
    const std::uint64_t size = pick < 96 ? 1 + below(3) : pick < 99 ? 4 + below(28) : 32 + below(window / 8);
    const std::uint64_t first = below(window);
    const std::uint64_t last = std::min<std::uint64_t>(first + size - 1, window - 1);
    return page_range{base + first, base + last};
  };

  capped_page s;
  bitmap_model model(base, window);
  std::vector<page_range> seen;
  auto record = [&seen](page_range r) { seen.push_back(r); };
  std::size_t outcomes[4] = {};  // ok grant, capacity_exceeded, ok revoke, revoked_extra

  for (int step = 0; step < 3000; ++step) {
    CAPTURE(step);
    seen.clear();
    const bool is_grant = step < 300 || below(100) < 55;  // a quick start towards capacity
    if (below(200) == 0) {
      // Reversed, or past max_page: rejected, nothing changes.
      const page_range bad = below(2) == 0 ? page_range{base + 9, base + 3} : page_range{max_page - 1, max_page + 1 + below(5)};
      REQUIRE((is_grant ? s.grant(bad, record) : s.revoke(bad, record)) == errc::invalid_range);
      REQUIRE(seen.empty());
      require_state(s, model.runs_of());
      continue;
    }
    const page_range r = random_range();
    CAPTURE(is_grant, r.first, r.last);
    const bitmap_model old = model;

    if (is_grant) {
      model.set(r, 1);
      if (model.runs_of().size() > cap) {
        model = old;
        REQUIRE(s.grant(r, record) == errc::capacity_exceeded);
        REQUIRE(seen.empty());
        ++outcomes[1];
      } else {
        REQUIRE(s.grant(r, record) == errc::ok);
        require_runs(seen, model.runs_of(&old), "added");
        ++outcomes[0];
      }
    } else {
      model.set(r, 0);
      errc want = errc::ok;
      if (model.runs_of().size() > cap) {
        // The only way past capacity: r cut one run in two. Measure the two
        // pieces page by page and drop the smaller one (the upper on a tie).
        REQUIRE(model.runs_of().size() == cap + 1);
        REQUIRE(old.has(r.first - 1));
        REQUIRE(old.has(r.last + 1));
        // Or a whole other run, the first of the smallest, if it is smaller still.
        page_t lo = r.first;
        while (old.has(lo - 1)) --lo;
        page_t hi = r.last;
        while (old.has(hi + 1)) ++hi;
        std::uint64_t best = std::min(r.first - lo, hi - r.last);
        page_range victim = page_range::invalid();
        for (const page_range& x : old.runs_of())
          if (x.first != lo && x.size() < best) {
            best = x.size();
            victim = x;
          }
        if (victim.valid())
          model.set(victim, 0);
        else if (r.first - lo < hi - r.last)
          model.set(page_range{lo, r.first - 1}, 0);
        else
          model.set(page_range{r.last + 1, hi}, 0);
        want = errc::revoked_extra;
      }
      REQUIRE(s.revoke(r, record) == want);
      require_runs(seen, old.runs_of(&model), "removed");
      REQUIRE_FALSE(s.contains_any(r));
      ++outcomes[want == errc::ok ? 2 : 3];
    }
    const runs now = model.runs_of();
    require_state(s, now);

    // Point and range queries, and a window walk, against the bitmap.
    for (int q = 0; q < 4; ++q) {
      const page_t p = base + below(window);
      REQUIRE(s.contains(p) == model.has(p));
    }
    const page_range qr = random_range();
    REQUIRE(s.contains_all(qr) == model.all(qr));
    REQUIRE(s.contains_any(qr) == model.any(qr));
    runs in_window;
    REQUIRE(s.for_each_range(qr, [&](page_range x) {
      in_window.push_back(x);
      return true;
    }));
    runs want_window;
    for (const page_range& x : now)
      if (x.last >= qr.first && x.first <= qr.last) want_window.push_back(page_range{std::max(x.first, qr.first), std::min(x.last, qr.last)});
    require_runs(in_window, want_window, "window");

    if (step % 1000 == 999) {
      capped_page other;
      REQUIRE(other.assign(s) == errc::ok);
      s = std::move(other);
      require_state(other, {});
      require_state(s, now);
    }
  }
  // The sequence must really have lived at the edge, or it proved little.
  CAPTURE(outcomes[0], outcomes[1], outcomes[2], outcomes[3]);
  REQUIRE(outcomes[0] > 500);
  REQUIRE(outcomes[1] > 100);
  REQUIRE(outcomes[2] > 500);
  REQUIRE(outcomes[3] > 30);
}
