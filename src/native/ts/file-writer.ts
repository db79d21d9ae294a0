/**
 * The file writer's twin (of zig/file_writer.zig): each job is done at once,
 * on the calling thread, through the same descriptor-relative libc calls
 * (src/fs/fd-ops.ts); jobs are therefore always complete and wait() has
 * nothing to wait for. Linux only, as fd-ops is: callers only make jobs when
 * directory descriptors are in use.
 */
import { WRITE_ATTR, type DirTimesJob, type FileJob, type FileWriter, type WriteFailure, type WriteStep } from "../api.ts";
import { AT_FDCWD, closeFd, createAt, fchmodFd, fchownFd, fstatFd, futimesFd, lstatAt, renameAt, unlinkAt, writeAllFd } from "../../fs/fd-ops.ts";
import { setTimes } from "../../fs/libc.ts";
import { sameTime } from "../../roles/same-time.ts";

/** A failed step: its errno (positive), as the native writer records it. */
class StepFailed extends Error {
  constructor(
    readonly step: WriteStep,
    readonly errno: number,
  ) {
    super(step);
  }
}

/** Runs `call`, turning what it throws into the failure of `step`. */
function step<T>(name: WriteStep, call: () => T): T {
  try {
    return call();
  } catch (e) {
    throw new StepFailed(name, Math.abs((e as NodeJS.ErrnoException).errno ?? 5));
  }
}

const unnamed = () => "";

function putFile(job: FileJob): void {
  const fd = step("open", () => createAt(job.dirFd, job.temp, job.createMode, unnamed));
  let failure: unknown = null;
  try {
    writeAndSet(fd, job);
  } catch (e) {
    failure = e;
  }
  try {
    step("close", () => closeFd(fd, unnamed));
  } catch (e) {
    failure ??= e;
  }
  if (!failure) {
    try {
      step("rename", () => renameAt(job.dirFd, job.temp, job.final, unnamed));
    } catch (e) {
      failure = e;
    }
  }
  if (failure) {
    try {
      unlinkAt(job.dirFd, job.temp, unnamed);
    } catch {
      // already gone
    }
    throw failure;
  }
}

function writeAndSet(fd: number, job: FileJob): void {
  if (job.data.length) step("write", () => writeAllFd(fd, job.data, unnamed));
  let st = step("fstat", () => fstatFd(fd, unnamed));
  const changeUid = (job.attrs & WRITE_ATTR.uid) !== 0 && st.uid !== job.uid;
  const changeGid = (job.attrs & WRITE_ATTR.gid) !== 0 && st.gid !== job.gid;
  if (changeUid || changeGid) {
    step("chown", () => fchownFd(fd, changeUid ? job.uid : st.uid, changeGid ? job.gid : st.gid, unnamed));
    // chown clears setuid/setgid: look again so that the mode below puts them back.
    if (st.mode & 0o6000) st = step("fstat", () => fstatFd(fd, unnamed));
  }
  if (job.attrs & WRITE_ATTR.mode && (st.mode & 0o7777) !== (job.mode & 0o7777)) step("chmod", () => fchmodFd(fd, job.mode & 0o7777, unnamed));
  const setMtime = (job.attrs & WRITE_ATTR.mtime) !== 0 && !(st.mtime === job.mtime && st.nsec === job.nsec);
  const setAtime = (job.attrs & WRITE_ATTR.atime) !== 0;
  if (setMtime || setAtime) {
    step("utimes", () => futimesFd(fd, setMtime ? job.mtime : st.mtime, setMtime ? job.nsec : st.nsec, setAtime ? job.atime : undefined, unnamed));
  }
}

function touchDir(job: DirTimesJob): void {
  let st;
  try {
    // A whole path, from the current directory, as the native writer takes it.
    st = lstatAt(AT_FDCWD, job.path, unnamed);
  } catch {
    st = null;
  }
  // Gone: nothing to touch (as the native writer decides). A file or symlink standing for the directory gets the time (a symlink its own).
  if (!st) return;
  const link = (st.mode & 0o170000) === 0o120000;
  if (!sameTime(job.window, job.mtime, job.nsec, st.mtime, st.nsec)) step("utimes_dir", () => setTimes(job.path, job.mtime, job.nsec, link));
}

export function createFileWriter(): FileWriter {
  let done = 0;
  const failures: WriteFailure[] = [];
  const run = (job: () => void): number => {
    const seq = ++done;
    try {
      job();
    } catch (e) {
      if (!(e instanceof StepFailed)) throw e;
      failures.push({ seq, errno: e.errno, step: e.step });
    }
    return seq;
  };
  return {
    putFile: (job) => {
      try {
        return run(() => putFile(job));
      } finally {
        job.released?.();
      }
    },
    touchDir: (job) => run(() => touchDir(job)),
    closeLater: (fd) => run(() => closeFd(fd, unnamed)),
    kick: () => {},
    completed: () => done,
    wait: () => {},
    takeFailure: () => failures.shift() ?? null,
  };
}
