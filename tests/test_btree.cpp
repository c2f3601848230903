// detail::btree on its own, at several node sizes, against std::map: the position
// API (seek, before, at_or_after, has_room, insert_is_settled, insert_at) that
// rangeset's fast paths use, the fallible path (prepare_insert, insert, settle) with
// refused allocations, erasure, the reserve, and exact memory accounting after every
// step.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include <pmemperm/detail/btree.hpp>
#include <pmemperm/testing.hpp>

using namespace pmemperm;

namespace {

struct item {
  page_t first;
  std::uint64_t payload;
};

using model = std::map<page_t, std::uint64_t>;

template <class Tree>
bool same_contents(const Tree& t, const model& m) {
  if (t.size() != m.size()) return false;
  auto it = m.begin();
  for (auto c = t.first(); c; c = t.next(c), ++it)
    if (it == m.end() || t[c].first != it->first || t[c].payload != it->second) return false;
  return it == m.end();
}

/// The key of the greatest entry <= k in m, or `none`.
constexpr page_t none = ~page_t{0};
page_t last_le(const model& m, page_t k) {
  auto it = m.upper_bound(k);
  return it == m.begin() ? none : std::prev(it)->first;
}
/// The key of the smallest entry > k in m, or `none`.
page_t first_gt(const model& m, page_t k) {
  auto it = m.upper_bound(k);
  return it == m.end() ? none : it->first;
}

template <class Tree>
page_t key_at(const Tree& t, typename Tree::cursor c) {
  return c ? t[c].first : none;
}

/// Random inserts (through the fast position path where it applies, else the
/// fallible one, with some allocations refused) and erases, checked against a map.
template <std::size_t NodeBytes, std::size_t Inline>
void random_walk(std::uint64_t seed, page_t key_space, int steps, std::size_t reserve) {
  using tree_t = detail::btree<item, failing_allocator<>, NodeBytes, detail::key_first, Inline>;
  alloc_stats stats;
  std::mt19937_64 rng(seed);
  {
    tree_t t{failing_allocator<>(stats)};
    model m;
    if (reserve > 1) REQUIRE(t.reserve_inserts(reserve) == errc::ok);
    std::uint64_t fast = 0, slow = 0, refused = 0;
    for (int i = 0; i < steps; ++i) {
      INFO("seed " << seed << " step " << i);
      const page_t k = rng() % key_space;
      const auto pos = t.seek(k);
      // seek's neighbours are the map's.
      REQUIRE(key_at(t, t.before(pos)) == last_le(m, k));
      REQUIRE(key_at(t, t.find_last_le(k)) == last_le(m, k));
      const bool present = m.count(k) != 0;
      REQUIRE(key_at(t, t.at_or_after(pos)) == first_gt(m, k));
      REQUIRE(key_at(t, t.lower_bound(k)) == (present ? k : first_gt(m, k)));
      if (!present && rng() % 3 != 0) {
        const item v{k, rng()};
        if (t.insert_is_settled(pos)) {
          // Nothing to prepare and nothing to settle: the tree is whole right after.
          const std::size_t bytes = t.memory_bytes();
          const std::uint64_t attempts = stats.attempts;
          t.insert_at(pos, v);
          m.emplace(k, v.payload);
          ++fast;
          REQUIRE(t.memory_bytes() == bytes);
          REQUIRE(stats.attempts == attempts);
          REQUIRE(t.check_invariants());
        } else if (tree_t::has_room(pos) && rng() % 2 == 0) {
          // A free slot takes no node; settle() refills what the reserve then lacks.
          const std::uint64_t attempts = stats.attempts;
          t.insert_at(pos, v);
          REQUIRE(stats.attempts == attempts);
          m.emplace(k, v.payload);
          t.settle();
        } else {
          ++slow;
          if (rng() % 4 == 0) stats.fail_at = stats.attempts + rng() % 3;
          const std::size_t bytes = t.memory_bytes();
          const errc e = t.prepare_insert(k);
          stats.fail_at = UINT64_MAX;
          if (e == errc::ok) {
            t.insert(v);
            m.emplace(k, v.payload);
            t.settle();
          } else {
            REQUIRE(e == errc::out_of_memory);
            REQUIRE(t.memory_bytes() == bytes);  // all or nothing
            ++refused;
          }
        }
      } else if (present) {
        // Erase k and, sometimes, a few of its successors (possibly across leaves).
        std::size_t n = 1;
        if (rng() % 4 == 0) {
          auto it = m.find(k);
          const std::size_t want = 1 + rng() % 80;
          for (n = 0; n < want && it != m.end(); ++n) ++it;
        }
        if (n == 1 && rng() % 2 == 0) {
          t.erase(t.before(pos), 1);  // seek() points just past a key that is present
        } else {
          t.erase_from(k, n);
        }
        auto it = m.find(k);
        for (std::size_t j = 0; j < n; ++j) it = m.erase(it);
        t.settle();
      }
      REQUIRE(t.check_invariants());
      REQUIRE(t.memory_bytes() == stats.live_bytes);
      if (i % 512 == 0) REQUIRE(same_contents(t, m));
    }
    REQUIRE(same_contents(t, m));
    CHECK(fast > 0);
    CHECK(slow > 0);
    static_cast<void>(refused);
    // A dense copy holds the same values and accounts for its bytes too.
    tree_t copy{failing_allocator<>(stats)};
    auto it = m.begin();
    REQUIRE(copy.assign_sorted(m.size(), [&]() noexcept {
      const item v{it->first, it->second};
      ++it;
      return v;
    }) == errc::ok);
    REQUIRE(copy.check_invariants());
    REQUIRE(same_contents(copy, m));
    REQUIRE(copy.memory_bytes() + t.memory_bytes() == stats.live_bytes);
  }
  REQUIRE(stats.live_bytes == 0);
}

}  // namespace

TEST_CASE("btree: positions and inserts against a map, 1 KiB nodes", "[btree]") {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    random_walk<1024, 2>(seed, 1u << 12, 6000, 1);
    random_walk<1024, 2>(seed + 100, 1u << 20, 6000, 3);
  }
}

TEST_CASE("btree: positions and inserts against a map, small and large nodes", "[btree]") {
  random_walk<256, 2>(7, 1u << 10, 6000, 1);    // 15 values, 15 children: deep trees
  random_walk<256, 0>(8, 1u << 16, 6000, 4);
  random_walk<512, 2>(9, 1u << 12, 6000, 2);
  random_walk<4096, 2>(10, 1u << 14, 6000, 1);  // the default
  random_walk<4096, 0>(11, 1u << 14, 6000, 2);
}

TEST_CASE("btree: reserve_inserts(t) covers t inserts with every allocation refused", "[btree]") {
  for (std::size_t t_count : {std::size_t{1}, std::size_t{4}, std::size_t{40}}) {
    alloc_stats stats;
    std::mt19937_64 rng(t_count);
    {
      detail::btree<item, failing_allocator<>, 512> t{failing_allocator<>(stats)};
      model m;
      for (int i = 0; i < 3000; ++i) {
        const page_t k = rng() % (1u << 20);
        if (m.count(k) != 0) continue;
        REQUIRE(t.prepare_insert(k) == errc::ok);
        t.insert(item{k, 0});
        m.emplace(k, 0);
        t.settle();
      }
      REQUIRE(t.reserve_inserts(t_count) == errc::ok);
      stats.fail_at = stats.attempts;
      stats.fail_always_after = true;
      for (std::size_t i = 0; i < t_count; ++i) {
        page_t k = rng() % (1u << 20);
        while (m.count(k) != 0) k = rng() % (1u << 20);
        REQUIRE(t.insert_ready(k));
        const auto pos = t.seek(k);
        if (decltype(t)::has_room(pos))
          t.insert_at(pos, item{k, 1});
        else
          t.insert(item{k, 1});
        m.emplace(k, 1);
        t.settle();  // cannot refill: the reserve is short, and the tree still whole
        REQUIRE(t.check_invariants());
      }
      REQUIRE(same_contents(t, m));
      stats.fail_always_after = false;
      stats.fail_at = UINT64_MAX;
      t.settle();
      REQUIRE(t.check_invariants());
      REQUIRE(t.memory_bytes() == stats.live_bytes);
    }
    REQUIRE(stats.live_bytes == 0);
  }
}

TEST_CASE("btree: a lone root leaf grows to 4 KiB in one block, then is dealt into leaves", "[btree]") {
  using tree_t = detail::btree<item, counting_allocator<>, 1024>;
  STATIC_REQUIRE(tree_t::leaf_capacity == 63);
  STATIC_REQUIRE(tree_t::root_capacity_max == 255);
  alloc_stats stats;
  std::mt19937_64 rng(5);
  {
    tree_t t{counting_allocator<>(stats)};
    model m;
    std::vector<page_t> keys;
    for (page_t k = 0; k < 400; ++k) keys.push_back(k * 3);
    std::shuffle(keys.begin(), keys.end(), rng);
    for (const page_t k : keys) {
      REQUIRE(t.prepare_insert(k) == errc::ok);
      t.insert(item{k, k});
      m.emplace(k, k);
      t.settle();
      REQUIRE(t.check_invariants());
      REQUIRE(t.memory_bytes() == stats.live_bytes);
      if (t.size() + t.reserve_target() <= tree_t::root_capacity_max) {
        // One block sized to its values (1/8 headroom, rounded up to 4), no spares.
        REQUIRE(t.height() == 1);
        REQUIRE(t.spare_nodes() == 0);
        REQUIRE(t.memory_bytes() <= tree_t::header_bytes + (t.size() + t.size() / 8 + 5) * sizeof(item));
      } else if (t.size() > tree_t::root_capacity_max) {
        REQUIRE(t.height() == 2);  // dealt into 1 KiB leaves (five of them at first)
        REQUIRE(t.spare_nodes() == t.worst_need());
      }
    }
    REQUIRE(same_contents(t, m));
    // Shrinking: two levels until everything fits one leaf again, then one block
    // trimmed to size by settle().
    for (const page_t k : keys) {
      const auto c = t.find_last_le(k);
      REQUIRE(c);
      REQUIRE(t[c].first == k);
      t.erase(c, 1);
      m.erase(k);
      t.settle();
      REQUIRE(t.check_invariants());
      REQUIRE(t.memory_bytes() == stats.live_bytes);
      if (t.size() < 20) REQUIRE(t.height() <= 1);
    }
    REQUIRE(t.empty());
    REQUIRE(t.memory_bytes() == 0);
  }
  REQUIRE(stats.live_bytes == 0);
}
