/**
 * FileTable: every file-list entry of a session, stored column-wise in
 * typed arrays (no object per entry: the kernel tree has 84K entries and a
 * large mirror millions). A row's number is its rsync file index (ndx), so
 * rows that no entry uses (the gap upstream leaves between incremental
 * lists) simply stay empty.
 *
 * Names are raw bytes: the directory part is interned once (all entries of
 * an incremental sub-list share it) and the base name lives in a byte pool.
 */
import { ENTRY_WORK, RECEIVED_ENTRY_WORK, noteWork } from "../io/memory-pacer.ts";

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
export const S_IFSOCK = 0o140000;

export const isDir = (mode: number) => (mode & S_IFMT) === S_IFDIR;
export const isReg = (mode: number) => (mode & S_IFMT) === S_IFREG;
export const isLink = (mode: number) => (mode & S_IFMT) === S_IFLNK;
export const isDevice = (mode: number) => (mode & S_IFMT) === S_IFCHR || (mode & S_IFMT) === S_IFBLK;
export const isSpecial = (mode: number) => (mode & S_IFMT) === S_IFIFO || (mode & S_IFMT) === S_IFSOCK;

/** Per-entry flags (upstream's FLAG_*), kept in `flags`. */
export const F = {
  TOP_DIR: 1 << 0,
  CONTENT_DIR: 1 << 1,
  IMPLIED_DIR: 1 << 2,
  HLINKED: 1 << 3,
  /** A duplicate name removed by the receiver (upstream clears the basename). */
  INACTIVE: 1 << 5,
  /** The generator created this directory: everything in it is known absent. */
  CREATED_DIR: 1 << 6,
  MISSING_DIR: 1 << 7,
  /** The receiver has received this file once: a second time is the redo pass. */
  FILE_SENT: 1 << 8,
} as const;

const EMPTY = new Uint8Array(0);
/** FileTable.compareBaseNames with `after`: no answer from the base names alone. */
export const NO_ANSWER = 0x7fffffff;

class Pool {
  bytes = new Uint8Array(1 << 16);
  used = 0;
  add(data: Uint8Array): number {
    if (this.used + data.length > this.bytes.length) {
      let size = this.bytes.length * 2;
      while (size < this.used + data.length) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.bytes.subarray(0, this.used));
      this.bytes = next;
    }
    this.bytes.set(data, this.used);
    const at = this.used;
    this.used += data.length;
    return at;
  }
  /** Appends bytes[start, end) without a view of them (a name is a few bytes: the loop costs less than a subarray). */
  addRange(bytes: Uint8Array, start: number, end: number): number {
    const n = end - start;
    if (this.used + n > this.bytes.length) return this.add(bytes.subarray(start, end));
    const pool = this.bytes;
    const at = this.used;
    for (let i = 0; i < n; i++) pool[at + i] = bytes[start + i]!;
    this.used = at + n;
    return at;
  }
}

export interface Extras {
  /** Symlink target. */
  link?: Uint8Array;
  /** Device major/minor. */
  rdevMajor?: number;
  rdevMinor?: number;
  /**
   * Hard-link group: entries with the same key are links to one file. From
   * protocol 30 it is the index at which the group's first member was sent,
   * before that the source's device and inode numbers.
   */
  hlinkKey?: string;
  /** -U: the access time (seconds) of a non-directory. */
  atime?: number;
  /** -A: the indexes of the entry's access ACL and (a directory's) default ACL in the session's stores (flist/acls.ts). */
  acl?: number;
  defAcl?: number;
  /** -X: the index of the entry's set of extended attributes in the session's store (flist/xattrs.ts). */
  xattr?: number;
  /** User/group names carried inline (incremental mode). */
  userName?: Uint8Array;
  groupName?: Uint8Array;
}

/** Whether `a` holds bytes[start, end), compared from the end (sibling directories differ there). */
function sameBytes(a: Uint8Array, bytes: Uint8Array, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = a.length - 1; i >= 0; i--) if (a[i] !== bytes[start + i]) return false;
  return true;
}

export class FileTable {
  private capacity = 0;
  mode = new Uint32Array(0);
  size = new Float64Array(0);
  mtime = new Float64Array(0);
  nsec = new Uint32Array(0);
  uid = new Uint32Array(0);
  gid = new Uint32Array(0);
  flags = new Uint32Array(0);
  dirId = new Uint32Array(0);
  nameAt = new Uint32Array(0);
  nameLen = new Uint16Array(0);
  /** Rarely present per-entry data, by row. */
  readonly extras = new Map<number, Extras>();
  /**
   * --checksum: the rows' file sums, sumLength bytes each at row * sumLength
   * (all of a session's sums have one length), and whether a row has one: a
   * column rather than an object and an array per file in `extras`.
   */
  private sums = new Uint8Array(0);
  private hasSum = new Uint8Array(0);
  private sumLength = 0;

  private readonly names = new Pool();
  /** Interned directory names: id -> bytes ("" for the top level). */
  readonly dirNames: Uint8Array[] = [EMPTY];
  private readonly dirIds = new Map<string, number>([["", 0]]);

  /** Makes rows [0, rows) addressable. */
  ensure(rows: number): void {
    if (rows <= this.capacity) return;
    let cap = Math.max(1024, this.capacity * 2);
    while (cap < rows) cap *= 2;
    const grow = <T extends Uint32Array | Float64Array | Uint16Array>(old: T, make: (n: number) => T): T => {
      const next = make(cap);
      next.set(old as never);
      return next;
    };
    this.mode = grow(this.mode, (n) => new Uint32Array(n));
    this.size = grow(this.size, (n) => new Float64Array(n));
    this.mtime = grow(this.mtime, (n) => new Float64Array(n));
    this.nsec = grow(this.nsec, (n) => new Uint32Array(n));
    this.uid = grow(this.uid, (n) => new Uint32Array(n));
    this.gid = grow(this.gid, (n) => new Uint32Array(n));
    this.flags = grow(this.flags, (n) => new Uint32Array(n));
    this.dirId = grow(this.dirId, (n) => new Uint32Array(n));
    this.nameAt = grow(this.nameAt, (n) => new Uint32Array(n));
    this.nameLen = grow(this.nameLen, (n) => new Uint16Array(n));
    const hasSum = new Uint8Array(cap);
    hasSum.set(this.hasSum);
    this.hasSum = hasSum;
    if (this.sumLength > 0) {
      const sums = new Uint8Array(cap * this.sumLength);
      sums.set(this.sums);
      this.sums = sums;
    }
    this.capacity = cap;
  }

  /** Sets the row's file sum (every sum of a session has the length of the first). */
  setSum(row: number, sum: Uint8Array): void {
    const n = sum.length;
    if (this.sumLength === 0) {
      this.sumLength = n;
      this.sums = new Uint8Array(this.capacity * n);
    } else if (n !== this.sumLength) throw new Error(`row ${row}: a file sum of ${n} bytes, not ${this.sumLength}`);
    this.sums.set(sum, row * n);
    this.hasSum[row] = 1;
  }

  /** The row's file sum (a view of the column), if it has one. */
  sum(row: number): Uint8Array | undefined {
    if (!this.hasSum[row]) return undefined;
    const n = this.sumLength;
    return this.sums.subarray(row * n, row * n + n);
  }

  /** Whether the row has a file sum and `digest` begins with it (compared in place: no view). */
  sumMatches(row: number, digest: Uint8Array): boolean {
    if (!this.hasSum[row]) return false;
    const n = this.sumLength;
    if (digest.length < n) return false;
    const sums = this.sums;
    for (let i = 0, at = row * n; i < n; i++, at++) if (digest[i] !== sums[at]) return false;
    return true;
  }

  /** The row has no file sum. */
  clearSum(row: number): void {
    this.hasSum[row] = 0;
  }

  /** Copies row `from`'s file sum (or its having none) to row `to`. */
  copySum(from: number, to: number): void {
    this.hasSum[to] = this.hasSum[from]!;
    if (!this.hasSum[from]) return;
    const n = this.sumLength;
    this.sums.copyWithin(to * n, from * n, from * n + n);
  }

  /** The directory interned last: entries come directory by directory, so most are checked against it, not the map. */
  private lastDirId = 0;

  internDir(dir: Uint8Array): number {
    return this.internDirRange(dir, 0, dir.length, false);
  }

  /** The array internDirRange last made a key from (the decoder's name buffer, mostly), and a Buffer over it. */
  private keySource: Uint8Array = EMPTY;
  private keyView: Buffer = Buffer.alloc(0);

  /**
   * internDir of bytes[start, end), without a view of them unless the name
   * is new. `reused`: bytes is an array that comes again (the decoder's name
   * buffer), whose Buffer view is kept for the next key.
   */
  private internDirRange(bytes: Uint8Array, start: number, end: number, reused: boolean): number {
    if (end === start) return 0;
    if (sameBytes(this.dirNames[this.lastDirId]!, bytes, start, end)) return this.lastDirId;
    let key: string;
    if (!reused) key = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("latin1");
    else {
      if (bytes !== this.keySource) {
        this.keySource = bytes;
        this.keyView = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      }
      key = this.keyView.toString("latin1", start, end);
    }
    let id = this.dirIds.get(key);
    if (id === undefined) {
      id = this.dirNames.length;
      this.dirNames.push(bytes.slice(start, end));
      this.dirIds.set(key, id);
    }
    this.lastDirId = id;
    return id;
  }

  /** Stores a full relative path for `row`, split into interned dir and base name. */
  setName(row: number, path: Uint8Array): void {
    this.storeName(row, path, 0, path.length, false);
  }

  /**
   * setName of the path bytes[start, end), for an array written again and
   * again (the decoder's name buffer: a Buffer over it is kept for making
   * directory keys). No view of the name is made: two per entry (dir, base)
   * were a good part of the receiving side's per-entry garbage.
   */
  setNameRange(row: number, bytes: Uint8Array, start: number, end: number): void {
    this.storeName(row, bytes, start, end, true);
  }

  private storeName(row: number, bytes: Uint8Array, start: number, end: number, reused: boolean): void {
    let slash = end - 1;
    while (slash >= start && bytes[slash] !== 0x2f) slash--;
    // A top-level name of an absolute -R path ("/tmp") keeps its slash in the base name, so that it
    // sorts and shows as upstream's "/tmp" (an empty, not a missing, dirname there).
    if (slash <= start) {
      this.dirId[row] = 0;
      this.nameAt[row] = this.names.addRange(bytes, start, end);
      this.nameLen[row] = end - start;
    } else {
      this.dirId[row] = this.internDirRange(bytes, start, slash, reused);
      this.nameAt[row] = this.names.addRange(bytes, slash + 1, end);
      this.nameLen[row] = end - slash - 1;
    }
    // Every entry, made by the walk or decoded (the decoder's name buffer: `reused`), passes here once: its garbage
    // counts towards the next collection.
    noteWork(reused ? RECEIVED_ENTRY_WORK : ENTRY_WORK);
  }

  baseName(row: number): Uint8Array {
    const at = this.nameAt[row]!;
    return this.names.bytes.subarray(at, at + this.nameLen[row]!);
  }

  /** The first byte of the row's base name, or -1 when it is empty (without a view of it). */
  baseNameStart(row: number): number {
    return this.nameLen[row]! === 0 ? -1 : this.names.bytes[this.nameAt[row]!]!;
  }

  /**
   * The base names of two rows compared byte by byte (without a view of
   * either). A prefix sorts first, unless `after` is given: then each name
   * reads on with that byte (a directory's "/"), and where the longer one has
   * that byte too the answer is NO_ANSWER (the caller compares the long way).
   */
  compareBaseNames(r1: number, r2: number, after = -1): number {
    const bytes = this.names.bytes;
    const at1 = this.nameAt[r1]!;
    const at2 = this.nameAt[r2]!;
    const len1 = this.nameLen[r1]!;
    const len2 = this.nameLen[r2]!;
    const n = Math.min(len1, len2);
    for (let i = 0; i < n; i++) {
      const d = bytes[at1 + i]! - bytes[at2 + i]!;
      if (d !== 0) return d;
    }
    if (after < 0 || len1 === len2) return len1 - len2;
    const d = len1 < len2 ? after - bytes[at2 + n]! : bytes[at1 + n]! - after;
    return d !== 0 ? d : NO_ANSWER;
  }

  /** Whether the row's base name is "." (without a view of it). */
  isDotName(row: number): boolean {
    return this.nameLen[row] === 1 && this.names.bytes[this.nameAt[row]!] === 0x2e;
  }

  /** Writes baseName(row) into `into` at `at` (room for nameLen[row] bytes): where it ends. */
  copyBaseName(row: number, into: Uint8Array, at: number): number {
    const pool = this.names.bytes;
    const from = this.nameAt[row]!;
    const len = this.nameLen[row]!;
    for (let i = 0; i < len; i++) into[at + i] = pool[from + i]!;
    return at + len;
  }

  dirName(row: number): Uint8Array {
    return this.dirNames[this.dirId[row]!]!;
  }

  /** The first byte of path(row), or -1 when it is empty (without a view of it). */
  firstPathByte(row: number): number {
    const dir = this.dirName(row);
    return dir.length > 0 ? dir[0]! : this.baseNameStart(row);
  }

  /** The full relative path, e.g. "dir/sub/file" (a new array; copied byte by byte, without a view of the base name). */
  path(row: number): Uint8Array {
    const out = new Uint8Array(this.pathLength(row));
    this.copyPath(row, out, 0);
    return out;
  }

  /** The length of path(row), without making it. */
  pathLength(row: number): number {
    const dirLen = this.dirName(row).length;
    return dirLen === 0 ? this.nameLen[row]! : dirLen + 1 + this.nameLen[row]!;
  }

  /** Writes path(row) into `into` at `at` (which has room for pathLength(row) bytes): where it ends. */
  copyPath(row: number, into: Uint8Array, at: number): number {
    const dir = this.dirName(row);
    let o = at;
    if (dir.length > 0) {
      for (let i = 0; i < dir.length; i++) into[o++] = dir[i]!;
      into[o++] = 0x2f;
    }
    return this.copyBaseName(row, into, o);
  }

  extra(row: number): Extras {
    let e = this.extras.get(row);
    if (!e) {
      e = {};
      this.extras.set(row, e);
    }
    return e;
  }

  /**
   * Puts rows [start, start + order.length) in the order given: position i
   * takes what row order[i] holds. Moved in place along the permutation's
   * cycles, through the one free row `spare` (left empty again), so sorting a
   * list needs no second copy of it in the table.
   */
  arrange(start: number, order: readonly number[], spare: number): void {
    this.ensure(spare + 1);
    const n = order.length;
    const placed = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (placed[i]) continue;
      if (order[i] === start + i) {
        placed[i] = 1;
        continue;
      }
      // Each position of the cycle takes its source's row, which frees the source for the next; the first row waits in the spare.
      this.copyRow(start + i, spare);
      for (let at = i; ; ) {
        placed[at] = 1;
        const from = order[at]! - start;
        if (from === i) {
          this.copyRow(spare, start + at);
          break;
        }
        this.copyRow(start + from, start + at);
        at = from;
      }
    }
    this.clearRow(spare);
  }

  /** Empties a row (every column zero, no extras). */
  clearRow(row: number): void {
    this.mode[row] = 0;
    this.size[row] = 0;
    this.mtime[row] = 0;
    this.nsec[row] = 0;
    this.uid[row] = 0;
    this.gid[row] = 0;
    this.flags[row] = 0;
    this.dirId[row] = 0;
    this.nameAt[row] = 0;
    this.nameLen[row] = 0;
    this.hasSum[row] = 0;
    this.extras.delete(row);
  }

  /** Copies row `from` to row `to` (used when sorting a freshly decoded list into place). */
  copyRow(from: number, to: number): void {
    this.mode[to] = this.mode[from]!;
    this.size[to] = this.size[from]!;
    this.mtime[to] = this.mtime[from]!;
    this.nsec[to] = this.nsec[from]!;
    this.uid[to] = this.uid[from]!;
    this.gid[to] = this.gid[from]!;
    this.flags[to] = this.flags[from]!;
    this.dirId[to] = this.dirId[from]!;
    this.nameAt[to] = this.nameAt[from]!;
    this.nameLen[to] = this.nameLen[from]!;
    this.copySum(from, to);
    const e = this.extras.get(from);
    if (e) this.extras.set(to, e);
    else this.extras.delete(to);
  }
}
