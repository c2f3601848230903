// tests/support/printing.hpp — how pages, ranges and error codes appear in test output.
//
// Pages close to max_page print as `max_page - n`, so a failure near the top of the
// page space reads at a glance and pastes back into C++ as is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <pmemperm/types.hpp>

namespace pmemperm::test {

[[nodiscard]] inline std::string page_text(page_t p) {
  if (p <= max_page && max_page - p < (page_t{1} << 32))
    return p == max_page ? std::string("max_page") : "max_page - " + std::to_string(max_page - p);
  return std::to_string(p);
}

[[nodiscard]] inline std::string range_text(page_range r) {
  return "[" + page_text(r.first) + ", " + page_text(r.last) + "]";
}

[[nodiscard]] inline std::string ranges_text(const std::vector<page_range>& rs, std::size_t limit = 64) {
  std::string out = "{";
  for (std::size_t i = 0; i < rs.size() && i < limit; ++i) out += (i ? ", " : "") + range_text(rs[i]);
  if (rs.size() > limit) out += ", ... (" + std::to_string(rs.size()) + " ranges)";
  return out + "}";
}

}  // namespace pmemperm::test

namespace Catch {
template <>
struct StringMaker<pmemperm::page_range> {
  static std::string convert(pmemperm::page_range r) { return pmemperm::test::range_text(r); }
};
template <>
struct StringMaker<pmemperm::errc> {
  static std::string convert(pmemperm::errc e) { return pmemperm::to_string(e); }
};
}  // namespace Catch
