// pmemperm/backends/flat_bitmap.hpp — the naive strategy: one bit per page.
//
// flat_bitmap<Alloc> covers a fixed universe of pages [0, universe) given at
// construction and keeps one bit per page in a single array of ceil(universe / 64)
// 64-bit words (128 MiB for 2^30 pages, whatever is granted). It is the reference
// floor of the study: the fastest lookups, the worst memory.
//
// Complexity: contains is O(1). grant, revoke, contains_all and contains_any work a
// whole word at a time: O(pages in the range / 64), never page by page; count() and
// range_count() are cached and kept exact word by word (the run count from the run
// starts just around the edited span). for_each_range scans the words of its window
// and skips zero words, so a full scan is O(universe / 64): acceptable for the
// reference, and the reason the other backends exist. The first grant allocates
// the array and zeroes it: O(universe / 64), once.
//
// Memory and failure: construction never allocates. The array is allocated at the
// first grant; if that allocation fails the grant returns out_of_memory and nothing
// changes. After that, no operation allocates or fails for lack of memory (revoke
// never allocates at all). clear() zeroes the bits and keeps the array, so a
// cleared bitmap still reports the array in memory_bytes(); destruction and move
// assignment return it. Any range not inside [0, universe) — reversed, above
// max_page, or reaching past the universe — is invalid_range with nothing changed,
// for grant and revoke alike (pages past the universe can never be granted).
//
// Visitors run while the words are being rewritten and must not access the set.
#pragma once

#include "../config.hpp"  // first: below C++20 it stops with one #error

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "../allocator.hpp"
#include "../detail/bits.hpp"
#include "../detail/recorded_reserve.hpp"
#include "../detail/visitor.hpp"
#include "../page_set.hpp"
#include "../types.hpp"

namespace pmemperm {

/// One bit per page of [0, universe()): see the header comment. The members
/// revoke_exact(r), revoke_exact(r, on_removed), reserve(n) and reserve_count() come
/// from detail::recorded_reserve: revoke_exact is revoke (always exact here), and
/// reserve(n) records n (0: the default, 1) and returns ok, O(1).
template <byte_allocator Alloc = new_allocator>
class flat_bitmap : public detail::recorded_reserve<flat_bitmap<Alloc>> {
 public:
  /// The allocator the array comes from.
  using allocator_type = Alloc;

  /// An empty bitmap over no pages: every grant is invalid_range. It exists so that
  /// a flat_bitmap can be default-initialised and later move-assigned into. O(1),
  /// never allocates.
  flat_bitmap() noexcept
    requires std::is_nothrow_default_constructible_v<Alloc>
  = default;

  /// An empty bitmap over pages [0, universe_pages). O(1), never allocates (the
  /// array comes at the first grant).
  explicit flat_bitmap(page_t universe_pages, Alloc a = {}) noexcept
      : alloc_(static_cast<Alloc&&>(a)), universe_(universe_pages) {}

  /// Not copyable: copying allocates and could fail; use assign().
  flat_bitmap(const flat_bitmap&) = delete;
  /// Not copyable: use assign().
  flat_bitmap& operator=(const flat_bitmap&) = delete;

  /// Takes o's array and allocator; o stays a valid empty bitmap over the same
  /// universe. O(1), never allocates.
  flat_bitmap(flat_bitmap&& o) noexcept
      : alloc_(static_cast<Alloc&&>(o.alloc_)),
        words_(std::exchange(o.words_, nullptr)),
        universe_(o.universe_),
        count_(std::exchange(o.count_, 0)),
        runs_(std::exchange(o.runs_, 0)) {}

  /// Frees this array, then takes o's array, allocator and universe; o stays a
  /// valid empty bitmap. O(1), never allocates.
  flat_bitmap& operator=(flat_bitmap&& o) noexcept {
    if (this != &o) {
      release();
      alloc_ = static_cast<Alloc&&>(o.alloc_);
      words_ = std::exchange(o.words_, nullptr);
      universe_ = o.universe_;
      count_ = std::exchange(o.count_, 0);
      runs_ = std::exchange(o.runs_, 0);
    }
    return *this;
  }

  /// Returns the array to the allocator. O(1).
  ~flat_bitmap() { release(); }

  /// Become a copy of o, universe included (the reserve count is kept). Reuses this
  /// array when it has the same size; otherwise allocates first. O(universe / 64).
  /// out_of_memory: nothing changed (strong guarantee).
  errc assign(const flat_bitmap& o) noexcept {
    if (this == &o) return errc::ok;
    if (o.words_ == nullptr) {
      release();
      universe_ = o.universe_;
      return errc::ok;
    }
    const std::uint64_t n = detail::words_for(o.universe_);
    if (words_ == nullptr || detail::words_for(universe_) != n) {
      detail::word_t* fresh = allocate_words(n);
      if (fresh == nullptr) return errc::out_of_memory;
      release();
      words_ = fresh;
    }
    std::memcpy(words_, o.words_, static_cast<std::size_t>(n) * sizeof(detail::word_t));
    universe_ = o.universe_;
    count_ = o.count_;
    runs_ = o.runs_;
    return errc::ok;
  }

  /// grant(r, on_added) without a visitor.
  errc grant(page_range r) noexcept { return grant(r, ignore_runs{}); }

  /// Sets the bits of r; on_added(page_range) sees each maximal run of bits that
  /// were clear (its result is ignored). O(pages of r / 64), plus O(universe / 64)
  /// for the first grant, which allocates and zeroes the array. invalid_range (r not
  /// inside [0, universe())) or out_of_memory (the first grant's array refused):
  /// nothing changed, no visitor call.
  template <range_visitor F>
  errc grant(page_range r, F&& on_added) noexcept {
    if (!in_universe(r)) return errc::invalid_range;
    if (words_ == nullptr) {
      words_ = allocate_words(detail::words_for(universe_));
      if (words_ == nullptr) return errc::out_of_memory;
      std::memset(words_, 0, static_cast<std::size_t>(word_count()) * sizeof(detail::word_t));
    }
    // After the grant every bit of r is set, so the only run start left in
    // [r.first, r.last + 1] is r.first, and only if the page below is clear.
    const std::uint64_t starts_before = detail::count_run_starts(words_, r.first, edge_after(r));
    const std::uint64_t starts_after = (r.first == 0 || !test(r.first - 1)) ? 1u : 0u;

    auto emit = [&on_added](page_range x) noexcept { detail::notify(on_added, x); };
    detail::run_builder runs;
    std::uint64_t added = 0;
    const std::uint64_t wl = detail::word_of(r.last);
    for (std::uint64_t w = detail::word_of(r.first); w <= wl; ++w) {
      const detail::word_t m = detail::word_mask(w, r.first, r.last);
      const detail::word_t old = words_[w];
      const detail::word_t changed = m & ~old;
      words_[w] = old | m;
      added += detail::popcount64(changed);
      if constexpr (!std::is_same_v<std::remove_cvref_t<F>, ignore_runs>) {
        if (changed != 0) static_cast<void>(runs.feed(detail::first_bit_of_word(w), changed, emit));
      }
    }
    if constexpr (!std::is_same_v<std::remove_cvref_t<F>, ignore_runs>) static_cast<void>(runs.finish(emit));
    count_ += added;
    runs_ = runs_ - static_cast<std::size_t>(starts_before) + static_cast<std::size_t>(starts_after);
    return errc::ok;
  }

  /// revoke(r, on_removed) without a visitor.
  errc revoke(page_range r) noexcept { return revoke(r, ignore_runs{}); }

  /// Clears the bits of r; on_removed(page_range) sees each maximal run of bits that
  /// were set (its result is ignored). O(pages of r / 64). Never allocates, so it is
  /// always exact: ok, or invalid_range (r not inside [0, universe())) with nothing
  /// changed. Never revoked_extra.
  template <range_visitor F>
  errc revoke(page_range r, F&& on_removed) noexcept {
    if (!in_universe(r)) return errc::invalid_range;
    if (words_ == nullptr || count_ == 0) return errc::ok;
    // After the revoke no bit of r is set, so the only run start left in
    // [r.first, r.last + 1] is r.last + 1, if that page is set.
    const std::uint64_t starts_before = detail::count_run_starts(words_, r.first, edge_after(r));
    const std::uint64_t starts_after = (r.last + 1 < universe_ && test(r.last + 1)) ? 1u : 0u;

    auto emit = [&on_removed](page_range x) noexcept { detail::notify(on_removed, x); };
    detail::run_builder runs;
    std::uint64_t removed = 0;
    const std::uint64_t wl = detail::word_of(r.last);
    for (std::uint64_t w = detail::word_of(r.first); w <= wl; ++w) {
      const detail::word_t m = detail::word_mask(w, r.first, r.last);
      const detail::word_t old = words_[w];
      const detail::word_t changed = m & old;
      if (changed == 0) continue;
      words_[w] = old & ~m;
      removed += detail::popcount64(changed);
      if constexpr (!std::is_same_v<std::remove_cvref_t<F>, ignore_runs>) {
        static_cast<void>(runs.feed(detail::first_bit_of_word(w), changed, emit));
      }
    }
    if constexpr (!std::is_same_v<std::remove_cvref_t<F>, ignore_runs>) static_cast<void>(runs.finish(emit));
    count_ -= removed;
    runs_ = runs_ - static_cast<std::size_t>(starts_before) + static_cast<std::size_t>(starts_after);
    return errc::ok;
  }

  // revoke_exact, reserve and reserve_count: detail::recorded_reserve (clearing bits
  // never needs memory, so every revoke is exact and any number is covered).

  /// Always true: a revoke here never needs memory. O(1).
  [[nodiscard]] bool reserve_full() const noexcept { return true; }
  /// Gives the array back when no page is granted (it is allocated again at the next
  /// grant), so the bytes then depend on the pages alone: 0 when empty, the whole
  /// array otherwise. O(1); always ok.
  errc shrink_to_fit() noexcept {
    if (count_ == 0) release();
    return errc::ok;
  }

  /// Zero every bit; the array is kept (see the header comment). O(universe / 64)
  /// (O(1) when already empty). Cannot fail.
  void clear() noexcept {
    if (words_ != nullptr && count_ != 0)
      std::memset(words_, 0, static_cast<std::size_t>(word_count()) * sizeof(detail::word_t));
    count_ = 0;
    runs_ = 0;
  }

  /// No page is granted. O(1).
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }

  /// Page p is granted (false for p outside the universe). O(1).
  [[nodiscard]] bool contains(page_t p) const noexcept { return p < universe_ && words_ != nullptr && test(p); }

  /// Every page of r is granted; false for an r not inside the universe. O(pages of r / 64).
  [[nodiscard]] bool contains_all(page_range r) const noexcept {
    if (!in_universe(r) || words_ == nullptr) return false;
    const std::uint64_t wl = detail::word_of(r.last);
    for (std::uint64_t w = detail::word_of(r.first); w <= wl; ++w) {
      const detail::word_t m = detail::word_mask(w, r.first, r.last);
      if ((words_[w] & m) != m) return false;
    }
    return true;
  }

  /// Some page of r is granted (r may reach past the universe); false for an
  /// invalid r. O(pages of r inside the universe / 64).
  [[nodiscard]] bool contains_any(page_range r) const noexcept {
    if (!r.valid() || words_ == nullptr || r.first >= universe_) return false;
    const page_t last = r.last < universe_ ? r.last : universe_ - 1;
    const std::uint64_t wl = detail::word_of(last);
    for (std::uint64_t w = detail::word_of(r.first); w <= wl; ++w) {
      if ((words_[w] & detail::word_mask(w, r.first, last)) != 0) return true;
    }
    return false;
  }

  /// Pages granted (cached). O(1).
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  /// Maximal runs of granted pages (cached). O(1).
  [[nodiscard]] std::size_t range_count() const noexcept { return runs_; }

  /// The array's bytes once allocated, 0 before the first grant. O(1).
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return words_ == nullptr ? 0 : static_cast<std::size_t>(word_count()) * sizeof(detail::word_t);
  }

  /// Pages [0, universe()) are the ones this bitmap can hold. O(1).
  [[nodiscard]] page_t universe() const noexcept { return universe_; }

  /// f(page_range) on each maximal run, ascending; f returns void, or bool (false
  /// stops: then this returns false). O(universe / 64). Cannot fail.
  template <range_visitor F>
  [[nodiscard]] bool for_each_range(F&& f) const noexcept {
    return for_each_range(page_range{0, max_page}, static_cast<F&&>(f));
  }

  /// Like for_each_range(f), over the runs meeting window, clipped to it; an invalid
  /// window meets nothing (returns true). O(words in the window, clipped to the
  /// universe); zero words cost one load each.
  template <range_visitor F>
  [[nodiscard]] bool for_each_range(page_range window, F&& f) const noexcept {
    if (!window.valid() || words_ == nullptr || count_ == 0 || window.first >= universe_) return true;
    const page_t last = window.last < universe_ ? window.last : universe_ - 1;
    detail::run_builder runs;
    const std::uint64_t wl = detail::word_of(last);
    for (std::uint64_t w = detail::word_of(window.first); w <= wl; ++w) {
      const detail::word_t bits = words_[w] & detail::word_mask(w, window.first, last);
      if (bits != 0 && !runs.feed(detail::first_bit_of_word(w), bits, f)) return false;
    }
    return runs.finish(f);
  }

  /// Cached count and run count equal a recount, and no bit past the universe is
  /// set: false means a bug in this class. O(universe / 64).
  [[nodiscard]] bool check_invariants() const noexcept {
    if (words_ == nullptr) return count_ == 0 && runs_ == 0;
    const std::uint64_t n = word_count();
    std::uint64_t pages = 0;
    std::uint64_t starts = 0;
    for (std::uint64_t w = 0; w < n; ++w) {
      pages += detail::popcount64(words_[w]);
      starts += detail::popcount64(detail::run_starts(words_[w], w > 0 ? words_[w - 1] : 0));
    }
    const unsigned tail = detail::bit_of(universe_);
    if (tail != 0 && (words_[n - 1] & detail::mask_from(tail)) != 0) return false;
    return pages == count_ && starts == runs_;
  }

 private:
  struct ignore_runs {
    void operator()(page_range) const noexcept {}
  };

  [[nodiscard]] bool in_universe(page_range r) const noexcept { return r.valid() && r.last < universe_; }

  [[nodiscard]] bool test(page_t p) const noexcept {
    return ((words_[detail::word_of(p)] >> detail::bit_of(p)) & 1u) != 0;
  }

  /// r.last + 1 when that page exists: the last position whose run-start status an
  /// edit of r can change.
  [[nodiscard]] page_t edge_after(page_range r) const noexcept {
    return r.last + 1 < universe_ ? r.last + 1 : r.last;
  }

  [[nodiscard]] std::uint64_t word_count() const noexcept { return detail::words_for(universe_); }

  /// nullptr when the size does not fit in size_t or the allocator refuses.
  [[nodiscard]] detail::word_t* allocate_words(std::uint64_t n) noexcept {
    if (n == 0 || n > SIZE_MAX / sizeof(detail::word_t)) return nullptr;
    return static_cast<detail::word_t*>(
        alloc_.allocate(static_cast<std::size_t>(n) * sizeof(detail::word_t), alignof(detail::word_t)));
  }

  void release() noexcept {
    if (words_ != nullptr) {
      alloc_.deallocate(words_, static_cast<std::size_t>(word_count()) * sizeof(detail::word_t),
                        alignof(detail::word_t));
      words_ = nullptr;
    }
    count_ = 0;
    runs_ = 0;
  }

  [[no_unique_address]] Alloc alloc_{};
  detail::word_t* words_ = nullptr;
  page_t universe_ = 0;
  std::uint64_t count_ = 0;
  std::size_t runs_ = 0;
};

static_assert(page_set<flat_bitmap<>>);

}  // namespace pmemperm
