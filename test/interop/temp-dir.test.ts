/**
 * --temp-dir (-T) and an absolute --partial-dir, against upstream doing the
 * same: temp files are made in DIR under upstream's names (no dot put in
 * front, the name's own kept), a relative DIR is found from the destination,
 * a DIR on another filesystem means copying into place (over the
 * destination's name, never through it; by way of a relative --partial-dir
 * when there is one), a missing DIR ends the run before anything moves, a
 * daemon module's "temp dir" is used, and an absolute --partial-dir keeps an
 * interrupted file for the next run, which uses it up and leaves the
 * directory. Transfers run at --bwlimit where the test looks into the
 * directories while they go on.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { startDaemon, stopDaemons, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runOc, runRsync, type RunResult } from "../helpers/run.ts";
import { snapshot } from "../helpers/tree.ts";

const OUR_MAIN = join(import.meta.dir, "../../src/main.ts");
const CLIENTS = { upstream: ["rsync"], ours: [process.execPath, OUR_MAIN] } as const;
type Kind = keyof typeof CLIENTS;
/**
 * 2 MiB at 1 MiB/s: about 2 s to look into the directories (our receiver
 * writes a file's first MiB at once, upstream's in 256 KiB pieces).
 */
const SLOW_SIZE = 2 << 20;
const SLOW = "--bwlimit=1024";
/** A tmpfs, a filesystem other than the test's temp directory, for the copy across. */
const OTHER_FS = "/dev/shm";

let work: string;
let slowSrc: string;
let treeSrc: string;
const daemons: RunningDaemon[] = [];

beforeAll(() => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-tempdir-"));
  slowSrc = join(work, "slow");
  fs.mkdirSync(slowSrc);
  fs.writeFileSync(join(slowSrc, ".data"), randomBytes(SLOW_SIZE));
  treeSrc = join(work, "tree");
  fs.mkdirSync(join(treeSrc, "sub"), { recursive: true });
  fs.writeFileSync(join(treeSrc, "a"), "alpha\n", { mode: 0o640 });
  fs.writeFileSync(join(treeSrc, "sub", ".b"), randomBytes(70_000), { mode: 0o604 });
  fs.writeFileSync(join(treeSrc, "sub", "c"), "gamma\n", { mode: 0o755 });
  fs.utimesSync(join(treeSrc, "a"), 1_600_000_000, 1_600_000_000.25);
  fs.utimesSync(join(treeSrc, "sub", ".b"), 1_600_000_100, 1_600_000_100);
});

afterAll(async () => {
  await stopDaemons(...daemons);
  fs.rmSync(work, { recursive: true, force: true });
});

/** A fresh directory under the work dir (or under `base`). */
function fresh(name: string, base = work): string {
  const dir = join(base, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Runs `args` with the client, noting every name seen in each of `watched`
 * while it runs (polled), and its result.
 */
async function watching(kind: Kind, args: string[], watched: string[]): Promise<{ result: RunResult; seen: Set<string>[] }> {
  const proc = Bun.spawn([...CLIENTS[kind], ...args], { stdout: "pipe", stderr: "pipe" });
  const seen = watched.map(() => new Set<string>());
  const look = () =>
    watched.forEach((dir, i) => {
      try {
        for (const name of fs.readdirSync(dir)) seen[i]!.add(name);
      } catch {
        // not there (yet)
      }
    });
  let running = true;
  const poll = (async () => {
    for (; running; await Bun.sleep(15)) look();
  })();
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  running = false;
  await poll;
  look();
  return { result: { code, stdout, stderr }, seen };
}

const run = (kind: Kind, args: string[]) => (kind === "ours" ? runOc(args) : runRsync(args));

describe("--temp-dir", () => {
  for (const kind of ["upstream", "ours"] as const) {
    test(`${kind}: the temp file is made in DIR (relative to the destination), named "<name>.XXXXXX"`, async () => {
      const dest = fresh(`rel-${kind}`);
      fs.mkdirSync(join(dest, "tt"));
      const { result, seen } = await watching(kind, ["-a", SLOW, "-T", "tt", `${slowSrc}/`, `${dest}/`], [join(dest, "tt"), dest]);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect([...seen[0]!].filter((n) => /^\.data\.[A-Za-z0-9]{6}$/.test(n)).length).toBe(1);
      // Nothing was made beside the destination.
      expect([...seen[1]!].sort()).toEqual([".data", "tt"]);
      expect(fs.readdirSync(join(dest, "tt"))).toEqual([]);
      expect(fs.readFileSync(join(dest, ".data")).equals(fs.readFileSync(join(slowSrc, ".data")))).toBe(true);
    }, 30_000);
  }

  test.skipIf(fs.statSync(OTHER_FS).dev === fs.statSync(tmpdir()).dev)(
    "DIR on another filesystem: the files are copied into place with their attributes, as upstream's",
    async () => {
      const results: Record<string, unknown>[] = [];
      for (const kind of ["upstream", "ours"] as const) {
        const temp = fresh(`oc-tempdir-${process.pid}-${kind}`, OTHER_FS);
        try {
          const dest = fresh(`across-${kind}`);
          // A destination file with another hard link: replaced, never written through.
          fs.mkdirSync(join(dest, "sub"));
          fs.writeFileSync(join(dest, "sub", "c"), "old\n");
          fs.linkSync(join(dest, "sub", "c"), join(work, `c-link-${kind}`));
          const r = await run(kind, ["-a", "-T", temp, `${treeSrc}/`, `${dest}/`]);
          expect(r.stderr).toBe("");
          expect(r.code).toBe(0);
          expect(fs.readdirSync(temp)).toEqual([]);
          expect(fs.readFileSync(join(work, `c-link-${kind}`), "latin1")).toBe("old\n");
          results.push(snapshot(dest, { ignoreRoot: true }));
        } finally {
          fs.rmSync(temp, { recursive: true, force: true });
        }
      }
      expect(results[1]).toEqual(results[0]!);
      expect(results[1]).toEqual(snapshot(treeSrc, { ignoreRoot: true }));
    },
    30_000,
  );

  test.skipIf(fs.statSync(OTHER_FS).dev === fs.statSync(tmpdir()).dev)(
    "across filesystems with a relative --partial-dir (the copy's way into place): nothing is left of it after",
    async () => {
      for (const kind of ["upstream", "ours"] as const) {
        const temp = fresh(`oc-tempdir-${process.pid}-${kind}`, OTHER_FS);
        try {
          const dest = fresh(`via-${kind}`);
          const r = await run(kind, ["-a", "-T", temp, "--partial-dir=.pd", `${treeSrc}/`, `${dest}/`]);
          expect(r.stderr).toBe("");
          expect(r.code).toBe(0);
          expect(fs.readdirSync(temp)).toEqual([]);
          // (Not the directories' times: the partial dir made and removed in one can touch its time after it was
          // set, upstream's too, depending on timing.)
          const seen = { ignoreRoot: true, ignoreDirTimes: true };
          expect({ [kind]: snapshot(dest, seen) }).toEqual({ [kind]: snapshot(treeSrc, seen) });
        } finally {
          fs.rmSync(temp, { recursive: true, force: true });
        }
      }
    },
    30_000,
  );

  test("a DIR that is missing, or no directory, ends the run before anything is received, as upstream's", async () => {
    fs.writeFileSync(join(work, "plain-file"), "");
    for (const dir of [join(work, "no-such-dir"), join(work, "plain-file")]) {
      const out: RunResult[] = [];
      for (const kind of ["upstream", "ours"] as const) {
        const dest = fresh(`missing-${kind}`);
        out.push(await run(kind, ["-a", "-T", dir, `${treeSrc}/`, `${dest}/`]));
        expect(fs.readdirSync(dest)).toEqual([]);
      }
      expect(out[1]!.code).toBe(out[0]!.code);
      expect(out[0]!.code).toBe(1);
      expect(normalizeErrors(out[1]!.stderr).replace(/ at \S+\(\d+\)/, " at X")).toBe(normalizeErrors(out[0]!.stderr).replace(/ at \S+\(\d+\)/, " at X"));
    }
  }, 30_000);

  // (Relative: without a chroot, upstream puts an absolute one under the module's directory, as a client's -T.)
  test('a daemon module\'s "temp dir" holds the temp files of a push', async () => {
    for (const kind of ["upstream", "ours"] as const) {
      const upload = fresh(`module-${kind}`);
      fs.mkdirSync(join(upload, ".tmp"));
      const daemon = await startDaemon(kind, [{ name: "up", path: upload, params: { "read only": "no", uid: "0", gid: "0", "temp dir": ".tmp" } }]);
      daemons.push(daemon);
      const { result, seen } = await watching("upstream", ["-a", SLOW, `${slowSrc}/`, daemon.url("up")], [join(upload, ".tmp"), upload]);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect([...seen[0]!].filter((n) => /^\.data\.[A-Za-z0-9]{6}$/.test(n)).length).toBe(1);
      expect([...seen[1]!].sort()).toEqual([".data", ".tmp"]);
    }
  }, 30_000);
});

describe("an absolute --partial-dir", () => {
  test("keeps an interrupted file there; the next run uses it up and leaves the directory", async () => {
    for (const kind of ["upstream", "ours"] as const) {
      const dest = fresh(`partial-${kind}`);
      const shared = fresh(`partial-shared-${kind}`);
      const proc = Bun.spawn([...CLIENTS[kind], "-a", SLOW, `--partial-dir=${shared}`, `${slowSrc}/`, `${dest}/`], { stdout: "ignore", stderr: "ignore" });
      // Interrupted once part of the file has arrived (the temp file, beside the destination, has grown).
      for (let i = 0; i < 400; i++) {
        const temp = fs.readdirSync(dest).find((n) => n.startsWith(".data."));
        if (temp && (fs.statSync(join(dest, temp), { throwIfNoEntry: false })?.size ?? 0) > 0) break;
        await Bun.sleep(10);
      }
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(20);
      // Upstream's receiving half is a child of the (sending) process killed: it keeps the file a moment later.
      for (let i = 0; i < 200 && !fs.existsSync(join(shared, ".data")); i++) await Bun.sleep(10);
      const kept = fs.statSync(join(shared, ".data"), { throwIfNoEntry: false });
      expect(kept?.size ?? 0).toBeGreaterThan(0);
      expect(fs.readdirSync(dest)).toEqual([]);
      const r = await run(kind, ["-a", `--partial-dir=${shared}`, "--no-whole-file", "--stats", `${slowSrc}/`, `${dest}/`]);
      expect(r.code).toBe(0);
      expect(fs.readFileSync(join(dest, ".data")).equals(fs.readFileSync(join(slowSrc, ".data")))).toBe(true);
      // What was kept was the basis: that much matched.
      expect(Number(/Matched data: ([\d,]+)/.exec(r.stdout)![1]!.replaceAll(",", ""))).toBeGreaterThan(0);
      expect(fs.readdirSync(shared)).toEqual([]);
    }
  }, 40_000);
});
