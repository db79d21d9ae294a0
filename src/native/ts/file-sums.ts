/**
 * The whole-file checksum's twin (of zig/file_sums.zig): plain synchronous
 * hashing of each file when asked. Nothing is hashed ahead: hints are taken by
 * no one (the caller keeps offering them, which costs it nothing here).
 */
import { closeSync, constants, lstatSync, openSync, readSync } from "node:fs";
import type { EntryStat, HashAlg } from "../api.ts";
import { createHasher } from "./algorithms.ts";

/** Large reads, into one buffer for the whole run. */
const READ_SIZE = 512 * 1024;
let buffer: Uint8Array | null = null;

export function fileSum(path: Uint8Array, size: number, alg: HashAlg): Uint8Array | null {
  const name = Buffer.from(path.buffer, path.byteOffset, path.byteLength);
  // lstat first: a FIFO or a device is never opened (O_NONBLOCK too, should one appear in between).
  if (!isRegularOfSize(name, size)) return null;
  let fd: number;
  try {
    fd = openSync(name, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    buffer ??= new Uint8Array(READ_SIZE);
    const h = createHasher(alg, 0);
    for (let left = size; left > 0; ) {
      const n = readSync(fd, buffer, 0, Math.min(buffer.length, left), null);
      if (n <= 0) return null;
      h.update(buffer.subarray(0, n));
      left -= n;
    }
    return h.digest();
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

export function fileSumStat(_path: Uint8Array, _size: number, _alg: HashAlg): EntryStat | number | undefined {
  return undefined;
}

export function prefetchFileSums(_paths: Uint8Array, _sizes: Float64Array, _alg: HashAlg): number {
  return 0;
}

export function endFileSums(): void {}

function isRegularOfSize(name: Buffer, size: number): boolean {
  try {
    const st = lstatSync(name);
    return st.isFile() && st.size === size;
  } catch {
    return false;
  }
}
