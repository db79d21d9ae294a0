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
 */
import { closeSync } from "node:fs";
import { core, type SourceRead } from "../native/index.ts";
import { fdOpsAvailable, openDir } from "../fs/fd-ops.ts";

/** Where the rows' files are: what SourceDirs asks the file-list builder. */
export interface SourceLocations {
  /** A number for the directory a row's file is in, or -1 to open it by its whole path. */
  localDirKey(row: number): number;
  /** That directory's path. */
  localDir(row: number): Uint8Array;
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

  constructor(
    private readonly at: SourceLocations,
    /** O_RDONLY, maybe O_NOATIME. */
    private readonly flags: number,
  ) {}

  /** Core.readSource of the row's file: relative to its directory when that could be opened, else by its whole path. */
  read(row: number, into: Uint8Array): SourceRead {
    const key = fdOpsAvailable ? this.at.localDirKey(row) : -1;
    if (key < 0) return core.readSource(this.at.localPathNow(row), this.flags, into);
    if (key !== this.key) this.enter(row, key);
    if (this.fd === NO_DIR) return core.readSource(this.at.localPathNow(row), this.flags, into);
    return core.readSource(this.at.baseName(row), this.flags, into, this.fd);
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

  /** Closes the open directory (the next read opens one again). */
  close(): void {
    if (this.fd !== NO_DIR) closeSync(this.fd);
    this.fd = NO_DIR;
    this.key = -1;
  }
}
