// The hybrid's whole-chunk bitmap container on its own (detail/hybrid/bitmap.hpp).
#include <catch2/catch.hpp>

#include "support/hybrid_kind.hpp"

using namespace pmemperm;
using namespace pmemperm::test;
using detail::hyb::bitmap;

TEST_CASE("bitmap: random in-place edits match the model", "[hybrid][bitmap]") {
  for (std::uint64_t seed : {31u, 32u, 33u}) exercise_kind<bitmap>(seed, detail::hyb::chunk_words, detail::hyb::chunk_pages, 1500, 0.5);
}

TEST_CASE("bitmap: run starts are counted across word borders and at the chunk's ends", "[hybrid][bitmap]") {
  chunk_model m;
  m.set(0, 0, true);
  m.set(60, 70, true);  // one run across a word border
  m.set(detail::hyb::last_offset, detail::hyb::last_offset, true);
  test_container c(detail::hyb::rep::bitmap, detail::hyb::chunk_words);
  fill_from<bitmap>(c, m);
  check_whole<bitmap>(c, m);
  REQUIRE(c.h->runs() == 3);
  REQUIRE(c.h->words() == 3);  // words 0, 1 and 1023
  for (auto [lo, hi] : {std::pair{0u, 0u}, {1u, 63u}, {63u, 64u}, {64u, 64u}, {0u, detail::hyb::last_offset},
                        {detail::hyb::last_offset, detail::hyb::last_offset}})
    check_window<bitmap>(c.view(), m, lo, hi);
  detail::hyb::revoke_in_place(c.h, 64, 64);  // cuts the run at the border
  m.set(64, 64, false);
  check_whole<bitmap>(c, m);
  REQUIRE(c.h->runs() == 4);
}
