// Behaviour of every backend, written once against the page_set concept: merging,
// splitting, the edges of the page space, invalid input, queries across seams,
// for_each_range, visitors, assign, moves, clear; and the vocabulary types.
//
// Expectations come from model_set (support/twin.hpp compares after every step);
// the REQUIREs written out here state the property each case is about.
#include <cstdint>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <pmemperm/testing.hpp>
#include <pmemperm/types.hpp>

#include "support/backends.hpp"
#include "support/generic_ops.hpp"
#include "support/model.hpp"
#include "support/printing.hpp"
#include "support/sequence.hpp"
#include "support/twin.hpp"

using namespace pmemperm;
using namespace pmemperm::test;

namespace {

/// Every range [a, b] with a <= b drawn from `points` (the interesting pages of a case).
std::vector<page_range> ranges_between(const std::vector<page_t>& points) {
  std::vector<page_range> out;
  for (page_t a : points)
    for (page_t b : points)
      if (a <= b) out.push_back(page_range{a, b});
  return out;
}

/// Pages around each given edge: p - 2 ... p + 2, kept inside [0, top].
std::vector<page_t> around(std::initializer_list<page_t> edges, page_t top) {
  std::vector<page_t> out;
  for (page_t e : edges)
    for (page_t d = 0; d <= 4; ++d)
      if (e + d >= 2 && e + d - 2 <= top) out.push_back(e + d - 2);
  return out;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("behaviour: a new set is empty", "[behaviour]", all_backends) {
  using kind = TestType;
  INFO("backend: " << kind::name);
  twin<kind> t;
  CHECK(t.s.empty());
  CHECK(t.s.count() == 0);
  CHECK(t.s.range_count() == 0);
  CHECK_FALSE(t.s.contains(0));
  CHECK_FALSE(t.s.contains(kind::top));
  CHECK_FALSE(t.s.contains_any(page_range{0, kind::top}));
  CHECK_FALSE(t.s.contains_all(page_range{0, 0}));
  CHECK(collect_ranges(t.s).empty());
  CHECK(t.stats.attempts == 0);  // construction never allocates
  t.verify();
}

TEMPLATE_LIST_TEST_CASE("behaviour: overlapping and adjacent grants merge", "[behaviour]", all_backends) {
  using kind = TestType;
  INFO("backend: " << kind::name);
  twin<kind> t;
  t.grant(page_range{100, 199});
  t.grant(page_range{200, 299});  // adjacent above
  CHECK(t.s.range_count() == 1);
  t.grant(page_range{50, 99});  // adjacent below
  CHECK(t.s.range_count() == 1);
  t.grant(page_range{400, 499});
  CHECK(t.s.range_count() == 2);
  t.grant(page_range{300, 399});  // fills the gap exactly: three runs become one
  CHECK(t.s.range_count() == 1);
  t.grant(page_range{450, 650});  // overlaps the end
  t.grant(page_range{40, 60});    // overlaps the start
  CHECK(t.s.range_count() == 1);
  CHECK(t.s.count() == 650 - 40 + 1);

  // Several runs swallowed by one grant that also overlaps both outer runs.
  for (page_t p = 1000; p < 1100; p += 10) t.grant(page_range{p, p + 3});
  CHECK(t.s.range_count() == 11);
  t.grant(page_range{1002, 1093});
  CHECK(t.s.range_count() == 2);

  // A grant inside a run changes nothing and reports nothing.
  const std::size_t bytes = t.s.memory_bytes();
  CHECK(t.grant(page_range{100, 200}).empty());
  CHECK(t.s.memory_bytes() == bytes);

  // Single pages next to each other become one run.
  for (page_t p = 5000; p < 5016; ++p) t.grant(page_range::single(p));
  CHECK(t.s.contains_all(page_range{5000, 5015}));
  CHECK(t.s.range_count() == 3);
}

TEMPLATE_LIST_TEST_CASE("behaviour: revokes trim and split runs", "[behaviour]", all_backends) {
  using kind = TestType;
  INFO("backend: " << kind::name);
  twin<kind> t;
  t.grant(page_range{100, 1099});
  t.revoke(page_range{500, 599});  // split
  CHECK(t.s.range_count() == 2);
  t.revoke(page_range{100, 100});  // trim the head
  t.revoke(page_range{1099, 1099});  // trim the tail
  t.revoke(page_range{499, 499});  // trim the tail of the left piece
  t.revoke(page_range{600, 600});  // trim the head of the right piece
  CHECK(t.s.range_count() == 2);
  CHECK(t.s.count() == 1000 - 100 - 4);
  // Split every run many times over.
  for (page_t p = 110; p < 1090; p += 20) t.revoke(page_range{p, p + 4});
  CHECK(t.s.range_count() > 40);
  // A revoke spanning several runs and gaps, cutting into the outer two.
  t.revoke(page_range{203, 817});
  // Revoking what is not granted changes nothing and reports nothing.
  CHECK(t.revoke(page_range{2000, 3000}).empty());
  CHECK(t.revoke(page_range{500, 599}).empty());
  // Everything.
  t.revoke(page_range{0, kind::top});
  CHECK(t.s.empty());
  CHECK(t.revoke(page_range{0, kind::top}).empty());
}

TEMPLATE_LIST_TEST_CASE("behaviour: ranges at page 0 and at the top page", "[behaviour]", all_backends) {
  using kind = TestType;
  INFO("backend: " << kind::name);
  constexpr page_t top = kind::top;
  twin<kind> t;

  t.grant(page_range{0, 0});
  CHECK(t.s.contains(0));
  CHECK_FALSE(t.s.contains(1));
  t.grant(page_range{1, 9});
  CHECK(t.s.range_count() == 1);
  t.revoke(page_range{0, 0});
  CHECK_FALSE(t.s.contains(0));
  t.revoke(page_range{0, 9});

  t.grant(page_range{top - 5, top});
  CHECK(t.s.count() == 6);
  CHECK(t.s.contains(top));
  CHECK(t.s.contains_all(page_range{top - 5, top}));
  CHECK(t.s.contains_any(page_range{top, top}));
  CHECK_FALSE(t.s.contains(top - 6));
  t.revoke(page_range{top, top});
  CHECK_FALSE(t.s.contains(top));
  CHECK(t.s.contains(top - 1));
  t.grant(page_range{top - 1, top});
  t.revoke(page_range{top - 3, top - 2});  // split right below the top
  CHECK(t.s.range_count() == 2);
  t.revoke(page_range{top - 5, top});
  CHECK(t.s.empty());

  // The whole universe as one run, and cut back to its two end pages.
  t.grant(page_range{0, top});
  CHECK(t.s.count() == kind::universe);
  CHECK(t.s.range_count() == 1);
  CHECK(t.s.contains_all(page_range{0, top}));
  t.revoke(page_range{1, top - 1});
  CHECK(t.s.count() == 2);
  CHECK(t.s.range_count() == 2);
  t.grant(page_range{1, top - 1});
  CHECK(t.s.range_count() == 1);

  if constexpr (kind::universe <= max_page) {
    // A bounded universe: its top page works, the page above it is invalid.
    t.s.clear();
    t.m.clear();
    t.grant(page_range{top, top});
    t.grant(page_range{top + 1, top + 1});
    t.grant(page_range{top - 5, top + 1});
    t.revoke(page_range{top, top + 1});
    CHECK_FALSE(t.s.contains(top + 1));
    CHECK_FALSE(t.s.contains_all(page_range{top, top + 10}));
    CHECK(t.s.contains_any(page_range{top, top + 10}) == t.m.contains_any(page_range{top, top + 10}));
  }
}

TEMPLATE_LIST_TEST_CASE("behaviour: invalid input returns invalid_range and changes nothing", "[behaviour]",
                        all_backends) {
  using kind = TestType;
  INFO("backend: " << kind::name);
  constexpr page_t top = kind::top;
  std::vector<page_range> bad = {
      page_range{5, 4},                              // reversed
      page_range{top, top - 1},                      // reversed at the top
      page_range{max_page, max_page + 1},            // one past max_page
      page_range{max_page + 1, max_page + 1},        // wholly past max_page
      page_range{UINT64_MAX, UINT64_MAX},            //
      page_range{0, UINT64_MAX},                     //
      page_range::from_count(7, 0),                  // zero pages
      page_range::from_count(max_page, 2),           // one past max_page
      page_range::from_count(max_page - 3, UINT64_MAX),  // wraps around
      page_range::from_count(UINT64_MAX, 1),         // starts past max_page
      page_range::invalid(),
  };
  if constexpr (kind::universe <= max_page) {
    bad.push_back(page_range{top, top + 1});  // reaches past the universe
    bad.push_back(page_range{top + 1, top + 1});
    bad.push_back(page_range{top + 1, top + 100});
    bad.push_back(page_range{0, top + 1});
  }

  twin<kind> t;
  // On a fresh set: nothing is allocated either.
  for (const page_range r : bad) {
    INFO("range " << range_text(r));
    range_list calls;
    CHECK(t.s.grant(r, range_recorder{&calls}) == errc::invalid_range);
    CHECK(t.s.revoke(r, range_recorder{&calls}) == errc::invalid_range);
    CHECK(t.s.grant(r) == errc::invalid_range);
    CHECK(t.s.revoke(r) == errc::invalid_range);
    CHECK(calls.empty());
  }
  CHECK(t.stats.attempts == 0);
  t.verify();

  t.grant(page_range{0, 10});
  t.grant(page_range{20, 30});
  t.grant(page_range{top - 3, top});
  const observation before = observe(t.s);
  const std::uint64_t attempts = t.stats.attempts;
  for (const page_range r : bad) {
    INFO("range " << range_text(r));
    range_list calls;
    CHECK(t.s.grant(r, range_recorder{&calls}) == errc::invalid_range);
    CHECK(t.s.revoke(r, range_recorder{&calls}) == errc::invalid_range);
    CHECK(t.s.grant(r) == errc::invalid_range);
    CHECK(t.s.revoke(r) == errc::invalid_range);
    CHECK(calls.empty());
    CHECK(observe(t.s) == before);
    // Queries on invalid ranges are false, and windows report nothing.
    if (!r.valid()) {
      CHECK_FALSE(t.s.contains_all(r));
      CHECK_FALSE(t.s.contains_any(r));
      std::size_t visits = 0;
      (void)t.s.for_each_range(r, [&visits](page_range) {
        ++visits;
        return true;
      });
      CHECK(visits == 0);
    }
  }
  CHECK(t.stats.attempts == attempts);
  CHECK_FALSE(t.s.contains(max_page + 1));
  CHECK_FALSE(t.s.contains(UINT64_MAX));
  t.verify();
}

TEMPLATE_LIST_TEST_CASE("behaviour: contains_all and contains_any across run seams", "[behaviour]", all_backends) {
  using kind = TestType;
  INFO("backend: " << kind::name);
  twin<kind> t;
  t.grant(page_range{100, 199});
  t.grant(page_range{200, 299});  // merged: no seam left at 199/200
  t.grant(page_range{301, 400});  // a one-page hole at 300
  t.grant(page_range{402, 402});  // a single page after a one-page hole
  CHECK(t.s.contains_all(page_range{150, 250}));
  CHECK(t.s.contains_all(page_range{100, 299}));
  CHECK_FALSE(t.s.contains_all(page_range{250, 350}));
  CHECK_FALSE(t.s.contains_all(page_range{99, 299}));
  CHECK_FALSE(t.s.contains_all(page_range{100, 300}));
  CHECK_FALSE(t.s.contains_any(page_range{300, 300}));
  CHECK(t.s.contains_any(page_range{300, 301}));
  CHECK(t.s.contains_any(page_range{0, kind::top}));
  // Every range between the interesting pages, against the model.
  for (const page_range q : ranges_between(around({0, 100, 199, 200, 299, 300, 301, 400, 401, 402, 403}, kind::top))) {
    INFO("query " << range_text(q));
    CHECK(t.s.contains_all(q) == t.m.contains_all(q));
    CHECK(t.s.contains_any(q) == t.m.contains_any(q));
  }
  // The same at the top of the universe.
  const page_t top = kind::top;
  t.grant(page_range{top - 10, top - 6});
  t.grant(page_range{top - 5, top});
  t.grant(page_range{top - 20, top - 12});
  for (const page_range q : ranges_between(around({top - 21, top - 12, top - 11, top - 10, top - 5, top}, top))) {
    INFO("query " << range_text(q));
    CHECK(t.s.contains_all(q) == t.m.contains_all(q));
    CHECK(t.s.contains_any(q) == t.m.contains_any(q));
  }
}

TEMPLATE_LIST_TEST_CASE("behaviour: for_each_range, whole and windowed, clipped, with early stop", "[behaviour]",
                        all_backends) {
  using kind = TestType;
  INFO("backend: " << kind::name);
  const page_t top = kind::top;
  twin<kind> t;
  {
    std::size_t visits = 0;
    CHECK(t.s.for_each_range([&visits](page_range) {
      ++visits;
      return true;
    }));
    CHECK(visits == 0);
  }
  t.grant(page_range{0, 3});
  t.grant(page_range{10, 19});
  t.grant(page_range{30, 30});
  t.grant(page_range{64, 200});
  t.grant(page_range{top - 2, top});
  const range_list all = collect_ranges(t.s);
  CHECK(all == collect_ranges(t.m));
  CHECK(is_canonical(all));
  CHECK(collect_ranges(t.s, page_range{0, max_page}) == all);
  CHECK(collect_ranges(t.s, page_range{0, top}) == all);

  // Windows from every pair of interesting pages: clipped pieces, as the model says.
  for (const page_range w : ranges_between(around({0, 3, 10, 19, 25, 30, 64, 128, 200, top - 2, top}, top))) {
    INFO("window " << range_text(w));
    const range_list got = collect_ranges(t.s, w);
    REQUIRE(got == collect_ranges(t.m, w));
    for (const page_range x : got) CHECK((x.first >= w.first && x.last <= w.last));
  }
  CHECK(collect_ranges(t.s, page_range{21, 29}).empty());  // a window in a gap

  // Early stop after the k-th run: exactly k calls, and false.
  for (std::size_t k = 1; k <= all.size(); ++k) {
    std::size_t calls = 0;
    const bool finished = t.s.for_each_range([&calls, k](page_range) { return ++calls < k; });
    CHECK_FALSE(finished);
    CHECK(calls == k);
    calls = 0;
    const bool finished_w = t.s.for_each_range(page_range{2, top - 1}, [&calls, k](page_range) { return ++calls < k; });
    CHECK_FALSE(finished_w);
    CHECK(calls == k);
  }
  // Never stopped: true.
  std::size_t calls = 0;
  CHECK(t.s.for_each_range(page_range{5, 35}, [&calls](page_range) { return ++calls > 0; }));
  CHECK(calls == collect_ranges(t.m, page_range{5, 35}).size());
}

TEMPLATE_LIST_TEST_CASE("behaviour: visitors report exactly the pages that changed", "[behaviour]", all_backends) {
  using kind = TestType;
  INFO("backend: " << kind::name);
  twin<kind> t;
  t.grant(page_range{10, 19});
  t.grant(page_range{30, 39});
  t.grant(page_range{50, 59});

  // A grant over a partly granted area reports only the new pieces.
  const range_list added = t.grant(page_range{15, 55});
  CHECK(is_canonical(added));
  CHECK(total_pages(added) == 20);

  const range_list added2 = t.grant(page_range{0, 100});
  CHECK(is_canonical(added2));
  CHECK(added2.size() == 2);

  // A revoke reports only what was granted, clipped to r.
  t.revoke(page_range{40, 45});
  t.revoke(page_range{60, 70});
  const range_list removed = t.revoke(page_range{35, 80});
  CHECK(is_canonical(removed));
  CHECK(removed.size() == 3);  // [35, 39], [46, 59], [71, 80]
  CHECK(t.revoke(page_range{35, 80}).empty());

  // Visitors of every shape; their results are ignored (a visitor returning false
  // does not stop a grant halfway).
  t.grant(page_range{200, 209});
  t.grant(page_range{220, 229});
  std::size_t calls = 0;
  CHECK(t.s.grant(page_range{190, 240}, [&calls](page_range) {
    ++calls;
    return false;
  }) == errc::ok);
  CHECK(calls == 3);
  CHECK(t.s.contains_all(page_range{190, 240}));
  static_cast<void>(t.m.grant(page_range{190, 240}));
  t.verify();

  struct counting_visitor {
    std::uint64_t pages = 0;
    void operator()(page_range r) { pages += r.size(); }
  } counter;
  CHECK(t.s.revoke(page_range{195, 235}, counter) == errc::ok);  // an lvalue, non-const call operator
  CHECK(counter.pages == 41);
  static_cast<void>(t.m.revoke(page_range{195, 235}));
  const auto noop = [](page_range) noexcept {};
  CHECK(t.s.grant(page_range{195, 196}, noop) == errc::ok);  // a const lvalue lambda
  static_cast<void>(t.m.grant(page_range{195, 196}));
  t.verify();
}

TEMPLATE_LIST_TEST_CASE("behaviour: assign copies, and the copy is independent", "[behaviour]", all_backends) {
  using kind = TestType;
  INFO("backend: " << kind::name);
  twin<kind> a;
  for (page_t p = 0; p < 40; ++p) a.grant(page_range{p * 100, p * 100 + p});
  a.grant(page_range{kind::top - 7, kind::top});

  twin<kind> b;  // its own allocator and stats
  b.grant(page_range{5000, 6000});  // replaced by the copy
  REQUIRE(b.s.assign(a.s) == errc::ok);
  REQUIRE(b.m.assign(a.m) == errc::ok);
  b.verify();
  a.verify();
  CHECK(equal_sets(a.s, b.s));

  // Independent: changing one leaves the other alone.
  b.revoke(page_range{0, 1000});
  b.grant(page_range{7000, 7100});
  a.verify();
  a.grant(page_range{9000, 9999});
  b.verify();
  CHECK_FALSE(equal_sets(a.s, b.s));

  // Self-assignment changes nothing.
  const observation before = observe(a.s);
  CHECK(a.s.assign(a.s) == errc::ok);
  CHECK(observe(a.s) == before);

  // Assigning an empty set empties the target.
  twin<kind> empty;
  CHECK(b.s.assign(empty.s) == errc::ok);
  b.m.clear();
  b.verify();
  CHECK(b.s.empty());
}

TEMPLATE_LIST_TEST_CASE("behaviour: moves transfer contents and memory; moved-from sets stay usable", "[behaviour]",
                        all_backends) {
  using kind = TestType;
  using set_type = typename twin<kind>::set_type;
  INFO("backend: " << kind::name);
  twin<kind> a;
  for (page_t p = 0; p < 200; ++p) a.grant(page_range{p * 10, p * 10 + 3});
  a.grant(page_range{kind::top - 3, kind::top});
  const range_list contents = collect_ranges(a.s);
  // While two sets share a.stats, their memory must add up to its live bytes.
  const auto accounted = [&a](std::initializer_list<const set_type*> sets) {
    if constexpr (!kind::allocates) return true;
    std::size_t bytes = 0;
    for (const set_type* x : sets) bytes += x->memory_bytes();
    return bytes == a.stats.live_bytes;
  };

  // Move construction: the new set has everything.
  set_type moved(std::move(a.s));
  CHECK(collect_ranges(moved) == contents);
  CHECK(moved.count() == a.m.count());
  CHECK(moved.range_count() == contents.size());
  CHECK(kind::check(moved));
  CHECK(accounted({&moved, &a.s}));

  // The moved-from set: destructible (at scope end), clear()-able, then empty and usable.
  a.s.clear();
  CHECK(a.s.empty());
  CHECK(a.s.count() == 0);
  CHECK(a.s.range_count() == 0);
  CHECK(collect_ranges(a.s).empty());
  CHECK(kind::check(a.s));
  CHECK(accounted({&moved, &a.s}));
  CHECK(a.s.grant(page_range{42, 4242}) == errc::ok);
  CHECK(a.s.revoke(page_range{100, 200}) == errc::ok);
  CHECK(collect_ranges(a.s) == (range_list{{42, 99}, {201, 4242}}));
  CHECK(kind::check(a.s));
  CHECK(accounted({&moved, &a.s}));

  // Move assignment into a set holding pages from another allocator: its old memory
  // goes back to that allocator, and it takes over the source's.
  twin<kind> c;
  c.grant(page_range{1, 5});
  c.grant(page_range{10, 50});
  c.s = std::move(moved);
  CHECK(collect_ranges(c.s) == contents);
  CHECK(kind::check(c.s));
  CHECK(c.stats.live_bytes == 0);
  CHECK(accounted({&moved, &a.s, &c.s}));
  if constexpr (!kind::allocates) CHECK(c.s.memory_bytes() == kind::fixed_bytes);

  // The moved-from source: cleared, usable, assignable, movable again.
  moved.clear();
  CHECK(moved.empty());
  CHECK(moved.grant(page_range{7, 7}) == errc::ok);
  CHECK(moved.contains(7));
  CHECK(moved.assign(c.s) == errc::ok);
  CHECK(collect_ranges(moved) == contents);
  a.s = std::move(moved);
  CHECK(collect_ranges(a.s) == contents);
  CHECK(kind::check(a.s));
  CHECK(accounted({&moved, &a.s, &c.s}));
  a.m.clear();
  for (const page_range r : contents) static_cast<void>(a.m.grant(r));
  moved.clear();
}

TEMPLATE_LIST_TEST_CASE("behaviour: clear empties the set and keeps it usable", "[behaviour]", all_backends) {
  using kind = TestType;
  INFO("backend: " << kind::name);
  twin<kind> t;
  t.s.clear();  // on a fresh set
  t.verify();
  for (page_t p = 0; p < 200; ++p) t.grant(page_range{p * 4, p * 4 + 1});
  t.grant(page_range{kind::top, kind::top});
  t.s.clear();
  t.m.clear();
  t.verify();  // includes memory_bytes() == live bytes
  CHECK(t.s.empty());
  CHECK_FALSE(t.s.contains(0));
  CHECK_FALSE(t.s.contains(kind::top));
  CHECK_FALSE(t.s.contains_any(page_range{0, kind::top}));
  t.s.clear();
  t.verify();
  t.grant(page_range{3, 9});
  t.grant(page_range{kind::top - 1, kind::top});
  CHECK(t.s.range_count() == 2);
}

TEMPLATE_LIST_TEST_CASE("behaviour: empty, count and range_count", "[behaviour]", all_backends) {
  using kind = TestType;
  INFO("backend: " << kind::name);
  twin<kind> t;
  t.grant(page_range::single(5));
  CHECK_FALSE(t.s.empty());
  CHECK(t.s.count() == 1);
  CHECK(t.s.range_count() == 1);
  t.grant(page_range{7, 7});
  CHECK(t.s.count() == 2);
  CHECK(t.s.range_count() == 2);
  t.grant(page_range{6, 6});
  CHECK(t.s.range_count() == 1);
  const page_t big = kind::universe > (page_t{1} << 40) ? page_t{1} << 40 : kind::universe / 2;
  t.grant(page_range::from_count(100, big));
  CHECK(t.s.count() == 3 + big);
  t.revoke(page_range{5, 7});
  CHECK(t.s.count() == big);
  t.revoke(page_range::from_count(100, big));
  CHECK(t.s.empty());
  CHECK(t.s.count() == 0);
  CHECK(t.s.range_count() == 0);
}

// ---- the vocabulary ------------------------------------------------------------------

TEST_CASE("page_range: named constructors, size and validity", "[behaviour][types]") {
  CHECK(page_range::closed(3, 9) == page_range{3, 9});
  CHECK(page_range::single(7) == page_range{7, 7});
  CHECK(page_range{} == page_range{0, 0});
  CHECK(page_range{}.valid());
  CHECK(page_range::from_count(10, 5) == page_range{10, 14});
  CHECK(page_range::from_count(0, 1) == page_range{0, 0});
  CHECK(page_range::from_count(max_page, 1) == page_range{max_page, max_page});
  CHECK(page_range::from_count(0, page_t{1} << 63) == page_range{0, max_page});
  CHECK(page_range::from_count(1, (page_t{1} << 63) - 1) == page_range{1, max_page});

  // A count of 0 and every overflow are reported as an invalid range.
  CHECK_FALSE(page_range::from_count(10, 0).valid());
  CHECK_FALSE(page_range::from_count(0, 0).valid());
  CHECK_FALSE(page_range::from_count(max_page, 2).valid());
  CHECK_FALSE(page_range::from_count(1, page_t{1} << 63).valid());
  CHECK_FALSE(page_range::from_count(0, (page_t{1} << 63) + 1).valid());
  CHECK_FALSE(page_range::from_count(max_page - 3, UINT64_MAX).valid());  // would wrap
  CHECK_FALSE(page_range::from_count(UINT64_MAX, 1).valid());
  CHECK_FALSE(page_range::from_count(max_page + 1, 1).valid());
  CHECK_FALSE(page_range::invalid().valid());

  CHECK(page_range{0, max_page}.size() == page_t{1} << 63);
  CHECK(page_range{max_page, max_page}.size() == 1);
  CHECK(page_range{5, 5}.size() == 1);
  CHECK(page_range{5, 14}.size() == 10);

  CHECK(page_range{0, max_page}.valid());
  CHECK(page_range{max_page, max_page}.valid());
  CHECK_FALSE(page_range{1, 0}.valid());
  CHECK_FALSE(page_range{0, max_page + 1}.valid());
  CHECK_FALSE(page_range{max_page + 1, max_page + 1}.valid());
  CHECK_FALSE(page_range{UINT64_MAX, UINT64_MAX}.valid());
  CHECK(max_page == (page_t{1} << 63) - 1);
}

TEST_CASE("errc: to_string names every code", "[behaviour][types]") {
  const std::vector<std::pair<errc, std::string>> names = {
      {errc::ok, "ok"},
      {errc::invalid_range, "invalid_range"},
      {errc::out_of_memory, "out_of_memory"},
      {errc::capacity_exceeded, "capacity_exceeded"},
      {errc::budget_exceeded, "budget_exceeded"},
      {errc::revoked_extra, "revoked_extra"},
      {errc::conflict, "conflict"},
      {errc::no_such_domain, "no_such_domain"},
  };
  for (const auto& [e, name] : names) CHECK(std::string(to_string(e)) == name);
  CHECK(static_cast<int>(errc::ok) == 0);
  CHECK(std::string(to_string(static_cast<errc>(200))) == "unknown");
}
