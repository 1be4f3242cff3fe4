#!/usr/bin/env bash
# Benchmark save, restore, no-op save, index commands and hash-files against the tools they
# replace, on one generated tree, in one run.
#
# Usage: bench/run.sh [PRESET]        (default: medium, ~20k files / ~200 MB)
#   env TREE_DIR=...    reuse or create the tree there (default: target/bench-tree-PRESET)
#   env WORK_DIR=...    store, reference archives, restore target (default: target/bench-work)
#   env RUNS=N          timed runs per command for the heavy groups (default: 7)
#   env FAST_RUNS=N     timed runs per command for the millisecond groups (default: 30)
#   env PROFILE=NAME    cargo profile to build (default: release; bench-quick for iteration)
#   env BIN=PATH        use this wit-cache binary instead of building one
#   env BASELINE=PATH   also time this (older) wit-cache binary, interleaved, for before/after
#   env SYNC_IN_TIMING=1  end every restore/save command with `sync`, so writeback is timed
#   env DEST_ROOT=DIR   restore targets go under DIR (default: WORK_DIR/dest); e.g. /dev/shm
#                       to time the restores without the disk's file system
#   env ONLY="save restore"  run only these groups (save gzip restore noop index hash cas)
#
# Every group runs its commands round-robin (bench/measure.py): round i runs each command
# once, rotating which goes first, so drift on this noisy 2-core machine hits all of them and
# each ratio compares runs seconds apart. Before every timed run of the save and restore
# groups, `sync` flushes the previous run's dirty pages; the writeback of the timed run
# itself is not included unless SYNC_IN_TIMING=1. wit-cache save includes its own fsync of
# the archive; `tar | zstd` does not sync. Results also go to WORK_DIR/results.jsonl.
#
# Every restore goes into a new, empty directory, and nothing is deleted until the end: on
# ext4, creating inodes right after tens of thousands were deleted is several times slower
# for a minute or more (the allocator skips "recently deleted" inodes, see
# find_inode_bit/recently_deleted in a profile), which would swamp what is measured. So the
# restore group needs about (RUNS + 1) x 4 x the tree's size of free disk.
set -euo pipefail

preset="${1:-medium}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
tree="${TREE_DIR:-$repo/target/bench-tree-$preset}"
work="${WORK_DIR:-$repo/target/bench-work}"
runs="${RUNS:-7}"
fast_runs="${FAST_RUNS:-30}"
profile="${PROFILE:-release}"
only="${ONLY:-save gzip restore noop index hash cas}"
tail=""
if [ "${SYNC_IN_TIMING:-0}" = 1 ]; then tail=" && sync"; fi

for tool in tar zstd python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing" >&2; exit 1; }
done

if [ -z "${BIN:-}" ]; then
    (cd "$repo" && cargo build --profile "$profile" --quiet)
    bin="$repo/target/$profile/wit-cache"
else
    bin="$BIN"
fi

if [ ! -d "$tree" ]; then
    python3 "$repo/bench/gen-tree.py" --preset "$preset" "$tree"
fi
echo "tree: $tree ($(find "$tree" -type f | wc -l) files, $(du -sh --apparent-size "$tree" | cut -f1))"
echo "cpus: $(nproc); binary: $bin${BASELINE:+; baseline: $BASELINE}; writeback timed: ${SYNC_IN_TIMING:-0}"

if [ -e "$work" ]; then mv "$work" "$work.old.$$"; fi
mkdir -p "$work"
trap 'rm -rf "$work.old.$$" "$work/dest" "${DEST_ROOT:-$work/dest}/bench-$$"' EXIT
results="$work/results.jsonl"
store="$work/store"
measure=(python3 "$repo/bench/measure.py" --out "$results")
# Every timed run reads its input from memory: the prepare step re-reads it each time,
# because this VM pages out page-cache pages idle for a minute (DAMON "pageout" scheme), so a
# warm-up at the start would be gone by the third group.
warm_tree="find '$tree' -type f -print0 | xargs -0 cat >/dev/null"
warm_archives="cat '$work/ref.tar.zst' '$store'/archives-v1/*/*.tar.zst >/dev/null"
eval "$warm_tree"

wit() { # wit BINARY ARGS...: the command line of one wit-cache call on the bench store
    local b="$1"; shift
    echo "'$b' --cache-dir '$store' --repo bench/app -q $*"
}
want() { [[ " $only " == *" $1 "* ]]; }

# Entries the restore and no-op groups read.
eval "$(wit "$bin" --workspace "'$tree'" save --key bench-save --path node_modules)"
tar -C "$tree" -cf - node_modules | zstd -T0 -3 -q -f -o "$work/ref.tar.zst"

if want save; then
    cmds=(--cmd wit-cache "$(wit "$bin" --workspace "'$tree'" save --overwrite --key bench-save --path node_modules)$tail"
          --cmd "tar|zstd -T0 -3" "tar -C '$tree' -cf - node_modules | zstd -T0 -3 -q -f -o '$work/ref.tar.zst'$tail")
    if [ -n "${BASELINE:-}" ]; then
        cmds+=(--cmd baseline "$(wit "$BASELINE" --workspace "'$tree'" save --overwrite --key bench-base --path node_modules)$tail")
    fi
    "${measure[@]}" --group "save (zstd -3)" --runs "$runs" --prepare "$warm_tree && sync" "${cmds[@]}" \
        --ratio wit-cache "tar|zstd -T0 -3" ${BASELINE:+--ratio wit-cache baseline}
    ours=$("$bin" --cache-dir "$store" --repo bench/app list --json --prefix bench-save |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["caches"][0]["size_bytes"])')
    ref=$(stat -c %s "$work/ref.tar.zst")
    python3 -c "print(f'archive size: wit-cache $ours, tar|zstd $ref, ratio {$ours/$ref:.3f}')"
fi

if want gzip; then
    "${measure[@]}" --group "save (gzip)" --runs "$runs" --prepare "$warm_tree && sync" \
        --cmd wit-cache "$(wit "$bin" --workspace "'$tree'" save --overwrite --compression gzip --key bench-gzip --path node_modules)$tail" \
        --cmd "tar -czf" "tar -C '$tree' -czf '$work/ref.tar.gz' node_modules$tail" \
        --ratio wit-cache "tar -czf"
fi

if want restore; then
    dest="${DEST_ROOT:-$work/dest}/bench-$$"
    run_dir="'$dest'/\$BENCH_RUN"
    cmds=(--cmd wit-cache "$(wit "$bin" --workspace "$run_dir" restore --fail-on-miss --key bench-save --path node_modules)$tail"
          --cmd "zstd -dc|tar -x" "zstd -dc '$work/ref.tar.zst' | tar -x -C $run_dir$tail"
          --cmd "cp -a" "cp -a '$tree/node_modules' $run_dir/$tail")
    if [ -n "${BASELINE:-}" ]; then
        cmds+=(--cmd baseline "$(wit "$BASELINE" --workspace "$run_dir" restore --fail-on-miss --key bench-save --path node_modules)$tail")
    fi
    "${measure[@]}" --group "restore" --runs "$runs" \
        --prepare "$warm_tree && $warm_archives && mkdir -p $run_dir && sync" "${cmds[@]}" \
        --ratio wit-cache "zstd -dc|tar -x" --ratio wit-cache "cp -a" \
        ${BASELINE:+--ratio wit-cache baseline}
fi

if want noop; then
    cmds=(--cmd wit-cache "$(wit "$bin" --workspace "$tree" save --key bench-save --path node_modules)")
    if [ -n "${BASELINE:-}" ]; then
        cmds+=(--cmd baseline "$(wit "$BASELINE" --workspace "$tree" save --key bench-save --path node_modules)")
    fi
    "${measure[@]}" --group "no-op save (key exists)" --runs "$fast_runs" --no-shell "${cmds[@]}"
fi

if want index; then
    # 10,000 entries (and as many restore attempts) written straight into a fresh index,
    # each with a small archive file so gc sees present archives.
    big="$work/index10k"
    "$bin" --cache-dir "$big" list >/dev/null 2>&1
    mkdir -p "$work/ws10k/node_modules" && echo x > "$work/ws10k/node_modules/x"
    "$bin" --cache-dir "$work/probe" --repo p/p --workspace "$work/ws10k" -q save --key probe \
        --path node_modules
    version=$("$bin" --cache-dir "$work/probe" --repo p/p --json list | python3 -c \
        'import json,sys; print(json.load(sys.stdin)["caches"][0]["version"])')
    python3 - "$big" "$version" <<'PY'
import os, random, sqlite3, sys, time
root = sys.argv[1]
# The version wit-cache computes for `--path node_modules` (rows must be valid entries).
VERSION = sys.argv[2]
db = sqlite3.connect(os.path.join(root, "index-v1.sqlite"))
rng = random.Random(7)
now = int(time.time() * 1000)
rows, attempts = [], []
for i in range(10_000):
    repo = f"org/repo{i % 20}"
    key = f"npm-Linux-{rng.getrandbits(128):032x}"
    # Archive ids are random and sharded by their first two digits, as the store names them.
    ident = f"{rng.getrandbits(128):032x}"
    name = f"archives-v1/{ident[:2]}/{ident}.tar.zst"
    os.makedirs(os.path.join(root, os.path.dirname(name)), exist_ok=True)
    open(os.path.join(root, name), "wb").close()
    created = now - rng.randrange(30 * 86_400_000)
    rows.append((repo, "" if i % 3 else "main", key, key.lower(), VERSION, '["node_modules"]',
                 "zstd", name, rng.randrange(1 << 30), rng.randrange(1 << 31),
                 rng.randrange(100_000), "0" * 64, created, created + rng.randrange(86_400_000),
                 rng.randrange(50), None))
    attempts.append((created, repo, "", key, key, i + 1,
                     rng.choice(["hit", "partial", "miss"]), rng.randrange(1 << 30), 500))
db.executemany("""INSERT INTO entries (repo, scope, key, key_folded, version, paths,
    compression, archive, size_bytes, unpacked_bytes, file_count, digest, created_at,
    last_accessed_at, access_count, created_by_run) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""", rows)
db.executemany("""INSERT INTO restore_attempts (at, repo, scope, primary_key, matched_key,
    entry_id, outcome, bytes, duration_ms) VALUES (?,?,?,?,?,?,?,?,?)""", attempts)
db.commit()
PY
    # What a person runs: the output goes to a file (not -q, which would skip the table).
    cmds=()
    ratios=()
    for sub in list stats "gc --dry-run" "--json list"; do
        cmds+=(--cmd "$sub" "'$bin' --cache-dir '$big' $sub >'$work/listing.out' 2>/dev/null")
        if [ -n "${BASELINE:-}" ]; then
            cmds+=(--cmd "$sub (baseline)" "'$BASELINE' --cache-dir '$big' $sub >'$work/listing.out' 2>/dev/null")
            ratios+=(--ratio "$sub" "$sub (baseline)")
        fi
    done
    "${measure[@]}" --group "index of 10,000 entries" --runs "$fast_runs" "${cmds[@]}" ${ratios[@]+"${ratios[@]}"}
    # What the miss hints cost: a lookup-only miss (which looks for reasons: another path
    # line, so its restore key's prefix matches the repo's 500 entries in another version)
    # against a lookup-only hit (which does not look for any).
    hit_key=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT key FROM entries WHERE repo='org/repo1' AND scope='' LIMIT 1\").fetchone()[0])" "$big/index-v1.sqlite")
    lookup="'$bin' --cache-dir '$big' --repo org/repo1 --workspace '$work/ws10k' -q restore --lookup-only --path node_modules"
    mkdir -p "$work/ws10k/extra"
    "${measure[@]}" --group "restore lookup, 10,000 entries" --runs "$fast_runs" --no-shell \
        --cmd "hit" "$lookup --key '$hit_key'" \
        --cmd "miss with hints" "$lookup --path extra --key npm-Linux-absent --restore-key npm-Linux-" \
        --ratio "miss with hints" hit
fi

if want hash; then
    "${measure[@]}" --group "hash-files '**'" --runs "$runs" --prepare "$warm_tree" \
        --cmd wit-cache "'$bin' --workspace '$tree' hash-files '**'" \
        --cmd sha256sum "cd '$tree' && find . -type f -print0 | xargs -0 sha256sum >/dev/null" \
        --ratio wit-cache sha256sum
fi

if want cas; then
    # The cas format (docs/cas.md) on a copy of the tree that the group changes.
    ctree="$work/cas-tree"
    cp -a "$tree" "$ctree"
    cstore="$work/cas-store"
    bump=(python3 "$repo/bench/bump.py")
    cwit() { # cwit STORE WORKSPACE ARGS...
        local st="$1" ws="$2"; shift 2
        echo "'$bin' --cache-dir '$st' --repo bench/app --workspace '$ws' -q $*"
    }
    bytes() { # apparent bytes of an entry store's files (index excluded)
        find "$@" -type f -printf '%s\n' 2>/dev/null | awk '{s+=$1} END {print s+0}'
    }
    # One entry's size, against tar | zstd -3 of the same tree.
    eval "$(cwit "$work/cas-one" "$ctree" save --format cas --key one --path node_modules)"
    one=$(bytes "$work/cas-one/cas-v1" "$work/cas-one/archives-v1")
    ref=$(stat -c %s "$work/ref.tar.zst")
    python3 -c "print(f'cas entry size: {$one} bytes, tar|zstd -3 {$ref}, ratio {$one/$ref:.3f}')"
    # Ten successive entries, each one package changed: disk, against one entry, for both
    # formats.
    eval "$(cwit "$cstore" "$ctree" save --format cas --key bump-0 --path node_modules)"
    eval "$(cwit "$work/arch-bumps" "$ctree" save --key bump-0 --path node_modules)"
    for i in 1 2 3 4 5 6 7 8 9; do
        "${bump[@]}" --package $((i * 37)) --salt "bump-$i" "$ctree/node_modules"
        eval "$(cwit "$cstore" "$ctree" save --format cas --key bump-$i --path node_modules)"
        eval "$(cwit "$work/arch-bumps" "$ctree" save --key bump-$i --path node_modules)"
    done
    ten=$(bytes "$cstore/cas-v1" "$cstore/archives-v1")
    ten_arch=$(bytes "$work/arch-bumps/archives-v1")
    one_arch=$(find "$work/arch-bumps/archives-v1" -type f -printf '%s\n' | head -1)
    python3 -c "print(f'ten bumps: cas {$ten} bytes = {$ten/$one:.2f}x one cas entry; archive {$ten_arch} bytes = {$ten_arch/$one_arch:.2f}x one archive')"
    # Save after a partial hit: the same 1 % of the files changed (new content every run)
    # since the store's last entry of the tree, against a full save in either format.
    "${measure[@]}" --group "save, cas (1 % changed)" --runs "$runs" \
        --prepare "${bump[*]} --percent 1 --salt run-\$BENCH_RUN '$ctree/node_modules' && find '$ctree' -type f -print0 | xargs -0 cat >/dev/null && sync" \
        --cmd "archive full" "$(cwit "$work/arch-full" "$ctree" save --overwrite --key full --path node_modules)$tail" \
        --cmd "cas full" "$(cwit "$work/cas-full/'\"\$BENCH_RUN\"'" "$ctree" save --format cas --key full --path node_modules)$tail" \
        --cmd "cas 1 %" "$(cwit "$cstore" "$ctree" save --format cas --key partial-\$BENCH_RUN --path node_modules)$tail" \
        --ratio "cas 1 %" "archive full" --ratio "cas full" "archive full" --ratio "cas 1 %" "cas full"
    # Restores of the same tree in both formats.
    eval "$(cwit "$cstore" "$ctree" save --format cas --key bench-cas --path node_modules)"
    eval "$(cwit "$work/arch-full" "$ctree" save --overwrite --key full --path node_modules)"
    tar -C "$ctree" -cf - node_modules | zstd -T0 -3 -q -f -o "$work/cref.tar.zst"
    dest="${DEST_ROOT:-$work/dest}/bench-$$"
    run_dir="'$dest'/cas-\$BENCH_RUN"
    "${measure[@]}" --group "restore, cas" --runs "$runs" \
        --prepare "cat '$work/cref.tar.zst' >/dev/null; find '$cstore/cas-v1' '$work/arch-full/archives-v1' -type f -print0 | xargs -0 cat >/dev/null; mkdir -p $run_dir && sync" \
        --cmd "cas" "'$bin' --cache-dir '$cstore' --repo bench/app --workspace $run_dir -q restore --fail-on-miss --key bench-cas --path node_modules$tail" \
        --cmd "archive" "'$bin' --cache-dir '$work/arch-full' --repo bench/app --workspace $run_dir -q restore --fail-on-miss --key full --path node_modules$tail" \
        --cmd "zstd -dc|tar -x" "zstd -dc '$work/cref.tar.zst' | tar -x -C $run_dir$tail" \
        --ratio cas "zstd -dc|tar -x" --ratio archive "zstd -dc|tar -x" --ratio cas archive
    echo
    echo "## peak RSS, cas (/usr/bin/time -v)"
    "${bump[@]}" --percent 1 --salt rss "$ctree/node_modules"
    /usr/bin/time -v -o "$work/cas-save-full.time" \
        sh -c "$(cwit "$work/cas-rss" "$ctree" save --format cas --key rss --path node_modules)"
    /usr/bin/time -v -o "$work/cas-save.time" \
        sh -c "$(cwit "$cstore" "$ctree" save --format cas --key rss --path node_modules)"
    mkdir -p "$dest/cas-rss"
    /usr/bin/time -v -o "$work/cas-restore.time" \
        sh -c "$(cwit "$cstore" "$dest/cas-rss" restore --fail-on-miss --key rss --path node_modules)"
    for what in cas-save-full cas-save cas-restore; do
        kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/$what.time")
        echo "$what: $((kb / 1024)) MB"
    done
fi

if want save || want restore; then
    # Peak RSS, once more on its own (the tables above show the same per command).
    echo
    echo "## peak RSS (/usr/bin/time -v)"
    eval "$warm_tree"
    /usr/bin/time -v -o "$work/save.time" \
        sh -c "$(wit "$bin" --workspace "'$tree'" save --overwrite --key bench-save --path node_modules)"
    mkdir -p "$work/dest/rss"
    eval "$warm_archives"
    /usr/bin/time -v -o "$work/restore.time" \
        sh -c "$(wit "$bin" --workspace "'$work/dest/rss'" restore --fail-on-miss --key bench-save --path node_modules)"
    for what in save restore; do
        kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/$what.time")
        echo "$what: $((kb / 1024)) MB"
    done
fi
