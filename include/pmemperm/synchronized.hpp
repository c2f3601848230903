// pmemperm/synchronized.hpp — a permission_map shared between threads.
//
// permission_map is not internally synchronised, like a std container: one writer
// or any number of readers at a time is the caller's business. This optional
// header (not included by pmemperm.hpp) provides the usual answer for a hypervisor
// whose vCPU threads ask "may this domain map this page" while a management thread
// grants, revokes and moves pages: synchronized_permission_map wraps a map and a
// reader/writer lock.
//
//  - Queries (permitted, memory_bytes, budget, domain_count, for_each_holder,
//    for_each_domain, with_set, read, check_invariants) take the lock shared: any
//    number run at once.
//  - Changes (permit, deny, destroy, set_budget, permit_all, permit_exclusive,
//    transfer, write) take it exclusively.
// So every call is atomic with respect to every other: a reader never sees half of a
// permit_all or a transfer (a page of a transfer's range is held by `from` or by
// `to`, never by both or neither), and a failed call is invisible. A decision that
// needs several queries, or a query and a change, to agree ("permit if no one else
// holds it", "count both domains") goes through read() or write(), which run a
// callback on the map under one lock.
//
// The lock is a template parameter: any type with lock/unlock/lock_shared/
// unlock_shared (the std::shared_mutex interface) — std::shared_mutex by default, or
// a hypervisor's own reader/writer spinlock. Locking costs one atomic
// read-modify-write per call on top of the map's own cost, and readers contend
// on the lock's cache line. std::shared_mutex on glibc prefers readers: a steady
// stream of queries can hold a writer off; an embedder that needs writer
// preference (revocations must not wait) supplies a lock that has it.
//
// Failure behaviour: exactly the wrapped map's. Every member is noexcept: a lock
// that throws (std::shared_mutex may report a deadlock it detects with
// std::system_error) terminates the program, the right outcome for a broken lock in
// a hypervisor. Callbacks (deny's visitor, for_each_holder's f, with_set, read,
// write) run while the lock is held: they must not call the same wrapper again,
// which would deadlock, and they should be short, since they hold off writers (or
// readers).
#pragma once

#include <concepts>
#include <cstddef>
#include <shared_mutex>
#include <span>
#include <type_traits>
#include <utility>

#include "permission_map.hpp"
#include "types.hpp"

namespace pmemperm {

/// A reader/writer lock: lock()/unlock() exclusive, lock_shared()/unlock_shared()
/// shared, as std::shared_mutex offers.
template <class M>
concept shared_lockable = requires(M& m) {
  m.lock();
  m.unlock();
  m.lock_shared();
  m.unlock_shared();
};

namespace detail {

template <class M>
class exclusive_guard {
 public:
  explicit exclusive_guard(M& m) noexcept : m_(m) { m_.lock(); }
  ~exclusive_guard() { m_.unlock(); }
  exclusive_guard(const exclusive_guard&) = delete;
  exclusive_guard& operator=(const exclusive_guard&) = delete;

 private:
  M& m_;
};

template <class M>
class shared_guard {
 public:
  explicit shared_guard(M& m) noexcept : m_(m) { m_.lock_shared(); }
  ~shared_guard() { m_.unlock_shared(); }
  shared_guard(const shared_guard&) = delete;
  shared_guard& operator=(const shared_guard&) = delete;

 private:
  M& m_;
};

}  // namespace detail

/// A Map (a permission_map) guarded by a SharedMutex: shared for queries, exclusive
/// for changes. Neither copyable nor movable (the lock is not).
template <class Map, shared_lockable SharedMutex = std::shared_mutex>
class synchronized_permission_map {
 public:
  using map_type = Map;
  using mutex_type = SharedMutex;
  using domain_type = typename Map::domain_type;
  using set_type = typename Map::set_type;

  synchronized_permission_map() noexcept
    requires std::is_nothrow_default_constructible_v<Map>
  = default;
  /// Takes over a map (built with its allocator, possibly already filled).
  explicit synchronized_permission_map(Map&& m) noexcept : map_(static_cast<Map&&>(m)) {}
  synchronized_permission_map(const synchronized_permission_map&) = delete;
  synchronized_permission_map& operator=(const synchronized_permission_map&) = delete;

  // ---- changes: exclusive ---------------------------------------------------------

  [[nodiscard]] errc permit(domain_type d, page_range r) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return map_.permit(d, r);
  }
  [[nodiscard]] errc deny(domain_type d, page_range r) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return map_.deny(d, r);
  }
  /// on_removed runs under the lock, before any reader can see the pages gone.
  template <class F>
  [[nodiscard]] errc deny(domain_type d, page_range r, F&& on_removed) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return map_.deny(d, r, static_cast<F&&>(on_removed));
  }
  [[nodiscard]] errc destroy(domain_type d) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return map_.destroy(d);
  }
  [[nodiscard]] errc set_budget(domain_type d, std::size_t bytes) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return map_.set_budget(d, bytes);
  }
  [[nodiscard]] errc permit_all(domain_type d, std::span<const page_range> rs) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return map_.permit_all(d, rs);
  }
  [[nodiscard]] errc permit_exclusive(domain_type d, page_range r) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return map_.permit_exclusive(d, r);
  }
  [[nodiscard]] errc transfer(domain_type from, domain_type to, page_range r) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return map_.transfer(from, to, r);
  }
  /// Runs f(Map&) under the exclusive lock and returns its result: several
  /// changes and queries as one atomic step.
  template <class F>
  decltype(auto) write(F&& f) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return static_cast<F&&>(f)(map_);
  }

  // ---- queries: shared ------------------------------------------------------------

  [[nodiscard]] bool permitted(domain_type d, page_t p) const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return map_.permitted(d, p);
  }
  [[nodiscard]] bool permitted(domain_type d, page_range r) const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return map_.permitted(d, r);
  }
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return map_.memory_bytes();
  }
  [[nodiscard]] std::size_t memory_bytes(domain_type d) const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return map_.memory_bytes(d);
  }
  [[nodiscard]] std::size_t budget(domain_type d) const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return map_.budget(d);
  }
  [[nodiscard]] std::size_t domain_count() const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return map_.domain_count();
  }
  template <class F>
  [[nodiscard]] bool for_each_holder(page_t p, F&& f) const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return map_.for_each_holder(p, static_cast<F&&>(f));
  }
  template <class F>
  [[nodiscard]] bool for_each_domain(F&& f) const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return map_.for_each_domain(static_cast<F&&>(f));
  }
  /// The map's find(d) cannot be offered as is: the pointer would outlive the lock.
  /// Instead f(const set_type*) (nullptr for an unknown domain) runs under the
  /// shared lock, and its result is returned.
  template <class F>
  decltype(auto) with_set(domain_type d, F&& f) const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return static_cast<F&&>(f)(map_.find(d));
  }
  /// Runs f(const Map&) under the shared lock and returns its result: several
  /// queries that see one state.
  template <class F>
  decltype(auto) read(F&& f) const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return static_cast<F&&>(f)(static_cast<const Map&>(map_));
  }
  [[nodiscard]] bool check_invariants() const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return map_.check_invariants();
  }

 private:
  mutable SharedMutex mutex_;
  Map map_;
};

}  // namespace pmemperm
