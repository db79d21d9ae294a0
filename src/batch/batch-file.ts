/**
 * The batch file and its script (batch.c open_batch_files, io.c
 * start_write_batch): --write-batch records what the receiving side reads
 * after the protocol setup, behind a header that lets --read-batch take the
 * place of the connection.
 */
import { closeSync, constants, createReadStream, fstatSync, openSync, writeSync } from "node:fs";
import type { Readable } from "node:stream";
import path from "node:path";
import type { Options } from "../cli/options.ts";
import { RERR, RsyncError } from "../errors.ts";
import { errText } from "../fs/errors.ts";
import { ByteWriter } from "../protocol/writer.ts";
import type { Session } from "../protocol/setup.ts";
import { filterListFromOptions } from "../flist/filter-options.ts";
import type { TransferStats } from "../roles/stats.ts";
import { batchShellScript } from "./shell-script.ts";
import { streamFlagsOf } from "./stream-flags.ts";
import { checkOperatorPath, UNTRUSTED_LINK_NOTICE } from "../fs/operator-path.ts";
import { terminal } from "../output/terminal.ts";

/** Upstream's MAX_BATCH_NAME_LEN. */
const MAX_NAME = 256;

/** full_fname: a name as upstream's messages show it (absolute, quoted). */
const shown = (name: string) => `"${path.resolve(name)}"`;

/**
 * batch.c opens both names through open_no_attacker_symlinks: a symlink on
 * the way that someone else owns is refused (said first), ours or root's is
 * followed.
 */
function openBatch(o: Options, name: string, flags: number, mode: number, code: number): number {
  try {
    if (!o.insecureLinks) checkOperatorPath(name);
    return openSync(name, flags, mode);
  } catch (e) {
    if ((e as { untrusted?: boolean }).untrusted) terminal.error(`${UNTRUSTED_LINK_NOTICE}\n`);
    // Upstream's client has not taken a side yet when it opens them: it is still the "Receiver".
    const err = new RsyncError(code, `rsync: [Receiver] Batch file ${shown(name)} open error: ${errText(e)}`);
    err.role = "Receiver";
    throw err;
  }
}

export function checkBatchName(name: string): void {
  if (Buffer.byteLength(name) > MAX_NAME) throw new RsyncError(RERR.SYNTAX, `the batch-file name must be ${MAX_NAME} characters or less.`);
}

/**
 * --write-batch / --only-write-batch: the open FILE (and FILE.sh, written
 * once the session is known). Every write is synchronous; FILE closes with
 * the process, as upstream's does.
 */
export class BatchRecorder {
  private readonly fd: number;
  private readonly shFd: number;
  private recording = false;

  constructor(private readonly o: Options) {
    const name = o.batchName!;
    const write = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC;
    this.shFd = openBatch(o, `${name}.sh`, write, 0o700, RERR.FILESELECT);
    this.fd = openBatch(o, name, write, 0o600, RERR.FILEIO);
    // write_stream_flags: the options that shape the stream, before anything else.
    this.write(new ByteWriter(4).i32(streamFlagsOf(o)).peek());
  }

  private write(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    let at = 0;
    try {
      while (at < bytes.length) at += writeSync(this.fd, bytes, at, bytes.length - at);
    } catch (e) {
      throw new RsyncError(RERR.FILEIO, `rsync: Batch file ${shown(this.o.batchName!)} write error: ${errText(e)}`);
    }
  }

  /**
   * After setup_protocol: the script (write_batch_shell_file), then the
   * session's header (start_write_batch); from here `record` keeps what the
   * receiving side reads.
   */
  start(s: Session): void {
    const script = batchShellScript({
      program: programWords(),
      rawArgs: process.argv.slice(2),
      paths: this.o.args,
      filters: filterListFromOptions(this.o),
      protocol: s.protocol,
      eolNulls: this.o.from0,
    });
    try {
      writeSync(this.shFd, script);
      closeSync(this.shFd);
    } catch (e) {
      throw new RsyncError(RERR.FILEIO, `rsync: Batch file ${this.o.batchName}.sh write error: ${errText(e)}`);
    }
    const w = new ByteWriter(16).i32(s.protocol);
    if (s.protocol >= 30) w.varint(s.compatFlags);
    w.i32(s.sums.seed);
    this.write(w.peek());
    this.recording = true;
  }

  /** The stream's bytes, as the receiving side reads them (io.c read_buf/write_buf's batch copy). */
  readonly record = (bytes: Uint8Array): void => {
    if (this.recording) this.write(bytes);
  };

  /** --only-write-batch on a sending client: where the file data goes, the batch alone. */
  dataSink(): { writer(): ByteWriter; flush(): void } {
    const w = new ByteWriter(1 << 16);
    return {
      writer: () => w,
      flush: () => {
        this.record(w.peek());
        w.clear();
      },
    };
  }

  /**
   * main.c handle_stats: a sending client gives the batch the statistics a
   * server sender would have sent, so that the reader finds them in place.
   */
  stats(st: TransferStats, protocol: number): void {
    const w = new ByteWriter(40);
    const long30 = (v: number) => (protocol >= 30 ? w.varlong(v, 3) : w.longint(v));
    long30(st.totalRead);
    long30(st.totalWritten);
    long30(st.totalSize);
    if (protocol >= 29) {
      long30(st.flistBuildTime);
      long30(st.flistXferTime);
    }
    this.write(w.peek());
  }
}

/** How the script runs us again: the executable, and the script it runs when we are run from source. */
function programWords(): string[] {
  const script = process.argv[1] ?? "";
  if (/\.[cm]?[jt]s$/.test(script)) return [process.execPath, script];
  return [process.execPath];
}

/**
 * --read-batch=FILE (or "-": stdin): the batch as a stream (it is read as it
 * is parsed, never whole), refused unless it is a regular file or a FIFO.
 */
export function openBatchStream(o: Options): Readable {
  const name = o.batchName!;
  if (name === "-") return process.stdin;
  const fd = openBatch(o, name, constants.O_RDONLY, 0, RERR.FILEIO);
  const st = fstatSync(fd);
  if (!st.isFile() && !st.isFIFO()) {
    closeSync(fd);
    throw new RsyncError(RERR.FILEIO, `Batch file ${shown(name)} is neither a regular file nor a FIFO`);
  }
  return createReadStream("", { fd });
}
