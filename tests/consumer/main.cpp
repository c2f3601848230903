// The consumer test's program: grant, check and revoke a range with rangeset<>.
// Exits 0 when every check holds.
#include <pmemperm/backends/rangeset.hpp>

#include <cstdio>

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

  if (failures == 0) std::printf("consumer: ok\n");
  return failures == 0 ? 0 : 1;
}
