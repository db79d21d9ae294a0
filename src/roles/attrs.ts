/**
 * Comparing and applying an entry's attributes on the receiving side
 * (generator.c quick_check_ok/itemize, rsync.c set_file_attrs/dest_mode,
 * util1.c same_time).
 */
import { debugLine } from "../output/debug-line.ts";
import { applyAcls, mapAclIds, readAcls, type AclReceiver, type RsyncAcl } from "../flist/acls.ts";
import { setStatXattr } from "../fs/fake-super.ts";
import { amRootLevel } from "./super-user.ts";
import type { Options } from "../cli/options.ts";
import type { FileTable } from "../flist/table.ts";
import { isDir, isLink, isReg } from "../flist/table.ts";
import type { DestFs, DestStat } from "../fs/dest-fs.ts";
import type { IdMapper } from "./id-map.ts";
import { tweakMode } from "./chmod.ts";
import { fchmodFd, fchownFd, fstatFd, futimesFd } from "../fs/fd-ops.ts";
import { WRITE_ATTR, type FileJob } from "../native/api.ts";
import { sameTime } from "./same-time.ts";

export const ITEM = {
  REPORT_ATIME: 1 << 0,
  REPORT_CHANGE: 1 << 1,
  REPORT_SIZE: 1 << 2,
  REPORT_TIMEFAIL: 1 << 2,
  REPORT_TIME: 1 << 3,
  REPORT_PERMS: 1 << 4,
  REPORT_OWNER: 1 << 5,
  REPORT_GROUP: 1 << 6,
  REPORT_ACL: 1 << 7,
  REPORT_XATTR: 1 << 8,
  REPORT_CRTIME: 1 << 10,
  BASIS_TYPE_FOLLOWS: 1 << 11,
  XNAME_FOLLOWS: 1 << 12,
  IS_NEW: 1 << 13,
  LOCAL_CHANGE: 1 << 14,
  TRANSFER: 1 << 15,
  /** Internal: a deletion, a transfer with matched data. */
  MISSING_DATA: 1 << 16,
  DELETED: 1 << 17,
  MATCHED: 1 << 18,
} as const;

/** Flags that make an item worth reporting. */
export const SIGNIFICANT_ITEM_FLAGS = ~(ITEM.BASIS_TYPE_FOLLOWS | ITEM.XNAME_FOLLOWS | ITEM.LOCAL_CHANGE) & 0xffff;
const CHMOD_BITS = 0o7777;


/** The entry's attributes as they will be applied here (ids mapped to ours, mode adjusted without -p). */
export interface Wanted {
  mode: number;
  uid: number;
  gid: number;
  /** Whether our group may be set (non-root receivers can only use their own groups). */
  setGroup: boolean;
}

export class AttrRules {
  /** Permission bits allowed on new entries without -p (ACCESSPERMS & ~umask). */
  private readonly defaultPerms: number;

  constructor(
    private readonly o: Options,
    private readonly t: FileTable,
    private readonly ids: IdMapper,
    private readonly amRoot: boolean,
    umask: number,
  ) {
    this.defaultPerms = 0o777 & ~umask;
    this.fakeSuper = amRootLevel(o) < 0;
  }

  /** Without -p: the permissions a new entry may have in its directory (a default ACL's, else the umask's). */
  dirDefaultPerms: ((row: number) => number) | null = null;
  /** --debug=acl: says again what a default ACL of `row`'s directory gave (upstream's receiver looks it up too). */
  defaultPermsSaid: ((row: number) => void) | null = null;

  /** -A: the sender's ACLs (the generator hands them over; flist/acls.ts). */
  acls: AclReceiver | null = null;
  /** Entries whose ACLs apply() changed: their item reports it, though it comes after. */
  private readonly aclChanged = new Set<number>();

  /**
   * generator.c itemize: whether the ACLs here differ from the sender's
   * ('a'), against the entry's own mode; an entry whose ACLs were just set
   * (`recentlySet`: not a transfer's item, which comes before) still counts
   * as different.
   */
  aclDiffers(dest: DestFs, rel: Uint8Array, row: number, st: DestStat, recentlySet: boolean): boolean {
    if (this.aclChanged.delete(row) && recentlySet) return true;
    return this.setAcls(dest, rel, row, st, this.t.mode[row]!, true).changed;
  }

  /** acls.c set_acl: compares (and unless `dryRun` sets) the entry's ACLs; the ids are the sender's until mapped here. */
  private setAcls(dest: DestFs, rel: Uint8Array, row: number, st: DestStat, newMode: number, dryRun: boolean): { changed: boolean; mode: number } {
    const acls = this.acls!;
    const e = this.t.extras.get(row);
    const ours = (acl: RsyncAcl | undefined) => acl && mapAclIds(acl, (id) => this.ids.uid(id), (id) => this.ids.gid(id));
    const want = { access: ours(acls.get("access", e?.acl)), def: ours(acls.get("default", e?.defAcl)) };
    const path = dest.abs(rel);
    const current = readAcls(path, st.mode, this.o, this.fakeSuper);
    return applyAcls(path, want, current, st.mode, newMode, { dryRun, fakeSuper: this.fakeSuper });
  }

  /** --fake-super: what root would apply is kept in an xattr (fs/fake-super.ts). */
  private readonly fakeSuper: boolean;

  /** rsync.c dest_mode: without -p an existing entry keeps its permissions, a new one gets the source's minus the umask. */
  wanted(row: number, existing: DestStat | null): Wanted {
    const o = this.o;
    const t = this.t;
    let mode = t.mode[row]!;
    if (!o.perms) {
      if (existing && (!isDir(mode) || isDir(existing.mode))) {
        mode = (mode & ~CHMOD_BITS) | (existing.mode & CHMOD_BITS);
        if (o.executability && isReg(mode)) {
          const source = t.mode[row]!;
          if (!(source & 0o111)) mode &= ~0o111;
          else if (!(existing.mode & 0o111)) mode |= (mode & 0o444) >> 2;
        }
      } else {
        mode &= ~CHMOD_BITS | (this.dirDefaultPerms?.(row) ?? this.defaultPerms);
      }
    }
    const gid = this.ids.gid(t.gid[row]!);
    return { mode, uid: this.ids.uid(t.uid[row]!), gid, setGroup: o.group && this.ids.canSetGroup(gid) };
  }

  /** The --modify-window mtimes are compared by (sameTime): to the nanosecond (-1) with -c. */
  mtimeWindow(): number {
    return this.o.checksum ? -1 : this.o.modifyWindow;
  }

  /** Whether the entry's mtime differs from what is on disk (exact with -c, else per --modify-window). */
  mtimeDiffers(row: number, st: DestStat): boolean {
    const t = this.t;
    return !sameTime(this.mtimeWindow(), t.mtime[row]!, t.nsec[row]!, st.mtime, st.nsec);
  }

  /** -U: the access time the entry should get; none for a directory or without -U. */
  private atimeOf(row: number): number | undefined {
    if (!this.o.atimes || isDir(this.t.mode[row]!)) return undefined;
    return this.t.extras.get(row)?.atime ?? 0;
  }

  /** -O / -J: no time at all is set on such entries. */
  private timesOmitted(mode: number): boolean {
    return (isDir(mode) && this.o.omitDirTimes) || (isLink(mode) && this.o.omitLinkTimes);
  }

  /** Whether times are kept for this kind of entry (-t, minus -O / -J). */
  keepsTime(mode: number): boolean {
    const o = this.o;
    if (!o.times) return false;
    if (isDir(mode)) return !o.omitDirTimes;
    if (isLink(mode)) return !o.omitLinkTimes;
    return true;
  }

  /** generator.c itemize(): the report flags for an entry against what exists (null = it did not). */
  itemizeFlags(row: number, st: DestStat | null, w: Wanted, iflags: number, timeFailed = false): number {
    if (!st) return iflags | ITEM.IS_NEW;
    const o = this.o;
    const mode = this.t.mode[row]!;
    if (isReg(mode) && this.t.size[row] !== st.size) iflags |= ITEM.REPORT_SIZE;
    if (timeFailed) {
      if (iflags & ITEM.LOCAL_CHANGE) iflags |= ITEM.REPORT_TIME | ITEM.REPORT_TIMEFAIL;
    } else if (this.keepsTime(mode) ? this.mtimeDiffers(row, st) : (iflags & (ITEM.TRANSFER | ITEM.LOCAL_CHANGE)) !== 0 && !(iflags & ITEM.MATCHED)) {
      iflags |= ITEM.REPORT_TIME;
    }
    // -U: the access time of what is there (not of a directory or a symlink).
    const atime = this.atimeOf(row);
    if (atime !== undefined && !isLink(mode) && st.atime !== undefined && !sameTime(o.modifyWindow, atime, 0, st.atime, 0)) {
      iflags |= ITEM.REPORT_ATIME;
    }
    if (!isLink(mode)) {
      if (o.perms) {
        if ((st.mode & CHMOD_BITS) !== (w.mode & CHMOD_BITS)) iflags |= ITEM.REPORT_PERMS;
      } else if (o.executability && ((st.mode & 0o111) !== 0) !== ((w.mode & 0o111) !== 0)) {
        iflags |= ITEM.REPORT_PERMS;
      }
    }
    if (o.owner && this.amRoot && w.uid !== st.uid) iflags |= ITEM.REPORT_OWNER;
    if (w.setGroup && w.gid !== st.gid) iflags |= ITEM.REPORT_GROUP;
    return iflags;
  }

  /**
   * rsync.c set_file_attrs: owner, group, permissions, then times, each only
   * when it differs. `st` is what is on disk now (after creating the entry).
   * `time`: "window" compares per --modify-window, "exact" to the
   * nanosecond (after a transfer), "skip" leaves times alone (a kept partial
   * file), or an explicit mtime to set.
   * Returns false when setting the times of a symlink failed (FLAG_TIME_FAILED).
   * `fd`: the entry is a regular file open for writing (a new temp file, not
   * under --fake-super), whose owner, mode and times are set through it.
   */
  /** --debug=own: set_file_attrs says whose the entry becomes. */
  ownDebug = 0;

  private ownershipDebug(rel: Uint8Array, st: DestStat, w: Wanted, uid: boolean, gid: boolean): void {
    const name = Buffer.from(rel).toString("latin1");
    if (uid) debugLine(`set uid of ${name} from ${st.uid} to ${w.uid}`);
    if (gid) debugLine(`set gid of ${name} from ${st.gid} to ${w.gid}`);
  }

  /**
   * What apply(..., "exact", fd) does to a regular file just created and
   * written, for a FileWriter job (which compares with the file's fstat and
   * sets each only when it differs, as apply does): not for --fake-super,
   * -A or --debug=own, which need apply itself. Set on `job` in place (a
   * spread into a new object per file cost more than the rest of this).
   */
  setFileJobAttrs(job: FileJob, row: number, w: Wanted): void {
    const o = this.o;
    const t = this.t;
    const mode = t.mode[row]!;
    let attrs = WRITE_ATTR.mode;
    if (o.owner && this.amRoot) attrs |= WRITE_ATTR.uid;
    if (w.setGroup) attrs |= WRITE_ATTR.gid;
    if (this.keepsTime(mode)) attrs |= WRITE_ATTR.mtime;
    // -U: after a transfer the access time is always set.
    const atime = this.atimeOf(row);
    if (atime !== undefined && !this.timesOmitted(mode)) attrs |= WRITE_ATTR.atime;
    job.attrs = attrs;
    job.uid = w.uid;
    job.gid = w.gid;
    job.mode = o.daemonChmod.length ? tweakMode(w.mode, o.daemonChmod) : w.mode;
    job.mtime = t.mtime[row]!;
    job.nsec = t.nsec[row]!;
    job.atime = atime ?? 0;
  }

  /**
   * rsync.c set_file_attrs: ownership, then times, then ACLs and permissions,
   * each only where it differs. The first step that fails ends it, thrown as
   * an AttrStepError (which names the step as upstream's message does).
   * False when a symlink's times could not be set (its flag TIME_FAILED).
   */
  apply(dest: DestFs, rel: Uint8Array, row: number, st: DestStat, w: Wanted, time: "window" | "exact" | "skip" | { mtime: number }, fd = -1): boolean {
    const o = this.o;
    const t = this.t;
    const mode = t.mode[row]!;
    const changeUid = o.owner && this.amRoot && st.uid !== w.uid;
    const changeGid = w.setGroup && st.gid !== w.gid;
    const shown = () => dest.shown(rel);
    if (this.ownDebug && (changeUid || changeGid)) this.ownershipDebug(rel, st, w, changeUid, changeGid);
    if (!this.fakeSuper && (changeUid || changeGid)) {
      attrStep(changeUid ? "chown" : "chgrp", () => {
        if (fd >= 0) fchownFd(fd, changeUid ? w.uid : st.uid, changeGid ? w.gid : st.gid, shown);
        else dest.lchown(rel, changeUid ? w.uid : st.uid, changeGid ? w.gid : st.gid);
      });
      // chown clears setuid/setgid: look again so the mode check below puts them back.
      if (st.mode & 0o6000) st = (fd >= 0 ? fstatFd(fd, shown) : dest.lstat(rel)) ?? st;
    }
    // A receiving daemon's "incoming chmod" once more (rsync.c set_file_attrs): without -p it changes kept permissions too.
    const newMode = o.daemonChmod.length && !isLink(mode) ? tweakMode(w.mode, o.daemonChmod) : w.mode;
    if (this.fakeSuper) {
      // --fake-super (set_file_attrs → set_stat_xattr): ownership and the whole mode are stored, not applied.
      const e = t.extras.get(row);
      setStatXattr(dest.abs(rel), {
        mode: (mode & ~CHMOD_BITS) | (newMode & CHMOD_BITS),
        rdevMajor: e?.rdevMajor ?? 0,
        rdevMinor: e?.rdevMinor ?? 0,
        uid: o.owner ? w.uid : st.uid,
        gid: o.group ? w.gid : st.gid,
      });
    }
    const timesSet = this.applyTimes(dest, rel, row, st, time, fd);
    // -A (set_file_attrs → set_acl): the ACLs go on before the chmod, which compares with the mode they leave.
    if (this.acls && !isLink(mode)) {
      const set = this.setAcls(dest, rel, row, st, (mode & ~CHMOD_BITS) | (newMode & CHMOD_BITS), false);
      if (set.changed) {
        this.aclChanged.add(row);
        // The caller's stat takes the mode the ACL left, as upstream's sxp does: an item reported after this compares with it.
        st.mode = set.mode;
      }
    }
    if (!this.fakeSuper && !isLink(mode) && (st.mode & CHMOD_BITS) !== (newMode & CHMOD_BITS)) {
      attrStep("perms", () => {
        if (fd >= 0) fchmodFd(fd, newMode, shown);
        else dest.chmod(rel, newMode);
      });
    }
    return timesSet;
  }

  /** set_file_attrs' times: false when a symlink's could not be set (which is no error). */
  private applyTimes(dest: DestFs, rel: Uint8Array, row: number, st: DestStat, time: "window" | "exact" | "skip" | { mtime: number }, fd: number): boolean {
    const t = this.t;
    const mode = t.mode[row]!;
    const shown = () => dest.shown(rel);
    if (typeof time === "object") {
      attrStep("times", () => {
        if (fd >= 0) futimesFd(fd, time.mtime, 0, undefined, shown);
        else dest.setTimes(rel, time.mtime, 0, isLink(mode));
      });
      return true;
    }
    if (time === "skip") return true;
    const keepMtime = this.keepsTime(mode);
    const setMtime =
      keepMtime &&
      !(time === "exact"
        ? t.mtime[row] === st.mtime && t.nsec[row] === st.nsec
        : sameTime(this.o.modifyWindow, t.mtime[row]!, t.nsec[row]!, st.mtime, st.nsec));
    // -U (rsync.c set_file_attrs): after a transfer the atime is always set, otherwise when it differs; -J/-O leave all times alone.
    const atime = this.atimeOf(row);
    const setAtime =
      atime !== undefined && !this.timesOmitted(mode) && (time === "exact" || st.atime === undefined || !sameTime(this.o.modifyWindow, atime, 0, st.atime, 0));
    if (!setMtime && !setAtime) return true;
    try {
      if (fd >= 0) futimesFd(fd, setMtime ? t.mtime[row]! : st.mtime, setMtime ? t.nsec[row]! : st.nsec, setAtime ? atime : undefined, shown);
      else dest.setTimes(rel, setMtime ? t.mtime[row]! : st.mtime, setMtime ? t.nsec[row]! : st.nsec, isLink(mode), setAtime ? atime : undefined);
    } catch (e) {
      if (isLink(mode)) return false;
      throw new AttrStepError("times", e);
    }
    return true;
  }
}

/** The set_file_attrs step that failed, as its message names it ("chown X failed", "failed to set times on X", ...). */
export type AttrStep = "chown" | "chgrp" | "times" | "perms";

export class AttrStepError extends Error {
  constructor(
    readonly step: AttrStep,
    override readonly cause: unknown,
  ) {
    super(`${step}: ${(cause as Error)?.message ?? cause}`);
  }

  /** rsync.c's text for the failure (without the errno), `full` the name as full_fname shows it. */
  text(full: string): string {
    if (this.step === "chown" || this.step === "chgrp") return `${this.step} ${full} failed`;
    return `failed to set ${this.step === "times" ? "times" : "permissions"} on ${full}`;
  }
}

/** Runs one set_file_attrs step: its failure as an AttrStepError naming `step`. */
export function attrStep(step: AttrStep, call: () => void): void {
  try {
    call();
  } catch (e) {
    throw new AttrStepError(step, e);
  }
}
