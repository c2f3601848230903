#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds the debug-asan preset
# (AddressSanitizer + UndefinedBehaviorSanitizer) with two jobs and runs every test.
# The exit code is the test result. Extra arguments go to ctest, e.g.
#   scripts/test.sh -R hypervisor_profile
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

"$root/scripts/deps.sh" cmake make g++ clang libclang-rt-14-dev libboost-dev catch2 libbenchmark-dev pkg-config \
  libroaring-dev libabsl-dev

cd "$root"
cmake --preset debug-asan
cmake --build --preset debug-asan
ctest --preset debug-asan "$@"
