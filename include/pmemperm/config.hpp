// pmemperm/config.hpp — build-time knobs shared by every header.
//
// PMEMPERM_ASSERT(cond) checks internal invariants (never input validation: bad
// input is always reported through errc, whatever this macro does). By default it
// is active only when PMEMPERM_DEBUG is defined, and then traps. An embedder may
// define PMEMPERM_ASSERT before including any pmemperm header to route it to its
// own panic handler.
#pragma once

#ifndef PMEMPERM_ASSERT
#  if defined(PMEMPERM_DEBUG)
#    define PMEMPERM_ASSERT(cond) ((cond) ? static_cast<void>(0) : __builtin_trap())
#  else
#    define PMEMPERM_ASSERT(cond) static_cast<void>(0)
#  endif
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define PMEMPERM_LIKELY(x) __builtin_expect(!!(x), 1)
#  define PMEMPERM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#  define PMEMPERM_LIKELY(x) (x)
#  define PMEMPERM_UNLIKELY(x) (x)
#endif

#define PMEMPERM_VERSION_MAJOR 0
#define PMEMPERM_VERSION_MINOR 1
#define PMEMPERM_VERSION_PATCH 0
