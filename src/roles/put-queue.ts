/**
 * The receiving side's writes that may run behind it: verified files put in
 * place and directories' times touched up, handed to the core's FileWriter
 * (a worker thread natively, done at once by the TypeScript twin).
 *
 * The receiver and generator go on while the worker creates, writes, sets
 * attributes and renames: on a kernel-sized pull those calls were more than
 * half of the JS thread's time. Jobs run in order, so a directory's times are
 * touched after the files written into it, and a directory descriptor is
 * closed after the jobs using it (DestFs.closeDir). Whatever must see the
 * files in place first (deleting after the transfer, restoring the umask,
 * the end of the run) calls drain().
 *
 * At most QUEUE_JOBS jobs and QUEUE_BYTES of file data wait at once: beyond
 * that the JS thread waits for the worker, whose pace is then the disk's.
 *
 * A sleeping native worker is woken once per batch of jobs, not per job (a
 * wake-up is a few futex calls on each side): the queue kicks it when the
 * event loop next turns, i.e. before the JS thread waits for input.
 */
import type { DirTimesJob, FileJob, FileWriter, WriteFailure } from "../native/api.ts";
import { WriteStaging } from "./write-staging.ts";

const QUEUE_JOBS = 4096;
const QUEUE_BYTES = 2 << 20;
/** The staging ring: the queued files' data, the file being received and a large file's unwritten part (1 MiB each at most). */
const STAGING_BYTES = QUEUE_BYTES + (2 << 20);

export const JOB_FILE = 0;
export const JOB_DIR_TIMES = 1;
const JOB_CLOSE = 2;

/** What a failed job was, for its report: JOB_FILE or JOB_DIR_TIMES, the file-table row it was for, and a file's temp name (in its directory). */
export type FailedJob = { kind: typeof JOB_FILE | typeof JOB_DIR_TIMES; row: number; temp: Uint8Array | null; failure: WriteFailure };

export class PutQueue {
  private readonly rows = new Int32Array(QUEUE_JOBS);
  private readonly kinds = new Uint8Array(QUEUE_JOBS);
  private readonly sizes = new Float64Array(QUEUE_JOBS);
  private readonly temps: (Uint8Array | null)[] = new Array(QUEUE_JOBS).fill(null);
  /** Where received files' data waits for its job (IncomingFile copies it there). */
  readonly staging = new WriteStaging(STAGING_BYTES);
  /** The last job given, and the last one known to be done. */
  private last = 0;
  private done = 0;
  private pendingBytes = 0;
  private kickScheduled = false;
  private readonly kick = () => {
    this.kickScheduled = false;
    this.writer.kick();
  };

  constructor(
    private readonly writer: FileWriter,
    private readonly onFailure: (job: FailedJob) => void,
  ) {}

  putFile(row: number, job: FileJob, bytes: number): void {
    this.makeRoom(bytes);
    this.note(this.writer.putFile(job), JOB_FILE, row, bytes, job.temp);
  }

  touchDir(row: number, job: DirTimesJob): void {
    this.makeRoom(0);
    this.note(this.writer.touchDir(job), JOB_DIR_TIMES, row, 0);
  }

  closeLater(fd: number): void {
    this.makeRoom(0);
    this.note(this.writer.closeLater(fd), JOB_CLOSE, -1, 0);
  }

  /** Takes note of the jobs done since the last look, and reports those that failed. */
  poll(): void {
    this.advance(this.writer.completed());
    for (let f = this.writer.takeFailure(); f; f = this.writer.takeFailure()) {
      const at = f.seq % QUEUE_JOBS;
      const kind = this.kinds[at]!;
      if (kind !== JOB_CLOSE) this.onFailure({ kind: kind as FailedJob["kind"], row: this.rows[at]!, temp: this.temps[at]!, failure: f });
    }
  }

  /** Waits until every job given so far is done, and reports the failures. */
  drain(): void {
    if (this.last > this.done) this.writer.wait(this.last);
    this.poll();
  }

  private note(seq: number, kind: number, row: number, bytes: number, temp: Uint8Array | null = null): void {
    const at = seq % QUEUE_JOBS;
    this.temps[at] = temp;
    this.kinds[at] = kind;
    this.rows[at] = row;
    this.sizes[at] = bytes;
    this.last = seq;
    this.pendingBytes += bytes;
    if (!this.kickScheduled) {
      this.kickScheduled = true;
      setImmediate(this.kick);
    }
  }

  private advance(completed: number): void {
    for (let seq = this.done + 1; seq <= completed; seq++) this.pendingBytes -= this.sizes[seq % QUEUE_JOBS]!;
    this.done = completed;
  }

  /** Waits for the worker while the queue is full; a failure's slot must not be reused before it is reported. */
  private makeRoom(bytes: number): void {
    this.poll();
    while (this.last - this.done >= QUEUE_JOBS - 1 || (this.pendingBytes + bytes > QUEUE_BYTES && this.last > this.done)) {
      // Half the backlog at a time: one wake-up per many jobs.
      this.writer.wait(this.done + Math.ceil((this.last - this.done) / 2));
      this.poll();
    }
  }
}
