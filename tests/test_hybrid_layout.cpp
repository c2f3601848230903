// The hybrid's slot and container layout and its cost model
// (detail/hybrid/layout.hpp), checked for whatever tuning values the build uses.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include <pmemperm/detail/hybrid/dispatch.hpp>

using namespace pmemperm;
namespace hk = pmemperm::detail::hyb;

namespace {

constexpr hk::rep container_kinds[] = {hk::rep::page_list, hk::rep::run_list, hk::rep::word_list, hk::rep::bitmap};

}  // namespace

TEST_CASE("hybrid layout: a fresh container's capacity is one the shrink rule keeps", "[hybrid][layout]") {
  for (hk::rep k : container_kinds) {
    INFO("kind " << static_cast<int>(k));
    // A bitmap always needs all its words; the lists need what their counts say.
    const std::uint32_t top = k == hk::rep::word_list || k == hk::rep::bitmap ? hk::chunk_words : 0xFFF0u;
    const std::uint32_t bottom = k == hk::rep::bitmap ? hk::chunk_words : 1u;
    for (std::uint32_t need = bottom; need <= top; ++need) {
      const std::uint32_t cap = hk::grown_capacity(k, need);
      INFO("need " << need << ", capacity " << cap);
      REQUIRE(cap >= need);
      REQUIRE(hk::capacity_fits(cap, need));
      REQUIRE(hk::container_bytes(k, cap) % 8 == 0);
    }
  }
}

TEST_CASE("hybrid layout: rep_for picks the cheapest form, and the forms' limits hold", "[hybrid][layout]") {
  // Counts that can occur together: runs and words at most the pages, at most 32
  // runs and 64 pages per word.
  std::vector<hk::stats> samples;
  for (std::uint32_t pages : {1u, 2u, 3u, 4u, 5u, 8u, 100u, 1000u, 4000u, 30000u, 65536u})
    for (std::uint32_t runs : {1u, 2u, 3u, 4u, 50u, 600u, 2000u, 32768u})
      for (std::uint32_t words : {1u, 2u, 4u, 64u, 500u, 1024u})
        if (runs <= pages && words <= pages && runs <= words * 32 && pages <= words * 64) samples.push_back({pages, runs, words});
  REQUIRE(samples.size() > 50);
  for (const hk::stats& s : samples) {
    INFO("pages " << s.pages << ", runs " << s.runs << ", words " << s.words);
    const hk::rep k = hk::rep_for(s);
    for (hk::rep other : {hk::rep::run_slots, hk::rep::inline_pages, hk::rep::page_list, hk::rep::run_list,
                          hk::rep::word_list, hk::rep::bitmap})
      REQUIRE(hk::cost(k, s) <= hk::cost(other, s));
    if (k == hk::rep::run_slots) REQUIRE(s.runs <= tuning::hybrid_max_index_runs);
    if (k == hk::rep::inline_pages) REQUIRE(s.pages <= tuning::hybrid_inline_pages);
  }
  REQUIRE(hk::rep_for(hk::stats{}) == hk::rep::empty);
}

TEST_CASE("hybrid layout: the header holds the largest counts and every kind", "[hybrid][layout]") {
  std::vector<std::uint64_t> storage(2);
  hk::header* h = ::new (static_cast<void*>(storage.data())) hk::header{};
  for (hk::rep k : container_kinds) {
    h->init(k, 0xFFFFu);
    REQUIRE(h->kind() == k);
    REQUIRE(h->cap() == 0xFFFFu);
    REQUIRE(h->counts() == hk::stats{});
    const hk::stats most{static_cast<std::uint32_t>(hk::chunk_pages), 32768u, hk::chunk_words};
    h->set_counts(most);
    REQUIRE(h->counts() == most);
    REQUIRE(h->kind() == k);
  }
}

TEST_CASE("hybrid layout: slots tell runs, inline chunks and containers apart", "[hybrid][layout]") {
  const page_t base = page_t{123} << hk::chunk_shift;
  const hk::slot run = hk::slot::run(base + 5, base + 9 * hk::chunk_pages);
  REQUIRE(run.is_run());
  REQUIRE_FALSE(run.is_inline());
  REQUIRE_FALSE(run.is_container());
  REQUIRE(run.key() == base + 5);
  REQUIRE(run.end() == base + 9 * hk::chunk_pages);
  const hk::slot in = hk::slot::inline_pages(base, 3, 0x0009000700050003u);
  REQUIRE(in.is_inline());
  REQUIRE_FALSE(in.is_container());
  REQUIRE(in.key() == base + 3);  // an inline chunk is keyed by its lowest page
  REQUIRE(in.chunk() == base);
  REQUIRE(in.inline_count() == 3);
  REQUIRE(in.inline_packed() == 0x0009000700050003u);
  REQUIRE(in.end() == base + hk::last_offset);
  const hk::slot at_base = hk::slot::inline_pages(base, 2, 0x0000000000010000u);
  REQUIRE(at_base.is_inline());
  REQUIRE(at_base.key() == base);
  alignas(8) static std::uint64_t storage[2];
  const hk::slot c{hk::container_bit | base, reinterpret_cast<std::uint64_t>(storage)};
  REQUIRE(c.is_container());
  REQUIRE_FALSE(c.is_inline());
  REQUIRE(c.key() == base);
  REQUIRE(c.chunk() == base);
  // The top chunk: its end is max_page; inline, its key is its page.
  const hk::slot top = hk::slot::inline_pages(hk::base_of(max_page), 1, hk::last_offset);
  REQUIRE(top.key() == max_page);
  REQUIRE(top.chunk() == hk::base_of(max_page));
  REQUIRE(top.end() == max_page);
}
