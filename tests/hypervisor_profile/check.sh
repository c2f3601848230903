#!/usr/bin/env bash
# The hypervisor-profile check (docs/design.md, rule 1), run by CTest as `hypervisor_profile`.
#
# Every core header (include/pmemperm minus study/ and backends/icl.hpp) is compiled
# on its own, included twice in a translation unit of its own, so a header that
# relies on another one's includes, or lacks its include guard, fails. The headers
# are compiled two ways: through `-I <include dir>`, and, when an installed prefix
# is given, through the include directories that find_package(pmemperm) reports
# for that installed tree — as plain -I, never as system headers, so that no
# warning is hidden. Then instantiate.cpp, which calls every member of every
# backend, is compiled with -O2 and -O0 into an object file (with and without
# PMEMPERM_DEBUG), so -Wframe-larger-than and -Wconversion see real code. All of it
# with g++ and with clang++; with g++ on x86-64, -mgeneral-regs-only also turns any
# floating point in that code into an error.
#
# The warnings are the strictest set an embedder usually builds with: the
# profile's, plus -Wswitch-enum -Wcast-align=strict -Wnull-dereference
# -Wold-style-cast -Wsign-conversion -Wundef -Wdouble-promotion. A flag the compiler
# lacks is dropped for that compiler only, with a note (clang has no
# -Wcast-align=strict: it gets -Wcast-align instead).
#
# Two checks of diagnostics follow, per compiler:
#  - below C++20 (-std=c++17) every header but tuning.hpp (plain constants, valid
#    C++17) must fail with config.hpp's `#error "pmemperm requires C++20 ..."` and
#    no other diagnostic (in particular not types.hpp's "defaulted" operator==);
#  - wrong_visitor.cpp: a visitor of the wrong type handed to a visitor API must
#    fail at the call with a message naming the concept it breaks (range_visitor,
#    or visitor_of for domain visitors); the same file with right visitors must
#    compile cleanly.
#
# Usage: check.sh <include dir> <work dir> [<installed prefix>]
# PMEMPERM_HV_COMPILERS overrides the compilers tried (default "g++ clang++"). A
# missing compiler is skipped with a message, except under CI=true, where it fails.
# CMAKE names the cmake that runs find_package (default: cmake on the PATH).
set -euo pipefail

if [ $# -ne 2 ] && [ $# -ne 3 ]; then
  echo "usage: $0 <include dir> <work dir> [<installed prefix>]" >&2
  exit 2
fi
include_dir=$(cd "$1" && pwd)
work=$2
prefix=${3:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

profile=(-std=c++20 -fno-exceptions -fno-rtti -fno-threadsafe-statics
         -Wframe-larger-than=1024 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror)
# The embedder's extra warnings, each as flag:fallback ("-": none) for a compiler
# that lacks the flag.
strict=(-Wswitch-enum:- -Wcast-align=strict:-Wcast-align -Wnull-dereference:- -Wold-style-cast:-
        -Wsign-conversion:- -Wundef:- -Wdouble-promotion:-)

mapfile -t headers < <(cd "$include_dir" &&
  find pmemperm -name '*.hpp' ! -path 'pmemperm/study/*' ! -path 'pmemperm/backends/icl.hpp' |
  LC_ALL=C sort)
if [ ${#headers[@]} -eq 0 ]; then
  echo "hypervisor profile: no core headers under $include_dir" >&2
  exit 1
fi

rm -rf "$work"
mkdir -p "$work/tu" "$work/cxx17"
for header in "${headers[@]}"; do
  tu="$work/tu/${header//\//_}.cpp"
  printf '#include <%s>\n#include <%s>\n' "$header" "$header" >"$tu"
  printf '#include <%s>\n' "$header" >"$work/cxx17/${header//\//_}.cpp"
done

failures=0
compilers_run=0
fail() {
  echo "FAIL  $*"
  failures=$((failures + 1))
}

# The installed tree as an embedder's CMake sees it: the include directories of the
# imported target pmemperm::pmemperm.
installed_dirs=()
if [ -n "$prefix" ]; then
  probe="$work/find_package"
  mkdir -p "$probe/src"
  {
    echo 'cmake_minimum_required(VERSION 3.25)'
    echo 'project(pmemperm_hv_find_package LANGUAGES NONE)'
    echo 'find_package(pmemperm CONFIG REQUIRED)'
    echo 'get_target_property(dirs pmemperm::pmemperm INTERFACE_INCLUDE_DIRECTORIES)'
    echo 'file(WRITE "${CMAKE_BINARY_DIR}/include_dirs.txt" "${dirs}")'
  } >"$probe/src/CMakeLists.txt"
  if "${CMAKE:-cmake}" -S "$probe/src" -B "$probe/build" -DCMAKE_PREFIX_PATH="$prefix" \
       -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$probe/log.txt" 2>&1; then
    # The file has no final newline, so read reports end of file; the array is filled.
    IFS=";" read -r -a installed_dirs <"$probe/build/include_dirs.txt" || true
    echo "find_package(pmemperm) under $prefix: include directories ${installed_dirs[*]}"
    for dir in "${installed_dirs[@]}"; do
      if [ "$dir" -ef "$include_dir" ]; then
        fail "find_package found the source tree ($dir), not the installed one"
      fi
    done
  else
    cat "$probe/log.txt"
    fail "find_package(pmemperm) finds no installed pmemperm under $prefix"
    installed_dirs=()
  fi
fi

for cxx in ${PMEMPERM_HV_COMPILERS:-g++ clang++}; do
  if ! command -v "$cxx" >/dev/null 2>&1; then
    if [ "${CI:-}" = true ]; then
      fail "$cxx: not installed, and CI must run the check with every compiler"
    else
      echo "SKIP  $cxx: not installed (scripts/test.sh installs it), its half of the check did not run"
    fi
    continue
  fi
  compilers_run=$((compilers_run + 1))
  warnings=("${profile[@]}")
  for entry in "${strict[@]}"; do
    flag=${entry%%:*}
    fallback=${entry#*:}
    if "$cxx" -Werror "$flag" -x c++ -fsyntax-only /dev/null >/dev/null 2>&1; then
      warnings+=("$flag")
    elif [ "$fallback" != - ]; then
      echo "NOTE  $cxx has no $flag: $fallback instead"
      warnings+=("$fallback")
    else
      echo "NOTE  $cxx has no $flag: dropped"
    fi
  done
  # g++ only: clang rejects libstdc++'s long double overloads under this flag even
  # when nothing uses them.
  predefined=$("$cxx" -dM -E -x c++ /dev/null)
  if [[ "$("$cxx" -dumpmachine)" == x86_64* && "$predefined" != *__clang__* ]]; then
    warnings+=(-mgeneral-regs-only)
  fi
  flags=("${warnings[@]}" -I"$include_dir")
  version=$("$cxx" --version)
  echo "== $cxx (${version%%$'\n'*}): ${flags[*]}"

  for header in "${headers[@]}"; do
    tu="$work/tu/${header//\//_}.cpp"
    if "$cxx" "${flags[@]}" -fsyntax-only "$tu"; then
      echo "ok    $header"
    else
      fail "$cxx: $header does not compile on its own under the hypervisor profile"
    fi
  done

  if [ ${#installed_dirs[@]} -ne 0 ]; then
    installed_flags=("${warnings[@]}")
    for dir in "${installed_dirs[@]}"; do installed_flags+=(-I"$dir"); done
    for header in "${headers[@]}"; do
      tu="$work/tu/${header//\//_}.cpp"
      if "$cxx" "${installed_flags[@]}" -fsyntax-only "$tu"; then
        echo "ok    $header (installed tree, found with find_package)"
      else
        fail "$cxx: $header from the installed tree does not compile on its own under the hypervisor profile"
      fi
    done
  fi

  name=$(basename "$cxx")
  # -O2 as shipped, with and without the internal checks; -O0 as a debugging
  # embedder builds it (frames are largest there).
  for variant in release debug unoptimised; do
    extra=(-O2)
    [ "$variant" = debug ] && extra=(-O2 -DPMEMPERM_DEBUG)
    [ "$variant" = unoptimised ] && extra=(-O0 -DPMEMPERM_DEBUG)
    if "$cxx" "${flags[@]}" "${extra[@]}" -c "$here/instantiate.cpp" \
         -o "$work/instantiate.$name.$variant.o"; then
      echo "ok    instantiate.cpp ${extra[*]}"
    else
      fail "$cxx: instantiate.cpp ${extra[*]}"
    fi
  done

  # Below C++20: config.hpp's #error and nothing else (its fatal stop line aside).
  # tuning.hpp holds only constants, valid C++17, and includes nothing of pmemperm.
  cxx17_flags=("${flags[@]/#-std=c++20/-std=c++17}")
  cxx17_failures=$failures
  for header in "${headers[@]}"; do
    [ "$header" = pmemperm/tuning.hpp ] && continue
    if out=$("$cxx" "${cxx17_flags[@]}" -fsyntax-only "$work/cxx17/${header//\//_}.cpp" 2>&1); then
      fail "$cxx -std=c++17: $header compiles; config.hpp must stop it"
      continue
    fi
    others=$(grep -E '(error|warning):' <<<"$out" | grep -v -e 'pmemperm requires C++20' -e 'requires-cxx20' || true)
    if ! grep -q 'error:.*pmemperm requires C++20' <<<"$out"; then
      fail "$cxx -std=c++17: $header does not stop at config.hpp's #error:"$'\n'"$out"
    elif grep -q defaulted <<<"$out" || [ -n "$others" ]; then
      fail "$cxx -std=c++17: $header reports more than config.hpp's #error (is config.hpp its first include?):"$'\n'"$out"
    fi
  done
  if [ "$failures" -eq "$cxx17_failures" ]; then
    echo "ok    -std=c++17: every header stops at config.hpp's #error alone"
  fi

  # A wrong visitor is refused at the call, naming the concept. Case 0 (right
  # visitors) must compile, or the failures of the other cases would prove nothing.
  if "$cxx" "${flags[@]}" -DPMEMPERM_WRONG_VISITOR=0 -fsyntax-only "$here/wrong_visitor.cpp"; then
    echo "ok    wrong_visitor.cpp with right visitors"
  else
    fail "$cxx: wrong_visitor.cpp does not compile with right visitors"
  fi
  for case_concept in 1:range_visitor 2:range_visitor 3:range_visitor 4:visitor_of 5:range_visitor \
                      6:range_visitor 7:visitor_of; do
    n=${case_concept%%:*}
    concept=${case_concept#*:}
    if out=$("$cxx" "${flags[@]}" -DPMEMPERM_WRONG_VISITOR="$n" -fsyntax-only "$here/wrong_visitor.cpp" 2>&1); then
      fail "$cxx: wrong_visitor.cpp case $n compiles; its wrong visitor must be refused"
      continue
    fi
    first_error=$(grep -m1 'error:' <<<"$out" || true)
    if ! grep -q "$concept" <<<"$out"; then
      fail "$cxx: wrong_visitor.cpp case $n: the error does not name $concept:"$'\n'"$out"
    elif [[ "$first_error" != *wrong_visitor.cpp:* ]]; then
      fail "$cxx: wrong_visitor.cpp case $n: the first error is not at the call:"$'\n'"$out"
    else
      echo "ok    wrong visitor, case $n: refused at the call, naming $concept"
    fi
  done
done

if [ "$compilers_run" -eq 0 ]; then
  echo "hypervisor profile: no compiler found" >&2
  exit 1
fi
if [ "$failures" -ne 0 ]; then
  echo "hypervisor profile: $failures failure(s)"
  exit 1
fi
ways="through -I"
[ ${#installed_dirs[@]} -ne 0 ] && ways="$ways and through the installed tree"
echo "hypervisor profile: ${#headers[@]} headers ($ways) + instantiate.cpp clean with $compilers_run" \
     "compiler(s); -std=c++17 and wrong visitors refused as they should be"
