/**
 * -c's quick check on the receiving side (generator.c quick_check_ok with
 * file_checksum), whose checksums the native core makes ahead of need on
 * worker threads: enough files to fill and refill its queue of hints, with
 * destination files that are identical, identical but for the mtime, of the
 * same size but other bytes, of another size, missing, or something else
 * than a regular file. Compared with upstream: local copies, our client
 * pulling from upstream's daemon, and upstream's client pushing to our daemon.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBothDaemons, stopDaemons, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runOc, runRsync, sortedLines } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

let work: string;
let src: string;
let upstream: RunningDaemon;
let ours: RunningDaemon;

/** File `i` of directory `d`: sizes from empty to a few read buffers' worth. */
const sizeOf = (d: number, i: number) => (i === 0 ? 0 : i === 1 && d === 0 ? 1_300_000 : (d * 131 + i * 17) % 3000);
const content = (d: number, i: number, salt = 0) => Buffer.alloc(sizeOf(d, i), (d * 7 + i + salt) % 251);
const DIRS = 12;
const FILES = 110;

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-csum-quick-"));
  src = join(work, "src");
  for (let d = 0; d < DIRS; d++) {
    fs.mkdirSync(join(src, `d${d}`), { recursive: true });
    for (let i = 0; i < FILES; i++) fs.writeFileSync(join(src, `d${d}`, `f${i}`), content(d, i));
  }
  ageTree(src, 1_450_000_000);
  fs.mkdirSync(join(work, "w"));
  const modules: ModuleConfig[] = [
    { name: "src", path: src, params: { uid: "0", gid: "0" } },
    { name: "w", path: join(work, "w"), params: { "read only": "no", uid: "0", gid: "0" } },
  ];
  ({ upstream, ours } = await startBothDaemons(modules));
});

afterAll(async () => {
  await stopDaemons(upstream, ours);
  fs.rmSync(work, { recursive: true, force: true });
});

/** A destination that differs from the source in every way -c cares about. */
function seedDest(dest: string): void {
  // cp -a keeps the mtimes' nanoseconds (fs.cpSync does not).
  expect(spawnSync("cp", ["-a", src, dest]).status).toBe(0);
  for (let d = 0; d < DIRS; d++) {
    const dir = join(dest, `d${d}`);
    for (let i = 2; i < FILES; i++) {
      const f = join(dir, `f${i}`);
      switch (i % 7) {
        case 0: // same bytes, newer mtime: -c says up to date (only the time is set)
          fs.utimesSync(f, 1_600_000_000, 1_600_000_000);
          break;
        case 1: // same size and mtime, other bytes: -c transfers it
          if (sizeOf(d, i) > 0) fs.writeFileSync(f, content(d, i, 1));
          fs.utimesSync(f, 1_450_000_000, 1_450_000_000);
          break;
        case 2: // another size
          fs.appendFileSync(f, "x");
          break;
        case 3:
          fs.rmSync(f);
          break;
        case 4: // a directory where the file goes
          if (d % 3 === 0) {
            fs.rmSync(f);
            fs.mkdirSync(f);
          }
          break;
        case 5: // a symlink to a file of the right size and bytes
          if (d % 3 === 1) {
            fs.rmSync(f);
            fs.symlinkSync(`f${i - 5}`, f);
          }
          break;
      }
    }
  }
}

type Mode = "local" | "pull" | "push";

async function compare(mode: Mode, args: string[]) {
  const name = `${mode}-${args.join("_").replace(/[^\w]/g, "")}`;
  const oursDest = join(work, "w", `${name}-ours`);
  const theirsDest = join(work, "w", `${name}-theirs`);
  seedDest(oursDest);
  seedDest(theirsDest);
  const from = mode === "pull" ? upstream.url("src", "") : `${src}/`;
  const a =
    mode === "push" ? await runRsync([...args, from, ours.url("w", `${name}-ours/`)]) : await runOc([...args, from, `${oursDest}/`]);
  const b = mode === "push" ? await runRsync([...args, from, upstream.url("w", `${name}-theirs/`)]) : await runRsync([...args, from, `${theirsDest}/`]);
  expect(normalizeErrors(a.stderr).replaceAll(oursDest, "DEST")).toBe(normalizeErrors(b.stderr).replaceAll(theirsDest, "DEST"));
  expect(a.code).toBe(b.code);
  expect(sortedLines(a.stdout, [oursDest, theirsDest])).toEqual(sortedLines(b.stdout, [oursDest, theirsDest]));
  // Without -t a transferred file's mtime is the time it was written.
  const opts = args.some((a) => a.includes("a") && !a.startsWith("--")) ? { ignoreDirTimes: true } : { ignoreTimes: true };
  expect(snapshot(oursDest, opts)).toEqual(snapshot(theirsDest, opts));
  // The case that only -c catches really was there: a same-size, same-mtime file with other bytes is fixed.
  expect(fs.readFileSync(join(oursDest, "d1", "f8"))).toEqual(content(1, 8));
}

describe("-c quick check over many files, as upstream", () => {
  for (const mode of ["local", "pull", "push"] as const) {
    // Each case seeds two trees of 1,320 files and runs both programs: several seconds on a loaded 2-core machine.
    test(`-ac itemized: ${mode}`, () => compare(mode, ["-aci"]), 30_000);
    test(`-c without -t, --no-inc-recursive: ${mode}`, () => compare(mode, ["-rci", "--no-inc-recursive"]), 30_000);
    test(`-c with --checksum-choice=md5: ${mode}`, () => compare(mode, ["-aci", "--checksum-choice=md5"]), 30_000);
    // 20-byte sums in the file list, hashed ahead by the native workers as the others.
    test(`-c with --checksum-choice=sha1: ${mode}`, () => compare(mode, ["-aci", "--checksum-choice=sha1"]), 30_000);
  }
});
