#!/usr/bin/env bash
# The setup demo: the binary's version block, then a whole-file checksum of a
# sample file next to upstream rsync's %C for the same file.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=dist/oc-rsync
"$bin" --version

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
head -c 3000000 /dev/urandom >"$work/src/sample.bin"

echo
echo "whole-file checksums of a 3 MB sample (oc-rsync, then upstream rsync's %C):"
for alg in xxh128 md5; do
  "$bin" oc-checksum --checksum-choice "$alg" "$work/src/sample.bin" | sed "s|$work/src/||; s|^|  oc-rsync $alg: |"
  if command -v rsync >/dev/null 2>&1; then
    rsync -ac --checksum-choice="$alg" --out-format='%C %n' "$work/src/" "$work/dst-$alg/" |
      grep sample.bin | sed "s|^|  rsync    $alg: |"
  fi
done
