// The hybrid's run list container on its own (detail/hybrid/run_list.hpp).
#include <catch2/catch.hpp>

#include "support/hybrid_kind.hpp"

using namespace pmemperm;
using namespace pmemperm::test;
using detail::hyb::run_list;

TEST_CASE("run_list: random in-place edits match the model", "[hybrid][run_list]") {
  for (std::uint64_t seed : {11u, 12u, 13u}) exercise_kind<run_list>(seed, 0xFFFF, detail::hyb::chunk_pages, 1500, 0.5);
  // A tight list: splits find no free pair and are skipped, merges make room.
  exercise_kind<run_list>(14, 80, 4096, 1500, 0.5);
}

TEST_CASE("run_list: a split takes the free pair, and only a split needs one", "[hybrid][run_list]") {
  chunk_model m;
  m.set(10, 100, true);
  m.set(200, 300, true);
  test_container c(detail::hyb::rep::run_list, 3);  // two runs and the spare pair
  fill_from<run_list>(c, m);
  REQUIRE_FALSE(detail::hyb::revoke_splits(c.h, 10, 20));    // trims the head
  REQUIRE_FALSE(detail::hyb::revoke_splits(c.h, 90, 210));   // trims both
  REQUIRE_FALSE(detail::hyb::revoke_splits(c.h, 10, 100));   // removes a run
  REQUIRE(detail::hyb::revoke_splits(c.h, 50, 60));
  detail::hyb::revoke_in_place(c.h, 50, 60);
  m.set(50, 60, false);
  check_whole<run_list>(c, m);
  REQUIRE(c.h->runs() == c.h->cap());
  // Granting [61, 199] bridges three runs: two pairs fewer.
  detail::hyb::grant_in_place(c.h, 61, 199);
  m.set(61, 199, true);
  check_whole<run_list>(c, m);
  REQUIRE(c.h->runs() == 2);
  // Touching runs merge: [301, 301] extends the last run.
  detail::hyb::grant_in_place(c.h, 301, 301);
  m.set(301, 301, true);
  check_whole<run_list>(c, m);
  REQUIRE(c.h->runs() == 2);
}
