// bench/support/heap_meter.hpp — real heap bytes, measured the same way for every
// structure of a benchmark, ours and the comparators alike.
//
// What is counted: every block a structure holds from the C heap, as
// malloc_usable_size(block) + 8 bytes of malloc header, summed over the blocks live
// at the end of a measured scope. That is what the process really pays, slack and
// headers included, whichever allocation interface the structure uses.
//
// How: the program replaces malloc and its relatives (the glibc "replacing malloc"
// interface) with thin wrappers that forward to glibc's own allocator
// (__libc_malloc and friends) and, only while a heap_scope is open, add or subtract
// each block's footprint. operator new, the standard containers, Boost, Abseil and
// CRoaring (whose shared library calls malloc and posix_memalign through the PLT)
// all end up in these wrappers, so one rule measures everybody. CRoaring 0.2.x has
// no allocator hook of its own, which is why the meter sits at the malloc level.
//
// Limits: single threaded (plain counters); a scope must start before the measured
// structure allocates anything and must not free blocks allocated before it
// opened (true for "build a set from empty"). Outside a scope the wrappers cost one
// predictable branch, so timed loops are not slowed down.
//
// Include this header from exactly one translation unit of a program: it defines
// the malloc family. Without glibc, or under sanitizers (which replace malloc
// themselves; CMake then sets PMEMPERM_BENCH_HEAP_HOOKS=0), the meter is off and
// heap_meter::available() is false.
#pragma once

#include <cstddef>
#include <cstdint>

#if !defined(PMEMPERM_BENCH_HEAP_HOOKS)
#if defined(__GLIBC__)
#define PMEMPERM_BENCH_HEAP_HOOKS 1
#else
#define PMEMPERM_BENCH_HEAP_HOOKS 0
#endif
#endif

#if PMEMPERM_BENCH_HEAP_HOOKS
#include <cerrno>
#include <cstdlib>
#include <malloc.h>
// clang's mm_malloc.h (pulled in by x86 intrinsics, e.g. from CRoaring) redeclares
// posix_memalign without noexcept, which clang accepts only if no user definition
// came first: see it before ours.
#if __has_include(<mm_malloc.h>)
#include <mm_malloc.h>
#endif
#endif

namespace pmemperm::bench {

/// Bytes a block costs on the heap beyond its usable size (glibc's chunk header).
inline constexpr std::size_t malloc_header_bytes = 8;

struct heap_meter {
  static inline bool counting = false;
  static inline std::int64_t live = 0;    ///< footprint of blocks allocated minus freed while counting
  static inline std::int64_t blocks = 0;  ///< blocks allocated minus freed while counting

  [[nodiscard]] static constexpr bool available() noexcept { return PMEMPERM_BENCH_HEAP_HOOKS != 0; }
};

/// Counts the heap footprint of what is allocated (and still live) between its
/// construction and bytes(). Scopes do not nest.
class heap_scope {
 public:
  heap_scope() noexcept : start_(heap_meter::live), start_blocks_(heap_meter::blocks) { heap_meter::counting = true; }
  ~heap_scope() { heap_meter::counting = false; }
  heap_scope(const heap_scope&) = delete;
  heap_scope& operator=(const heap_scope&) = delete;

  [[nodiscard]] std::int64_t bytes() const noexcept { return heap_meter::live - start_; }
  [[nodiscard]] std::int64_t blocks() const noexcept { return heap_meter::blocks - start_blocks_; }

 private:
  std::int64_t start_;
  std::int64_t start_blocks_;
};

}  // namespace pmemperm::bench

#if PMEMPERM_BENCH_HEAP_HOOKS

// glibc's allocator under its internal names, which stay reachable when the
// public names are replaced.
extern "C" {
void* __libc_malloc(std::size_t bytes) noexcept;
void __libc_free(void* p) noexcept;
void* __libc_calloc(std::size_t n, std::size_t size) noexcept;
void* __libc_realloc(void* p, std::size_t bytes) noexcept;
void* __libc_memalign(std::size_t align, std::size_t bytes) noexcept;
void* __libc_valloc(std::size_t bytes) noexcept;
void* __libc_pvalloc(std::size_t bytes) noexcept;
}

namespace pmemperm::bench::detail {

inline std::int64_t footprint(void* p) noexcept {
  return static_cast<std::int64_t>(malloc_usable_size(p) + malloc_header_bytes);
}

inline void* note_alloc(void* p) noexcept {
  if (heap_meter::counting && p != nullptr) {
    heap_meter::live += footprint(p);
    ++heap_meter::blocks;
  }
  return p;
}

}  // namespace pmemperm::bench::detail

extern "C" {

void* malloc(std::size_t bytes) noexcept { return pmemperm::bench::detail::note_alloc(__libc_malloc(bytes)); }

void free(void* p) noexcept {
  using pmemperm::bench::heap_meter;
  if (heap_meter::counting && p != nullptr) {
    heap_meter::live -= pmemperm::bench::detail::footprint(p);
    --heap_meter::blocks;
  }
  __libc_free(p);
}

void* calloc(std::size_t n, std::size_t size) noexcept {
  return pmemperm::bench::detail::note_alloc(__libc_calloc(n, size));
}

void* realloc(void* p, std::size_t bytes) noexcept {
  using pmemperm::bench::heap_meter;
  const std::int64_t old = heap_meter::counting && p != nullptr ? pmemperm::bench::detail::footprint(p) : 0;
  void* q = __libc_realloc(p, bytes);
  // realloc(p, 0) frees p and returns null; a failed realloc leaves p alone.
  if (heap_meter::counting && p != nullptr && (q != nullptr || bytes == 0)) {
    heap_meter::live -= old;
    --heap_meter::blocks;
  }
  return pmemperm::bench::detail::note_alloc(q);
}

void* reallocarray(void* p, std::size_t n, std::size_t size) noexcept {
  if (size != 0 && n > SIZE_MAX / size) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc(p, n * size);
}

void* memalign(std::size_t align, std::size_t bytes) noexcept {
  return pmemperm::bench::detail::note_alloc(__libc_memalign(align, bytes));
}

void* aligned_alloc(std::size_t align, std::size_t bytes) noexcept {
  if (align == 0 || (align & (align - 1)) != 0) {
    errno = EINVAL;
    return nullptr;
  }
  return pmemperm::bench::detail::note_alloc(__libc_memalign(align, bytes));
}

int posix_memalign(void** out, std::size_t align, std::size_t bytes) noexcept {
  if (align % sizeof(void*) != 0 || (align & (align - 1)) != 0) return EINVAL;
  void* p = __libc_memalign(align, bytes);
  if (p == nullptr) return ENOMEM;
  *out = pmemperm::bench::detail::note_alloc(p);
  return 0;
}

void* valloc(std::size_t bytes) noexcept { return pmemperm::bench::detail::note_alloc(__libc_valloc(bytes)); }

void* pvalloc(std::size_t bytes) noexcept { return pmemperm::bench::detail::note_alloc(__libc_pvalloc(bytes)); }

}  // extern "C"

#endif  // PMEMPERM_BENCH_HEAP_HOOKS
