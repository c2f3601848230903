// pmemperm/permission_map.hpp — which host pages each domain may access.
//
// permission_map<Set, Domain, Alloc> keeps one page set per live domain, found in an
// ordered index of domain ids (detail/btree.hpp): O(log domains) to reach a domain,
// then the set's own cost. All memory comes from the map's allocator: each domain's
// set is given a metering allocator over it (domain_allocator), which counts that
// domain's bytes exactly and enforces its budget, so `Set` is stored with its
// allocator replaced (set_type; a set without an allocator, like capped_page, is
// stored as it is).
//
// Failure behaviour:
//  - permit, permit_all, permit_exclusive, transfer and set_budget either succeed or
//    change nothing at all (the strong guarantee, memory_bytes() included), and a
//    failed call never creates a domain: a new domain's set is filled first and
//    entered in the index last. A permit that needs more bytes than the domain's
//    budget allows returns budget_exceeded. permit_all builds its result as a copy
//    metered on its own, so the budget bounds that copy; the old set is kept beside
//    it until the copy replaces it.
//  - a successful permit leaves the domain's revoke reserve full (the set's own
//    rule), within the budget: a permit whose refill the budget cannot hold returns
//    budget_exceeded and changes nothing. permit_all of pages the domain already
//    holds succeeds and takes no memory.
//  - deny never fails for memory or budget: the budget is not enforced while
//    denying (a set may need its revoke reserve back), and the sets' revoke rule
//    holds: afterwards no page of the range is accessible to the domain. Only when
//    the domain's reserve was spent and the allocator refused what a split needed
//    does deny take more pages (the fewest it can), report them and return
//    revoked_extra. deny_exact never takes more: it fails with nothing changed.
//  - transfer is exact or nothing: it never takes a page outside r from either
//    domain and never returns revoked_extra. If the source's reserve was spent it
//    is refilled first (that refill is kept even if the transfer then fails; the
//    pages of both domains are unchanged).
//  - Invalid ranges return invalid_range; unknown domains no_such_domain where an
//    answer needs one (permitted() on an unknown domain is simply false).
//
// Holder queries (for_each_holder, the conflict check of permit_exclusive) visit the
// live domains: O(domains x log n). Not internally synchronised: see
// <pmemperm/synchronized.hpp> for a reader/writer wrapper.
#pragma once

#include "config.hpp"  // first: below C++20 it stops with one #error

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <type_traits>

#include "allocator.hpp"
#include "detail/btree.hpp"
#include "detail/visitor.hpp"
#include "page_set.hpp"
#include "types.hpp"

namespace pmemperm {

/// Bytes one domain holds and may hold. Lives in the map's per-domain record.
struct domain_meter {
  std::size_t bytes = 0;          ///< bytes the domain's set holds now
  std::size_t budget = SIZE_MAX;  ///< the most it may hold (set_budget)
  bool enforce = false;             ///< refuse allocations past the budget (while permitting)
  bool refused_for_budget = false;  ///< an allocation was refused because of the budget
};

/// The allocator a permission_map gives each domain's set: forwards to the map's
/// allocator (a copy kept in the domain's record) and meters the domain's bytes.
template <byte_allocator Upstream>
class domain_allocator {
 public:
  /// Allocates from *up and meters into *m; both must outlive every set using it.
  domain_allocator(Upstream* up, domain_meter* m) noexcept : up_(up), meter_(m) {}

  /// Upstream's allocation, counted in the meter; nullptr (and refused_for_budget
  /// set) when the budget is enforced and the bytes would pass it, nullptr when
  /// upstream refuses. O(1) plus upstream's cost.
  [[nodiscard]] void* allocate(std::size_t bytes, std::size_t align) noexcept {
    if (meter_->enforce && (meter_->bytes > meter_->budget || bytes > meter_->budget - meter_->bytes)) {
      meter_->refused_for_budget = true;
      return nullptr;
    }
    void* p = up_->allocate(bytes, align);
    if (p != nullptr) meter_->bytes += bytes;
    return p;
  }
  /// Returns p to upstream and uncounts it. O(1) plus upstream's cost.
  void deallocate(void* p, std::size_t bytes, std::size_t align) noexcept {
    meter_->bytes -= bytes;
    up_->deallocate(p, bytes, align);
  }

 private:
  Upstream* up_;
  domain_meter* meter_;
};

namespace detail {

/// Set with its allocator replaced by A, for sets that take one.
template <class Set, class A>
struct rebind_set {
  using type = Set;
  static constexpr bool metered = false;
};
template <template <byte_allocator> class B, byte_allocator Old, class A>
struct rebind_set<B<Old>, A> {
  using type = B<A>;
  static constexpr bool metered = true;
};
template <template <byte_allocator, page_t> class B, byte_allocator Old, page_t N, class A>
struct rebind_set<B<Old, N>, A> {
  using type = B<A, N>;
  static constexpr bool metered = true;
};

}  // namespace detail

/// One Set per live domain; see the header comment for the failure rules. Costs
/// below: D is the number of live domains, and "the set's grant" (revoke, ...) is
/// that Set operation's own cost on the domain's set.
template <page_set Set, std::unsigned_integral Domain = std::uint16_t, byte_allocator Alloc = new_allocator>
class permission_map {
  static_assert(std::is_copy_constructible_v<Alloc>, "each domain keeps a copy of the map's allocator");
  using rebound = detail::rebind_set<Set, domain_allocator<Alloc>>;

 public:
  /// The type each domain's set is stored as.
  using set_type = typename rebound::type;
  /// The domain id type.
  using domain_type = Domain;
  static_assert(page_set<set_type>);

  /// An empty map. O(1), never allocates.
  permission_map() noexcept
    requires std::is_default_constructible_v<Alloc>
  = default;
  /// An empty map allocating from a (each domain keeps a copy). O(1), never allocates.
  explicit permission_map(Alloc a) noexcept : alloc_(a), index_(static_cast<Alloc&&>(a)) {}
  /// Not copyable.
  permission_map(const permission_map&) = delete;
  /// Not copyable.
  permission_map& operator=(const permission_map&) = delete;
  /// Takes o's domains (their sets stay where they are, so find() pointers stay
  /// valid); o is left empty. O(1), never allocates.
  permission_map(permission_map&& o) noexcept
      : alloc_(static_cast<Alloc&&>(o.alloc_)), index_(static_cast<index&&>(o.index_)), records_(o.records_) {
    o.records_ = 0;
  }
  /// Destroys this map's domains, then takes o's as the move constructor does.
  /// O(D + the sets' destruction), never allocates.
  permission_map& operator=(permission_map&& o) noexcept {
    if (this != &o) {
      destroy_all();
      alloc_ = static_cast<Alloc&&>(o.alloc_);
      index_ = static_cast<index&&>(o.index_);
      records_ = o.records_;
      o.records_ = 0;
    }
    return *this;
  }
  /// Destroys every domain and its set. O(D + the sets' destruction).
  ~permission_map() { destroy_all(); }

  // ---- per domain ---------------------------------------------------------------------

  /// Lets d access r, creating d if it does not exist. O(log D) plus the set's
  /// grant (a new domain: one record and one set allocated, one index insert).
  /// Errors, all with nothing changed (no domain created): invalid_range (r invalid,
  /// or outside a flat_bitmap's universe); out_of_memory; budget_exceeded (the grant
  /// or the reserve refill a successful grant ends with would pass d's budget);
  /// capacity_exceeded (a capped_page set cannot hold the result).
  [[nodiscard]] errc permit(Domain d, page_range r) noexcept {
    if (!r.valid()) return errc::invalid_range;
    if (record* rec = lookup(d)) return grant_metered(*rec, *rec->set, r);
    // A new domain is filled first and indexed last, so a failure on the way
    // leaves the index exactly as it was.
    record* rec = new_record(d);
    if (rec == nullptr) return errc::out_of_memory;
    errc e = grant_metered(*rec, *rec->set, r);
    if (e == errc::ok) e = attach(rec);
    if (e != errc::ok) free_record(rec);
    return e;
  }

  /// deny(d, r, on_removed) without a visitor.
  [[nodiscard]] errc deny(Domain d, page_range r) noexcept {
    if (!r.valid()) return errc::invalid_range;
    record* rec = lookup(d);
    if (rec == nullptr) return errc::no_such_domain;
    return rec->set->revoke(r);
  }

  /// Takes r from d (d stays, even if it holds nothing afterwards), calling
  /// on_removed(page_range) for each run of pages d lost, to unmap them (its result
  /// is ignored). O(log D) plus the set's revoke; the budget is not enforced.
  /// invalid_range or no_such_domain: nothing changed. Otherwise the revoke rule:
  /// no page of r is accessible to d afterwards, and the result is ok, or
  /// revoked_extra when d's reserve was spent and the allocator refused what the cut
  /// needed, so pages outside r went too (the fewest the set can; all reported).
  template <range_visitor F>
  [[nodiscard]] errc deny(Domain d, page_range r, F&& on_removed) noexcept {
    if (!r.valid()) return errc::invalid_range;
    record* rec = lookup(d);
    if (rec == nullptr) return errc::no_such_domain;
    return rec->set->revoke(r, on_removed);
  }

  /// deny_exact(d, r, on_removed) without a visitor.
  [[nodiscard]] errc deny_exact(Domain d, page_range r) noexcept {
    return deny_exact(d, r, [](page_range) noexcept {});
  }
  /// Takes exactly r from d, like deny(d, r, on_removed) (same cost), or fails with
  /// nothing changed and no visitor call: invalid_range, no_such_domain,
  /// out_of_memory (a cut needs memory that is refused), capacity_exceeded (a full
  /// capped_page cut in two). Never revoked_extra.
  template <range_visitor F>
  [[nodiscard]] errc deny_exact(Domain d, page_range r, F&& on_removed) noexcept {
    if (!r.valid()) return errc::invalid_range;
    record* rec = lookup(d);
    if (rec == nullptr) return errc::no_such_domain;
    return rec->set->revoke_exact(r, on_removed);
  }

  /// Keeps what d's next `revokes` denies need, within its budget. 0 returns to the
  /// default (1; 0 for capped_page). O(log D) plus the set's reserve. Errors, all
  /// with nothing changed: no_such_domain, budget_exceeded, out_of_memory or, for a
  /// fixed-size set, capacity_exceeded.
  [[nodiscard]] errc reserve(Domain d, std::size_t revokes) noexcept {
    record* rec = lookup(d);
    if (rec == nullptr) return errc::no_such_domain;
    return metered(rec->meter[rec->current], [&]() noexcept { return rec->set->reserve(revokes); });
  }

  /// d may access page p; false for an unknown d. O(log D) plus the set's contains.
  [[nodiscard]] bool permitted(Domain d, page_t p) const noexcept {
    const record* rec = lookup(d);
    return rec != nullptr && rec->set->contains(p);
  }
  /// d may access every page of r; false for an unknown d or an invalid r. O(log D)
  /// plus the set's contains_all.
  [[nodiscard]] bool permitted(Domain d, page_range r) const noexcept {
    const record* rec = lookup(d);
    return rec != nullptr && rec->set->contains_all(r);
  }

  /// destroy(d, on_removed) without a visitor.
  [[nodiscard]] errc destroy(Domain d) noexcept {
    return destroy(d, [](page_range) noexcept {});
  }

  /// Destroys the domain, first calling on_removed(page_range) for every run it held
  /// (what to unmap; its result is ignored: every run is reported), then freeing
  /// its set and record. O(log D + the set's runs + its destruction). ok, or
  /// no_such_domain with nothing changed. Never fails otherwise: freeing the index
  /// entry takes no memory.
  template <range_visitor F>
  [[nodiscard]] errc destroy(Domain d, F&& on_removed) noexcept {
    const record* rec = lookup(d);
    if (rec == nullptr) return errc::no_such_domain;
    static_cast<void>(rec->set->for_each_range([&](page_range x) noexcept {
      detail::notify(on_removed, x);
      return true;
    }));
    destroy_record(d);
    return errc::ok;
  }

  /// The domain's set, or nullptr if the domain does not exist. O(log D). The
  /// pointer is valid until the next change to the map (permit_all replaces a
  /// domain's set; destroy frees it).
  [[nodiscard]] const set_type* find(Domain d) const noexcept {
    const record* rec = lookup(d);
    return rec != nullptr ? rec->set : nullptr;
  }

  /// Caps the bytes the domain's set may hold (creating the domain, empty, if
  /// needed); SIZE_MAX lifts the cap. O(log D). Errors, all with nothing changed
  /// (no domain created): budget_exceeded if the set already holds more (a new
  /// capped_page domain holds its page), out_of_memory for a new domain's record or
  /// index entry.
  [[nodiscard]] errc set_budget(Domain d, std::size_t bytes) noexcept {
    record* rec = lookup(d);
    if (rec != nullptr) {
      if (rec->set->memory_bytes() > bytes) return errc::budget_exceeded;
      rec->meter[0].budget = rec->meter[1].budget = bytes;
      return errc::ok;
    }
    rec = new_record(d);
    if (rec == nullptr) return errc::out_of_memory;
    errc e = rec->set->memory_bytes() > bytes ? errc::budget_exceeded : errc::ok;
    rec->meter[0].budget = rec->meter[1].budget = bytes;
    if (e == errc::ok) e = attach(rec);
    if (e != errc::ok) free_record(rec);
    return e;
  }

  /// d's budget: SIZE_MAX if none was set or d does not exist. O(log D).
  [[nodiscard]] std::size_t budget(Domain d) const noexcept {
    const record* rec = lookup(d);
    return rec != nullptr ? rec->meter[rec->current].budget : SIZE_MAX;
  }

  /// Bytes of the domain's set, what its budget is compared with (0 for an unknown
  /// domain). O(log D).
  [[nodiscard]] std::size_t memory_bytes(Domain d) const noexcept {
    const record* rec = lookup(d);
    return rec != nullptr ? rec->set->memory_bytes() : 0;
  }

  /// Every byte the map holds: its index, the per-domain records and the sets. O(D).
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    // A set without an allocator (capped_page) reports its own storage as its bytes.
    const std::size_t per_domain = sizeof(record) + (rebound::metered ? sizeof(set_type) : 0);
    std::size_t total = index_.memory_bytes() + records_ * per_domain;
    for (auto c = index_.first(); c; c = index_.next(c)) total += as_record(index_[c])->set->memory_bytes();
    return total;
  }

  /// Live domains. O(1).
  [[nodiscard]] std::size_t domain_count() const noexcept { return index_.size(); }

  /// Grants every range or none, creating d if needed. The ranges are applied to a
  /// copy of the domain's set, metered on its own against d's budget, which
  /// replaces the set on success: O(n + the grants) for n the set's size (a new
  /// domain, one range, or ranges all held already: no copy). An empty span is ok
  /// and creates nothing. Errors, all with nothing changed (the strong guarantee,
  /// memory_bytes() included; no domain created): invalid_range (any range
  /// invalid); out_of_memory; budget_exceeded; capacity_exceeded (a fixed-capacity
  /// set, only when the result does not fit, whatever the order of rs).
  [[nodiscard]] errc permit_all(Domain d, std::span<const page_range> rs) noexcept {
    for (const page_range& r : rs)
      if (!r.valid()) return errc::invalid_range;
    if (rs.empty()) return errc::ok;
    if (rs.size() == 1) return permit(d, rs[0]);
    record* rec = lookup(d);
    if (rec != nullptr) {
      bool held = true;
      for (const page_range& r : rs) held = held && rec->set->contains_all(r);
      // Nothing to add: no copy, and the reserve is refilled like any permit's.
      if (held) return grant_metered(*rec, *rec->set, rs[0]);
    }
    if (rec == nullptr) {
      // A new domain's set is private until indexed: no copy needed.
      rec = new_record(d);
      if (rec == nullptr) return errc::out_of_memory;
      errc e = grant_all_with(rec->meter[rec->current], *rec->set, rs);
      if (e == errc::ok) e = attach(rec);
      if (e != errc::ok) free_record(rec);
      return e;
    }
    const unsigned spare = 1u - rec->current;
    domain_meter& m = rec->meter[spare];
    m.bytes = 0;
    set_type* scratch = new_set(*rec, spare);
    errc e = scratch != nullptr ? errc::ok : errc::out_of_memory;
    if (e == errc::ok) e = assign_metered(m, *scratch, *rec->set);
    if (e == errc::ok) e = grant_all_with(m, *scratch, rs);
    if (e == errc::ok) {
      delete_set(rec->set);
      rec->set = scratch;
      rec->current = spare;
      return errc::ok;
    }
    if (scratch != nullptr) delete_set(scratch);
    return e;
  }

  /// Grants r to d only if no other domain may access any page of it: O(D x the
  /// sets' contains_any) plus permit(d, r). conflict, or any error of permit: nothing
  /// changed.
  [[nodiscard]] errc permit_exclusive(Domain d, page_range r) noexcept {
    if (!r.valid()) return errc::invalid_range;
    for (auto c = index_.first(); c; c = index_.next(c)) {
      const record* rec = as_record(index_[c]);
      if (rec->id != d && rec->set->contains_any(r)) return errc::conflict;
    }
    return permit(d, r);
  }

  /// Moves r from one domain to another, exactly or not at all: `from` must hold all
  /// of r (else not_held); afterwards `to` holds r and `from` none of it — no other
  /// page of either domain changes — or the call fails and both hold what they held
  /// (out_of_memory, budget_exceeded, capacity_exceeded). Never revoked_extra.
  /// `to` is created if needed. O(log D) plus a reserve refill, a grant and an exact
  /// revoke. Also invalid_range, no_such_domain (`from` unknown) and not_held, with
  /// nothing changed; from == to holding r is ok. The one exception to the strong
  /// guarantee: a refill of `from`'s spent reserve made first is kept when the
  /// transfer then fails (the pages of both domains are unchanged).
  [[nodiscard]] errc transfer(Domain from, Domain to, page_range r) noexcept {
    if (!r.valid()) return errc::invalid_range;
    record* src = lookup(from);
    if (src == nullptr) return errc::no_such_domain;
    if (!src->set->contains_all(r)) return errc::not_held;
    if (from == to) return errc::ok;
    if constexpr (requires { set_type::capacity; }) {
      // A fixed-capacity set (capped_page) cannot grow: when r lies strictly inside
      // one of its runs and it is full, it cannot be cut exactly. Refuse first.
      const set_type& s = *src->set;
      if (s.range_count() >= set_type::capacity && r.first > 0 && r.last < max_page && s.contains(r.first - 1) &&
          s.contains(r.last + 1))
        return errc::capacity_exceeded;
    }
    // `from` holds all of r, so cutting r out of it splits at most one run, which a
    // full reserve covers. A spent one is refilled first, before `to` changes.
    if constexpr (requires(const set_type& s) { s.reserve_full(); s.reserve_count(); }) {
      if (!src->set->reserve_full()) {
        const std::size_t n = src->set->reserve_count();
        if (const errc e = metered(src->meter[src->current], [&]() noexcept { return src->set->reserve(n); });
            e != errc::ok)
          return e;
      }
    }
    record* dst = lookup(to);
    const bool to_existed = dst != nullptr;
    const bool to_had_any = to_existed && dst->set->contains_any(r);
    if (const errc e = permit(to, r); e != errc::ok) return e;
    const errc e = src->set->revoke_exact(r);
    if (e == errc::ok) return errc::ok;
    // Only a set whose reserve does not cover every cut gets here (chunked_bitmap
    // cutting two full chunks, the icl_set oracle): take r back from `to`.
    if (!to_existed) destroy_record(to);
    else if (!to_had_any) static_cast<void>(lookup(to)->set->revoke_exact(r));
    return e;
  }

  /// Calls f(Domain) for each domain that may access p, in ascending id order. f
  /// is a visitor_of<F, Domain>: it returns void (every holder is visited) or bool
  /// (false stops: this then returns false). O(D x the sets' contains). Cannot fail.
  template <visitor_of<Domain> F>
  [[nodiscard]] bool for_each_holder(page_t p, F&& f) const noexcept {
    for (auto c = index_.first(); c; c = index_.next(c)) {
      const record* rec = as_record(index_[c]);
      if (rec->set->contains(p) && !detail::visit(f, rec->id)) return false;
    }
    return true;
  }

  /// Calls f(Domain) for each live domain, ascending; f returns void, or bool (false
  /// stops: this then returns false). O(D). Cannot fail.
  template <visitor_of<Domain> F>
  [[nodiscard]] bool for_each_domain(F&& f) const noexcept {
    for (auto c = index_.first(); c; c = index_.next(c))
      if (!detail::visit(f, as_record(index_[c])->id)) return false;
    return true;
  }

  /// Structural check for tests: index, per-domain metering, each set's invariants.
  /// False means a bug. O(D + the sets' own checks).
  [[nodiscard]] bool check_invariants() const noexcept {
    if (!index_.check_invariants()) return false;
    std::size_t n = 0;
    for (auto c = index_.first(); c; c = index_.next(c)) {
      const record* rec = as_record(index_[c]);
      if (static_cast<page_t>(rec->id) != index_[c].first) return false;
      if constexpr (rebound::metered) {
        if (rec->meter[rec->current].bytes != rec->set->memory_bytes()) return false;
        if (rec->meter[1 - rec->current].bytes != 0) return false;
      }
      if constexpr (requires(const set_type& s) { s.check_invariants(); }) {
        if (!rec->set->check_invariants()) return false;
      }
      ++n;
    }
    return n == records_;
  }

 private:
  struct record {
    domain_meter meter[2];  // the set's, and a spare for permit_all's copy
    Alloc up;               // what the sets allocate from
    set_type* set;
    Domain id;
    unsigned current;
  };
  struct entry {
    page_t first;  // the domain id
    std::uint64_t rec;
  };
  using index = detail::btree<entry, Alloc>;

  static record* as_record(const entry& e) noexcept { return reinterpret_cast<record*>(e.rec); }

  [[nodiscard]] record* lookup(Domain d) const noexcept {
    const auto c = index_.find_last_le(static_cast<page_t>(d));
    if (!c || index_[c].first != static_cast<page_t>(d)) return nullptr;
    return as_record(index_[c]);
  }

  set_type* new_set(record& rec, unsigned which) noexcept {
    void* p = alloc_.allocate(sizeof(set_type), alignof(set_type));
    if (p == nullptr) return nullptr;
    if constexpr (rebound::metered) {
      return ::new (p) set_type(domain_allocator<Alloc>(&rec.up, &rec.meter[which]));
    } else {
      static_cast<void>(rec);
      static_cast<void>(which);
      return ::new (p) set_type();
    }
  }
  void delete_set(set_type* s) noexcept {
    s->~set_type();
    alloc_.deallocate(s, sizeof(set_type), alignof(set_type));
  }

  /// A record for d with an empty set, not in the index yet. nullptr: no memory
  /// (nothing allocated).
  record* new_record(Domain d) noexcept {
    void* p = alloc_.allocate(sizeof(record), alignof(record));
    if (p == nullptr) return nullptr;
    record* rec = ::new (p) record{{}, alloc_, nullptr, d, 0};
    rec->set = new_set(*rec, 0);
    if (rec->set == nullptr) {
      rec->~record();
      alloc_.deallocate(p, sizeof(record), alignof(record));
      return nullptr;
    }
    return rec;
  }

  /// Frees a record that is not in the index, its set included.
  void free_record(record* rec) noexcept {
    delete_set(rec->set);
    rec->~record();
    alloc_.deallocate(rec, sizeof(record), alignof(record));
  }

  /// Indexes a new record. out_of_memory leaves the index exactly as it was.
  [[nodiscard]] errc attach(record* rec) noexcept {
    const page_t key = static_cast<page_t>(rec->id);
    if (index_.prepare_insert(key) != errc::ok) return errc::out_of_memory;
    index_.insert(entry{key, reinterpret_cast<std::uint64_t>(rec)});
    index_.settle();
    ++records_;
    return errc::ok;
  }

  /// Frees d's record and set and takes d out of the index. Callers have found d;
  /// an unknown d changes nothing.
  void destroy_record(Domain d) noexcept {
    const auto c = index_.find_last_le(static_cast<page_t>(d));
    if (!c || index_[c].first != static_cast<page_t>(d)) return;
    record* rec = as_record(index_[c]);
    free_record(rec);
    index_.erase(c, 1);
    index_.settle();
    --records_;
  }

  void destroy_all() noexcept {
    for (auto c = index_.first(); c; c = index_.next(c)) free_record(as_record(index_[c]));
    index_.clear();
    records_ = 0;
  }

  /// Runs op() with the budget of meter m enforced: out_of_memory caused by the
  /// budget becomes budget_exceeded.
  template <class Op>
  errc metered(domain_meter& m, Op&& op) noexcept {
    if constexpr (!rebound::metered) {
      static_cast<void>(m);
      return op();
    } else {
      m.enforce = true;
      m.refused_for_budget = false;
      errc e = op();
      m.enforce = false;
      if (e == errc::out_of_memory && m.refused_for_budget) e = errc::budget_exceeded;
      return e;
    }
  }

  /// A grant with the domain's budget enforced: out_of_memory caused by the budget
  /// becomes budget_exceeded.
  errc grant_metered(record& rec, set_type& s, page_range r) noexcept {
    return grant_metered_with(rec.meter[rec.current], s, r);
  }
  errc grant_metered_with(domain_meter& m, set_type& s, page_range r) noexcept {
    if constexpr (!rebound::metered) {
      // A fixed-size set holds what it holds; its budget can only be checked.
      if (s.memory_bytes() > m.budget) return errc::budget_exceeded;
    }
    return metered(m, [&]() noexcept { return s.grant(r); });
  }
  /// Grants every range of rs to s, metered by m; the first error ends it. For a
  /// set of fixed capacity the order matters: in the given order, a range that adds
  /// a run may overflow the set before a later one joins runs, although the result
  /// fits. There the ranges that touch what s holds go first (none adds a run), and
  /// a range that touches nothing only when no other is left; the run count then
  /// never exceeds the larger of its values before and after, so capacity_exceeded
  /// means that the result does not fit. O(k^2) checks for k ranges at worst.
  errc grant_all_with(domain_meter& m, set_type& s, std::span<const page_range> rs) noexcept {
    if constexpr (!requires { set_type::capacity; }) {
      for (const page_range& r : rs)
        if (const errc e = grant_metered_with(m, s, r); e != errc::ok) return e;
      return errc::ok;
    } else {
      for (;;) {
        const page_range* lone = nullptr;  // the first range that touches nothing
        bool granted = false;
        for (const page_range& r : rs) {
          if (s.contains_all(r)) continue;
          const page_range near{r.first > 0 ? r.first - 1 : 0, r.last < max_page ? r.last + 1 : max_page};
          if (!s.contains_any(near)) {
            if (lone == nullptr) lone = &r;
            continue;
          }
          if (const errc e = grant_metered_with(m, s, r); e != errc::ok) return e;
          granted = true;
        }
        if (lone == nullptr) return errc::ok;  // every range is held now
        if (!granted)
          if (const errc e = grant_metered_with(m, s, *lone); e != errc::ok) return e;
      }
    }
  }
  errc assign_metered(domain_meter& m, set_type& to, const set_type& from) noexcept {
    return metered(m, [&]() noexcept { return to.assign(from); });
  }

  [[no_unique_address]] Alloc alloc_{};
  index index_{};
  std::size_t records_ = 0;
};

}  // namespace pmemperm
