// pmemperm/types.hpp — the vocabulary: pages, inclusive page ranges, error codes.
//
// Pages are 63-bit numbers (0 ... max_page), so that every page count and every
// one-past-the-end value fits in 64 bits without wrapping. Ranges are inclusive on
// both ends, which lets a range end at max_page. Nothing here allocates or fails;
// an impossible range is represented as an invalid page_range that every operation
// rejects with errc::invalid_range.
//
// Every member here is constexpr, noexcept and O(1).
#pragma once

#include "config.hpp"  // first: below C++20 it stops with one #error

#include <cstdint>

namespace pmemperm {

using page_t = std::uint64_t;

/// The highest valid page number. Counts of pages in [0, max_page] fit in 64 bits.
inline constexpr page_t max_page = (page_t{1} << 63) - 1;

/// An inclusive range of pages [first, last]. A default-constructed range is [0, 0].
/// A plain value: nothing here allocates or fails; an impossible range is invalid(),
/// which every operation taking it rejects with errc::invalid_range.
struct page_range {
  page_t first = 0;  ///< the lowest page of the range
  page_t last = 0;   ///< the highest page of the range (inclusive)

  /// [first, last], not checked here (check with valid()). O(1), cannot fail.
  [[nodiscard]] static constexpr page_range closed(page_t first, page_t last) noexcept {
    return page_range{first, last};
  }

  /// The one page p (invalid if p > max_page). O(1), cannot fail.
  [[nodiscard]] static constexpr page_range single(page_t p) noexcept { return page_range{p, p}; }

  /// `count` pages starting at `first`. A count of 0, or a range that would pass
  /// max_page (including 64-bit wrap-around), yields an invalid range, which every
  /// operation then rejects with errc::invalid_range. O(1), cannot fail.
  [[nodiscard]] static constexpr page_range from_count(page_t first, std::uint64_t count) noexcept {
    if (count == 0 || first > max_page || count - 1 > max_page - first) return invalid();
    return page_range{first, first + (count - 1)};
  }

  /// A range that valid() rejects ([1, 0]); what from_count returns on bad input. O(1).
  [[nodiscard]] static constexpr page_range invalid() noexcept { return page_range{1, 0}; }

  /// Number of pages; meaningful only for a valid range (then it never overflows,
  /// at most 2^63). O(1).
  [[nodiscard]] constexpr std::uint64_t size() const noexcept { return last - first + 1; }

  /// first <= last <= max_page: what every operation checks before anything else. O(1).
  [[nodiscard]] constexpr bool valid() const noexcept { return first <= last && last <= max_page; }

  /// Same first and same last (!= follows). O(1).
  friend constexpr bool operator==(const page_range&, const page_range&) noexcept = default;
};

/// Result of every fallible operation. `ok` is zero so `if (e != errc::ok)` and
/// `if (static_cast<bool>(e))` read the same way.
enum class [[nodiscard]] errc : std::uint8_t {
  ok = 0,             ///< the operation did what was asked
  invalid_range,      ///< reversed range, page above max_page or above the backend's universe
  out_of_memory,      ///< the allocator returned nullptr; nothing changed
  capacity_exceeded,  ///< a fixed-capacity backend (capped_page) cannot hold the result; nothing changed
  budget_exceeded,    ///< a domain's memory budget would be exceeded; nothing changed
  revoked_extra,      ///< the revoke succeeded but more pages than asked were revoked (reported to the visitor)
  conflict,           ///< another domain holds a page of an exclusive request; nothing changed
  no_such_domain,     ///< the domain does not exist
  not_held,           ///< a transfer's source does not hold every page of the range; nothing changed
};

/// A short, static, human-readable name for an error code (for logs and tests):
/// the enumerator's own spelling, "unknown" for a value outside the enumeration.
/// O(1), never null, never allocates.
[[nodiscard]] constexpr const char* to_string(errc e) noexcept {
  switch (e) {
    case errc::ok: return "ok";
    case errc::invalid_range: return "invalid_range";
    case errc::out_of_memory: return "out_of_memory";
    case errc::capacity_exceeded: return "capacity_exceeded";
    case errc::budget_exceeded: return "budget_exceeded";
    case errc::revoked_extra: return "revoked_extra";
    case errc::conflict: return "conflict";
    case errc::no_such_domain: return "no_such_domain";
    case errc::not_held: return "not_held";
  }
  return "unknown";
}

}  // namespace pmemperm
