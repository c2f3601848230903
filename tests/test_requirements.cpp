// Requirements: every backend models page_set with every member noexcept, is
// move-only and constructs without throwing; types that miss one requirement are
// rejected; the byte_allocator concept; the archetype (the minimal model) runs the
// generic helpers and the differential checker, proving they use only what the
// concept promises; and compile-time checks of the vocabulary.
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <pmemperm/allocator.hpp>
#include <pmemperm/page_set.hpp>
#include <pmemperm/testing.hpp>
#include <pmemperm/types.hpp>

#include "support/archetype.hpp"
#include "support/backends.hpp"
#include "support/checker.hpp"
#include "support/generic_ops.hpp"
#include "support/model.hpp"
#include "support/printing.hpp"
#include "support/random_ops.hpp"

using namespace pmemperm;
using namespace pmemperm::test;

namespace {

/// A visitor whose call operator may throw: the members must stay noexcept anyway.
struct throwing_visitor {
  void operator()(page_range) {}
};
struct throwing_predicate {
  bool operator()(page_range) { return true; }
};

/// Every member of the concept, spelled out, is noexcept for S.
template <class S>
constexpr bool every_member_noexcept() {
  S* s = nullptr;
  const S* cs = nullptr;
  const page_range r{};
  return noexcept(s->grant(r)) && noexcept(s->grant(r, throwing_visitor{})) && noexcept(s->revoke(r)) &&
         noexcept(s->revoke(r, throwing_visitor{})) && noexcept(s->clear()) && noexcept(cs->empty()) &&
         noexcept(cs->contains(page_t{0})) && noexcept(cs->contains_all(r)) && noexcept(cs->contains_any(r)) &&
         noexcept(cs->count()) && noexcept(cs->range_count()) && noexcept(cs->memory_bytes()) &&
         noexcept(cs->for_each_range(throwing_predicate{})) && noexcept(cs->for_each_range(r, throwing_predicate{})) &&
         noexcept(s->assign(*cs)) && std::is_nothrow_move_constructible_v<S> && std::is_nothrow_move_assignable_v<S> &&
         std::is_nothrow_destructible_v<S>;
}

template <class S>
constexpr bool move_only() {
  return !std::is_copy_constructible_v<S> && !std::is_copy_assignable_v<S> && std::is_move_constructible_v<S> &&
         std::is_move_assignable_v<S>;
}

// ---- byte_allocator cases ----------------------------------------------------------

struct throwing_allocate {
  void* allocate(std::size_t, std::size_t) { return nullptr; }
  void deallocate(void*, std::size_t, std::size_t) noexcept {}
};
struct typed_allocate {
  int* allocate(std::size_t, std::size_t) noexcept { return nullptr; }
  void deallocate(void*, std::size_t, std::size_t) noexcept {}
};
struct no_deallocate {
  void* allocate(std::size_t, std::size_t) noexcept { return nullptr; }
};
struct throwing_deallocate {
  void* allocate(std::size_t, std::size_t) noexcept { return nullptr; }
  void deallocate(void*, std::size_t, std::size_t) {}
};
struct unaligned_allocate {  // no alignment parameter
  void* allocate(std::size_t) noexcept { return nullptr; }
  void deallocate(void*, std::size_t) noexcept {}
};
struct throwing_move {
  throwing_move() = default;
  throwing_move(throwing_move&&) noexcept(false) {}
  void* allocate(std::size_t, std::size_t) noexcept { return nullptr; }
  void deallocate(void*, std::size_t, std::size_t) noexcept {}
};
struct minimal_allocator {  // not default constructible, not copyable: still fine
  explicit minimal_allocator(int) noexcept {}
  minimal_allocator(minimal_allocator&&) noexcept = default;
  void* allocate(std::size_t, std::size_t) noexcept { return nullptr; }
  void deallocate(void*, std::size_t, std::size_t) noexcept {}
};

// ---- the archetype at compile time ------------------------------------------------------

constexpr bool archetype_works_at_compile_time() {
  archetype s{archetype_key{}};
  if (s.grant(page_range{10, 19}) != errc::ok) return false;
  if (s.grant(page_range{20, 29}) != errc::ok) return false;  // merges
  if (s.range_count() != 1 || s.count() != 20) return false;
  std::uint64_t reported = 0;
  if (s.revoke(page_range{15, 16}, [&reported](page_range r) { reported += r.size(); }) != errc::ok) return false;
  if (reported != 2 || s.range_count() != 2 || s.contains(15) || !s.contains(17)) return false;
  if (s.grant(page_range{5, 4}) != errc::invalid_range) return false;
  if (!s.contains_all(page_range{17, 29}) || s.contains_any(page_range{15, 16})) return false;
  archetype t{archetype_key{}};
  if (t.assign(s) != errc::ok || t.count() != s.count()) return false;
  archetype u(std::move(t));
  return u.count() == 18 && t.empty();
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("requirements: every backend models page_set, noexcept throughout", "[requirements]",
                        all_backends) {
  using kind = TestType;
  INFO("backend: " << kind::name);
  using with_new = typename kind::template type<new_allocator>;
  using with_counting = typename kind::template type<counting_allocator<>>;
  using with_failing = typename kind::template type<failing_allocator<>>;

  STATIC_REQUIRE(page_set<with_new>);
  STATIC_REQUIRE(page_set<with_counting>);
  STATIC_REQUIRE(page_set<with_failing>);
  STATIC_REQUIRE(every_member_noexcept<with_new>());
  STATIC_REQUIRE(every_member_noexcept<with_counting>());
  STATIC_REQUIRE(every_member_noexcept<with_failing>());
  STATIC_REQUIRE(move_only<with_new>());
  STATIC_REQUIRE(move_only<with_counting>());
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<with_new>);
  STATIC_REQUIRE_FALSE(std::is_copy_assignable_v<with_new>);
  STATIC_REQUIRE(has_invariant_checker<with_new>);
  // Construction never fails: from its allocator (explicitly), or with defaults.
  STATIC_REQUIRE(kind::template constructible_as_promised<counting_allocator<>>);
  STATIC_REQUIRE(kind::template constructible_as_promised<failing_allocator<>>);
  STATIC_REQUIRE(kind::template constructible_as_promised<new_allocator>);
  // The members' result types, one by one (the concept checks them too).
  STATIC_REQUIRE(std::is_same_v<decltype(std::declval<with_new&>().grant(page_range{})), errc>);
  STATIC_REQUIRE(std::is_same_v<decltype(std::declval<const with_new&>().count()), std::uint64_t>);
  STATIC_REQUIRE(std::is_same_v<decltype(std::declval<const with_new&>().range_count()), std::size_t>);
  STATIC_REQUIRE(std::is_same_v<decltype(std::declval<const with_new&>().memory_bytes()), std::size_t>);
  if constexpr (!kind::allocates) STATIC_REQUIRE(sizeof(with_new) == kind::fixed_bytes);
}

TEST_CASE("requirements: a type missing or weakening one member is not a page_set", "[requirements]") {
  STATIC_REQUIRE(page_set<basic_archetype<archetype_defect::none>>);
  STATIC_REQUIRE_FALSE(page_set<basic_archetype<archetype_defect::no_contains_any>>);
  STATIC_REQUIRE_FALSE(page_set<basic_archetype<archetype_defect::throwing_count>>);
  STATIC_REQUIRE_FALSE(page_set<basic_archetype<archetype_defect::copyable>>);
  STATIC_REQUIRE_FALSE(page_set<basic_archetype<archetype_defect::no_window_for_each>>);
  STATIC_REQUIRE_FALSE(page_set<basic_archetype<archetype_defect::wrong_range_count_type>>);
  STATIC_REQUIRE_FALSE(page_set<int>);
  STATIC_REQUIRE_FALSE(page_set<page_range>);
  // The defects are real: each defective archetype differs from the good one only there.
  STATIC_REQUIRE(std::is_copy_constructible_v<basic_archetype<archetype_defect::copyable>>);
  STATIC_REQUIRE_FALSE(noexcept(std::declval<const basic_archetype<archetype_defect::throwing_count>&>().count()));
  STATIC_REQUIRE(every_member_noexcept<archetype>());
  STATIC_REQUIRE(move_only<archetype>());
  // The test's own model is a page_set too (so the generic helpers apply to it).
  STATIC_REQUIRE(page_set<model_set>);
}

TEST_CASE("requirements: byte_allocator", "[requirements]") {
  STATIC_REQUIRE(byte_allocator<new_allocator>);
  STATIC_REQUIRE(byte_allocator<counting_allocator<>>);
  STATIC_REQUIRE(byte_allocator<failing_allocator<>>);
  STATIC_REQUIRE(byte_allocator<counting_allocator<failing_allocator<>>>);
  STATIC_REQUIRE(byte_allocator<minimal_allocator>);
  STATIC_REQUIRE_FALSE(byte_allocator<throwing_allocate>);
  STATIC_REQUIRE_FALSE(byte_allocator<typed_allocate>);
  STATIC_REQUIRE_FALSE(byte_allocator<no_deallocate>);
  STATIC_REQUIRE_FALSE(byte_allocator<throwing_deallocate>);
  STATIC_REQUIRE_FALSE(byte_allocator<unaligned_allocate>);
  STATIC_REQUIRE_FALSE(byte_allocator<throwing_move>);
  STATIC_REQUIRE_FALSE(byte_allocator<int>);
  // The test allocators need their stats: they are not default constructible.
  STATIC_REQUIRE_FALSE(std::is_default_constructible_v<counting_allocator<>>);
  STATIC_REQUIRE_FALSE(std::is_default_constructible_v<failing_allocator<>>);
}

TEST_CASE("requirements: the archetype has nothing beyond the concept", "[requirements][archetype]") {
  STATIC_REQUIRE_FALSE(std::is_default_constructible_v<archetype>);
  STATIC_REQUIRE_FALSE(has_invariant_checker<archetype>);
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<archetype>);
  STATIC_REQUIRE_FALSE(std::is_constructible_v<archetype, new_allocator>);
  STATIC_REQUIRE(archetype_works_at_compile_time());
}

TEST_CASE("requirements: generic helpers and the differential checker work on the archetype", "[requirements][archetype]") {
  // The generic helpers, instantiated with the archetype.
  archetype a{archetype_key{}};
  model_set m;
  REQUIRE(a.grant(page_range{10, 19}) == errc::ok);
  REQUIRE(a.grant(page_range{max_page - 3, max_page}) == errc::ok);
  REQUIRE(m.grant(page_range{10, 19}) == errc::ok);
  REQUIRE(m.grant(page_range{max_page - 3, max_page}) == errc::ok);
  CHECK(collect_ranges(a) == collect_ranges(m));
  CHECK(collect_ranges(a, page_range{15, max_page - 1}) == collect_ranges(m, page_range{15, max_page - 1}));
  CHECK(equal_sets(a, m));
  CHECK(self_consistency_error(a) == "");
  CHECK(observe(a).count == 14);

  // The checker the differential test uses, driving the archetype against the model:
  // a bounded set (8 runs) that refuses grants and drops extra pages on revokes.
  std::uint64_t ops_done = 0, refused = 0, extra = 0;
  for (std::uint64_t seq = 0; seq < 40; ++seq) {
    const std::uint64_t seed = mix_seed(base_seed() ^ 0xa7c4e7e5ULL, seq);
    step_rules rules;
    rules.capacity_bounded = true;
    rules.capacity = 8;
    rules.full_check_period = 16;
    step_checker<archetype, model_set> checker(
        rules, model_set(), [] { return archetype(archetype_key{}); }, [](const archetype&) { return std::string(); },
        [](const archetype&) { return std::string(); }, seed);
    op_profile profile;
    profile.hot_spread = 64;
    profile.grant_percent = 60;
    op_generator gen(seed, full_universe, profile);
    archetype s{archetype_key{}};
    for (int i = 0; i < 500; ++i) {
      const op o = gen.next();
      const std::string err = checker.apply(s, o);
      INFO("sequence seed " << seed << ", op " << i << ": " << op_text(o));
      REQUIRE(err == "");
    }
    REQUIRE(checker.compare_all(s) == "");
    ops_done += checker.counters().ops;
    refused += checker.counters().capacity_exceeded;
    extra += checker.counters().revoked_extra;
  }
  CHECK(ops_done == 40 * 500);
  CHECK(refused > 0);
  CHECK(extra > 0);
}

TEST_CASE("requirements: the vocabulary at compile time", "[requirements][types]") {
  STATIC_REQUIRE(max_page == (page_t{1} << 63) - 1);
  STATIC_REQUIRE(page_range::closed(3, 9).size() == 7);
  STATIC_REQUIRE(page_range::single(max_page).valid());
  STATIC_REQUIRE(page_range::single(max_page).size() == 1);
  STATIC_REQUIRE(page_range{0, max_page}.size() == page_t{1} << 63);
  STATIC_REQUIRE(page_range::from_count(0, page_t{1} << 63) == page_range{0, max_page});
  STATIC_REQUIRE(page_range::from_count(max_page, 1) == page_range::single(max_page));
  STATIC_REQUIRE_FALSE(page_range::from_count(max_page, 2).valid());
  STATIC_REQUIRE_FALSE(page_range::from_count(5, 0).valid());
  STATIC_REQUIRE_FALSE(page_range::from_count(2, UINT64_MAX).valid());
  STATIC_REQUIRE_FALSE(page_range::from_count(UINT64_MAX, 1).valid());
  STATIC_REQUIRE_FALSE(page_range::invalid().valid());
  STATIC_REQUIRE_FALSE(page_range::closed(2, 1).valid());
  STATIC_REQUIRE_FALSE(page_range::closed(0, max_page + 1).valid());
  STATIC_REQUIRE(page_range{} == page_range{0, 0});
  STATIC_REQUIRE(std::is_trivially_copyable_v<page_range>);
  STATIC_REQUIRE(std::is_aggregate_v<page_range>);
  STATIC_REQUIRE(std::is_same_v<std::underlying_type_t<errc>, std::uint8_t>);
  STATIC_REQUIRE(static_cast<int>(errc::ok) == 0);
  STATIC_REQUIRE(to_string(errc::ok)[0] == 'o');
  STATIC_REQUIRE(to_string(errc::revoked_extra)[0] == 'r');
  STATIC_REQUIRE(noexcept(page_range::from_count(0, 1)));
  STATIC_REQUIRE(noexcept(to_string(errc::ok)));
}
