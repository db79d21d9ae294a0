/**
 * --bwlimit: whichever side sends the data holds it to the rate, as
 * upstream's does: our local copy, our client pushing into upstream's daemon,
 * our daemon serving upstream's client, and our daemon's own --bwlimit, which
 * caps what a client asks for. Each run is checked against upstream doing
 * the same. 384 KiB at 256 KiB/s cannot take less than about 1.4 s (the rate
 * lets the first eighth of a second's worth and a tenth of a second's debt go
 * at once); without the limit it takes a fraction of that. Only the lower
 * bound is asserted: a slow machine makes a run longer, never shorter.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { startDaemon, stopDaemons, type RunningDaemon } from "../helpers/daemon.ts";
import { runOc, runRsync, type RunResult } from "../helpers/run.ts";

const RATE_KIB = 256;
const SIZE = 384 * 1024;
const AT_LEAST_MS = 1200;

let work: string;
let content: Buffer;
const daemons: Record<string, RunningDaemon> = {};

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-bwlimit-"));
  content = randomBytes(SIZE);
  fs.mkdirSync(join(work, "src"));
  fs.writeFileSync(join(work, "src", "data"), content);
  fs.mkdirSync(join(work, "in"));
  const modules = [
    { name: "src", path: join(work, "src") },
    { name: "in", path: join(work, "in"), params: { uid: "0", gid: "0", "read only": "no" } },
  ];
  daemons.upstream = await startDaemon("upstream", modules);
  daemons.ours = await startDaemon("ours", modules);
  daemons.upstreamCapped = await startDaemon("upstream", modules, {}, [`--bwlimit=${RATE_KIB}`]);
  daemons.oursCapped = await startDaemon("ours", modules, {}, [`--bwlimit=${RATE_KIB}`]);
});

afterAll(async () => {
  await stopDaemons(...Object.values(daemons));
  fs.rmSync(work, { recursive: true, force: true });
});

/** Runs one transfer into a fresh `dest` (under work/ unless it is the daemon's "in"), timing it and checking what arrived. */
async function timed(run: () => Promise<RunResult>, dest: string): Promise<number> {
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest);
  const started = performance.now();
  const result = await run();
  const took = performance.now() - started;
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  expect(fs.readFileSync(join(dest, "data")).equals(content)).toBe(true);
  return took;
}

const dest = () => join(work, "dest");
const uploaded = () => join(work, "in");
const limit = `--bwlimit=${RATE_KIB}`;

describe("--bwlimit holds the sender to the rate", () => {
  test("a local copy", async () => {
    const src = join(work, "src") + "/";
    expect(await timed(() => runRsync(["-a", limit, src, dest()]), dest())).toBeGreaterThanOrEqual(AT_LEAST_MS);
    expect(await timed(() => runOc(["-a", limit, src, dest()]), dest())).toBeGreaterThanOrEqual(AT_LEAST_MS);
  }, 30_000);

  test("a push into upstream's daemon", async () => {
    const src = join(work, "src") + "/";
    const url = daemons.upstream!.url("in");
    expect(await timed(() => runRsync(["-a", limit, src, url]), uploaded())).toBeGreaterThanOrEqual(AT_LEAST_MS);
    expect(await timed(() => runOc(["-a", limit, src, url]), uploaded())).toBeGreaterThanOrEqual(AT_LEAST_MS);
  }, 30_000);

  test("a daemon serving upstream's client, which asks for the limit", async () => {
    for (const d of [daemons.upstream!, daemons.ours!]) {
      expect(await timed(() => runRsync(["-a", limit, d.url("src"), dest()]), dest())).toBeGreaterThanOrEqual(AT_LEAST_MS);
    }
  }, 30_000);

  test("a daemon started with --bwlimit caps a client asking for more, or for nothing", async () => {
    for (const d of [daemons.upstreamCapped!, daemons.oursCapped!]) {
      for (const asked of [[], ["--bwlimit=100000"]]) {
        expect(await timed(() => runRsync(["-a", ...asked, d.url("src"), dest()]), dest())).toBeGreaterThanOrEqual(AT_LEAST_MS);
      }
    }
  }, 40_000);
});
