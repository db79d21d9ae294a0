/**
 * -b/--backup on the receiving side (backup.c make_backup, get_backup_name,
 * copy_valid_path): before a file is replaced or deleted, it is kept as
 * NAME + suffix next to it, or under --backup-dir with the destination's
 * directory structure recreated there (each new directory taking the mode
 * and owner of the directory it mirrors).
 *
 * A replaced file is hard-linked to its backup name (the new file is then
 * renamed over the old name); a deleted one is renamed; when neither works
 * (another filesystem) it is copied. Under --dry-run nothing is touched but
 * the "backed up" lines are said, as upstream's no-op syscalls make it say them.
 */
import { debugLine } from "../output/debug-line.ts";
import * as fs from "node:fs";
import { relative, resolve } from "node:path";
import { RERR, RsyncError } from "../errors.ts";
import { isDevice, isDir, isLink, isReg, isSpecial } from "../flist/table.ts";
import { deviceLength, mknod, setTimes } from "../fs/libc.ts";
import type { DestStat } from "../fs/dest-fs.ts";
import { errText } from "../fs/errors.ts";
import { destFullName, fullFname } from "../fs/full-name.ts";
import { AttrStepError, attrStep } from "./attrs.ts";
import type { ReceivingSide } from "./context.ts";
import { isUnsafeSymlink } from "./symlink-safety.ts";

/** make_backup's answers: failed, the entry was moved, it was duplicated (linked or copied), there was nothing to keep. */
export const BACKUP = { FAILED: 0, MOVED: 1, DUPLICATED: 2, NOTHING: 3 } as const;
export type BackupResult = (typeof BACKUP)[keyof typeof BACKUP];

/** Bytes read and written at a time by a backup copy. */
const COPY_CHUNK = 1 << 16;

/**
 * util1.c copy_file: `from` opened (not through a symlink), then `to` made
 * afresh (whatever had its name unlinked first, so a symlink there is not
 * followed; mode 0600 until the caller sets the attributes), and the bytes
 * copied: all of them, or as many as `lengthOf` the open source says (a
 * device's size). A step that fails is told to `failed` before it throws.
 */
function copyContents(from: Buffer, to: Buffer, lengthOf: ((fd: number) => number) | null, failed?: (step: "open" | "unlink", path: Buffer, e: unknown) => void): void {
  const step = <T>(name: "open" | "unlink", path: Buffer, act: () => T): T => {
    try {
      return act();
    } catch (e) {
      failed?.(name, path, e);
      throw e;
    }
  };
  const c = fs.constants;
  const input = step("open", from, () => fs.openSync(from, c.O_RDONLY | c.O_NOFOLLOW));
  try {
    step("unlink", to, () => fs.rmSync(to, { force: true }));
    const output = step("open", to, () => fs.openSync(to, c.O_WRONLY | c.O_CREAT | c.O_TRUNC | c.O_EXCL, 0o600));
    try {
      const buf = Buffer.allocUnsafe(COPY_CHUNK);
      for (let left = lengthOf ? lengthOf(input) : Infinity; left > 0; ) {
        const n = fs.readSync(input, buf, 0, Math.min(buf.length, left), null);
        if (n <= 0) break;
        for (let done = 0; done < n; ) done += fs.writeSync(output, buf, done, n - done);
        left -= n;
      }
    } finally {
      fs.closeSync(output);
    }
  } finally {
    fs.closeSync(input);
  }
}

export class Backups {
  private readonly suffix: string;
  /** --backup-dir as said in messages, ending in "/" (backup_dir_buf), or null. */
  private readonly dirShown: string | null;
  /** Where --backup-dir is on disk (relative ones are relative to the destination), ending in "/". */
  private readonly dirPath: string | null;
  private dirMade = false;

  constructor(private readonly x: ReceivingSide) {
    const o = x.o;
    this.suffix = o.backupSuffix ?? "~";
    const dir = o.backupDir;
    this.dirShown = dir === undefined ? null : dir.endsWith("/") ? dir : `${dir}/`;
    this.dirPath = this.dirShown === null ? null : this.dirShown.startsWith("/") ? this.dirShown : `${x.dest.root.toString("latin1")}${this.dirShown}`;
  }

  private static readonly shared = new WeakMap<ReceivingSide, Backups>();

  /** The receiving side's backups (one for the generator, the receiver and the deleter), or null without -b. */
  static of(x: ReceivingSide): Backups | null {
    if (!x.o.backup) return null;
    let b = Backups.shared.get(x);
    if (!b) Backups.shared.set(x, (b = new Backups(x)));
    return b;
  }

  /**
   * main.c do_recv: says (under --info=backup) whether the --backup-dir
   * exists yet; one that is not a directory ends the run.
   */
  announce(): void {
    if (this.dirPath === null) return;
    const shown = this.dirShown!.length > 1 ? this.dirShown!.slice(0, -1) : this.dirShown!;
    const path = this.dirPath.length > 1 ? this.dirPath.slice(0, -1) : this.dirPath;
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(Buffer.from(path, "latin1"));
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== "ENOENT") {
        const failure = new RsyncError(RERR.FILEIO, `Failed to stat ${shown}: ${errText(err).replace(/ \(\d+\)$/, "")}`);
        failure.role = "Receiver";
        throw failure;
      }
    }
    if (st && !st.isDirectory()) {
      const e = new RsyncError(RERR.SYNTAX, `The backup-dir is not a directory: ${shown}`);
      e.role = "Receiver";
      throw e;
    }
    if (this.says()) this.x.report.info(`${st ? "" : "(new) "}backup_dir is ${shown}`);
  }

  private says(): boolean {
    return !this.x.out.quiet && this.x.out.info.get("BACKUP") > 0;
  }

  /** delete.c is_backup_file: without a --backup-dir, a name ending in the suffix is a backup already (deleted, not backed up). */
  keepsOnDelete(rel: Uint8Array): boolean {
    if (this.dirShown !== null) return true;
    const name = Buffer.from(rel).toString("latin1");
    return !(name.length > this.suffix.length && name.endsWith(this.suffix));
  }

  /**
   * make_backup: keeps what is at `rel` under its backup name.
   * `preferRename` when the entry is going away anyway (a deletion, or
   * room made without a temp name); otherwise it is hard-linked. `who` is
   * the role its messages name.
   */
  make(rel: Uint8Array, preferRename: boolean, who: "generator" | "receiver" = "generator"): BackupResult {
    const x = this.x;
    const st = x.dest.lstat(rel);
    if (!st) return BACKUP.NOTHING;
    const name = this.backupName(rel);
    if (name === null) return BACKUP.FAILED;
    const from = x.dest.abs(rel);
    let ret: BackupResult = BACKUP.FAILED;
    if (x.o.dryRun) ret = preferRename ? BACKUP.MOVED : BACKUP.DUPLICATED;
    else {
      let err = this.linkOrRename(from, name.path, preferRename, st);
      if (typeof err !== "number" && (err.code === "EEXIST" || err.code === "EISDIR")) {
        // An older backup of the same name gives way (DEL_FOR_BACKUP: not reported).
        fs.rmSync(name.path, { recursive: true, force: true });
        err = this.linkOrRename(from, name.path, preferRename, st);
      }
      if (typeof err === "number") ret = err;
      else ret = this.copy(rel, name, st, who);
      // backup.c says how each backup was made (--debug=backup): a link or a rename of the file, else a copy.
      if (ret !== BACKUP.FAILED && ret !== BACKUP.NOTHING && x.out.debug.get("BACKUP") > 0) {
        const how = typeof err === "number" ? (err === BACKUP.MOVED ? "RENAME" : "HLINK") : isLink(st.mode) ? "SYMLINK" : isReg(st.mode) ? "COPY" : "DEVICE";
        debugLine(`make_backup: ${how} ${Buffer.from(rel).toString("latin1")} successful.`);
      }
    }
    if (ret === BACKUP.FAILED || ret === BACKUP.NOTHING) return ret;
    if (this.says()) x.report.info(`backed up ${Buffer.from(rel).toString("latin1")} to ${name.shown}`);
    return ret;
  }

  /**
   * recv_generator with --inplace: the file is about to be rewritten where it
   * is, so its backup is a copy (with its attributes), made before the
   * transfer. Returns the backup's path relative to the destination root (the
   * delta basis then), or null when it could not be made.
   */
  copyBeforeInplace(rel: Uint8Array, delta: boolean): Uint8Array | null {
    const x = this.x;
    const st = x.dest.lstat(rel);
    // --write-devices: a device being written is backed up too, its contents as a file.
    const device = st !== null && x.o.writeDevices && isDevice(st.mode);
    if (!st || !(isReg(st.mode) || device)) return null;
    const name = this.backupName(rel);
    if (name === null) return null;
    fs.rmSync(name.path, { force: true });
    if (delta && this.dirShown !== null && !this.dirShown.startsWith("/") && this.dirShown.split("/").includes("..")) {
      // Upstream's quirk: the copy written beside the delta (open 0600) gets no attributes when
      // the --backup-dir climbs out with "..", as its hardened stat refuses that path.
      try {
        copyContents(x.dest.abs(rel), name.path, null);
      } catch {
        return null;
      }
      const here = resolve(x.dest.root.toString("latin1") || ".");
      x.report.error(`rsync: [generator] stat "${here}/${name.shown}" failed: Invalid argument (22)`, true);
      x.hadTransferError = true;
    } else if ((device ? this.copyDevice(x.dest.abs(rel), name, st) : this.copy(rel, name, st, "generator")) !== BACKUP.DUPLICATED) return null;
    if (this.says()) x.report.info(`backed up ${Buffer.from(rel).toString("latin1")} to ${name.shown}`);
    return this.relFromDest(name.path);
  }

  /** receiver.c FNAMECMP_BACKUP: where the backup of `rel` is, relative to the destination root (the --inplace delta basis). */
  basisRel(rel: Uint8Array): Uint8Array {
    const relName = Buffer.from(rel).toString("latin1");
    if (this.dirPath === null) return Buffer.from(relName + this.suffix, "latin1");
    return this.relFromDest(Buffer.from(this.dirPath + relName + this.suffix, "latin1"));
  }

  private relFromDest(path: Buffer): Uint8Array {
    const root = resolve(this.x.dest.root.toString("latin1") || ".");
    return Buffer.from(relative(root, resolve(path.toString("latin1"))), "latin1");
  }

  /** backup.c link_or_rename: a link first unless renaming is preferred (a regular file is renamed when it cannot be linked). */
  private linkOrRename(from: Buffer, to: Buffer, preferRename: boolean, st: DestStat): BackupResult | NodeJS.ErrnoException {
    if (!preferRename) {
      try {
        fs.linkSync(from, to);
        return BACKUP.DUPLICATED;
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (!isReg(st.mode) || err.code === "EEXIST" || err.code === "EISDIR") return err;
      }
    }
    try {
      fs.renameSync(from, to);
    } catch (e) {
      return e as NodeJS.ErrnoException;
    }
    // A rename between two names of one inode does nothing: the old name must still go.
    if (st.nlink > 1 && !isDir(st.mode)) fs.rmSync(from, { force: true });
    return BACKUP.MOVED;
  }

  /** generator.c copy_file of a device (-b --write-devices): its contents (as long as it is) in a regular file, with the node's attributes. */
  private copyDevice(from: Buffer, name: { path: Buffer; shown: string }, st: DestStat): BackupResult {
    const x = this.x;
    try {
      copyContents(from, name.path, deviceLength);
      this.copyAttrs(name.path, st);
      return BACKUP.DUPLICATED;
    } catch (e) {
      const cause = e instanceof AttrStepError ? e.cause : e;
      x.report.error(`rsync: keep_backup failed: "${from.toString("latin1")}" -> "${name.shown}": ${errText(cause)}`);
      return BACKUP.FAILED;
    }
  }

  /**
   * What a duplicated backup keeps of the original (backup.c's
   * set_file_attrs): its owner (as root), modification time to the
   * nanosecond, and permissions (not a symlink's), in set_file_attrs' order;
   * the step that fails throws an AttrStepError.
   */
  private copyAttrs(path: Buffer, st: DestStat): void {
    if (this.x.amRoot) attrStep("chown", () => fs.lchownSync(path, st.uid, st.gid));
    attrStep("times", () => setTimes(path, st.mtime, st.nsec, true));
    if (!isLink(st.mode)) attrStep("perms", () => fs.chmodSync(path, st.mode & 0o7777));
  }

  /**
   * backup.c make_backup_inner when neither a link nor a rename would do
   * (another filesystem): a device (as root, with -D) or special (with
   * --specials) made again, a symlink (with -l) made again, a regular file
   * copied; anything else is not kept. What was made gets the original's
   * attributes; a node or link that cannot be made, or attributes that
   * cannot be set, are said and the backup counts as made, as upstream's.
   */
  private copy(rel: Uint8Array, name: { path: Buffer; shown: string }, st: DestStat, who: "generator" | "receiver"): BackupResult {
    const x = this.x;
    const o = x.o;
    const from = x.dest.abs(rel);
    const shownRel = Buffer.from(rel).toString("latin1");
    const backupFull = () => fullFname(Buffer.alloc(0), name.path, o.moduleName);
    const keepAttrs = (): BackupResult => {
      try {
        this.copyAttrs(name.path, st);
      } catch (e) {
        if (!(e instanceof AttrStepError)) throw e;
        // (set_file_attrs' failures are FERROR_XFER; mknod's and symlink's below are plain FERROR.)
        x.report.error(`rsync: [${who}] ${e.text(backupFull())}: ${errText(e.cause as NodeJS.ErrnoException)}`, true);
      }
      return BACKUP.DUPLICATED;
    };
    // A node or link made again; one that cannot be made is said, and the backup still counts as made.
    const made = (make: () => void, failure: () => string): BackupResult => {
      try {
        make();
      } catch (e) {
        x.report.error(`rsync: [${who}] ${failure()}: ${errText(e as NodeJS.ErrnoException)}`);
        return BACKUP.DUPLICATED;
      }
      return keepAttrs();
    };
    if ((x.amRoot && o.devices && isDevice(st.mode)) || (o.specials && isSpecial(st.mode))) {
      return made(() => mknod(name.path, st.mode, st.rdevMajor, st.rdevMinor), () => `mknod ${backupFull()} failed`);
    }
    if (isLink(st.mode) && o.links) {
      const target = fs.readlinkSync(from, { encoding: "buffer" });
      if (o.safeLinks && isUnsafeSymlink(target, rel)) {
        if (x.out.info.get("SYMSAFE") > 0 && !x.out.quiet) x.report.info(`not backing up unsafe symlink "${shownRel}" -> "${target.toString("latin1")}"`);
        return BACKUP.DUPLICATED;
      }
      return made(() => fs.symlinkSync(target, name.path), () => `link ${backupFull()} -> "${target.toString("latin1")}"`);
    }
    if (!isReg(st.mode)) {
      if (x.out.info.get("NONREG") > 0 && !x.out.quiet) x.report.info(`make_bak: skipping non-regular file ${shownRel}`);
      return BACKUP.NOTHING;
    }
    try {
      // util1.c copy_file says which step failed on its own line, then keep_backup says what it was doing.
      copyContents(from, name.path, null, (step, path, e) => {
        const shown = path === from ? destFullName(x.dest.root, rel, o.moduleName) : backupFull();
        x.report.error(`rsync: [${who}] ${step} ${shown}: ${errText(e)}`, true);
      });
    } catch (e) {
      x.report.error(`rsync: [${who}] keep_backup failed: ${destFullName(x.dest.root, rel, o.moduleName)} -> "${name.shown}": ${errText(e as NodeJS.ErrnoException)}`);
      return BACKUP.FAILED;
    }
    return keepAttrs();
  }

  /**
   * get_backup_name: NAME+suffix next to it, or under --backup-dir, whose
   * missing directories are made here (copy_valid_path).
   */
  private backupName(rel: Uint8Array): { path: Buffer; shown: string } | null {
    const x = this.x;
    const relName = Buffer.from(rel).toString("latin1");
    if (this.dirPath === null) {
      return { path: Buffer.concat([x.dest.abs(rel), Buffer.from(this.suffix, "latin1")]), shown: relName + this.suffix };
    }
    const shown = this.dirShown + relName + this.suffix;
    const path = Buffer.from(this.dirPath + relName + this.suffix, "latin1");
    try {
      if (!x.o.dryRun) {
        if (!this.dirMade) fs.mkdirSync(Buffer.from(this.dirPath, "latin1"), { recursive: true, mode: 0o777 & ~x.umask });
        this.makeDirsFor(relName);
      }
      this.dirMade = true;
    } catch (e) {
      x.report.error(`rsync: backup mkdir ${shown} failed: ${errText(e as NodeJS.ErrnoException)}`);
      return null;
    }
    return { path, shown };
  }

  /** The directories of `relName` under --backup-dir, each made like the destination's own (mode, and owner as root). */
  private makeDirsFor(relName: string): void {
    const x = this.x;
    const parts = relName.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const relDir = parts.slice(0, i).join("/");
      const at = Buffer.from(this.dirPath + relDir, "latin1");
      const st = fs.lstatSync(at, { throwIfNoEntry: false });
      if (st?.isDirectory()) continue;
      // Something else in the way of a backup directory is removed (validate_backup_dir).
      if (st) fs.rmSync(at, { force: true });
      fs.mkdirSync(at, { mode: 0o777 & ~x.umask });
      const mirror = x.dest.lstat(Buffer.from(relDir, "latin1"));
      if (!mirror) continue;
      fs.chmodSync(at, mirror.mode & 0o7777);
      if (x.amRoot && (x.o.owner || x.o.group)) fs.lchownSync(at, x.o.owner ? mirror.uid : -1, x.o.group ? mirror.gid : -1);
    }
  }
}
