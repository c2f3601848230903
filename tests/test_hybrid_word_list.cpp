// The hybrid's word list container on its own (detail/hybrid/word_list.hpp).
#include <catch2/catch.hpp>

#include "support/hybrid_kind.hpp"

using namespace pmemperm;
using namespace pmemperm::test;
using detail::hyb::word_list;

TEST_CASE("word_list: random in-place edits match the model", "[hybrid][word_list]") {
  for (std::uint64_t seed : {21u, 22u, 23u}) exercise_kind<word_list>(seed, detail::hyb::chunk_words, detail::hyb::chunk_pages, 1500, 0.5);
  exercise_kind<word_list>(24, 64, 8192, 1500, 0.4);  // room for 64 of the 128 words
}

TEST_CASE("word_list: words come and go with their pages", "[hybrid][word_list]") {
  chunk_model m;
  m.set(5, 5, true);
  m.set(64 * 10 + 1, 64 * 10 + 1, true);
  test_container c(detail::hyb::rep::word_list, 8);
  fill_from<word_list>(c, m);
  REQUIRE(c.h->words() == 2);
  // A grant across three words adds the missing middle and last ones.
  detail::hyb::grant_in_place(c.h, 64 * 10 + 60, 64 * 12 + 3);
  m.set(64 * 10 + 60, 64 * 12 + 3, true);
  check_whole<word_list>(c, m);
  REQUIRE(c.h->words() == 4);
  // Revoking a word's every page removes it from the list, keeping no zero word.
  detail::hyb::revoke_in_place(c.h, 64 * 11, 64 * 11 + 63);
  m.set(64 * 11, 64 * 11 + 63, false);
  check_whole<word_list>(c, m);
  REQUIRE(c.h->words() == 3);
  detail::hyb::revoke_in_place(c.h, 0, 64 * 10 + 63);
  m.set(0, 64 * 10 + 63, false);
  check_whole<word_list>(c, m);
  REQUIRE(c.h->words() == 1);
}
