/**
 * Decodes file-list entries (flist.c recv_file_entry) into a FileTable.
 *
 * Entries are delta-encoded against the previous entry of the connection
 * (name prefix, mode, mtime, ids, rdev), so the decoder is stateful. An entry
 * is read completely into locals before that state changes: if its bytes
 * run out part-way (UNDERFLOW), the retry starts from the same state.
 *
 * Everything from the wire is bounded here before use.
 */
import type { AclReceiver } from "./acls.ts";
import { RERR, RsyncError, protocolError } from "../errors.ts";
import type { ChunkReader } from "../protocol/reader.ts";
import { cleanWireName, isCleanWireName } from "./wire-name.ts";
import { convertFailed, type NameConverter } from "./iconv.ts";
import type { XattrReceiver } from "./xattrs.ts";
import { F, type FileTable, S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK, isDevice, isDir, isLink, isReg, isSpecial } from "./table.ts";

export const XMIT = {
  TOP_DIR: 1 << 0,
  SAME_MODE: 1 << 1,
  EXTENDED_FLAGS: 1 << 2,
  SAME_RDEV_PRE28: 1 << 2,
  SAME_UID: 1 << 3,
  SAME_GID: 1 << 4,
  SAME_NAME: 1 << 5,
  LONG_NAME: 1 << 6,
  SAME_TIME: 1 << 7,
  SAME_RDEV_MAJOR: 1 << 8,
  NO_CONTENT_DIR: 1 << 8,
  HLINKED: 1 << 9,
  SAME_DEV_PRE30: 1 << 10,
  USER_NAME_FOLLOWS: 1 << 10,
  RDEV_MINOR_8_PRE30: 1 << 11,
  GROUP_NAME_FOLLOWS: 1 << 11,
  HLINK_FIRST: 1 << 12,
  IO_ERROR_ENDLIST: 1 << 12,
  MOD_NSEC: 1 << 13,
  SAME_ATIME: 1 << 14,
  CRTIME_EQ_MTIME: 1 << 17,
} as const;

export const MAXPATHLEN = 4096;
/** Nanoseconds must be below one second (upstream's MAX_WIRE_NSEC bound). */
const MAX_NSEC = 999_999_999;
const VALID_TYPES = new Set([S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK]);
export const IOERR_GENERAL = 1;
export const IOERR_VANISHED = 2;
export const IOERR_DEL_LIMIT = 4;
/** The IOERR_* bits there are; a peer's others are dropped (rsync.h IOERR_VALID_MASK). */
export const IOERR_VALID_MASK = IOERR_GENERAL | IOERR_VANISHED | IOERR_DEL_LIMIT;

export interface FlistWireOptions {
  protocol: number;
  varintFlags: boolean;
  safeFlist: boolean;
  preserveUid: boolean;
  preserveGid: boolean;
  /** -A: the uid and gid lists come with ACLs even without -o/-g (their named users and groups; uidlist.c recv_id_list). */
  preserveAcls?: boolean;
  preserveLinks: boolean;
  preserveDevices: boolean;
  preserveSpecials: boolean;
  preserveHardLinks: boolean;
  /** --checksum: bytes of file sum per regular file (0 when off). */
  checksumLength: number;
  relativePaths: boolean;
  /** -r: below a top directory every directory's contents are part of the transfer (protocol < 30). */
  recursive: boolean;
  /** -U: non-directories carry their access time (flist.c atimes_ndx). */
  preserveAtimes?: boolean;
  /** --chmod on the receiving side: each received mode (not a symlink's) is changed as it arrives. */
  tweakMode?: (mode: number) => number;
  /** --delete-missing-args: a mode-0 entry is a missing source argument, not a bad mode. */
  missingEntries?: boolean;
  /** --iconv: names are UTF-8 on the wire, converted to and from our charset. */
  iconv?: NameConverter | null;
  /** --iconv and the peer can (CF_SYMLINK_ICONV): the sender converts symlink targets too. */
  symlinkIconv?: boolean;
  /** --iconv: a received name or target that does not convert; the entry is dropped (its name emptied). */
  onUnconvertible?: (text: string, utf8: boolean) => void;
}

/** What the end-of-list marker said. */
export interface ListEnd {
  ioError: number;
}

export interface IdNames {
  users: Map<number, Uint8Array>;
  groups: Map<number, Uint8Array>;
}

/** bytes[start, end) as latin1 text (for messages). */
const latin1 = (bytes: Uint8Array, start: number, end: number) => Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("latin1");

export class FlistDecoder {
  /**
   * The previous entry's name as sent and the one being read, in the two
   * halves of one buffer: the shared prefix moves by copyWithin and the
   * suffix is copied in from the reader, so no array is made per name. The
   * halves swap when an entry is committed (an UNDERFLOW leaves the previous
   * name as it was).
   */
  private readonly nameBuf = new Uint8Array(2 * MAXPATHLEN);
  /** The entry's file sum as read, until the entry is committed to its row. */
  private sumBuf = new Uint8Array(0);
  private lastNameAt = 0;
  private lastNameLen = 0;
  private mode = 0;
  private mtime = 0;
  /** -U: the last access time read (XMIT_SAME_ATIME repeats it). */
  private atime = 0;
  private uid = 0;
  private gid = 0;
  private rdevMajor = 0;
  private rdevMinor = 0;
  /** Protocols 28-29: the previous hard-linked entry's device (XMIT_SAME_DEV_pre30). */
  private lastDev = 0;
  /** Protocol < 30: we are below a top directory, so directories are content dirs (upstream in_del_hier). */
  private inDelHier = false;
  private delHierNameLen = 0;
  /** -A: where the entries' ACLs are read into (none without -A). */
  acls: AclReceiver | null = null;
  /** -X: where the entries' extended attributes are read into (none without -X). */
  xattrs: XattrReceiver | null = null;
  /** uid/gid -> name, as the sender announced them. */
  readonly names: IdNames = { users: new Map(), groups: new Map() };
  /** --debug=own2: each uid/gid an entry carries on the wire (protocol 30+), with its name when one came along. */
  onId: ((user: boolean, id: number, name: Uint8Array | undefined) => void) | null = null;
  /** The last entry read named an earlier member of its hard-link group (protocol 30+): that one's index, else -1. */
  lastHardLinkFirst = -1;

  constructor(
    private readonly t: FileTable,
    private readonly o: FlistWireOptions,
  ) {}

  /** Reads the flags of the next entry; null at the end of the list (with its io_error). */
  readFlags(r: ChunkReader): number | ListEnd {
    if (this.o.varintFlags) {
      const flags = r.varint();
      if (flags === 0) return { ioError: r.varint() & IOERR_VALID_MASK };
      return flags;
    }
    let flags = r.u8();
    if (flags === 0) return { ioError: 0 };
    if (this.o.protocol >= 28 && flags & XMIT.EXTENDED_FLAGS) flags |= r.u8() << 8;
    if (flags === (XMIT.EXTENDED_FLAGS | XMIT.IO_ERROR_ENDLIST)) {
      if (!this.o.safeFlist) throw protocolError(`Invalid flist flag: ${flags.toString(16)}`);
      return { ioError: r.varint() & IOERR_VALID_MASK };
    }
    return flags;
  }

  /**
   * Reads one entry with the given flags into `row`. `listStart` and
   * `listUsed` bound hard-link references (they must point at an entry
   * already received).
   */
  readEntry(r: ChunkReader, flags: number, row: number, listStart: number, listUsed: number): void {
    const o = this.o;
    const p = o.protocol;

    // Name: a prefix shared with the previous name, then a suffix.
    const l1 = flags & XMIT.SAME_NAME ? r.u8() : 0;
    const l2 = flags & XMIT.LONG_NAME ? (p >= 30 ? r.varint() : r.i32()) : r.u8();
    if (l1 > this.lastNameLen || l2 < 0 || l2 >= MAXPATHLEN - l1) {
      throw protocolError(`overflow: flags=0x${flags.toString(16)} l1=${l1} l2=${l2} in the received file list`);
    }
    // The name as sent is nameBuf[nameAt, nameEnd).
    const nameBuf = this.nameBuf;
    const nameAt = MAXPATHLEN - this.lastNameAt;
    const nameEnd = nameAt + l1 + l2;
    if (l1 > 0) nameBuf.copyWithin(nameAt, this.lastNameAt, this.lastNameAt + l1);
    r.readInto(nameBuf, nameAt + l1, l2);

    let size: number;
    let mtime = this.mtime;
    let atime = this.atime;
    let nsec = 0;
    let mode = this.mode;
    let uid = this.uid;
    let gid = this.gid;
    let userName: Uint8Array | undefined;
    let groupName: Uint8Array | undefined;
    let rdevMajor = this.rdevMajor;
    let rdevMinor = this.rdevMinor;
    let pendingDev = this.lastDev;
    /** --iconv: why this entry's name or target did not convert. */
    let unconvertible: string | undefined;
    let link: Uint8Array | undefined;
    /** --checksum: where the entry's file sum is, if it has one: read into sumBuf, or a hard-link group's first member's. */
    let sumFrom: "none" | "read" | "first" = "none";
    let hlinkFirst = -1;
    let hlinkKey: string | undefined;

    if (p >= 30 && o.preserveHardLinks && flags & XMIT.HLINKED && !(flags & XMIT.HLINK_FIRST)) {
      hlinkFirst = r.varint();
      if (hlinkFirst < 0 || hlinkFirst >= listStart + listUsed) {
        throw protocolError(`hard-link reference out of range: ${hlinkFirst} (${listStart + listUsed})`);
      }
    }

    if (hlinkFirst >= listStart) {
      // A later member of a hard-link group in this same list: its attributes are the first member's.
      const t = this.t;
      size = t.size[hlinkFirst]!;
      mtime = t.mtime[hlinkFirst]!;
      nsec = t.nsec[hlinkFirst]!;
      mode = t.mode[hlinkFirst]!;
      uid = t.uid[hlinkFirst]!;
      gid = t.gid[hlinkFirst]!;
      const first = t.extras.get(hlinkFirst);
      link = first?.link;
      // Only a device's rdev becomes the state the next entry compares with.
      if (o.preserveDevices && isDevice(mode)) {
        rdevMajor = first?.rdevMajor ?? 0;
        rdevMinor = first?.rdevMinor ?? 0;
      }
      sumFrom = "first";
      if (o.preserveAtimes && !isDir(mode)) atime = first?.atime ?? 0;
    } else {
      size = p >= 30 ? r.varlong(3) : r.longint();
      if (!(flags & XMIT.SAME_TIME)) mtime = p >= 30 ? r.varlong(4) : r.u32();
      if (flags & XMIT.MOD_NSEC) {
        nsec = r.varint();
        if (nsec < 0 || nsec > MAX_NSEC) throw protocolError(`invalid modtime_nsec ${nsec} in the received file list`);
      }
      if (!(flags & XMIT.SAME_MODE)) {
        mode = r.i32() >>> 0;
        if (!VALID_TYPES.has(mode & S_IFMT) && !(mode === 0 && o.missingEntries)) {
          throw protocolError(`invalid file mode 0${mode.toString(8)} for ${latin1(nameBuf, nameAt, nameEnd)}`);
        }
      }
      if (o.preserveAtimes && !isDir(mode) && !(flags & XMIT.SAME_ATIME)) atime = r.varlong(4);
      // flist.c recv_file_entry: the changed mode is also what the next entry's "same mode" means.
      if (o.tweakMode && mode && !isLink(mode)) mode = o.tweakMode(mode);
      if (o.preserveUid && !(flags & XMIT.SAME_UID)) {
        uid = p >= 30 ? r.varint() >>> 0 : r.i32() >>> 0;
        if (p >= 30 && flags & XMIT.USER_NAME_FOLLOWS) userName = r.bytes(r.u8()).slice();
      }
      if (o.preserveGid && !(flags & XMIT.SAME_GID)) {
        gid = p >= 30 ? r.varint() >>> 0 : r.i32() >>> 0;
        if (p >= 30 && flags & XMIT.GROUP_NAME_FOLLOWS) groupName = r.bytes(r.u8()).slice();
      }
      if ((o.preserveDevices && isDevice(mode)) || (o.preserveSpecials && isSpecial(mode) && p < 31)) {
        if (p < 28) {
          if (!(flags & XMIT.SAME_RDEV_PRE28)) {
            const rdev = r.i32() >>> 0;
            rdevMajor = (rdev >>> 8) & 0xfff;
            rdevMinor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
          }
        } else {
          if (!(flags & XMIT.SAME_RDEV_MAJOR)) rdevMajor = p >= 30 ? r.varint() >>> 0 : r.i32() >>> 0;
          if (p >= 30) rdevMinor = r.varint() >>> 0;
          else rdevMinor = flags & XMIT.RDEV_MINOR_8_PRE30 ? r.u8() : r.i32() >>> 0;
        }
        size = 0;
      } else if (isDevice(mode)) {
        size = 0;
      } else if (p < 28) {
        // Before 28 the rdev compared with is reset by every entry without one.
        rdevMajor = 0;
        rdevMinor = 0;
      }
      if (o.preserveLinks && isLink(mode)) {
        const len = p >= 30 ? r.varint() : r.i32();
        if (len < 0 || len >= MAXPATHLEN) throw protocolError(`overflow: linkname_len=${len} in the received file list`);
        link = r.bytes(len).slice();
        if (o.symlinkIconv && o.iconv) {
          const local = o.iconv.fromWire(link);
          if (convertFailed(local)) unconvertible = `symlink data for: "${process.cwd()}/%NAME%" (${local.error})`;
          else link = local;
        }
      }
      // Before protocol 30 hard-linked files carry their device and inode (all regular files before 28).
      const devIno = p < 30 && o.preserveHardLinks && !isDir(mode) && (p >= 28 ? (flags & XMIT.HLINKED) !== 0 : isReg(mode));
      if (devIno) {
        const dev = p >= 28 && flags & XMIT.SAME_DEV_PRE30 ? this.lastDev : r.longint() - 1;
        hlinkKey = `d${dev}:${r.longint()}`;
        pendingDev = dev;
      }
      if (o.checksumLength > 0 && (isReg(mode) || p < 28)) {
        const sum = r.bytes(o.checksumLength);
        if (isReg(mode)) {
          if (this.sumBuf.length !== sum.length) this.sumBuf = new Uint8Array(sum.length);
          this.sumBuf.set(sum);
          sumFrom = "read";
        }
      }
    }

    if (size < 0) throw new RsyncError(RERR.UNSUPPORTED, "Offset underflow: file-length is negative");
    // The prefix of the next name refers to this name as sent, not as cleaned.
    // The name kept is name[nameStart, nameStop): nearly always the one sent, in place.
    let name: Uint8Array = nameBuf;
    let nameStart = nameAt;
    let nameStop = nameEnd;
    if (o.iconv || unconvertible !== undefined || !isCleanWireName(nameBuf, nameAt, nameEnd, o.relativePaths)) {
      const rawName = nameBuf.slice(nameAt, nameEnd);
      let localName: Uint8Array = rawName;
      if (o.iconv) {
        const converted = o.iconv.fromWire(rawName);
        if (convertFailed(converted)) unconvertible = `filename: ${latin1(nameBuf, nameAt, nameEnd)} (${converted.error})`;
        else localName = converted;
      }
      name = unconvertible === undefined ? cleanWireName(localName, o.relativePaths) : localName;
      nameStart = 0;
      nameStop = name.length;
    }
    if (unconvertible !== undefined) {
      // recv_file_entry: reported, and the entry stays in the list without a name (inactive).
      // A name that did not convert is reported as UTF-8 text (FERROR_UTF8), a symlink's target as ours.
      o.onUnconvertible?.(unconvertible.replace("%NAME%", Buffer.from(name).toString("latin1")), unconvertible.startsWith("filename:"));
    }
    // No request can match an empty name: upstream refuses it as unrequested.
    else if (nameStop === nameStart) throw new RsyncError(RERR.UNSUPPORTED, "ERROR: rejecting unrequested file-list name: ");
    const isDot = nameStop - nameStart === 1 && name[nameStart] === 0x2e;
    if (isDot && !isDir(mode)) {
      throw protocolError("ERROR: rejecting non-directory transfer-root entry: .");
    }

    // -A, then -X: the entry's ACLs (not a symlink's) and extended attributes follow it, even a hard link's.
    const acls = isLink(mode) ? undefined : this.acls?.read(r, mode);
    const xattrs = this.xattrs?.read(r, () => latin1(nameBuf, nameAt, nameEnd));

    // The whole entry is in: commit the delta state and the row.
    this.lastNameAt = nameAt;
    this.lastNameLen = nameEnd - nameAt;
    this.mode = mode;
    this.mtime = mtime;
    this.atime = atime;
    this.uid = uid;
    this.gid = gid;
    this.rdevMajor = rdevMajor;
    this.rdevMinor = rdevMinor;
    this.lastDev = pendingDev;
    if (userName) this.names.users.set(uid, userName);
    if (groupName) this.names.groups.set(gid, groupName);
    this.lastHardLinkFirst = hlinkFirst;
    if (this.onId && p >= 30) {
      if (this.o.preserveUid && !(flags & XMIT.SAME_UID)) this.onId(true, uid, userName);
      if (this.o.preserveGid && !(flags & XMIT.SAME_GID)) this.onId(false, gid, groupName);
    }

    const t = this.t;
    t.ensure(row + 1);
    t.setNameRange(row, name, nameStart, nameStop);
    t.mode[row] = mode;
    t.size[row] = size;
    t.mtime[row] = mtime;
    t.nsec[row] = nsec;
    t.uid[row] = uid;
    t.gid[row] = gid;
    let rowFlags = 0;
    if (isDir(mode)) {
      if (p >= 30) {
        if (!(flags & XMIT.NO_CONTENT_DIR)) rowFlags |= F.CONTENT_DIR | (flags & XMIT.TOP_DIR ? F.TOP_DIR : 0);
        else if (flags & XMIT.TOP_DIR) rowFlags |= F.IMPLIED_DIR;
      } else {
        rowFlags |= this.oldContentDirFlags(flags, nameBuf.subarray(nameAt, nameEnd), l1);
      }
    }
    if (p >= 30 && o.preserveHardLinks && !isDir(mode) && flags & XMIT.HLINKED) {
      hlinkKey = `g${flags & XMIT.HLINK_FIRST ? row : hlinkFirst}`;
    }
    const hlinked = hlinkKey !== undefined;
    if (hlinked) rowFlags |= F.HLINKED;
    t.flags[row] = unconvertible === undefined ? rowFlags : rowFlags | F.INACTIVE;
    t.extras.delete(row);
    const hasAtime = o.preserveAtimes === true && !isDir(mode);
    if (sumFrom === "read") t.setSum(row, this.sumBuf);
    else if (sumFrom === "first") t.copySum(hlinkFirst, row);
    else t.clearSum(row);
    if (link || isDevice(mode) || hlinked || hasAtime) {
      const e = t.extra(row);
      if (hasAtime) e.atime = atime;
      if (link) e.link = link;
      if (isDevice(mode)) {
        e.rdevMajor = rdevMajor;
        e.rdevMinor = rdevMinor;
      }
      if (hlinked) e.hlinkKey = hlinkKey;
    }
    if (xattrs) t.extra(row).xattr = this.xattrs!.commit(xattrs);
    if (acls) {
      const stored = this.acls!.commit(acls);
      const e = t.extra(row);
      e.acl = stored.access;
      if (stored.def !== undefined) e.defAcl = stored.def;
      for (const n of acls.names) (n.user ? this.names.users : this.names.groups).set(n.id, n.name);
    }
  }

  /**
   * Before protocol 30 the sender does not say which directories are content
   * directories: a top directory is, and with -r so is every directory below
   * it (with --relative: below its path) until the list leaves that hierarchy.
   */
  private oldContentDirFlags(flags: number, rawName: Uint8Array, l1: number): number {
    if (flags & XMIT.TOP_DIR) {
      this.inDelHier = this.o.recursive;
      const isDot = rawName.length === 1 && rawName[0] === 0x2e;
      let len = isDot ? 0 : rawName.length;
      if (this.o.relativePaths && len > 2 && rawName[len - 1] === 0x2e && rawName[len - 2] === 0x2f) len -= 2;
      this.delHierNameLen = len;
      return F.TOP_DIR | F.CONTENT_DIR;
    }
    if (!this.inDelHier) return 0;
    const n = this.delHierNameLen;
    if (!this.o.relativePaths || n === 0 || (l1 >= n && rawName[n] === 0x2f)) return F.CONTENT_DIR;
    this.inDelHier = false;
    return 0;
  }

  /** The uid and gid lists that follow a non-incremental list (uidlist.c recv_id_list). */
  readIdLists(r: ChunkReader, id0Names: boolean): void {
    const o = this.o;
    const readList = (into: Map<number, Uint8Array>) => {
      for (;;) {
        const id = o.protocol >= 30 ? r.varint() : r.i32();
        if (id === 0) break;
        const len = r.u8();
        if (len > 0) into.set(id >>> 0, r.bytes(len).slice());
      }
      if (id0Names) {
        const len = r.u8();
        if (len > 0) into.set(0, r.bytes(len).slice());
      }
    };
    // Read into scratch maps first: an UNDERFLOW part-way must not leave half a list behind.
    const users = new Map<number, Uint8Array>();
    const groups = new Map<number, Uint8Array>();
    if (o.preserveUid || o.preserveAcls) readList(users);
    if (o.preserveGid || o.preserveAcls) readList(groups);
    for (const [id, name] of users) this.names.users.set(id, name);
    for (const [id, name] of groups) this.names.groups.set(id, name);
  }
}
