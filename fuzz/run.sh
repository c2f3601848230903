#!/usr/bin/env bash
# Builds the fuzz targets with clang's libFuzzer (plus AddressSanitizer and UBSan)
# and runs each for a bounded time, starting from a copy of its committed corpus.
# A broken promise, a sanitizer report or a leak fails the run; the input that did
# it is left in <work>/<target>/ as crash-*, and the command to replay it printed.
#
# Usage: run.sh [work dir] [seconds per target] [target...]
#   targets: page_set permission_map (default: both)
#   CXX      clang++ by default; it must have the libFuzzer runtime
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
work=${1:-${TMPDIR:-/tmp}/pmemperm-fuzz}
seconds=${2:-30}
shift $(( $# > 2 ? 2 : $# ))
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(page_set permission_map)
cxx=${CXX:-clang++}

mkdir -p "$work"
status=0
for t in "${targets[@]}"; do
  exe="$work/$t.fuzzer"
  echo "== $cxx -fsanitize=fuzzer,address,undefined -> $exe"
  "$cxx" -std=c++20 -O1 -g -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror -DPMEMPERM_DEBUG -I"$root/include" \
    "$here/${t}_target.cpp" -o "$exe"
  corpus="$work/$t.corpus"
  rm -rf "$corpus"
  mkdir -p "$corpus" "$work/$t"
  cp "$here/corpus/$t"/* "$corpus"/
  log="$work/$t.log"
  echo "== $t: ${seconds} s from $(ls "$corpus" | wc -l) seed inputs"
  rc=0
  (cd "$work/$t" && "$exe" "$corpus" -max_total_time="$seconds" -print_final_stats=1 \
      -timeout=20 -rss_limit_mb=4096 >"$log" 2>&1) || rc=$?
  grep -E "^stat::number_of_executed_units|^stat::average_exec_per_sec|^stat::new_units_added" "$log" |
    sed "s/^/$t: /" || true
  if [ "$rc" -ne 0 ]; then
    tail -n 60 "$log"
    for c in "$work/$t"/crash-* "$work/$t"/leak-* "$work/$t"/timeout-*; do
      [ -e "$c" ] && echo "$t: FAILED; replay with: $exe $c"
    done
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "fuzz: passed"
exit "$status"
