/**
 * -S/--sparse and --preallocate against upstream: the same input copied by
 * our side and by upstream's must give the same bytes and the same
 * allocation (stat's blocks: where the holes are), locally, through
 * upstream's daemon both ways, and with upstream's client pushing to our
 * daemon (our receiver writing).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBothDaemons, stopDaemons, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { runOc, runRsync, type RunResult } from "../helpers/run.ts";

let work: string;
let upstream: RunningDaemon;
let ours: RunningDaemon;

const MiB = 1 << 20;
/** name -> content: long zero runs at both ends and inside, short ones between data, all zeros, nothing. */
const FILES: Record<string, Buffer> = {
  "holes.bin": Buffer.concat([Buffer.alloc(MiB), Buffer.from("data".repeat(1000)), Buffer.alloc(MiB), Buffer.from("x"), Buffer.alloc(5000)]),
  "short-runs.bin": Buffer.concat(Array.from({ length: 200 }, (_, i) => Buffer.concat([Buffer.alloc(700 + (i % 5) * 100), Buffer.from(`chunk ${i}`)]))),
  "zeros.bin": Buffer.alloc(3 * MiB + 17),
  "mixed.bin": Buffer.concat(Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? Buffer.alloc(64 * 1024) : Buffer.alloc(10_000 + i, i)))),
  "empty.bin": Buffer.alloc(0),
};

function makeSource(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, data] of Object.entries(FILES)) {
    fs.writeFileSync(join(dir, name), data);
    fs.utimesSync(join(dir, name), 1_500_000_000, 1_500_000_000);
  }
}

/** What a destination holds: each file's size, allocation and whether its bytes are the source's. */
function allocation(dir: string): Record<string, { size: number; blocks: number; same: boolean }> {
  const out: Record<string, { size: number; blocks: number; same: boolean }> = {};
  for (const name of Object.keys(FILES)) {
    const st = fs.statSync(join(dir, name));
    out[name] = { size: st.size, blocks: st.blocks, same: fs.readFileSync(join(dir, name)).equals(FILES[name]!) };
  }
  return out;
}

/** A destination already holding the files, fully written but older (for --inplace updates). */
function makeOldCopy(dir: string): void {
  makeSource(dir);
  for (const name of Object.keys(FILES)) fs.utimesSync(join(dir, name), 1_400_000_000, 1_400_000_000);
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-sparse-"));
  fs.mkdirSync(join(work, "rw"));
  makeSource(join(work, "rw/src"));
  const modules: ModuleConfig[] = [{ name: "rw", path: join(work, "rw"), params: { "read only": "no", uid: "0", gid: "0" } }];
  ({ upstream, ours } = await startBothDaemons(modules));
});

afterAll(async () => {
  await stopDaemons(upstream, ours);
  fs.rmSync(work, { recursive: true, force: true });
});

type Mode = "local" | "pull" | "push" | "upstream-client";

async function compare(mode: Mode, name: string, args: string[], oldCopy = false) {
  const results: { r: RunResult; dest: string }[] = [];
  for (const side of ["ours", "theirs"] as const) {
    const destName = `${name}-${mode}-${side}`;
    const intoModule = mode === "push" || mode === "upstream-client";
    const dest = join(work, intoModule ? "rw" : "", destName);
    if (oldCopy) makeOldCopy(dest);
    const daemon = mode === "upstream-client" && side === "ours" ? ours : upstream;
    const from = mode === "pull" ? daemon.url("rw", "src/") : `${join(work, "rw/src")}/`;
    const to = intoModule ? daemon.url("rw", `${destName}/`) : `${dest}/`;
    const client = mode === "upstream-client" || side === "theirs" ? runRsync : runOc;
    results.push({ r: await client(["-r", "-t", ...args, from, to]), dest });
  }
  const [a, b] = results as [(typeof results)[0], (typeof results)[0]];
  expect(a.r.stderr).toBe(b.r.stderr);
  expect(a.r.code).toBe(b.r.code);
  const got = allocation(a.dest);
  expect(got).toEqual(allocation(b.dest));
  for (const f of Object.values(got)) expect(f.same).toBe(true);
  return got;
}

describe("-S/--sparse, as upstream", () => {
  for (const mode of ["local", "pull", "push", "upstream-client"] as const) {
    test(`new files: ${mode}`, async () => {
      const got = await compare(mode, "sparse", ["-S"]);
      // Not vacuous: the zeros really are holes (2 MiB of zeros take a few blocks).
      expect(got["holes.bin"]!.blocks * 512).toBeLessThan(MiB);
      expect(got["zeros.bin"]!.blocks).toBe(0);
    });
    test(`in place, sent whole: ${mode}`, () => compare(mode, "inplace", ["-S", "--inplace", "-W"], true));
    test(`in place, by delta onto a full copy (holes punched): ${mode}`, async () => {
      const got = await compare(mode, "delta", ["-S", "--inplace", "--no-W", "-I"], true);
      expect(got["zeros.bin"]!.blocks * 512).toBeLessThan(MiB);
    });
    test(`without -S nothing is sparse: ${mode}`, async () => {
      const got = await compare(mode, "plain", []);
      expect(got["zeros.bin"]!.blocks * 512).toBeGreaterThanOrEqual(3 * MiB);
    });
  }
});

describe("--preallocate, as upstream", () => {
  for (const mode of ["local", "push", "upstream-client"] as const) {
    test(`new files: ${mode}`, () => compare(mode, "prealloc", ["--preallocate"]));
    test(`with -S (the reservation is punched where zeros are): ${mode}`, () => compare(mode, "preallocS", ["--preallocate", "-S"]));
    test(`in place over a longer old copy: ${mode}`, () => compare(mode, "preallocI", ["--preallocate", "--inplace", "-I"], true));
  }
});
