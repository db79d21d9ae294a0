/**
 * The file writer (core.fileWriter: zig/file_writer.zig's worker thread) must
 * leave the same tree and report the same failures as its TypeScript twin for
 * any run of jobs: files of any data (cut into any chunks), modes, owners and
 * times, names that collide (a temp name already there, a final name that is
 * a directory), directories whose times are touched up by each window rule,
 * and descriptors closed behind the jobs that use them.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { core, tsCore } from "../../src/native/index.ts";
import type { FileWriter, WriteFailure } from "../../src/native/api.ts";
import { openDir } from "../../src/fs/fd-ops.ts";

const root = mkdtempSync(join(tmpdir(), "oc-file-writer-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const bytes = (s: string) => new Uint8Array(Buffer.from(s));

type Job =
  | { kind: "file"; dir: number; temp: string; final: string; chunks: Uint8Array[]; createMode: number; attrs: number; uid: number; gid: number; mode: number; mtime: number; nsec: number; atime: number }
  | { kind: "touch"; dir: number; mtime: number; nsec: number; window: number }
  | { kind: "reopen"; dir: number };

const DIRS = ["a", "b", "a/sub"];
const name = fc.constantFrom("x", "y", "z", ".x.tmp", "sub", "long-name-" + "n".repeat(40));
const fileJob = fc.record({
  kind: fc.constant("file" as const),
  dir: fc.nat(DIRS.length - 1),
  temp: fc.constantFrom(".x.tmp", ".y.tmp", ".t1", ".t2"),
  final: name,
  chunks: fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 4 }),
  createMode: fc.constantFrom(0o600, 0o644, 0o200),
  // Times always set: a file's own creation time would differ between two runs.
  attrs: fc.nat(7).map((a) => a | 8 | 16),
  uid: fc.nat(3),
  gid: fc.nat(3),
  mode: fc.constantFrom(0o644, 0o755, 0o4755, 0o2711, 0o600, 0o1777),
  mtime: fc.integer({ min: -100000, max: 2_000_000_000 }),
  nsec: fc.nat(999_999_999),
  atime: fc.nat(2_000_000_000),
});
const touchJob = fc.record({
  kind: fc.constant("touch" as const),
  dir: fc.nat(DIRS.length - 1),
  mtime: fc.integer({ min: 1000, max: 2_000_000_000 }),
  nsec: fc.nat(999_999_999),
  window: fc.constantFrom(-1, 0, 2),
});
const reopenJob = fc.record({ kind: fc.constant("reopen" as const), dir: fc.nat(DIRS.length - 1) });
/**
 * The last touch of each directory: a creation in it leaves the time of day,
 * so the end state is only the same after one; near the 5000 s it starts with,
 * so each window rule is decided both ways.
 */
const finalTouches = fc.array(
  fc.record({ kind: fc.constant("touch" as const), mtime: fc.integer({ min: 4997, max: 5003 }), nsec: fc.constantFrom(0, 5), window: fc.constantFrom(-1, 0, 2) }),
  { minLength: DIRS.length, maxLength: DIRS.length },
).map((touches) => touches.map((t, dir) => ({ ...t, dir })));

/** Runs `jobs` in a fresh tree under `base` with `writer`; returns the failures, seq counted from this run's first job. */
function runJobs(writer: FileWriter, base: string, jobs: Job[]): Omit<WriteFailure, "seq">[] & { at: number }[] {
  for (const d of DIRS) mkdirSync(join(base, d), { recursive: true });
  // A file sitting on a temp name, so that creating it exclusively fails.
  writeFileSync(join(base, "b", ".t2"), "in the way");
  utimesSync(join(base, "b", ".t2"), 1, 1);
  // (Deepest first: making "sub" changed "a".)
  for (const d of [...DIRS].reverse()) utimesSync(join(base, d), 5000, 5000);
  let fds = DIRS.map((d) => openDir(bytes(join(base, d)), () => d));
  const seqs: number[] = [];
  for (const j of jobs) {
    if (j.kind === "file") {
      seqs.push(writer.putFile({ dirFd: fds[j.dir]!, temp: bytes(j.temp), final: bytes(j.final), data: j.chunks, createMode: j.createMode, attrs: j.attrs, uid: j.uid, gid: j.gid, mode: j.mode, mtime: j.mtime, nsec: j.nsec, atime: j.atime }));
    } else if (j.kind === "touch") {
      seqs.push(writer.touchDir({ path: bytes(join(base, DIRS[j.dir]!)), mtime: j.mtime, nsec: j.nsec, window: j.window }));
    } else {
      // As DestFs lets a descriptor go: closed behind the jobs already given, a new one for the next.
      seqs.push(writer.closeLater(fds[j.dir]!));
      fds = fds.map((fd, i) => (i === j.dir ? openDir(bytes(join(base, DIRS[i]!)), () => "") : fd));
    }
  }
  const last = seqs.at(-1) ?? 0;
  writer.wait(last);
  expect(writer.completed()).toBeGreaterThanOrEqual(last);
  for (const fd of fds) writer.closeLater(fd);
  writer.wait(last + fds.length);
  const failures = [];
  for (let f = writer.takeFailure(); f; f = writer.takeFailure()) failures.push({ at: seqs.indexOf(f.seq), errno: f.errno, step: f.step });
  return failures;
}

/** Every entry under `dir` with its type, contents, mode, owner and times (atime only for files). */
function snapshot(dir: string, rel = ""): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of readdirSync(join(dir, rel)).sort()) {
    const p = join(dir, rel, n);
    const st = lstatSync(p, { bigint: true });
    const key = join(rel, n);
    if (st.isDirectory()) {
      // (The top directories' times are not the jobs' doing: only those of DIRS are touched last.)
      out[key] = { dir: true, mode: st.mode, uid: st.uid, gid: st.gid, mtime: DIRS.includes(key) ? st.mtimeNs : null };
      Object.assign(out, snapshot(dir, key));
    } else {
      out[key] = { data: readFileSync(p).toString("hex"), mode: st.mode, uid: st.uid, gid: st.gid, mtime: st.mtimeNs, atime: st.atimeNs };
    }
  }
  return out;
}

let run = 0;
describe.skipIf(core.caps.kind !== "native" || process.platform !== "linux")("native file writer", () => {
  test("leaves the tree its twin leaves and fails where it fails", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof({ arbitrary: fileJob, weight: 6 }, { arbitrary: touchJob, weight: 2 }, { arbitrary: reopenJob, weight: 1 }), { maxLength: 40 }), finalTouches, (middle, last) => {
        const jobs: Job[] = [...middle, ...last];
        run++;
        const native = join(root, `n${run}`);
        const twin = join(root, `t${run}`);
        const nativeFailures = runJobs(core.fileWriter, native, jobs);
        const twinFailures = runJobs(tsCore.fileWriter, twin, jobs);
        expect(nativeFailures).toEqual(twinFailures);
        expect(snapshot(native)).toEqual(snapshot(twin));
        rmSync(native, { recursive: true });
        rmSync(twin, { recursive: true });
      }),
      { numRuns: 60 },
    );
  });

  test("a file's data, owner, mode and times are what the job says", () => {
    const base = join(root, "exact");
    const failures = runJobs(core.fileWriter, base, [
      { kind: "file", dir: 0, temp: ".x.tmp", final: "x", chunks: [bytes("hello "), new Uint8Array(0), bytes("world")], createMode: 0o600, attrs: 31, uid: 2, gid: 3, mode: 0o4755, mtime: 1234567890, nsec: 123456789, atime: 1000 },
      { kind: "touch", dir: 0, mtime: 2000, nsec: 7, window: -1 },
    ]);
    expect(failures).toEqual([]);
    const st = lstatSync(join(base, "a", "x"), { bigint: true });
    expect(readFileSync(join(base, "a", "x"), "utf8")).toBe("hello world");
    expect([Number(st.mode & 0o7777n), st.uid, st.gid, st.mtimeNs, st.atimeNs]).toEqual([0o4755, 2n, 3n, 1234567890123456789n, 1000_000_000_000n]);
    expect(readdirSync(join(base, "a")).sort()).toEqual(["sub", "x"]);
    expect(lstatSync(join(base, "a"), { bigint: true }).mtimeNs).toBe(2000_000_000_007n);
  });

  test("a failed file leaves no temp file and is reported with its step and errno", () => {
    const base = join(root, "failing");
    const failures = runJobs(core.fileWriter, base, [
      // b/.t2 is in the way (EEXIST at creation); a final name that is a directory (EISDIR at rename).
      { kind: "file", dir: 1, temp: ".t2", final: "y", chunks: [bytes("data")], createMode: 0o600, attrs: 0, uid: 0, gid: 0, mode: 0o644, mtime: 0, nsec: 0, atime: 0 },
      { kind: "file", dir: 0, temp: ".t1", final: "sub", chunks: [bytes("data")], createMode: 0o600, attrs: 0, uid: 0, gid: 0, mode: 0o644, mtime: 0, nsec: 0, atime: 0 },
    ]);
    expect(failures).toEqual([
      { at: 0, errno: 17, step: "open" },
      { at: 1, errno: 21, step: "rename" },
    ]);
    expect(readdirSync(join(base, "a")).sort()).toEqual(["sub"]);
    expect(readdirSync(join(base, "b")).sort()).toEqual([".t2"]);
  });
});
