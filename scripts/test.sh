#!/usr/bin/env bash
# Runs every test of wit-cache on a fresh machine: installs what the tests need when it is
# missing, checks formatting and lints, then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v tar >/dev/null || need_apt+=(tar)
command -v zstd >/dev/null || need_apt+=(zstd)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
# The browser tests of `serve` drive Debian's Chromium (Playwright downloads no browser here).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# The README's pip recipes (tests/cli/recipes.rs) make virtual environments, which Debian's
# python3 makes only with python3-venv (ensurepip's wheels): try one to know.
if ! command -v python3 >/dev/null; then
  need_apt+=(python3 python3-pip python3-venv)
elif ! (t=$(mktemp -d) && trap 'rm -rf "$t"' EXIT && python3 -m venv "$t/venv") >/dev/null 2>&1; then
  need_apt+=(python3-venv)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

# The shared-store tests (tests/cli/remote.rs) start a real S3 server on loopback: moto's,
# whose PutObject and CompleteMultipartUpload honour If-None-Match: * (create-only saves).
# 5.2.1 is the version checked for that.
moto_ok() {
  python3 - <<'PY' 2>/dev/null
import sys, moto, moto.server, flask_cors
v = tuple(int(p) for p in moto.__version__.split(".")[:3] if p.isdigit())
sys.exit(0 if v >= (5, 2, 1) else 1)
PY
}
if ! moto_ok; then
  echo "installing: moto[server] (S3 test server)"
  python3 -m pip install --quiet 'moto[server]>=5.2.1,<6' ||
    python3 -m pip install --quiet --break-system-packages 'moto[server]>=5.2.1,<6'
fi

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked

# The cache settings page of `wit-cache serve` in headless Chromium, against the debug binary
# that `cargo test` built. playwright-core comes from the committed lock file.
if [ ! -d tests/browser/node_modules ]; then
  (cd tests/browser && npm ci --no-audit --no-fund)
fi
WIT_CACHE_BIN=target/debug/wit-cache node --test --test-concurrency=1 tests/browser/serve.test.mjs

# The executor module (contrib/executor) against the debug binary, end to end with a real
# `npm ci`. Node 20 cannot run TypeScript, so tsc from the module's committed lock file compiles
# the module and then its tests, which import it as the executor does (a `file:` dependency).
for dir in contrib/executor tests/executor; do
  if [ ! -d "$dir/node_modules" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
done
(cd contrib/executor && node_modules/.bin/prettier --check src ../../tests/executor/*.ts)
rm -rf contrib/executor/dist tests/executor/build
contrib/executor/node_modules/.bin/tsc -p contrib/executor
contrib/executor/node_modules/.bin/tsc -p tests/executor
WIT_CACHE_BIN=target/debug/wit-cache node --test --test-concurrency=1 tests/executor/build/*.test.js
