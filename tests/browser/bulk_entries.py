"""Makes a real wit-cache store hold thousands of entries, fast: copies of one entry that a
real `wit-cache save` made.

    python3 bulk_entries.py STORE REPO KEY COUNT PREFIX

Saving 5,000 entries one process at a time takes minutes on a busy 2-core machine; this takes
well under a second. Each copy is a row of the index as `save` writes it (the same columns and
checks: a fresh archive id, the same version, paths, sizes and SHA-256) whose archive file is a
hard link to the original's, so that every copy is a complete entry: `verify` accepts it, a
restore could extract it, and deleting it removes its own link only. The copies differ in what
sorting and paging look at: key `PREFIX-00001` …, creation time one minute apart (the first
newest), last use, and use count (0 to 2). No restore attempts are recorded for them.
"""

import os
import sqlite3
import sys
import uuid


def main():
    store, repo, key, count, prefix = sys.argv[1:6]
    count = int(count)
    db = sqlite3.connect(os.path.join(store, "index-v1.sqlite"), timeout=60)
    db.execute("PRAGMA busy_timeout = 60000")
    row = db.execute(
        "SELECT scope, version, paths, compression, archive, size_bytes, unpacked_bytes,"
        " file_count, digest, created_at, created_by_run"
        " FROM entries WHERE repo = ? AND key = ?",
        (repo, key),
    ).fetchone()
    if row is None:
        sys.exit(f"no entry {key!r} of {repo!r} in {store}")
    (scope, version, paths, codec, archive, size, unpacked, files, digest, created, run) = row
    source = os.path.join(store, archive)
    extension = os.path.basename(archive).split(".", 1)[1]
    rows = []
    for i in range(count):
        archive_id = uuid.uuid4().hex
        column = f"archives-v1/{archive_id[:2]}/{archive_id}.{extension}"
        os.makedirs(os.path.join(store, "archives-v1", archive_id[:2]), exist_ok=True)
        os.link(source, os.path.join(store, column))
        made = created - (i + 1) * 60_000
        k = f"{prefix}-{i + 1:05d}"
        rows.append(
            (repo, scope, k, k.lower(), version, paths, codec, column, size, unpacked, files,
             digest, made, made + (i % 7) * 1000, i % 3, run)
        )
    with db:
        db.executemany(
            "INSERT INTO entries (repo, scope, key, key_folded, version, paths, compression,"
            " archive, size_bytes, unpacked_bytes, file_count, digest, created_at,"
            " last_accessed_at, access_count, created_by_run)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    db.close()


main()
