/**
 * Immediate ACKs for what we read from a TCP connection (Linux TCP_QUICKACK).
 *
 * Upstream rsync leaves Nagle's algorithm on, so when it writes a small
 * piece while an earlier one is not yet acknowledged, the kernel holds it
 * back until that ACK comes. Linux delays an ACK (40 ms at least) when we
 * have nothing of our own to send with it. Our replies leave in fewer, later
 * writes than upstream's (the generator and receiver are one process), so
 * an upstream peer ended up waiting on those delayed ACKs over and over:
 * a kernel-tree pull with 302 changed files idled ~40 ms a dozen times
 * (1.25 s against 0.62 s for upstream's client; 0.83 s with quick ACKs).
 *
 * The flag does not stick (the kernel goes back to delaying on its own), so
 * it is set again after every read but a bulk one (BULK_READ); setting it
 * also sends an ACK that is pending. Elsewhere than Linux, and with
 * OC_RSYNC_QUICKACK=0, nothing is done.
 */
import { FFIType } from "bun:ffi";
import { openLibcWith } from "../fs/libc.ts";

const IPPROTO_TCP = 6;
const TCP_QUICKACK = 12;
/** Descriptors looked at when finding a connection's own (Bun does not say which it is). */
const MAX_FD_SEARCHED = 1024;

let libc: ReturnType<typeof open> | null = null;
const open = () =>
  openLibcWith({
    setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    getsockname: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    getpeername: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  });

const enabled = () => process.platform === "linux" && process.env.OC_RSYNC_QUICKACK !== "0";

/**
 * A read at least this long is the peer streaming: its full segments are not
 * what Nagle holds back, and the kernel acknowledges them by itself (every
 * second segment, and at once when we empty the queue of data it pushed).
 * Setting the flag there only sent those ACKs earlier, from our thread: on a
 * kernel-tree pull ~2.5K calls, about 0.1 s of the client's CPU
 * (bench/README.md).
 */
const BULK_READ = 64 << 10;

/** Returns what to call after each read of socket `fd`, with the read's length (a no-op where quick ACKs are off or unavailable). */
export function quickAckerFor(fd: number): (length: number) => void {
  if (fd < 0 || !enabled()) return () => {};
  libc ??= open();
  const setsockopt = libc.symbols.setsockopt;
  const one = new Int32Array([1]);
  // A failure (not a TCP socket after all) only means no quick ACKs: stop trying.
  let on = true;
  return (length: number) => {
    if (length >= BULK_READ) return;
    if (on && setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, one, 4) !== 0) on = false;
  };
}

/**
 * The descriptor of our connected socket with these local and remote ports
 * (sockaddr_in and sockaddr_in6 both carry the port big-endian at byte 2), or -1.
 */
export function socketFdByPorts(localPort: number, remotePort: number): number {
  if (!enabled()) return -1;
  libc ??= open();
  const s = libc.symbols;
  const addr = new Uint8Array(128);
  const len = new Uint32Array(1);
  const portOf = (call: typeof s.getsockname, fd: number): number => {
    len[0] = addr.length;
    if (call(fd, addr, len) !== 0 || len[0] < 4) return -1;
    return (addr[2]! << 8) | addr[3]!;
  };
  for (let fd = 3; fd < MAX_FD_SEARCHED; fd++) {
    if (portOf(s.getsockname, fd) === localPort && portOf(s.getpeername, fd) === remotePort) return fd;
  }
  return -1;
}
