#!/usr/bin/env bash
# The hypervisor-profile check (docs/design.md, rule 1), run by CTest as `hypervisor_profile`.
#
# Every core header (include/pmemperm minus study/ and backends/icl.hpp) is compiled
# on its own, included twice in a translation unit of its own, so a header that
# relies on another one's includes, or lacks its include guard, fails. Then
# instantiate.cpp, which calls every member of every backend, is compiled with -O2 and -O0
# into an object file (with and without PMEMPERM_DEBUG), so -Wframe-larger-than and
# -Wconversion see real code. All of it with g++ and with clang++; with g++ on
# x86-64, -mgeneral-regs-only also turns any floating point in that code into an
# error.
#
# Usage: check.sh <include dir> <work dir>
# PMEMPERM_HV_COMPILERS overrides the compilers tried (default "g++ clang++"). A
# missing compiler is skipped with a message, except under CI=true, where it fails.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 <include dir> <work dir>" >&2
  exit 2
fi
include_dir=$(cd "$1" && pwd)
work=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

profile=(-std=c++20 -fno-exceptions -fno-rtti -fno-threadsafe-statics
         -Wframe-larger-than=1024 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror)

mapfile -t headers < <(cd "$include_dir" &&
  find pmemperm -name '*.hpp' ! -path 'pmemperm/study/*' ! -path 'pmemperm/backends/icl.hpp' |
  LC_ALL=C sort)
if [ ${#headers[@]} -eq 0 ]; then
  echo "hypervisor profile: no core headers under $include_dir" >&2
  exit 1
fi

rm -rf "$work"
mkdir -p "$work/tu"
for header in "${headers[@]}"; do
  tu="$work/tu/${header//\//_}.cpp"
  printf '#include <%s>\n#include <%s>\n' "$header" "$header" >"$tu"
done

failures=0
compilers_run=0
fail() {
  echo "FAIL  $*"
  failures=$((failures + 1))
}

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
  flags=("${profile[@]}" -I"$include_dir")
  # g++ only: clang rejects libstdc++'s long double overloads under this flag even
  # when nothing uses them.
  predefined=$("$cxx" -dM -E -x c++ /dev/null)
  if [[ "$("$cxx" -dumpmachine)" == x86_64* && "$predefined" != *__clang__* ]]; then
    flags+=(-mgeneral-regs-only)
  fi
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
done

if [ "$compilers_run" -eq 0 ]; then
  echo "hypervisor profile: no compiler found" >&2
  exit 1
fi
if [ "$failures" -ne 0 ]; then
  echo "hypervisor profile: $failures failure(s)"
  exit 1
fi
echo "hypervisor profile: ${#headers[@]} headers + instantiate.cpp clean with $compilers_run compiler(s)"
