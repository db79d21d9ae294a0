/**
 * The directory scan's twin (of zig/scan.zig): readdirSync in the system's
 * order with raw names, then an lstatSync per entry, split exactly as
 * ../api.ts entryStatOf splits it. An error of the directory itself is
 * node's own, thrown by readdirSync; an entry whose lstat fails (it vanished
 * since the read, or the directory cannot be searched) gets its errno.
 * Nothing is prefetched: the hints are ignored.
 *
 * With --open-noatime the names are read through libc instead (openat with
 * O_NOATIME, fdopendir, readdir): node's readdir cannot be given the flag.
 */
import { constants, lstatSync, readdirSync } from "node:fs";
import { FFIType, read, toArrayBuffer } from "bun:ffi";
import { entryStatOf, type DirScan, type EntryStat } from "../api.ts";
import { openLibcWith } from "../../fs/libc.ts";
import { systemError } from "../../fs/errors.ts";

const SLASH = Buffer.from("/");

const asBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

let openNoatime = false;

export function scanNoatime(on: boolean): void {
  openNoatime = on;
}

export function scanDir(path: Uint8Array): DirScan {
  const dir = asBuffer(path);
  const names = openNoatime && process.platform === "linux" ? namesLeavingAtime(dir) : readdirSync(dir, { encoding: "buffer" }).map((n) => new Uint8Array(n.buffer, n.byteOffset, n.byteLength));
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

let dirLibc: ReturnType<typeof openDirLibc> | null = null;

function openDirLibc() {
  return openLibcWith({
    openat: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.u32], returns: FFIType.i32 },
    fdopendir: { args: [FFIType.i32], returns: FFIType.ptr },
    readdir: { args: [FFIType.ptr], returns: FFIType.ptr },
    closedir: { args: [FFIType.ptr], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
  });
}

const AT_FDCWD = -100;
const O_CLOEXEC = 0o2000000;
const EPERM = 1;
const EINTR = 4;
/** glibc's struct dirent64 on Linux: d_ino, d_off (8 bytes each), d_reclen (2), d_type (1), then d_name. */
const D_RECLEN = 16;
const D_NAME = 19;

/** The directory's names (but "." and ".."), read without touching its access time where the kernel allows. */
function namesLeavingAtime(dir: Buffer): Uint8Array[] {
  const libc = (dirLibc ??= openDirLibc());
  const { openat, fdopendir, readdir, closedir, close } = libc.symbols;
  const cPath = Buffer.concat([dir, Buffer.from([0])]);
  const base = constants.O_RDONLY | constants.O_DIRECTORY | O_CLOEXEC;
  let flags = base | (constants.O_NOATIME ?? 0);
  let fd: number;
  for (;;) {
    fd = openat(AT_FDCWD, cPath, flags, 0);
    if (fd >= 0) break;
    const errno = libc.errno();
    if (errno === EINTR) continue;
    // O_NOATIME is for the directory's owner: anyone else reads it as usual.
    if (errno === EPERM && flags !== base) {
      flags = base;
      continue;
    }
    throw systemError(errno, "scandir", dir.toString("latin1"));
  }
  const stream = fdopendir(fd);
  if (!stream) {
    const errno = libc.errno();
    close(fd);
    throw systemError(errno, "scandir", dir.toString("latin1"));
  }
  const names: Uint8Array[] = [];
  try {
    for (let entry = readdir(stream); entry; entry = readdir(stream)) {
      // (The name ends within its record: read no further, the record may end the buffer.)
      const raw = new Uint8Array(toArrayBuffer(entry, D_NAME, read.u16(entry, D_RECLEN) - D_NAME));
      const name = raw.slice(0, raw.indexOf(0));
      const dot = name.length === 1 && name[0] === 0x2e;
      const dotDot = name.length === 2 && name[0] === 0x2e && name[1] === 0x2e;
      if (!dot && !dotDot) names.push(name);
    }
  } finally {
    closedir(stream);
  }
  return names;
}
