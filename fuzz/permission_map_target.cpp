// fuzz/permission_map_target.cpp — a permission_map of a few domains against a
// model (one model_set per domain, and the budgets), driven by the input bytes
// (format in fuzz_support.hpp), with allocation faults and budgets.
//
// The first byte picks the set type (hybrid, rangeset, chunked_bitmap<64>,
// capped_page); the rest is a program of ops over domains 0 ... 5: permit, deny,
// deny_exact (with visitors), permit_all, permit_exclusive, transfer, set_budget,
// reserve, destroy (with a visitor), and a cap on the allocator's live bytes (an
// exhausted arena). After every op the target checks:
//  - the result code is one the op may return here; out_of_memory and revoked_extra
//    only if an allocation was refused during that call; revoked_extra and a failed
//    deny_exact never while the domain's reserve covers the deny; transfer never
//    revoked_extra;
//  - a failed call changed nothing: every domain's pages, the domain count,
//    memory_bytes() of the map and of each domain, the allocator's live bytes, and no
//    visitor call (one exception, documented in permission_map.hpp: a failed
//    transfer may keep the source's refilled revoke reserve);
//  - transfer is exact or nothing: the source loses exactly r, the target gains it;
//  - visitors report exactly what went; a successful permit leaves the domain's
//    reserve full and never grows it past its budget (a deny, not metered, may
//    leave it above); permit_all of pages the domain holds with a full reserve
//    succeeds and does not grow;
//  - every domain's pages equal the model's, permitted() and for_each_holder()
//    agree with them, memory_bytes() equals the allocator's live bytes (audited),
//    and check_invariants() holds.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <pmemperm/backends/capped_page.hpp>
#include <pmemperm/backends/chunked_bitmap.hpp>
#include <pmemperm/backends/hybrid.hpp>
#include <pmemperm/backends/rangeset.hpp>
#include <pmemperm/permission_map.hpp>
#include <pmemperm/types.hpp>

#include "../tests/support/model.hpp"
#include "fuzz_support.hpp"

namespace pmemperm::fuzz {
namespace {

constexpr std::size_t max_ops = 300;
constexpr unsigned domains = 6;

enum class op_code : unsigned {
  permit,
  deny,
  deny_exact,
  permit_all,
  permit_exclusive,
  transfer,
  set_budget,
  reserve,
  destroy,
  arena,
  scatter,
  count
};

template <class Set>
class session {
  using domain = std::uint16_t;
  using map_type = permission_map<Set, domain, fuzz_allocator>;
  using set_type = typename map_type::set_type;
  static constexpr bool capped = requires { set_type::capacity; };

 public:
  session(const char* name) : name_(name), drawer_(max_page), map_(fuzz_allocator(stats_, test::tracking_allocator(audit_))) {}

  void run(input& in) {
    for (op_ = 0; op_ < max_ops && !in.done(); ++op_) {
      const std::uint8_t b = in.u8();
      const auto code = static_cast<op_code>((b & 15u) % static_cast<unsigned>(op_code::count));
      const domain d = static_cast<domain>(in.u8() % domains);
      take_snapshot();
      switch (code) {
        case op_code::permit: permit(drawer_.range(in), b, d, false); break;
        case op_code::permit_exclusive: permit(drawer_.range(in), b, d, true); break;
        case op_code::scatter: {
          // Many runs at once (deep trees, long run lists): n permits of len pages,
          // stride apart, from p.
          const page_t p = drawer_.page(in);
          const std::size_t n = 1u + std::size_t{in.u8()} * 2u;
          const page_t stride = 2u + in.u8(), len = 1u + in.u8() % 4u;
          for (std::size_t i = 0; i < n && p + i * stride + len - 1 <= max_page; ++i) {
            if (i != 0) take_snapshot();
            permit(page_range{p + i * stride, p + i * stride + len - 1}, b, d, false);
          }
          break;
        }
        case op_code::deny: deny(in, b, d, false); break;
        case op_code::deny_exact: deny(in, b, d, true); break;
        case op_code::permit_all: permit_all(in, b, d); break;
        case op_code::transfer: transfer(in, b, d); break;
        case op_code::set_budget: set_budget(in, b, d); break;
        case op_code::reserve: reserve(in, b, d); break;
        case op_code::destroy: destroy(d); break;
        case op_code::arena: {
          const std::uint8_t k = in.u8();
          stats_.byte_budget = k == 0 ? SIZE_MAX : stats_.live_bytes + std::size_t{k - 1u} * 64;
          break;
        }
        case op_code::count: break;
      }
      fault_plan{&stats_}.disarm();
      for (auto& [id, g] : covered_) {
        const set_type* s = map_.find(id);
        if (s != nullptr && s->reserve_full()) g = s->reserve_count();
      }
      if (tracing_) std::fprintf(stderr, "op %zu: code %u fault %u domain %u: %zu bytes\n", op_, static_cast<unsigned>(code),
                                 b >> 4u, d, map_.memory_bytes());
      check_all();
    }
  }

 private:
  struct snapshot {
    std::size_t bytes = 0, live = 0, domains = 0;
    std::uint64_t failures = 0;
    std::map<domain, std::size_t> domain_bytes;
    std::map<domain, bool> full;
  };

  void fail(const std::string& what) const { broken(std::string("permission_map<") + name_ + ">: " + what, op_); }
  [[nodiscard]] bool refused_now() const noexcept { return stats_.failures != before_.failures; }

  void take_snapshot() {
    before_.bytes = map_.memory_bytes();
    before_.live = stats_.live_bytes;
    before_.failures = stats_.failures;
    before_.domains = map_.domain_count();
    before_.domain_bytes.clear();
    before_.full.clear();
    for (const auto& [id, m] : model_) {
      before_.domain_bytes[id] = map_.memory_bytes(id);
      before_.full[id] = map_.find(id) != nullptr && map_.find(id)->reserve_full();
    }
  }

  /// A failed call: nothing changed (the model was not touched). `grown`: a domain
  /// whose revoke reserve the call may have refilled.
  void unchanged(const char* what, const range_list& reported, int grown = -1) const {
    if (!reported.empty()) fail(std::string(what) + " failed but called its visitor");
    if (map_.domain_count() != before_.domains) fail(std::string(what) + " failed but changed the domain count");
    std::size_t grew = 0;
    for (const auto& [id, bytes] : before_.domain_bytes) {
      const std::size_t now = map_.memory_bytes(id);
      if (now == bytes) continue;
      const bool refilled = static_cast<int>(id) == grown && !before_.full.at(id) && map_.find(id)->reserve_full();
      if (!refilled)
        fail(std::string(what) + " failed but changed domain " + std::to_string(id) + "'s bytes " +
             std::to_string(bytes) + " -> " + std::to_string(now));
      grew += now - bytes;
    }
    if (map_.memory_bytes() != before_.bytes + grew || stats_.live_bytes != before_.live + grew)
      fail(std::string(what) + " failed but changed memory: " + std::to_string(before_.bytes) + " -> " +
           std::to_string(map_.memory_bytes()));
    check_pages(what);
  }

  void check_pages(const char* what) const {
    for (const auto& [id, m] : model_) {
      const set_type* s = map_.find(id);
      if (s == nullptr) fail(std::string(what) + ": domain " + std::to_string(id) + " is missing");
      const range_list mine = test::collect_ranges(*s), theirs = test::collect_ranges(m);
      if (mine != theirs)
        fail(std::string(what) + ": domain " + std::to_string(id) + " holds " + text(mine) + ", expected " + text(theirs));
    }
  }

  [[nodiscard]] bool has_budget(domain d) const { return budgets_.count(d) != 0 && budgets_.at(d) != SIZE_MAX; }

  /// Whether a failed permit-like call's code is allowed.
  [[nodiscard]] bool may_refuse(errc e, domain d, const std::vector<page_range>& rs) const {
    if (e == errc::out_of_memory) return refused_now();
    if (e == errc::budget_exceeded) return has_budget(d);
    if (e == errc::capacity_exceeded && capped) {
      test::model_set after;
      if (model_.count(d) != 0) static_cast<void>(after.assign(model_.at(d)));
      for (page_range r : rs) static_cast<void>(after.grant(r));
      const set_type* s = map_.find(d);
      return after.range_count() + (s != nullptr ? s->reserve_count() : 0) > capacity_of();
    }
    return false;
  }

  void after_permit(domain d, const char* what) {
    const set_type* s = map_.find(d);
    if (s == nullptr) fail(std::string(what) + " succeeded but the domain does not exist");
    if (!s->reserve_full()) fail(std::string(what) + " succeeded but left the revoke reserve short");
    // A permit never grows a domain past its budget (a deny may: it is not metered,
    // and a later permit that takes nothing new still succeeds).
    const auto it = before_.domain_bytes.find(d);
    const std::size_t had = it != before_.domain_bytes.end() ? it->second : 0;
    if (map_.memory_bytes(d) > had && map_.memory_bytes(d) > map_.budget(d))
      fail(std::string(what) + " succeeded but grew the domain to " + std::to_string(map_.memory_bytes(d)) +
           " bytes, over its budget of " + std::to_string(map_.budget(d)));
  }

  void permit(page_range r, std::uint8_t b, domain d, bool exclusive) {
    const char* what = exclusive ? "permit_exclusive" : "permit";
    bool conflict = false;
    if (exclusive && r.valid())
      for (const auto& [id, m] : model_) conflict = conflict || (id != d && m.contains_any(r));
    fault_plan{&stats_}.arm(b);
    const errc e = exclusive ? map_.permit_exclusive(d, r) : map_.permit(d, r);
    fault_plan{&stats_}.disarm();
    if (tracing_) std::fprintf(stderr, "%s(%u, %s): %s\n", what, d, text(r).c_str(), to_string(e));
    if (!r.valid()) {
      if (e != errc::invalid_range) fail(std::string(what) + " of an invalid range returned " + to_string(e));
      return unchanged(what, {});
    }
    if (conflict) {
      if (e != errc::conflict) fail(std::string(what) + " " + text(r) + " of another domain's pages returned " + to_string(e));
      return unchanged(what, {});
    }
    if (e == errc::ok) {
      static_cast<void>(model_[d].grant(r));
      covered_.try_emplace(d, 0);
      return after_permit(d, what);
    }
    if (!may_refuse(e, d, {r})) fail(std::string(what) + " " + text(r) + " returned " + to_string(e));
    unchanged(what, {});
  }

  void permit_all(input& in, std::uint8_t b, domain d) {
    std::vector<page_range> rs(1u + in.u8() % 4u);
    for (page_range& r : rs) r = drawer_.range(in);
    bool valid = true, held = model_.count(d) != 0;
    for (page_range r : rs) {
      valid = valid && r.valid();
      held = held && r.valid() && model_.at(d).contains_all(r);
    }
    const bool quiet = held && before_.full.at(d);
    fault_plan{&stats_}.arm(b);
    const errc e = map_.permit_all(d, rs);
    fault_plan{&stats_}.disarm();
    if (tracing_) std::fprintf(stderr, "permit_all(%u, %s): %s\n", d, text(rs).c_str(), to_string(e));
    if (!valid) {
      if (e != errc::invalid_range) fail("permit_all with an invalid range returned " + std::string(to_string(e)));
      return unchanged("permit_all", {});
    }
    if (quiet && (e != errc::ok || map_.memory_bytes() > before_.bytes))
      fail("permit_all of pages the domain holds returned " + std::string(to_string(e)) + " and took " +
           std::to_string(map_.memory_bytes()) + " bytes (had " + std::to_string(before_.bytes) + ")");
    if (e == errc::ok) {
      for (page_range r : rs) static_cast<void>(model_[d].grant(r));
      covered_.try_emplace(d, 0);
      return after_permit(d, "permit_all");
    }
    if (!may_refuse(e, d, rs)) fail("permit_all " + text(rs) + " returned " + to_string(e));
    unchanged("permit_all", {});
  }

  void deny(input& in, std::uint8_t b, domain d, bool exact) {
    const char* what = exact ? "deny_exact" : "deny";
    const page_range r = drawer_.range(in);
    range_list reported;
    fault_plan{&stats_}.arm(b);
    const std::size_t covered = covered_.count(d) != 0 ? covered_.at(d) : 0;
    if (covered_.count(d) != 0) covered_[d] = covered > 0 ? covered - 1 : 0;
    const errc e = exact ? map_.deny_exact(d, r, test::range_recorder{&reported})
                         : map_.deny(d, r, test::range_recorder{&reported});
    fault_plan{&stats_}.disarm();
    if (tracing_) std::fprintf(stderr, "%s(%u, %s): %s\n", what, d, text(r).c_str(), to_string(e));
    const std::string call = std::string(what) + "(" + std::to_string(d) + ", " + text(r) + ")";
    if (!r.valid() || model_.count(d) == 0) {
      const errc want = !r.valid() ? errc::invalid_range : errc::no_such_domain;
      if (e != want) fail(call + " returned " + to_string(e) + ", expected " + to_string(want));
      return unchanged(what, reported);
    }
    test::model_set& m = model_.at(d);
    const range_list old = test::collect_ranges(m);
    const range_list removed = clip(old, r);
    if (e == errc::ok) {
      if (reported != removed) fail(call + " reported " + text(reported) + ", expected " + text(removed));
      static_cast<void>(m.revoke(r));
      return;
    }
    const auto exact_too_big = [&]() {
      test::model_set after;
      static_cast<void>(after.assign(m));
      static_cast<void>(after.revoke(r));
      return after.range_count() > capacity_of();
    };
    const bool may_lose = covered == 0 && (refused_now() || (capped && exact_too_big()));
    if (exact) {
      const bool allowed = (e == errc::out_of_memory && refused_now() && covered == 0) ||
                           (e == errc::capacity_exceeded && capped && may_lose);
      if (!allowed)
        fail(call + " returned " + to_string(e) + ", reserve covering " + std::to_string(covered) + " denies");
      return unchanged(what, reported);
    }
    if (e != errc::revoked_extra || !may_lose)
      fail(call + " returned " + to_string(e) + ", reserve covering " + std::to_string(covered) + " denies");
    const range_list now = test::collect_ranges(*map_.find(d));
    if (!clip(now, r).empty()) fail(call + " returned revoked_extra and left pages of r permitted");
    if (!minus(now, old).empty()) fail(call + " returned revoked_extra and permitted new pages");
    const range_list lost = minus(old, now);
    if (!normalise(reported) || reported != lost)
      fail(call + " returned revoked_extra, reported " + text(reported) + ", lost " + text(lost));
    for (page_range x : lost) static_cast<void>(m.revoke(x));
  }

  [[nodiscard]] static constexpr std::size_t capacity_of() noexcept {
    if constexpr (capped) return set_type::capacity;
    else return SIZE_MAX;
  }

  void transfer(input& in, std::uint8_t b, domain from) {
    const domain to = static_cast<domain>(in.u8() % domains);
    const page_range r = drawer_.range(in);
    fault_plan{&stats_}.arm(b);
    const std::size_t covered = covered_.count(from) != 0 ? covered_.at(from) : 0;
    if (covered_.count(from) != 0) covered_[from] = covered > 0 ? covered - 1 : 0;
    const errc e = map_.transfer(from, to, r);
    fault_plan{&stats_}.disarm();
    if (tracing_) std::fprintf(stderr, "transfer(%u, %u, %s): %s\n", from, to, text(r).c_str(), to_string(e));
    const std::string call = "transfer(" + std::to_string(from) + ", " + std::to_string(to) + ", " + text(r) + ")";
    errc want = errc::ok;
    if (!r.valid()) want = errc::invalid_range;
    else if (model_.count(from) == 0) want = errc::no_such_domain;
    else if (!model_.at(from).contains_all(r)) want = errc::not_held;
    if (want != errc::ok || from == to) {
      if (e != want) fail(call + " returned " + to_string(e) + ", expected " + to_string(want));
      return unchanged("transfer", {});
    }
    if (e == errc::ok) {
      static_cast<void>(model_.at(from).revoke(r));
      static_cast<void>(model_[to].grant(r));
      covered_.try_emplace(to, 0);
      return after_permit(to, "transfer");
    }
    const bool allowed = e == errc::out_of_memory ? refused_now()
                         : e == errc::budget_exceeded ? has_budget(from) || has_budget(to)
                         : e == errc::capacity_exceeded ? capped
                                                        : false;
    if (!allowed) fail(call + " returned " + to_string(e));
    unchanged("transfer", {}, from);
  }

  void set_budget(input& in, std::uint8_t b, domain d) {
    const std::uint8_t k = in.u8();
    const std::size_t have = map_.memory_bytes(d);
    const std::size_t bytes = k == 255 ? SIZE_MAX
                              : k < 32 ? (have > std::size_t{k} * 16 ? have - std::size_t{k} * 16 : 0)
                                       : have + std::size_t{k - 32u} * 16;
    fault_plan{&stats_}.arm(b);
    const errc e = map_.set_budget(d, bytes);
    fault_plan{&stats_}.disarm();
    if (tracing_) std::fprintf(stderr, "set_budget(%u, %zu): %s\n", d, bytes, to_string(e));
    if (e == errc::ok) {
      if (map_.budget(d) != bytes) fail("set_budget did not set the budget");
      budgets_[d] = bytes;
      model_.try_emplace(d);
      covered_.try_emplace(d, 0);
      return;
    }
    // A new domain starts with its set's fixed bytes (capped_page's page), others 0.
    const std::size_t least = model_.count(d) != 0 ? have : capped ? sizeof(set_type) : 0;
    const bool allowed = (e == errc::budget_exceeded && least > bytes) ||
                         (e == errc::out_of_memory && refused_now() && model_.count(d) == 0);
    if (!allowed) fail("set_budget(" + std::to_string(d) + ", " + std::to_string(bytes) + ") returned " + to_string(e));
    unchanged("set_budget", {});
  }

  void reserve(input& in, std::uint8_t b, domain d) {
    const std::size_t n = in.u8() % 8u;
    fault_plan{&stats_}.arm(b);
    const errc e = map_.reserve(d, n);
    fault_plan{&stats_}.disarm();
    if (tracing_) std::fprintf(stderr, "reserve(%u, %zu): %s\n", d, n, to_string(e));
    if (model_.count(d) == 0) {
      if (e != errc::no_such_domain) fail("reserve of an unknown domain returned " + std::string(to_string(e)));
      return unchanged("reserve", {});
    }
    if (e == errc::ok) {
      const set_type* s = map_.find(d);
      if (n != 0 && s->reserve_count() != n) fail("reserve did not set the count");
      if (!s->reserve_full()) fail("reserve succeeded but the reserve is not full");
      covered_[d] = s->reserve_count();
      return;
    }
    const bool allowed = (e == errc::out_of_memory && refused_now()) || (e == errc::budget_exceeded && has_budget(d)) ||
                         (e == errc::capacity_exceeded && capped);
    if (!allowed) fail("reserve(" + std::to_string(d) + ", " + std::to_string(n) + ") returned " + to_string(e));
    unchanged("reserve", {});
  }

  void destroy(domain d) {
    range_list reported;
    const errc e = map_.destroy(d, test::range_recorder{&reported});
    if (tracing_) std::fprintf(stderr, "destroy(%u): %s\n", d, to_string(e));
    if (model_.count(d) == 0) {
      if (e != errc::no_such_domain) fail("destroy of an unknown domain returned " + std::string(to_string(e)));
      return unchanged("destroy", reported);
    }
    if (e != errc::ok) fail("destroy returned " + std::string(to_string(e)));
    if (reported != test::collect_ranges(model_.at(d)))
      fail("destroy reported " + text(reported) + ", the domain held " + text(test::collect_ranges(model_.at(d))));
    if (map_.find(d) != nullptr) fail("destroy left the domain");
    model_.erase(d);
    budgets_.erase(d);
    covered_.erase(d);
  }

  void check_all() {
    if (!map_.check_invariants()) fail("check_invariants() is false");
    if (map_.domain_count() != model_.size())
      fail("domain_count() " + std::to_string(map_.domain_count()) + ", expected " + std::to_string(model_.size()));
    check_pages("after the op");
    if (map_.memory_bytes() != stats_.live_bytes)
      fail("memory_bytes() " + std::to_string(map_.memory_bytes()) + " != live bytes " + std::to_string(stats_.live_bytes));
    if (const std::string p = audit_.problems(); !p.empty()) fail("allocator audit: " + p);
    // Holders of the first and last page of each domain's last run.
    for (const auto& [id, m] : model_) {
      const range_list rs = test::collect_ranges(m);
      if (rs.empty()) continue;
      for (const page_t p : {rs.back().first, rs.back().last, rs.back().last < max_page ? rs.back().last + 1 : 0}) {
        std::vector<domain> holders, expected;
        static_cast<void>(map_.for_each_holder(p, [&](domain x) {
          holders.push_back(x);
          return true;
        }));
        for (const auto& [other, om] : model_)
          if (om.contains(p)) expected.push_back(other);
        if (holders != expected) fail("for_each_holder(" + std::to_string(p) + ") disagrees with the model");
        if (map_.permitted(id, p) != m.contains(p)) fail("permitted() disagrees with the model");
      }
      if (!map_.permitted(id, rs.front())) fail("permitted(d, run) is false on a run of d");
    }
  }

  const char* name_;
  alloc_stats stats_;
  test::allocation_audit audit_;
  drawer drawer_;
  map_type map_;
  std::map<domain, test::model_set> model_;
  std::map<domain, std::size_t> budgets_;
  std::map<domain, std::size_t> covered_;  // denies each domain's reserve must still make exact
  snapshot before_;
  std::size_t op_ = 0;
  bool tracing_ = std::getenv("PMEMPERM_FUZZ_TRACE") != nullptr;
};

template <class Set>
void run_one(const char* name, input& in) {
  session<Set> s(name);
  s.run(in);
}

}  // namespace
}  // namespace pmemperm::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pmemperm;
  fuzz::input in(data, size);
  switch (in.u8() % 4) {
    case 0: fuzz::run_one<hybrid<>>("hybrid", in); break;
    case 1: fuzz::run_one<rangeset<>>("rangeset", in); break;
    case 2: fuzz::run_one<chunked_bitmap<new_allocator, 64>>("chunked_bitmap<64>", in); break;
    default: fuzz::run_one<capped_page>("capped_page", in); break;
  }
  return 0;
}
