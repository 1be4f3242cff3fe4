#!/usr/bin/env bash
# Benchmark `wit-cache hash-files '**'` against `find | xargs sha256sum` on the same tree.
#
# Usage: bench/hash-files.sh [PRESET]        (default: medium, ~20k files / ~200 MB)
#   env TREE_DIR=...  reuse or create the tree there (default: target/bench-tree-PRESET)
#   env RUNS=N        hyperfine runs per command and round (default: 5)
#   env ROUNDS=N      rounds, alternating which command runs first (default: 3)
#
# Builds the release binary, generates the tree with bench/gen-tree.py (seeded, so every run
# measures the same bytes), warms the page cache, and times the two commands with hyperfine in
# alternating rounds, so drift (thermal, noisy neighbours) hits both. Prints hyperfine's
# tables, each round's ratio wit-cache / sha256sum (mean wall time) and their median; the
# target is <= 0.6.
set -euo pipefail

preset="${1:-medium}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
tree="${TREE_DIR:-$repo/target/bench-tree-$preset}"
runs="${RUNS:-5}"
rounds="${ROUNDS:-3}"

if ! command -v hyperfine >/dev/null; then
    echo "hash-files.sh: installing hyperfine" >&2
    sudo_cmd=""
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update -qq
    $sudo_cmd apt-get install -y -qq hyperfine
fi

(cd "$repo" && cargo build --release --quiet)
bin="$repo/target/release/wit-cache"

if [ ! -d "$tree" ]; then
    python3 "$repo/bench/gen-tree.py" --preset "$preset" "$tree"
fi
echo "tree: $tree ($(find "$tree" -type f | wc -l) files, $(du -sh --apparent-size "$tree" | cut -f1))" >&2
echo "cpus: $(nproc)" >&2

# Warm the page cache so both commands read from memory.
find "$tree" -type f -print0 | xargs -0 cat >/dev/null

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
cd "$tree"
wit="'$bin' --workspace '$tree' hash-files '**'"
sha="find . -type f -print0 | xargs -0 sha256sum >/dev/null"
for round in $(seq 1 "$rounds"); do
    if [ $((round % 2)) -eq 1 ]; then
        order=(-n wit-cache "$wit" -n sha256sum "$sha")
    else
        order=(-n sha256sum "$sha" -n wit-cache "$wit")
    fi
    hyperfine --warmup 1 --runs "$runs" --export-json "$results/$round.json" "${order[@]}"
done

python3 - "$results" <<'PY'
import glob, json, statistics, sys
ratios = []
for path in sorted(glob.glob(sys.argv[1] + "/*.json")):
    r = {x["command"]: x["mean"] for x in json.load(open(path))["results"]}
    ratios.append(r["wit-cache"] / r["sha256sum"])
    print(f"round {len(ratios)}: wit-cache {r['wit-cache']*1000:.0f} ms, "
          f"sha256sum {r['sha256sum']*1000:.0f} ms, ratio {ratios[-1]:.2f}")
m = statistics.median(ratios)
print(f"median ratio wit-cache / sha256sum: {m:.2f} (target <= 0.60) "
      f"{'OK' if m <= 0.6 else 'TOO SLOW'}")
PY
