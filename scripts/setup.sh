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
# (The first line is taken from a captured string: `| head -n 1` would SIGPIPE rsync under pipefail.)
first_line() { local v; v=$("$@"); echo "${v%%$'\n'*}"; }
if command -v rsync >/dev/null 2>&1; then
  first_line rsync --version
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsync >/dev/null
  first_line rsync --version
else
  echo "rsync is not installed: the interop tests need it (sudo apt-get install rsync)." >&2
fi

echo "== build"
bash scripts/build.sh

echo "== demo"
bash scripts/demo.sh
