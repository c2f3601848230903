// tests/support/archetype.hpp — the smallest possible page_set model.
//
// basic_archetype<> offers exactly what page_set requires and nothing else: no
// default constructor (it is built from a key only tests hold), no allocator, no
// invariant checker, no comparison, no copy. Its visitors are called and their
// result ignored; its for_each_range insists that f returns exactly bool. Generic
// test code instantiated with it (test_requirements.cpp) therefore provably uses
// only what the concept promises.
//
// It holds at most `slots` runs in a small array. A grant that does not fit returns
// capacity_exceeded; a revoke that cannot fit its exact result drops the whole run it
// would cut and returns revoked_extra, so even the archetype keeps the revoke rule.
// Every member is constexpr, so tests can also run it at compile time.
//
// The `Defect` parameter removes or weakens one member, for the negative
// STATIC_REQUIRE_FALSE(page_set<...>) cases.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <pmemperm/page_set.hpp>
#include <pmemperm/types.hpp>

namespace pmemperm::test {

enum class archetype_defect {
  none,
  no_contains_any,        // a member is missing
  throwing_count,         // a member is not noexcept
  copyable,               // copy construction is offered
  no_window_for_each,     // only the unwindowed for_each_range
  wrong_range_count_type  // a member returns the wrong type
};

/// Only tests can name this, so generic code cannot default-construct a page_set.
struct archetype_key {
  explicit archetype_key() = default;
};

template <archetype_defect Defect = archetype_defect::none>
class basic_archetype {
  static constexpr std::size_t slots = 8;

 public:
  constexpr explicit basic_archetype(archetype_key) noexcept {}
  constexpr basic_archetype(basic_archetype&& o) noexcept { take(o); }
  constexpr basic_archetype& operator=(basic_archetype&& o) noexcept {
    if (this != &o) take(o);
    return *this;
  }
  constexpr basic_archetype(const basic_archetype& o) noexcept
    requires(Defect == archetype_defect::copyable)
  {
    copy(o);
  }
  basic_archetype& operator=(const basic_archetype&) = delete;
  constexpr ~basic_archetype() = default;

  constexpr errc grant(page_range r) noexcept { return grant(r, [](page_range) {}); }
  template <class F>
  constexpr errc grant(page_range r, F&& on_added) noexcept {
    if (!r.valid()) return errc::invalid_range;
    // Runs in [i, j) overlap r or touch it; they fuse with r into one run.
    std::size_t i = 0;
    while (i < n_ && runs_[i].last + 1 < r.first) ++i;  // last + 1 <= 2^63: no wrap
    std::size_t j = i;
    while (j < n_ && runs_[j].first <= r.last + 1) ++j;
    if (n_ - (j - i) + 1 > slots) return errc::capacity_exceeded;

    page_t next = r.first;
    bool reached_end = false;
    for (std::size_t k = i; k < j && !reached_end; ++k) {
      const page_t a = runs_[k].first < r.first ? r.first : runs_[k].first;
      const page_t b = runs_[k].last > r.last ? r.last : runs_[k].last;
      if (a > b) continue;  // merely adjacent
      if (a > next) static_cast<void>(on_added(page_range{next, a - 1}));
      if (b == r.last) reached_end = true;
      next = b + 1;
    }
    if (!reached_end) static_cast<void>(on_added(page_range{next, r.last}));

    page_range fused = r;
    if (i < j) {
      if (runs_[i].first < fused.first) fused.first = runs_[i].first;
      if (runs_[j - 1].last > fused.last) fused.last = runs_[j - 1].last;
    }
    page_range with[1] = {fused};
    replace(i, j, with, 1);
    return errc::ok;
  }

  constexpr errc revoke(page_range r) noexcept { return revoke(r, [](page_range) {}); }
  template <class F>
  constexpr errc revoke(page_range r, F&& on_removed) noexcept {
    if (!r.valid()) return errc::invalid_range;
    std::size_t i = 0;
    while (i < n_ && runs_[i].last < r.first) ++i;
    std::size_t j = i;
    while (j < n_ && runs_[j].first <= r.last) ++j;
    if (i == j) return errc::ok;
    const bool keep_left = runs_[i].first < r.first;
    const bool keep_right = runs_[j - 1].last > r.last;
    if (n_ - (j - i) + (keep_left ? 1 : 0) + (keep_right ? 1 : 0) > slots) {
      // Only a cut through one run on a full array gets here: drop that run whole.
      static_cast<void>(on_removed(runs_[i]));
      replace(i, j, nullptr, 0);
      return errc::revoked_extra;
    }
    page_range keep[2] = {};
    std::size_t kept = 0;
    if (keep_left) keep[kept++] = page_range{runs_[i].first, r.first - 1};
    for (std::size_t k = i; k < j; ++k)
      static_cast<void>(on_removed(page_range{runs_[k].first < r.first ? r.first : runs_[k].first,
                                              runs_[k].last > r.last ? r.last : runs_[k].last}));
    if (keep_right) keep[kept++] = page_range{r.last + 1, runs_[j - 1].last};
    replace(i, j, keep, kept);
    return errc::ok;
  }

  constexpr void clear() noexcept { n_ = 0; }
  [[nodiscard]] constexpr bool empty() const noexcept { return n_ == 0; }

  [[nodiscard]] constexpr bool contains(page_t p) const noexcept {
    for (std::size_t k = 0; k < n_; ++k)
      if (runs_[k].first <= p && p <= runs_[k].last) return true;
    return false;
  }
  [[nodiscard]] constexpr bool contains_all(page_range r) const noexcept {
    if (!r.valid()) return false;
    for (std::size_t k = 0; k < n_; ++k)
      if (runs_[k].first <= r.first && r.last <= runs_[k].last) return true;
    return false;
  }
  [[nodiscard]] constexpr bool contains_any(page_range r) const noexcept
    requires(Defect != archetype_defect::no_contains_any)
  {
    if (!r.valid()) return false;
    for (std::size_t k = 0; k < n_; ++k)
      if (runs_[k].first <= r.last && r.first <= runs_[k].last) return true;
    return false;
  }

  [[nodiscard]] constexpr std::uint64_t count() const noexcept(Defect != archetype_defect::throwing_count) {
    std::uint64_t pages = 0;
    for (std::size_t k = 0; k < n_; ++k) pages += runs_[k].size();
    return pages;
  }
  [[nodiscard]] constexpr auto range_count() const noexcept {
    if constexpr (Defect == archetype_defect::wrong_range_count_type)
      return static_cast<int>(n_);
    else
      return n_;
  }
  [[nodiscard]] constexpr std::size_t memory_bytes() const noexcept { return sizeof(*this); }

  template <class F>
  constexpr bool for_each_range(F&& f) const noexcept {
    static_assert(std::is_same_v<std::invoke_result_t<F&, page_range>, bool>,
                  "for_each_range callbacks return exactly bool");
    for (std::size_t k = 0; k < n_; ++k)
      if (!f(runs_[k])) return false;
    return true;
  }
  template <class F>
  constexpr bool for_each_range(page_range window, F&& f) const noexcept
    requires(Defect != archetype_defect::no_window_for_each)
  {
    static_assert(std::is_same_v<std::invoke_result_t<F&, page_range>, bool>,
                  "for_each_range callbacks return exactly bool");
    if (!window.valid()) return true;
    for (std::size_t k = 0; k < n_; ++k) {
      if (runs_[k].last < window.first || runs_[k].first > window.last) continue;
      const page_range piece{runs_[k].first < window.first ? window.first : runs_[k].first,
                             runs_[k].last > window.last ? window.last : runs_[k].last};
      if (!f(piece)) return false;
    }
    return true;
  }

  constexpr errc assign(const basic_archetype& o) noexcept {
    if (this != &o) copy(o);
    return errc::ok;
  }

  // Memory pressure: a fixed array, so the reserve is free slots.
  constexpr errc revoke_exact(page_range r) noexcept { return revoke_exact(r, [](page_range) {}); }
  template <class F>
  constexpr errc revoke_exact(page_range r, F&& on_removed) noexcept {
    if (!r.valid()) return errc::invalid_range;
    if (n_ == slots) {
      for (std::size_t k = 0; k < n_; ++k)
        if (runs_[k].first < r.first && r.last < runs_[k].last) return errc::capacity_exceeded;
    }
    return revoke(r, on_removed);
  }
  constexpr errc reserve(std::size_t revokes) noexcept {
    return revokes <= slots - n_ ? errc::ok : errc::capacity_exceeded;
  }
  constexpr errc shrink_to_fit() noexcept { return errc::ok; }

 private:
  // Replace runs [i, j) by the n runs at `with`.
  constexpr void replace(std::size_t i, std::size_t j, const page_range* with, std::size_t n) noexcept {
    page_range out[slots + 2] = {};
    std::size_t o = 0;
    for (std::size_t k = 0; k < i; ++k) out[o++] = runs_[k];
    for (std::size_t k = 0; k < n; ++k) out[o++] = with[k];
    for (std::size_t k = j; k < n_; ++k) out[o++] = runs_[k];
    for (std::size_t k = 0; k < o; ++k) runs_[k] = out[k];
    n_ = o;
  }
  constexpr void copy(const basic_archetype& o) noexcept {
    for (std::size_t k = 0; k < o.n_; ++k) runs_[k] = o.runs_[k];
    n_ = o.n_;
  }
  constexpr void take(basic_archetype& o) noexcept {
    copy(o);
    o.n_ = 0;
  }

  page_range runs_[slots] = {};
  std::size_t n_ = 0;
};

using archetype = basic_archetype<>;
static_assert(page_set<archetype>);

}  // namespace pmemperm::test
