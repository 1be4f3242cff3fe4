#!/usr/bin/env python3
"""Change a generated tree (bench/gen-tree.py) as a dependency update would, deterministically.

Usage: bump.py --package N --salt S NODE_MODULES   rewrite every file of the Nth package
       bump.py --percent P --salt S NODE_MODULES   rewrite a fixed P % of the files

Files get a line naming the salt appended, so their content (and hash) is new for every salt,
while the set of files touched stays the same for the same arguments.
"""

import argparse
import os
import random


def files_under(root):
    out = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(d, f)
            if not os.path.islink(p):
                out.append(p)
    return out


def touch(path, salt):
    if path.endswith((".node", ".wasm")):
        # A new build of a prebuilt binary: all of it is new, not just its tail.
        size = os.path.getsize(path)
        rng = random.Random(f"{path} {salt}")
        with open(path, "wb") as f:
            f.write(rng.randbytes(size))
        return
    with open(path, "ab") as f:
        f.write(f"\n// bumped {salt}\n".encode())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--package", type=int)
    ap.add_argument("--percent", type=float)
    ap.add_argument("--salt", required=True)
    ap.add_argument("node_modules")
    a = ap.parse_args()
    if a.package is not None:
        pkgs = sorted(
            e for e in os.listdir(a.node_modules)
            if not e.startswith(".") and not e.startswith("@")
        )
        pkg = os.path.join(a.node_modules, pkgs[a.package % len(pkgs)])
        # A new version of one package: every one of its files changes.
        for p in files_under(pkg):
            touch(p, a.salt)
    else:
        files = files_under(a.node_modules)
        step = max(1, round(100 / a.percent))
        for p in files[::step]:
            touch(p, a.salt)


if __name__ == "__main__":
    main()
