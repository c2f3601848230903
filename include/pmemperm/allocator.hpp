// pmemperm/allocator.hpp — where every byte comes from.
//
// Each container stores its own allocator; there is no global hook. An allocator
// reports failure by returning nullptr (never by throwing), and gets back the same
// size and alignment on deallocate, so a hypervisor can back it with a page pool
// or a fixed arena.
#pragma once

#include "config.hpp"  // first: below C++20 it stops with one #error

#include <concepts>
#include <cstddef>
#include <new>

namespace pmemperm {

/// A byte_allocator A provides, for `a` of type A:
///  - `a.allocate(bytes, align)` noexcept, returning `void*`: `bytes` bytes aligned
///    to `align` (a power of two), or nullptr on failure. Never called with 0 bytes.
///  - `a.deallocate(p, bytes, align)` noexcept: returns memory obtained from
///    allocate with the same bytes and align.
///  - nothrow move construction, so containers holding it can move noexcept.
template <class A>
concept byte_allocator = std::is_nothrow_move_constructible_v<A> &&
                         requires(A& a, void* p, std::size_t bytes, std::size_t align) {
                           { a.allocate(bytes, align) } noexcept -> std::same_as<void*>;
                           { a.deallocate(p, bytes, align) } noexcept;
                         };

/// The default allocator: nothrow global new/delete with explicit alignment.
/// Stateless; every instance frees what any other allocated.
struct new_allocator {
  /// `bytes` bytes aligned to `align` from nothrow operator new (the aligned form
  /// above __STDCPP_DEFAULT_NEW_ALIGNMENT__), or nullptr when it refuses. O(1) calls.
  [[nodiscard]] void* allocate(std::size_t bytes, std::size_t align) noexcept {
    if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) return ::operator new(bytes, std::nothrow);
    return ::operator new(bytes, std::align_val_t{align}, std::nothrow);
  }
  /// Returns p (from allocate with the same bytes and align) to operator delete,
  /// sized when the compiler offers sized deallocation. Cannot fail.
  void deallocate(void* p, std::size_t bytes, std::size_t align) noexcept {
#if defined(__cpp_sized_deallocation)
    if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__)
      ::operator delete(p, bytes);
    else
      ::operator delete(p, bytes, std::align_val_t{align});
#else
    static_cast<void>(bytes);  // clang enables sized deallocation only on request
    if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__)
      ::operator delete(p);
    else
      ::operator delete(p, std::align_val_t{align});
#endif
  }
  /// Always true: any instance deallocates what another allocated.
  friend constexpr bool operator==(const new_allocator&, const new_allocator&) noexcept = default;
};

static_assert(byte_allocator<new_allocator>);

}  // namespace pmemperm
