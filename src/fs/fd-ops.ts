/**
 * Descriptor-relative file operations through libc (Linux): the receiver's
 * per-file path (create the temp file, write it, set its attributes, rename
 * it into place), the generator's stat of each destination entry, and the
 * TypeScript twin's open of a file to send relative to its directory.
 *
 * node's fs functions take whole paths: every call walks the destination
 * path again in the kernel, and costs a path buffer and (for a stat) a
 * Stats object in JS. Here names are relative to an open directory
 * (openat, renameat, statx), attributes go through the file's own
 * descriptor (fchmod, fchown, futimens), and names are passed in a reused
 * NUL-terminated buffer. Upstream gets the short walks by working from
 * inside the destination (chdir); a directory descriptor does the same
 * per directory.
 *
 * Errors are thrown as node's fs errors are (code, errno, syscall, path),
 * so callers report them alike.
 */
import * as fs from "node:fs";
import { FFIType } from "bun:ffi";
import { openLibcWith } from "./libc.ts";
import { Iovecs, putI64 } from "./c-words.ts";
import { systemError } from "./errors.ts";
import type { EntryStat } from "../native/api.ts";

/** Only Linux has statx and the O_* values used here; elsewhere DestFs keeps to paths. */
export const fdOpsAvailable = process.platform === "linux";

const libc = fdOpsAvailable
  ? openLibcWith({
      openat: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.u32], returns: FFIType.i32 },
      renameat: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
      unlinkat: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
      statx: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.u32, FFIType.ptr], returns: FFIType.i32 },
      futimens: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
      fchmod: { args: [FFIType.i32, FFIType.u32], returns: FFIType.i32 },
      fchown: { args: [FFIType.i32, FFIType.u32, FFIType.u32], returns: FFIType.i32 },
      write: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
      writev: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i64_fast },
      close: { args: [FFIType.i32], returns: FFIType.i32 },
      readlinkat: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
      syscall: { args: [FFIType.i64, FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
    })
  : null;

const C = fs.constants;
/** The *At calls' "relative to the working directory". */
export const AT_FDCWD = -100;
const O_CLOEXEC = 0o2000000;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const STATX_BASIC_STATS = 0x7ff;
const ENOENT = 2;
const EINTR = 4;
const UTIME_OMIT = (1 << 30) - 2;
const IOV_MAX = 1024;
const NAME_MAX = 255;
const PATH_MAX = 4096;
const EXDEV = 18;
const ENOTDIR = 20;
const ELOOP = 40;
const SLASH = 0x2f;
const DOT = new Uint8Array([0x2e]);

/** Names go to libc NUL-terminated, copied into these (two: a rename takes both names at once). */
const nameA = new Uint8Array(NAME_MAX + 2);
const nameB = new Uint8Array(NAME_MAX + 2);
const EMPTY_NAME = new Uint8Array(1);
const statxBuf = new Uint8Array(256);
const statxView = new DataView(statxBuf.buffer);
/** Two timespecs (atime, mtime) of 64-bit seconds and nanoseconds, filled as 32-bit halves (little-endian: x86-64, arm64). */
const times = new Int32Array(8);
const iov = new Iovecs(IOV_MAX);

function cName(name: Uint8Array, into: Uint8Array): Uint8Array {
  // A longer name is the kernel's to refuse (ENAMETOOLONG): hand it over whole.
  const out = name.length <= NAME_MAX ? into : new Uint8Array(name.length + 1);
  out.set(name);
  out[name.length] = 0;
  return out;
}

const lib = () => libc!.symbols;
const fail = (syscall: string, shown: () => string) => systemError(libc!.errno(), syscall, shown());

/** Opens the directory `path` (a whole path, bytes) for the *At calls below. */
export function openDir(path: Uint8Array, shown: () => string): number {
  const fd = lib().openat(AT_FDCWD, cName(path, nameA), C.O_RDONLY | C.O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) throw fail("open", shown);
  return fd;
}

/** openat2(2): its number (the same on x86-64 and arm64), struct open_how's resolve bits. */
const SYS_OPENAT2 = 437;
const RESOLVE_NO_SYMLINKS = 0x04;
const RESOLVE_BENEATH = 0x08;
const ENOSYS = 38;
const EPERM = 1;
const EAGAIN = 11;
/**
 * openat2 tries before one open takes the component walk instead: with
 * RESOLVE_BENEATH the kernel answers EAGAIN when a rename or mount anywhere on
 * the system raced with its resolution of a ".." (a symlink's target climbing
 * back up), and leaves the retry to the caller (openat2(2)). A busy machine
 * (other transfers renaming their temp files) hits it now and then.
 */
const OPENAT2_TRIES = 8;
/** struct open_how { u64 flags, mode, resolve }: O_DIRECTORY opens, never through a symlink, never above the root. */
const beneathHow = new BigUint64Array([BigInt(C.O_RDONLY | C.O_DIRECTORY | O_CLOEXEC), 0n, BigInt(RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH)]);
/** open_how for openInside with `flags`: symlinks followed, but never to above the root (nor any absolute one). */
const insideHows = new Map<number, BigUint64Array>();
function insideHow(flags: number): BigUint64Array {
  let how = insideHows.get(flags);
  if (!how) insideHows.set(flags, (how = new BigUint64Array([BigInt(flags | O_CLOEXEC), 0n, BigInt(RESOLVE_BENEATH)])));
  return how;
}
const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY;
/** Whether openat2 is there (false once it said ENOSYS or EPERM: an old kernel, or a sandbox refusing it). */
let openat2Works = true;

/**
 * Opens directory `rel` (a relative path, bytes) beneath the directory
 * `rootFd` without following any symlink on the way and without climbing
 * above it: a component that is a symlink fails with ELOOP. Through openat2
 * where the kernel has it (one call), else one openat(O_NOFOLLOW) per
 * component. An empty `rel` opens the root again.
 */
export function openDirBeneath(rootFd: number, rel: Uint8Array, shown: () => string): number {
  if (rel.length === 0) return openAt(rootFd, DOT, C.O_RDONLY | C.O_DIRECTORY, shown);
  const fd = openByOpenat2(rootFd, rel, beneathHow, EXDEV, shown);
  return fd >= 0 ? fd : openDirWalkingBeneath(rootFd, rel, shown);
}

/**
 * openat2 of `rel` under `rootFd` as `how` says; -1 where the kernel cannot
 * (then and from then on) or kept answering EAGAIN (this once). Its EXDEV
 * (a name or symlink leading above the root, or an absolute symlink) is
 * thrown as `escapeErrno`.
 */
function openByOpenat2(rootFd: number, rel: Uint8Array, how: BigUint64Array, escapeErrno: number, shown: () => string): number {
  if (!openat2Works || rel.length >= PATH_MAX) return -1;
  const path = new Uint8Array(rel.length + 1);
  path.set(rel);
  let errno = EAGAIN;
  for (let tries = 0; errno === EAGAIN; tries++) {
    // Still racing after these: this one open walks the components itself (which no rename makes fail).
    if (tries === OPENAT2_TRIES) return -1;
    const fd = Number(lib().syscall(SYS_OPENAT2, rootFd, path, how, how.byteLength));
    if (fd >= 0) return fd;
    errno = libc!.errno();
  }
  // ENOSYS: an old kernel; EPERM: a sandbox's syscall filter (an open's own refusals are EACCES).
  if (errno !== ENOSYS && errno !== EPERM) throw systemError(errno === EXDEV ? escapeErrno : errno, "open", shown());
  // O_NOATIME on a file not ours is an EPERM of the open's own: the walk meets it again and says so.
  if (errno === EPERM && Number(how[0]!) & (C.O_NOATIME ?? 0)) return -1;
  openat2Works = false;
  return -1;
}

/**
 * The root a chroot-less module's sender opens its directories and files
 * inside: an absolute path is the operator's and opened as it is; a relative
 * one (the daemon works in its module: ".", or the directory a --files-from
 * list's names are relative to) is opened inside the working directory, so
 * it cannot lead out of the module either.
 */
export function openConfinedRoot(root: Uint8Array, shown: () => string): number {
  return root[0] === SLASH ? openDir(root, shown) : openDirInside(AT_FDCWD, root, shown);
}

/** Symlinks one openDirInside may follow (upstream's SECURE_OPEN_MAXSYMLINKS, the kernel's own limit). */
const MAX_SYMLINK_HOPS = 40;

/**
 * Opens directory `rel` (relative) inside the directory `rootFd`, as
 * upstream 3.5.0's receiver resolves names in its destination
 * (syscall.c secure_relative_open): a symlink on the way is followed when
 * its target is relative and stays beneath the root; one that is absolute
 * or climbs above the root fails with ELOOP. Through openat2
 * RESOLVE_BENEATH (which says EXDEV for those) where the kernel has it,
 * else one component at a time (openDirWalkingInside).
 */
export function openDirInside(rootFd: number, rel: Uint8Array, shown: () => string): number {
  return openInside(rootFd, rel, DIR_FLAGS, shown);
}

/**
 * Opens `rel` (relative; a file, or whatever `flags` open) inside the
 * directory `rootFd` as openDirInside opens a directory: every symlink on the
 * way, the last component's too, is followed while its relative target stays
 * beneath the root, and one that is absolute or climbs above it fails with
 * ELOOP (O_NOFOLLOW in `flags` is dropped: the leaf is resolved here). The
 * sending daemon's content open of a file under -L in a chroot-less module
 * (upstream 3.5.0's sender_open_copylinks_confined).
 */
export function openInside(rootFd: number, rel: Uint8Array, flags: number, shown: () => string): number {
  const leafFlags = flags & ~C.O_NOFOLLOW;
  if (rel.length === 0) return openAt(rootFd, DOT, leafFlags, shown);
  const fd = openByOpenat2(rootFd, rel, insideHow(leafFlags), ELOOP, shown);
  return fd >= 0 ? fd : openWalkingInside(rootFd, rel, leafFlags, shown);
}

/** The components of a relative name, last first (the walk pops them). */
function componentsReversed(rel: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let start = 0; start <= rel.length; ) {
    let end = rel.indexOf(SLASH, start);
    if (end < 0) end = rel.length;
    if (end > start) parts.push(rel.subarray(start, end));
    start = end + 1;
  }
  return parts.reverse();
}

/**
 * openDirInside without openat2: a stack of the directories opened so far
 * beneath the root; a symlink's relative target is walked from where it
 * stands (its ".." pops the stack, never past the root). Its target is
 * read through /proc (no /proc: the symlink is refused, as openDirBeneath does).
 */
export function openDirWalkingInside(rootFd: number, rel: Uint8Array, shown: () => string): number {
  return openWalkingInside(rootFd, rel, DIR_FLAGS, shown);
}

/** openInside without openat2: openDirWalkingInside's walk, its last component opened with `leafFlags`. */
export function openWalkingInside(rootFd: number, rel: Uint8Array, leafFlags: number, shown: () => string): number {
  const stack: number[] = [];
  const here = () => (stack.length > 0 ? stack[stack.length - 1]! : rootFd);
  const pending = componentsReversed(rel);
  let hops = MAX_SYMLINK_HOPS;
  try {
    while (pending.length > 0) {
      const part = pending.pop()!;
      if (part.length === 1 && part[0] === 0x2e) continue;
      if (part.length === 2 && part[0] === 0x2e && part[1] === 0x2e) {
        if (stack.length === 0) throw systemError(ELOOP, "open", shown());
        lib().close(stack.pop()!);
        continue;
      }
      // Never through a symlink here: one is resolved below, from where it stands.
      const leaf = pending.length === 0;
      const next = lib().openat(here(), cName(part, nameA), (leaf ? leafFlags : DIR_FLAGS) | C.O_NOFOLLOW | O_CLOEXEC, 0);
      if (next >= 0) {
        if (leaf) return next;
        stack.push(next);
        continue;
      }
      const errno = libc!.errno();
      const target = errno === ENOTDIR || errno === ELOOP ? linkTarget(here(), part) : null;
      if (target === null) throw systemError(errno, "open", shown());
      if (target.length === 0 || target[0] === SLASH || --hops < 0) throw systemError(ELOOP, "open", shown());
      pending.push(...componentsReversed(target));
    }
    // The path ended in "." or "..": the directory it reached.
    return openAt(here(), DOT, leafFlags, shown);
  } finally {
    for (const fd of stack) lib().close(fd);
  }
}

/** The target of symlink `name` in the directory, or null when it is none (or cannot be read); an unreadable link reads as absolute. */
function linkTarget(dirFd: number, name: Uint8Array): Uint8Array | null {
  if ((lstatAt(dirFd, name, () => "")?.mode ?? 0) >> 12 !== 0o12) return null;
  try {
    return fs.readlinkSync(Buffer.concat([Buffer.from(`/proc/self/fd/${dirFd}/`), name]), { encoding: "buffer" });
  } catch {
    return new Uint8Array([SLASH]);
  }
}

/** openDirBeneath without openat2: one component at a time, each opened O_NOFOLLOW; ".." is refused (EXDEV, as openat2 says). */
export function openDirWalkingBeneath(rootFd: number, rel: Uint8Array, shown: () => string): number {
  let fd = rootFd;
  try {
    for (let start = 0; start <= rel.length; ) {
      let end = rel.indexOf(SLASH, start);
      if (end < 0) end = rel.length;
      const part = rel.subarray(start, end);
      start = end + 1;
      if (part.length === 0 || (part.length === 1 && part[0] === 0x2e)) continue;
      if (part.length === 2 && part[0] === 0x2e && part[1] === 0x2e) throw systemError(EXDEV, "open", shown());
      const next = lib().openat(fd, cName(part, nameA), C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW | O_CLOEXEC, 0);
      if (next < 0) {
        // O_DIRECTORY speaks first (ENOTDIR) where a symlink stands: say ELOOP for it, as openat2 does.
        const errno = libc!.errno();
        const link = errno === ENOTDIR && (lstatAt(fd, part, shown)?.mode ?? 0) >> 12 === 0o12;
        throw systemError(link ? ELOOP : errno, "open", shown());
      }
      if (fd !== rootFd) lib().close(fd);
      fd = next;
    }
  } catch (e) {
    if (fd !== rootFd) lib().close(fd);
    throw e;
  }
  return fd === rootFd ? openAt(rootFd, DOT, C.O_RDONLY | C.O_DIRECTORY, shown) : fd;
}

/** Creates `name` in the directory exclusively with exactly `mode` (the umask is 0), for writing. */
export function createAt(dirFd: number, name: Uint8Array, mode: number, shown: () => string): number {
  const fd = lib().openat(dirFd, cName(name, nameA), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) throw fail("open", shown);
  return fd;
}

/** Opens `name` in the directory with `flags` as they are (O_CLOEXEC added). */
export function openAt(dirFd: number, name: Uint8Array, flags: number, shown: () => string): number {
  const fd = lib().openat(dirFd, cName(name, nameA), flags | O_CLOEXEC, 0);
  if (fd < 0) throw fail("open", shown);
  return fd;
}

const linkBuf = new Uint8Array(PATH_MAX);

/** The target of symlink `name` in the directory (readlinkat). */
export function readlinkAt(dirFd: number, name: Uint8Array, shown: () => string): Uint8Array {
  const n = Number(lib().readlinkat(dirFd, cName(name, nameA), linkBuf, linkBuf.length));
  if (n < 0) throw fail("readlink", shown);
  return linkBuf.slice(0, n);
}

/** Opens `name` in the directory for reading (never through a symlink; --open-noatime leaves its access time). */
export function openReadAt(dirFd: number, name: Uint8Array, noatime: boolean, shown: () => string): number {
  const flags = C.O_RDONLY | C.O_NOFOLLOW | O_CLOEXEC | (noatime ? (C.O_NOATIME ?? 0) : 0);
  const fd = lib().openat(dirFd, cName(name, nameA), flags, 0);
  if (fd < 0) throw fail("open", shown);
  return fd;
}

export function renameAt(dirFd: number, from: Uint8Array, to: Uint8Array, shown: () => string): void {
  if (lib().renameat(dirFd, cName(from, nameA), dirFd, cName(to, nameB)) !== 0) throw fail("rename", shown);
}

export function unlinkAt(dirFd: number, name: Uint8Array, shown: () => string): void {
  if (lib().unlinkat(dirFd, cName(name, nameA), 0) !== 0) throw fail("unlink", shown);
}

/** lstat of `name` in the directory; null when there is none (ENOENT: node's lstat with throwIfNoEntry false). */
export function lstatAt(dirFd: number, name: Uint8Array, shown: () => string): EntryStat | null {
  return statxAt(dirFd, name, AT_SYMLINK_NOFOLLOW, "lstat", shown);
}

/** stat (a symlink followed) of `name` in the directory; null when there is none. */
export function statAt(dirFd: number, name: Uint8Array, shown: () => string): EntryStat | null {
  return statxAt(dirFd, name, 0, "stat", shown);
}

function statxAt(dirFd: number, name: Uint8Array, flags: number, syscall: string, shown: () => string): EntryStat | null {
  if (lib().statx(dirFd, cName(name, nameA), flags, STATX_BASIC_STATS, statxBuf) !== 0) {
    const errno = libc!.errno();
    if (errno === ENOENT) return null;
    throw systemError(errno, syscall, shown());
  }
  return decodeStatx();
}

/** fstat of an open file. */
export function fstatFd(fd: number, shown: () => string): EntryStat {
  if (lib().statx(fd, EMPTY_NAME, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, statxBuf) !== 0) throw fail("fstat", shown);
  return decodeStatx();
}

export function fchmodFd(fd: number, mode: number, shown: () => string): void {
  if (lib().fchmod(fd, mode & 0o7777) !== 0) throw fail("chmod", shown);
}

export function fchownFd(fd: number, uid: number, gid: number, shown: () => string): void {
  if (lib().fchown(fd, uid, gid) !== 0) throw fail("chown", shown);
}

/** The mtime to the nanosecond, and the atime (whole seconds) when given. */
export function futimesFd(fd: number, mtime: number, nsec: number, atime: number | undefined, shown: () => string): void {
  putI64(times, 0, atime ?? 0);
  putI64(times, 2, atime === undefined ? UTIME_OMIT : 0);
  putI64(times, 4, mtime);
  putI64(times, 6, nsec);
  if (lib().futimens(fd, times) !== 0) throw fail("utimensat", shown);
}


/** The int64 at byte `at` of the statx record, as a number. */
const i64At = (v: DataView, at: number) => v.getInt32(at + 4, true) * 0x1_0000_0000 + v.getUint32(at, true);

/** Writes all of `chunks` at the file's position (one writev for up to IOV_MAX of them). */
export function writeAllFd(fd: number, chunks: Uint8Array[], shown: () => string): void {
  if (chunks.length === 1) return writeOne(fd, chunks[0]!, shown);
  for (let first = 0; first < chunks.length; ) {
    const count = Math.min(IOV_MAX, chunks.length - first);
    let total = 0;
    for (let i = 0; i < count; i++) {
      const c = chunks[first + i]!;
      iov.set(i, c);
      total += c.length;
    }
    const n = Number(lib().writev(fd, iov.words, count));
    if (n < 0) {
      if (libc!.errno() === EINTR) continue;
      throw fail("write", shown);
    }
    if (n === total) {
      first += count;
      continue;
    }
    // A short write: the rest one chunk at a time.
    let left = n;
    for (let i = first; i < first + count; i++) {
      const c = chunks[i]!;
      if (left >= c.length) left -= c.length;
      else {
        writeOne(fd, c.subarray(left), shown);
        left = 0;
      }
    }
    first += count;
  }
}

function writeOne(fd: number, data: Uint8Array, shown: () => string): void {
  for (let at = 0; at < data.length; ) {
    const n = Number(lib().write(fd, at ? data.subarray(at) : data, data.length - at));
    if (n < 0) {
      if (libc!.errno() === EINTR) continue;
      throw fail("write", shown);
    }
    at += n;
  }
}

export function closeFd(fd: number, shown: () => string): void {
  if (lib().close(fd) !== 0) throw fail("close", shown);
}

/** glibc's dev_t encoding, as node's stat gives st_dev. */
export function makedev(major: number, minor: number): bigint {
  // (The usual small numbers in one conversion.)
  if (major < 0x1000 && minor < 0x100) return BigInt((major << 8) | minor);
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

/**
 * A stat of lstatAt/statAt as entryStatOf splits one (the file list's way:
 * whole seconds rounded down, nanoseconds 0..999999999), without the atime.
 */
export function flooredEntryStat(st: EntryStat): EntryStat {
  const { atime: _, ...entry } = st;
  if (entry.nsec < 0) {
    entry.mtime -= 1;
    entry.nsec += 1_000_000_000;
  }
  return entry;
}

/** The statx record as DestFs's lstat splits a stat (seconds by truncation, as statOf does). */
function decodeStatx(): EntryStat {
  const v = statxView;
  let mtime = i64At(v, 112);
  let nsec = v.getUint32(120, true);
  if (mtime < 0 && nsec > 0) {
    mtime += 1;
    nsec -= 1_000_000_000;
  }
  let atime = i64At(v, 64);
  if (atime < 0 && v.getUint32(72, true) > 0) atime += 1;
  return {
    mode: v.getUint16(28, true),
    size: i64At(v, 40),
    mtime,
    nsec,
    uid: v.getUint32(20, true),
    gid: v.getUint32(24, true),
    dev: makedev(v.getUint32(136, true), v.getUint32(140, true)),
    ino: v.getBigUint64(32, true),
    nlink: v.getUint32(16, true),
    rdevMajor: v.getUint32(128, true),
    rdevMinor: v.getUint32(132, true),
    atime,
  };
}
