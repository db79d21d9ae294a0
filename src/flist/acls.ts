/**
 * -A/--acls (acls.c): POSIX ACLs on the wire and on disk. Each entry that
 * is not a symlink is followed in the file list by its access ACL, and a
 * directory's by its default ACL too, each as the index of an identical one
 * sent before or literally: a flags byte, the user/group/mask/other
 * permissions present, and the named users and groups (id, permissions
 * shifted left by two with "is a user" and "a name follows" in the low
 * bits, the name when it is new in incremental mode).
 *
 * An access ACL travels without what the mode already says (rsync_acl_strip_perms),
 * and is rebuilt from the mode on the receiving side. On disk ACLs are the
 * kernel's system.posix_acl_access/default attributes (read and written in
 * their binary form, as libacl does), or with --fake-super rsync's own
 * "user.rsync.%aacl"/"%dacl" attributes.
 */
import { protocolError, RERR, RsyncError } from "../errors.ts";
import type { ChunkReader } from "../protocol/reader.ts";
import type { ByteWriter } from "../protocol/writer.ts";
import { getXattr, removeXattr, setXattr } from "../fs/xattr.ts";
import { isDevice, isDir, isLink, isSpecial } from "./table.ts";

/** A permission slot with no entry (upstream NO_ENTRY). */
export const NO_ENTRY = 0x80;
const XMIT = { USER_OBJ: 1 << 0, GROUP_OBJ: 1 << 1, MASK_OBJ: 1 << 2, OTHER_OBJ: 1 << 3, NAME_LIST: 1 << 4 } as const;
const XFLAG_NAME_FOLLOWS = 0x1;
const XFLAG_NAME_IS_USER = 0x2;
const MAX_WIRE_ACL_COUNT = 65536;
const VALID_BITS = 7;

/** Linux's ACL attribute form: version 2, then (tag u16, perm u16, id u32) entries, little-endian. */
const TAG = { USER_OBJ: 0x01, USER: 0x02, GROUP_OBJ: 0x04, GROUP: 0x08, MASK: 0x10, OTHER: 0x20 } as const;
const POSIX_ACL_XATTR_VERSION = 2;
const UNDEFINED_ID = 0xffffffff;
const ACCESS_XATTR = "system.posix_acl_access";
const DEFAULT_XATTR = "system.posix_acl_default";
const FAKE_ACCESS_XATTR = "user.rsync.%aacl";
const FAKE_DEFAULT_XATTR = "user.rsync.%dacl";

export interface NamedEntry {
  id: number;
  /** Permission bits (rwx = 4|2|1). */
  access: number;
  user: boolean;
}

/** upstream rsync_acl: NO_ENTRY where a slot has no entry. */
export interface RsyncAcl {
  userObj: number;
  groupObj: number;
  maskObj: number;
  otherObj: number;
  /** Named users, then named groups (each by id, as the system keeps them). */
  names: NamedEntry[];
}

export type AclType = "access" | "default";

export const emptyAcl = (): RsyncAcl => ({ userObj: NO_ENTRY, groupObj: NO_ENTRY, maskObj: NO_ENTRY, otherObj: NO_ENTRY, names: [] });

/** rsync_acl_fake_perms: the ACL a file without one has, from its mode. */
function fromMode(mode: number): RsyncAcl {
  return { userObj: (mode >> 6) & 7, groupObj: (mode >> 3) & 7, maskObj: NO_ENTRY, otherObj: mode & 7, names: [] };
}

function namesEqual(a: NamedEntry[], b: NamedEntry[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((e, i) => e.id === b[i]!.id && e.access === b[i]!.access && e.user === b[i]!.user);
}

export function aclEqual(a: RsyncAcl, b: RsyncAcl): boolean {
  return a.userObj === b.userObj && a.groupObj === b.groupObj && a.maskObj === b.maskObj && a.otherObj === b.otherObj && namesEqual(a.names, b.names);
}

/**
 * rsync_acl_equal_enough: whether a full ACL (what is on disk) and a
 * condensed one (as sent) differ only in what the mode `m` takes care of.
 */
export function aclEqualEnough(full: RsyncAcl, condensed: RsyncAcl, m: number): boolean {
  if ((full.maskObj ^ condensed.maskObj) & NO_ENTRY) return false;
  if (full.maskObj !== NO_ENTRY) {
    if (condensed.groupObj === NO_ENTRY) {
      if (full.groupObj !== ((m >> 3) & 7)) return false;
    } else if (full.groupObj !== condensed.groupObj) return false;
  }
  return namesEqual(full.names, condensed.names);
}

/** rsync_acl_strip_perms: what the mode says goes. */
function stripPerms(acl: RsyncAcl, mode: number): RsyncAcl {
  const out = { ...acl, userObj: NO_ENTRY, otherObj: NO_ENTRY };
  if (out.maskObj === NO_ENTRY) out.groupObj = NO_ENTRY;
  else {
    const groupPerms = (mode >> 3) & 7;
    if (out.groupObj === groupPerms) out.groupObj = NO_ENTRY;
    if (out.names.length && out.maskObj === groupPerms) out.maskObj = NO_ENTRY;
  }
  return out;
}

/** unpack_smb_acl over the attribute's bytes. */
function parseSystemAcl(buf: Uint8Array): RsyncAcl {
  const acl = emptyAcl();
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 4 || (buf.length - 4) % 8 !== 0 || v.getUint32(0, true) !== POSIX_ACL_XATTR_VERSION) {
    throw new Error("unpack_smb_acl: not a POSIX ACL");
  }
  for (let at = 4; at < buf.length; at += 8) {
    const tag = v.getUint16(at, true);
    const perm = v.getUint16(at + 2, true) & VALID_BITS;
    const id = v.getUint32(at + 4, true);
    if (tag === TAG.USER_OBJ) acl.userObj = perm;
    else if (tag === TAG.GROUP_OBJ) acl.groupObj = perm;
    else if (tag === TAG.MASK) acl.maskObj = perm;
    else if (tag === TAG.OTHER) acl.otherObj = perm;
    else if (tag === TAG.USER || tag === TAG.GROUP) acl.names.push({ id, access: perm, user: tag === TAG.USER });
  }
  // libacl hands entries out by tag, then id, whatever order the attribute has them in.
  acl.names.sort(byTagThenId);
  return acl;
}

const byTagThenId = (a: NamedEntry, b: NamedEntry) => (a.user !== b.user ? (a.user ? -1 : 1) : a.id - b.id);

/** The attribute's bytes for a complete ACL (every slot but the mask set), entries in the system's order. */
function systemAclBytes(acl: RsyncAcl): Uint8Array {
  const names = [...acl.names].sort(byTagThenId);
  const entries: [number, number, number][] = [[TAG.USER_OBJ, acl.userObj & ~NO_ENTRY, UNDEFINED_ID]];
  for (const n of names) if (n.user) entries.push([TAG.USER, n.access, n.id]);
  entries.push([TAG.GROUP_OBJ, acl.groupObj & ~NO_ENTRY, UNDEFINED_ID]);
  for (const n of names) if (!n.user) entries.push([TAG.GROUP, n.access, n.id]);
  if (acl.maskObj !== NO_ENTRY) entries.push([TAG.MASK, acl.maskObj, UNDEFINED_ID]);
  entries.push([TAG.OTHER, acl.otherObj & ~NO_ENTRY, UNDEFINED_ID]);
  const out = new Uint8Array(4 + 8 * entries.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, POSIX_ACL_XATTR_VERSION, true);
  entries.forEach(([tag, perm, id], i) => {
    v.setUint16(4 + 8 * i, tag, true);
    v.setUint16(6 + 8 * i, perm, true);
    v.setUint32(8 + 8 * i, id >>> 0, true);
  });
  return out;
}

/** --fake-super's form (acls.c set_rsync_acl): the four slots, then id and access per name, as 32-bit little-endian words. */
function fakeAclBytes(acl: RsyncAcl): Uint8Array {
  const out = new Uint8Array(16 + 8 * acl.names.length);
  const v = new DataView(out.buffer);
  [acl.userObj, acl.groupObj, acl.maskObj, acl.otherObj].forEach((x, i) => v.setUint32(4 * i, x, true));
  acl.names.forEach((n, i) => {
    v.setUint32(16 + 8 * i, n.id >>> 0, true);
    v.setUint32(20 + 8 * i, (n.access | (n.user ? 0x80000000 : 0)) >>> 0, true);
  });
  return out;
}

function parseFakeAcl(buf: Uint8Array, mode: number): RsyncAcl | null {
  if (buf.length < 16 || (buf.length - 16) % 8 !== 0) return null;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const word = (at: number) => v.getUint32(at, true);
  const acl: RsyncAcl = { userObj: word(0), groupObj: word(4), maskObj: word(8), otherObj: word(12), names: [] };
  if (acl.userObj === NO_ENTRY) acl.userObj = (mode >> 6) & 7;
  if (acl.groupObj === NO_ENTRY) acl.groupObj = (mode >> 3) & 7;
  if (acl.otherObj === NO_ENTRY) acl.otherObj = mode & 7;
  for (let at = 16; at < buf.length; at += 8) {
    const access = word(at + 4);
    acl.names.push({ id: word(at), access: access & ~0x80000000, user: (access & 0x80000000) !== 0 });
  }
  return acl;
}

const attrName = (type: AclType, fake: boolean) => (fake ? (type === "access" ? FAKE_ACCESS_XATTR : FAKE_DEFAULT_XATTR) : type === "access" ? ACCESS_XATTR : DEFAULT_XATTR);

/** get_rsync_acl: one ACL of `path` (an access ACL without one comes from the mode; a missing default is empty). */
export function readAcl(path: Uint8Array, mode: number, type: AclType, fakeSuper: boolean): RsyncAcl {
  let raw: Uint8Array | null = null;
  try {
    raw = getXattr(path, attrName(type, fakeSuper));
  } catch {
    raw = null;
  }
  if (fakeSuper) return (raw && parseFakeAcl(raw, mode)) ?? emptyAcl();
  if (raw === null) return type === "access" ? fromMode(mode) : emptyAcl();
  return parseSystemAcl(raw);
}

/** A file's ACLs as get_acl reads them: none for a symlink; a device or special not being kept has empty ones. */
export interface FileAcls {
  access: RsyncAcl;
  /** Directories only. */
  def?: RsyncAcl;
}

export function readAcls(path: Uint8Array, mode: number, kinds: { devices: boolean; specials: boolean }, fakeSuper: boolean): FileAcls | null {
  if (isLink(mode)) return null;
  if ((isSpecial(mode) && !kinds.specials) || (isDevice(mode) && !kinds.devices)) return { access: emptyAcl() };
  const acls: FileAcls = { access: readAcl(path, mode, "access", fakeSuper) };
  if (isDir(mode)) acls.def = readAcl(path, mode, "default", fakeSuper);
  return acls;
}

/** Looks up a name to send with a named entry: null when the id was already announced (uidlist.c add_uid/add_gid). */
export type NoteId = (id: number, user: boolean) => Uint8Array | null;

/** The sending side's two stores (access_acl_list, default_acl_list). */
export class AclSender {
  private readonly lists: Record<AclType, Map<string, number>> = { access: new Map(), default: new Map() };
  private readonly counts: Record<AclType, number> = { access: 0, default: 0 };

  constructor(
    private readonly noteId: NoteId | null,
    private readonly incRecurse: boolean,
  ) {}

  /** send_acl: the access ACL (stripped of what `mode` says) and a directory's default ACL. */
  write(w: ByteWriter, acls: FileAcls, mode: number): void {
    this.writeOne(w, stripPerms(acls.access, mode), "access");
    if (isDir(mode)) this.writeOne(w, acls.def ?? emptyAcl(), "default");
  }

  private writeOne(w: ByteWriter, acl: RsyncAcl, type: AclType): void {
    const key = JSON.stringify(acl);
    const known = this.lists[type].get(key);
    if (known !== undefined) {
      w.varint(known + 1);
      return;
    }
    w.varint(0);
    let flags = 0;
    if (acl.userObj !== NO_ENTRY) flags |= XMIT.USER_OBJ;
    if (acl.groupObj !== NO_ENTRY) flags |= XMIT.GROUP_OBJ;
    if (acl.maskObj !== NO_ENTRY) flags |= XMIT.MASK_OBJ;
    if (acl.otherObj !== NO_ENTRY) flags |= XMIT.OTHER_OBJ;
    if (acl.names.length) flags |= XMIT.NAME_LIST;
    w.u8(flags);
    if (flags & XMIT.USER_OBJ) w.varint(acl.userObj);
    if (flags & XMIT.GROUP_OBJ) w.varint(acl.groupObj);
    if (flags & XMIT.MASK_OBJ) w.varint(acl.maskObj);
    if (flags & XMIT.OTHER_OBJ) w.varint(acl.otherObj);
    if (flags & XMIT.NAME_LIST) {
      w.varint(acl.names.length);
      for (const n of acl.names) {
        const xbits = (n.access << 2) | (n.user ? XFLAG_NAME_IS_USER : 0);
        const name = this.noteId?.(n.id, n.user) ?? null;
        w.varint(n.id);
        if (this.incRecurse && name) {
          const len = Math.min(name.length, 255);
          w.varint(xbits | XFLAG_NAME_FOLLOWS);
          w.u8(len);
          w.bytes(name.subarray(0, len));
        } else w.varint(xbits);
      }
    }
    this.lists[type].set(key, this.counts[type]++);
  }
}

/** An entry's ACLs as read from the wire, before they are stored: an index or a new ACL each. */
export interface ReceivedAcls {
  access: number | RsyncAcl;
  def?: number | RsyncAcl;
  /** Names that came inline (incremental mode), for the id maps. */
  names: { id: number; user: boolean; name: Uint8Array }[];
}

/** The receiving side's stores; ids stay the sender's (they are mapped when used, as names may come later). */
export class AclReceiver {
  private readonly lists: Record<AclType, RsyncAcl[]> = { access: [], default: [] };

  constructor(private readonly amRoot: number) {}

  /** receive_acl, without changing the stores. */
  read(r: ChunkReader, mode: number): ReceivedAcls {
    const names: ReceivedAcls["names"] = [];
    const got: ReceivedAcls = { access: this.readOne(r, "access", mode, names), names };
    if (isDir(mode)) got.def = this.readOne(r, "default", 0, names);
    return got;
  }

  /** Stores what `read` returned; returns the indexes. */
  commit(got: ReceivedAcls): { access: number; def?: number } {
    const store = (x: number | RsyncAcl, type: AclType) => {
      if (typeof x === "number") return x;
      this.lists[type].push(x);
      return this.lists[type].length - 1;
    };
    const out: { access: number; def?: number } = { access: store(got.access, "access") };
    if (got.def !== undefined) out.def = store(got.def, "default");
    return out;
  }

  get(type: AclType, ndx: number | undefined): RsyncAcl | undefined {
    return ndx === undefined ? undefined : this.lists[type][ndx];
  }

  private readAccess(r: ChunkReader): number {
    const access = r.varint() >>> 0;
    if (this.amRoot >= 0 && access & ~(VALID_BITS | NO_ENTRY)) throw new RsyncError(RERR.STREAMIO, `recv_acl_access: value out of range: ${access.toString(16)}`);
    return access;
  }

  private readOne(r: ChunkReader, type: AclType, mode: number, inlineNames: ReceivedAcls["names"]): number | RsyncAcl {
    const ndx = r.varint();
    if (ndx < 0 || ndx > this.lists[type].length) {
      throw new RsyncError(RERR.STREAMIO, `recv_acl_index: ${type === "access" ? "ACL_TYPE_ACCESS" : "ACL_TYPE_DEFAULT"} ACL index ${ndx} > ${this.lists[type].length}`);
    }
    if (ndx !== 0) return ndx - 1;
    const acl = emptyAcl();
    const flags = r.u8();
    if (flags & XMIT.USER_OBJ) acl.userObj = this.readAccess(r);
    if (flags & XMIT.GROUP_OBJ) acl.groupObj = this.readAccess(r);
    if (flags & XMIT.MASK_OBJ) acl.maskObj = this.readAccess(r);
    if (flags & XMIT.OTHER_OBJ) acl.otherObj = this.readAccess(r);
    let computedMask = 0;
    if (flags & XMIT.NAME_LIST) {
      const count = r.varint();
      if (count < 0 || count > MAX_WIRE_ACL_COUNT) throw protocolError(`wire value ACL count out of range: ${count} not in [0,${MAX_WIRE_ACL_COUNT}]`);
      for (let i = 0; i < count; i++) {
        const id = r.varint() >>> 0;
        const bits = r.varint() >>> 0;
        const access = bits >>> 2;
        if (this.amRoot >= 0 && access & ~VALID_BITS) throw new RsyncError(RERR.STREAMIO, `recv_acl_access: value out of range: ${access.toString(16)}`);
        const user = (bits & XFLAG_NAME_IS_USER) !== 0;
        if (bits & XFLAG_NAME_FOLLOWS) inlineNames.push({ id, user, name: r.bytes(r.u8()).slice() });
        acl.names.push({ id, access, user });
        computedMask |= access;
      }
    }
    // A list of names needs a mask: the group bits of the mode for an access ACL, else what the entries grant.
    if (acl.names.length && acl.maskObj === NO_ENTRY) {
      acl.maskObj = type === "access" ? (mode >> 3) & 7 : (computedMask | (acl.groupObj & ~NO_ENTRY)) & VALID_BITS;
    }
    return acl;
  }
}

/** The sender's ids in `acl` turned into ours (uidlist.c match_acl_ids). */
export function mapAclIds(acl: RsyncAcl, uid: (id: number) => number, gid: (id: number) => number): RsyncAcl {
  if (!acl.names.length) return acl;
  return { ...acl, names: acl.names.map((n) => ({ ...n, id: n.user ? uid(n.id) : gid(n.id) })) };
}

/**
 * change_sacl_perms + pack_smb_acl: the access ACL to write for the wanted
 * mode (the mode's bits in the user, group (when not named), mask and other
 * slots; group and other withheld while a sticky bit comes on or a set-id
 * bit goes off), and the mode it leaves on disk.
 */
function accessAclFor(acl: RsyncAcl, oldMode: number, wanted: number, dir: boolean): { acl: RsyncAcl; mode: number } {
  let mode = wanted;
  if (dir) {
    if (mode & 0o1000 && !(oldMode & 0o1000)) mode &= ~0o077;
  } else if ((oldMode & 0o4000 && !(mode & 0o4000)) || (oldMode & 0o2000 && !(mode & 0o2000))) mode &= ~0o077;
  const full: RsyncAcl = {
    userObj: (mode >> 6) & 7,
    groupObj: acl.groupObj !== NO_ENTRY ? acl.groupObj : (mode >> 3) & 7,
    maskObj: acl.maskObj !== NO_ENTRY ? (mode >> 3) & 7 : NO_ENTRY,
    otherObj: mode & 7,
    names: acl.names,
  };
  return { acl: full, mode: (oldMode & ~0o777) | (mode & 0o777) };
}

/**
 * set_acl for one entry: the access ACL unless what is there is equal
 * enough, and a directory's default ACL unless equal. Returns whether
 * anything differs (with `dryRun` nothing is written) and the mode the
 * entry has afterwards (the caller's chmod compares with it).
 */
export function applyAcls(
  path: Uint8Array,
  want: { access?: RsyncAcl; def?: RsyncAcl },
  current: FileAcls | null,
  oldMode: number,
  newMode: number,
  opts: { dryRun: boolean; fakeSuper: boolean },
): { changed: boolean; mode: number } {
  let changed = false;
  let mode = oldMode;
  if (want.access && !(current && aclEqualEnough(current.access, want.access, newMode))) {
    changed = true;
    if (!opts.dryRun) {
      if (opts.fakeSuper) setXattr(path, FAKE_ACCESS_XATTR, fakeAclBytes(want.access));
      else {
        const { acl, mode: after } = accessAclFor(want.access, oldMode, newMode, isDir(newMode));
        setXattr(path, ACCESS_XATTR, systemAclBytes(acl));
        mode = after;
      }
    }
  }
  if (isDir(newMode) && want.def && !(current?.def && aclEqual(current.def, want.def))) {
    changed = true;
    if (!opts.dryRun) {
      if (want.def.userObj === NO_ENTRY) {
        try {
          removeXattr(path, opts.fakeSuper ? FAKE_DEFAULT_XATTR : DEFAULT_XATTR);
        } catch (e) {
          if ((e as { errno?: number }).errno !== 61) throw e;
        }
      } else setXattr(path, opts.fakeSuper ? FAKE_DEFAULT_XATTR : DEFAULT_XATTR, opts.fakeSuper ? fakeAclBytes(want.def) : systemAclBytes(want.def));
    }
  }
  return { changed, mode };
}

/** The sending side's -A after each entry (flist.c send_file_name → send_acl); a symlink has none. */
export function aclEntryWriter(
  sender: AclSender,
  mode: (row: number) => number,
  localPath: (row: number) => Uint8Array,
  kinds: { devices: boolean; specials: boolean },
  fakeSuper: boolean,
  onError: (text: string) => void,
): (w: ByteWriter, row: number) => void {
  return (w, row) => {
    const m = mode(row);
    if (isLink(m)) return;
    let acls: FileAcls | null;
    try {
      acls = readAcls(localPath(row), m, kinds, fakeSuper);
    } catch (e) {
      onError(`rsync: [sender] get_acl: ${String((e as Error).message ?? e)} (${Buffer.from(localPath(row)).toString("latin1")})`);
      acls = { access: fromMode(m), def: isDir(m) ? emptyAcl() : undefined };
    }
    sender.write(w, acls ?? { access: emptyAcl() }, m);
  };
}

/**
 * generator.c default_perms_for_dir: without -p a new entry's permissions
 * are limited by its directory's default ACL when it has one (the bits it
 * gives the owner, the mask or group, and others), not by the umask.
 */
export function defaultPermsForDir(dir: Uint8Array, fallback: number, warn: (text: string) => void, found?: (perms: number) => void): number {
  let raw: Uint8Array | null;
  try {
    raw = getXattr(dir, DEFAULT_XATTR);
  } catch (e) {
    const err = e as { errno?: number; message?: string };
    // A directory a dry run did not make, or a file system without ACLs: the umask it is.
    if (err.errno !== 2 && err.errno !== 95 && err.errno !== 38) {
      warn(`default_perms_for_dir: sys_acl_get_file(${Buffer.from(dir).toString("latin1")}, ACL_TYPE_DEFAULT): ${err.message ?? e}, falling back on umask`);
    }
    return fallback;
  }
  if (raw === null) return fallback;
  let acl: RsyncAcl;
  try {
    acl = parseSystemAcl(raw);
  } catch {
    warn("default_perms_for_dir: unpack_smb_acl failed, falling back on umask");
    return fallback;
  }
  if (acl.userObj === NO_ENTRY) return fallback;
  const perms = (acl.userObj << 6) | ((acl.maskObj !== NO_ENTRY ? acl.maskObj : acl.groupObj) << 3) | acl.otherObj;
  found?.(perms);
  return perms;
}
