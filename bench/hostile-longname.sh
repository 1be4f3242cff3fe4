#!/usr/bin/env bash
# Peak memory and time of a restore of a crafted archive: one GNU long name (type L) of
# SIZE_MIB MiB (default 1024), compressed to a few tens of KB, then a normal member.
# Each run plants the archive afresh (a restore deletes a damaged entry).
#
# Usage: bench/hostile-longname.sh BINARY [BINARY...]     env RUNS=N (default 3), SIZE_MIB=N
# Prints, per binary and run: exit status, wall seconds, peak RSS (KiB), stderr bytes.
set -euo pipefail
runs="${RUNS:-3}"
size_mib="${SIZE_MIB:-1024}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$work/archive.tar.zst" "$size_mib" <<'PY'
import subprocess, sys
out, mib = sys.argv[1], int(sys.argv[2])
size = mib << 20

def header(name, flag, size):
    b = bytearray(512)
    b[:len(name)] = name
    b[100:107] = b"0000644"
    b[124:136] = b"%011o\0" % size if size < 8**11 else b"\x80" + size.to_bytes(11, "big")
    b[136:147] = b"%011o" % 1_600_000_000
    b[156] = ord(flag)
    b[257:263] = b"ustar\0"; b[263:265] = b"00"
    b[148:156] = b" " * 8
    b[148:155] = b"%06o\0" % sum(b)
    return bytes(b)

z = subprocess.Popen(["zstd", "-q", "-1", "-c"], stdin=subprocess.PIPE, stdout=open(out, "wb"))
z.stdin.write(header(b"././@LongLink", "L", size))
chunk = b"a" * (1 << 20)
for _ in range(mib):
    z.stdin.write(chunk)
z.stdin.write(header(b"0/dep/x", "0", 1) + b"x" + b"\0" * 511 + b"\0" * 1024)
z.stdin.close()
z.wait()
PY
echo "archive: $(stat -c %s "$work/archive.tar.zst") bytes, long name of $size_mib MiB"

for bin in "$@"; do
    for run in $(seq "$runs"); do
        ws="$work/ws"; store="$work/store"
        rm -rf "$ws" "$store"; mkdir -p "$ws/dep"; echo x > "$ws/dep/x"
        export HOME="$work" WIT_CACHE_DIR="$store" WIT_REPO=acme/app
        (cd "$ws" && "$bin" save --key k --path dep >/dev/null 2>&1)
        rm -rf "$ws/dep"
        python3 - "$store" "$work/archive.tar.zst" <<'PY'
import hashlib, os, sqlite3, sys
store, archive = sys.argv[1], sys.argv[2]
data = open(archive, "rb").read()
db = sqlite3.connect(os.path.join(store, "index-v1.sqlite"))
(name,) = db.execute("SELECT archive FROM entries").fetchone()
open(os.path.join(store, name), "wb").write(data)
db.execute("UPDATE entries SET digest = ?, size_bytes = ?, unpacked_bytes = 2",
           (hashlib.sha256(data).hexdigest(), len(data)))
db.commit()
PY
        set +e
        (cd "$ws" && /usr/bin/time -f "%e %M" -o "$work/time" "$bin" restore --key k --path dep \
            >/dev/null 2>"$work/stderr")
        status=$?
        set -e
        read -r wall rss < "$work/time"
        echo "$bin run $run: exit $status, ${wall} s, peak RSS ${rss} KiB, stderr $(stat -c %s "$work/stderr") bytes: $(head -c 160 "$work/stderr" | tr '\n' ' ')"
    done
done
