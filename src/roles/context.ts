/**
 * What the generator and the receiver share: they are the two halves of
 * the receiving side (upstream forks them; here they are two tasks of one
 * process), so they share the file lists, the destination and the session,
 * and tell each other about finished files and redo requests through this
 * object instead of a pipe.
 */
import type { AclReceiver } from "../flist/acls.ts";
import type { Options } from "../cli/options.ts";
import type { OutputConfig } from "../cli/output-config.ts";
import type { FileLists, FileList } from "../flist/lists.ts";
import type { FileTable } from "../flist/table.ts";
import type { FilterList } from "../flist/filter.ts";
import type { DestFs } from "../fs/dest-fs.ts";
import type { Input } from "../io/input.ts";
import type { Output } from "../io/output.ts";
import type { NdxDecoder, NdxEncoder } from "../protocol/ndx.ts";
import type { Session } from "../protocol/setup.ts";
import type { IdMapper } from "./id-map.ts";
import type { Reporter } from "./reporter.ts";
import type { TransferStats } from "./stats.ts";
import type { GeneratorRequests } from "../batch/generator-requests.ts";
import type { XattrReceiver } from "../flist/xattrs.ts";
import type { PutQueue } from "./put-queue.ts";

export interface ReceivingSide {
  o: Options;
  /** We are the server (a push's receiving end): no statistics come from the sender, messages go to the client. */
  amServer: boolean;
  /** What is printed (info levels, stdout format). */
  out: OutputConfig;
  s: Session;
  lists: FileLists;
  t: FileTable;
  dest: DestFs;
  /** The receiving half of a local copy: progress is shown as upstream's sending half shows it. */
  localCopy: boolean;
  /** --temp-dir as a name relative to the destination root (roles/temp-dir.ts), or null. */
  tempDir: Uint8Array | null;
  input: Input;
  output: Output;
  ndxOut: NdxEncoder;
  ndxIn: NdxDecoder;
  report: Reporter;
  stats: TransferStats;
  ids: IdMapper;
  /** We can chown (running as root). */
  amRoot: boolean;
  /** The process umask at start (we run with umask 0 and apply it ourselves). */
  umask: number;
  /** Single-file destination: the local name replaces the entry's name (get_local_name "mode 2"). */
  soloName: Uint8Array | null;
  /** Where the destination sits in a daemon's module (for the module's rules; empty elsewhere). */
  moduleRoot: Uint8Array;
  /** The filter rules that apply here: what they exclude is never deleted (unless --delete-excluded made them the sender's). */
  filters: FilterList;
  /** Errors reported by the sender (MSG_IO_ERROR, list end) and ourselves: IOERR_* bits. */
  ioError: number;
  /** A transfer error happened (exit code 23 at the end). */
  hadTransferError: boolean;
  /** Directories created by the generator: nothing inside them needs a stat. */
  createdDirs: Set<number>;
  /** Files the receiver asks the generator to send again (MSG_REDO). */
  redo: number[];
  /** Counts NDX_DONE markers the receiver has seen from the sender in each phase (msgdone_cnt). */
  doneMarkers: number;
  /** The receiver reports each transferred file's end (for -H: links wait for their group's first file). */
  fileDone(row: number, ok: boolean): void;
  /** Wakes the generator when the receiver reports progress. */
  wakeGenerator(): void;
  waitForReceiver(): Promise<void>;
  /** --read-batch: which files the generator wants from the batch (it sends nothing). */
  readBatch?: GeneratorRequests;
  /** -A: the sender's ACLs. */
  acls?: AclReceiver;
  /** Files put in place (and directories touched up) behind the receiver, when it may (roles/put-queue.ts). */
  puts?: PutQueue;
  /** -X: the sender's sets of extended attributes (both halves use it; see flist/xattrs.ts). */
  xattrs?: XattrReceiver;
  /** Entries the generator requested and the receiver has not finished, per list. */
  listFor(ndx: number): FileList | undefined;
  /** --remove-source-files: tells the sender that `rel` (entry `ndx`) is in place here (io.c send_msg_success). */
  confirmToSender?(ndx: number, rel: Uint8Array): void;
}

/** A destination entry as its directory (keyed by its name id, for DestFs.dirFd) and its name in it. */
export interface NameInDir {
  dirKey: number;
  dir: Uint8Array;
  base: Uint8Array;
}

/**
 * Row `row`'s destination as a directory and a name in it, for the calls made
 * through the directory's descriptor; null where names go by whole path (no
 * descriptor operations, a single-file destination, a top-level absolute -R
 * name, which keeps its slash in the base name).
 */
export function nameInDir(x: ReceivingSide, row: number): NameInDir | null {
  if (!x.dest.fdOps || x.soloName) return null;
  const base = x.t.baseName(row);
  if (base[0] === 0x2f) return null;
  return { dirKey: x.t.dirId[row]!, dir: x.t.dirName(row), base };
}
