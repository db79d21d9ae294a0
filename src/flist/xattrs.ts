/**
 * -X/--xattrs on the wire and on disk (xattrs.c): each file-list entry is
 * followed by its extended attributes, either as the index of an identical
 * set sent before or literally (count, then per attribute the name with its
 * NUL, the value's length and the value). A value longer than 32 bytes goes
 * abbreviated to its MD5; the generator asks for the ones it lacks
 * (send_xattr_request, after an item's flags) and the sender echoes them in
 * full with the item (recv_xattr_request on both ends).
 *
 * Both sides keep every set sent in one numbered store, so an index means
 * the same set at each end. The receiving side's store is shared by its two
 * halves, which in upstream are two processes with a copy each: the
 * generator only uses an item's `state` (what it has asked for), the
 * receiver only its `value` (filled in when the full value arrives).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { RERR, RsyncError, protocolError, streamError } from "../errors.ts";
import type { ChunkReader } from "../protocol/reader.ts";
import type { ByteWriter } from "../protocol/writer.ts";
import { getXattr, listXattrs, removeXattr, setXattr } from "../fs/xattr.ts";
import { XSTAT_ATTR } from "../fs/fake-super.ts";
import { CF } from "../protocol/setup.ts";
import { ITEM } from "../roles/attrs.ts";
import { type FileTable, isDevice, isLink, isSpecial } from "./table.ts";

/** Values up to this length travel whole; longer ones as their checksum first. */
export const MAX_FULL_DATUM = 32;
/** MD5, the only xattr checksum upstream uses (compat.c: parse_csum_name(NULL)). */
export const XATTR_SUM_LEN = 16;
const MAX_WIRE_COUNT = 65536;
const MAX_WIRE_NAMELEN = 4096;
const MAX_VALUE_BYTES = 128 * 1024 * 1024;
const MAX_LIST_BYTES = 512 * 1024 * 1024;

/** An abbreviated item not asked for (yet), asked for, or settled (xattrs.c XSTATE_*). */
export const XSTATE = { ABBREV: 1, DONE: 2, TODO: 3 } as const;

const ascii = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
const USER_PREFIX = ascii("user.");
const SYSTEM_PREFIX = ascii("system.");
/** Where names rsync keeps for itself live on Linux; "user.rsync.%stat" and the like. */
export const RSYNC_PREFIX = ascii("user.rsync.");
const PERCENT = 0x25;
export const XSTAT_NAME = ascii(XSTAT_ATTR);
const RSYNC_OWN_SUFFIXES = ["stat", "aacl", "dacl"].map(ascii);

export interface XattrItem {
  /** The name as it is (or will be) on this side's disk, without its NUL. */
  name: Uint8Array;
  /** The value's length (upstream datum_len). */
  length: number;
  /** The value; null while only its checksum is known here. */
  value: Uint8Array | null;
  /** MD5 of the value when it is longer than MAX_FULL_DATUM. */
  sum: Uint8Array | null;
  /** 1-based position in the sender's list: what requests name. */
  num: number;
  /** XSTATE of an abbreviated item on this side. */
  state: number;
}

export type XattrList = XattrItem[];

/**
 * Whose rules apply (upstream's am_sender, am_root and preserve_xattrs):
 * `amRoot` is 1 for root, 2 for --super, 0 otherwise, -1 for --fake-super.
 */
export interface XattrPolicy {
  amSender: boolean;
  amRoot: number;
  /** How many -X were given (a second one also copies rsync's own "user.rsync.%" names). */
  level: number;
}

const startsWith = (name: Uint8Array, prefix: Uint8Array) => name.length >= prefix.length && Buffer.compare(name.subarray(0, prefix.length), prefix) === 0;
const bytesEqual = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;
const compareNames = (a: XattrItem, b: XattrItem) => Buffer.compare(a.name, b.name);
const md5 = (data: Uint8Array) => new Uint8Array(createHash("md5").update(data).digest());

/** "user.rsync.%..." (not a disguised namespace like "user.rsync.security.x"). */
function isRsyncOwn(name: Uint8Array): boolean {
  return name.length > RSYNC_PREFIX.length && name[RSYNC_PREFIX.length] === PERCENT && startsWith(name, RSYNC_PREFIX);
}

/** One of the names --fake-super keeps ownership, modes and ACLs in. */
function isFakeSuperOwn(name: Uint8Array): boolean {
  if (!isRsyncOwn(name)) return false;
  const suffix = name.subarray(RSYNC_PREFIX.length + 1);
  return RSYNC_OWN_SUFFIXES.some((s) => bytesEqual(s, suffix));
}

/**
 * Which of a file's names this side reads, compares and removes: a sender
 * every namespace but system. (ACLs live there), a receiver as root too, any
 * other receiver only user.
 */
function inOurNamespaces(name: Uint8Array, userOnly: boolean): boolean {
  return userOnly ? startsWith(name, USER_PREFIX) : !startsWith(name, SYSTEM_PREFIX);
}

/**
 * The attributes of a file (xattrs.c get_xattr / rsync_xal_get), sorted by
 * name and numbered. Symlinks, devices and specials have none unless they
 * are being preserved. Values over 32 bytes keep only their checksum when
 * `keepLong` is false (a sender re-reads them when asked).
 */
export function readXattrs(path: Uint8Array, mode: number, p: XattrPolicy, kinds: { links: boolean; devices: boolean; specials: boolean }, keepLong = false): XattrList {
  if (isLink(mode) ? !kinds.links : isSpecial(mode) ? !kinds.specials : isDevice(mode) ? !kinds.devices : false) return [];
  const userOnly = p.amSender ? false : p.amRoot === 0;
  const list: XattrList = [];
  for (const name of listXattrs(path)) {
    if (!inOurNamespaces(name, userOnly)) continue;
    // rsync's own names are copied only with -XX, and never those --fake-super is using.
    if (isRsyncOwn(name) && ((p.amSender && p.level < 2) || (p.amRoot < 0 && isFakeSuperOwn(name)))) continue;
    const value = getXattr(path, name);
    if (value === null) continue; // removed since it was listed
    const long = value.length > MAX_FULL_DATUM;
    list.push({ name, length: value.length, value: long && !keepLong ? null : value, sum: long ? md5(value) : null, num: 0, state: XSTATE.ABBREV });
  }
  list.sort(compareNames);
  list.forEach((item, i) => (item.num = i + 1));
  return list;
}

/** A set's identity for finding an earlier identical one (find_matching_xattr). */
function keyOf(list: XattrList): string {
  const parts: string[] = [];
  for (const it of list) {
    parts.push(Buffer.from(it.name).toString("latin1"), String(it.length), Buffer.from(it.sum ?? it.value!).toString("latin1"));
  }
  return parts.join("\0");
}

/** The sending side's store: the sets sent, for reuse by index and for answering requests. */
export class XattrSender {
  private readonly lists: XattrList[] = [];
  private readonly known = new Map<string, number>();

  constructor(private readonly p: XattrPolicy) {}

  /** send_xattr: the set's index, or the set itself (then stored under the next index). Returns the index. */
  write(w: ByteWriter, list: XattrList): number {
    const key = keyOf(list);
    const known = this.known.get(key);
    if (known !== undefined) {
      w.varint(known + 1);
      return known;
    }
    w.varint(0);
    w.varint(list.length);
    for (const it of list) {
      let name = it.name;
      // --fake-super keeps other namespaces as "user.rsync.<name>": they go out under their own names.
      if (this.p.amRoot < 0 && name.length > RSYNC_PREFIX.length && name[RSYNC_PREFIX.length] !== PERCENT && startsWith(name, RSYNC_PREFIX)) {
        name = name.subarray(RSYNC_PREFIX.length);
      }
      w.varint(name.length + 1);
      w.varint(it.length);
      w.bytes(name).u8(0);
      w.bytes(it.length > MAX_FULL_DATUM ? it.sum! : it.value!);
    }
    const ndx = this.lists.length;
    this.lists.push(list);
    this.known.set(key, ndx);
    return ndx;
  }

  /** recv_xattr_request as the sender: the values the generator asks for are marked to go with the echoed item. */
  markRequested(ndx: number, nums: number[], fileName: string): void {
    const list = this.lists[ndx];
    if (!list) throw protocolError(`recv_xattr_request: internal data error!`);
    for (const num of nums) {
      const it = list[num - 1];
      if (!it || it.num !== num) throw protocolError(`[sender] could not find xattr #${num} for ${fileName}`);
      if (it.length <= MAX_FULL_DATUM || it.state !== XSTATE.ABBREV) {
        throw protocolError(`[sender] internal abbrev error on ${fileName} (${Buffer.from(it.name).toString("latin1")}, len=${it.length})!`);
      }
      it.state = XSTATE.TODO;
    }
  }

  /**
   * send_xattr_request as the sender: each value asked for, re-read from
   * `path` (its length may have changed), then the end of the list. A value
   * that cannot be read goes as empty, with `onError` told.
   */
  writeRequested(w: ByteWriter, ndx: number, path: Uint8Array, onError: (name: Uint8Array) => void): void {
    const list = this.lists[ndx] ?? [];
    let prior = 0;
    for (const it of list) {
      if (it.length <= MAX_FULL_DATUM || it.state !== XSTATE.TODO) continue;
      it.state = XSTATE.DONE;
      w.varint(it.num - prior);
      prior = it.num;
      let value: Uint8Array | null = null;
      try {
        value = getXattr(path, it.name);
      } catch {
        value = null;
      }
      if (value === null) {
        onError(it.name);
        w.varint(0);
        continue;
      }
      w.varint(value.length);
      w.bytes(value);
    }
    w.u8(0);
  }
}

/** Reads the relative numbers of a request (or of an echoed answer, without values) up to its 0. */
export function readRequestNums(r: ChunkReader): number[] {
  const nums: number[] = [];
  let num = 0;
  for (;;) {
    const rel = r.varint();
    if (rel === 0) return nums;
    num += rel;
    if (num <= 0 || num > MAX_WIRE_COUNT) throw protocolError(`xattr rel_pos accumulation out of range`);
    nums.push(num);
  }
}

/** A set as read from the wire, before it is stored (an entry is committed whole or not at all). */
export type ReceivedXattrs = { ref: number } | { list: XattrList };

/** The receiving side's store (receive_xattr, xattr_diff, rsync_xal_set and the request halves). */
export class XattrReceiver {
  private readonly lists: XattrList[] = [];

  constructor(
    readonly p: XattrPolicy,
    /** want_xattr_optim (see xattrRequestFollows). */
    readonly optim: boolean,
  ) {}

  /** The destination's own set, as the generator compares it (an entry that is not there has none). */
  readLocal(path: Uint8Array, mode: number, kinds: { links: boolean; devices: boolean; specials: boolean }): XattrList {
    try {
      return readXattrs(path, mode, this.p, kinds);
    } catch {
      return [];
    }
  }

  /** receive_xattr: one entry's set, read without changing the store. */
  read(r: ChunkReader, fileName: () => string): ReceivedXattrs {
    const ndx = r.varint();
    // (Upstream's exit codes: RERR_STREAMIO here, RERR_FILEIO for a name without its NUL.)
    if (ndx < 0 || ndx > this.lists.length) throw streamError(`receive_xattr: xa index ${ndx} out of range for ${fileName()}`);
    if (ndx !== 0) return { ref: ndx - 1 };
    const count = r.varint();
    if (count < 0 || count > MAX_WIRE_COUNT) throw protocolError(`wire value xattr count out of range: ${count} not in [0,${MAX_WIRE_COUNT}]`);
    const p = this.p;
    const list: XattrList = [];
    let total = 0;
    let needSort = false;
    for (let num = 1; num <= count; num++) {
      const nameLen = r.varint();
      if (nameLen < 0 || nameLen > MAX_WIRE_NAMELEN) throw protocolError(`wire size xattr name_len out of range: ${nameLen} > ${MAX_WIRE_NAMELEN}`);
      const length = r.varint();
      if (length < 0) throw protocolError(`wire size xattr datum_len out of range: ${length}`);
      if (length > MAX_VALUE_BYTES) throw protocolError("xattr datum_len exceeds per-value limit");
      total += nameLen + length;
      if (total > MAX_LIST_BYTES) throw protocolError("xattr list exceeds per-file limit");
      const wireName = r.bytes(nameLen);
      if (nameLen < 1 || wireName[nameLen - 1] !== 0) throw new RsyncError(RERR.FILEIO, "Invalid xattr name received (missing trailing \\0).");
      let name = wireName.slice(0, nameLen - 1);
      const long = length > MAX_FULL_DATUM;
      const data = r.bytes(long ? XATTR_SUM_LEN : length).slice();
      // A receiver that is not root keeps only the user namespace; --fake-super keeps the others under "user.rsync.".
      if (p.amRoot <= 0 && !startsWith(name, USER_PREFIX)) {
        if (p.amRoot === 0) continue;
        const prefixed = new Uint8Array(RSYNC_PREFIX.length + name.length);
        prefixed.set(RSYNC_PREFIX);
        prefixed.set(name, RSYNC_PREFIX.length);
        name = prefixed;
        needSort = true;
      }
      if (p.level < 2 && isRsyncOwn(name)) continue;
      list.push({ name, length, value: long ? null : data, sum: long ? data : null, num, state: XSTATE.ABBREV });
    }
    if (needSort) list.sort(compareNames);
    return { list };
  }

  /** Stores a set read by `read`; returns its index. */
  commit(x: ReceivedXattrs): number {
    if ("ref" in x) return x.ref;
    this.lists.push(x.list);
    return this.lists.length - 1;
  }

  list(ndx: number | undefined): XattrList {
    return ndx === undefined ? [] : (this.lists[ndx] ?? []);
  }

  /**
   * xattr_diff: whether the destination's set (`local`, null for a new
   * entry) differs from the sender's. With `findAll` the abbreviated values
   * that differ are marked to be asked for.
   */
  differs(ndx: number | undefined, local: XattrList | null, findAll: boolean): boolean {
    const snd = this.list(ndx);
    const rec = local ?? [];
    let equal = snd.length === rec.length;
    if (!equal && !findAll) return true;
    let i = 0;
    let j = 0;
    while (i < snd.length) {
      const s = snd[i]!;
      const l = j < rec.length ? rec[j]! : null;
      const cmp = l ? Buffer.compare(s.name, l.name) : -1;
      let same: boolean;
      if (cmp > 0) same = false;
      else if (s.length > MAX_FULL_DATUM) {
        same = cmp === 0 && s.length === l!.length && bytesEqual(s.sum!, l!.sum!);
        if (!same && findAll && s.state === XSTATE.ABBREV) s.state = XSTATE.TODO;
      } else {
        same = cmp === 0 && s.length === l!.length && bytesEqual(s.value!, l!.value!);
      }
      if (!same) {
        if (!findAll) return true;
        equal = false;
      }
      if (cmp <= 0) i++;
      if (cmp >= 0) j++;
    }
    if (j < rec.length) equal = false;
    return !equal;
  }

  /**
   * send_xattr_request as the generator: the numbers of the values marked
   * by `differs`, then the end (to `w`; without one only the states settle).
   */
  writeRequest(w: ByteWriter | null, ndx: number | undefined): void {
    let prior = 0;
    for (const it of this.list(ndx)) {
      if (it.length <= MAX_FULL_DATUM) continue;
      if (it.state === XSTATE.ABBREV) {
        // Left abbreviated: it matched, and the receiver keeps the local value for later files with this set.
        it.state = XSTATE.DONE;
        continue;
      }
      if (it.state !== XSTATE.TODO) continue;
      if (!w) throw new Error("xattr values requested without a channel");
      it.state = XSTATE.DONE;
      w.varint(it.num - prior);
      prior = it.num;
    }
    w?.u8(0);
  }

  /** recv_xattr_request as the receiver: the full values that came with an item, read without storing them. */
  readValues(r: ChunkReader): { num: number; value: Uint8Array }[] {
    const got: { num: number; value: Uint8Array }[] = [];
    let num = 0;
    for (;;) {
      const rel = r.varint();
      if (rel === 0) return got;
      num += rel;
      const length = r.varint();
      if (length < 0 || length > MAX_VALUE_BYTES) throw protocolError("xattr datum_len exceeds per-value limit");
      got.push({ num, value: r.bytes(length).slice() });
    }
  }

  /** Puts values read by `readValues` in place of their checksums. */
  storeValues(ndx: number | undefined, got: { num: number; value: Uint8Array }[], fileName: string): void {
    const list = this.list(ndx);
    for (const { num, value } of got) {
      const it = list.find((i) => i.num === num);
      if (!it) throw protocolError(`[receiver] could not find xattr #${num} for ${fileName}`);
      if (it.length <= MAX_FULL_DATUM || it.value !== null) {
        throw protocolError(`[receiver] internal abbrev error on ${fileName} (${Buffer.from(it.name).toString("latin1")}, len=${it.length})!`);
      }
      // The length stays as listed: it is what the generator compares (its own copy, upstream).
      it.value = value;
    }
  }

  /**
   * rsync_xal_set: gives `path` exactly the sender's set. A value still
   * abbreviated here is taken from `basis` when its checksum matches.
   * Names outside our namespaces, and --fake-super's own stat, are left
   * alone. Returns the messages of what failed (upstream's wording), and
   * whether anything was set or removed (upstream then sets the mtime again).
   */
  apply(path: Uint8Array, ndx: number | undefined, basis: Uint8Array, fullName: string): { errors: string[]; changed: boolean } {
    const errors: string[] = [];
    let changed = false;
    const p = this.p;
    const list = this.list(ndx);
    const present = listXattrs(path);
    // Changing a user. attribute takes write access: a receiver that is not root lends itself owner write for the while.
    const lentFrom = p.amRoot === 0 ? lendWriteAccess(path) : null;
    try {
      changed = this.setAll(path, list, present, basis, fullName, errors);
    } finally {
      if (lentFrom !== null) fs.chmodSync(asBuffer(path), lentFrom);
    }
    return { errors, changed };
  }

  private setAll(path: Uint8Array, list: XattrList, present: Uint8Array[], basis: Uint8Array, fullName: string, errors: string[]): boolean {
    const p = this.p;
    let changed = false;
    for (const it of list) {
      const shown = Buffer.from(it.name).toString("latin1");
      let value = it.value;
      if (value === null) {
        let local: Uint8Array | null = null;
        try {
          local = getXattr(basis, it.name);
        } catch {
          local = null;
        }
        if (local === null || local.length !== it.length || !bytesEqual(md5(local), it.sum!)) {
          errors.push(`Missing abbreviated xattr value, ${shown}, for ${fullName}`);
          continue;
        }
        // Known now: later files with this set get it from here.
        it.value = local;
        value = local;
        if (bytesEqual(path, basis)) continue;
      }
      try {
        setXattr(path, it.name, value);
        changed = true;
      } catch (e) {
        errors.push(`rsync: [receiver] rsync_xal_set: lsetxattr(${fullName},"${shown}") failed: ${errnoText(e)}`);
      }
    }
    const userOnly = p.amRoot <= 0;
    for (const name of present) {
      if (!inOurNamespaces(name, userOnly)) continue;
      if (p.amRoot < 0 && bytesEqual(name, XSTAT_NAME)) continue;
      if (list.some((it) => bytesEqual(it.name, name))) continue;
      try {
        removeXattr(path, name);
        changed = true;
      } catch (e) {
        errors.push(`rsync: [receiver] rsync_xal_set: lremovexattr(${fullName},"${Buffer.from(name).toString("latin1")}") failed: ${errnoText(e)}`);
      }
    }
    return changed;
  }
}

const asBuffer = (p: Uint8Array) => Buffer.from(p.buffer, p.byteOffset, p.byteLength);

/** set_xattr: when `path` (not a symlink) is not writable, makes it owner-writable; returns the mode to put back, or null. */
function lendWriteAccess(path: Uint8Array): number | null {
  try {
    const st = fs.lstatSync(asBuffer(path));
    if (st.isSymbolicLink()) return null;
    try {
      fs.accessSync(asBuffer(path), fs.constants.W_OK);
      return null;
    } catch {
      const mode = st.mode & 0o7777;
      fs.chmodSync(asBuffer(path), mode | 0o200);
      return mode;
    }
  } catch {
    return null;
  }
}

/** "Operation not supported (95)", as rsyserr words a system error. */
function errnoText(e: unknown): string {
  const err = e as { errno?: number; message?: string };
  const m = /^[A-Z0-9]+: ([^,]+)/.exec(err.message ?? "");
  return `${m ? m[1] : String(e)} (${err.errno ?? 0})`;
}

/**
 * Whether an item's flags carry an xattr request (generator to sender) or
 * the values asked for (sender to receiver): when it reports an xattr
 * change, unless the peer lets a hard link's item go without
 * (want_xattr_optim: protocol 31+ without CF_AVOID_XATTR_OPTIM).
 */
export function xattrRequestFollows(iflags: number, optim: boolean): boolean {
  if (!(iflags & ITEM.REPORT_XATTR)) return false;
  const both = ITEM.XNAME_FOLLOWS | ITEM.LOCAL_CHANGE;
  return !(optim && (iflags & both) === both);
}

/** want_xattr_optim (compat.c). */
export const xattrOptim = (protocol: number, compatFlags: number) => protocol >= 31 && !(compatFlags & CF.AVOID_XATTR_OPTIM);

/**
 * The sending side's -X: each entry's attributes, read as it goes out
 * (flist.c send_file_name), and the values the generator asks for.
 */
export class SenderXattrs {
  readonly store: XattrSender;

  constructor(
    private readonly p: XattrPolicy,
    private readonly kinds: { links: boolean; devices: boolean; specials: boolean },
    private readonly t: FileTable,
    private readonly localPath: (row: number) => Uint8Array,
    private readonly onError: (text: string) => void,
    readonly optim: boolean,
  ) {
    this.store = new XattrSender(p);
  }

  /** After an entry: its set (an empty one when it cannot be read, with the error said). */
  afterEntry(w: ByteWriter, row: number): void {
    const path = this.localPath(row);
    let list: XattrList = [];
    try {
      list = readXattrs(path, this.t.mode[row]!, this.p, this.kinds);
    } catch (e) {
      this.onError(`rsync: [sender] get_xattr_names: llistxattr("${Buffer.from(path).toString("latin1")}",1024) failed: ${errnoText(e)}`);
    }
    this.t.extra(row).xattr = this.store.write(w, list);
  }

  /** The generator's request that came with an item (read whole before anything is marked). */
  readRequest(r: ChunkReader, iflags: number): number[] | null {
    return xattrRequestFollows(iflags, this.optim) ? readRequestNums(r) : null;
  }

  markRequested(row: number, nums: number[]): void {
    this.store.markRequested(this.t.extras.get(row)?.xattr ?? -1, nums, Buffer.from(this.t.path(row)).toString("latin1"));
  }

  /** The echoed item's values (write_ndx_and_attrs → send_xattr_request). */
  writeValues(w: ByteWriter, row: number, iflags: number): void {
    if (!xattrRequestFollows(iflags, this.optim)) return;
    const path = this.localPath(row);
    this.store.writeRequested(w, this.t.extras.get(row)?.xattr ?? -1, path, (name) =>
      this.onError(`failed to re-read xattr ${Buffer.from(name).toString("latin1")} for ${Buffer.from(path).toString("latin1")}`),
    );
  }
}

/** compat.c setup_protocol: ACLs and xattrs travel from protocol 30 on (a local copy has no wire to worry about). */
export function checkXattrProtocol(o: { acls: boolean; xattrs: number }, protocol: number, local: boolean): void {
  if (protocol >= 30 || local) return;
  if (o.acls) throw new RsyncError(RERR.PROTOCOL, `--acls requires protocol 30 or higher (negotiated ${protocol}).`);
  if (o.xattrs) throw new RsyncError(RERR.PROTOCOL, `--xattrs requires protocol 30 or higher (negotiated ${protocol}).`);
}
