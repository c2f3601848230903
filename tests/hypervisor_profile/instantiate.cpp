// tests/hypervisor_profile/instantiate.cpp — real code for the hypervisor-profile check.
//
// A header compiled on its own instantiates no template, so warnings that need code
// (-Wframe-larger-than, most of -Wconversion, -Wshadow inside member templates)
// would never fire on the backends. This translation unit instantiates every backend
// with the default and with a stateful allocator and calls every member, the
// visitor overloads through lambdas included; check.sh compiles it with -O2 into an
// object file under the hypervisor profile. Nothing links or runs it.
//
// Backends are picked up through __has_include, so a header that does not exist
// yet is skipped; a new backend needs a guarded include, a guarded explicit
// instantiation of the class and a guarded block instantiating entry<> for it.
// visitors<> (void-returning and bool-returning visitors through every visitor
// API, detail/visitor.hpp) is instantiated for every backend.
#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <utility>

#include <pmemperm/allocator.hpp>
#include <pmemperm/page_set.hpp>
#include <pmemperm/testing.hpp>
#include <pmemperm/types.hpp>

#if __has_include(<pmemperm/pmemperm.hpp>)
#  include <pmemperm/pmemperm.hpp>
#endif
#if __has_include(<pmemperm/backends/rangeset.hpp>)
#  include <pmemperm/backends/rangeset.hpp>
#endif
#if __has_include(<pmemperm/backends/capped_page.hpp>)
#  include <pmemperm/backends/capped_page.hpp>
#endif
#if __has_include(<pmemperm/backends/flat_bitmap.hpp>)
#  include <pmemperm/backends/flat_bitmap.hpp>
#endif
#if __has_include(<pmemperm/backends/chunked_bitmap.hpp>)
#  include <pmemperm/backends/chunked_bitmap.hpp>
#endif
#if __has_include(<pmemperm/backends/hybrid.hpp>)
#  include <pmemperm/backends/hybrid.hpp>
#endif
#if __has_include(<pmemperm/permission_map.hpp>)
#  include <pmemperm/permission_map.hpp>
#endif
#if __has_include(<pmemperm/synchronized.hpp>)
#  include <pmemperm/synchronized.hpp>
#endif

// Explicit instantiation compiles every non-template member, called below or not.
#if __has_include(<pmemperm/backends/rangeset.hpp>)
template class pmemperm::rangeset<pmemperm::new_allocator>;
#endif
#if __has_include(<pmemperm/backends/flat_bitmap.hpp>)
template class pmemperm::flat_bitmap<pmemperm::new_allocator>;
#endif
#if __has_include(<pmemperm/backends/chunked_bitmap.hpp>)
template class pmemperm::chunked_bitmap<pmemperm::new_allocator>;
#endif
#if __has_include(<pmemperm/backends/hybrid.hpp>)
template class pmemperm::hybrid<pmemperm::new_allocator>;
#endif
#if __has_include(<pmemperm/permission_map.hpp>) && __has_include(<pmemperm/backends/rangeset.hpp>)
template class pmemperm::permission_map<pmemperm::rangeset<>>;
#endif
#if __has_include(<pmemperm/permission_map.hpp>) && __has_include(<pmemperm/backends/chunked_bitmap.hpp>)
template class pmemperm::permission_map<pmemperm::chunked_bitmap<>, std::uint32_t>;
#endif
#if __has_include(<pmemperm/permission_map.hpp>) && __has_include(<pmemperm/backends/capped_page.hpp>)
template class pmemperm::permission_map<pmemperm::capped_page, std::uint8_t>;
#endif

namespace hv_profile {

using pmemperm::errc;
using pmemperm::page_range;

// Every result feeds a checksum the entry points return, so -O2 cannot drop a call.
class sink {
 public:
  void add(errc e) noexcept { sum_ = sum_ * 31 + static_cast<std::uint64_t>(e); }
  void add(bool b) noexcept { sum_ = sum_ * 31 + (b ? 1U : 0U); }
  void add(std::uint64_t v) noexcept { sum_ = sum_ * 31 + v; }
  void add(page_range r) noexcept { add(r.first ^ (r.last << 1)); }
  [[nodiscard]] std::uint64_t value() const noexcept { return sum_; }

 private:
  std::uint64_t sum_ = 0;
};

// Calls every member the page_set concept promises (and check_invariants where a
// backend has one) on sets and pages the optimiser knows nothing about: an object
// it had just constructed would let -O2 fold the calls away, leaving no frame to
// measure. Objects live in caller storage, never on these frames: a capped_page is
// a whole 4 KiB page, and a hypervisor stack would not hold it either.
template <pmemperm::page_set S>
struct entry {
  static std::uint64_t run(S& a, S& b, void* spare, page_range r, pmemperm::page_t p) noexcept {
    sink out;
    auto on_change = [&out](page_range changed) noexcept { out.add(changed); };
    auto until_far = [&out, p](page_range run) noexcept {
      out.add(run);
      return run.last < p;
    };

    out.add(a.grant(r));
    out.add(a.grant(page_range::from_count(p, r.size()), on_change));
    out.add(a.revoke(page_range::single(p)));
    out.add(a.revoke(page_range::closed(r.first, p), on_change));
    out.add(a.reserve(static_cast<std::size_t>(p & 7u)));
    out.add(a.revoke_exact(page_range::single(p + 1)));
    out.add(a.revoke_exact(page_range::single(p + 3), on_change));
    out.add(a.shrink_to_fit());
    if constexpr (requires { a.reserve_count(); a.reserve_full(); }) {
      out.add(static_cast<std::uint64_t>(a.reserve_count()));
      out.add(a.reserve_full());
    }

    const S& ca = a;
    out.add(ca.empty());
    out.add(ca.contains(p));
    out.add(ca.contains_all(r));
    out.add(ca.contains_any(r));
    out.add(ca.count());
    out.add(static_cast<std::uint64_t>(ca.range_count()));
    out.add(static_cast<std::uint64_t>(ca.memory_bytes()));
    out.add(ca.for_each_range(until_far));
    out.add(ca.for_each_range(r, until_far));

    out.add(b.assign(ca));
    S* moved = ::new (spare) S(std::move(a));
    a = std::move(b);
    if constexpr (requires { moved->check_invariants(); }) out.add(moved->check_invariants());
    moved->clear();
    out.add(moved->empty());
    moved->~S();
    return out.value();
  }

  // Construction (in caller storage) and destruction, apart from run() for the
  // same reason.
  template <class... Args>
  static S* make(void* storage, Args... args) noexcept {
    return ::new (storage) S(static_cast<Args&&>(args)...);
  }
  static void destroy(S& s) noexcept { s.~S(); }
};

// Every visitor API with a void visitor (walks run to the end) and with a bool one
// (false stops a walk; a grant or revoke ignores it), and a visitor whose result
// is only convertible to bool.
template <pmemperm::page_set S>
struct visitors {
  struct flag {
    bool value;
    explicit(false) operator bool() const noexcept { return value; }
  };
  static std::uint64_t run(S& a, page_range r, pmemperm::page_t p) noexcept {
    sink out;
    auto note = [&out](page_range x) noexcept { out.add(x); };
    auto stop = [&out](page_range x) noexcept {
      out.add(x);
      return false;
    };
    auto until = [p](page_range x) noexcept { return flag{x.last < p}; };
    out.add(a.grant(r, stop));
    out.add(a.revoke(page_range::single(p), stop));
    out.add(a.revoke_exact(page_range::single(p + 2), stop));
    out.add(a.grant(page_range::single(p), note));
    out.add(a.for_each_range(note));
    out.add(a.for_each_range(r, note));
    out.add(a.for_each_range(stop));
    out.add(a.for_each_range(r, until));
    return out.value();
  }
};

using counting = pmemperm::counting_allocator<>;
using failing = pmemperm::failing_allocator<>;

// ---- one block per backend: entry<> with the default and a stateful allocator

#if __has_include(<pmemperm/backends/rangeset.hpp>)
template struct entry<pmemperm::rangeset<>>;
template pmemperm::rangeset<>* entry<pmemperm::rangeset<>>::make(void*);
template struct entry<pmemperm::rangeset<counting>>;
template pmemperm::rangeset<counting>* entry<pmemperm::rangeset<counting>>::make(void*, counting);
template struct visitors<pmemperm::rangeset<>>;
#endif

#if __has_include(<pmemperm/backends/capped_page.hpp>)
template struct entry<pmemperm::capped_page>;
template pmemperm::capped_page* entry<pmemperm::capped_page>::make(void*);
template struct visitors<pmemperm::capped_page>;
#endif

#if __has_include(<pmemperm/backends/flat_bitmap.hpp>)
template struct entry<pmemperm::flat_bitmap<>>;
template pmemperm::flat_bitmap<>* entry<pmemperm::flat_bitmap<>>::make(void*, pmemperm::page_t);
template struct entry<pmemperm::flat_bitmap<counting>>;
template pmemperm::flat_bitmap<counting>* entry<pmemperm::flat_bitmap<counting>>::make(
    void*, pmemperm::page_t, counting);
template struct visitors<pmemperm::flat_bitmap<>>;
#endif

#if __has_include(<pmemperm/backends/chunked_bitmap.hpp>)
template struct entry<pmemperm::chunked_bitmap<>>;
template pmemperm::chunked_bitmap<>* entry<pmemperm::chunked_bitmap<>>::make(void*);
template struct entry<pmemperm::chunked_bitmap<counting>>;
template pmemperm::chunked_bitmap<counting>* entry<pmemperm::chunked_bitmap<counting>>::make(
    void*, counting);
template struct entry<pmemperm::chunked_bitmap<failing, 64>>;
template pmemperm::chunked_bitmap<failing, 64>* entry<pmemperm::chunked_bitmap<failing, 64>>::make(void*,
                                                                                                    failing);
template struct visitors<pmemperm::chunked_bitmap<>>;
#endif

#if __has_include(<pmemperm/backends/hybrid.hpp>)
template struct entry<pmemperm::hybrid<>>;
template pmemperm::hybrid<>* entry<pmemperm::hybrid<>>::make(void*);
template struct entry<pmemperm::hybrid<counting>>;
template pmemperm::hybrid<counting>* entry<pmemperm::hybrid<counting>>::make(void*, counting);
template struct visitors<pmemperm::hybrid<>>;
#endif

#if __has_include(<pmemperm/permission_map.hpp>) && __has_include(<pmemperm/backends/rangeset.hpp>)
// The per-domain map over one heap backend, through every public member.
using domain_map = pmemperm::permission_map<pmemperm::rangeset<>>;

std::uint64_t permission_map_run(domain_map& m, std::uint16_t d, std::uint16_t e, page_range r,
                                 pmemperm::page_t p) noexcept {
  sink out;
  const page_range several[] = {r, page_range::single(p)};
  out.add(m.permit(d, r));
  out.add(m.permit_all(e, std::span<const page_range>(several)));
  out.add(m.permit_exclusive(d, page_range::single(p)));
  out.add(m.transfer(d, e, r));
  out.add(m.deny(d, page_range::single(p)));
  out.add(m.set_budget(e, std::size_t{1} << 20));

  const domain_map& cm = m;
  out.add(cm.permitted(d, p));
  out.add(cm.permitted(e, r));
  out.add(cm.find(d) != nullptr);
  out.add(static_cast<std::uint64_t>(cm.memory_bytes()));
  out.add(static_cast<std::uint64_t>(cm.memory_bytes(e)));
  out.add(cm.for_each_holder(p, [&out](std::uint16_t holder) noexcept {
    out.add(std::uint64_t{holder});
    return true;
  }));
  out.add(m.destroy(e));
  return out.value();
}
domain_map* permission_map_make(void* storage) noexcept { return ::new (storage) domain_map(); }
void permission_map_destroy(domain_map& m) noexcept { m.~domain_map(); }
#endif

#if __has_include(<pmemperm/permission_map.hpp>)
// Every public member of the map, visitors of both kinds included, over the heap
// and the fixed-size backends of this repository that take both kinds (the map
// itself takes both kinds of domain visitor whatever the set).
template <class Map>
std::uint64_t map_members(Map& m, typename Map::domain_type d, typename Map::domain_type e, page_range r,
                          pmemperm::page_t p) noexcept {
  using domain = typename Map::domain_type;
  sink out;
  auto note = [&out](page_range x) noexcept { out.add(x); };
  auto stop = [&out](page_range x) noexcept {
    out.add(x);
    return false;
  };
  auto each = [&out](domain x) noexcept { out.add(std::uint64_t{x}); };
  auto first = [&out](domain x) noexcept {
    out.add(std::uint64_t{x});
    return false;
  };
  const page_range several[] = {r, page_range::single(p)};
  out.add(m.set_budget(e, std::size_t{1} << 20));
  out.add(m.permit(d, r));
  out.add(m.permit_all(e, std::span<const page_range>(several)));
  out.add(m.permit_exclusive(d, page_range::single(p)));
  out.add(m.reserve(d, 2));
  out.add(m.transfer(d, e, r));
  out.add(m.deny(d, page_range::single(p)));
  out.add(m.deny(d, page_range::single(p + 1), note));
  out.add(m.deny(d, page_range::single(p + 2), stop));
  out.add(m.deny_exact(d, page_range::single(p + 3)));
  out.add(m.deny_exact(d, page_range::single(p + 4), stop));

  const Map& cm = m;
  out.add(cm.permitted(d, p));
  out.add(cm.permitted(e, r));
  out.add(cm.find(d) != nullptr);
  out.add(static_cast<std::uint64_t>(cm.budget(e)));
  out.add(static_cast<std::uint64_t>(cm.domain_count()));
  out.add(static_cast<std::uint64_t>(cm.memory_bytes()));
  out.add(static_cast<std::uint64_t>(cm.memory_bytes(e)));
  out.add(cm.for_each_holder(p, each));
  out.add(cm.for_each_holder(p, first));
  out.add(cm.for_each_domain(each));
  out.add(cm.for_each_domain(first));
  out.add(cm.check_invariants());
  out.add(m.destroy(d, stop));
  out.add(m.destroy(e, note));
  out.add(m.destroy(e));
  return out.value();
}

#  if __has_include(<pmemperm/backends/chunked_bitmap.hpp>)
using chunked_map = pmemperm::permission_map<pmemperm::chunked_bitmap<>, std::uint32_t>;
template std::uint64_t map_members<chunked_map>(chunked_map&, std::uint32_t, std::uint32_t, page_range,
                                                pmemperm::page_t) noexcept;
#  endif
#  if __has_include(<pmemperm/backends/hybrid.hpp>)
using hybrid_map = pmemperm::permission_map<pmemperm::hybrid<>, std::uint64_t>;
template std::uint64_t map_members<hybrid_map>(hybrid_map&, std::uint64_t, std::uint64_t, page_range,
                                               pmemperm::page_t) noexcept;
#  endif
#  if __has_include(<pmemperm/backends/capped_page.hpp>)
using capped_map = pmemperm::permission_map<pmemperm::capped_page, std::uint8_t>;
template std::uint64_t map_members<capped_map>(capped_map&, std::uint8_t, std::uint8_t, page_range,
                                               pmemperm::page_t) noexcept;
#  endif

#  if __has_include(<pmemperm/synchronized.hpp>) && __has_include(<pmemperm/backends/chunked_bitmap.hpp>)
// The reader/writer wrapper: every member, with its own lock type (a hypervisor's
// spinlock would look like this) so the test needs no std::shared_mutex frame.
struct test_lock {
  void lock() noexcept {}
  void unlock() noexcept {}
  void lock_shared() noexcept {}
  void unlock_shared() noexcept {}
};
using shared_map = pmemperm::synchronized_permission_map<chunked_map, test_lock>;

std::uint64_t synchronized_run(shared_map& m, std::uint32_t d, std::uint32_t e, page_range r,
                               pmemperm::page_t p) noexcept {
  sink out;
  auto note = [&out](page_range x) noexcept { out.add(x); };
  auto each = [&out](std::uint32_t x) noexcept { out.add(std::uint64_t{x}); };
  const page_range several[] = {r, page_range::single(p)};
  out.add(m.permit(d, r));
  out.add(m.permit_all(e, std::span<const page_range>(several)));
  out.add(m.permit_exclusive(d, page_range::single(p)));
  out.add(m.transfer(d, e, r));
  out.add(m.set_budget(e, std::size_t{1} << 20));
  out.add(m.deny(d, page_range::single(p)));
  out.add(m.deny(d, page_range::single(p + 1), note));
  out.add(m.permitted(d, p));
  out.add(m.permitted(e, r));
  out.add(static_cast<std::uint64_t>(m.memory_bytes()));
  out.add(static_cast<std::uint64_t>(m.memory_bytes(e)));
  out.add(static_cast<std::uint64_t>(m.budget(e)));
  out.add(static_cast<std::uint64_t>(m.domain_count()));
  out.add(m.for_each_holder(p, each));
  out.add(m.for_each_domain(each));
  out.add(m.with_set(d, [](const shared_map::set_type* s) noexcept { return s != nullptr && s->contains(0); }));
  out.add(static_cast<std::uint64_t>(m.read([](const chunked_map& cm) noexcept { return cm.domain_count(); })));
  out.add(m.write([d](chunked_map& wm) noexcept { return wm.reserve(d, 1); }));
  out.add(m.check_invariants());
  out.add(m.destroy(d, note));
  out.add(m.destroy(e));
  return out.value();
}
#  endif
#endif

}  // namespace hv_profile
