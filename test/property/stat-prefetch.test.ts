/**
 * The stat prefetcher (core.statPrefetcher: zig/stat_prefetch.zig's worker
 * thread) must give, for any names in any directory, what fd-ops lstatAt
 * gives on the JS thread (the generator's own stat): the same fields for
 * files of any size and time (negative times with nanoseconds included),
 * directories, symlinks and fifos; ENOENT for a missing name or a missing
 * directory; the directory's own errno for a path that is no directory.
 * Jobs are cut and queued as the generator queues them, many at a time, so
 * that the ring wraps around.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { core, tsCore } from "../../src/native/index.ts";
import { closeFd, lstatAt, openDir } from "../../src/fs/fd-ops.ts";
import { setTimes } from "../../src/fs/libc.ts";
import type { EntryStat, StatPrefetcher } from "../../src/native/api.ts";

const root = mkdtempSync(join(tmpdir(), "oc-stat-prefetch-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const bytes = (s: string) => new Uint8Array(Buffer.from(s));
/** submit with the names packed as the generator packs them (each followed by a NUL). */
const submitNames = (p: StatPrefetcher, dir: Uint8Array, names: Uint8Array[]) =>
  p.submit(dir, new Uint8Array(Buffer.concat(names.flatMap((n) => [n, Buffer.from([0])]))), names.length);

type Kind = "file" | "dir" | "symlink" | "fifo" | "missing";
const entry = fc.record({
  name: fc.constantFrom("a", "b", "c", "long-" + "n".repeat(60), "sp ace", "é"),
  kind: fc.constantFrom<Kind>("file", "file", "dir", "symlink", "fifo", "missing"),
  size: fc.constantFrom(0, 1, 4097, 70000),
  mtime: fc.integer({ min: -3_000_000, max: 2_000_000_000 }),
  nsec: fc.constantFrom(0, 1, 500_000_000, 999_999_999),
});
/** Directories looked into: real ones, one missing, one that is a file. */
const DIRS = ["", "d1", "d1/d2", "missing-dir", "a-file"];
const job = fc.record({ dir: fc.nat(DIRS.length - 1), names: fc.array(fc.constantFrom("a", "b", "c", "d1", "a-file", "zz", "long-" + "n".repeat(60), "sp ace", "é"), { minLength: 1, maxLength: 40 }) });

let treeNo = 0;
function makeTree(entries: { name: string; kind: Kind; size: number; mtime: number; nsec: number }[]): string {
  const base = join(root, `t${treeNo++}`);
  mkdirSync(join(base, "d1", "d2"), { recursive: true });
  writeFileSync(join(base, "a-file"), "x");
  for (const [i, e] of entries.entries()) {
    const dir = join(base, DIRS[i % 3]!);
    const path = join(dir, e.name);
    rmSync(path, { recursive: true, force: true });
    if (e.kind === "file") writeFileSync(path, new Uint8Array(e.size));
    else if (e.kind === "dir") mkdirSync(path);
    else if (e.kind === "symlink") symlinkSync("target/" + e.name, path);
    else if (e.kind === "fifo") spawnSync("mkfifo", [path]);
    // (Through libc: node's utimes ignores times before 1970.)
    if (e.kind !== "missing") setTimes(path, e.mtime, e.nsec, true, e.mtime - 7, e.nsec);
  }
  return base;
}

/** What the generator's own stat says: the entry, or the positive errno (ENOENT for a missing directory too). */
function oracle(dir: string, name: string): EntryStat | number {
  let fd: number;
  try {
    fd = openDir(bytes(dir), () => dir);
  } catch (e) {
    return Math.abs((e as NodeJS.ErrnoException).errno!);
  }
  try {
    return lstatAt(fd, bytes(name), () => name) ?? 2;
  } catch (e) {
    return Math.abs((e as NodeJS.ErrnoException).errno!);
  } finally {
    closeFd(fd, () => dir);
  }
}

const p = core.statPrefetcher;

function waitDone(slot: number): void {
  for (let i = 0; p.done() < slot; i++) {
    if (i > 20_000) throw new Error(`stat prefetcher stuck at ${p.done()} < ${slot}`);
    Bun.sleepSync(1);
  }
}

describe.skipIf(core.caps.kind !== "native")("stat prefetcher", () => {
  test("records equal lstatAt's on random trees", () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 30 }), fc.array(job, { minLength: 1, maxLength: 30 }), (entries, jobs) => {
        const base = makeTree(entries);
        const given: { slot: number; dir: string; names: string[] }[] = [];
        for (const j of jobs) {
          const dir = join(base, DIRS[j.dir]!);
          const slot = submitNames(p, bytes(dir), j.names.map(bytes));
          if (slot < 0) break;
          given.push({ slot, dir, names: j.names });
        }
        expect(given.length).toBeGreaterThan(0);
        p.kick();
        const last = given[given.length - 1]!;
        waitDone(last.slot + last.names.length);
        for (const g of given) {
          g.names.forEach((name, i) => {
            expect({ name, dir: g.dir, got: p.record(g.slot + i) }).toEqual({ name, dir: g.dir, got: oracle(g.dir, name) });
          });
        }
        p.skipBelow(last.slot + last.names.length);
      }),
      { numRuns: 60 },
    );
  });

  test("slots passed over are skipped, and the count goes on in order", () => {
    const base = makeTree([]);
    const names = Array.from({ length: 500 }, (_, i) => bytes(`n${i}`));
    const first = submitNames(p, bytes(base), names);
    expect(first).toBeGreaterThanOrEqual(0);
    p.skipBelow(first + 500);
    const next = submitNames(p, bytes(join(base, "d1")), [bytes("d2")]);
    expect(next).toBe(first + 500);
    p.kick();
    waitDone(next + 1);
    const st = p.record(next) as EntryStat;
    expect(st.mode & 0o170000).toBe(0o040000);
    p.skipBelow(next + 1);
  });

  test("a full ring takes no more until slots are let go", () => {
    const base = makeTree([]);
    const start = submitNames(p, bytes(base), [bytes("a-file")]);
    const big = Array.from({ length: p.slots }, () => bytes("a-file"));
    expect(submitNames(p, bytes(base), big)).toBe(-1);
    p.skipBelow(start + 1);
    expect(submitNames(p, bytes(base), big)).toBe(start + 1);
    p.kick();
    waitDone(start + 1 + p.slots);
    expect((p.record(start + p.slots) as EntryStat).size).toBe(1);
    p.skipBelow(start + 1 + p.slots);
  });
});

test("the TypeScript twin takes no jobs (every stat is made by the generator)", () => {
  const twin = tsCore.statPrefetcher;
  expect(twin.slots).toBe(0);
  expect(submitNames(twin, bytes(root), [bytes("x")])).toBe(-1);
  expect(twin.done()).toBe(0);
});
