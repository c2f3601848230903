// tests/tsan/concurrent_readers.cpp — synchronized_permission_map under ThreadSanitizer.
//
// One writer changes the map while reader threads check, continuously, facts that
// must hold between any two operations. If a reader ever saw an operation half
// done (a torn answer) a check fails; if the wrapper let a reader and the writer
// touch the map at once, ThreadSanitizer reports the race (run.sh makes any report
// fatal). Standalone, no test framework: the exit code is the result.
//
// The writer, per round:
//  - transfers one of `pieces` fragmented pieces between domains 1 and 2
//    (domain 1 starts with all of them);
//  - permit_all's a batch of 8 ranges to domain 3, or denies the whole batch area;
//  - permits a page range to domain 4 and denies it again with the visitor;
//  - now and then destroys domain 5 and re-creates it with a budget.
// The readers check, each with a single call or under one read() lock:
//  - every page of every piece has exactly one holder, 1 or 2 (for_each_holder);
//  - each piece is entirely with 1 or entirely with 2 (permitted, under read());
//  - domains 1 and 2 together hold exactly the pieces' pages (with_set/read);
//  - domain 3 holds all 8 batch ranges or none of them;
//  - memory_bytes(), domain_count() and check_invariants() are sane.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include <pmemperm/backends/hybrid.hpp>
#include <pmemperm/backends/rangeset.hpp>
#include <pmemperm/permission_map.hpp>
#include <pmemperm/synchronized.hpp>

namespace {

using namespace pmemperm;

constexpr int pieces = 64;
constexpr page_t piece_stride = 1024;
constexpr int readers = 2;

std::atomic<int> failures{0};

void fail(const char* what, unsigned long long detail) {
  if (failures.fetch_add(1) < 20) std::fprintf(stderr, "FAIL: %s (%llu)\n", what, detail);
}

/// Piece i: 3 runs of 5 pages, 2 pages apart, in its own stretch of pages, so a
/// transfer moves a fragmented region (the runs of one piece are separate runs).
page_range piece_run(int i, int k) {
  return page_range::from_count(static_cast<page_t>(i) * piece_stride + static_cast<page_t>(k) * 7, 5);
}
constexpr std::uint64_t piece_pages = 15;

page_range batch_range(int k) { return page_range::from_count((page_t{1} << 30) + static_cast<page_t>(k) * 100, 10); }

template <class Set>
int run(const char* name, int rounds) {
  using map = permission_map<Set>;
  synchronized_permission_map<map> m;
  for (int i = 0; i < pieces; ++i)
    for (int k = 0; k < 3; ++k)
      if (m.permit(1, piece_run(i, k)) != errc::ok) fail("initial permit", static_cast<unsigned long long>(i));
  if (m.permit(2, page_range{1u << 31, 1u << 31}) != errc::ok) fail("initial permit", 2);

  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> checks{0};

  const auto reader = [&](unsigned seed) {
    std::mt19937 rng(seed);
    while (!done.load(std::memory_order_acquire)) {
      const int i = static_cast<int>(rng() % pieces);
      const page_range r = piece_run(i, static_cast<int>(rng() % 3));
      const page_t p = r.first + rng() % 5;

      int holders = 0;
      bool other = false;
      const bool all = m.for_each_holder(p, [&](std::uint16_t d) {
        ++holders;
        if (d != 1 && d != 2) other = true;
        return true;
      });
      if (!all || holders != 1 || other) fail("a piece's page has not exactly one holder", p);

      const int owners = m.read([&](const map& mm) {
        int n = 0;
        for (std::uint16_t d = 1; d <= 2; ++d) {
          bool whole = true;
          for (int k = 0; k < 3; ++k) whole = whole && mm.permitted(d, piece_run(i, k));
          n += whole ? 1 : 0;
        }
        return n;
      });
      if (owners != 1) fail("a piece is not wholly with one domain", static_cast<unsigned long long>(i));

      const std::uint64_t total = m.read([](const map& mm) {
        std::uint64_t n = 0;
        for (std::uint16_t d = 1; d <= 2; ++d)
          if (const auto* s = mm.find(d)) n += s->count();
        return n;
      });
      if (total != pieces * piece_pages + 1) fail("domains 1 and 2 do not hold the pieces", total);

      const int batch = m.read([](const map& mm) {
        int n = 0;
        for (int k = 0; k < 8; ++k) n += mm.permitted(3, batch_range(k)) ? 1 : 0;
        return n;
      });
      if (batch != 0 && batch != 8) fail("a torn permit_all", static_cast<unsigned long long>(batch));

      const std::uint64_t c4 = m.with_set(4, [](const auto* s) { return s == nullptr ? 0 : s->count(); });
      if (c4 != 0 && c4 != 256) fail("a torn permit or deny", c4);

      if (m.memory_bytes() == 0) fail("memory_bytes() is 0 with domains alive", 0);
      if (m.domain_count() < 2) fail("domains vanished", m.domain_count());
      if ((checks.load(std::memory_order_relaxed) & 255) == 0 && !m.check_invariants()) fail("check_invariants", 0);
      checks.fetch_add(1, std::memory_order_relaxed);
      // std::shared_mutex on glibc prefers readers: without a pause now and then,
      // readers on a 2-core machine can keep the writer waiting for long stretches.
      std::this_thread::yield();
    }
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < readers; ++t) threads.emplace_back(reader, 100u + static_cast<unsigned>(t));

  std::mt19937 rng(7);
  std::vector<std::uint16_t> owner(pieces, 1);
  std::uint64_t unmapped = 0;
  // Run at least `rounds` rounds, and on until the readers have made as many checks,
  // so that both sides get to interleave whatever the scheduler does.
  int round = 0;
  for (; round < rounds || (checks.load(std::memory_order_relaxed) < static_cast<std::uint64_t>(rounds) &&
                            round < 50 * rounds);
       ++round) {
    const int i = static_cast<int>(rng() % pieces);
    const std::uint16_t to = owner[static_cast<std::size_t>(i)] == 1 ? 2 : 1;
    // The three runs of a piece move in one write() step, so readers see the piece
    // move as a whole.
    const errc e = m.write([&](map& mm) {
      for (int k = 0; k < 3; ++k)
        if (const errc x = mm.transfer(owner[static_cast<std::size_t>(i)], to, piece_run(i, k)); x != errc::ok) return x;
      return errc::ok;
    });
    if (e != errc::ok) fail("transfer", static_cast<unsigned long long>(e));
    owner[static_cast<std::size_t>(i)] = to;

    if (round % 2 == 0) {
      page_range batch[8];
      for (int k = 0; k < 8; ++k) batch[k] = batch_range(k);
      if (m.permit_all(3, batch) != errc::ok) fail("permit_all", 3);
    } else if (m.deny(3, page_range{page_t{1} << 30, (page_t{1} << 30) + 1000}) != errc::ok) {
      fail("deny batch", 3);
    }

    if (m.permit(4, page_range::from_count(page_t{1} << 29, 256)) != errc::ok) fail("permit", 4);
    if (m.deny(4, page_range::from_count(page_t{1} << 29, 256), [&unmapped](page_range r) { unmapped += r.size(); }) != errc::ok)
      fail("deny", 4);

    if (round % 50 == 0) {
      static_cast<void>(m.destroy(5));
      if (m.set_budget(5, 1u << 16) != errc::ok) fail("set_budget", 5);
      if (m.permit_exclusive(5, page_range::from_count(9000, 3)) != errc::ok) fail("permit_exclusive", 5);
    }
    std::this_thread::yield();
  }
  done.store(true, std::memory_order_release);
  for (std::thread& t : threads) t.join();

  if (unmapped != static_cast<std::uint64_t>(round) * 256) fail("deny visitor reported", unmapped);
  if (checks.load() == 0) fail("the readers made no check", 0);
  std::printf("%s: %d writer rounds, %llu reader checks\n", name, round,
              static_cast<unsigned long long>(checks.load()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 2000;
  run<hybrid<>>("hybrid<>", rounds);
  run<rangeset<>>("rangeset<>", rounds);
  const int f = failures.load();
  if (f != 0) {
    std::fprintf(stderr, "%d check(s) failed\n", f);
    return 1;
  }
  std::puts("all checks passed");
  return 0;
}
