// The consumer test's program: grant, check and revoke a range with rangeset<>,
// then the per-domain map over the recommended hybrid<> (with visitors that return
// nothing), the reader/writer wrapper and a capped_page. Built with the strict
// warning set and -Werror (see CMakeLists.txt), so every header it includes is
// also checked for warnings in real, optimised code. Exits 0 when every check holds.
#include <pmemperm/pmemperm.hpp>
#include <pmemperm/synchronized.hpp>

#include <cstdint>
#include <cstdio>
#include <new>

namespace {

int failures = 0;

void expect(bool cond, const char* what) {
  if (!cond) {
    std::printf("consumer: FAILED %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  using pmemperm::errc;
  using pmemperm::page_range;

  pmemperm::rangeset<> set;
  expect(set.grant(page_range::closed(100, 199)) == errc::ok, "grant [100, 199]");
  expect(set.contains(150), "contains 150");
  expect(set.contains_all(page_range::from_count(100, 100)), "contains_all [100, 199]");
  expect(!set.contains(200), "not contains 200");
  expect(set.count() == 100 && set.range_count() == 1, "count and range_count");

  expect(set.revoke(page_range::single(150)) == errc::ok, "revoke 150");
  expect(!set.contains(150) && set.range_count() == 2, "split after revoke");
  expect(set.grant(page_range::closed(5, 1)) == errc::invalid_range, "reversed range rejected");

  // The per-domain map over the recommended backend; deny reports what to unmap.
  pmemperm::permission_map<pmemperm::hybrid<>> map;
  expect(map.permit(1, page_range::closed(0, 99)) == errc::ok, "permit domain 1");
  expect(map.permit(2, page_range::closed(50, 59)) == errc::ok, "permit domain 2");
  std::uint64_t unmapped = 0;
  expect(map.deny(1, page_range::closed(10, 19), [&unmapped](page_range r) noexcept { unmapped += r.size(); }) ==
             errc::ok,
         "deny [10, 19]");
  expect(unmapped == 10 && !map.permitted(1, std::uint64_t{15}), "deny reported and took 10 pages");
  int holders = 0;
  expect(map.for_each_holder(55, [&holders](std::uint16_t) noexcept { ++holders; }) && holders == 2,
         "both domains hold page 55 (a visitor returning void visits all)");
  expect(!map.for_each_domain([](std::uint16_t d) noexcept { return d < 1; }), "a visitor returning false stops");

  // The same map behind a reader/writer lock.
  pmemperm::synchronized_permission_map<pmemperm::permission_map<pmemperm::hybrid<>>> shared(
      static_cast<pmemperm::permission_map<pmemperm::hybrid<>>&&>(map));
  expect(shared.transfer(2, 3, page_range::closed(50, 59)) == errc::ok, "transfer [50, 59] from 2 to 3");
  expect(shared.permitted(3, page_range::closed(50, 59)) && !shared.permitted(2, std::uint64_t{50}),
         "the transfer moved the pages");

  // A capped_page in storage of its own, as a hypervisor would place it.
  alignas(pmemperm::capped_page::page_bytes) static unsigned char frame[pmemperm::capped_page::page_bytes];
  auto* page = ::new (static_cast<void*>(frame)) pmemperm::capped_page();
  expect(page->grant(page_range::closed(7, 9)) == errc::ok && page->grant(page_range::single(20)) == errc::ok,
         "capped_page grants");
  std::uint64_t runs = 0;
  expect(page->for_each_range([&runs](page_range) noexcept { ++runs; }) && runs == 2, "capped_page walks 2 runs");
  page->~capped_page();

  if (failures == 0) std::printf("consumer: ok\n");
  return failures == 0 ? 0 : 1;
}
