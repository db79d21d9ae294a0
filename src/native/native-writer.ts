/**
 * The FileWriter over zig/file_writer.zig: jobs are queued for its worker
 * thread. The data a job names stays referenced here until the worker is done
 * with it (native reads it in place, no copy).
 */
import { ptr } from "bun:ffi";
import { WRITE_STEP, type DirTimesJob, type FileJob, type FileWriter, type WriteFailure } from "./api.ts";
import type { NativeLibrary } from "./load.ts";
import { Iovecs } from "../fs/c-words.ts";

/** Meta record fields (zig/file_writer.zig Meta), as f64. */
const KIND_FILE = 0;
const KIND_DIR_TIMES = 1;
const KIND_CLOSE_FD = 2;
const NO_NAME = new Uint8Array(0);

export function createNativeWriter(s: NativeLibrary["symbols"]): FileWriter {
  /** zig/file_writer.zig Meta: the job's fields, then where its names and data are. */
  const meta = new Float64Array(17);
  const iov = new Iovecs(64);
  const failure = new Float64Array(3);
  /** The data of jobs not known to be done, oldest first, with their sequence numbers. */
  const held: { seq: number; data: Uint8Array[]; released: (() => void) | undefined }[] = [];
  let done = 0;

  const submit = (name: Uint8Array, final: Uint8Array, data: Uint8Array[], released?: () => void): number => {
    iov.ensure(data.length);
    let n = 0;
    for (const chunk of data) if (chunk.byteLength) iov.set(n++, chunk);
    meta[11] = name.length ? ptr(name) : 0;
    meta[12] = name.length;
    meta[13] = final.length ? ptr(final) : 0;
    meta[14] = final.length;
    meta[15] = n ? ptr(iov.words) : 0;
    meta[16] = n;
    const seq = s.oc_writer_submit(meta);
    if (seq < 0) throw new RangeError(`native file writer: errno ${-seq}`);
    if (n || released) held.push({ seq, data, released });
    return seq;
  };

  /** Lets go of the data of jobs that are done. */
  const release = (upTo: number) => {
    done = upTo;
    while (held.length && held[0]!.seq <= upTo) held.shift()!.released?.();
  };

  return {
    putFile(job: FileJob) {
      meta[0] = KIND_FILE;
      meta[1] = job.dirFd;
      meta[2] = job.createMode;
      meta[3] = job.attrs;
      meta[4] = job.uid;
      meta[5] = job.gid;
      meta[6] = job.mode;
      meta[7] = job.mtime;
      meta[8] = job.nsec;
      meta[9] = job.atime;
      meta[10] = 0;
      return submit(job.temp, job.final, job.data, job.released);
    },
    touchDir(job: DirTimesJob) {
      meta.fill(0);
      meta[0] = KIND_DIR_TIMES;
      meta[7] = job.mtime;
      meta[8] = job.nsec;
      meta[10] = job.window;
      return submit(job.path, NO_NAME, []);
    },
    closeLater(fd: number) {
      meta.fill(0);
      meta[0] = KIND_CLOSE_FD;
      meta[1] = fd;
      return submit(NO_NAME, NO_NAME, []);
    },
    kick() {
      s.oc_writer_kick();
    },
    completed() {
      const n = s.oc_writer_completed();
      if (n !== done) release(n);
      return n;
    },
    wait(seq: number) {
      if (seq <= done) return;
      s.oc_writer_wait(seq);
      release(s.oc_writer_completed());
    },
    takeFailure(): WriteFailure | null {
      if (!s.oc_writer_take_failure(failure)) return null;
      return { seq: failure[0]!, errno: failure[1]!, step: WRITE_STEP[failure[2]!] ?? "none" };
    },
  };
}
