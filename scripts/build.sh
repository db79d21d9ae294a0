#!/usr/bin/env bash
# Builds the native core (zig-out/lib/) and the single executable dist/oc-rsync,
# which embeds the native libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

.tools/py/ziglang/zig build --summary none
mkdir -p dist
# --bytecode (which needs ESM output) ships the code precompiled: the binary starts in about half the
# time, which counts once per run and once per daemon connection (each is a fresh process).
bun build --compile --bytecode --format=esm --minify-syntax --sourcemap=inline src/main.ts --outfile dist/oc-rsync >/dev/null
echo "built dist/oc-rsync ($(du -h dist/oc-rsync | cut -f1))"
