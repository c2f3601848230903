#!/usr/bin/env bash
# The main job: the strategy study. Installs what is missing (Debian packages),
# builds the release preset and runs study/pmemperm_study: every backend and every
# comparator on the fragmented patterns W1-W8 at full size, a progress line per
# pattern on stderr, a table per pattern on stdout, and results.json,
# results.csv, memory_per_page.png and contains.png in ./study-out (a few minutes
# on a 2-core machine). Arguments go to the program (`scripts/study.sh --help`);
# build output goes to stderr, so `scripts/study.sh > tables.txt` keeps the tables.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

{
  # Boost.ICL, CRoaring and Abseil are the comparators; gnuplot renders the charts;
  # Google Benchmark is for bench/ (the same preset builds it).
  "$root/scripts/deps.sh" cmake make g++ libboost-dev libbenchmark-dev libroaring-dev libabsl-dev gnuplot-nox
  cd "$root"
  cmake --preset release
  cmake --build --preset release --target pmemperm_study
} >&2

exec "$root/build/release/study/pmemperm_study" "$@"
