/**
 * A daemon's next client process, started before the client connects.
 *
 * Upstream's daemon forks for each connection: its child is ready at once.
 * Ours runs this program again, and a process takes 25-40 ms to start (the
 * runtime, the bundled code) before it can greet the client: every
 * connection waited that long for "@RSYNCD:", against 4-5 ms with upstream's
 * daemon. So the listener keeps one process started ahead, waiting on a
 * socketpair (SPARE_FD_ENV), and hands it the next connection's socket
 * (SCM_RIGHTS) with the peer's address; from there it is the same client
 * process as a freshly started one (it reads the config then, as that one
 * does). The next spare is started only once that client's process is done
 * (the listener is idle then, and a transfer does not share its CPU with a
 * start-up); a connection that finds no spare ready gets a process started
 * for it, as before. A spare whose listener is gone sees the socketpair
 * close and ends.
 */
import { closeSync } from "node:fs";
import { FFIType, ptr } from "bun:ffi";
import { SOCK_SEQPACKET, spawnSelfJoined } from "../boot/self-joined.ts";
import { openLibcWith } from "../fs/libc.ts";

/** Set in a spare's environment: the descriptor of its end of the socketpair. */
export const SPARE_FD_ENV = "OC_RSYNC_DAEMON_SPARE_FD";
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_NOSIGNAL = 0x4000;
const MSG_CMSG_CLOEXEC = 0x40000000;
/** The peer's address, as text, is the message; an address is far shorter. */
const MESSAGE_ROOM = 256;
/** struct msghdr, struct iovec and a cmsghdr holding one descriptor (CMSG_SPACE(4)), on 64-bit Linux. */
const MSGHDR_SIZE = 56;
const IOVEC_SIZE = 16;
const CMSG_ONE_FD_SPACE = 24;
const CMSG_ONE_FD_LEN = 20;

type Libc = ReturnType<typeof libcCalls>;
let libc: Libc | null = null;

function libcCalls() {
  return openLibcWith({
    sendmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i64 },
    recvmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i64 },
    dup2: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  });
}

/** A msghdr over `data` (one iovec) and a control buffer with room for one descriptor; the buffers must stay alive during the call. */
function messageHeader(data: Uint8Array, control: Uint8Array): { header: Buffer; keep: unknown[] } {
  const iov = Buffer.alloc(IOVEC_SIZE);
  iov.writeBigUInt64LE(BigInt(ptr(data)), 0);
  iov.writeBigUInt64LE(BigInt(data.length), 8);
  const header = Buffer.alloc(MSGHDR_SIZE);
  header.writeBigUInt64LE(BigInt(ptr(iov)), 16);
  header.writeBigUInt64LE(1n, 24);
  header.writeBigUInt64LE(BigInt(ptr(control)), 32);
  header.writeBigUInt64LE(BigInt(control.length), 40);
  return { header, keep: [iov, data, control] };
}

/** The listener's side: at most one spare at a time. */
export class SpareWorkers {
  private spare: { child: ReturnType<typeof Bun.spawn>; fd: number } | null = null;
  private stopped = false;

  /** `args` start this program as a client process; `env` is its environment. */
  constructor(
    private readonly args: string[],
    private readonly env: Record<string, string | undefined>,
  ) {}

  /** Starts a spare unless one is there (or spares cannot be had here: then connections start their own). */
  start(): void {
    if (this.spare || this.stopped || process.platform !== "linux" || (process.arch !== "x64" && process.arch !== "arm64")) return;
    try {
      libc ??= libcCalls();
      this.spare = spawnSelfJoined(this.args, { type: SOCK_SEQPACKET, fdEnv: SPARE_FD_ENV, env: this.env, stdio: "ignore" });
    } catch {
      // No spare: each connection starts its own process.
    }
  }

  /**
   * Gives the connection `socketFd` (from `peer`) to the spare: its process,
   * now the client's, or null when there is no spare (or it is gone).
   */
  handOver(socketFd: number, peer: string): ReturnType<typeof Bun.spawn> | null {
    const spare = this.spare;
    if (!spare || !libc) return null;
    this.spare = null;
    // (Never an empty message: the spare would take it for its listener's end.)
    const data = new Uint8Array(Buffer.from(peer || "UNKNOWN", "latin1"));
    const control = new Uint8Array(CMSG_ONE_FD_SPACE);
    const view = Buffer.from(control.buffer);
    view.writeBigUInt64LE(BigInt(CMSG_ONE_FD_LEN), 0);
    view.writeInt32LE(SOL_SOCKET, 8);
    view.writeInt32LE(SCM_RIGHTS, 12);
    view.writeInt32LE(socketFd, 16);
    const { header, keep } = messageHeader(data, control);
    const sent = spare.child.exitCode === null && spare.child.signalCode === null ? Number(libc.symbols.sendmsg(spare.fd, header, MSG_NOSIGNAL)) : -1;
    void keep;
    // (A message queued on a socketpair is still read after this end is closed.)
    closeSync(spare.fd);
    if (sent === data.length) return spare.child;
    spare.child.kill();
    return null;
  }

  /** No more spares; the one waiting sees its socketpair close and ends. */
  stop(): void {
    this.stopped = true;
    if (this.spare) closeSync(this.spare.fd);
    this.spare = null;
  }
}

/**
 * In a spare (SPARE_FD_ENV set): waits for the listener's connection and
 * makes its socket this process's stdin and stdout, as a freshly started
 * client process has it. Returns the peer's address, or null when the
 * listener went away without one (the spare then has nothing to do).
 */
export function awaitConnection(): string | null {
  const fd = Number(process.env[SPARE_FD_ENV]);
  delete process.env[SPARE_FD_ENV];
  libc ??= libcCalls();
  const data = new Uint8Array(MESSAGE_ROOM);
  const control = new Uint8Array(CMSG_ONE_FD_SPACE);
  const { header, keep } = messageHeader(data, control);
  let got: number;
  do got = Number(libc.symbols.recvmsg(fd, header, MSG_CMSG_CLOEXEC));
  while (got < 0 && libc.errno() === 4 /* EINTR */);
  void keep;
  closeSync(fd);
  const view = Buffer.from(control.buffer);
  const controlLength = Number(header.readBigUInt64LE(40));
  if (got <= 0 || controlLength < CMSG_ONE_FD_LEN || view.readInt32LE(8) !== SOL_SOCKET || view.readInt32LE(12) !== SCM_RIGHTS) return null;
  const socketFd = view.readInt32LE(16);
  // dup2 leaves close-on-exec off on the copies: stdin and stdout stay what they are for anything this process runs.
  if (libc.symbols.dup2(socketFd, 0) < 0 || libc.symbols.dup2(socketFd, 1) < 0) {
    closeSync(socketFd);
    return null;
  }
  closeSync(socketFd);
  return Buffer.from(data.subarray(0, got)).toString("latin1");
}
