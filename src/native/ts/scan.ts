/**
 * The directory scan's twin (of zig/scan.zig): readdirSync in the system's
 * order with raw names, then an lstatSync per entry, split exactly as
 * src/flist/build.ts fileStatOf does. An error of the directory itself is
 * node's own, thrown by readdirSync; an entry whose lstat fails (it vanished
 * since the read, or the directory cannot be searched) gets its errno.
 * Nothing is prefetched: the hints are ignored.
 */
import { lstatSync, readdirSync, type BigIntStats } from "node:fs";
import type { DirScan, EntryStat } from "../api.ts";

const SLASH = Buffer.from("/");
const NS = 1_000_000_000n;

const asBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export function scanDir(path: Uint8Array): DirScan {
  const dir = asBuffer(path);
  const names = readdirSync(dir, { encoding: "buffer" }).map((n) => new Uint8Array(n.buffer, n.byteOffset, n.byteLength));
  const prefix = dir.at(-1) === SLASH[0] ? dir : Buffer.concat([dir, SLASH]);
  return { names, stats: names.map((name) => lstatOrErrno(Buffer.concat([prefix, name]))) };
}

export function prefetchDirs(_paths: Uint8Array[]): void {}

export function endScans(): void {}

function lstatOrErrno(path: Buffer): EntryStat | number {
  try {
    return entryStatOf(lstatSync(path, { bigint: true }));
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).errno;
    if (typeof errno !== "number") throw e;
    return -errno;
  }
}

/** The split of src/flist/build.ts fileStatOf (floor division of the mtime; rdev decoded from glibc's dev_t). */
export function entryStatOf(st: BigIntStats): EntryStat {
  let sec = st.mtimeNs / NS;
  let nsec = st.mtimeNs - sec * NS;
  if (nsec < 0n) {
    sec -= 1n;
    nsec += NS;
  }
  const rdev = st.rdev;
  return {
    mode: Number(st.mode),
    size: Number(st.size),
    mtime: Number(sec),
    nsec: Number(nsec),
    uid: Number(st.uid),
    gid: Number(st.gid),
    dev: st.dev,
    ino: st.ino,
    nlink: Number(st.nlink),
    rdevMajor: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn & 0xffffffffn)),
    rdevMinor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn & 0xffffffffn)),
  };
}
