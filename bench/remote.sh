#!/usr/bin/env bash
# Benchmark a restore from the shared store (`--store s3://…`) against a plain download of the
# same archive object plus `zstd -d | tar -x`.
#
# Usage: bench/remote.sh [PRESET]        (default: medium, ~20k files / ~200 MB)
#   env TREE_DIR=...  reuse or create the tree there (default: target/bench-tree-PRESET)
#   env RUNS=N        hyperfine runs per command and round (default: 3)
#   env ROUNDS=N      rounds, alternating which command runs first (default: 2)
#   env BIN=...       the wit-cache binary to measure (default: builds the release binary)
#
# Starts moto's S3 server on a loopback port (the one the tests use), saves the tree once, then
# times, on an empty host each run:
#   wit-cache: `wit-cache restore` (remote lookup, parallel ranged download into the local
#              store, SHA-256 check, rename, index row, checked extraction)
#   plain:     boto3's download_file (multi-threaded ranged GETs, like `aws s3 cp`) of the
#              same object, then `zstd -d | tar -x`
# and prints hyperfine's tables, each round's ratio wit-cache / plain and their median.
set -euo pipefail

preset="${1:-medium}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
tree="${TREE_DIR:-$repo/target/bench-tree-$preset}"
runs="${RUNS:-3}"
rounds="${ROUNDS:-2}"

if ! command -v hyperfine >/dev/null || ! command -v zstd >/dev/null; then
    echo "remote.sh: installing hyperfine and zstd" >&2
    sudo_cmd=""
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update -qq
    $sudo_cmd apt-get install -y -qq hyperfine zstd
fi
python3 -c 'import moto.server, boto3' 2>/dev/null || python3 -m pip install --quiet 'moto[server]>=5.2.1,<6'

if [ -z "${BIN:-}" ]; then
    (cd "$repo" && cargo build --release --quiet)
    BIN="$repo/target/release/wit-cache"
fi

if [ ! -d "$tree" ]; then
    python3 "$repo/bench/gen-tree.py" --preset "$preset" "$tree"
fi
echo "tree: $tree ($(find "$tree" -type f | wc -l) files, $(du -sh --apparent-size "$tree" | cut -f1))" >&2
echo "cpus: $(nproc)" >&2

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python3 -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null; rm -rf "$work"' EXIT

export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ALLOW_HTTP=true
export WIT_CACHE_STORE="s3://bench/ci" WIT_REPO=bench/remote
python3 - <<'PY'
import os, time, boto3
for _ in range(300):
    try:
        boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).create_bucket(Bucket="bench")
        break
    except Exception:
        time.sleep(0.1)
else:
    raise SystemExit("moto did not start")
PY

name="$(basename "$tree")"
"$BIN" -q --cache-dir "$work/saver" --workspace "$(dirname "$tree")" save --key bench --path "$name"
object="$("$BIN" --json list --remote | python3 -c 'import json,sys; c=json.load(sys.stdin)["caches"][0]; print(c["archive"]); print(c["size_bytes"], file=sys.stderr)' 2>"$work/size")"
object="${object#s3://bench/}"
echo "archive: $object ($(numfmt --to=iec-i --suffix=B "$(cat "$work/size")"))" >&2

cat >"$work/plain.py" <<'PY'
import os, sys, boto3
boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).download_file("bench", sys.argv[1], sys.argv[2])
PY

mkdir -p "$work/out"
wit="'$BIN' -q --cache-dir '$work/host' --workspace '$work/out' restore --key bench --path '$name'"
plain="python3 '$work/plain.py' '$object' '$work/a.tar.zst' && zstd -d -q -c '$work/a.tar.zst' | tar -x -C '$work/out'"
prepare="rm -rf '$work/host' '$work/out' '$work/a.tar.zst' && mkdir -p '$work/out' && sync"

results="$work/results"
mkdir -p "$results"
for round in $(seq 1 "$rounds"); do
    if [ $((round % 2)) -eq 1 ]; then
        order=(-n wit-cache "$wit" -n plain "$plain")
    else
        order=(-n plain "$plain" -n wit-cache "$wit")
    fi
    hyperfine --prepare "$prepare" --runs "$runs" --export-json "$results/$round.json" "${order[@]}"
done

python3 - "$results" <<'PY'
import glob, json, statistics, sys
ratios = []
for path in sorted(glob.glob(sys.argv[1] + "/*.json")):
    r = {x["command"]: x["mean"] for x in json.load(open(path))["results"]}
    ratios.append(r["wit-cache"] / r["plain"])
    print(f"round {len(ratios)}: wit-cache {r['wit-cache']*1000:.0f} ms, "
          f"plain download + zstd -d | tar -x {r['plain']*1000:.0f} ms, ratio {ratios[-1]:.2f}")
print(f"median ratio wit-cache / plain: {statistics.median(ratios):.2f}")
PY
