/**
 * The sender's reads of files sent whole, relative to their directory: the
 * directory of the file being sent is kept open, and each file is opened by
 * its base name from there (Core.readSource with a directory descriptor).
 * Opened by its whole path, every file made the kernel walk the module's or
 * argument's path and the file's dirname again, component by component
 * (upstream does the same from inside the transfer's root, chdir'ed there).
 * Requests come in file-list order, a directory's files one after the other,
 * so one open directory covers nearly every file.
 *
 * A directory that cannot be opened (vanished, unsearchable, not a directory
 * any more) leaves its files to the whole-path open, which meets and reports
 * the same errors as before.
 *
 * In a chroot-less daemon module (`confinedRoot`) nothing is opened by a
 * whole path: each directory is opened inside the module's root, a symlink on
 * the way followed only while its target stays inside (fd-ops openDirInside,
 * as the walk opens them), and when that fails its files fail to open with
 * that error. A directory swapped for a symlink out of the module after it
 * was listed would otherwise lead the sender out of it (upstream 3.5.0:
 * sender.c sender_open_confined). The file itself is opened O_NOFOLLOW there
 * whatever the flags say; under -L, --copy-unsafe-links or --copy-dirlinks
 * (`followLinks`) a file that is a symlink is then opened again by its
 * module-relative path, its links followed while they stay inside the module
 * and refused with ELOOP where they leave it (fd-ops openInside; upstream's
 * sender_open_copylinks_confined).
 */
import { closeSync, constants, fstatSync } from "node:fs";
import { core, type SourceRead } from "../native/index.ts";
import { fdOpsAvailable, openAt, openConfinedRoot, openDir, openDirInside, openInside } from "../fs/fd-ops.ts";

/** Where the rows' files are: what SourceDirs asks the file-list builder. */
export interface SourceLocations {
  /** A number for the directory a row's file is in, or -1 to open it by its whole path. */
  localDirKey(row: number): number;
  /** That directory's path. */
  localDir(row: number): Uint8Array;
  /** That directory relative to the transfer's root ("" for the root itself); null for an absolute name. */
  rootRelativeDir(row: number): Uint8Array | null;
  /** The row's whole local path (a view the next call reuses). */
  localPathNow(row: number): Uint8Array;
  /** The row's base name (a view). */
  baseName(row: number): Uint8Array;
}

/** No directory is open: its files go by their whole paths. */
const NO_DIR = -1;
const SLASH = new Uint8Array([0x2f]);

export class SourceDirs {
  /** The key of the directory `fd` is (or failed to be) open on. */
  private key = -1;
  private fd = NO_DIR;
  /** Confined: why the current directory could not be opened (its files fail with it). */
  private failure: unknown = null;
  /** Confined: the root, opened once. */
  private rootFd = NO_DIR;

  /** The flags a file is opened with relative to its directory: never through a symlink when confined. */
  private readonly flags: number;

  constructor(
    private readonly at: SourceLocations,
    /** O_RDONLY, O_NOFOLLOW unless links are followed, maybe O_NOATIME. */
    flags: number,
    /** A chroot-less daemon module's path: every open stays inside it (see the module comment). */
    private readonly confinedRoot?: Uint8Array,
    /** Confined: -L, --copy-unsafe-links or --copy-dirlinks, a file's symlink is followed inside the module. */
    private readonly followLinks = false,
  ) {
    this.flags = confinedRoot ? flags | constants.O_NOFOLLOW : flags;
  }

  /** Core.readSource of the row's file: relative to its directory when that could be opened, else by its whole path. */
  read(row: number, into: Uint8Array): SourceRead {
    const dirFd = this.dirOf(row);
    if (dirFd === NO_DIR) return core.readSource(this.at.localPathNow(row), this.flags, into);
    try {
      return core.readSource(this.at.baseName(row), this.flags, into, dirFd);
    } catch (e) {
      // A symlink followed inside the module: read through its descriptor (the caller does for a large file).
      const fd = this.openFollowing(row, e);
      try {
        return { fd, size: fstatSync(fd).size, read: 0 };
      } catch (e2) {
        closeSync(fd);
        throw e2;
      }
    }
  }

  /** The row's file opened for reading (a descriptor the caller closes), as read() finds it. */
  open(row: number, wholePath: () => number): number {
    const dirFd = this.dirOf(row);
    if (dirFd === NO_DIR) return wholePath();
    try {
      return openAt(dirFd, this.at.baseName(row), this.flags, () => Buffer.from(this.at.localPathNow(row)).toString("latin1"));
    } catch (e) {
      return this.openFollowing(row, e);
    }
  }

  /**
   * After the confined O_NOFOLLOW open of the row's file failed with `e`: when
   * links are followed and the file is a symlink (ELOOP), the file opened by
   * its path inside the module; else `e` thrown.
   */
  private openFollowing(row: number, e: unknown): number {
    if (!this.followLinks || this.confinedRoot === undefined || (e as NodeJS.ErrnoException).code !== "ELOOP") throw e;
    const dir = this.at.rootRelativeDir(row);
    if (dir === null || this.rootFd === NO_DIR) throw e;
    const base = this.at.baseName(row);
    const rel = dir.length === 0 ? base : Buffer.concat([dir, SLASH, base]);
    return openInside(this.rootFd, rel, this.flags, () => Buffer.from(this.at.localPathNow(row)).toString("latin1"));
  }

  /** The open directory to open the row's file in, or NO_DIR for its whole path; throws a confined directory's failure. */
  private dirOf(row: number): number {
    const key = fdOpsAvailable ? this.at.localDirKey(row) : -1;
    if (key < 0) {
      if (this.confinedRoot && fdOpsAvailable) return this.enterInside(row, -1);
      return NO_DIR;
    }
    if (key !== this.key) {
      if (this.confinedRoot) this.enterInside(row, key);
      else this.enter(row, key);
    }
    if (this.failure !== null) throw this.failure;
    return this.fd;
  }

  private enter(row: number, key: number): void {
    this.close();
    this.key = key;
    try {
      this.fd = openDir(this.at.localDir(row), () => "");
    } catch {
      this.fd = NO_DIR;
    }
  }

  /** Opens the row's directory inside the confined root (key -1: a name without one, opened for this row only). */
  private enterInside(row: number, key: number): number {
    this.close();
    this.key = key;
    const rel = this.at.rootRelativeDir(row);
    try {
      if (rel === null) throw Object.assign(new Error("ELOOP: absolute name in a confined module"), { code: "ELOOP", errno: -40 });
      if (this.rootFd === NO_DIR) this.rootFd = openConfinedRoot(this.confinedRoot!, () => Buffer.from(this.confinedRoot!).toString("latin1"));
      this.fd = openDirInside(this.rootFd, rel, () => Buffer.from(rel).toString("latin1"));
    } catch (e) {
      this.failure = e;
      if (key < 0) throw e;
    }
    return this.fd;
  }

  /** Closes the open directory (the next read opens one again). */
  close(): void {
    if (this.fd !== NO_DIR) closeSync(this.fd);
    this.fd = NO_DIR;
    this.key = -1;
    this.failure = null;
  }

  /** Closes the confined root too (the session is over). */
  end(): void {
    this.close();
    if (this.rootFd !== NO_DIR) closeSync(this.rootFd);
    this.rootFd = NO_DIR;
  }
}
