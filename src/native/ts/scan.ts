/**
 * The directory scan's twin (of zig/scan.zig): readdirSync in the system's
 * order with raw names, then an lstatSync per entry, split exactly as
 * ../api.ts entryStatOf splits it. An error of the directory itself is
 * node's own, thrown by readdirSync; an entry whose lstat fails (it vanished
 * since the read, or the directory cannot be searched) gets its errno.
 * Nothing is prefetched: the hints are ignored.
 */
import { lstatSync, readdirSync } from "node:fs";
import { entryStatOf, type DirScan, type EntryStat } from "../api.ts";

const SLASH = Buffer.from("/");

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

