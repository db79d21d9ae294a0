/**
 * The StatPrefetcher over zig/stat_prefetch.zig: jobs are copied by native
 * when queued; the records are written into a ring this module owns (and
 * keeps alive for the process's life, as the worker may still write into it).
 */
import { ptr } from "bun:ffi";
import type { EntryStat, StatPrefetcher } from "./api.ts";
import type { NativeLibrary } from "./load.ts";
import { makedev } from "../fs/fd-ops.ts";

/** Records in the ring: a few thousand entries ahead of the generator is plenty (each 128 bytes). */
const SLOTS = 4096;
/** zig/stat_prefetch.zig Record: f64s per record, and where each field is. */
export const REC = 16;
const ERRNO = 0;
const MODE = 1;
const SIZE = 2;
const MTIME = 3;
const NSEC = 4;
const UID = 5;
const GID = 6;
const DEV_MAJOR = 7;
const DEV_MINOR = 8;
const INO_LO = 9;
const INO_HI = 10;
const NLINK = 11;
const RDEV_MAJOR = 12;
const RDEV_MINOR = 13;
const ATIME = 14;
const TWO_32 = 0x1_0000_0000;

export function createNativeStatPrefetcher(s: NativeLibrary["symbols"]): StatPrefetcher {
  const ring = new Float64Array(SLOTS * REC);
  // (A pointer taken before .buffer is first touched may move: see docs/bun-zig-notes.md.)
  void ring.buffer;
  const ringPtr = ptr(ring);
  /** zig/stat_prefetch.zig Meta. */
  const meta = new Float64Array(8);
  /** The next slot to give, the first one not let go, and the done count last read. */
  let next = 0;
  let kept = 0;
  let done = 0;

  return {
    slots: SLOTS,
    submit(dir, names, count) {
      if (count === 0) return next;
      if (next + count - kept > SLOTS) return -1;
      const bytes = names.length;
      meta[0] = dir.length ? ptr(dir) : 0;
      meta[1] = dir.length;
      meta[2] = ptr(names);
      meta[3] = bytes;
      meta[4] = count;
      meta[5] = next;
      meta[6] = ringPtr;
      meta[7] = SLOTS;
      // Refused (the queue full, or anything else): the caller stats these rows itself.
      if (s.oc_statp_submit(meta) < 0) return -1;
      const first = next;
      next += count;
      return first;
    },
    kick() {
      s.oc_statp_kick();
    },
    done() {
      // Native counts modulo 2^32: unwrapped against the last count read (never 2^32 slots behind).
      const raw = s.oc_statp_done();
      done += (raw - (done % TWO_32) + TWO_32) % TWO_32;
      return done;
    },
    skipBelow(slot) {
      if (slot <= kept) return;
      kept = slot;
      s.oc_statp_skip_below(slot % TWO_32, Math.floor(slot / TWO_32));
    },
    record(slot): EntryStat | number {
      return statOfRecord(ring, (slot % SLOTS) * REC);
    },
  };
}

/** The Record at `at` of `r` (zig/stat_prefetch.zig): the stat, or the errno of the failed lstat. */
export function statOfRecord(r: Float64Array, at: number): EntryStat | number {
  const errno = r[at + ERRNO]!;
  if (errno !== 0) return errno;
  const inoHi = r[at + INO_HI]!;
  return {
    mode: r[at + MODE]!,
    size: r[at + SIZE]!,
    mtime: r[at + MTIME]!,
    nsec: r[at + NSEC]!,
    uid: r[at + UID]!,
    gid: r[at + GID]!,
    dev: makedev(r[at + DEV_MAJOR]!, r[at + DEV_MINOR]!),
    ino: inoHi === 0 ? BigInt(r[at + INO_LO]!) : (BigInt(inoHi) << 32n) | BigInt(r[at + INO_LO]!),
    nlink: r[at + NLINK]!,
    rdevMajor: r[at + RDEV_MAJOR]!,
    rdevMinor: r[at + RDEV_MINOR]!,
    atime: r[at + ATIME]!,
  };
}
