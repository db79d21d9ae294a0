/**
 * The basis file's descriptor, passed from the generator to the receiver.
 *
 * For a delta the generator opens a file's old version to make its block
 * sums, and the receiver opens it again when the data comes, to copy the
 * matched blocks: on the kernel tree's delta that was 157K opens and closes,
 * a tenth of the client's syscalls. Both halves live in one process here, so
 * the generator can leave the descriptor open and the receiver take it.
 *
 * Only for a file's own destination (the usual basis, opened through its
 * directory's descriptor), and at most `limit` at a time: the generator runs
 * hundreds of files ahead of the receiver, and a descriptor costs the
 * process's open-file budget, nothing more. Requests are answered in the
 * order they were made, so when the receiver takes a file's descriptor, any
 * left from before it (a file the sender could not send) is closed.
 */
import * as fs from "node:fs";

/** Descriptors held at most, and the share of the process's open-file limit they may take. */
const MAX_HELD = 1024;
const LIMIT_SHARE = 4;

export class BasisHandoff {
  /** File index -> descriptor, in the order they were offered. */
  private readonly held = new Map<number, number>();

  constructor(private readonly limit = heldLimit()) {}

  /** Keeps `fd` (the basis of file `ndx`) for the receiver; false when full: the caller closes it. */
  offer(ndx: number, fd: number): boolean {
    // The redo pass asks for a file again: its new descriptor replaces the old one.
    const old = this.held.get(ndx);
    if (old !== undefined) {
      this.held.delete(ndx);
      closeQuietly(old);
    }
    if (this.held.size >= this.limit) return false;
    this.held.set(ndx, fd);
    return true;
  }

  /** The descriptor kept for file `ndx` (now the caller's to close), or -1. */
  take(ndx: number): number {
    const fd = this.held.get(ndx);
    if (fd === undefined) return -1;
    for (const [earlier, earlierFd] of this.held) {
      this.held.delete(earlier);
      if (earlier === ndx) break;
      closeQuietly(earlierFd);
    }
    return fd;
  }

  /** Closes what is still held (the session is over). */
  closeAll(): void {
    for (const fd of this.held.values()) closeQuietly(fd);
    this.held.clear();
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // Only ever a descriptor we opened for reading: nothing to lose.
  }
}

/** MAX_HELD, or a quarter of the soft open-file limit where that is lower. */
function heldLimit(): number {
  try {
    const line = fs
      .readFileSync("/proc/self/limits", "latin1")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = Number.parseInt(line?.slice("Max open files".length).trim() ?? "", 10);
    if (Number.isFinite(soft)) return Math.max(0, Math.min(MAX_HELD, Math.floor(soft / LIMIT_SHARE)));
  } catch {
    // No /proc: the fixed bound.
  }
  return Math.min(MAX_HELD, 64);
}
