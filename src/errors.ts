/** rsync's exit codes (errcode.h) and the error type that carries one. */

export const RERR = {
  OK: 0,
  SYNTAX: 1,
  PROTOCOL: 2,
  FILESELECT: 3,
  UNSUPPORTED: 4,
  STARTCLIENT: 5,
  SOCKETIO: 10,
  FILEIO: 11,
  STREAMIO: 12,
  MESSAGEIO: 13,
  IPC: 14,
  CRASHED: 15,
  TERMINATED: 16,
  SIGNAL1: 19,
  SIGNAL: 20,
  WAITCHILD: 21,
  MALLOC: 22,
  PARTIAL: 23,
  VANISHED: 24,
  DEL_LIMIT: 25,
  TIMEOUT: 30,
  CONTIMEOUT: 35,
  CMD_FAILED: 124,
  CMD_KILLED: 125,
  CMD_RUN: 126,
  CMD_NOTFOUND: 127,
} as const;

/** The text upstream prints for each code (log.c rerr_names[]). */
const RERR_TEXT: Record<number, string> = {
  1: "syntax or usage error",
  2: "protocol incompatibility",
  3: "errors selecting input/output files, dirs",
  4: "requested action not supported",
  5: "error starting client-server protocol",
  10: "error in socket IO",
  11: "error in file IO",
  12: "error in rsync protocol data stream",
  13: "errors with program diagnostics",
  14: "error in IPC code",
  15: "sibling process crashed",
  16: "sibling process terminated abnormally",
  19: "received SIGUSR1",
  20: "received SIGINT, SIGTERM, or SIGHUP",
  21: "waitpid() failed",
  22: "error allocating core memory buffers",
  23: "some files/attrs were not transferred (see previous errors)",
  24: "some files vanished before they could be transferred",
  25: "the --max-delete limit stopped deletions",
  30: "timeout in data send/receive",
  35: "timeout waiting for daemon connection",
  124: "remote shell failed",
  125: "remote shell killed",
  126: "remote command could not be run",
  127: "remote command not found",
};

export function exitCodeText(code: number): string {
  return RERR_TEXT[code] ?? "unexplained error";
}

/**
 * A failure that ends the run with an rsync exit code. `message` is printed
 * as it is (with "rsync: " where upstream has it), unless `quiet` says it was
 * already shown (e.g. an @ERROR line from a daemon); then upstream's
 * "rsync error: ..." line follows.
 */
/** Who reports a failure, as upstream's who_am_i() names it ("Receiver" is a pull client before it forks). */
export type Role = "client" | "server" | "sender" | "receiver" | "generator" | "daemon" | "Receiver";

export class RsyncError extends Error {
  /** Set by the part of the program that was running when this happened. */
  role?: Role;

  constructor(
    readonly code: number,
    message: string,
    readonly quiet = false,
  ) {
    super(message);
  }
}

/** Runs `work`, attributing failures that carry no role yet to `role`. */
export async function asRole<T>(role: Role, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (e) {
    if (e instanceof RsyncError && !e.role) e.role = role;
    throw e;
  }
}

export const usageError = (message: string) => new RsyncError(RERR.SYNTAX, message);

/** A failure of the receiving side's setup, which upstream's client reports as the "Receiver" before it forks. */
export function receiverError(code: number, message: string): RsyncError {
  const e = new RsyncError(code, message);
  e.role = "Receiver";
  return e;
}
export const protocolError = (message: string) => new RsyncError(RERR.PROTOCOL, message);

/**
 * The peer's MSG_ERROR_EXIT ended the run. It said what went wrong already,
 * so nothing is added; the code is `value` as upstream's exit() gives it
 * (its low 8 bits: -1 is 255), but never 0, which takes `otherwise`: a
 * peer's error exit is a failure, whatever number it sent.
 */
export function peerExited(value: number, otherwise: number): RsyncError {
  return Object.assign(new RsyncError((value & 0xff) || otherwise, "", true), { peerExited: true });
}
export const streamError = (message: string) => new RsyncError(RERR.STREAMIO, message);

/**
 * The connection broke under a read or a write (the peer reset it, or a
 * pipe's reader went away), which upstream reports as the call that failed
 * with its errno, not as an end: its raw reads of the start (a daemon's
 * lines, setup_protocol: io.c safe_read, a byte at a time) stop with
 * RERR_STREAMIO, its buffered reads and writes once the streams are
 * multiplexed (perform_io) with RERR_SOCKETIO. `role` is who read or wrote
 * (who_am_i; a pulling client is "Receiver" until it forks). A receiver's
 * is the run's RERR_STREAMIO all the same: upstream's receiver is a child
 * of its generator, which sees it go as its own "connection unexpectedly
 * closed" and exits with that.
 */
export class ConnectionBroken extends RsyncError {}

/** How upstream's rsyserr shows the errnos that break a connection. */
const BROKEN_BY = { ECONNRESET: "Connection reset by peer (104)", EPIPE: "Broken pipe (32)" } as const;
export type BreakingErrno = keyof typeof BROKEN_BY;

export function connectionBroken(errno: BreakingErrno, role: string, call: "read" | "write", multiplexed: boolean): ConnectionBroken {
  const rawRead = call === "read" && !multiplexed;
  const what = rawRead ? "safe_read failed to read 1 bytes" : `${call} error`;
  const code = rawRead || role === "receiver" ? RERR.STREAMIO : RERR.SOCKETIO;
  return new ConnectionBroken(code, `rsync: [${role}] ${what}: ${BROKEN_BY[errno]}`);
}

/** A write's error as Bun gives a read's (its code, syscall and errno), for a write that `errno` broke where Bun gave none. */
export function brokenWrite(errno: BreakingErrno): Error {
  const [text, number] = errno === "EPIPE" ? ["broken pipe", -32] : ["connection reset by peer", -104];
  return Object.assign(new Error(`${errno}: ${text}, write`), { code: errno, syscall: "write", errno: number });
}

/** The errno that ended a connection under a call (a channel's end error: Bun's socket or pipe errors), if it is one that breaks it. */
export function breakingErrno(error: unknown): BreakingErrno | null {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ECONNRESET" || code === "EPIPE" ? code : null;
}
