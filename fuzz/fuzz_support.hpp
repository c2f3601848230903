// fuzz/fuzz_support.hpp — what both fuzz targets share: turning input bytes into
// pages, ranges and allocation faults, an allocator that can be made to refuse, and
// the way a target reports a broken promise.
//
// Input format (also written down in fuzz/README.md, and produced by
// fuzz/make_seeds.py for the seed corpus):
//   page      one selector byte s, then a payload chosen by s % 8:
//               0  1 byte: a small page, 0 ... 255
//               1  1 byte k: k * 64 + (s / 8) % 3 - 1      (64-page chunk borders)
//               2  1 byte k: k * 32768 + (s / 8) % 3 - 1   (4 KiB bitmap chunk borders)
//               3  1 byte k: k * 65536 + (s / 8) % 3 - 1   (the hybrid's chunk borders)
//               4  1 byte k: top - k                        (the last pages)
//               5  3 bytes: a page below 2^24 (little endian)
//               6  8 bytes: any page (little endian), folded into 0 ... top
//               7  1 byte k: the previous page drawn + k - 128
//             Every result is clamped to 0 ... top.
//   range     one selector byte s, then by s % 8:
//               0  a page: [p, p]
//               1  a page, 1 byte n: [p, p + n]
//               2  a page, 2 bytes n: [p, p + n]
//               3  a page, 3 bytes n: [p, p + n]
//               4  a page: [p, top]
//               5  two pages: [min, max]
//               6  a page: [p, p - 1], an invalid (reversed) range when p > 0
//               7  a page: [p, top + 1], beyond the universe when top < max_page
//             Ends past top are clamped to top, except for selectors 6 and 7.
//   fault     the high nibble of each op byte: 0 ... 7 no fault; 8 ... 11 refuse one
//             allocation, the (f - 8)th from now; 12 ... 15 refuse every allocation
//             from the (f - 12)th from now to the end of the op.
// Missing bytes read as 0, so every input, however short, is a valid program.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <pmemperm/testing.hpp>
#include <pmemperm/types.hpp>

#include "../tests/support/allocators.hpp"
#include "../tests/support/generic_ops.hpp"

namespace pmemperm::fuzz {

using test::range_list;

/// Reads the input front to back; past its end every read yields 0.
class input {
 public:
  input(const std::uint8_t* data, std::size_t size) noexcept : p_(data), end_(data + size) {}

  [[nodiscard]] bool done() const noexcept { return p_ == end_; }
  std::uint8_t u8() noexcept { return p_ == end_ ? 0 : *p_++; }
  /// n bytes, little endian (n <= 8).
  std::uint64_t bytes(unsigned n) noexcept {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) v |= std::uint64_t{u8()} << (8 * i);
    return v;
  }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

/// Pages and ranges drawn as the format above says, for pages 0 ... top.
class drawer {
 public:
  explicit drawer(page_t top) noexcept : top_(top) {}

  [[nodiscard]] page_t top() const noexcept { return top_; }

  page_t page(input& in) noexcept {
    const std::uint8_t s = in.u8();
    const std::int64_t delta = static_cast<std::int64_t>((s / 8) % 3) - 1;
    std::int64_t wide = 0;  // before clamping; pages below 2^63 fit
    switch (s % 8) {
      case 0: wide = in.u8(); break;
      case 1: wide = static_cast<std::int64_t>(in.u8()) * 64 + delta; break;
      case 2: wide = static_cast<std::int64_t>(in.u8()) * 32768 + delta; break;
      case 3: wide = static_cast<std::int64_t>(in.u8()) * 65536 + delta; break;
      case 4: {
        const page_t k = in.u8();
        last_ = top_ > k ? top_ - k : 0;
        return last_;
      }
      case 5: wide = static_cast<std::int64_t>(in.bytes(3)); break;
      case 6: {
        const page_t raw = in.bytes(8);
        last_ = raw <= top_ ? raw : raw % (top_ + 1);  // top < 2^63: no overflow
        return last_;
      }
      default: {
        const std::int64_t k = static_cast<std::int64_t>(in.u8()) - 128;
        last_ = k < 0 ? (last_ > static_cast<page_t>(-k) ? last_ - static_cast<page_t>(-k) : 0)
                      : (top_ - last_ > static_cast<page_t>(k) ? last_ + static_cast<page_t>(k) : top_);
        return last_;
      }
    }
    last_ = wide < 0 ? 0 : static_cast<page_t>(wide) > top_ ? top_ : static_cast<page_t>(wide);
    return last_;
  }

  page_range range(input& in) noexcept {
    const std::uint8_t s = in.u8();
    const page_t p = page(in);
    const auto upto = [&](page_t n) noexcept { return page_range{p, top_ - p > n ? p + n : top_}; };
    switch (s % 8) {
      case 0: return page_range{p, p};
      case 1: return upto(in.bytes(1));
      case 2: return upto(in.bytes(2));
      case 3: return upto(in.bytes(3));
      case 4: return page_range{p, top_};
      case 5: {
        const page_t q = page(in);
        return p <= q ? page_range{p, q} : page_range{q, p};
      }
      case 6: return p > 0 ? page_range{p, p - 1} : page_range{p, p};
      default: return page_range{p, top_ < max_page ? top_ + 1 : max_page};
    }
  }

 private:
  page_t top_;
  page_t last_ = 0;
};

/// The allocator under test: refuses on demand (failing_allocator) and audits every
/// block (tracking_allocator: sizes, alignments, double frees).
using fuzz_allocator = failing_allocator<test::tracking_allocator>;

/// The allocation faults of one op, from the high nibble of its op byte.
struct fault_plan {
  alloc_stats* stats;

  /// Arms the fault; returns whether one was armed.
  bool arm(std::uint8_t op_byte) const noexcept {
    const unsigned f = op_byte >> 4;
    if (f < 8) return false;
    stats->fail_at = stats->attempts + (f & 3u);
    stats->fail_always_after = f >= 12;
    return true;
  }
  void disarm() const noexcept {
    stats->fail_at = UINT64_MAX;
    stats->fail_always_after = false;
  }
};

/// A broken promise: says which, with the op that broke it, and stops the run (the
/// fuzzer keeps the input; the replay test fails).
[[noreturn]] inline void broken(const std::string& what, std::size_t op_index) {
  std::fprintf(stderr, "pmemperm fuzz: op %zu: %s\n", op_index, what.c_str());
  std::abort();
}

[[nodiscard]] inline std::string text(page_range r) {
  return "[" + std::to_string(r.first) + ", " + std::to_string(r.last) + "]";
}
[[nodiscard]] inline std::string text(const range_list& rs) {
  std::string out = "{";
  for (std::size_t i = 0; i < rs.size() && i < 32; ++i) out += (i == 0 ? "" : " ") + text(rs[i]);
  if (rs.size() > 32) out += " ... (" + std::to_string(rs.size()) + " runs)";
  return out + "}";
}

/// a minus b, both ascending lists of disjoint runs.
[[nodiscard]] inline range_list minus(const range_list& a, const range_list& b) {
  range_list out;
  std::size_t j = 0;
  for (page_range x : a) {
    page_t next = x.first;
    bool open = true;
    while (j < b.size() && b[j].last < next) ++j;
    for (std::size_t k = j; k < b.size() && b[k].first <= x.last; ++k) {
      if (b[k].first > next) out.push_back(page_range{next, b[k].first - 1});
      if (b[k].last >= x.last) {
        open = false;
        break;
      }
      next = b[k].last + 1;
    }
    if (open) out.push_back(page_range{next, x.last});
  }
  return out;
}

/// The parts of the ascending runs inside r.
[[nodiscard]] inline range_list clip(const range_list& runs, page_range r) {
  range_list out;
  for (page_range x : runs)
    if (x.last >= r.first && x.first <= r.last)
      out.push_back(page_range{x.first < r.first ? r.first : x.first, x.last > r.last ? r.last : x.last});
  return out;
}

/// Sorts and merges what a visitor reported, so it can be compared with a difference
/// of run lists; false if two reported ranges overlap or one is invalid.
[[nodiscard]] inline bool normalise(range_list& rs) {
  for (page_range x : rs)
    if (!x.valid()) return false;
  std::sort(rs.begin(), rs.end(), [](page_range a, page_range b) { return a.first < b.first; });
  range_list out;
  for (page_range x : rs) {
    if (!out.empty() && x.first <= out.back().last) return false;
    if (!out.empty() && out.back().last + 1 == x.first) out.back().last = x.last;
    else out.push_back(x);
  }
  rs = out;
  return true;
}

}  // namespace pmemperm::fuzz
