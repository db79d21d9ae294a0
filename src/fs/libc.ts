/**
 * The few libc calls node lacks, through bun:ffi: utimensat (node's
 * utimes takes float seconds and cannot set nanoseconds exactly), mknod
 * (devices, fifos, sockets), chroot (a daemon module's "use chroot") and
 * fallocate (--preallocate, and the holes of --sparse --inplace). libc is always in the process, so these work
 * even when our own native core could not be loaded.
 */
import { getSystemErrorMessage, getSystemErrorName } from "node:util";
import { dlopen, FFIType, read, type FFIFunction } from "bun:ffi";
import { putI64 } from "./c-words.ts";

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
/** tv_nsec value meaning "leave this time as it is". */
const UTIME_OMIT = (1 << 30) - 2;

const LIBC_NAMES = process.platform === "darwin" ? ["libSystem.B.dylib"] : ["libc.so.6", "libc.so"];
/** The function returning the address of the calling thread's errno. */
const ERRNO_SYMBOL = process.platform === "darwin" ? "__error" : "__errno_location";

/**
 * Opens libc with `symbols` and the errno accessor; every module needing
 * libc calls opens it through here (once each).
 */
export function openLibcWith<const T extends Record<string, FFIFunction>>(symbols: T) {
  const all = { ...symbols, [ERRNO_SYMBOL]: { args: [], returns: FFIType.ptr } } as const;
  let last: unknown;
  for (const name of LIBC_NAMES) {
    try {
      const lib = dlopen(name, all);
      const location = (lib.symbols as unknown as Record<string, () => number | null>)[ERRNO_SYMBOL]!;
      /** The calling thread's errno, right after a failed call. */
      const errno = (): number => {
        const p = location();
        return p ? read.i32(p, 0) : 0;
      };
      return { symbols: lib.symbols, errno };
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

const libc = openLibcWith({
  utimensat: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  mknod: { args: [FFIType.ptr, FFIType.u32, FFIType.u64], returns: FFIType.i32 },
  chroot: { args: [FFIType.ptr], returns: FFIType.i32 },
  lseek: { args: [FFIType.i32, FFIType.i64, FFIType.i32], returns: FFIType.i64 },
  ...(process.platform === "linux" ? { fallocate: { args: [FFIType.i32, FFIType.i32, FFIType.i64, FFIType.i64], returns: FFIType.i32 } } : {}),
});

const errno = libc.errno;

/** A NUL-terminated copy of a path (bytes or string). */
export function cPath(path: Uint8Array | string): Uint8Array {
  const bytes = typeof path === "string" ? Buffer.from(path) : path;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

export class SysError extends Error {
  constructor(
    readonly errno: number,
    readonly syscall: string,
  ) {
    // The same wording node's own errors carry ("EPERM: operation not permitted, utimensat"), so errText reads both alike.
    super(`${getSystemErrorName(-errno)}: ${getSystemErrorMessage(-errno)}, ${syscall}`);
  }
}

/** Two timespecs (atime, mtime) of 64-bit seconds and nanoseconds, as 32-bit halves (little-endian: x86-64, arm64): no BigInt per call. */
const times = new Int32Array(8);


/**
 * Sets mtime (and optionally atime) with nanosecond precision. `noFollow`
 * sets a symlink's own times.
 */
export function setTimes(path: Uint8Array | string, mtime: number, mtimeNsec: number, noFollow: boolean, atime?: number, atimeNsec = 0): void {
  putI64(times, 0, atime ?? 0);
  putI64(times, 2, atime === undefined ? UTIME_OMIT : atimeNsec);
  putI64(times, 4, mtime);
  putI64(times, 6, mtimeNsec);
  if (libc.symbols.utimensat(AT_FDCWD, cPath(path), times, noFollow ? AT_SYMLINK_NOFOLLOW : 0) !== 0) {
    throw new SysError(errno(), "utimensat");
  }
}

export function mknod(path: Uint8Array | string, mode: number, major: number, minor: number): void {
  // glibc's makedev() encoding.
  const dev =
    ((BigInt(major) & 0xfffn) << 8n) |
    ((BigInt(major) & ~0xfffn) << 32n) |
    (BigInt(minor) & 0xffn) |
    ((BigInt(minor) & ~0xffn) << 12n);
  if (libc.symbols.mknod(cPath(path), mode, dev) !== 0) throw new SysError(errno(), "mknod");
}

/** Makes `path` this process's root directory (the caller then changes into "/"). */
export function chroot(path: string): void {
  if (libc.symbols.chroot(cPath(path)) !== 0) throw new SysError(errno(), "chroot");
}

/** fallocate(2) modes: allocate without growing the file; free a range (keeping the size). */
export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;

/** Allocates (or with FALLOC_FL_PUNCH_HOLE frees) a range of an open file; ENOTSUP where the system has no fallocate. */
export function fallocate(fd: number, mode: number, offset: number, length: number): void {
  const call = (libc.symbols as unknown as Record<string, ((...a: number[]) => number) | undefined>).fallocate;
  if (!call) throw new SysError(95, "fallocate");
  if (call(fd, mode, offset, length) !== 0) throw new SysError(errno(), "fallocate");
}

const SEEK_SET = 0;
const SEEK_END = 2;

/**
 * How long a device is (flist.c get_device_size): its end found by seeking
 * (a stat says 0 for a device), the descriptor left back at the start. A
 * device that cannot seek has length 0 (a char device such as /dev/zero
 * seeks to 0 too).
 */
export function deviceLength(fd: number): number {
  const end = Number(libc.symbols.lseek(fd, 0, SEEK_END));
  if (end < 0) return 0;
  libc.symbols.lseek(fd, 0, SEEK_SET);
  return end;
}
