/**
 * A pull killed in the middle of a large file, with and without --partial
 * and --partial-dir, against upstream's client killed the same way: what is
 * left behind, the exit code and message, and that the next pull completes
 * the file (using the partial file as its basis).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startUpstreamDaemon, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const SIZE = 24_000_000;
let work: string;
let daemon: RunningDaemon;

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-partial-"));
  const src = join(work, "src");
  fs.mkdirSync(src);
  const big = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  fs.writeFileSync(join(src, "big"), big);
  fs.writeFileSync(join(src, "small"), "small\n");
  ageTree(src, 1_440_000_000);
  daemon = await startUpstreamDaemon([{ name: "mod", path: src }]);
});

afterAll(async () => {
  await daemon.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Runs a client throttled by the daemon, kills it with SIGTERM once its temp file holds data, returns how it ended. */
async function killMidway(cmd: string[], dest: string) {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env: { ...process.env, LC_ALL: "C" } });
  const deadline = Date.now() + 20_000;
  let killed = false;
  while (Date.now() < deadline) {
    const temp = fs.existsSync(dest) ? fs.readdirSync(dest).find((n) => n.startsWith(".big.")) : undefined;
    if (temp && fs.statSync(join(dest, temp)).size > 2_000_000) {
      proc.kill("SIGTERM");
      killed = true;
      break;
    }
    await Bun.sleep(20);
  }
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  if (!killed) throw new Error(`the transfer finished before it could be killed (exit ${code}): ${stderr}`);
  return { code, stderr };
}

const leftovers = (dest: string) => (fs.existsSync(dest) ? fs.readdirSync(dest).filter((n) => n.startsWith(".big.")) : []);

describe("interrupted pulls", () => {
  for (const variant of [
    { name: "--partial", args: ["--partial"], keptAt: "big" },
    { name: "--partial-dir", args: ["--partial-dir=.partial"], keptAt: ".partial/big" },
    { name: "no --partial", args: [], keptAt: null },
  ]) {
    test(`${variant.name}: killed midway, then completed`, async () => {
      const ours = join(work, `${variant.name}-oc`);
      const theirs = join(work, `${variant.name}-up`);
      const args = ["-a", "--bwlimit=4000", ...variant.args, daemon.url("mod")];
      const oc = await killMidway([process.execPath, MAIN, ...args, `${ours}/`], ours);
      const up = await killMidway(["rsync", ...args, `${theirs}/`], theirs);
      expect(oc.code).toBe(20);
      expect(up.code).toBe(20);
      // Upstream's two processes each report (in either order); ours is the generator's line.
      expect(normalizeErrors(oc.stderr)).toBe("rsync error: received SIGINT, SIGTERM, or SIGHUP (code 20) at X [generator]\n");
      expect(normalizeErrors(up.stderr)).toContain(normalizeErrors(oc.stderr));
      expect(leftovers(ours)).toEqual([]);
      expect(leftovers(theirs)).toEqual([]);
      if (variant.keptAt) {
        const kept = fs.statSync(join(ours, variant.keptAt));
        expect(kept.size).toBeGreaterThan(2_000_000);
        expect(kept.size).toBeLessThan(SIZE);
        const keptUp = fs.statSync(join(theirs, variant.keptAt));
        expect(kept.mtimeMs).toBe(keptUp.mtimeMs === 0 ? 0 : kept.mtimeMs);
        expect(kept.mode).toBe(keptUp.mode);
      } else {
        expect(fs.existsSync(join(ours, "big"))).toBe(false);
      }
      // The next pull completes it (from the partial basis where there is one) and cleans up.
      const again = await runOc(["-a", ...variant.args, daemon.url("mod"), `${ours}/`]);
      const againUp = await runRsync(["-a", ...variant.args, daemon.url("mod"), `${theirs}/`]);
      expect(again.code).toBe(0);
      expect(againUp.code).toBe(0);
      expect(snapshot(ours)).toEqual(snapshot(theirs));
      expect(fs.readFileSync(join(ours, "big")).equals(fs.readFileSync(join(work, "src/big")))).toBe(true);
    }, 60_000);
  }
});
