// pmemperm/detail/hybrid/dispatch.hpp — the one place that turns a chunk's `rep`
// into the code of its kind.
//
// Each kind (inline_pages.hpp, page_list.hpp, run_list.hpp, word_list.hpp,
// bitmap.hpp) offers the same static interface: contains, walk, contains_all,
// contains_any, nonzero_words and count_window on a view; the container kinds
// also grant, revoke, fill and copy in place. The functions below pick the kind
// and, for edits, keep the header's counts exact.
//
// Every function works on offsets within one chunk, costs O(entries or words it
// touches) and never fails; allocation is the caller's business.
#pragma once

#include "../../config.hpp"

#include <cstdint>
#include <type_traits>

#include "bitmap.hpp"
#include "chunk_view.hpp"
#include "inline_pages.hpp"
#include "layout.hpp"
#include "page_list.hpp"
#include "run_list.hpp"
#include "word_list.hpp"

namespace pmemperm::detail::hyb {

/// Calls f(K{}) with K the kind of representation k. Precondition: k holds pages in
/// a slot or a container (not empty, not run_slots).
template <class F>
PMEMPERM_HYB_INLINE decltype(auto) with_kind(rep k, F&& f) noexcept {
  switch (k) {
    case rep::inline_pages: return f(inline_pages{});
    case rep::page_list: return f(page_list{});
    case rep::run_list: return f(run_list{});
    case rep::word_list: return f(word_list{});
    case rep::bitmap: return f(bitmap{});
    case rep::empty:
    case rep::run_slots: break;
  }
  PMEMPERM_ASSERT(false);
  using result = decltype(f(bitmap{}));
  if constexpr (!std::is_void_v<result>) return result{};
}

/// The same for a container's kind (the kinds that are edited in place).
template <class F>
PMEMPERM_HYB_INLINE decltype(auto) with_container_kind(const header* h, F&& f) noexcept {
  switch (h->kind()) {
    case rep::page_list: return f(page_list{});
    case rep::run_list: return f(run_list{});
    case rep::word_list: return f(word_list{});
    case rep::bitmap: return f(bitmap{});
    case rep::empty:
    case rep::run_slots:
    case rep::inline_pages: break;
  }
  PMEMPERM_ASSERT(false);
  using result = decltype(f(bitmap{}));
  if constexpr (!std::is_void_v<result>) return result{};
}

// ---- reading a chunk held inline or in a container ---------------------------------------

[[nodiscard]] inline bool contains(const view& v, std::uint32_t off) noexcept {
  return with_kind(v.kind, [&](auto k) noexcept { return decltype(k)::contains(v, off); });
}

/// Calls f(first, last) -> bool for each maximal run of the chunk clipped to the
/// offsets [lo, hi], ascending. Returns false if f stopped it.
template <class F>
bool walk(const view& v, std::uint32_t lo, std::uint32_t hi, F&& f) noexcept {
  return with_kind(v.kind, [&](auto k) noexcept { return decltype(k)::walk(v, lo, hi, f); });
}

[[nodiscard]] inline bool contains_all(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
  return with_kind(v.kind, [&](auto k) noexcept { return decltype(k)::contains_all(v, lo, hi); });
}
[[nodiscard]] inline bool contains_any(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
  return with_kind(v.kind, [&](auto k) noexcept { return decltype(k)::contains_any(v, lo, hi); });
}

/// Nonzero bitmap words among word indexes [wl, wh].
[[nodiscard]] inline std::uint32_t nonzero_words(const view& v, std::uint32_t wl, std::uint32_t wh) noexcept {
  return with_kind(v.kind, [&](auto k) noexcept { return decltype(k)::nonzero_words(v, wl, wh); });
}

[[nodiscard]] inline window_counts count_window(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
  return with_kind(v.kind, [&](auto k) noexcept { return decltype(k)::count_window(v, lo, hi); });
}

/// The census of [lo, hi] (chunk_view.hpp): what an edit of that window needs to
/// keep the counts exact.
[[nodiscard]] inline census survey(const view& v, std::uint32_t lo, std::uint32_t hi) noexcept {
  return with_kind(v.kind, [&](auto k) noexcept { return decltype(k)::survey(v, lo, hi); });
}

/// The counts of a chunk held inline or in a container.
[[nodiscard]] inline stats stats_of(const view& v) noexcept {
  return v.kind == rep::inline_pages ? inline_pages::counts(v) : v.h->counts();
}

// ---- editing a container --------------------------------------------------------------------

/// Writes a run stream into a fresh container h (kind and cap set by init()):
/// `source(emit)` calls emit(first, last) for each maximal run, ascending.
template <class Source>
void fill(header* h, Source&& source) noexcept {
  stats_builder sb;
  auto counted = [&](auto&& emit) noexcept {
    source([&](std::uint32_t f, std::uint32_t l) noexcept {
      sb.add(f, l);
      emit(f, l);
    });
  };
  with_container_kind(h, [&](auto k) noexcept { decltype(k)::fill(h, counted); });
  h->set_counts(sb.s);
}

/// A copy of a container into a larger one of the same kind (init() done).
inline void copy_into(const header* from, header* to) noexcept {
  PMEMPERM_ASSERT(from->kind() == to->kind() && entries_in(from) <= to->cap());
  with_container_kind(from, [&](auto k) noexcept { decltype(k)::copy(from, to); });
  to->set_counts(from->counts());
}

/// Grants [lo, hi] in place. Precondition: cap >= entries_needed(kind, counts
/// after). `c` is survey() of the container before the edit.
inline void grant_in_place(header* h, std::uint32_t lo, std::uint32_t hi, const census& c) noexcept {
  const stats after = after_grant(h->counts(), lo, hi, c);
  PMEMPERM_ASSERT(entries_needed(h->kind(), after) <= h->cap());
  with_container_kind(h, [&](auto k) noexcept { decltype(k)::grant_at(h, lo, hi, c); });
  h->set_counts(after);
}
/// The same from the window's counts (count_window()).
inline void grant_in_place(header* h, std::uint32_t lo, std::uint32_t hi, const window_counts& before) noexcept {
  const stats after = stats_after_grant(h->counts(), lo, hi, before);
  PMEMPERM_ASSERT(entries_needed(h->kind(), after) <= h->cap());
  with_container_kind(h, [&](auto k) noexcept { decltype(k)::grant(h, lo, hi); });
  h->set_counts(after);
}
inline void grant_in_place(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
  grant_in_place(h, lo, hi, survey(view::of(h), lo, hi));
}

/// Whether revoking [lo, hi] would split a run of a run list (and so need a free
/// pair).
[[nodiscard]] inline bool revoke_splits(const header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
  return h->kind() == rep::run_list && run_list::splits(h, lo, hi);
}

/// Revokes [lo, hi] in place. Precondition: if revoke_splits(), cap > runs.
/// `c` is survey() of the container before the edit.
inline void revoke_in_place(header* h, std::uint32_t lo, std::uint32_t hi, const census& c) noexcept {
  const stats after = after_revoke(h->counts(), lo, hi, c);
  // The kind returns its new length, the count its geometry follows.
  const std::uint32_t length =
      with_container_kind(h, [&](auto k) noexcept { return decltype(k)::revoke(h, lo, hi); });
  PMEMPERM_ASSERT(geometry_of(h->kind()).counted == nullptr || after.*geometry_of(h->kind()).counted == length);
  static_cast<void>(length);
  h->set_counts(after);
}
inline void revoke_in_place(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
  revoke_in_place(h, lo, hi, survey(view::of(h), lo, hi));
}

/// Revokes [lo, hi] in place, reading and editing in one pass, and returns the
/// census of the window taken before; the header's counts are exact afterwards.
/// Precondition as revoke_in_place().
[[nodiscard]] PMEMPERM_HYB_INLINE census revoke_counted(header* h, std::uint32_t lo, std::uint32_t hi) noexcept {
  const stats now = h->counts();
  const census c = with_container_kind(h, [&](auto k) noexcept { return decltype(k)::revoke_counted(h, lo, hi); });
  h->set_counts(after_revoke(now, lo, hi, c));
  return c;
}

}  // namespace pmemperm::detail::hyb
