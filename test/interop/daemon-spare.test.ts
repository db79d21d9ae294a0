/**
 * Our daemon's client process started ahead (src/daemon/spare-worker.ts):
 * a connection is handed to the spare waiting for it, which serves it as a
 * freshly started process would (upstream's client pulls the same files,
 * the log has the peer's address); a new spare follows once that client is
 * done; a spare that is gone leaves the connection a process of its own; the
 * spare ends with its daemon.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, type RunningDaemon } from "../helpers/daemon.ts";
import { run } from "../helpers/run.ts";

let work: string;
let daemon: RunningDaemon;

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-spare-"));
  fs.mkdirSync(join(work, "src/sub"), { recursive: true });
  fs.writeFileSync(join(work, "src/a"), "alpha\n");
  fs.writeFileSync(join(work, "src/sub/b"), Buffer.alloc(100_000, 3));
  daemon = await startDaemon("ours", [{ name: "mod", path: join(work, "src") }]);
});

afterAll(async () => {
  await daemon?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** The daemon's children that are still spares (their environment names the socketpair). */
function sparesOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(fs.readFileSync(`/proc/${entry}/stat`, "latin1").replace(/^.*\) /s, "").split(" ")[1]);
      if (ppid !== pid) continue;
      if (fs.readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").some((v) => v.startsWith("OC_RSYNC_DAEMON_SPARE_FD="))) found.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !/^\S+ \(.*\) Z/s.test(fs.readFileSync(`/proc/${pid}/stat`, "latin1"));

/** Polls `probe` until it gives something truthy (or 10 s pass). */
async function eventually<T>(probe: () => T): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const v = probe();
    if (v) return v;
    await Bun.sleep(20);
  }
  return probe();
}

async function pull(dest: string) {
  const r = await run(["rsync", "-a", daemon.url("mod"), `${dest}/`]);
  expect(r.code).toBe(0);
  expect(fs.readFileSync(join(dest, "a"), "latin1")).toBe("alpha\n");
  expect(fs.readFileSync(join(dest, "sub/b"))).toEqual(Buffer.alloc(100_000, 3));
}

describe("our daemon's spare client process", () => {
  test("serves the next connection; a new one waits once that client is done", async () => {
    const [first] = (await eventually(() => (sparesOf(daemon.pid).length === 1 ? sparesOf(daemon.pid) : null)))!;
    expect(first).toBeGreaterThan(0);
    const before = fs.readFileSync(daemon.logFile, "latin1").split("\n").length;
    await pull(join(work, "d1"));
    // The spare served it (and is done), and another took its place.
    const [second] = (await eventually(() => {
      const now = sparesOf(daemon.pid);
      return now.length === 1 && now[0] !== first && !alive(first!) ? now : null;
    }))!;
    expect(second).not.toBe(first);
    // It knew who had connected, as a process started for the connection is told.
    const lines = fs.readFileSync(daemon.logFile, "latin1").split("\n").slice(before - 1);
    expect(lines.some((l) => / connect from \S+ \(127\.0\.0\.1\)$/.test(l))).toBe(true);
  });

  test("one that is gone leaves the connection a process of its own", async () => {
    const [spare] = (await eventually(() => (sparesOf(daemon.pid).length === 1 ? sparesOf(daemon.pid) : null)))!;
    process.kill(spare!, "SIGKILL");
    await eventually(() => !alive(spare!));
    await pull(join(work, "d2"));
    expect(await eventually(() => sparesOf(daemon.pid).length === 1)).toBe(true);
  });

  test("ends with its daemon", async () => {
    const own = await startDaemon("ours", [{ name: "mod", path: join(work, "src") }]);
    let spare: number | undefined;
    try {
      [spare] = (await eventually(() => (sparesOf(own.pid).length === 1 ? sparesOf(own.pid) : null))) ?? [];
      expect(spare).toBeGreaterThan(0);
    } finally {
      // (Stopped also when the spare was not found: a failing run leaves no daemon behind.)
      await own.stop();
    }
    expect(await eventually(() => !alive(spare!))).toBe(true);
  });
});
