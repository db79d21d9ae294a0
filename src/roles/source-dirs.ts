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
 * whole path: each directory is opened beneath the module's root without
 * following a symlink on the way (fd-ops openDirBeneath), and when that
 * fails its files fail to open with that error. A directory swapped for a
 * symlink after it was listed would otherwise lead the sender out of the
 * module (upstream: sender.c sender_open_confined); the listing already
 * refuses paths through symlinks there.
 */
import { closeSync } from "node:fs";
import { core, type SourceRead } from "../native/index.ts";
import { fdOpsAvailable, openAt, openDir, openDirBeneath } from "../fs/fd-ops.ts";

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

export class SourceDirs {
  /** The key of the directory `fd` is (or failed to be) open on. */
  private key = -1;
  private fd = NO_DIR;
  /** Confined: why the current directory could not be opened (its files fail with it). */
  private failure: unknown = null;
  /** Confined: the root, opened once. */
  private rootFd = NO_DIR;

  constructor(
    private readonly at: SourceLocations,
    /** O_RDONLY and O_NOFOLLOW, maybe O_NOATIME. */
    private readonly flags: number,
    /** A chroot-less daemon module's path: every open stays beneath it (see the module comment). */
    private readonly confinedRoot?: Uint8Array,
  ) {}

  /** Core.readSource of the row's file: relative to its directory when that could be opened, else by its whole path. */
  read(row: number, into: Uint8Array): SourceRead {
    const dirFd = this.dirOf(row);
    if (dirFd === NO_DIR) return core.readSource(this.at.localPathNow(row), this.flags, into);
    return core.readSource(this.at.baseName(row), this.flags, into, dirFd);
  }

  /** The row's file opened for reading (a descriptor the caller closes), as read() finds it. */
  open(row: number, wholePath: () => number): number {
    const dirFd = this.dirOf(row);
    if (dirFd === NO_DIR) return wholePath();
    return openAt(dirFd, this.at.baseName(row), this.flags, () => Buffer.from(this.at.localPathNow(row)).toString("latin1"));
  }

  /** The open directory to open the row's file in, or NO_DIR for its whole path; throws a confined directory's failure. */
  private dirOf(row: number): number {
    const key = fdOpsAvailable ? this.at.localDirKey(row) : -1;
    if (key < 0) {
      if (this.confinedRoot && fdOpsAvailable) return this.enterBeneath(row, -1);
      return NO_DIR;
    }
    if (key !== this.key) {
      if (this.confinedRoot) this.enterBeneath(row, key);
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

  /** Opens the row's directory beneath the confined root (key -1: a name without one, opened for this row only). */
  private enterBeneath(row: number, key: number): number {
    this.close();
    this.key = key;
    const rel = this.at.rootRelativeDir(row);
    try {
      if (rel === null) throw Object.assign(new Error("ELOOP: absolute name in a confined module"), { code: "ELOOP", errno: -40 });
      if (this.rootFd === NO_DIR) this.rootFd = openDir(this.confinedRoot!, () => Buffer.from(this.confinedRoot!).toString("latin1"));
      this.fd = openDirBeneath(this.rootFd, rel, () => Buffer.from(rel).toString("latin1"));
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
