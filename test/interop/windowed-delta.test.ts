/**
 * The delta sender reads a file through a sliding window (shrunk here with
 * OC_RSYNC_MATCH_WINDOW so that files cross many window boundaries): changed
 * files larger than the window must arrive as upstream's sender makes them,
 * with upstream's own literal/matched totals in --stats, whichever side we
 * are: a local copy (native core and TypeScript twin), our client pushing
 * to upstream's daemon, and upstream's client pulling from our daemon.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, type RunningDaemon } from "../helpers/daemon.ts";
import { runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

/** Small enough that every file below spans several windows; not a multiple of any block length. */
const WINDOW = "70001";
const ENV = { OC_RSYNC_MATCH_WINDOW: WINDOW };

let work: string;
let upstream: RunningDaemon;
let ours: RunningDaemon;

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** The old versions (the receiver's basis files). */
function buildOld(root: string): void {
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(join(root, "big"), pattern(1_200_000, 1));
  fs.writeFileSync(join(root, "text"), Buffer.from(Array.from({ length: 40_000 }, (_, i) => `line ${i}\n`).join("")));
  fs.writeFileSync(join(root, "grows"), pattern(300_000, 2));
  fs.writeFileSync(join(root, "shrinks"), pattern(400_000, 3));
  ageTree(root, 1_400_000_000);
}

/** The new versions: insertions, a changed stretch longer than a window, an append, a cut. */
function buildNew(root: string): void {
  buildOld(root);
  const big = fs.readFileSync(join(root, "big"));
  fs.writeFileSync(join(root, "big"), Buffer.concat([big.subarray(0, 100_000), Buffer.from("INSERTED"), big.subarray(100_000, 500_000), pattern(150_000, 9), big.subarray(650_000, 1_100_000), big.subarray(20_000, 90_000)]));
  const text = fs.readFileSync(join(root, "text"), "latin1");
  fs.writeFileSync(join(root, "text"), text.replace("line 1000\n", "line one thousand\n").replace(/line 2\d\d\d\n/g, "x\n"));
  fs.appendFileSync(join(root, "grows"), pattern(90_000, 4));
  fs.truncateSync(join(root, "shrinks"), 234_567);
  ageTree(root, 1_450_000_000);
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-windowed-"));
  fs.mkdirSync(join(work, "modules"));
  buildNew(join(work, "src"));
  const ids = { uid: "0", gid: "0" };
  const modules = [
    { name: "dst", path: join(work, "modules"), params: { ...ids, "read only": "no" } },
    { name: "src", path: join(work, "src"), params: ids },
  ];
  upstream = await startDaemon("upstream", modules);
  // Our daemon's sender reads through the small window too (it inherits the environment).
  process.env.OC_RSYNC_MATCH_WINDOW = WINDOW;
  try {
    ours = await startDaemon("ours", modules);
  } finally {
    delete process.env.OC_RSYNC_MATCH_WINDOW;
  }
});

afterAll(async () => {
  await upstream?.stop();
  await ours?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** --stats' delta totals, the lines that show what the sender's matcher found. */
function deltaTotals(stdout: string): string[] {
  return stdout.split("\n").filter((l) => /^(Literal|Matched) data:/.test(l));
}

const OPTION_SETS: string[][] = [[], ["-z"], ["--inplace"], ["--compress-choice=zstd"]];

describe("a delta read through a sliding window", () => {
  OPTION_SETS.forEach((extra) => {
    const name = extra.join(" ") || "plain";
    const args = ["-a", "--no-whole-file", "--stats", ...extra];

    test(`local copy (${name})`, async () => {
      const a = join(work, `local-oc-${name}`);
      const b = join(work, `local-up-${name}`);
      buildOld(a);
      buildOld(b);
      const oc = await runOc([...args, `${join(work, "src")}/`, `${a}/`], { env: ENV });
      const up = await runRsync([...args, `${join(work, "src")}/`, `${b}/`]);
      expect(oc.stderr).toBe("");
      expect([oc.code, up.code]).toEqual([0, 0]);
      expect(deltaTotals(oc.stdout)).toEqual(deltaTotals(up.stdout));
      expect(deltaTotals(oc.stdout)).toHaveLength(2);
      expect(snapshot(a)).toEqual(snapshot(b));
      expect(snapshot(a)).toEqual(snapshot(join(work, "src")));
    });

    test(`local copy with the TypeScript twin matching (${name})`, async () => {
      const a = join(work, `local-ts-${name}`);
      const b = join(work, `local-tsup-${name}`);
      buildOld(a);
      buildOld(b);
      const oc = await runOc([...args, `${join(work, "src")}/`, `${a}/`], { env: { ...ENV, OC_RSYNC_NATIVE: "0" } });
      const up = await runRsync([...args, `${join(work, "src")}/`, `${b}/`]);
      expect(oc.stderr).toBe("");
      expect([oc.code, up.code]).toEqual([0, 0]);
      expect(deltaTotals(oc.stdout)).toEqual(deltaTotals(up.stdout));
      expect(snapshot(a)).toEqual(snapshot(b));
    });

    test(`our client pushing to upstream's daemon (${name})`, async () => {
      const a = join(work, "modules", `push-oc-${name}`);
      const b = join(work, "modules", `push-up-${name}`);
      buildOld(a);
      buildOld(b);
      const oc = await runOc([...args, `${join(work, "src")}/`, `${upstream.url("dst")}/push-oc-${name}/`], { env: ENV });
      const up = await runRsync([...args, `${join(work, "src")}/`, `${upstream.url("dst")}/push-up-${name}/`]);
      expect(oc.stderr).toBe("");
      expect([oc.code, up.code]).toEqual([0, 0]);
      expect(deltaTotals(oc.stdout)).toEqual(deltaTotals(up.stdout));
      expect(snapshot(a)).toEqual(snapshot(b));
      expect(snapshot(a)).toEqual(snapshot(join(work, "src")));
    });

    test(`upstream's client pulling from our daemon (${name})`, async () => {
      const a = join(work, `pull-ours-${name}`);
      const b = join(work, `pull-up-${name}`);
      buildOld(a);
      buildOld(b);
      const fromOurs = await runRsync([...args, `${ours.url("src")}/`, `${a}/`]);
      const fromUp = await runRsync([...args, `${upstream.url("src")}/`, `${b}/`]);
      expect(fromOurs.stderr).toBe("");
      expect([fromOurs.code, fromUp.code]).toEqual([0, 0]);
      expect(deltaTotals(fromOurs.stdout)).toEqual(deltaTotals(fromUp.stdout));
      expect(snapshot(a)).toEqual(snapshot(b));
      expect(snapshot(a)).toEqual(snapshot(join(work, "src")));
    });
  });
});
