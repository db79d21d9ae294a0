/**
 * This program run again, joined to this process by a socketpair: a local
 * copy's sending half, a daemon's spare client process. The child gets its
 * end as descriptor 3 and learns so from a variable of its environment.
 */
import { closeSync } from "node:fs";
import { FFIType } from "bun:ffi";
import { RERR, RsyncError } from "../errors.ts";
import { openLibcWith } from "../fs/libc.ts";
import { selfCommand } from "./self-command.ts";

export const SOCK_STREAM = 1;
export const SOCK_SEQPACKET = 5;
const AF_UNIX = 1;
const SOCK_CLOEXEC = 0o2000000;
/** The descriptor the child gets its end as (the first after stdin, stdout and stderr). */
const CHILD_END = 3;

let libc: ReturnType<typeof libcCalls> | null = null;

function libcCalls() {
  return openLibcWith({ socketpair: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 } });
}

/**
 * Starts this program with `args` and a socketpair of `type` (SOCK_STREAM or
 * SOCK_SEQPACKET) between it and us: `fdEnv` in its environment (`env`
 * plus that) names its end. Returns the child and our end; throws, with
 * nothing left open, when either cannot be made.
 */
export function spawnSelfJoined(
  args: string[],
  opts: { type: number; fdEnv: string; env: Record<string, string | undefined>; stdio: "inherit" | "ignore" },
): { child: ReturnType<typeof Bun.spawn>; fd: number } {
  libc ??= libcCalls();
  const fds = new Int32Array(2);
  // Both ends close on exec: the child gets its end by the spawn's descriptor list alone.
  if (libc.symbols.socketpair(AF_UNIX, opts.type | SOCK_CLOEXEC, 0, fds) !== 0) throw new RsyncError(RERR.IPC, "socketpair failed");
  try {
    const child = Bun.spawn(selfCommand(...args), {
      stdio: [opts.stdio, opts.stdio, "inherit", fds[1]!],
      env: { ...opts.env, [opts.fdEnv]: String(CHILD_END) },
    });
    return { child, fd: fds[0]! };
  } catch (e) {
    closeSync(fds[0]!);
    throw e;
  } finally {
    closeSync(fds[1]!);
  }
}
