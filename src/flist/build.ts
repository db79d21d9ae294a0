/**
 * Builds the sending side's file lists from local paths (flist.c
 * send_file_list, send_directory, send_implied_dirs, send1extra,
 * send_extra_file_list, make_file, flist_sort_and_clean as the sender runs it).
 *
 * Entries go into a FileLists table (the same structure the receiving side
 * fills, so a sender role finds the lists, dirList and indexes where it
 * expects them), one row per entry in TRANSMISSION order: each row is handed
 * to `emit` the moment it is made, exactly when upstream sends it, and a list
 * is sorted only once complete. The wire bytes depend on that order (names
 * are delta-encoded, hard links name their leader by transmission index), and
 * upstream's order is the order readdir returns names in, so the walker reads
 * directories unsorted.
 *
 * Argument semantics (as the sending side receives them, e.g. from a daemon
 * after the module name is stripped):
 *  - "dir" sends the directory as "dir" (and with -r its contents as
 *    "dir/..."); "dir/", "dir/." and "." send it as "." with the contents
 *    named relative to it; "a/b/c" sends "c", relative to "a/b".
 *  - -R (relative) keeps the whole path; "a/./b/c" sends "b/c" relative to
 *    "a". Parent directories go first as implied dirs (always from protocol
 *    30, else unless --no-implied-dirs); a leading "./" sends "." as an
 *    implied dir too.
 *  - -r recurses; -d alone sends directories without their contents (a
 *    dot-dir argument still lists its immediate contents); without either a
 *    directory argument is skipped.
 *  - Incremental recursion: the first list holds the arguments (and a
 *    dot-dir's immediate contents); every directory's contents become one
 *    sub-list, sent depth first in sorted order (`nextSubList`); directories
 *    with the same name share one list; with -R an argument's deeper path
 *    components travel in the lists of their parents.
 *
 * Sender-side link handling: -l sends symlinks with their targets (without
 * it they are sent as symlinks without targets, as upstream does); -L
 * (copyLinks) follows every symlink; --copy-unsafe-links follows those
 * pointing outside the tree; --copy-dirlinks (-k) follows those to
 * directories; --safe-links is the receiver's business. -x stops at mount
 * points (the directory is sent, its contents not), -xx leaves them out.
 * -H gives hard-link candidates (non-directories with more than one link;
 * every regular file before protocol 28) a `d<dev>:<ino>` key; the encoder
 * makes the first one sent the group's leader.
 *
 * Not here yet: filters (the `include` hook is where they plug in),
 * --files-from, --delete-missing-args, --chmod, ACLs/xattrs (--iconv's
 * check is the `unconvertible` hook; the encoder converts), sanitizing paths of a chroot-less daemon, the confined (openat beneath)
 * directory scan upstream does for daemons.
 */
import { RERR, RsyncError } from "../errors.ts";
import { errText, systemError } from "../fs/errors.ts";
import { accessSync, constants as fsConstants, lstatSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { entryStatOf, type EntryStat } from "../native/api.ts";
import { IOERR_GENERAL, IOERR_VANISHED, MAXPATHLEN } from "./decode.ts";
import { SF } from "./encode.ts";
import { FileLists, type FileList } from "./lists.ts";
import { compareNames } from "./sort.ts";
import { F, type FileTable, isDevice, isDir, isLink, isReg, isSpecial } from "./table.ts";
import { symlinkOnPath } from "../fs/path-symlink.ts";
import { resolve as resolvePath } from "node:path";

const SLASH = 0x2f;
const DOT = 0x2e;

/** What the walker needs to know of a file (a stat, already split up): the native scan's EntryStat. */
export type FileStat = EntryStat;

/** A missing argument under --delete-missing-args: everything zero (flist.c sends it with mode 0). */
const MISSING_STAT: FileStat = { mode: 0, size: 0, mtime: 0, nsec: 0, uid: 0, gid: 0, dev: 0n, ino: 0n, nlink: 0, rdevMajor: 0, rdevMinor: 0 };

/**
 * The file system as the walker sees it. Paths are raw bytes. Errors are
 * thrown as node's are (with `code`, e.g. "ENOENT", and `errno`). A parallel
 * native walker can replace it: `readDir` may stat the whole directory at
 * once and serve the `lstat`s of its entries from that batch.
 */
export interface WalkFs {
  lstat(path: Uint8Array): FileStat;
  stat(path: Uint8Array): FileStat;
  readlink(path: Uint8Array): Uint8Array;
  /** A directory's names in the order the system returns them, without "." and "..". */
  readDir(path: Uint8Array): Uint8Array[];
  /**
   * A chroot-less daemon module's walk (scanningWalkFs with its root): opens
   * directory `path` inside the module, as readDir would, and closes it;
   * throws what that met (ELOOP for a symlink leading out of the module).
   */
  openInside?(path: Uint8Array): void;
}

const asBuffer = (p: Uint8Array) => Buffer.from(p.buffer, p.byteOffset, p.byteLength);

/** The walker over node:fs (synchronous calls, byte paths, unsorted readdir). */
export const nodeWalkFs: WalkFs = {
  lstat: (path) => entryStatOf(lstatSync(asBuffer(path), { bigint: true })),
  stat: (path) => entryStatOf(statSync(asBuffer(path), { bigint: true })),
  readlink: (path) => new Uint8Array(readlinkSync(asBuffer(path), { encoding: "buffer" })),
  readDir: (path) => readdirSync(asBuffer(path), { encoding: "buffer" }).map((b) => new Uint8Array(b)),
};

export interface BuildOptions {
  protocol: number;
  /** -r */
  recursive: boolean;
  /** Upstream's xfer_dirs: -d, implied by -r (and by --list-only). */
  dirs: boolean;
  /** -R */
  relative: boolean;
  /** Upstream's implied_dirs (off with --no-implied-dirs); only -R uses it, and from protocol 30 it is always on. */
  impliedDirs: boolean;
  /** CF_INC_RECURSE in effect. */
  incRecurse: boolean;
  /** -l */
  preserveLinks: boolean;
  /** -L */
  copyLinks: boolean;
  copyUnsafeLinks: boolean;
  /** -k */
  copyDirlinks: boolean;
  /** A daemon's "munge symlinks": targets lose the "/rsyncd-munged/" prefix on the way out. */
  mungeSymlinks?: boolean;
  /**
   * A chroot-less daemon module (its name): the client's paths reach their
   * directory only through symlinks that stay inside the module, as
   * upstream's secure_relative_open resolves them, so nothing outside the
   * module is read.
   */
  confinedModule?: string;
  /** A daemon module's "ignore nonreadable". */
  ignoreNonreadable?: boolean;
  /** --chmod (and a daemon's outgoing chmod): the mode each entry is listed with (not a symlink's). */
  tweakMode?: (mode: number) => number;
  /** -x once (1) or twice (2). */
  oneFileSystem: number;
  /** -H */
  preserveHardLinks: boolean;
  /** --ignore-missing-args: a missing argument is no error. */
  ignoreMissingArgs?: boolean;
  /** --delete-missing-args: a missing argument is listed as a mode-0 entry (the receiver deletes its counterpart). */
  deleteMissingArgs?: boolean;
  /** --checksum: the file's sum, computed when its entry is made (upstream file_checksum). */
  checksum?: (path: Uint8Array, st: FileStat) => Uint8Array;
  /** --copy-devices: the entry a device is listed as (a regular file of the device's length; flist.c make_file). */
  deviceAsFile?: (path: Uint8Array, st: FileStat) => FileStat;
  /** -U: a non-directory's access time (seconds), read when its entry is made, before anything reads the file. */
  atime?: (path: Uint8Array, st: FileStat) => number;
  /**
   * Filters (not yet implemented): false leaves the entry out. `name` is the
   * entry's name in the list; implied directories are not asked.
   */
  include?: (name: Uint8Array, isDir: boolean, fsPath: Uint8Array) => boolean;
  /** A directory is about to be read (per-directory merge files are read then). */
  enterDir?: (fsPath: Uint8Array) => void;
  /** We work in directory `path` now (util1.c change_dir, for --debug=CHDIR). */
  changedDir?: (path: Uint8Array) => void;
  /** Done with a directory and (not incremental) its subdirectories: send_if_directory's pop_local_filters. */
  leaveDir?: (fsPath: Uint8Array) => void;
  /** A daemon module's rules exclude this argument: it is reported as missing. */
  hidden?: (name: Uint8Array, isDir: boolean, fsPath: Uint8Array) => boolean;
  /** Messages for the user, worded as upstream's sender words them. */
  onMessage?: (kind: "error" | "warning" | "info", text: string) => void;
  /**
   * --iconv: why an entry's name (or, `link` given, its symlink target) cannot
   * go on the wire, or null when it can; such an entry is left out with an
   * error, as send_file_name does.
   */
  unconvertible?: (name: Uint8Array, link: Uint8Array | undefined) => { what: "filename" | "symlink"; error: string } | null;
  /** How a name is shown in messages (upstream full_fname); default: the path, quoted. */
  fullName?: (dir: Uint8Array, name: Uint8Array) => string;
  /** --debug=flist level: at 2 each entry made is said ("[sender] make_file(NAME,*,FILTER_LEVEL)"). */
  flistDebug?: number;
  /** --info=symsafe (-v): each symlink --copy-unsafe-links sends as its referent is said. */
  sayUnsafeCopies?: boolean;
}

const enum NameType {
  Normal,
  SlashEnding,
  DotDir,
  /** A missing argument under --delete-missing-args, waiting for its implied directory (MISSING_NAME). */
  Missing,
}

const enum Filters {
  /** Top-level arguments: no filters, no -x/-d checks (NO_FILTERS). */
  None,
  /** Implied directories: the checks, but not the user's filters. */
  Implied,
  All,
}

interface RelName {
  name: Uint8Array;
  type: NameType;
}

/** Called with each entry the moment it is made, in transmission order. */
export type Emit = (row: number, list: FileList) => void;

const concat = (...parts: Uint8Array[]) => {
  let length = 0;
  for (let i = 0; i < parts.length; i++) length += parts[i]!.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    out.set(parts[i]!, at);
    at += parts[i]!.length;
  }
  return out;
};
const bytesEqual = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;
const ascii = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
const DOT_NAME = ascii(".");
const SLASH_NAME = ascii("/");
export const MUNGE_PREFIX = ascii("/rsyncd-munged/");

const CFN_KEEP_TRAILING_SLASH = 1;
const CFN_DROP_TRAILING_DOT_DIR = 2;

/**
 * util1.c clean_fname without the ".." handling: collapses repeated "/",
 * drops interior "./" components and (unless kept) a trailing "/"; an empty
 * result becomes ".".
 */
export function cleanFname(name: Uint8Array, flags = 0): Uint8Array {
  if (isClean(name, flags)) return name;
  const out: number[] = [];
  let f = 0;
  const anchored = name[0] === SLASH;
  if (anchored) {
    out.push(SLASH);
    f = 1;
  }
  while (f < name.length) {
    if (name[f] === SLASH) {
      f++;
      continue;
    }
    if (name[f] === DOT) {
      if (name[f + 1] === SLASH) {
        f += 2;
        continue;
      }
      if (f + 1 === name.length && flags & CFN_DROP_TRAILING_DOT_DIR) break;
    }
    while (f < name.length) {
      const c = name[f++]!;
      out.push(c);
      if (c === SLASH) break;
    }
  }
  if (out.length > (anchored ? 1 : 0) && out[out.length - 1] === SLASH && !(flags & CFN_KEEP_TRAILING_SLASH)) out.pop();
  if (out.length === 0) out.push(DOT);
  return Uint8Array.from(out);
}

/** True when cleanFname would return `name` as it is (the common case, checked without copying). */
function isClean(name: Uint8Array, flags: number): boolean {
  const n = name.length;
  if (n === 0) return false;
  if (n > 1 && name[n - 1] === SLASH && !(flags & CFN_KEEP_TRAILING_SLASH)) return false;
  for (let i = 0; i < n; i++) {
    const c = name[i]!;
    const atStart = i === 0 || name[i - 1] === SLASH;
    if (c === SLASH && i > 0 && name[i - 1] === SLASH) return false;
    if (c === DOT && atStart && (name[i + 1] === SLASH || (i + 1 === n && flags & CFN_DROP_TRAILING_DOT_DIR))) return false;
  }
  return true;
}

/**
 * util1.c unsafe_symlink: does the target `dest` of the symlink at `src`
 * (a name in the transfer) point outside the transfer? Absolute and empty
 * targets always do.
 */
export function unsafeSymlink(dest: Uint8Array, src: Uint8Array): boolean {
  if (dest.length === 0 || dest[0] === SLASH) return true;
  const isDotDotSlash = (s: Uint8Array, i: number) => s[i] === DOT && s[i + 1] === DOT && s[i + 2] === SLASH;
  let i = 0;
  while (isDotDotSlash(dest, i)) {
    i += 3;
    while (dest[i] === SLASH) i++;
  }
  if (Buffer.from(dest.subarray(i)).includes("/../")) return true;
  const n = dest.length;
  if (n > 3 && dest[n - 3] === SLASH && dest[n - 2] === DOT && dest[n - 1] === DOT) return true;

  let depth = 0;
  // Each component that a "/" follows, then the last one.
  const walk = (s: Uint8Array, step: (dot: boolean, dotdot: boolean) => boolean): number => {
    let name = 0;
    for (;;) {
      let slash = s.indexOf(SLASH, name);
      if (slash < 0) return name;
      const dot = s[name] === DOT && s[name + 1] === SLASH;
      const dotdot = s[name] === DOT && s[name + 1] === DOT && s[name + 2] === SLASH;
      if (step(dot, dotdot)) return -1;
      while (s[slash + 1] === SLASH) slash++;
      name = slash + 1;
    }
  };
  const isDotDotEnd = (s: Uint8Array, at: number) => s[at] === DOT && s[at + 1] === DOT && at + 2 === s.length;
  const srcLast = walk(src, (dot, dotdot) => {
    if (dotdot) depth = 0;
    else if (!dot) depth++;
    return false;
  });
  if (isDotDotEnd(src, srcLast)) depth = 0;
  const destLast = walk(dest, (dot, dotdot) => {
    if (dotdot) return --depth < 0;
    if (!dot) depth++;
    return false;
  });
  if (destLast < 0) return true;
  if (isDotDotEnd(dest, destLast)) depth--;
  return depth < 0;
}

/** The order of the sending side: f_name_cmp, with a leading "/" kept (SF.ANCHORED). */
export function compareSenderRows(t: FileTable, r1: number, r2: number, protocol: number): number {
  const d1 = t.dirId[r1]!;
  const d2 = t.dirId[r2]!;
  return compareNames(
    t.dirNames[d1]!,
    t.baseName(r1),
    isDir(t.mode[r1]!),
    t.dirNames[d2]!,
    t.baseName(r2),
    isDir(t.mode[r2]!),
    protocol,
    d1 === 0 && (t.flags[r1]! & SF.ANCHORED) !== 0,
    d2 === 0 && (t.flags[r2]! & SF.ANCHORED) !== 0,
  );
}

/** The list being made. */
interface Building {
  list: FileList;
  emit: Emit;
}

export class FlistBuilder {
  readonly lists: FileLists;
  readonly table: FileTable;
  /** IOERR_* bits of everything so far (upstream's io_error). */
  ioError = 0;
  /** All lists are made (no NDX_FLIST_EOF owed). */
  get eof(): boolean {
    return this.lists.eof;
  }

  private readonly fs: WalkFs;
  private readonly root: Uint8Array;
  /** The directories names are relative to (upstream's pathname; index 0: the root itself). */
  private readonly pathnames: Uint8Array[] = [new Uint8Array(0)];
  /** localPath's prefix per pathname, built when first needed. */
  private readonly localPrefixes: Uint8Array[] = [];
  /** Where localPathNow puts a path together. */
  private pathScratch = new Uint8Array(1024);
  /** Per row: its pathname index. */
  private rowPathname = new Uint32Array(0);
  private pathname = 0;
  private copyLinks: boolean;
  private dirs: boolean;
  private filesystemDev = 0n;
  // Implied directories (send_implied_dirs' statics).
  private lastPath: Uint8Array = new Uint8Array(0);
  private lastPathRow = -1;
  /** Incremental -R: names still to send in a directory's list, by the directory's row. */
  private readonly relNames = new Map<number, RelName[]>();
  // The directory tree of incremental recursion (by dirList index).
  private readonly parent: number[] = [];
  private readonly firstChild: number[] = [];
  private readonly nextSibling: number[] = [];
  private sendDirNdx = -1;
  /** Upstream's send_dir_depth (per-directory filter rules will need it). */
  private sendDirDepth = -1;

  constructor(
    private readonly o: BuildOptions,
    /** The directory arguments are relative to (upstream's cwd at the start; a daemon's module path). */
    root: Uint8Array | string = ".",
    fs: WalkFs = nodeWalkFs,
  ) {
    this.root = typeof root === "string" ? ascii(root) : root;
    this.fs = fs;
    this.lists = new FileLists(o.incRecurse, o.protocol);
    this.table = this.lists.table;
    this.copyLinks = o.copyLinks;
    this.dirs = o.dirs || o.recursive;
  }

  /** The local path of a row (to open it for sending). */
  localPath(row: number): Uint8Array {
    return this.localPathNow(row).slice();
  }

  /**
   * localPath in a buffer the next call reuses: for a path used at once (a
   * file opened to be sent), without a new array per file.
   */
  localPathNow(row: number): Uint8Array {
    const t = this.table;
    const pn = this.rowPathname[row]!;
    // An anchored or absolute name is its own path; the rest is built in one piece, on its directory's cached prefix.
    if (t.flags[row]! & SF.ANCHORED || t.firstPathByte(row) === SLASH) return this.fsPath(pn, this.nameOf(row));
    const prefix = this.localPrefix(pn);
    const length = prefix.length + t.pathLength(row);
    if (this.pathScratch.length < length) this.pathScratch = new Uint8Array(2 * length);
    const out = this.pathScratch;
    out.set(prefix, 0);
    t.copyPath(row, out, prefix.length);
    return out.subarray(0, length);
  }

  /**
   * Which directory a row's file is read from, as a number (SourceDirs keeps
   * the last one open): its argument directory and its dirname; -1 for an
   * anchored or absolute name (opened by its whole path).
   */
  localDirKey(row: number): number {
    const t = this.table;
    if (t.flags[row]! & SF.ANCHORED || t.firstPathByte(row) === SLASH) return -1;
    return this.rowPathname[row]! * 2 ** 32 + t.dirId[row]!;
  }

  /** The local path of the directory localDirKey names (a new array): its prefix and dirname, or "." when both are empty. */
  localDir(row: number): Uint8Array {
    const pn = this.rowPathname[row]!;
    const prefix = this.localPrefix(pn);
    const dir = this.table.dirName(row);
    if (prefix.length + dir.length === 0) return DOT_NAME;
    return concat(prefix, dir);
  }

  /** The directory of a row's file relative to the root (pathname and dirname; "" for the root); null for an absolute name or argument directory. */
  rootRelativeDir(row: number): Uint8Array | null {
    const t = this.table;
    if (t.flags[row]! & SF.ANCHORED || t.firstPathByte(row) === SLASH) return null;
    const pathname = this.pathnames[this.rowPathname[row]!]!;
    if (pathname[0] === SLASH) return null;
    const dir = t.dirName(row);
    if (pathname.length === 0) return dir;
    return dir.length === 0 ? pathname : concat(pathname, SLASH_NAME, dir);
  }

  /** What fsPath puts before a relative name of argument directory `pn`: the root and the directory, with a "/" unless empty. */
  private localPrefix(pn: number): Uint8Array {
    return (this.localPrefixes[pn] ??= this.makeLocalPrefix(pn));
  }

  /** localPrefix made (once per argument directory). */
  private makeLocalPrefix(pn: number): Uint8Array {
    const full = this.fsPath(pn, DOT_NAME);
    // fsPath(pn, ".") is the prefix followed by "."
    return full.subarray(0, full.length - 1);
  }

  /** A row as messages show it (util1.c full_fname, as full() shows a name being listed). */
  shownName(row: number): string {
    const pn = this.rowPathname[row]!;
    const name = this.nameOf(row);
    if (this.o.fullName) return this.o.fullName(this.pathnames[pn]!, name);
    return `"${resolvePath(Buffer.from(this.fsPath(pn, name)).toString("latin1"))}"`;
  }

  /**
   * The directory a row's argument names, as a path (its prefix, "." when
   * empty), under which the row's file is in dirName(row); null for a name
   * that is absolute or anchored.
   */
  argDirPath(row: number): Uint8Array | null {
    const t = this.table;
    if (t.flags[row]! & SF.ANCHORED || t.firstPathByte(row) === SLASH) return null;
    const prefix = this.localPrefix(this.rowPathname[row]!);
    if (prefix.length === 0) return DOT_NAME;
    return prefix.length > 1 && prefix[prefix.length - 1] === SLASH ? prefix.subarray(0, prefix.length - 1) : prefix;
  }

  /** The directory a row's argument was in (F_PATHNAME, which --debug=flist3's dump shows). */
  argDir(row: number): string {
    return Buffer.from(this.pathnames[this.rowPathname[row]!]!).toString("latin1");
  }

  /** A row as sender.c's debug lines show it: the directory its argument was in, then its name (F_PATHNAME "/" f_name). */
  debugPath(row: number): string {
    const dir = this.pathnames[this.rowPathname[row]!]!;
    const name = Buffer.from(this.nameOf(row)).toString("latin1");
    if (dir.length === 0) return name;
    const d = Buffer.from(dir).toString("latin1");
    return d.endsWith("/") ? `${d}${name}` : `${d}/${name}`;
  }

  /** A row's name as sent. */
  nameOf(row: number): Uint8Array {
    const path = this.table.path(row);
    if (!(this.table.flags[row]! & SF.ANCHORED) || path[0] === SLASH) return path;
    return concat(SLASH_NAME, path);
  }

  /**
   * send_file_list: makes the first list from the arguments, emitting each
   * entry as it is made, then sorts it. With incremental recursion the
   * sub-lists follow through `nextSubList`; without it this is the only list.
   */
  firstList(args: Uint8Array[], emit: Emit): FileList {
    const o = this.o;
    const b: Building = { list: this.newList(-1), emit };
    const flags = o.recursive ? F.CONTENT_DIR : 0;
    const impliedDirs = o.relative && (o.impliedDirs || o.protocol >= 30);
    let impliedDotDir = 0;
    let lastDir: Uint8Array | null | undefined;
    let lastDirId = 0;

    for (const arg of args) {
      let fbuf = arg.slice();
      let nameType: NameType;
      const len = fbuf.length;
      if (o.relative) nameType = NameType.Normal;
      else if (len === 0 || fbuf[len - 1] === SLASH) {
        fbuf = len === 2 && fbuf[0] === DOT ? DOT_NAME : concat(fbuf, DOT_NAME);
        nameType = NameType.DotDir;
      } else if (len > 1 && fbuf[len - 1] === DOT && fbuf[len - 2] === DOT && (len === 2 || fbuf[len - 3] === SLASH)) {
        fbuf = concat(fbuf, ascii("/."));
        nameType = NameType.DotDir;
      } else if (fbuf[len - 1] === DOT && (len === 1 || fbuf[len - 2] === SLASH)) nameType = NameType.DotDir;
      else nameType = NameType.Normal;

      let dir: Uint8Array | null = null;
      let fn: Uint8Array;
      if (!o.relative) {
        const p = fbuf.lastIndexOf(SLASH);
        if (p >= 0) {
          dir = p === 0 ? ascii("/") : fbuf.subarray(0, p);
          fn = fbuf.subarray(p + 1);
        } else fn = fbuf;
      } else {
        const p = Buffer.from(fbuf).indexOf("/./");
        if (p >= 0) {
          dir = p === 0 ? ascii("/") : cleanFname(fbuf.subarray(0, p));
          let at = p + 3;
          while (fbuf[at] === SLASH) at++;
          fn = fbuf.subarray(at);
        } else fn = fbuf;
        if (fn[0] === DOT && fn[1] === SLASH && fn.length > 2 && !impliedDotDir) impliedDotDir = -1;
        fn = cleanFname(fn, CFN_KEEP_TRAILING_SLASH | CFN_DROP_TRAILING_DOT_DIR);
        if (fn.length === 1) {
          if (fn[0] === SLASH) {
            fn = ascii("/.");
            nameType = NameType.DotDir;
          } else if (fn[0] === DOT) nameType = NameType.DotDir;
        } else if (fn[fn.length - 1] === SLASH) {
          fn = fn.subarray(0, fn.length - 1);
          nameType = fn.length === 1 && fn[0] === DOT ? NameType.DotDir : NameType.SlashEnding;
        }
        for (let i = 0; i + 1 < fn.length; i++) {
          if (fn[i] === DOT && fn[i + 1] === DOT && (i + 2 === fn.length || fn[i + 2] === SLASH) && (i === 0 || fn[i - 1] === SLASH)) {
            throw new RsyncError(RERR.SYNTAX, `found ".." dir in relative path: ${Buffer.from(fn).toString("latin1")}`);
          }
        }
      }
      if (fn.length === 0) {
        fn = DOT_NAME;
        nameType = NameType.DotDir;
      }
      // -R names carry their directories: in a confined module none of them may lead out of it.
      if (o.relative && o.confinedModule !== undefined && this.leavesModule(dir ? concat(dir, SLASH_NAME, fn) : fn, false)) {
        this.ioError |= IOERR_GENERAL;
        this.say("error", `rsync: [sender] link_stat "${Buffer.from(fn).toString("latin1")}" (in ${o.confinedModule}) failed: Too many levels of symbolic links (40)`);
        continue;
      }

      // change_pathname: names are relative to `dir` (a new pathname each time it changes).
      const sameDir = lastDir !== undefined && (dir === null ? lastDir === null : lastDir !== null && bytesEqual(dir, lastDir));
      let entered: boolean;
      if (!sameDir) {
        entered = this.enterDir(dir);
        if (entered) {
          lastDir = dir;
          lastDirId = this.pathname;
        }
      } else if (this.pathname !== lastDirId) {
        this.pathname = lastDirId;
        entered = this.checkDir(lastDirId);
      } else entered = true;
      if (!entered) {
        this.pathname = 0; // upstream goes back to where it started
        if (impliedDotDir < 0) impliedDotDir = 0;
        continue;
      }

      if (impliedDotDir < 0) {
        impliedDotDir = 1;
        this.sendFileName(b, DOT_NAME, null, (flags | F.IMPLIED_DIR) & ~F.CONTENT_DIR, Filters.All);
      }
      fbuf = fn.slice();

      let st: FileStat;
      try {
        st = this.linkStat(fbuf, o.copyDirlinks || nameType !== NameType.Normal);
        // A daemon module's rules hide an argument as if it did not exist (SERVER_FILTERS).
        const path = this.fsPath(this.pathname, fbuf);
        if (nameType !== NameType.DotDir && o.hidden?.(fbuf, isDir(st.mode), path)) throw systemError(2, "lstat", Buffer.from(path).toString("latin1"));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT" && o.deleteMissingArgs) st = MISSING_STAT;
        else {
          if (code === "ENOENT" && o.ignoreMissingArgs) continue;
          if (code !== "ENOENT") this.ioError |= IOERR_GENERAL;
          this.syserr(e, `link_stat ${this.full(fbuf)} failed`);
          continue;
        }
      }
      if (nameType !== NameType.DotDir && st.mode !== 0 && o.include && !o.include(fbuf, isDir(st.mode), this.fsPath(this.pathname, fbuf))) continue;
      if (isDir(st.mode) && !this.dirs) {
        this.say("info", `skipping directory ${Buffer.from(fbuf).toString("latin1")}`);
        continue;
      }

      if (o.incRecurse && o.relative && fbuf.length > 0) {
        let p = fbuf.indexOf(SLASH, 1);
        if (p >= 0) {
          let fnAt: number;
          if (p === 1 && fbuf[0] === DOT) {
            const q = fbuf.indexOf(SLASH, p + 1);
            fnAt = q;
            if (q >= 0) p = q;
          } else fnAt = p;
          this.sendImpliedDirs(b, fbuf, 0, p, flags, st.mode === 0 ? NameType.Missing : nameType);
          if (fnAt === p) continue;
        }
      } else if (impliedDirs) {
        const p = fbuf.lastIndexOf(SLASH);
        if (p > 0) this.sendImpliedDirs(b, fbuf, 0, p, flags, NameType.Normal);
      }

      if (o.oneFileSystem) this.filesystemDev = st.dev;

      if (o.recursive || (this.dirs && nameType !== NameType.Normal)) {
        const row = this.sendFileName(b, fbuf, st, F.TOP_DIR | F.CONTENT_DIR | flags, Filters.None);
        if (row < 0) continue;
        if (o.incRecurse) {
          if (nameType === NameType.DotDir) {
            if (this.sendDirDepth < 0) this.sendDirDepth = 0;
            this.sendDirectory(b, fbuf, flags);
          }
        } else this.sendIfDirectory(b, row, flags);
      } else this.sendFileName(b, fbuf, st, flags, Filters.None);
    }

    const list = b.list;
    this.finishList(list);
    if (o.incRecurse) {
      this.sendDirDepth = 1;
      this.addDirsToTree(-1, list);
      const t = this.table;
      const first = list.ndxStart;
      list.parentDir = list.count > 0 && t.nameLen[first] === 1 && t.baseName(first)[0] === DOT && isDir(t.mode[first]!) ? 0 : -1;
      if (this.sendDirNdx < 0) this.lists.eof = true;
    } else {
      this.lists.eof = true;
    }
    return list;
  }

  /** The dirList index whose contents the next sub-list holds; -1 once all are made. */
  get nextSubListDir(): number {
    return this.lists.eof ? -1 : this.sendDirNdx;
  }

  /**
   * One iteration of send_extra_file_list: the list of the next directory
   * (and of the directories with the same name that follow it), emitted,
   * sorted, its directories added to the tree. The caller announces it first
   * (NDX_FLIST_OFFSET - nextSubListDir) and ends it; `eof` afterwards says
   * whether NDX_FLIST_EOF is due.
   */
  nextSubList(emit: Emit): FileList | null {
    if (this.lists.eof || this.sendDirNdx < 0) return null;
    const t = this.table;
    let dirNdx = this.sendDirNdx;
    const b: Building = { list: this.newList(dirNdx), emit };
    let row = this.lists.dirList[dirNdx]!;
    this.send1extra(b, row);
    let prevFlags = t.flags[row]!;
    let dp = dirNdx;
    // Directories with the same name follow as siblings: their contents join this list.
    for (;;) {
      const next = this.nextSibling[dp]!;
      if (next < 0 || !(t.flags[this.lists.dirList[next]!]! & SF.DUPLICATE)) break;
      dirNdx = next;
      this.sendDirNdx = next;
      row = this.lists.dirList[next]!;
      if (this.rowPathname[row] === this.pathname && prevFlags & F.CONTENT_DIR) t.flags[row] = t.flags[row]! & ~F.CONTENT_DIR;
      this.send1extra(b, row);
      prevFlags = t.flags[row]!;
      dp = next;
    }
    const list = b.list;
    this.finishList(list);
    this.addDirsToTree(dirNdx, list);

    // Depth first: the first child, else the next sibling here or up the tree.
    if (this.firstChild[dp]! >= 0) {
      this.sendDirNdx = this.firstChild[dp]!;
      this.sendDirDepth++;
    } else {
      for (;;) {
        if (this.nextSibling[dp]! >= 0) {
          this.sendDirNdx = this.nextSibling[dp]!;
          break;
        }
        const up = this.parent[dp]!;
        if (up < 0) {
          this.sendDirNdx = -1;
          this.lists.eof = true;
          break;
        }
        this.sendDirDepth--;
        dp = up;
      }
    }
    return list;
  }

  // -------------------------------------------------------------------------------------------

  private newList(parentDir: number): FileList {
    const last = this.lists.lists[this.lists.lists.length - 1];
    const ndxStart = last ? last.ndxStart + last.count + 1 : this.o.incRecurse ? 1 : 0;
    return { ndxStart, count: 0, parentDir, inProgress: 0, toRedo: 0 };
  }

  private say(kind: "error" | "warning" | "info", text: string): void {
    this.o.onMessage?.(kind, text);
  }

  /** rsyserr: "rsync: [sender] TEXT: strerror (errno)". */
  private syserr(e: unknown, text: string): void {
    this.say("error", `rsync: [sender] ${text}: ${errText(e)}`);
  }

  private full(name: Uint8Array): string {
    if (this.o.fullName) return this.o.fullName(this.pathnames[this.pathname]!, name);
    // util1.c full_fname: a relative name is shown under the (cleaned) current directory.
    return `"${resolvePath(Buffer.from(this.fsPath(this.pathname, name)).toString("latin1"))}"`;
  }

  /** A directory as full_fname shows it: in a module with its name; outside one, a relative one under the current directory, as given. */
  private shownDir(dir: Uint8Array): string {
    const text = Buffer.from(dir).toString("latin1");
    if (this.o.fullName) return this.o.fullName(new Uint8Array(0), dir);
    if (dir[0] === SLASH) return `"${text}"`;
    return `"${process.cwd()}/${text}"`;
  }

  /** The path to hand the file system for `name` under pathname `pn`. */
  private fsPath(pn: number, name: Uint8Array): Uint8Array {
    if (name[0] === SLASH) return name;
    const dir = this.pathnames[pn]!;
    let base: Uint8Array;
    if (dir.length === 0) base = this.root;
    else if (dir[0] === SLASH) base = dir;
    else base = this.join(this.root, dir);
    return this.join(base, name);
  }

  private join(a: Uint8Array, b: Uint8Array): Uint8Array {
    if (a.length === 0) return b;
    if (a[a.length - 1] === SLASH) return concat(a, b);
    return concat(a, SLASH_NAME, b);
  }

  /** change_pathname to a new directory (null: the root). */
  private enterDir(dir: Uint8Array | null): boolean {
    if (dir === null) {
      this.pathname = 0;
    } else {
      this.pathnames.push(dir.slice());
      this.pathname = this.pathnames.length - 1;
    }
    return this.checkDir(this.pathname);
  }

  /** Can we work in pathname `pn`? (upstream's chdir) */
  private checkDir(pn: number): boolean {
    if (pn === 0) return true;
    const dir = this.pathnames[pn]!;
    const path = dir[0] === SLASH ? dir : this.join(this.root, dir);
    if (this.o.confinedModule !== undefined && this.leavesModule(dir, true)) {
      this.ioError |= IOERR_GENERAL;
      this.say("error", `rsync: [sender] change_dir "${Buffer.from(dir).toString("latin1")}" (in ${this.o.confinedModule}) failed: Too many levels of symbolic links (40)`);
      return false;
    }
    try {
      const st = this.fs.stat(path);
      if (!isDir(st.mode)) throw Object.assign(new Error("ENOTDIR: not a directory"), { code: "ENOTDIR", errno: -20 });
      this.o.changedDir?.(path);
      return true;
    } catch (e) {
      this.ioError |= IOERR_GENERAL;
      this.syserr(e, `change_dir ${this.shownDir(dir)} failed`);
      return false;
    }
  }

  /**
   * A chroot-less module: whether reaching `rel` (relative to the root) leads
   * out of the module, as upstream 3.5.0's confined resolution finds
   * (syscall.c secure_relative_open: a symlink on the way is followed while
   * its target stays inside). Its directory is opened inside the module,
   * `rel` itself too when `whole` (a directory we are about to work in); an
   * ELOOP is a way out, any other failure is left to the stat that follows.
   * Without the walk's confined opens, any symlink on the way counts.
   */
  private leavesModule(rel: Uint8Array, whole: boolean): boolean {
    const openInside = this.fs.openInside;
    if (!openInside) return this.throughSymlink(rel, whole);
    const end = whole ? rel.length : Math.max(rel.lastIndexOf(SLASH), 0);
    if (end === 0) return false;
    const dir = rel.subarray(0, end);
    try {
      openInside.call(this.fs, dir[0] === SLASH ? dir : this.join(this.root, dir));
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "ELOOP";
    }
  }

  /**
   * Whether reaching `rel` (relative to the root) would pass through a
   * symlink: every component but the last is checked, the last too when
   * `whole` (a directory we are about to work in).
   */
  private throughSymlink(rel: Uint8Array, whole: boolean): boolean {
    const isSymlink = (prefix: string) => {
      try {
        return isLink(this.fs.lstat(this.join(this.root, Buffer.from(prefix, "latin1"))).mode);
      } catch {
        return null;
      }
    };
    return symlinkOnPath(Buffer.from(rel).toString("latin1"), whole, isSymlink) !== null;
  }

  private readable(path: Uint8Array): boolean {
    try {
      accessSync(Buffer.from(path), fsConstants.R_OK);
      return true;
    } catch {
      return false;
    }
  }

  /** link_stat: follows a symlink under -L, or (followDirlinks) when it leads to a directory. */
  private linkStat(name: Uint8Array, followDirlinks: boolean): FileStat {
    return this.linkStatOf(this.fsPath(this.pathname, name), followDirlinks);
  }

  /** linkStat of the path fsPath gave (readlinkStat needs it again: one join per entry, not two). */
  private linkStatOf(path: Uint8Array, followDirlinks: boolean): FileStat {
    if (this.copyLinks) return this.fs.stat(path);
    const st = this.fs.lstat(path);
    if (followDirlinks && isLink(st.mode)) {
      try {
        const target = this.fs.stat(path);
        if (isDir(target.mode)) return target;
      } catch {
        // a dangling link stays a link
      }
    }
    return st;
  }

  /** readlink_stat: the entry's stat and, for a symlink sent as one, its target. */
  private readlinkStat(name: Uint8Array): { st: FileStat; link?: Uint8Array } {
    const o = this.o;
    const path = this.fsPath(this.pathname, name);
    const st = this.linkStatOf(path, o.copyDirlinks);
    if (!isLink(st.mode)) return { st };
    let link = this.fs.readlink(path);
    if (o.copyUnsafeLinks && unsafeSymlink(link, name)) {
      const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");
      if (o.sayUnsafeCopies) this.say("info", `copying unsafe symlink "${latin1(name)}" -> "${latin1(link)}"`);
      return { st: this.fs.stat(path) };
    }
    if (o.mungeSymlinks && link.length > MUNGE_PREFIX.length && bytesEqual(link.subarray(0, MUNGE_PREFIX.length), MUNGE_PREFIX)) {
      link = link.slice(MUNGE_PREFIX.length);
    }
    return { st, link };
  }

  private excluded(name: Uint8Array, dir: boolean, filters: Filters): boolean {
    return filters === Filters.All && this.o.include !== undefined && !this.o.include(name, dir, this.fsPath(this.pathname, name));
  }

  /**
   * send_file_name + make_file: stats `fname` (unless a directory's stat is
   * given), applies the checks, stores and emits the entry. Returns its row,
   * or -1 when it was left out.
   */
  private sendFileName(b: Building, fname: Uint8Array, given: FileStat | null, flags: number, filters: Filters): number {
    const o = this.o;
    const p = o.protocol;
    if (fname.length >= MAXPATHLEN) {
      this.ioError |= IOERR_GENERAL;
      this.say("error", `skipping overly long name: ${Buffer.from(fname).toString("latin1")}`);
      return -1;
    }
    const name = cleanFname(fname);
    let st: FileStat;
    let link: Uint8Array | undefined;
    if (given && (isDir(given.mode) || given.mode === 0)) st = given;
    else {
      try {
        ({ st, link } = this.readlinkStat(name));
      } catch (e) {
        if (filters !== Filters.None && (this.excluded(name, false, filters) || this.excluded(name, true, filters))) return -1;
        const err = e as NodeJS.ErrnoException;
        if (err.code === "ENOENT") {
          let dangling = false;
          if (this.copyLinks || o.copyUnsafeLinks || o.copyDirlinks) {
            try {
              dangling = isLink(this.fs.lstat(this.fsPath(this.pathname, name)).mode);
            } catch {
              // gone entirely
            }
          }
          if (dangling) {
            this.ioError |= IOERR_GENERAL;
            this.say("error", `symlink has no referent: ${this.full(name)}`);
          } else {
            this.ioError |= IOERR_VANISHED;
            this.say("warning", `file has vanished: ${this.full(name)}`);
          }
        } else {
          this.ioError |= IOERR_GENERAL;
          this.syserr(e, `readlink_stat(${this.full(name)}) failed`);
        }
        return -1;
      }
      if (st.mode === 0) {
        this.ioError |= IOERR_GENERAL;
        this.say("info", `skipping file with bogus (zero) st_mode: ${this.full(name)}`);
        return -1;
      }
    }

    if (filters !== Filters.None) {
      if (isDir(st.mode)) {
        if (!this.dirs) {
          this.say("info", `skipping directory ${Buffer.from(name).toString("latin1")}`);
          return -1;
        }
        if (o.oneFileSystem && st.dev !== this.filesystemDev && flags & F.CONTENT_DIR && !(flags & F.TOP_DIR)) {
          if (o.oneFileSystem > 1) return -1;
          flags = (flags | SF.MOUNT_DIR) & ~F.CONTENT_DIR;
        }
      } else flags &= ~F.CONTENT_DIR;
      if (this.excluded(name, isDir(st.mode), filters)) return -1;
      // A daemon module's "ignore nonreadable": what its user cannot read is left out, silently.
      if (o.ignoreNonreadable && !isLink(st.mode) && !this.readable(this.fsPath(this.pathname, name))) return -1;
    }
    // (Upstream's filter levels: NO_FILTERS 0 for an argument, ALL_FILTERS 2 for the rest, implied directories included.)
    if (o.flistDebug! > 1) this.say("info", `[sender] make_file(${Buffer.from(name).toString("latin1")},*,${filters === Filters.None ? 0 : 2})`);

    const slash = name.lastIndexOf(SLASH);
    if (slash === name.length - 1) return -1; // an empty base name
    if (o.preserveLinks && isLink(st.mode) && (!link || link.length === 0)) {
      this.ioError |= IOERR_GENERAL;
      this.say("error", `skipping symlink with 0-length value: ${this.full(name)}`);
      return -1;
    }
    const unconvertible = o.unconvertible?.(name, o.preserveLinks && isLink(st.mode) ? link : undefined);
    if (unconvertible) {
      this.ioError |= IOERR_GENERAL;
      const shown = unconvertible.what === "filename" ? `filename: ${Buffer.from(name).toString("latin1")}` : `symlink data for: ${this.full(name)}`;
      this.say("error", `[sender] cannot convert ${shown} (${unconvertible.error})`);
      return -1;
    }

    // --copy-devices: past the filters (which saw a device), the device goes as a file.
    if (o.deviceAsFile && isDevice(st.mode)) st = o.deviceAsFile(this.fsPath(this.pathname, name), st);
    const list = b.list;
    const row = list.ndxStart + list.count;
    const t = this.table;
    t.ensure(row + 1);
    this.ensureColumns(row + 1);
    t.extras.delete(row);
    t.setName(row, name);
    // flist.c send_file_name: the list carries the changed mode.
    const mode = o.tweakMode && st.mode && !isLink(st.mode) ? o.tweakMode(st.mode) : st.mode;
    const special = isDevice(mode) || isSpecial(mode);
    t.mode[row] = mode;
    t.size[row] = special ? 0 : st.size;
    t.mtime[row] = st.mtime;
    t.nsec[row] = st.nsec;
    t.uid[row] = st.uid;
    t.gid[row] = st.gid;
    let rowFlags = isDir(mode) ? flags & (F.TOP_DIR | F.CONTENT_DIR | F.IMPLIED_DIR | SF.MOUNT_DIR) : 0;
    if (slash === 0) rowFlags |= SF.ANCHORED;
    t.flags[row] = rowFlags;
    this.rowPathname[row] = this.pathname;
    const trackLinks = o.preserveHardLinks && (p >= 28 ? !isDir(mode) && st.nlink > 1 : isReg(mode));
    if (o.atime && !isDir(mode) && mode !== 0) t.extra(row).atime = o.atime(this.fsPath(this.pathname, name), st);
    const sum = o.checksum && isReg(mode) ? o.checksum(this.fsPath(this.pathname, name), st) : undefined;
    if (sum) t.setSum(row, sum);
    else t.clearSum(row);
    if (link || isDevice(mode) || trackLinks) {
      const e = t.extra(row);
      if (link) e.link = link;
      if (isDevice(mode)) {
        e.rdevMajor = st.rdevMajor;
        e.rdevMinor = st.rdevMinor;
      }
      if (trackLinks) e.hlinkKey = `d${st.dev}:${st.ino}`;
    }
    list.count++;
    const tally = this.lists.tally;
    if (isReg(mode) || isLink(mode)) tally.size += t.size[row]!;
    if (isDir(mode)) tally.dirs++;
    else if (isLink(mode)) tally.symlinks++;
    else if (isDevice(mode)) tally.devices++;
    else if (isSpecial(mode)) tally.specials++;
    b.emit(row, list);
    return row;
  }

  private ensureColumns(rows: number): void {
    if (rows <= this.rowPathname.length) return;
    let cap = Math.max(1024, this.rowPathname.length * 2);
    while (cap < rows) cap *= 2;
    const next = new Uint32Array(cap);
    next.set(this.rowPathname);
    this.rowPathname = next;
  }

  /** send_directory: every name in directory `dirName` (in readdir order), then (-r, not incremental) the subdirectories. */
  private sendDirectory(b: Building, dirName: Uint8Array, flags: number): void {
    const o = this.o;
    const start = b.list.count;
    let names: Uint8Array[];
    const dirPath = this.fsPath(this.pathname, dirName);
    // A broken rule in a merge file found here is fatal (outside the catch below).
    o.enterDir?.(dirPath);
    try {
      names = this.fs.readDir(dirPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") {
        this.ioError |= IOERR_VANISHED;
        this.say("warning", `directory has vanished: ${this.full(dirName)}`);
        return;
      }
      this.ioError |= IOERR_GENERAL;
      this.syserr(e, `opendir ${this.full(dirName)} failed`);
      return;
    }
    const prefix = dirName.length === 1 && dirName[0] === SLASH ? dirName : concat(dirName, SLASH_NAME);
    const room = dirName.length === 1 && dirName[0] === SLASH ? MAXPATHLEN - 1 : dirName.length < MAXPATHLEN - 1 ? MAXPATHLEN - (dirName.length + 1) : 0;
    for (const name of names) {
      if (name.length >= room) {
        this.ioError |= IOERR_GENERAL;
        this.say(
          "error",
          `filename overflows max-path len by ${name.length - room + 1}: ${Buffer.from(dirName).toString("latin1")}/${Buffer.from(name).toString("latin1")}`,
        );
        continue;
      }
      if (name.length === 0) {
        this.ioError |= IOERR_GENERAL;
        this.say("error", `cannot send file with empty name in ${this.full(dirName)}`);
        continue;
      }
      this.sendFileName(b, concat(prefix, name), null, flags, Filters.All);
    }
    if (o.recursive && !o.incRecurse) {
      const end = b.list.count;
      for (let i = start; i < end; i++) this.sendIfDirectory(b, b.list.ndxStart + i, flags);
    }
    if (!o.incRecurse) o.leaveDir?.(dirPath);
  }

  private sendIfDirectory(b: Building, row: number, flags: number): void {
    const t = this.table;
    if (!isDir(t.mode[row]!) || t.flags[row]! & SF.MOUNT_DIR) return;
    this.sendDirectory(b, this.nameOf(row), flags);
  }

  /**
   * send_implied_dirs: the parent directories of fname[0, limit) from
   * `start` on, as implied dirs (following symlinks, whatever -l says). In
   * incremental mode only the first one goes in this list; the rest of the
   * path waits in its list of names (relNames).
   */
  private sendImpliedDirs(b: Building, fname: Uint8Array, start: number, limit: number, flags: number, nameType: NameType): void {
    const o = this.o;
    flags = (flags | F.IMPLIED_DIR) & ~(F.TOP_DIR | F.CONTENT_DIR);
    const path = fname.subarray(0, limit);
    let needNew = true;
    if (o.incRecurse) {
      needNew = !(this.lastPathRow >= 0 && this.rowPathname[this.lastPathRow] === this.pathname && bytesEqual(this.lastPath, path));
    } else {
      // Skip the leading directories this path shares with the previous one.
      const lp = this.lastPath;
      let tp = 0;
      for (;; tp++) {
        if (tp === limit) {
          if (tp >= lp.length || lp[tp] === SLASH) return;
          break;
        }
        if (tp >= lp.length || lp[tp] !== fname[tp]) break;
        if (fname[tp] === SLASH) start = tp;
      }
    }
    if (needNew) {
      const saveCopyLinks = this.copyLinks;
      const saveDirs = this.dirs;
      this.copyLinks = true;
      this.dirs = true;
      for (let slash = path.indexOf(SLASH, start + 1); slash >= 0; slash = path.indexOf(SLASH, slash + 1)) {
        this.sendFileName(b, path.subarray(0, slash), null, flags, Filters.Implied);
      }
      const row = this.sendFileName(b, path, null, flags, Filters.Implied);
      if (o.incRecurse) this.lastPathRow = row >= 0 && isDir(this.table.mode[row]!) ? row : -1;
      this.lastPath = path.slice();
      this.copyLinks = saveCopyLinks;
      this.dirs = saveDirs;
      if (!o.incRecurse) return;
    }
    if (this.lastPathRow < 0) return; // the directory vanished
    let names = this.relNames.get(this.lastPathRow);
    if (!names) {
      names = [];
      this.relNames.set(this.lastPathRow, names);
    }
    names.push({ name: fname.slice(limit + 1), type: nameType });
  }

  /** send1extra: the contents of one directory (and, with -R, the names waiting for it). */
  private send1extra(b: Building, row: number): void {
    const o = this.o;
    const t = this.table;
    const name = this.nameOf(row);
    // change_pathname(file): only when the directory names are relative to changes.
    if (this.pathname !== this.rowPathname[row]) {
      this.pathname = this.rowPathname[row]!;
      if (!this.checkDir(this.pathname)) {
        throw new RsyncError(RERR.FILESELECT, `change_dir "${Buffer.from(this.pathnames[this.pathname]!).toString("latin1")}" failed`);
      }
    }
    const flags = F.CONTENT_DIR;
    if (t.flags[row]! & F.CONTENT_DIR) {
      let scan = true;
      if (o.oneFileSystem) {
        try {
          this.filesystemDev = this.linkStat(name, o.copyDirlinks).dev;
        } catch (e) {
          this.statError(e, name);
          scan = false;
        }
      }
      if (scan) this.sendDirectory(b, name, flags);
    }
    if (!o.relative) return;
    const waiting = this.relNames.get(row);
    if (!waiting) return;
    this.relNames.delete(row);
    for (const rn of waiting) {
      const full = concat(name, SLASH_NAME, rn.name);
      const from = name.length + 1;
      const slash = full.indexOf(SLASH, from);
      if (slash >= 0) {
        this.sendImpliedDirs(b, full, from, slash, flags, rn.type);
        continue;
      }
      if (rn.type !== NameType.Normal) {
        let st: FileStat = MISSING_STAT;
        try {
          if (rn.type !== NameType.Missing) st = this.linkStat(full, true);
        } catch (e) {
          this.statError(e, full);
          continue;
        }
        this.sendFileName(b, full, st, F.TOP_DIR | flags, Filters.All);
      } else this.sendFileName(b, full, null, F.TOP_DIR | flags, Filters.All);
    }
  }

  /** interpret_stat_error for a directory. */
  private statError(e: unknown, name: Uint8Array): void {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      this.ioError |= IOERR_VANISHED;
      this.say("warning", `directory has vanished: ${this.full(name)}`);
    } else {
      this.ioError |= IOERR_GENERAL;
      this.syserr(e, `link_stat ${this.full(name)} failed`);
    }
  }

  /**
   * Sorts a complete list into place (keeping every entry: the receiver may
   * ask for whichever of two equal names it kept) and, in incremental mode,
   * marks directories that repeat the previous one's name (flist_sort_and_clean
   * on the sender).
   */
  private finishList(list: FileList): void {
    const t = this.table;
    const { ndxStart: start, count: n } = list;
    const p = this.o.protocol;
    const order = Array.from({ length: n }, (_, i) => start + i);
    // Each row's name parts, looked up once rather than per comparison.
    const dirs = order.map((row) => t.dirNames[t.dirId[row]!]!);
    const bases = order.map((row) => t.baseName(row));
    const dirFlags = order.map((row) => isDir(t.mode[row]!));
    const anchored = order.map((row) => t.dirId[row] === 0 && (t.flags[row]! & SF.ANCHORED) !== 0);
    order.sort((x, y) => {
      const i = x - start;
      const j = y - start;
      return compareNames(dirs[i]!, bases[i]!, dirFlags[i]!, dirs[j]!, bases[j]!, dirFlags[j]!, p, anchored[i], anchored[j]) || x - y;
    });
    this.lists.wireOrder?.record(start, order, (row) => isDir(t.mode[row]!));
    if (order.some((row, i) => row !== start + i)) {
      const scratch = start + n + 1;
      t.ensure(scratch + n);
      this.ensureColumns(scratch + n);
      for (let i = 0; i < n; i++) {
        t.copyRow(start + i, scratch + i);
        this.rowPathname[scratch + i] = this.rowPathname[start + i]!;
      }
      const moved = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const from = order[i]!;
        t.copyRow(scratch + (from - start), start + i);
        this.rowPathname[start + i] = this.rowPathname[scratch + (from - start)]!;
        moved.set(from, start + i);
      }
      for (let i = 0; i < n; i++) t.extras.delete(scratch + i);
      // Rows known by number move with their entries.
      const rel = [...this.relNames].filter(([row]) => moved.has(row));
      for (const [row] of rel) this.relNames.delete(row);
      for (const [row, names] of rel) this.relNames.set(moved.get(row)!, names);
      if (moved.has(this.lastPathRow)) this.lastPathRow = moved.get(this.lastPathRow)!;
    }
    if (this.o.incRecurse) {
      let prev = start;
      for (let i = start + 1; i < start + n; i++) {
        // Names of one directory are equal only when their base names are (the common case, without views of them).
        const same = t.dirId[i] === t.dirId[prev] ? t.compareBaseNames(i, prev) === 0 && compareSenderRows(t, i, prev, p) === 0 : compareSenderRows(t, i, prev, p) === 0;
        if (same) {
          if (isDir(t.mode[i]!)) {
            if (!isDir(t.mode[prev]!)) prev = i;
            else t.flags[i] = t.flags[i]! | SF.DUPLICATE;
          }
        } else prev = i;
      }
    }
    this.lists.tally.files += n;
    this.lists.lists.push(list);
  }

  /** add_dirs_to_tree: appends the list's directories to dirList and links them under `parentNdx`. */
  private addDirsToTree(parentNdx: number, list: FileList): void {
    const t = this.table;
    const dirList = this.lists.dirList;
    let prev = -1;
    for (let row = list.ndxStart; row < list.ndxStart + list.count; row++) {
      if (!isDir(t.mode[row]!)) continue;
      dirList.push(row);
      const ndx = dirList.length - 1;
      this.parent[ndx] = parentNdx;
      this.firstChild[ndx] = -1;
      this.nextSibling[ndx] = -1;
      if (t.nameLen[row] === 1 && t.baseName(row)[0] === DOT) continue;
      if (prev >= 0) this.nextSibling[prev] = ndx;
      else if (parentNdx >= 0) this.firstChild[parentNdx] = ndx;
      else this.sendDirNdx = ndx;
      prev = ndx;
    }
  }
}
