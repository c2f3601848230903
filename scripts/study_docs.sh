#!/usr/bin/env bash
# Refreshes docs/study/ from a finished study run: copies the results, the charts
# and the console output, and splices tables.md into docs/study.md between its
# "tables" markers. The prose of docs/study.md quotes figures too: reread it
# against the new tables.
#
# Usage: scripts/study.sh > study-out/study.txt && scripts/study_docs.sh [study-out]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-"$root/study-out"}

for f in results.json results.csv tables.md memory_per_page.png contains.png; do
  [ -f "$out/$f" ] || { echo "study_docs: $out/$f is missing (run scripts/study.sh first)" >&2; exit 1; }
done
mkdir -p "$root/docs/study"
cp "$out"/{results.json,results.csv,tables.md,memory_per_page.png,contains.png} "$root/docs/study/"
[ -f "$out/study.txt" ] && cp "$out/study.txt" "$root/docs/study/study.txt"

doc="$root/docs/study.md"
begin='<!-- tables: begin'
end='<!-- tables: end -->'
grep -q "^$begin" "$doc" && grep -q "^$end" "$doc" || { echo "study_docs: markers missing in $doc" >&2; exit 1; }
tmp=$(mktemp)
awk -v begin="$begin" -v end="$end" -v tables="$out/tables.md" '
  index($0, begin) == 1 { print; while ((getline line < tables) > 0) print line; skipping = 1; next }
  index($0, end) == 1 { skipping = 0 }
  !skipping { print }
' "$doc" > "$tmp"
mv "$tmp" "$doc"
echo "study_docs: docs/study/ and the tables of docs/study.md updated from $out"
