#!/usr/bin/env bash
# The ThreadSanitizer check of <pmemperm/synchronized.hpp>: builds
# concurrent_readers.cpp with -fsanitize=thread -O1 -g and runs it. Any TSan report
# is fatal (halt_on_error=1, exit code 66), and so is any failed check of the
# program itself (exit code 1).
#
# Usage: run.sh [work dir] [writer rounds]
#   CXX        compiler (default g++; clang++ works too)
#   TSAN_OPTIONS is extended, not replaced.
# Some kernels randomise mmap more than the sanitizer runtime accepts ("unexpected
# memory mapping"); then the run is repeated with address randomisation off
# (setarch -R), which changes nothing else.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${1:-${TMPDIR:-/tmp}/pmemperm-tsan}
rounds=${2:-2000}
cxx=${CXX:-g++}

mkdir -p "$work"
exe="$work/concurrent_readers"
echo "== $cxx -fsanitize=thread -O1 -g -> $exe"
"$cxx" -std=c++20 -fsanitize=thread -O1 -g -fno-omit-frame-pointer \
  -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror \
  -I"$root/include" "$here/concurrent_readers.cpp" -o "$exe" -pthread

export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
log="$work/run.log"
status=0
"$exe" "$rounds" >"$log" 2>&1 || status=$?
if [ "$status" -ne 0 ] && grep -q "unexpected memory mapping" "$log" && command -v setarch >/dev/null; then
  echo "== the sanitizer runtime rejected the memory layout; again with setarch -R"
  status=0
  setarch "$(uname -m)" -R "$exe" "$rounds" >"$log" 2>&1 || status=$?
fi
cat "$log"
if [ "$status" -ne 0 ]; then
  echo "tsan: FAILED (exit code $status)"
  exit 1
fi
if grep -q "WARNING: ThreadSanitizer" "$log"; then
  echo "tsan: FAILED (ThreadSanitizer report)"
  exit 1
fi
echo "tsan: passed"
