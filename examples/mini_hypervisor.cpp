// mini_hypervisor — a worked embedding of permission_map in a (pretend) hypervisor.
//
// The hypervisor owns two NVDIMM regions of host pages and hands slices of them to
// guest domains. It keeps one permission_map<hybrid<>> for all domains, fed by its
// own allocator (here a metered heap; in a real hypervisor a page pool), and:
//  1. creates domains and assigns regions: a clean contiguous slice (exclusively),
//     a fragmented one (interleaved 2 MiB blocks minus poisoned pages, all or
//     nothing), and a scatter of single pages under a memory budget;
//  2. answers "may this domain map this page" the way an EPT-violation handler
//     would: map the page on a yes, inject a fault on a no;
//  3. moves a region from one domain to another (transfer: atomic, never shared);
//  4. revokes a range and unmaps exactly the pages the deny reports;
//  5. destroys domains, and prints what happened and the memory used all along.
//
// It is built like hypervisor code: no exceptions, no RTTI, no iostream, nothing
// allocated except through the map's allocator. Every step is checked; the exit
// status is the number of failed checks (0: all passed), so CI running it means
// something.
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>

#include <pmemperm/allocator.hpp>
#include <pmemperm/backends/hybrid.hpp>
#include <pmemperm/permission_map.hpp>
#include <pmemperm/types.hpp>

namespace {

using pmemperm::errc;
using pmemperm::page_range;
using pmemperm::page_t;

int failed_checks = 0;

#define HV_CHECK(cond)                                                       \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::printf("  CHECK FAILED (line %d): %s\n", __LINE__, #cond);        \
      ++failed_checks;                                                       \
    }                                                                        \
  } while (0)

// ---- the hypervisor's allocator --------------------------------------------------

/// What the hypervisor knows about the memory its permission tracking uses.
struct heap_meter {
  std::size_t live = 0;
  std::size_t peak = 0;
  std::uint64_t refusals = 0;
  std::size_t limit = SIZE_MAX;  // the heap the hypervisor set aside for it
};

/// A byte_allocator over the global heap, metered, with a hard limit: what a
/// hypervisor's page pool would look like to pmemperm. Copies share the meter.
class metered_heap {
 public:
  explicit metered_heap(heap_meter& m) noexcept : meter_(&m) {}
  [[nodiscard]] void* allocate(std::size_t bytes, std::size_t align) noexcept {
    if (bytes > meter_->limit - meter_->live) {
      ++meter_->refusals;
      return nullptr;
    }
    void* p = pmemperm::new_allocator{}.allocate(bytes, align);
    if (p == nullptr) {
      ++meter_->refusals;
      return nullptr;
    }
    meter_->live += bytes;
    if (meter_->live > meter_->peak) meter_->peak = meter_->live;
    return p;
  }
  void deallocate(void* p, std::size_t bytes, std::size_t align) noexcept {
    meter_->live -= bytes;
    pmemperm::new_allocator{}.deallocate(p, bytes, align);
  }

 private:
  heap_meter* meter_;
};
static_assert(pmemperm::byte_allocator<metered_heap>);

using domain_id = std::uint16_t;
using permissions = pmemperm::permission_map<pmemperm::hybrid<>, domain_id, metered_heap>;

// ---- the machine ---------------------------------------------------------------------

constexpr page_t pages_per_gib = page_t{1} << 18;  // 4 KiB pages

/// Host page ranges of the two NVDIMMs (page numbers, i.e. physical address / 4096).
constexpr page_range nvdimm0 = page_range::from_count(page_t{64} * pages_per_gib, 16 * pages_per_gib);
constexpr page_range nvdimm1 = page_range::from_count(page_t{256} * pages_per_gib, 32 * pages_per_gib);

constexpr domain_id dom0 = 0;   // the control domain
constexpr domain_id vm_db = 1;  // a database VM: one clean 1 GiB slice
constexpr domain_id vm_kv = 2;  // a key-value store: fragmented slices
constexpr domain_id vm_ci = 3;  // a build VM: scattered pages, under a budget

const char* name_of(domain_id d) {
  switch (d) {
    case dom0: return "dom0";
    case vm_db: return "vm-db";
    case vm_kv: return "vm-kv";
    case vm_ci: return "vm-ci";
    default: return "?";
  }
}

void print_memory(const char* when, const permissions& map, const heap_meter& heap) {
  std::printf("  memory %-28s map %8zu B  (vm-db %6zu, vm-kv %6zu, vm-ci %6zu)  heap live %8zu B\n", when,
              map.memory_bytes(), map.memory_bytes(vm_db), map.memory_bytes(vm_kv), map.memory_bytes(vm_ci),
              heap.live);
  HV_CHECK(map.memory_bytes() == heap.live);  // the map accounts for every byte
}

std::uint64_t pages_of(const permissions& map, domain_id d) {
  const auto* s = map.find(d);
  return s == nullptr ? 0 : s->count();
}

std::uint64_t runs_of(const permissions& map, domain_id d) {
  const auto* s = map.find(d);
  return s == nullptr ? 0 : s->range_count();
}

/// Who may access host page p, as a short list for the log; returns the count.
int print_holders(const permissions& map, page_t p) {
  int n = 0;
  std::printf("  holders of page %#" PRIx64 ":", p);
  const bool all = map.for_each_holder(p, [&n](domain_id d) {
    std::printf(" %s", name_of(d));
    ++n;
    return true;
  });
  HV_CHECK(all);
  std::printf("%s\n", n == 0 ? " (none)" : "");
  return n;
}

// ---- the EPT-violation path ----------------------------------------------------------

struct ept_stats {
  std::uint64_t mapped = 0;
  std::uint64_t refused = 0;
};

/// What the exit handler does when a guest touches an unmapped guest page backed by
/// host page `host`: one O(log n) lookup, no allocation, no lock needed if the map is
/// only changed by this CPU (otherwise see <pmemperm/synchronized.hpp>).
bool on_ept_violation(const permissions& map, domain_id d, page_t host, ept_stats& st) {
  if (map.permitted(d, host)) {
    ++st.mapped;  // here: install the EPT entry, resume the guest
    return true;
  }
  ++st.refused;  // here: inject #PF / #VE into the guest, or kill it
  return false;
}

// ---- the story -----------------------------------------------------------------------

constexpr page_t block = 512;  // 2 MiB
constexpr page_range db_slice = page_range::from_count(nvdimm0.first, pages_per_gib);
constexpr page_t kv_base = nvdimm1.first;
constexpr page_t poisoned[] = {kv_base + 3 * 2 * block + 17, kv_base + 40 * 2 * block + 300,
                               kv_base + 41 * 2 * block + 5};
constexpr page_t ci_base = nvdimm0.first + 2 * pages_per_gib;

void assign_regions(permissions& map, const heap_meter& heap) {
  std::printf("\n1. assigning regions\n");
  // A clean slice: 1 GiB of nvdimm0 for vm-db, exclusively.
  HV_CHECK(map.permit_exclusive(vm_db, db_slice) == errc::ok);
  std::printf("  vm-db: 1 GiB clean slice, %" PRIu64 " pages in %" PRIu64 " run(s), %zu B\n", pages_of(map, vm_db),
              runs_of(map, vm_db), map.memory_bytes(vm_db));

  // A fragmented assignment for vm-kv: every other 2 MiB block of a 256 MiB window
  // of nvdimm1, minus a few poisoned pages. All of it or nothing.
  static page_range kv_ranges[80];
  std::size_t kv_n = 0;
  for (page_t b = 0; b < 64; ++b) {
    page_t first = kv_base + b * 2 * block;
    const page_t last = first + block - 1;
    for (const page_t bad : poisoned) {
      if (bad >= first && bad <= last) {
        if (bad > first) kv_ranges[kv_n++] = page_range{first, bad - 1};
        first = bad + 1;
      }
    }
    if (first <= last) kv_ranges[kv_n++] = page_range{first, last};
  }
  HV_CHECK(map.permit_all(vm_kv, std::span<const page_range>(kv_ranges, kv_n)) == errc::ok);
  std::printf("  vm-kv: %zu ranges granted at once, %" PRIu64 " pages in %" PRIu64 " runs, %zu B\n", kv_n,
              pages_of(map, vm_kv), runs_of(map, vm_kv), map.memory_bytes(vm_kv));
  HV_CHECK(pages_of(map, vm_kv) == 64 * block - 3);
  HV_CHECK(!map.permitted(vm_kv, poisoned[0]));

  // Scattered pages for vm-ci, under a 2 KiB budget for its set: pages come back
  // from other guests' balloons one by one, and the budget stops the scatter before
  // it costs the hypervisor more than it agreed to.
  HV_CHECK(map.set_budget(vm_ci, 2048) == errc::ok);
  std::uint64_t granted = 0;
  errc stop = errc::ok;
  page_t next = ci_base;
  for (int i = 0; i < 4096 && stop == errc::ok; ++i, next += 37) {
    stop = map.permit(vm_ci, page_range::single(next));
    if (stop == errc::ok) ++granted;
  }
  std::printf("  vm-ci: %" PRIu64 " scattered pages before the budget said %s; its set holds %zu B of 2048 B\n",
              granted, pmemperm::to_string(stop), map.memory_bytes(vm_ci));
  HV_CHECK(stop == errc::budget_exceeded);
  HV_CHECK(map.memory_bytes(vm_ci) <= 2048);
  HV_CHECK(pages_of(map, vm_ci) == granted);  // the refused page left nothing behind
  HV_CHECK(!map.permitted(vm_ci, next - 37));

  // Exclusivity: vm-ci may not get a page vm-db holds.
  HV_CHECK(map.permit_exclusive(vm_ci, page_range::single(db_slice.first + 5)) == errc::conflict);
  HV_CHECK(!map.permitted(vm_ci, db_slice.first + 5));
  std::printf("  vm-ci asking for a page of vm-db's slice exclusively: conflict, nothing changed\n");

  // dom0 keeps a small management window at the end of nvdimm0.
  HV_CHECK(map.permit(dom0, page_range::from_count(nvdimm0.last - 255, 256)) == errc::ok);
  print_memory("after assignment", map, heap);
}

void guests_fault(const permissions& map, ept_stats& ept) {
  std::printf("\n2. EPT violations\n");
  struct fault {
    domain_id d;
    page_t host;
    bool expect;
  };
  static constexpr fault faults[] = {
      {vm_db, db_slice.first, true},     {vm_db, db_slice.last, true},     {vm_db, db_slice.last + 1, false},
      {vm_kv, kv_base, true},            {vm_kv, kv_base + block, false},  {vm_kv, poisoned[1], false},
      {vm_kv, poisoned[1] + 1, true},    {vm_ci, ci_base, true},           {vm_ci, ci_base + 1, false},
      {dom0, db_slice.first, false},     {7, kv_base, false},  // a domain that does not exist
  };
  for (const fault& f : faults) {
    const bool ok = on_ept_violation(map, f.d, f.host, ept);
    std::printf("  %-6s touches page %#" PRIx64 ": %s\n", name_of(f.d), f.host, ok ? "mapped" : "refused");
    HV_CHECK(ok == f.expect);
  }
  // A burst, as after a guest boots: every page of vm-kv's first block.
  for (page_t p = kv_base; p < kv_base + block; ++p) HV_CHECK(on_ept_violation(map, vm_kv, p, ept));
  std::printf("  burst: vm-kv faults in its first 2 MiB block: %" PRIu64 " mapped, %" PRIu64 " refused in all\n",
              ept.mapped, ept.refused);
}

void move_region(permissions& map, const heap_meter& heap) {
  // 64 MiB of vm-db's slice goes to vm-kv (say, a live resize).
  std::printf("\n3. transfer\n");
  const page_range moved = page_range::from_count(db_slice.first + pages_per_gib / 2, 16384);
  HV_CHECK(print_holders(map, moved.first) == 1);
  HV_CHECK(map.transfer(vm_db, vm_kv, moved) == errc::ok);
  std::printf("  64 MiB moved from vm-db to vm-kv: vm-db now %" PRIu64 " runs, vm-kv %" PRIu64 " runs\n",
              runs_of(map, vm_db), runs_of(map, vm_kv));
  HV_CHECK(print_holders(map, moved.first) == 1);
  HV_CHECK(map.permitted(vm_kv, moved) && !map.permitted(vm_db, moved.first) && !map.permitted(vm_db, moved.last));
  HV_CHECK(map.permitted(vm_db, moved.first - 1) && map.permitted(vm_db, moved.last + 1));
  // The same move again fails: vm-db no longer holds it, and nothing changes.
  const std::uint64_t kv_before = pages_of(map, vm_kv);
  HV_CHECK(map.transfer(vm_db, vm_kv, moved) == errc::not_held);
  HV_CHECK(pages_of(map, vm_kv) == kv_before);
  std::printf("  the same transfer again: not_held, nothing changed\n");
  print_memory("after transfer", map, heap);
}

void revoke_and_unmap(permissions& map, const heap_meter& heap) {
  // 128 MiB of nvdimm1 goes back from vm-kv: unmap exactly the pages it loses.
  std::printf("\n4. deny and unmap\n");
  const page_range revoked = page_range::from_count(kv_base + 16 * 2 * block, 32 * 2 * block);
  std::uint64_t expect_lost = 0;
  const bool walked = map.find(vm_kv)->for_each_range(revoked, [&expect_lost](page_range r) {
    expect_lost += r.size();
    return true;
  });
  HV_CHECK(walked);
  std::uint64_t unmapped = 0, unmap_calls = 0;
  const errc denied = map.deny(vm_kv, revoked, [&](page_range r) {
    unmapped += r.size();  // here: clear the EPT entries for r, then flush the TLBs
    ++unmap_calls;
  });
  std::printf("  deny of %" PRIu64 " pages: %s; unmapped %" PRIu64 " pages in %" PRIu64 " call(s)\n",
              revoked.size(), pmemperm::to_string(denied), unmapped, unmap_calls);
  HV_CHECK(denied == errc::ok);
  HV_CHECK(unmapped == expect_lost);
  HV_CHECK(unmap_calls == 34);  // 32 blocks, two of them cut by a poisoned page
  HV_CHECK(!map.permitted(vm_kv, revoked.first + 1));
  // Denying it again unmaps nothing.
  unmapped = 0;
  HV_CHECK(map.deny(vm_kv, revoked, [&](page_range r) { unmapped += r.size(); }) == errc::ok);
  HV_CHECK(unmapped == 0);
  print_memory("after deny", map, heap);
}

void tear_down(permissions& map, const heap_meter& heap, ept_stats& ept) {
  std::printf("\n5. destroy\n");
  HV_CHECK(map.destroy(vm_db) == errc::ok);
  HV_CHECK(map.destroy(vm_db) == errc::no_such_domain);
  HV_CHECK(print_holders(map, db_slice.first) == 0);
  HV_CHECK(!on_ept_violation(map, vm_db, db_slice.first, ept));
  HV_CHECK(map.memory_bytes(vm_db) == 0);
  print_memory("after destroying vm-db", map, heap);
  HV_CHECK(map.destroy(vm_kv) == errc::ok);
  HV_CHECK(map.destroy(vm_ci) == errc::ok);
  HV_CHECK(map.destroy(dom0) == errc::ok);
  HV_CHECK(map.domain_count() == 0);
  print_memory("after destroying all", map, heap);
  std::printf("  EPT violations handled: %" PRIu64 " mapped, %" PRIu64 " refused\n", ept.mapped, ept.refused);
}

int run() {
  heap_meter heap;
  heap.limit = std::size_t{8} << 20;  // 8 MiB set aside for permission tracking
  {
    permissions map{metered_heap(heap)};
    ept_stats ept;
    std::printf("NVDIMM regions: nvdimm0 pages [%#" PRIx64 ", %#" PRIx64 "], nvdimm1 pages [%#" PRIx64 ", %#" PRIx64
                "]\n",
                nvdimm0.first, nvdimm0.last, nvdimm1.first, nvdimm1.last);
    assign_regions(map, heap);
    guests_fault(map, ept);
    move_region(map, heap);
    revoke_and_unmap(map, heap);
    tear_down(map, heap, ept);
  }
  std::printf("\npeak memory for permission tracking: %zu B; after the map is gone: %zu B\n", heap.peak, heap.live);
  HV_CHECK(heap.live == 0);
  return failed_checks;
}

}  // namespace

int main() {
  const int failed = run();
  if (failed != 0) {
    std::printf("\nmini_hypervisor: %d check(s) FAILED\n", failed);
    return 1;
  }
  std::printf("\nmini_hypervisor: all checks passed\n");
  return 0;
}
