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

#include "config.hpp"  // first: below C++20 it stops with one #error

#include <concepts>
#include <cstddef>
#include <shared_mutex>
#include <span>
#include <type_traits>
#include <utility>

#include "detail/visitor.hpp"
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

/// Holds m locked exclusively for its lifetime (lock() here, unlock() when destroyed).
template <class M>
class exclusive_guard {
 public:
  /// m.lock(); blocks until it is taken.
  explicit exclusive_guard(M& m) noexcept : m_(m) { m_.lock(); }
  /// m.unlock().
  ~exclusive_guard() { m_.unlock(); }
  /// Not copyable: one guard, one unlock.
  exclusive_guard(const exclusive_guard&) = delete;
  exclusive_guard& operator=(const exclusive_guard&) = delete;

 private:
  M& m_;
};

/// Holds m locked shared for its lifetime (lock_shared() here, unlock_shared() when
/// destroyed).
template <class M>
class shared_guard {
 public:
  /// m.lock_shared(); blocks while a writer holds it.
  explicit shared_guard(M& m) noexcept : m_(m) { m_.lock_shared(); }
  /// m.unlock_shared().
  ~shared_guard() { m_.unlock_shared(); }
  /// Not copyable: one guard, one unlock.
  shared_guard(const shared_guard&) = delete;
  shared_guard& operator=(const shared_guard&) = delete;

 private:
  M& m_;
};

}  // namespace detail

/// A Map (a permission_map) guarded by a SharedMutex: shared for queries, exclusive
/// for changes. Neither copyable nor movable (the lock is not). Every member below
/// is the wrapped map's member of the same name under the lock: the same
/// complexity plus one lock and one unlock, the same errc values and the same
/// failure guarantee (see permission_map).
template <class Map, shared_lockable SharedMutex = std::shared_mutex>
class synchronized_permission_map {
 public:
  /// The wrapped map type.
  using map_type = Map;
  /// The lock type.
  using mutex_type = SharedMutex;
  /// The map's domain id type.
  using domain_type = typename Map::domain_type;
  /// The map's per-domain set type.
  using set_type = typename Map::set_type;

  /// An empty map and an unlocked lock. Never allocates.
  synchronized_permission_map() noexcept
    requires std::is_nothrow_default_constructible_v<Map>
  = default;
  /// Takes over a map (built with its allocator, possibly already filled). O(1).
  explicit synchronized_permission_map(Map&& m) noexcept : map_(static_cast<Map&&>(m)) {}
  /// Not copyable (nor movable: the lock is not).
  synchronized_permission_map(const synchronized_permission_map&) = delete;
  /// Not copyable.
  synchronized_permission_map& operator=(const synchronized_permission_map&) = delete;

  // ---- changes: exclusive ---------------------------------------------------------

  /// Map::permit under the exclusive lock: ok, invalid_range, out_of_memory,
  /// budget_exceeded, capacity_exceeded; a failure changes nothing.
  [[nodiscard]] errc permit(domain_type d, page_range r) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return map_.permit(d, r);
  }
  /// Map::deny under the exclusive lock: ok, revoked_extra (the revoke rule), or
  /// invalid_range / no_such_domain with nothing changed.
  [[nodiscard]] errc deny(domain_type d, page_range r) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return map_.deny(d, r);
  }
  /// Map::deny(d, r, on_removed) under the exclusive lock; on_removed (a
  /// range_visitor, result ignored) runs under the lock, before any reader can see
  /// the pages gone.
  template <range_visitor F>
  [[nodiscard]] errc deny(domain_type d, page_range r, F&& on_removed) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return map_.deny(d, r, static_cast<F&&>(on_removed));
  }
  /// Map::destroy under the exclusive lock: ok, or no_such_domain (nothing changed).
  [[nodiscard]] errc destroy(domain_type d) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return map_.destroy(d);
  }
  /// Map::destroy(d, on_removed) under the exclusive lock; on_removed (a
  /// range_visitor, result ignored) sees every run d held, under the lock.
  template <range_visitor F>
  [[nodiscard]] errc destroy(domain_type d, F&& on_removed) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return map_.destroy(d, static_cast<F&&>(on_removed));
  }
  /// Map::set_budget under the exclusive lock: ok, budget_exceeded, out_of_memory;
  /// a failure changes nothing.
  [[nodiscard]] errc set_budget(domain_type d, std::size_t bytes) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return map_.set_budget(d, bytes);
  }
  /// Map::permit_all under the exclusive lock: all or nothing, so readers never see
  /// part of it.
  [[nodiscard]] errc permit_all(domain_type d, std::span<const page_range> rs) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return map_.permit_all(d, rs);
  }
  /// Map::permit_exclusive under the exclusive lock: the conflict check and the
  /// permit are one atomic step.
  [[nodiscard]] errc permit_exclusive(domain_type d, page_range r) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return map_.permit_exclusive(d, r);
  }
  /// Map::transfer under the exclusive lock: a reader sees each page of r held by
  /// `from` or by `to`, never by both or neither.
  [[nodiscard]] errc transfer(domain_type from, domain_type to, page_range r) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return map_.transfer(from, to, r);
  }
  /// Runs f(Map&) under the exclusive lock and returns its result: several
  /// changes and queries as one atomic step. Costs what f does.
  template <class F>
    requires requires(F&& f, Map& m) { static_cast<F&&>(f)(m); }
  decltype(auto) write(F&& f) noexcept {
    const detail::exclusive_guard<SharedMutex> g(mutex_);
    return static_cast<F&&>(f)(map_);
  }

  // ---- queries: shared ------------------------------------------------------------

  /// Map::permitted(d, p) under the shared lock.
  [[nodiscard]] bool permitted(domain_type d, page_t p) const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return map_.permitted(d, p);
  }
  /// Map::permitted(d, r) under the shared lock.
  [[nodiscard]] bool permitted(domain_type d, page_range r) const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return map_.permitted(d, r);
  }
  /// Map::memory_bytes() under the shared lock: every byte the map holds.
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return map_.memory_bytes();
  }
  /// Map::memory_bytes(d) under the shared lock (0 for an unknown domain).
  [[nodiscard]] std::size_t memory_bytes(domain_type d) const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return map_.memory_bytes(d);
  }
  /// Map::budget(d) under the shared lock (SIZE_MAX: none, or unknown domain).
  [[nodiscard]] std::size_t budget(domain_type d) const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return map_.budget(d);
  }
  /// Map::domain_count() under the shared lock.
  [[nodiscard]] std::size_t domain_count() const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return map_.domain_count();
  }
  /// Map::for_each_holder under the shared lock: f(domain_type) returns void, or
  /// bool (false stops: this then returns false). f runs under the lock.
  template <visitor_of<domain_type> F>
  [[nodiscard]] bool for_each_holder(page_t p, F&& f) const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return map_.for_each_holder(p, static_cast<F&&>(f));
  }
  /// Map::for_each_domain under the shared lock: f(domain_type) returns void, or
  /// bool (false stops: this then returns false). f runs under the lock.
  template <visitor_of<domain_type> F>
  [[nodiscard]] bool for_each_domain(F&& f) const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return map_.for_each_domain(static_cast<F&&>(f));
  }
  /// The map's find(d) cannot be offered as is: the pointer would outlive the lock.
  /// Instead f(const set_type*) (nullptr for an unknown domain) runs under the
  /// shared lock, and its result is returned. O(log domains) plus what f does.
  template <class F>
    requires requires(F&& f, const set_type* s) { static_cast<F&&>(f)(s); }
  decltype(auto) with_set(domain_type d, F&& f) const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return static_cast<F&&>(f)(map_.find(d));
  }
  /// Runs f(const Map&) under the shared lock and returns its result: several
  /// queries that see one state. Costs what f does.
  template <class F>
    requires requires(F&& f, const Map& m) { static_cast<F&&>(f)(m); }
  decltype(auto) read(F&& f) const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return static_cast<F&&>(f)(static_cast<const Map&>(map_));
  }
  /// Map::check_invariants() under the shared lock: false means a bug.
  [[nodiscard]] bool check_invariants() const noexcept {
    const detail::shared_guard<SharedMutex> g(mutex_);
    return map_.check_invariants();
  }

 private:
  mutable SharedMutex mutex_;
  Map map_;
};

}  // namespace pmemperm
