/**
 * --fake-super (and a daemon module's "fake super"): what only root could
 * apply (ownership, setuid/setgid/sticky bits, devices, specials, and on
 * Linux symlinks, which cannot carry user.* attributes) is kept in the
 * "user.rsync.%stat" attribute as "MODE MAJOR,MINOR UID:GID" (mode in
 * octal) instead (xattrs.c set_stat_xattr), and read back in place of what
 * the file system says (get_stat_xattr, x_lstat). The entries themselves
 * are ordinary files and directories with owner access: a device or special
 * an empty file, a symlink a file holding its target (syscall.c do_mknod,
 * do_symlink, do_readlink).
 */
import * as fs from "node:fs";
import { RERR, RsyncError } from "../errors.ts";
import type { EntryStat } from "../native/api.ts";
import type { DestFs, DestStat } from "./dest-fs.ts";
import { getXattr, removeXattr, setXattr } from "./xattr.ts";

export const XSTAT_ATTR = "user.rsync.%stat";

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const asBuffer = (p: Uint8Array) => Buffer.from(p.buffer, p.byteOffset, p.byteLength);
const typeOf = (mode: number) => mode & S_IFMT;
const isDevice = (mode: number) => typeOf(mode) === 0o020000 || typeOf(mode) === 0o060000;
const isSpecial = (mode: number) => typeOf(mode) === 0o010000 || typeOf(mode) === 0o140000;
/** Upstream's _S_IFMT | CHMOD_BITS. */
const MODE_BITS = S_IFMT | 0o7777;

/** What the attribute holds. */
export interface FakeStat {
  mode: number;
  rdevMajor: number;
  rdevMinor: number;
  uid: number;
  gid: number;
}

/**
 * get_stat_xattr: the stored attributes of `path`, or null when it has none
 * (or is a real device or special, which keeps its own). A value that does
 * not parse ends the run, as upstream's does.
 */
export function readStatXattr(path: Uint8Array, real: { mode: number }): FakeStat | null {
  if (isDevice(real.mode) || isSpecial(real.mode)) return null;
  let raw: Uint8Array | null;
  try {
    raw = getXattr(path, XSTAT_ATTR);
  } catch {
    return null;
  }
  if (raw === null) return null;
  const text = Buffer.from(raw).toString("latin1");
  const m = /^\s*([0-7]+) +(-?\d+),(-?\d+) +(-?\d+):(-?\d+)/.exec(text);
  if (!m) {
    throw new RsyncError(RERR.FILEIO, `Corrupt ${XSTAT_ATTR} xattr attached to "${Buffer.from(path).toString("latin1")}": "${text}"`);
  }
  return { mode: parseInt(m[1]!, 8), rdevMajor: Number(m[2]) >>> 0, rdevMinor: Number(m[3]) >>> 0, uid: Number(m[4]) >>> 0, gid: Number(m[5]) >>> 0 };
}

/** x_lstat: `st` with the stored attributes in place of the real ones. */
export function foldStat<T extends EntryStat>(path: Uint8Array, st: T): T {
  const fake = readStatXattr(path, st);
  if (!fake) return st;
  return { ...st, mode: fake.mode, rdevMajor: fake.rdevMajor, rdevMinor: fake.rdevMinor, uid: fake.uid, gid: fake.gid };
}

/**
 * set_stat_xattr: gives `path` owner access and the wanted permission bits
 * for real, and stores the rest; when the real file says it all, the
 * attribute goes.
 */
export function setStatXattr(path: Uint8Array, want: FakeStat): void {
  const real = fs.lstatSync(asBuffer(path));
  const realMode = Number(real.mode) & MODE_BITS;
  const stored = readStatXattr(path, { mode: realMode });
  const fmode = want.mode & MODE_BITS;
  const device = isDevice(fmode);
  const rdevMajor = device ? want.rdevMajor : 0;
  const rdevMinor = device ? want.rdevMinor : 0;
  const isDirNow = typeOf(realMode) === S_IFDIR;
  const mode = typeOf(realMode) | (fmode & 0o777) | (isDirNow ? 0o700 : 0o600);
  if (realMode !== mode) fs.chmodSync(asBuffer(path), mode & 0o7777);
  if (mode === fmode && !device && real.uid === want.uid && real.gid === want.gid) {
    if (stored) removeXattr(path, XSTAT_ATTR);
    return;
  }
  const same =
    stored &&
    stored.mode === fmode &&
    stored.rdevMajor === rdevMajor &&
    stored.rdevMinor === rdevMinor &&
    stored.uid === want.uid &&
    stored.gid === want.gid;
  if (same) return;
  const text = `${fmode.toString(8)} ${rdevMajor},${rdevMinor} ${want.uid}:${want.gid}`;
  setXattr(path, XSTAT_ATTR, new Uint8Array(Buffer.from(text, "latin1")));
}

/** A placeholder file (O_NOFOLLOW: never through a symlink planted at the name), owner read/write only. */
function writePlaceholder(path: Buffer, data: Uint8Array): void {
  const fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o600);
  try {
    if (data.length) fs.writeSync(fd, data);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The destination as a --fake-super receiver sees it: stats carry the
 * stored attributes, symlinks, devices and specials are made as files, and
 * nothing is chowned (set_stat_xattr records ownership instead).
 */
export function fakeSuperDest(dest: DestFs): DestFs {
  const faked = Object.create(dest) as DestFs;
  const lstat = (rel: Uint8Array): DestStat | null => {
    const st = dest.lstat(rel);
    return st && foldStat(dest.abs(rel), st);
  };
  faked.lstat = lstat;
  faked.stat = (rel) => {
    const st = dest.stat(rel);
    return st && foldStat(dest.abs(rel), st);
  };
  faked.readLink = (rel) => {
    const real = dest.lstat(rel);
    // A real symlink is to be replaced by a fake one: it reads as empty, so it differs (do_readlink).
    if (!real || typeOf(real.mode) === S_IFLNK) return new Uint8Array(0);
    return new Uint8Array(fs.readFileSync(dest.abs(rel)));
  };
  faked.symlink = (target, rel) => writePlaceholder(dest.abs(rel), target);
  faked.mknod = (rel) => writePlaceholder(dest.abs(rel), new Uint8Array(0));
  faked.lchown = () => {};
  return faked;
}

/** The sending walk over a tree a --fake-super receiver made: stats and link targets as stored. */
export function fakeSuperWalk<W extends { lstat(p: Uint8Array): EntryStat; stat(p: Uint8Array): EntryStat; readlink(p: Uint8Array): Uint8Array }>(walk: W): W {
  const faked = Object.create(walk) as W;
  faked.lstat = (p) => foldStat(p, walk.lstat(p));
  faked.stat = (p) => foldStat(p, walk.stat(p));
  faked.readlink = (p) => {
    const real = walk.lstat(p);
    if (typeOf(real.mode) === S_IFREG) return new Uint8Array(fs.readFileSync(asBuffer(p)));
    return walk.readlink(p);
  };
  return faked;
}
