#!/usr/bin/env python3
"""Generate a deterministic node_modules-like tree for benchmarks.

Usage: python3 bench/gen-tree.py [--preset small|medium|large] [--seed N] DEST

Presets (approximate):
  small   ~2k files,   ~20 MB
  medium  ~20k files,  ~200 MB
  large   ~100k files, ~1 GB

The tree looks like an npm install: node_modules/<pkg>/{package.json,README.md,lib/,dist/,...},
scoped packages (@scope/name), some nested node_modules, and node_modules/.bin symlinks to the
packages' CLIs. About 60 % of the bytes are small, compressible JS-like text files in nested
directories; the rest are a few large, poorly compressible binaries (prebuilt .node/.wasm
blobs). The same preset and seed always give byte-identical trees (names, contents, order of
creation), so hash and archive benchmarks are comparable across machines and runs.
"""

import argparse
import os
import random
import sys

PRESETS = {
    # files, total bytes
    "small": (2_000, 20 * 1024 * 1024),
    "medium": (20_000, 200 * 1024 * 1024),
    "large": (100_000, 1024 * 1024 * 1024),
}

BINARY_SHARE = 0.4  # of the bytes
FILES_PER_BINARY = 2_500

WORDS = (
    "require module exports function return const let var this value options callback "
    "error result data buffer stream promise async await resolve reject prototype length "
    "index object string number array map filter reduce push slice split join parse "
    "config path file dir name type default undefined null true false new class extends"
).split()
DIRS = ["lib", "dist", "src", "build", "esm", "cjs", "internal", "utils", "types", "helpers"]
EXTS = [".js", ".js", ".js", ".mjs", ".cjs", ".d.ts", ".json", ".map", ".md"]


def js_line(rng):
    kind = rng.randrange(6)
    a, b, c = (rng.choice(WORDS) for _ in range(3))
    if kind == 0:
        return f"const {a}_{b} = require('{c}');"
    if kind == 1:
        return f"function {a}{b.capitalize()}({c}, options) {{"
    if kind == 2:
        return f"  if ({a} === {rng.randrange(1000)}) return {b}.{c}({a});"
    if kind == 3:
        return f"  // {a} {b} {c} {rng.choice(WORDS)} {rng.choice(WORDS)}"
    if kind == 4:
        return "}"
    return f"module.exports.{a} = {b} || {c};"


def text_blob(rng, pool, size):
    """About `size` bytes of JS-like text assembled from a pool of lines."""
    out = []
    n = 0
    while n < size:
        line = pool[rng.randrange(len(pool))]
        out.append(line)
        n += len(line) + 1
    return ("\n".join(out) + "\n").encode()[: max(size, 1)]


def package_names(rng, count):
    names = set()
    while len(names) < count:
        base = "-".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
        if rng.random() < 0.15:
            base = f"@{rng.choice(WORDS)}/{base}"
        names.add(base)
    return sorted(names)


def generate(dest, preset, seed):
    files_target, bytes_target = PRESETS[preset]
    rng = random.Random(seed)
    pool = [js_line(rng) for _ in range(5_000)]

    n_binaries = max(1, files_target // FILES_PER_BINARY)
    binary_bytes = int(bytes_target * BINARY_SHARE)
    n_text = files_target - n_binaries - 10
    text_bytes = bytes_target - binary_bytes
    mean_text = text_bytes / n_text

    nm = os.path.join(dest, "node_modules")
    bin_dir = os.path.join(nm, ".bin")
    os.makedirs(bin_dir, exist_ok=True)

    # ~25 files per package.
    packages = package_names(rng, max(4, n_text // 25))
    written_files = 0
    written_bytes = 0

    def write(path, data):
        nonlocal written_files, written_bytes
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        written_files += 1
        written_bytes += len(data)

    remaining = n_text
    for i, pkg in enumerate(packages):
        # Some packages sit in a nested node_modules of an earlier one.
        if i > 10 and rng.random() < 0.1:
            parent = packages[rng.randrange(i)]
            root = os.path.join(nm, parent, "node_modules", pkg)
        else:
            root = os.path.join(nm, pkg)
        share = remaining // (len(packages) - i)
        remaining -= share
        manifest = (
            '{\n  "name": "%s",\n  "version": "%d.%d.%d",\n  "main": "lib/index.js",\n'
            '  "bin": "bin/cli.js"\n}\n'
            % (pkg, rng.randrange(10), rng.randrange(30), rng.randrange(100))
        ).encode()
        write(os.path.join(root, "package.json"), manifest)
        # About six files per directory, as in a real install.
        dirs = []
        for _ in range(max(1, share // 6)):
            depth = rng.choice([1, 1, 2, 2, 3, 4])
            dirs.append([rng.choice(DIRS) for _ in range(depth)])
        for f in range(max(share - 1, 0)):
            parts = dirs[rng.randrange(len(dirs))]
            name = f"{rng.choice(WORDS)}-{f}{rng.choice(EXTS)}"
            # Log-normal-ish sizes: many tiny files, a few large bundles.
            size = int(rng.lognormvariate(0, 1.0) * mean_text / 1.65) + 1
            write(os.path.join(root, *parts, name), text_blob(rng, pool, size))
        if rng.random() < 0.3:
            cli = os.path.join(root, "bin", "cli.js")
            write(cli, b"#!/usr/bin/env node\nrequire('../lib/index.js');\n")
            os.chmod(cli, 0o755)
            link = os.path.join(bin_dir, os.path.basename(pkg))
            if not os.path.lexists(link):
                os.symlink(os.path.relpath(cli, bin_dir), link)

    for b in range(n_binaries):
        pkg = packages[rng.randrange(len(packages))]
        size = binary_bytes // n_binaries
        ext = rng.choice([".node", ".wasm"])
        path = os.path.join(nm, pkg, "prebuilds", f"linux-x64-{b}{ext}")
        write(path, rng.randbytes(size))

    write(os.path.join(dest, "package.json"), b'{"name": "bench-app", "version": "1.0.0"}\n')
    write(os.path.join(dest, "package-lock.json"), text_blob(rng, pool, 200_000))
    return written_files, written_bytes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="medium")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("dest")
    args = ap.parse_args()
    if os.path.exists(args.dest) and os.listdir(args.dest):
        sys.exit(f"gen-tree: {args.dest} exists and is not empty; pick a new directory")
    files, size = generate(args.dest, args.preset, args.seed)
    print(f"gen-tree: {args.dest}: {files} files, {size / 1024 / 1024:.0f} MiB "
          f"(preset {args.preset}, seed {args.seed})", file=sys.stderr)


if __name__ == "__main__":
    main()
