// pmemperm/config.hpp — build-time knobs shared by every header.
//
// PMEMPERM_ASSERT(cond) checks internal invariants (never input validation: bad
// input is always reported through errc, whatever this macro does). By default it
// is active only when PMEMPERM_DEBUG is defined, and then traps. An embedder may
// define PMEMPERM_ASSERT before including any pmemperm header to route it to its
// own panic handler.
//
// Every public header includes this one first, so that a translation unit compiled
// below C++20 stops at the one #error below instead of at whatever C++20 construct
// the compiler happens to meet first.
#pragma once

// MSVC keeps __cplusplus at 199711L unless /Zc:__cplusplus is given; _MSVC_LANG has
// the real value. Anything above C++17 passes (g++ 10 reports C++20 as 201709L).
/// The language version the compiler really implements (__cplusplus, or MSVC's
/// _MSVC_LANG).
#if defined(_MSVC_LANG)
#  define PMEMPERM_CPLUSPLUS _MSVC_LANG
#else
#  define PMEMPERM_CPLUSPLUS __cplusplus
#endif
#if PMEMPERM_CPLUSPLUS <= 201703L
#  error "pmemperm requires C++20: compile with -std=c++20 (MSVC: /std:c++20) or later"
// #error does not stop g++, clang or MSVC: they go on to report every C++20 construct
// of the headers that follow. A missing include is fatal, so the #error above is
// the only diagnostic about pmemperm besides this line.
#  include <pmemperm/requires-cxx20-see-the-error-above>
#endif

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
