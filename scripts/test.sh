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
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
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
