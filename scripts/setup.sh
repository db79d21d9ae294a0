#!/usr/bin/env bash
# One command from a fresh clone to a working dist/oc-rsync: installs the
# pinned toolchains into this checkout (npm packages incl. Bun, PyPI's Zig),
# Debian's rsync (the reference peer for tests) when missing, builds, and runs
# a demo.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== npm packages (Bun $(node -p 'require("./package.json").devDependencies.bun'))"
npm ci --no-audit --no-fund --loglevel=error

echo "== Zig"
bash scripts/install-zig.sh

echo "== rsync (reference peer for the tests)"
if command -v rsync >/dev/null 2>&1; then
  rsync --version | head -n 1
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsync >/dev/null
  rsync --version | head -n 1
else
  echo "rsync is not installed: the interop tests need it (sudo apt-get install rsync)." >&2
fi

echo "== build"
bash scripts/build.sh

echo "== demo"
bash scripts/demo.sh
