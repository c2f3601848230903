// Visitors (detail/visitor.hpp): every for_each_* API takes a visitor that returns
// void (keep going: every item is visited) or something convertible to bool (false
// stops the walk, and the walk then returns false); grant, revoke, deny and destroy
// report every change whatever their visitor returns. A type that is not a visitor
// is refused by the range_visitor / visitor_of constraint at the call itself
// (checked here without compiling the call; tests/hypervisor_profile/check.sh
// also compiles such a call and checks that the error names the concept).
//
// Run over every backend (capped_page, flat_bitmap, chunked_bitmap at two chunk
// sizes, hybrid, rangeset, icl_set), over permission_map and over
// synchronized_permission_map.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include <pmemperm/backends/capped_page.hpp>
#include <pmemperm/backends/chunked_bitmap.hpp>
#include <pmemperm/backends/hybrid.hpp>
#include <pmemperm/backends/rangeset.hpp>
#include <pmemperm/detail/visitor.hpp>
#include <pmemperm/permission_map.hpp>
#include <pmemperm/synchronized.hpp>
#include <pmemperm/types.hpp>

#include "support/backends.hpp"
#include "support/printing.hpp"

using namespace pmemperm;
using namespace pmemperm::test;

namespace {

using range_list = std::vector<page_range>;

/// The backends that take void and bool visitors alike.
using visitor_backends = std::tuple<                                        //
    capped_kind,                                                            //
    flat_kind<flat_test_universe>,                                          //
    heap_kind<with_pages<chunked_bitmap, 32768>::type, "chunked_bitmap">,   //
    heap_kind<with_pages<chunked_bitmap, 64>::type, "chunked_bitmap<64>">,  //
    heap_kind<hybrid, "hybrid">,                                            //
    heap_kind<rangeset, "rangeset">,                                        //
    heap_kind<icl_set, "icl_set", /*IsOracle=*/true>>;

/// Four runs; the second covers whole 64-page chunks and crosses chunk edges.
const range_list four_runs = {{10, 19}, {60, 130}, {200, 200}, {1000, 1100}};

template <class S>
void fill(S& s, const range_list& runs) {
  for (const page_range& r : runs) REQUIRE(s.grant(r) == errc::ok);
}

/// A result that is not bool but converts to it, as a visitor may return.
struct verdict {
  bool go;
  operator bool() const noexcept { return go; }  // NOLINT: implicit on purpose
};

/// A visitor that returns bool: records every run and says false from the `stop_at`-th
/// call on (0: never).
struct stopper {
  range_list* seen;
  std::size_t stop_at;
  bool operator()(page_range r) const noexcept {
    seen->push_back(r);
    return stop_at == 0 || seen->size() < stop_at;
  }
};

// ---- what the concepts accept -----------------------------------------------------

struct no_call {};
struct takes_pointer {
  void operator()(int*) const noexcept {}
};
struct returns_struct {
  struct nothing {};
  nothing operator()(page_range) const noexcept { return {}; }
};
struct returns_verdict {
  verdict operator()(page_range) const noexcept { return {true}; }
};
struct takes_domain {
  bool operator()(std::uint16_t) const noexcept { return true; }
};

/// Whether each visitor API accepts F (without compiling a call that would fail).
template <class S, class F>
concept walks_with = requires(const S& cs, F f) { cs.for_each_range(f); };
template <class S, class F>
concept walks_window_with = requires(const S& cs, F f, page_range r) { cs.for_each_range(r, f); };
template <class S, class F>
concept grants_with = requires(S& s, F f, page_range r) { s.grant(r, f); };
template <class S, class F>
concept revokes_with = requires(S& s, F f, page_range r) {
  s.revoke(r, f);
  s.revoke_exact(r, f);
};
template <class M, class F>
concept lists_domains_with = requires(const M& m, F f) {
  m.for_each_domain(f);
  m.for_each_holder(page_t{0}, f);
};
template <class M, class F>
concept denies_with = requires(M& m, F f, page_range r) {
  m.deny(0, r, f);
  m.deny_exact(0, r, f);
  m.destroy(0, f);
};

}  // namespace

TEST_CASE("visitors: range_visitor and visitor_of accept void and bool results only", "[visitors]") {
  auto void_lambda = [](page_range) noexcept {};
  auto bool_lambda = [](page_range) noexcept { return true; };
  auto throwing_ok = [](page_range) { return false; };  // noexcept is the caller's business
  auto generic = [](auto) noexcept {};
  STATIC_REQUIRE(range_visitor<decltype(void_lambda)>);
  STATIC_REQUIRE(range_visitor<decltype(bool_lambda)>);
  STATIC_REQUIRE(range_visitor<decltype(bool_lambda)&>);
  STATIC_REQUIRE(range_visitor<const decltype(bool_lambda)&>);
  STATIC_REQUIRE(range_visitor<decltype(throwing_ok)>);
  STATIC_REQUIRE(range_visitor<decltype(generic)>);
  STATIC_REQUIRE(range_visitor<returns_verdict>);
  STATIC_REQUIRE(range_visitor<void (*)(page_range)>);
  STATIC_REQUIRE(range_visitor<stopper>);

  STATIC_REQUIRE_FALSE(range_visitor<no_call>);
  STATIC_REQUIRE_FALSE(range_visitor<takes_pointer>);
  STATIC_REQUIRE_FALSE(range_visitor<returns_struct>);
  STATIC_REQUIRE_FALSE(range_visitor<int>);
  STATIC_REQUIRE_FALSE(range_visitor<takes_domain>);

  STATIC_REQUIRE(visitor_of<takes_domain, std::uint16_t>);
  STATIC_REQUIRE_FALSE(visitor_of<takes_pointer, std::uint16_t>);
}

TEST_CASE("visitors: detail::visit continues after a void visitor and passes a bool one's answer on", "[visitors]") {
  int calls = 0;
  auto plain = [&calls](page_range) noexcept { ++calls; };
  auto no = [&calls](page_range) noexcept {
    ++calls;
    return false;
  };
  auto yes = [&calls](page_range) noexcept {
    ++calls;
    return verdict{true};
  };
  CHECK(detail::visit(plain, page_range{1, 2}));
  CHECK_FALSE(detail::visit(no, page_range{1, 2}));
  CHECK(detail::visit(yes, page_range{1, 2}));
  CHECK(calls == 3);
  detail::notify(no, page_range{3, 4});  // the answer is dropped, the call is made
  CHECK(calls == 4);
}

TEMPLATE_LIST_TEST_CASE("visitors: every visitor API of a backend refuses a wrong visitor type", "[visitors]",
                        visitor_backends) {
  using S = typename TestType::template type<new_allocator>;
  INFO("backend: " << TestType::name);
  STATIC_REQUIRE(walks_with<S, stopper>);
  STATIC_REQUIRE(walks_window_with<S, stopper>);
  STATIC_REQUIRE(grants_with<S, stopper>);
  STATIC_REQUIRE(revokes_with<S, stopper>);
  auto void_lambda = [](page_range) noexcept {};
  STATIC_REQUIRE(walks_with<S, decltype(void_lambda)>);
  STATIC_REQUIRE(walks_window_with<S, decltype(void_lambda)>);
  STATIC_REQUIRE(grants_with<S, decltype(void_lambda)>);
  STATIC_REQUIRE(revokes_with<S, decltype(void_lambda)>);

  STATIC_REQUIRE_FALSE(walks_with<S, takes_pointer>);
  STATIC_REQUIRE_FALSE(walks_window_with<S, takes_pointer>);
  STATIC_REQUIRE_FALSE(grants_with<S, takes_pointer>);
  STATIC_REQUIRE_FALSE(revokes_with<S, takes_pointer>);
  STATIC_REQUIRE_FALSE(walks_with<S, returns_struct>);
  STATIC_REQUIRE_FALSE(grants_with<S, returns_struct>);
  STATIC_REQUIRE_FALSE(revokes_with<S, returns_struct>);
}

TEMPLATE_LIST_TEST_CASE("visitors: for_each_range with a void visitor visits every run", "[visitors]",
                        visitor_backends) {
  INFO("backend: " << TestType::name);
  auto s = TestType::make();
  fill(s, four_runs);

  range_list seen;
  CHECK(s.for_each_range([&seen](page_range r) noexcept { seen.push_back(r); }));
  CHECK(seen == four_runs);

  seen.clear();
  CHECK(s.for_each_range(page_range{15, 1050}, [&seen](page_range r) noexcept { seen.push_back(r); }));
  CHECK(seen == range_list{{15, 19}, {60, 130}, {200, 200}, {1000, 1050}});

  // An empty set and an invalid window visit nothing and finish.
  seen.clear();
  CHECK(s.for_each_range(page_range::invalid(), [&seen](page_range r) noexcept { seen.push_back(r); }));
  CHECK(seen.empty());
  auto e = TestType::make();
  CHECK(e.for_each_range([&seen](page_range r) noexcept { seen.push_back(r); }));
  CHECK(seen.empty());
}

TEMPLATE_LIST_TEST_CASE("visitors: for_each_range with a bool visitor stops where it says false", "[visitors]",
                        visitor_backends) {
  INFO("backend: " << TestType::name);
  auto s = TestType::make();
  fill(s, four_runs);

  for (std::size_t k = 1; k <= four_runs.size(); ++k) {
    INFO("false at call " << k);
    range_list seen;
    CHECK_FALSE(s.for_each_range(stopper{&seen, k}));
    CHECK(seen == range_list(four_runs.begin(), four_runs.begin() + static_cast<std::ptrdiff_t>(k)));

    seen.clear();
    const range_list clipped = {{15, 19}, {60, 130}, {200, 200}, {1000, 1050}};
    CHECK_FALSE(s.for_each_range(page_range{15, 1050}, stopper{&seen, k}));
    CHECK(seen == range_list(clipped.begin(), clipped.begin() + static_cast<std::ptrdiff_t>(k)));
  }
  range_list seen;
  CHECK(s.for_each_range(stopper{&seen, 0}));
  CHECK(seen == four_runs);

  // A result that only converts to bool works the same way.
  int calls = 0;
  CHECK_FALSE(s.for_each_range([&calls](page_range) noexcept { return verdict{++calls < 2}; }));
  CHECK(calls == 2);
  calls = 0;
  CHECK(s.for_each_range(page_range{0, 500}, [&calls](page_range) noexcept { return verdict{++calls > 0}; }));
  CHECK(calls == 3);
}

TEMPLATE_LIST_TEST_CASE("visitors: grant and revoke report every change whatever the visitor returns", "[visitors]",
                        visitor_backends) {
  INFO("backend: " << TestType::name);
  auto s = TestType::make();
  fill(s, four_runs);

  // false from every call: the grant still reports every new run and grants it all.
  range_list added;
  REQUIRE(s.grant(page_range{0, 2000}, stopper{&added, 1}) == errc::ok);
  CHECK(added == range_list{{0, 9}, {20, 59}, {131, 199}, {201, 999}, {1101, 2000}});
  CHECK(s.contains_all(page_range{0, 2000}));
  CHECK(s.range_count() == 1);

  range_list removed;
  REQUIRE(s.revoke(page_range{100, 199}, stopper{&removed, 1}) == errc::ok);
  REQUIRE(s.revoke(page_range{300, 399}, [&removed](page_range r) noexcept { removed.push_back(r); }) == errc::ok);
  REQUIRE(s.revoke_exact(page_range{50, 500}, stopper{&removed, 1}) == errc::ok);
  CHECK(removed == range_list{{100, 199}, {300, 399}, {50, 99}, {200, 299}, {400, 500}});
  CHECK_FALSE(s.contains_any(page_range{50, 500}));
  CHECK(s.count() == 2001 - 451);

  // A void visitor on a grant sees the same as a bool one.
  added.clear();
  REQUIRE(s.grant(page_range{40, 60}, [&added](page_range r) noexcept { added.push_back(r); }) == errc::ok);
  CHECK(added == range_list{{50, 60}});
}

namespace {

template <class Map>
void five_domains(Map& m) {
  for (const std::uint16_t d : std::initializer_list<std::uint16_t>{1, 3, 5, 7, 9}) REQUIRE(m.permit(d, page_range{std::uint64_t{d} * 10, 99}) == errc::ok);
  REQUIRE(m.deny(5, page_range{0, 99}) == errc::ok);  // 5 lives on, holding nothing
  REQUIRE(m.permit(5, page_range{200, 209}) == errc::ok);
}

}  // namespace

TEMPLATE_TEST_CASE("visitors: permission_map's domain walks take void and bool visitors", "[visitors]",
                   chunked_bitmap<>, hybrid<>, capped_page) {
  using map = permission_map<TestType>;
  using domain = typename map::domain_type;
  map m;
  five_domains(m);

  STATIC_REQUIRE(lists_domains_with<map, takes_domain>);
  STATIC_REQUIRE_FALSE(lists_domains_with<map, takes_pointer>);
  STATIC_REQUIRE_FALSE(lists_domains_with<map, returns_struct>);
  STATIC_REQUIRE(denies_with<map, stopper>);
  STATIC_REQUIRE_FALSE(denies_with<map, takes_pointer>);
  STATIC_REQUIRE_FALSE(denies_with<map, takes_domain>);

  std::vector<domain> seen;
  auto note = [&seen](domain d) noexcept { seen.push_back(d); };
  auto first_two = [&seen](domain d) noexcept {
    seen.push_back(d);
    return seen.size() < 2;
  };

  CHECK(m.for_each_domain(note));
  CHECK(seen == std::vector<domain>{1, 3, 5, 7, 9});
  seen.clear();
  CHECK_FALSE(m.for_each_domain(first_two));
  CHECK(seen == std::vector<domain>{1, 3});

  seen.clear();
  CHECK(m.for_each_holder(95, note));
  CHECK(seen == std::vector<domain>{1, 3, 7, 9});
  seen.clear();
  CHECK_FALSE(m.for_each_holder(95, first_two));
  CHECK(seen == std::vector<domain>{1, 3});
  seen.clear();
  CHECK(m.for_each_holder(205, first_two));  // one holder: never told to stop
  CHECK(seen == std::vector<domain>{5});
}

TEMPLATE_TEST_CASE("visitors: permission_map's deny, deny_exact and destroy report every run", "[visitors]",
                   chunked_bitmap<>, hybrid<>, capped_page) {
  permission_map<TestType> m;
  REQUIRE(m.permit(1, page_range{0, 9}) == errc::ok);
  REQUIRE(m.permit(1, page_range{20, 29}) == errc::ok);
  REQUIRE(m.permit(1, page_range{40, 49}) == errc::ok);
  REQUIRE(m.permit(1, page_range{60, 69}) == errc::ok);

  range_list gone;
  REQUIRE(m.deny(1, page_range{5, 25}, stopper{&gone, 1}) == errc::ok);
  CHECK(gone == range_list{{5, 9}, {20, 25}});
  gone.clear();
  REQUIRE(m.deny_exact(1, page_range{26, 45}, stopper{&gone, 1}) == errc::ok);
  CHECK(gone == range_list{{26, 29}, {40, 45}});
  gone.clear();
  REQUIRE(m.deny(1, page_range{0, 3}, [&gone](page_range r) noexcept { gone.push_back(r); }) == errc::ok);
  CHECK(gone == range_list{{0, 3}});
  CHECK(m.permitted(1, page_range{4, 4}));
  CHECK_FALSE(m.permitted(1, page_range{5, 45}));

  gone.clear();
  REQUIRE(m.destroy(1, stopper{&gone, 1}) == errc::ok);
  CHECK(gone == range_list{{4, 4}, {46, 49}, {60, 69}});
  CHECK(m.domain_count() == 0);
  CHECK(m.check_invariants());
}

TEST_CASE("visitors: synchronized_permission_map passes both kinds through", "[visitors]") {
  using map = permission_map<chunked_bitmap<>>;
  synchronized_permission_map<map> m;
  STATIC_REQUIRE(lists_domains_with<decltype(m), takes_domain>);
  STATIC_REQUIRE_FALSE(lists_domains_with<decltype(m), takes_pointer>);
  REQUIRE(m.permit(2, page_range{0, 9}) == errc::ok);
  REQUIRE(m.permit(4, page_range{5, 19}) == errc::ok);
  REQUIRE(m.permit(6, page_range{100, 109}) == errc::ok);

  std::vector<std::uint16_t> seen;
  CHECK(m.for_each_domain([&seen](std::uint16_t d) noexcept { seen.push_back(d); }));
  CHECK(seen == std::vector<std::uint16_t>{2, 4, 6});
  seen.clear();
  CHECK_FALSE(m.for_each_domain([&seen](std::uint16_t d) noexcept {
    seen.push_back(d);
    return false;
  }));
  CHECK(seen == std::vector<std::uint16_t>{2});
  seen.clear();
  CHECK(m.for_each_holder(7, [&seen](std::uint16_t d) noexcept { seen.push_back(d); }));
  CHECK(seen == std::vector<std::uint16_t>{2, 4});

  range_list gone;
  REQUIRE(m.deny(4, page_range{0, 12}, stopper{&gone, 1}) == errc::ok);
  CHECK(gone == range_list{{5, 12}});
  gone.clear();
  REQUIRE(m.destroy(6, stopper{&gone, 1}) == errc::ok);
  CHECK(gone == range_list{{100, 109}});
  CHECK(m.domain_count() == 2);
}
