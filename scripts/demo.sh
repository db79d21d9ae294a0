#!/usr/bin/env bash
# The setup demo: the binary's version block, then a real transfer: an
# upstream `rsync --daemon` on a random loopback port serves this checkout's
# src/ directory, dist/oc-rsync pulls it, and the result is compared with the
# source. Without Debian's rsync only the version block is shown.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=dist/oc-rsync
"$bin" --version
echo

if ! command -v rsync >/dev/null 2>&1; then
  echo "(rsync is not installed: skipping the transfer demo)"
  exit 0
fi

work=$(mktemp -d)
daemon_pid=
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/rsyncd.conf" <<CONF
use chroot = no
pid file = $work/rsyncd.pid
[demo]
    path = $PWD/src
    comment = oc-rsync's own sources
    read only = yes
CONF
port=$((20000 + RANDOM % 30000))
rsync --daemon --no-detach --config="$work/rsyncd.conf" --address=127.0.0.1 --port="$port" &
daemon_pid=$!
for _ in $(seq 50); do
  "$bin" "rsync://127.0.0.1:$port/" >/dev/null 2>&1 && break
  sleep 0.1
done

echo "\$ oc-rsync rsync://127.0.0.1:$port/"
"$bin" "rsync://127.0.0.1:$port/"
echo
echo "\$ oc-rsync -a --stats rsync://127.0.0.1:$port/demo/ $work/copy/   (upstream rsync --daemon serving src/)"
"$bin" -a --stats "rsync://127.0.0.1:$port/demo/" "$work/copy/" | tail -n 4
if diff -r src "$work/copy" >/dev/null; then
  echo "the copy is identical to src/ ($(find "$work/copy" | wc -l) entries)"
else
  echo "the copy differs from src/" >&2
  exit 1
fi
