#!/usr/bin/env bash
# Builds the native core (zig-out/lib/) and the single executable dist/oc-rsync,
# which embeds the native libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

.tools/py/ziglang/zig build --summary none
mkdir -p dist
bun build --compile --minify-syntax --sourcemap=inline src/main.ts --outfile dist/oc-rsync >/dev/null
echo "built dist/oc-rsync ($(du -h dist/oc-rsync | cut -f1))"
