/**
 * Runs oc-rsync without JavaScriptCore's top JIT tier (FTL).
 *
 * Every oc-rsync run is a fresh, short-lived process: its hot loops get
 * compiled again each time, and FTL's compile threads cost more CPU than the
 * code they produce saves before the run ends (kernel-tree pulls: client user
 * CPU 2.5 -> 1.5 s initial, 1.0 -> 0.4 s delta; see bench/README.md). JSC only
 * reads that switch from the environment at start-up, so the first thing the
 * process does is replace itself (execve: same pid, descriptors and arguments)
 * with a copy whose environment holds `BUN_JSC_useFTLJIT=0`.
 *
 * Only the compiled executable does it: run from source (`bun src/main.ts`,
 * as the tests do), Bun loads and transpiles every module before this code
 * runs, so a second start would cost 50 ms per process instead of 10.
 * Skipped too when the variable is already set (the re-executed copy, or a
 * user's own choice), when `OC_RSYNC_REEXEC=0`, off Linux (no /proc/self), or
 * when any step fails: the run then simply goes on with the default tiers.
 *
 * Imported first by src/main.ts, so it runs before any other module's code
 * and before anything is read from stdin or written anywhere.
 */
import { readFileSync } from "node:fs";
import { FFIType, ptr } from "bun:ffi";
import { openLibcWith } from "../fs/libc.ts";
import { compiledExecutable } from "./self-command.ts";

export const FTL_SWITCH = "BUN_JSC_useFTLJIT";

if (compiledExecutable && process.platform === "linux" && process.env[FTL_SWITCH] === undefined && process.env.OC_RSYNC_REEXEC !== "0") {
  try {
    reexecWith(`${FTL_SWITCH}=0`);
  } catch {
    // Keep running as we are: the switch is worth CPU time, never correctness.
  }
}

/** execve(/proc/self/exe) with this process's own argv and environment bytes plus `extra`; returns only on failure. */
function reexecWith(extra: string): void {
  // Raw bytes from /proc keep arguments and variables that are not UTF-8 exactly as they came.
  const argv = nulSeparated(readFileSync("/proc/self/cmdline"));
  const env = nulSeparated(readFileSync("/proc/self/environ"));
  env.push(Buffer.from(`${extra}\0`));
  const libc = openLibcWith({ execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 } });
  libc.symbols.execve(Buffer.from("/proc/self/exe\0"), pointerArray(argv), pointerArray(env));
}

/** The NUL-terminated strings of a /proc list, each keeping its terminator. */
function nulSeparated(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) {
      out.push(bytes.subarray(start, i + 1));
      start = i + 1;
    }
  }
  return out;
}

/** A NULL-terminated array of pointers to `strings` (which the caller keeps alive until the call). */
function pointerArray(strings: Buffer[]): BigUint64Array {
  const array = new BigUint64Array(strings.length + 1);
  strings.forEach((s, i) => (array[i] = BigInt(ptr(s))));
  return array;
}
