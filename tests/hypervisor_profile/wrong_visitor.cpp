// tests/hypervisor_profile/wrong_visitor.cpp — a visitor of the wrong type must be
// refused at the API it is handed to, by name.
//
// check.sh compiles this file once per case, with -DPMEMPERM_WRONG_VISITOR=<case>.
// Case 0 hands every API a right visitor and must compile cleanly under the
// profile (so a failure of the other cases is the visitor's, not the snippet's).
// Every other case must fail, and the compiler's message must name the concept
// the API is constrained with (range_visitor, or visitor_of for domain visitors):
// the error is reported at the call, not somewhere inside a backend.
#include <cstdint>

#include <pmemperm/backends/capped_page.hpp>
#include <pmemperm/backends/chunked_bitmap.hpp>
#include <pmemperm/backends/flat_bitmap.hpp>
#include <pmemperm/permission_map.hpp>
#include <pmemperm/synchronized.hpp>

#ifndef PMEMPERM_WRONG_VISITOR
#  error "compile with -DPMEMPERM_WRONG_VISITOR=<case>"
#endif

namespace wrong_visitor {

using pmemperm::page_range;

struct range_ok {
  bool operator()(page_range) const noexcept { return true; }
};
struct domain_ok {
  void operator()(std::uint16_t) const noexcept {}
};
/// Not callable with a page_range, nor with a domain id.
struct takes_pointer {
  void operator()(const int*) const noexcept {}
};
/// Callable with a page_range, but its result is neither void nor convertible to bool.
struct returns_struct {
  struct verdict {
    int code;
  };
  verdict operator()(page_range) const noexcept { return {0}; }
};

#if PMEMPERM_WRONG_VISITOR == 0
using range_visitor_t = range_ok;
using domain_visitor_t = domain_ok;
#elif PMEMPERM_WRONG_VISITOR == 5
using range_visitor_t = returns_struct;
using domain_visitor_t = domain_ok;
#else
using range_visitor_t = takes_pointer;
using domain_visitor_t = takes_pointer;
#endif

using map = pmemperm::permission_map<pmemperm::chunked_bitmap<>>;

bool use(pmemperm::capped_page& c, pmemperm::chunked_bitmap<>& b, pmemperm::flat_bitmap<>& f, map& m,
         pmemperm::synchronized_permission_map<map>& sm) noexcept {
  const range_visitor_t rv{};
  const domain_visitor_t dv{};
  bool ok = true;
#if PMEMPERM_WRONG_VISITOR == 0 || PMEMPERM_WRONG_VISITOR == 1 || PMEMPERM_WRONG_VISITOR == 5
  ok = c.for_each_range(rv) && ok;
#endif
#if PMEMPERM_WRONG_VISITOR == 0 || PMEMPERM_WRONG_VISITOR == 2
  ok = b.grant(page_range{1, 2}, rv) == pmemperm::errc::ok && ok;
#endif
#if PMEMPERM_WRONG_VISITOR == 0 || PMEMPERM_WRONG_VISITOR == 3
  ok = f.for_each_range(page_range{0, 9}, rv) && ok;
#endif
#if PMEMPERM_WRONG_VISITOR == 0 || PMEMPERM_WRONG_VISITOR == 4
  ok = m.for_each_domain(dv) && ok;
#endif
#if PMEMPERM_WRONG_VISITOR == 0 || PMEMPERM_WRONG_VISITOR == 6
  ok = m.deny(1, page_range{1, 2}, rv) == pmemperm::errc::ok && ok;
#endif
#if PMEMPERM_WRONG_VISITOR == 0 || PMEMPERM_WRONG_VISITOR == 7
  ok = sm.for_each_holder(3, dv) && ok;
#endif
  static_cast<void>(c);
  static_cast<void>(b);
  static_cast<void>(f);
  static_cast<void>(m);
  static_cast<void>(sm);
  static_cast<void>(rv);
  static_cast<void>(dv);
  return ok;
}

}  // namespace wrong_visitor
