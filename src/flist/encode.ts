/**
 * Encodes file-list entries (flist.c send_file_entry, write_end_of_flist;
 * uidlist.c send_id_lists): the exact mirror of FlistDecoder.
 *
 * Like the decoder it is stateful for the whole connection: every entry is
 * delta-encoded against the previous one sent (name prefix, mode, mtime,
 * uid, gid, rdev, hard-link device), whichever list it belongs to. Entries
 * must therefore be written in transmission order, which is the order the
 * rows were added to the table (upstream sends each entry as it is made and
 * sorts the list afterwards).
 *
 * What a row must hold (see FileTable): name, mode, size, mtime, nsec, uid,
 * gid and flags (F.TOP_DIR / F.CONTENT_DIR / F.IMPLIED_DIR on directories),
 * and in its extras: `link` for a symlink when links are preserved,
 * `rdevMajor`/`rdevMinor` for a device, `checksum` for a regular file under
 * --checksum, and `hlinkKey` for a hard-link-tracked entry under -H. From
 * protocol 30 any key identifies a group (the first member sent leads it);
 * before 30 the key must be `d<dev>:<ino>` (decimal), the form the decoder
 * produces and the builder stores, since the numbers go on the wire.
 */
import type { ByteWriter } from "../protocol/writer.ts";
import { MAXPATHLEN, XMIT, type FlistWireOptions } from "./decode.ts";
import { NO_ID_NAMES, type IdNameSource } from "./id-names.ts";
import { convertFailed } from "./iconv.ts";
import { F, type FileTable, isDevice, isDir, isLink, isReg, isSpecial } from "./table.ts";

/**
 * Sender-side row flags, kept in FileTable.flags well above the bits F uses
 * (the receiving side never sets them).
 */
export const SF = {
  /**
   * The name starts with "/" (--relative with an absolute path). FileTable
   * keeps the slash in a directory part ("/usr/lib" has dir "/usr") but not
   * in a single component ("/usr" is stored as "usr"), so this flag restores it.
   */
  ANCHORED: 1 << 24,
  /** -x: a directory on another file system; its contents are not sent (upstream FLAG_MOUNT_DIR). */
  MOUNT_DIR: 1 << 25,
  /** Incremental recursion: a directory with the name of an earlier one; its contents go in that one's list (FLAG_DUPLICATE). */
  DUPLICATE: 1 << 26,
} as const;

export interface FlistEncodeOptions extends FlistWireOptions {
  /** CF_INC_RECURSE: user/group names travel inline, not in id lists. */
  incRecurse: boolean;
  /**
   * Upstream's numeric_ids on the sending side: 0 looks names up and sends
   * them; 1 (--numeric-ids) sends none and no id lists; -1 (a daemon module's
   * "numeric ids") sends no names but still empty id lists.
   */
  numericIds: number;
  /** CF_ID0_NAMES: the id lists end with the names of uid 0 and gid 0. */
  id0Names: boolean;
  /** Where names come from (default: none). */
  names?: IdNameSource;
}

const EMPTY = new Uint8Array(0);
const SLASH = 0x2f;
/** Room for any name the builder keeps (below MAXPATHLEN) with a leading "/". */
const NAME_SCRATCH = MAXPATHLEN + 1;

function concatSlash(path: Uint8Array): Uint8Array {
  const out = new Uint8Array(path.length + 1);
  out[0] = SLASH;
  out.set(path, 1);
  return out;
}

/** Parses a pre-30 hard-link key `d<dev>:<ino>`. */
function devIno(key: string): [bigint, bigint] {
  const m = /^d(-?\d+):(\d+)$/.exec(key);
  if (!m) throw new Error(`hard-link key "${key}" carries no device and inode (needed before protocol 30)`);
  return [BigInt(m[1]!), BigInt(m[2]!)];
}

/** longint (io.c write_longint) from a bigint. */
function longint(w: ByteWriter, v: bigint): void {
  if (v >= 0n && v <= 0x7fffffffn) w.i32(Number(v));
  else w.i32(-1).i64(BigInt.asIntN(64, v));
}

interface IdList {
  /** Ids in the order first sent. */
  order: number[];
  names: Map<number, Uint8Array | null>;
}

export class FlistEncoder {
  /** The previous entry's wire name, lastNameLen bytes of it (the shared prefix is left out of the next). */
  private lastName: Uint8Array = EMPTY;
  private lastNameLen = 0;
  /**
   * Without --iconv a name is put together in one of these two buffers, in
   * turn, so that the previous one stays intact for the prefix: a new array
   * per entry was most of the encoder's garbage.
   */
  private nameScratch: Uint8Array = new Uint8Array(NAME_SCRATCH);
  private spareScratch: Uint8Array = new Uint8Array(NAME_SCRATCH);
  private mode = 0;
  private mtime = 0;
  /** -U: the last access time sent (XMIT_SAME_ATIME repeats it). */
  private atime = 0;
  private uid = 0;
  private gid = 0;
  private rdevMajor = 0;
  /** Protocol < 28: the whole previous rdev. */
  private rdevMinor = 0;
  /** Protocols 28-29: the previous hard-linked entry's device. */
  private dev = 0n;
  /** Protocol 30+: hard-link key -> index of the group's first member sent (hlink.c idev_find). */
  private readonly firstOfGroup = new Map<string, number>();
  /** --debug=hlink: the sender's lines about the groups (level 1: "#N hard-links #M"; 3: each group's dev:inode). */
  hardLinkDebug: { level: number; say(text: string): void } | null = null;
  private readonly devsSaid = new Set<string>();
  private readonly users: IdList = { order: [], names: new Map() };
  private readonly groups: IdList = { order: [], names: new Map() };
  private readonly names: IdNameSource;

  constructor(
    private readonly t: FileTable,
    private readonly o: FlistEncodeOptions,
  ) {
    this.names = o.names ?? NO_ID_NAMES;
  }

  /** The name of `row` converted for the wire (--iconv). */
  private convertedName(row: number): Uint8Array {
    const path = this.t.path(row);
    const local = !(this.t.flags[row]! & SF.ANCHORED) || path[0] === SLASH ? path : concatSlash(path);
    // The builder left out every name that does not convert (send_file_name).
    const converted = this.o.iconv!.toWire(local);
    if (convertFailed(converted)) throw new Error(`row ${row}: a name that does not convert (${converted.error})`);
    return converted;
  }

  /** The local name of `row` (with its leading "/" when anchored) into `out`; its length, or -1 when it does not fit. */
  private localNameInto(row: number, out: Uint8Array): number {
    const t = this.t;
    const anchored = (t.flags[row]! & SF.ANCHORED) !== 0 && t.firstPathByte(row) !== SLASH;
    const lead = anchored ? 1 : 0;
    if (lead + t.pathLength(row) > out.length) return -1;
    if (anchored) out[0] = SLASH;
    return t.copyPath(row, out, lead);
  }

  /**
   * Forgets the hard-link groups sent so far (hlink.c idev_destroy): upstream
   * does so after a non-incremental list, so that nothing refers back.
   */
  forgetHardLinks(): void {
    this.firstOfGroup.clear();
  }

  /**
   * Writes the entry of `row`. `ndx` is its file index (the list's start plus
   * its position in transmission order; rows are in that order until the
   * list is sorted, hence the default), `listStart` the first index of its
   * list: a hard link to an entry of the same list is abbreviated.
   */
  writeEntry(w: ByteWriter, row: number, listStart: number, ndx = row): void {
    const o = this.o;
    const p = o.protocol;
    const t = this.t;
    const mode = t.mode[row]!;
    const rowFlags = t.flags[row]!;
    const e = t.extras.get(row);
    let name: Uint8Array = this.nameScratch;
    let nameLen = o.iconv ? -1 : this.localNameInto(row, name);
    if (nameLen < 0) {
      name = o.iconv ? this.convertedName(row) : t.path(row);
      nameLen = name.length;
    }
    if (nameLen === 0 || nameLen >= MAXPATHLEN) throw new Error(`file-list name of ${nameLen} bytes`);

    let xflags = 0;
    if (isDir(mode)) {
      if (p >= 30) {
        if (rowFlags & F.CONTENT_DIR) xflags = rowFlags & F.TOP_DIR ? XMIT.TOP_DIR : 0;
        else if (rowFlags & F.IMPLIED_DIR) xflags = XMIT.TOP_DIR | XMIT.NO_CONTENT_DIR;
        else xflags = XMIT.NO_CONTENT_DIR;
      } else if (rowFlags & F.TOP_DIR) xflags = XMIT.TOP_DIR;
    }

    if (mode === this.mode) xflags |= XMIT.SAME_MODE;
    else this.mode = mode;

    // rdev: devices carry theirs; specials a dummy before protocol 31.
    let rdevMajor = e?.rdevMajor ?? 0;
    let rdevMinor = e?.rdevMinor ?? 0;
    const sendsRdev = (o.preserveDevices && isDevice(mode)) || (o.preserveSpecials && isSpecial(mode) && p < 31);
    if (o.preserveDevices && isDevice(mode)) {
      if (p < 28) {
        if (rdevMajor === this.rdevMajor && rdevMinor === this.rdevMinor) xflags |= XMIT.SAME_RDEV_PRE28;
        else {
          this.rdevMajor = rdevMajor;
          this.rdevMinor = rdevMinor;
        }
      } else {
        if (rdevMajor === this.rdevMajor) xflags |= XMIT.SAME_RDEV_MAJOR;
        else this.rdevMajor = rdevMajor;
        if (p < 30 && rdevMinor <= 0xff) xflags |= XMIT.RDEV_MINOR_8_PRE30;
      }
    } else if (o.preserveSpecials && isSpecial(mode) && p < 31) {
      if (p < 28) xflags |= XMIT.SAME_RDEV_PRE28;
      else {
        xflags |= XMIT.SAME_RDEV_MAJOR;
        if (p < 30) xflags |= XMIT.RDEV_MINOR_8_PRE30;
      }
      rdevMajor = this.rdevMajor;
      rdevMinor = 0;
    } else if (p < 28) {
      this.rdevMajor = 0;
      this.rdevMinor = 0;
    }
    if (p < 28 && xflags & XMIT.SAME_RDEV_PRE28) {
      rdevMajor = this.rdevMajor;
      rdevMinor = this.rdevMinor;
    }

    const first = this.lastNameLen === 0;
    let userName: Uint8Array | null = null;
    let groupName: Uint8Array | null = null;
    const uid = t.uid[row]!;
    const gid = t.gid[row]!;
    if (!o.preserveUid || (uid === this.uid && !first)) xflags |= XMIT.SAME_UID;
    else {
      this.uid = uid;
      if (!o.numericIds) {
        userName = this.addId(this.users, uid, this.names.user);
        if (o.incRecurse && userName) xflags |= XMIT.USER_NAME_FOLLOWS;
      }
    }
    if (!o.preserveGid || (gid === this.gid && !first)) xflags |= XMIT.SAME_GID;
    else {
      this.gid = gid;
      if (!o.numericIds) {
        groupName = this.addId(this.groups, gid, this.names.group);
        if (o.incRecurse && groupName) xflags |= XMIT.GROUP_NAME_FOLLOWS;
      }
    }

    const mtime = t.mtime[row]!;
    if (mtime === this.mtime) xflags |= XMIT.SAME_TIME;
    else this.mtime = mtime;
    const nsec = t.nsec[row]!;
    if (nsec !== 0 && p >= 31) xflags |= XMIT.MOD_NSEC;
    // -U: a non-directory's access time, unless it is the previous one's.
    const sendsAtime = o.preserveAtimes === true && !isDir(mode);
    const atime = sendsAtime ? (e?.atime ?? 0) : 0;
    if (sendsAtime) {
      if (atime === this.atime) xflags |= XMIT.SAME_ATIME;
      else this.atime = atime;
    }

    // Hard links: a group's first member goes in full; later ones name it.
    let firstNdx = -1;
    let sendDevIno: [bigint, bigint] | null = null;
    const tracked = o.preserveHardLinks && e?.hlinkKey !== undefined && !isDir(mode) && (p >= 28 || isReg(mode));
    if (o.preserveHardLinks && p < 28 && isReg(mode) && !tracked) {
      throw new Error(`row ${row}: before protocol 28 every regular file needs its device and inode under -H`);
    }
    if (tracked) {
      const key = e!.hlinkKey!;
      if (p >= 30) {
        const known = this.firstOfGroup.get(key);
        if (known === undefined) {
          this.firstOfGroup.set(key, ndx);
          xflags |= XMIT.HLINK_FIRST;
        } else firstNdx = known;
        if (this.hardLinkDebug) this.sayHardLink(key, ndx, known, listStart);
      } else {
        sendDevIno = devIno(key);
        if (sendDevIno[0] === this.dev) {
          if (p >= 28) xflags |= XMIT.SAME_DEV_PRE30;
        } else this.dev = sendDevIno[0];
      }
      xflags |= XMIT.HLINKED;
    }

    // Name: the prefix shared with the previous name (at most 255), then the rest.
    const last = this.lastName;
    const max = Math.min(this.lastNameLen, nameLen, 255);
    let l1 = 0;
    while (l1 < max && name[l1] === last[l1]) l1++;
    const l2 = nameLen - l1;
    if (l1 > 0) xflags |= XMIT.SAME_NAME;
    if (l2 > 255) xflags |= XMIT.LONG_NAME;

    // Flags: never a value (or, in the byte forms, a first byte) of 0, which ends the list.
    if (o.varintFlags) w.varint(xflags || XMIT.EXTENDED_FLAGS);
    else if (p >= 28) {
      if (!xflags && !isDir(mode)) xflags |= XMIT.TOP_DIR;
      if (xflags & 0xff00 || !xflags) {
        xflags |= XMIT.EXTENDED_FLAGS;
        w.u16(xflags);
      } else w.u8(xflags);
    } else {
      if (!(xflags & 0xff)) xflags |= isDir(mode) ? XMIT.LONG_NAME : XMIT.TOP_DIR;
      w.u8(xflags);
    }
    if (xflags & XMIT.SAME_NAME) w.u8(l1);
    if (xflags & XMIT.LONG_NAME) {
      if (p >= 30) w.varint(l2);
      else w.i32(l2);
    } else w.u8(l2);
    w.bytesFrom(name, l1, nameLen);
    if (name === this.nameScratch) {
      this.nameScratch = this.spareScratch;
      this.spareScratch = name;
    }
    this.lastName = name;
    this.lastNameLen = nameLen;

    if (firstNdx >= 0) {
      w.varint(firstNdx);
      if (firstNdx >= listStart) return; // the receiver copies the rest from the first member
    }

    const size = isDevice(mode) || isSpecial(mode) ? 0 : t.size[row]!;
    if (p >= 30) w.varlong(size, 3);
    else w.longint(size);
    if (!(xflags & XMIT.SAME_TIME)) {
      if (p >= 30) w.varlong(mtime, 4);
      else w.i32(mtime);
    }
    if (xflags & XMIT.MOD_NSEC) w.varint(nsec);
    if (!(xflags & XMIT.SAME_MODE)) w.i32(mode);
    if (sendsAtime && !(xflags & XMIT.SAME_ATIME)) w.varlong(atime, 4);
    if (o.preserveUid && !(xflags & XMIT.SAME_UID)) {
      if (p < 30) w.i32(uid);
      else {
        w.varint(uid);
        if (xflags & XMIT.USER_NAME_FOLLOWS) writeName(w, userName!);
      }
    }
    if (o.preserveGid && !(xflags & XMIT.SAME_GID)) {
      if (p < 30) w.i32(gid);
      else {
        w.varint(gid);
        if (xflags & XMIT.GROUP_NAME_FOLLOWS) writeName(w, groupName!);
      }
    }
    if (sendsRdev) {
      if (p < 28) {
        if (!(xflags & XMIT.SAME_RDEV_PRE28)) {
          // The 32-bit dev_t of old Linux: major in bits 8-19, minor in 0-7 and 20-31.
          w.i32(((rdevMajor & 0xfff) << 8) | (rdevMinor & 0xff) | ((rdevMinor & 0xfff00) << 12));
        }
      } else {
        if (!(xflags & XMIT.SAME_RDEV_MAJOR)) {
          if (p >= 30) w.varint(rdevMajor);
          else w.i32(rdevMajor);
        }
        if (p >= 30) w.varint(rdevMinor);
        else if (xflags & XMIT.RDEV_MINOR_8_PRE30) w.u8(rdevMinor);
        else w.i32(rdevMinor);
      }
    }
    if (o.preserveLinks && isLink(mode)) {
      let link = e?.link;
      if (!link || link.length === 0) throw new Error(`row ${row}: a symlink without a target`);
      if (o.iconv && o.symlinkIconv) {
        const converted = o.iconv.toWire(link);
        if (convertFailed(converted)) throw new Error(`row ${row}: a symlink target that does not convert (${converted.error})`);
        link = converted;
      }
      if (p >= 30) w.varint(link.length);
      else w.i32(link.length);
      w.bytes(link);
    }
    if (sendDevIno) {
      if (!(xflags & XMIT.SAME_DEV_PRE30)) longint(w, sendDevIno[0] + 1n);
      longint(w, sendDevIno[1]);
    }
    if (o.checksumLength > 0 && (isReg(mode) || p < 28)) {
      // Before 28 non-regular files carry a sum of zeros.
      const sum = isReg(mode) ? t.sum(row) : undefined;
      if (sum && sum.length !== o.checksumLength) throw new Error(`row ${row}: checksum of ${sum.length} bytes, not ${o.checksumLength}`);
      if (sum) w.bytes(sum);
      else w.bytes(new Uint8Array(o.checksumLength));
    }
  }

  /**
   * The end of a list (write_end_of_flist). With `ioError` non-zero the
   * marker carries it, which only a peer with a safe file list
   * (CF_SAFE_FLIST or protocol 31+) accepts outside the varint form; the
   * caller decides (upstream: when an error happened while this list was
   * made and use_safe_inc_flist). In the varint form the value is always
   * written.
   */
  /** flist.c send_file_entry (and hlink.c idev_find at level 3) under --debug=hlink. */
  private sayHardLink(key: string, ndx: number, first: number | undefined, listStart: number): void {
    const { level, say } = this.hardLinkDebug!;
    const [dev, ino] = devIno(key);
    if (level > 2 && !this.devsSaid.has(String(dev))) {
      this.devsSaid.add(String(dev));
      say(`[sender] created hashtable for dev ${dev}`);
    }
    if (first !== undefined) say(`[sender] #${ndx} hard-links #${first} (${first >= listStart ? "" : "un"}abbrev)`);
    else if (level > 2) say(`[sender] dev:inode for #${ndx} is ${dev}:${ino}`);
  }

  writeEnd(w: ByteWriter, ioError = 0): void {
    if (this.o.varintFlags) {
      w.varint(0);
      w.varint(ioError);
    } else if (ioError) {
      w.u16(XMIT.EXTENDED_FLAGS | XMIT.IO_ERROR_ENDLIST);
      w.varint(ioError);
    } else w.u8(0);
  }

  /**
   * The uid and gid lists that follow a non-incremental list (send_id_lists):
   * every id sent that has a name, the most recently first-seen one first (upstream
   * prepends to its list), then 0, or with CF_ID0_NAMES the names of id 0.
   */
  writeIdLists(w: ByteWriter): void {
    const o = this.o;
    const one = (list: IdList, lookup: (id: number) => Uint8Array | null) => {
      for (let i = list.order.length - 1; i >= 0; i--) {
        const id = list.order[i]!;
        const name = list.names.get(id);
        if (id === 0 || !name) continue;
        this.writeId(w, id);
        writeName(w, name);
      }
      this.writeId(w, 0);
      if (o.id0Names) writeName(w, lookup(0) ?? EMPTY);
    };
    // With -A they go even without -o/-g: the ACLs' named users and groups are in them (uidlist.c send_id_lists).
    if (o.preserveUid || o.preserveAcls) one(this.users, this.names.user);
    if (o.preserveGid || o.preserveAcls) one(this.groups, this.names.group);
  }

  private writeId(w: ByteWriter, id: number): void {
    if (this.o.protocol >= 30) w.varint(id);
    else w.i32(id);
  }

  /**
   * -A: an ACL's named user or group joins the id lists like an owner does
   * (uidlist.c add_uid/add_gid); its name comes back when it is new, null
   * after (or when it has none).
   */
  noteId(id: number, user: boolean): Uint8Array | null {
    return user ? this.addId(this.users, id, this.names.user) : this.addId(this.groups, id, this.names.group);
  }

  private addId(list: IdList, id: number, lookup: (id: number) => Uint8Array | null): Uint8Array | null {
    if (list.names.has(id)) return null;
    const name = lookup(id);
    list.names.set(id, name);
    list.order.push(id);
    return name;
  }
}

function writeName(w: ByteWriter, name: Uint8Array): void {
  const len = Math.min(name.length, 255);
  w.u8(len);
  w.bytes(name.subarray(0, len));
}
