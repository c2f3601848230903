// Memory accounting: memory_bytes() is exactly what a backend holds from its
// allocator, after every operation; construction takes nothing; clear() and
// destruction give memory back; every block goes back with the size and alignment
// it was allocated with. Also the test allocators of <pmemperm/testing.hpp>.
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <pmemperm/allocator.hpp>
#include <pmemperm/testing.hpp>

#include "support/allocators.hpp"
#include "support/backends.hpp"
#include "support/checker.hpp"
#include "support/generic_ops.hpp"
#include "support/printing.hpp"
#include "support/random_ops.hpp"
#include "support/sequence.hpp"

using namespace pmemperm;
using namespace pmemperm::test;

namespace {

/// memory_bytes() against an audit: exact for allocating kinds, the fixed size and no
/// allocation otherwise; plus every call well-formed.
template <class Kind, class S>
std::string audit_error(const S& s, const allocation_audit& audit) {
  std::string err = memory_error<Kind>(s, audit.stats);
  if (err.empty() && !audit.problems().empty()) err = "allocator misuse: " + audit.problems();
  return err;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("memory: construction takes nothing from the allocator", "[memory]", all_backends) {
  using kind = TestType;
  INFO("backend: " << kind::name);
  alloc_stats stats;
  {
    auto s = kind::make(counting_allocator<>(stats));
    CHECK(s.memory_bytes() == kind::fixed_bytes);
    auto moved = std::move(s);
    CHECK(moved.memory_bytes() == kind::fixed_bytes);
    CHECK(s.memory_bytes() == kind::fixed_bytes);
  }
  CHECK(stats.attempts == 0);
  CHECK(stats.allocations == 0);
  CHECK(stats.deallocations == 0);
  const auto d = kind::make();
  CHECK(d.memory_bytes() == kind::fixed_bytes);
  CHECK(d.empty());
}

TEMPLATE_LIST_TEST_CASE("memory: memory_bytes() equals the live bytes after every operation", "[memory]",
                        all_backends) {
  using kind = TestType;
  using set_type = typename kind::template type<tracking_allocator>;
  using oracle_type = oracle_of<kind>;
  INFO("backend: " << kind::name);
  std::uint64_t ops_done = 0;
  std::size_t peak = 0;
  for (std::uint64_t seq = 0; seq < 12; ++seq) {
    const std::uint64_t seed = mix_seed(base_seed() ^ 0x3e3017ULL, seq);
    INFO("sequence seed " << seed);
    allocation_audit audit;
    {
      set_type s = kind::make(tracking_allocator(audit));
      step_checker<set_type, oracle_type> checker(
          rules_for<kind>(), oracle_type(), [&audit] { return kind::make(tracking_allocator(audit)); },
          [](const set_type& x) { return kind::check(x) ? std::string() : std::string("check_invariants() failed"); },
          [&audit](const set_type& x) { return audit_error<kind>(x, audit); }, seed);
      op_generator gen(seed, kind::universe);
      for (int i = 0; i < 1500; ++i) {
        const op o = gen.next();
        const std::string err = checker.apply(s, o);
        INFO("op " << i << ": " << op_text(o));
        REQUIRE(err == "");
        ++ops_done;
      }
      REQUIRE(checker.compare_all(s) == "");
      if (audit.stats.peak_bytes > peak) peak = audit.stats.peak_bytes;
      // clear() keeps at most what the backend keeps by design, and says so exactly.
      const std::size_t before_clear = s.memory_bytes();
      s.clear();
      CHECK(audit_error<kind>(s, audit) == "");
      CHECK(s.memory_bytes() <= before_clear);
      const std::size_t after_clear = s.memory_bytes();
      s.clear();
      CHECK(s.memory_bytes() == after_clear);
      // Usable again, still exact.
      REQUIRE(s.grant(page_range{10, 20}) == errc::ok);
      CHECK(audit_error<kind>(s, audit) == "");
    }
    CHECK(audit.stats.live_bytes == 0);
    CHECK(audit.blocks.empty());
    CHECK(audit.problems() == "");
    CHECK(audit.stats.allocations == audit.stats.deallocations);
  }
  CHECK(ops_done == 12 * 1500);
  std::cout << "memory " << kind::name << ": " << ops_done << " ops checked, peak " << peak << " bytes\n";
}

TEMPLATE_LIST_TEST_CASE("memory: copies and moves keep each allocator's books exact", "[memory]", all_backends) {
  using kind = TestType;
  using set_type = typename kind::template type<tracking_allocator>;
  INFO("backend: " << kind::name);
  allocation_audit audit_a, audit_b;
  {
    set_type a = kind::make(tracking_allocator(audit_a));
    set_type b = kind::make(tracking_allocator(audit_b));
    for (page_t p = 0; p < 250; ++p) REQUIRE(a.grant(page_range{p * 8, p * 8 + 2}) == errc::ok);
    REQUIRE(b.grant(page_range{100000, 100010}) == errc::ok);
    CHECK(audit_error<kind>(a, audit_a) == "");
    CHECK(audit_error<kind>(b, audit_b) == "");

    // The copy's memory comes from the target's own allocator.
    REQUIRE(b.assign(a) == errc::ok);
    CHECK(audit_error<kind>(a, audit_a) == "");
    CHECK(audit_error<kind>(b, audit_b) == "");
    CHECK(equal_sets(a, b));

    // Moving a into a fresh set: both together hold a's allocator's bytes.
    set_type c(std::move(a));
    if constexpr (kind::allocates) CHECK(audit_a.stats.live_bytes == c.memory_bytes() + a.memory_bytes());
    CHECK(audit_a.problems() == "");

    // Move-assigning c into b: b's old memory goes back to b's allocator.
    b = std::move(c);
    CHECK(audit_b.stats.live_bytes == 0);
    CHECK(audit_b.blocks.empty());
    if constexpr (kind::allocates)
      CHECK(audit_a.stats.live_bytes == a.memory_bytes() + b.memory_bytes() + c.memory_bytes());
    CHECK(audit_a.problems() == "");
    CHECK(audit_b.problems() == "");
  }
  CHECK(audit_a.stats.live_bytes == 0);
  CHECK(audit_b.stats.live_bytes == 0);
  CHECK(audit_a.blocks.empty());
  CHECK(audit_b.blocks.empty());
}

// ---- the test allocators themselves ------------------------------------------------------

TEST_CASE("testing.hpp: counting_allocator counts live and peak bytes", "[memory][allocators]") {
  alloc_stats stats;
  counting_allocator<> a(stats);
  void* p = a.allocate(100, 8);
  void* q = a.allocate(28, 4);
  REQUIRE(p != nullptr);
  REQUIRE(q != nullptr);
  CHECK(stats.live_bytes == 128);
  CHECK(stats.peak_bytes == 128);
  CHECK(stats.allocations == 2);
  a.deallocate(p, 100, 8);
  CHECK(stats.live_bytes == 28);
  CHECK(stats.peak_bytes == 128);
  counting_allocator<> copy = a;  // copies report into the same stats
  copy.deallocate(q, 28, 4);
  CHECK(stats.live_bytes == 0);
  CHECK(stats.deallocations == 2);
  CHECK(&copy.stats() == &stats);
  void* big = a.allocate(64, 4096);
  REQUIRE(big != nullptr);
  CHECK(reinterpret_cast<std::uintptr_t>(big) % 4096 == 0);
  a.deallocate(big, 64, 4096);
}

TEST_CASE("testing.hpp: failing_allocator fails the k-th attempt, persistently, or past a budget",
          "[memory][allocators]") {
  alloc_stats stats;
  failing_allocator<> a(stats);
  std::vector<std::pair<void*, std::size_t>> held;
  const auto take = [&](std::size_t bytes) {
    void* p = a.allocate(bytes, 8);
    if (p != nullptr) held.emplace_back(p, bytes);
    return p != nullptr;
  };
  const auto give_back_last = [&] {
    a.deallocate(held.back().first, held.back().second, 8);
    held.pop_back();
  };

  a.fail_nth_from_now(2);
  CHECK(take(8));
  CHECK(take(8));
  CHECK_FALSE(take(8));  // the third attempt from the arming
  CHECK(take(8));        // only that one
  CHECK(stats.failures == 1);
  CHECK(stats.attempts == 4);

  a.fail_nth_from_now(1, true);
  CHECK(take(8));
  CHECK_FALSE(take(8));
  CHECK_FALSE(take(8));  // and every later one
  a.disarm();
  CHECK(take(8));

  // A budget counts live bytes: frees make room again.
  stats.byte_budget = stats.live_bytes + 24;
  CHECK(take(16));
  CHECK_FALSE(take(16));
  CHECK(take(8));
  CHECK_FALSE(take(1));
  give_back_last();
  CHECK(take(8));
  a.disarm();
  CHECK(stats.byte_budget == SIZE_MAX);

  // A budget set below what is already live refuses every allocation.
  stats.byte_budget = stats.live_bytes - 1;
  CHECK_FALSE(take(1));
  a.disarm();

  while (!held.empty()) give_back_last();
  CHECK(stats.live_bytes == 0);
  CHECK(stats.allocations == stats.deallocations);
}
