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
 * The kernel names a process after the file it executes, so the copy
 * started through /proc/self/exe is "exe" in ps, top, pgrep and killall; it
 * takes back the name the first one had, the base name of its argv[0]
 * (which execve keeps), as the kernel gave it from the same path.
 *
 * Imported first by src/main.ts, so it runs before any other module's code
 * and before anything is read from stdin or written anywhere.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { FFIType, ptr } from "bun:ffi";
import { openLibcWith } from "../fs/libc.ts";
import { compiledExecutable } from "./self-command.ts";

export const FTL_SWITCH = "BUN_JSC_useFTLJIT";

if (compiledExecutable && process.platform === "linux") {
  if (process.env[FTL_SWITCH] === undefined && process.env.OC_RSYNC_REEXEC !== "0") {
    try {
      reexecWith(`${FTL_SWITCH}=0`);
    } catch {
      // Keep running as we are: the switch is worth CPU time, never correctness.
    }
  } else takeNameBack();
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

/** A process named "exe" (re-executed through /proc/self/exe) takes its argv[0]'s base name, as the first execve gave it. */
function takeNameBack(): void {
  try {
    if (readFileSync("/proc/self/comm", "latin1") !== "exe\n") return;
    const cmdline = readFileSync("/proc/self/cmdline");
    const argv0 = cmdline.subarray(0, cmdline.indexOf(0));
    const base = argv0.subarray(argv0.lastIndexOf(0x2f) + 1);
    // (The kernel keeps 15 bytes of it.)
    if (base.length > 0) writeFileSync("/proc/self/comm", base.subarray(0, 15));
  } catch {
    // A name is only for people looking at the process list.
  }
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
