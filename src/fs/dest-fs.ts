/**
 * Filesystem operations on the destination tree, by path, synchronous
 * (node:fs plus libc for nanosecond times and mknod). Paths are raw bytes:
 * file names need not be UTF-8. Every path handed in is relative to the
 * destination root and already validated (flist/wire-name.ts); this module
 * joins it to the root and never interprets it otherwise. Directories the
 * operator names outside the tree come in through `route`.
 *
 * This is the plain implementation; the batched native FileSink builds on
 * the same operations.
 */
import * as fs from "node:fs";
import path from "node:path";
import { constants } from "node:os";
import { mknod, setTimes } from "./libc.ts";
import type { EntryStat } from "../native/api.ts";
import { systemError } from "./errors.ts";
import { closeFd, fdOpsAvailable, lstatAt, openDir, openDirInside, openReadAt } from "./fd-ops.ts";

/** A destination entry's stat, split as the walker's (its mtime is split by truncation: see statOf). */
export type DestStat = EntryStat;

/** Upstream's temp-name suffix ".XXXXXX" and NAME_MAX. */
const TMP_SUFFIX_LEN = 7;
const NAME_MAX = 255;
const TMP_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/** Directory descriptors kept open at once (entries come directory by directory). */
const DIR_FDS = 32;
/** Directory descriptors kept for the whole-path calls of a confined destination (see DestFs.at). */
const PATH_DIR_FDS = 8;
/** Whether a descriptor's directory can be named by a path (/proc mounted: not so inside a chroot). */
const procFds = fs.existsSync("/proc/self/fd");

const closeAtOnce = (fd: number) => closeFd(fd, () => "");
const ELOOP = 40;
const NO_NAME = new Uint8Array(0);

/** Whether a relative name has a ".." component. */
function climbs(rel: Uint8Array): boolean {
  for (let i = 0; i + 1 < rel.length; i++) {
    if (rel[i] === 0x2e && rel[i + 1] === 0x2e && (i === 0 || rel[i - 1] === 0x2f) && (i + 2 === rel.length || rel[i + 2] === 0x2f)) return true;
  }
  return false;
}

/** Names opened by path even in a confined destination: climbing out of the root (a basis directory beside it), or absolute (the top of a local -R copy). */
const byPathOnly = (rel: Uint8Array) => rel[0] === 0x2f || climbs(rel);

export class DestFs {
  readonly root: Buffer;
  /** --open-noatime: reading a basis or checksumming leaves the file's access time alone. */
  openNoatime = false;

  /**
   * Whether names may be reached through an open directory (fs/fd-ops.ts)
   * instead of whole paths: off where that is unavailable, and where
   * entries are changed behind this object's back (see forgetDirs).
   */
  fdOps = fdOpsAvailable;
  /** Open directory descriptors by the caller's key for the directory (the file table's name id). */
  private readonly dirFds = new Map<number, number>();
  /**
   * How a descriptor let go of is closed: at once, or (the receiver's
   * PutQueue) after the queued writes that still use it.
   */
  closeDir: (fd: number) => void = closeAtOnce;
  /**
   * Names are resolved inside the root: the directories files are made in
   * (dirFd), and those of the whole-path calls (see `at`), are opened
   * beneath it, following a symlink on the way only where its target is
   * relative and stays inside (fd-ops openDirInside). So neither a
   * destination symlink (--keep-dirlinks) nor one swapped in for a
   * directory during the transfer leads the receiver's writes out of the
   * tree: upstream 3.5.0 confines its receiver alike ('failed to stat ...',
   * 'mkstemp ... failed: Too many levels of symbolic links'), unless
   * --insecure-links (see receive-session.ts).
   */
  confined = false;
  /** The root, opened once for the confined opens. */
  private rootFd = -1;
  /** The root's real location (no symlinks on it), once it exists: where `route` starts from. */
  private realRoot: string | null = null;

  constructor(root: string) {
    this.root = Buffer.from(root.endsWith("/") || root === "" ? root : `${root}/`);
  }

  /** The descriptor of directory `dir` (relative), opened once and kept under `key` until forgetDirs. */
  dirFd(key: number, dir: Uint8Array): number {
    const open = this.dirFds.get(key);
    if (open !== undefined) return open;
    if (this.dirFds.size >= DIR_FDS) {
      const [oldest, fd] = this.dirFds.entries().next().value!;
      this.dirFds.delete(oldest);
      this.closeDir(fd);
    }
    const fd = this.confined ? this.openBeneath(dir) : openDir(this.abs(dir), () => this.shown(dir));
    this.dirFds.set(key, fd);
    return fd;
  }

  /**
   * Directory `dir` (relative) opened inside the root (see `confined`). A
   * name climbing out of the root (a basis directory beside the
   * destination, which a module's option checks keep inside the module),
   * or an absolute one (the top of a local -R copy), is opened by its path,
   * as unconfined.
   */
  private openBeneath(dir: Uint8Array): number {
    if (byPathOnly(dir)) return openDir(this.abs(dir), () => this.shown(dir));
    if (this.rootFd < 0) this.rootFd = openDir(this.abs(NO_NAME), () => this.shown(NO_NAME));
    return openDirInside(this.rootFd, dir, () => this.shown(dir));
  }

  /**
   * Closes the directory descriptors: a directory removed or renamed (or at
   * the end) must not be written into through an old descriptor.
   */
  forgetDirs(): void {
    for (const fd of this.dirFds.values()) this.closeDir(fd);
    this.dirFds.clear();
    for (const fd of this.pathDirs.values()) closeAtOnce(fd);
    this.pathDirs.clear();
  }

  /** forgetDirs at the end of a run, when nothing is queued behind us any more: every descriptor is closed now. */
  closeDirs(): void {
    this.closeDir = closeAtOnce;
    this.forgetDirs();
    if (this.rootFd >= 0) closeAtOnce(this.rootFd);
    this.rootFd = -1;
  }

  /** Throws what opening directory `dir` (known by `key`, see dirFd) meets, unless it is not there. */
  checkDir(key: number, dir: Uint8Array): void {
    try {
      this.dirFd(key, dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }

  /** lstat of `base` in the directory `dir` (known by `key`, see dirFd): no path walk from the root. */
  lstatIn(key: number, dir: Uint8Array, base: Uint8Array): DestStat | null {
    let fd: number;
    try {
      fd = this.dirFd(key, dir);
    } catch (e) {
      // No such directory: nothing is there, as lstat of the whole path says.
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
    return lstatAt(fd, base, () => this.shown(dir.length ? Buffer.concat([dir, SLASH, base]) : base));
  }

  /**
   * The path DestFs's own calls use for `rel`: its whole path, or in a
   * confined destination its base name in its directory opened beneath the
   * root (through /proc/self/fd), so no symlink swapped in for a directory
   * on the way is followed by a mkdir, symlink, unlink, chmod, ... (the
   * descriptor is only used by the call at hand: the cache may close it at
   * the next miss). A directory that is not there (or not searchable) gives
   * the whole path, whose call meets the same error; one that is a symlink
   * throws ELOOP.
   */
  private at(rel: Uint8Array): Buffer {
    if (!this.confined || !procFds || rel.length === 0 || (rel.length === 1 && rel[0] === 0x2e) || byPathOnly(rel)) return this.abs(rel);
    const slash = rel.lastIndexOf(0x2f);
    const fd = this.pathDirFd(slash < 0 ? NO_NAME : rel.subarray(0, slash));
    if (fd < 0) return this.abs(rel);
    return Buffer.concat([Buffer.from(`/proc/self/fd/${fd}/`), rel.subarray(slash + 1)]);
  }

  /**
   * `at` for a call that follows a symlink at the name itself (utimes,
   * readdir): in a confined destination such a symlink (one
   * --keep-dirlinks kept for a directory) must lead to a directory inside
   * the root, or the call fails with ELOOP.
   */
  private followedAt(rel: Uint8Array, syscall: string): Buffer {
    const path = this.at(rel);
    if (this.confinedSymlink(rel, path)) {
      try {
        closeAtOnce(this.openBeneath(rel));
      } catch (e) {
        // A symlink to a file, or to nothing: the call meets that itself.
        if ((e as NodeJS.ErrnoException).code === "ELOOP") throw systemError(ELOOP, syscall, this.shown(rel));
      }
    }
    return path;
  }

  /** Whether, in a confined destination, `rel` (at `path`, from `at`) is itself a symlink. */
  private confinedSymlink(rel: Uint8Array, path: Buffer): boolean {
    return this.confined && !byPathOnly(rel) && fs.lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() === true;
  }

  /** Directories opened beneath the root for `at`, by their relative names (a few: entries come directory by directory). */
  private readonly pathDirs = new Map<string, number>();

  private pathDirFd(dir: Uint8Array): number {
    const key = Buffer.from(dir).toString("latin1");
    const open = this.pathDirs.get(key);
    if (open !== undefined) {
      // Used last, closed last: a call naming two paths (link, rename) never has its first one's closed by its second.
      this.pathDirs.delete(key);
      this.pathDirs.set(key, open);
      return open;
    }
    let fd: number;
    try {
      fd = this.openBeneath(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ELOOP" || code === "EXDEV") throw e;
      return -1;
    }
    if (this.pathDirs.size >= PATH_DIR_FDS) {
      const [oldest, old] = this.pathDirs.entries().next().value!;
      this.pathDirs.delete(oldest);
      closeAtOnce(old);
    }
    this.pathDirs.set(key, fd);
    return fd;
  }

  /** A relative name as error messages show it (the whole path). */
  shown(rel: Uint8Array): string {
    return Buffer.from(this.abs(rel)).toString("latin1");
  }

  /** The path of a relative name (empty = the root itself). */
  abs(rel: Uint8Array): Buffer {
    if (rel.length === 0 || (rel.length === 1 && rel[0] === 0x2e)) return this.root.length ? this.root : Buffer.from(".");
    return Buffer.concat([this.root, rel]);
  }

  lstat(rel: Uint8Array): DestStat | null {
    return statOf(fs.lstatSync(this.at(rel), { bigint: true, throwIfNoEntry: false }));
  }

  /** stat following symlinks (for --keep-dirlinks and the root). */
  stat(rel: Uint8Array): DestStat | null {
    try {
      return statOf(fs.statSync(this.at(rel), { bigint: true, throwIfNoEntry: false }));
    } catch {
      return null;
    }
  }

  readLink(rel: Uint8Array): Uint8Array {
    return fs.readlinkSync(this.at(rel), { encoding: "buffer" });
  }

  mkdir(rel: Uint8Array, mode: number): void {
    fs.mkdirSync(this.at(rel), { mode });
  }

  /** Creates the destination root and its missing parents (upstream does this only for the last component, or with --mkpath). */
  mkdirRoot(mode: number): void {
    fs.mkdirSync(this.root, { mode });
  }

  /** A hard link `rel` to the existing `existingRel`. */
  link(existingRel: Uint8Array, rel: Uint8Array): void {
    fs.linkSync(this.at(existingRel), this.at(rel));
  }

  symlink(target: Uint8Array, rel: Uint8Array): void {
    // An empty target (which some systems' senders can list) fails as the kernel fails it: node refuses to try.
    if (target.length === 0) throw systemError(constants.errno.ENOENT, "symlink", Buffer.from(rel).toString("latin1"));
    fs.symlinkSync(Buffer.from(target), this.at(rel));
  }

  mknod(rel: Uint8Array, mode: number, major: number, minor: number): void {
    mknod(this.at(rel), mode, major, minor);
  }

  unlink(rel: Uint8Array): void {
    fs.unlinkSync(this.at(rel));
  }

  rmdir(rel: Uint8Array): void {
    this.forgetDirs();
    fs.rmdirSync(this.at(rel));
  }

  /** Removes whatever is at `rel`, recursively for directories. */
  removeAll(rel: Uint8Array): void {
    this.forgetDirs();
    fs.rmSync(this.at(rel), { recursive: true, force: true });
  }

  rename(fromRel: Uint8Array, toRel: Uint8Array): void {
    this.forgetDirs();
    fs.renameSync(this.at(fromRel), this.at(toRel));
  }

  /**
   * rename, or across filesystems (util1.c robust_rename's EXDEV case, a
   * --temp-dir elsewhere) a copy, made at `viaRel` when given (a relative
   * --partial-dir, created if missing, from where the caller renames it
   * into place) else at `toRel`: whatever is there is unlinked, never
   * written through (another hard link or a symlink stays as it was), and
   * the original goes. Returns where the copy is, null when renamed: a copy
   * has none of the original's attributes but its mode.
   */
  move(fromRel: Uint8Array, toRel: Uint8Array, viaRel?: Uint8Array | null): Uint8Array | null {
    try {
      this.rename(fromRel, toRel);
      return null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e;
    }
    const copy = viaRel ?? toRel;
    if (viaRel) this.mkdirParentOf(viaRel, 0o700);
    try {
      this.unlink(copy);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    fs.copyFileSync(this.at(fromRel), this.at(copy), fs.constants.COPYFILE_EXCL);
    this.unlink(fromRel);
    return copy;
  }

  /**
   * A directory the operator named (an absolute --temp-dir or --partial-dir)
   * as a name relative to the root, for the methods here: the way there from
   * the root's real location, so that ".." climbs what it appears to even
   * when the root was reached through a symlink. Names from the wire never
   * go through here.
   */
  route(dir: string): Uint8Array {
    if (!path.isAbsolute(dir)) return Buffer.from(dir);
    if (this.realRoot === null) {
      try {
        this.realRoot = fs.realpathSync(this.root.length ? this.root : Buffer.from(".")).toString();
      } catch {
        // No root yet (a dry run into a new directory): its path as given, made absolute.
        return Buffer.from(path.relative(path.resolve(this.root.toString()), dir) || ".");
      }
    }
    return Buffer.from(path.relative(this.realRoot, dir) || ".");
  }

  /** chmod; in a confined destination never through a symlink at the name itself (ELOOP, as upstream 3.5.0's). */
  chmod(rel: Uint8Array, mode: number): void {
    const path = this.at(rel);
    if (this.confinedSymlink(rel, path)) throw systemError(ELOOP, "chmod", this.shown(rel));
    fs.chmodSync(path, mode & 0o7777);
  }

  lchown(rel: Uint8Array, uid: number, gid: number): void {
    fs.lchownSync(this.at(rel), uid, gid);
  }

  /** Sets the mtime, and the atime (whole seconds) when given (-U). */
  setTimes(rel: Uint8Array, mtime: number, nsec: number, isLink: boolean, atime?: number): void {
    setTimes(isLink ? this.at(rel) : this.followedAt(rel, "utimensat"), mtime, nsec, isLink, atime);
  }

  /** Names in a directory (raw bytes), without "." and "..". */
  listDir(rel: Uint8Array): Buffer[] {
    return fs.readdirSync(this.followedAt(rel, "scandir"), { encoding: "buffer" });
  }

  /** Creates a new file exclusively, with exactly `mode` (the process umask is 0, see main). */
  createExclusive(rel: Uint8Array, mode: number): number {
    return fs.openSync(this.at(rel), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode);
  }

  /** --inplace: the destination itself, created (with `mode`) when missing. */
  openOrCreateForUpdate(rel: Uint8Array, mode: number): number {
    return fs.openSync(this.at(rel), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, mode);
  }

  /** Creates the directory that will hold `rel` when it is missing (one level, e.g. a --partial-dir). */
  mkdirParentOf(rel: Uint8Array, mode: number): void {
    const slash = rel.lastIndexOf(0x2f);
    if (slash <= 0) return;
    try {
      fs.mkdirSync(this.at(rel.subarray(0, slash)), { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }

  /** openRead of `base` in the directory `dir` (known by `key`, see dirFd). */
  openReadIn(key: number, dir: Uint8Array, base: Uint8Array): number {
    return openReadAt(this.dirFd(key, dir), base, this.openNoatime, () => this.shown(dir.length ? Buffer.concat([dir, SLASH, base]) : base));
  }

  openRead(rel: Uint8Array): number {
    const noatime = this.openNoatime ? (fs.constants.O_NOATIME ?? 0) : 0;
    return fs.openSync(this.at(rel), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | noatime);
  }
}

const SLASH = Buffer.from("/");

function statOf(st: fs.BigIntStats | undefined): DestStat | null {
  if (!st) return null;
  return {
    mode: Number(st.mode),
    size: Number(st.size),
    mtime: Number(st.mtimeNs / 1_000_000_000n),
    nsec: Number(st.mtimeNs % 1_000_000_000n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    dev: st.dev,
    ino: st.ino,
    nlink: Number(st.nlink),
    // glibc's dev_t encoding (major/minor split across the 64 bits).
    rdevMajor: Number(((st.rdev >> 8n) & 0xfffn) | ((st.rdev >> 32n) & 0xfffff000n)),
    rdevMinor: Number((st.rdev & 0xffn) | ((st.rdev >> 12n) & 0xffffff00n)),
    atime: Number(st.atimeNs / 1_000_000_000n),
  };
}

/**
 * A temp file name next to `rel` as upstream makes them (receiver.c
 * get_tmpname): ".<name>.XXXXXX" in the same directory, the name's own
 * leading dot dropped and the name shortened so the result fits in NAME_MAX.
 */
export function tempNameFor(rel: Uint8Array): Uint8Array {
  const slash = rel.lastIndexOf(0x2f);
  const base = tempBaseFor(rel.subarray(slash + 1));
  if (slash < 0) return base;
  const out = new Uint8Array(slash + 1 + base.length);
  out.set(rel.subarray(0, slash + 1));
  out.set(base, slash + 1);
  return out;
}

/**
 * A temp file name in the --temp-dir `dirRel` for `rel` (get_tmpname with a
 * tmpdir): "<name>.XXXXXX", the name as it is, no dot put in front.
 */
export function tempNameIn(dirRel: Uint8Array, rel: Uint8Array): Uint8Array {
  return Buffer.concat([dirRel, Buffer.from("/"), tempBaseFor(rel.subarray(rel.lastIndexOf(0x2f) + 1), false)]);
}

/** The temp file's own name for a base name (see tempNameFor; `dotted` false: tempNameIn's). */
export function tempBaseFor(name: Uint8Array, dotted = true): Uint8Array {
  let base = name;
  if (dotted && base[0] === 0x2e) base = base.subarray(1);
  const maxName = NAME_MAX - 1 - TMP_SUFFIX_LEN - 1;
  if (base.length > maxName) base = base.subarray(0, maxName);
  const lead = dotted ? 1 : 0;
  const out = new Uint8Array(lead + base.length + TMP_SUFFIX_LEN);
  if (dotted) out[0] = 0x2e;
  out.set(base, lead);
  let at = lead + base.length;
  out[at++] = 0x2e;
  for (let i = 0; i < 6; i++) out[at++] = TMP_CHARS.charCodeAt(Math.floor(Math.random() * TMP_CHARS.length));
  return out;
}
