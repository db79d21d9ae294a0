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
 * So are those of scanDirAt's open directory (node cannot read from an fd).
 */
import { constants, lstatSync, readdirSync } from "node:fs";
import { FFIType, read, toArrayBuffer } from "bun:ffi";
import { entryStatOf, type DirScan, type EntryStat } from "../api.ts";
import { openLibcWith } from "../../fs/libc.ts";
import { systemError } from "../../fs/errors.ts";
import { AT_FDCWD, closeFd, flooredEntryStat, lstatAt, openAt } from "../../fs/fd-ops.ts";

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
    fdopendir: { args: [FFIType.i32], returns: FFIType.ptr },
    readdir: { args: [FFIType.ptr], returns: FFIType.ptr },
    closedir: { args: [FFIType.ptr], returns: FFIType.i32 },
  });
}

const EPERM = 1;
/** glibc's struct dirent64 on Linux: d_ino, d_off (8 bytes each), d_reclen (2), d_type (1), then d_name. */
const D_RECLEN = 16;
const D_NAME = 19;

/** The directory's names (but "." and ".."), read without touching its access time where the kernel allows. */
function namesLeavingAtime(dir: Buffer): Uint8Array[] {
  const shown = () => dir.toString();
  return namesOfOpenDir(openDirNoatime(dir, shown), shown);
}

/**
 * Core.scanDirAt: the names read through a descriptor of its own (opened
 * through `dirFd`, which is left as it is), each entry's lstat relative to
 * `dirFd`: nothing goes by a path another process could swap.
 */
export function scanDirAt(dirFd: number, path: Uint8Array): DirScan {
  const shown = () => Buffer.from(path.buffer, path.byteOffset, path.byteLength).toString();
  let fd: number;
  try {
    fd = openAt(dirFd, DOT, constants.O_RDONLY | constants.O_DIRECTORY, shown);
  } catch (e) {
    throw systemError(Math.abs((e as NodeJS.ErrnoException).errno ?? 0), "scandir", shown());
  }
  const names = namesOfOpenDir(fd, shown);
  return { names, stats: names.map((name) => lstatAtOrErrno(dirFd, name)) };
}

const DOT = Buffer.from(".");
const ENOENT = 2;

/** The entry's lstat as entryStatOf gives it, or its errno. */
function lstatAtOrErrno(dirFd: number, name: Uint8Array): EntryStat | number {
  let st: EntryStat | null;
  try {
    st = lstatAt(dirFd, name, () => "");
  } catch (e) {
    return Math.abs((e as NodeJS.ErrnoException).errno ?? 0);
  }
  return st === null ? ENOENT : flooredEntryStat(st);
}

/** The names (but "." and "..") of the directory open as `fd`, which is closed. */
function namesOfOpenDir(fd: number, shown: () => string): Uint8Array[] {
  const libc = (dirLibc ??= openDirLibc());
  const { fdopendir, readdir, closedir } = libc.symbols;
  const stream = fdopendir(fd);
  if (!stream) {
    const errno = libc.errno();
    closeFd(fd, shown);
    throw systemError(errno, "scandir", shown());
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

/** Opens the directory with O_NOATIME, which is for its owner: anyone else opens it as usual. Errors are readdir's ("scandir"). */
function openDirNoatime(dir: Buffer, shown: () => string): number {
  const flags = constants.O_RDONLY | constants.O_DIRECTORY;
  const errnoOf = (e: unknown) => Math.abs((e as NodeJS.ErrnoException).errno ?? 0);
  const asScandir = (e: unknown) => systemError(errnoOf(e), "scandir", shown());
  try {
    return openAt(AT_FDCWD, dir, flags | (constants.O_NOATIME ?? 0), shown);
  } catch (e) {
    if (errnoOf(e) !== EPERM) throw asScandir(e);
  }
  try {
    return openAt(AT_FDCWD, dir, flags, shown);
  } catch (e) {
    throw asScandir(e);
  }
}
