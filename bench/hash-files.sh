#!/usr/bin/env bash
# Benchmark `wit-cache hash-files '**'` against `find | xargs sha256sum` on the same tree.
#
# Usage: bench/hash-files.sh [PRESET]        (default: medium, ~20k files / ~200 MB)
#   env TREE_DIR=...  reuse or create the tree there (default: target/bench-tree-PRESET)
#   env RUNS=N        timed runs per command (default: 15)
#   env BASELINE=PATH also time this (older) wit-cache binary, for a before/after ratio; both
#                     must print the same hash
#   env OUT=FILE      append measure.py's JSON summary (unrounded medians) to FILE
#
# Builds the release binary, generates the tree with bench/gen-tree.py (seeded, so every run
# measures the same bytes) and times the commands with bench/measure.py: round-robin, one run
# of each command per round in rotating order, the tree re-read into the page cache before
# every timed run, so drift on a busy machine hits all commands alike and each ratio compares
# runs seconds apart. Prints the median wall and CPU times and the median per-round ratios
# wit-cache / sha256sum (target <= 0.6) and, with BASELINE, wit-cache / baseline.
set -euo pipefail

preset="${1:-medium}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
tree="${TREE_DIR:-$repo/target/bench-tree-$preset}"
runs="${RUNS:-15}"

(cd "$repo" && cargo build --release --quiet)
bin="$repo/target/release/wit-cache"

if [ ! -d "$tree" ]; then
    python3 "$repo/bench/gen-tree.py" --preset "$preset" "$tree"
fi
echo "tree: $tree ($(find "$tree" -type f | wc -l) files, $(du -sh --apparent-size "$tree" | cut -f1))" >&2
echo "cpus: $(nproc)" >&2

wit="'$bin' --workspace '$tree' hash-files '**'"
cmds=(--cmd wit-cache "$wit"
      --cmd sha256sum "cd '$tree' && find . -type f -print0 | xargs -0 sha256sum >/dev/null")
ratios=(--ratio wit-cache sha256sum)
if [ -n "${BASELINE:-}" ]; then
    base="'$BASELINE' --workspace '$tree' hash-files '**'"
    new_hash="$(eval "$wit")"
    old_hash="$(eval "$base")"
    if [ "$new_hash" != "$old_hash" ]; then
        echo "hash-files.sh: the baseline prints $old_hash, this build $new_hash" >&2
        exit 1
    fi
    cmds+=(--cmd baseline "$base")
    ratios+=(--ratio wit-cache baseline)
fi
# This VM pages out page-cache pages idle for a minute: re-read the tree before every run.
python3 "$repo/bench/measure.py" --group "hash-files '**'" --runs "$runs" \
    --prepare "find '$tree' -type f -print0 | xargs -0 cat >/dev/null" "${cmds[@]}" "${ratios[@]}" \
    ${OUT:+--out "$OUT"}
