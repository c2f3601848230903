#!/usr/bin/env bash
# The main job: installs what is missing, builds the release preset and runs the
# pattern table (fragmented patterns W1–W6 on every backend: pages, ranges and
# memory bytes per backend). Arguments are passed to the program; build output
# goes to stderr, so `scripts/study.sh > table.txt` keeps just the table.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

{
  # CRoaring and Abseil are the comparators of bench/bench_targets (same preset).
  "$root/scripts/deps.sh" cmake make g++ libboost-dev libbenchmark-dev libroaring-dev libabsl-dev
  cd "$root"
  cmake --preset release
  cmake --build --preset release --target pattern_table
} >&2

exec "$root/build/release/examples/pattern_table" "$@"
