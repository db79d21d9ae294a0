#!/usr/bin/env bash
# The whole test suite: Zig unit tests, TypeScript type check, then bun test
# (unit, property, interop, security). Ends with "N passed, N failed" and a
# non-zero exit on any failure. Extra arguments go to `bun test`.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

passed=0
failed=0

step() { # name, command...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); else echo "FAILED: $name"; failed=$((failed + 1)); fi
}

step "zig build test" .tools/py/ziglang/zig build test --summary none
step "typecheck" tsc --noEmit -p .

log=$(mktemp)
# A test stuck in synchronous code is beyond bun's per-test timeout: the whole
# run is bounded too (it takes 11-13 minutes on 2 cores), so a hang ends as a
# failure that names the last file started, well within CI's time.
limit=${OC_RSYNC_TEST_LIMIT:-2400}
timeout -k 30 "$limit" bun test --timeout 60000 "$@" 2>&1 | tee "$log"
bun_status=${PIPESTATUS[0]}
if [ "$bun_status" -eq 124 ] || [ "$bun_status" -eq 137 ]; then
  echo "FAILED: bun test did not finish within $limit s; it was in $(grep -E '^test/.*\.ts:$' "$log" | tail -n 1)"
fi
pass=$(grep -Eo '^ *[0-9]+ pass' "$log" | tail -n 1 | grep -Eo '[0-9]+' || echo 0)
fail=$(grep -Eo '^ *[0-9]+ fail' "$log" | tail -n 1 | grep -Eo '[0-9]+' || echo 0)
rm -f "$log"
passed=$((passed + pass))
failed=$((failed + fail))
# bun test failing without a failed test (e.g. a file that does not load) is a failure too.
if [ "$bun_status" -ne 0 ] && [ "$fail" -eq 0 ]; then failed=$((failed + 1)); fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
