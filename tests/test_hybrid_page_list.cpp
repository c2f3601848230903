// The hybrid's page list container on its own (detail/hybrid/page_list.hpp).
#include <catch2/catch.hpp>

#include "support/hybrid_kind.hpp"

using namespace pmemperm;
using namespace pmemperm::test;
using detail::hyb::page_list;

TEST_CASE("page_list: random in-place edits match the model", "[hybrid][page_list]") {
  for (std::uint64_t seed : {1u, 2u, 3u}) exercise_kind<page_list>(seed, 0xFFFF, 4096, 1500, 0.6);
  exercise_kind<page_list>(7, 0xFFFF, detail::hyb::chunk_pages, 600, 0.5);  // the chunk's last page too
}

TEST_CASE("page_list: one-page windows at the chunk's ends and next to neighbours", "[hybrid][page_list]") {
  chunk_model m;
  m.set(0, 0, true);
  m.set(2, 3, true);
  m.set(detail::hyb::last_offset - 1, detail::hyb::last_offset, true);
  test_container c(detail::hyb::rep::page_list, 16);
  fill_from<page_list>(c, m);
  check_whole<page_list>(c, m);
  for (std::uint32_t o : {0u, 1u, 2u, 3u, 4u, 63u, 64u, detail::hyb::last_offset - 1, detail::hyb::last_offset})
    check_window<page_list>(c.view(), m, o, o);
  // Filling the hole at 1 joins three runs into one.
  detail::hyb::grant_in_place(c.h, 1, 1);
  m.set(1, 1, true);
  check_whole<page_list>(c, m);
  REQUIRE(c.h->runs() == 2);
  // Revoking every page empties the list.
  detail::hyb::revoke_in_place(c.h, 0, detail::hyb::last_offset);
  REQUIRE(c.h->counts() == detail::hyb::stats{});
}
