/**
 * A local copy's sending half in a process of its own (src/client/local-sender.ts):
 * it runs there by default and as a task of the one process where the halves
 * share more than the protocol, and both ways copy and report the same.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { maskFigures, runOc } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

let work: string;
const src = () => join(work, "src");

beforeAll(() => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-local-fork-"));
  fs.mkdirSync(join(src(), "dir"), { recursive: true });
  fs.writeFileSync(join(src(), "big"), Buffer.alloc(400_000, 7));
  fs.writeFileSync(join(src(), "dir/a"), "a\n");
  fs.symlinkSync("a", join(src(), "dir/link"));
  ageTree(src(), 1_450_000_000);
});

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

/** Pids of the processes whose arguments name `dest` (with a slash) and whose environment makes them a local copy's sending half. */
function sendingHalves(dest: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!fs.readFileSync(`/proc/${entry}/cmdline`, "latin1").split("\0").includes(`${dest}/`)) continue;
      if (fs.readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").some((v) => v.startsWith("OC_RSYNC_LOCAL_SENDER_FD="))) found.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/** Runs oc-rsync with `args`, polling every `pollMs` for sending halves whose arguments name `named`: its result and how many were seen. */
async function watchedRun(args: string[], env: Record<string, string>, named: string, pollMs: number) {
  const run = runOc(args, { env });
  const seen = new Set<number>();
  let done = false;
  run.finally(() => (done = true));
  while (!done) {
    for (const pid of sendingHalves(named)) seen.add(pid);
    await Bun.sleep(pollMs);
  }
  return { r: await run, halves: seen.size };
}

/** A copy slowed down by --bwlimit (400 KB at 200 KiB/s), the sending halves seen while it runs, and its result. */
async function watchedCopy(name: string, extra: string[], env: Record<string, string> = {}) {
  const dest = join(work, name);
  const { r, halves } = await watchedRun(["-a", "--bwlimit=200", ...extra, `${src()}/`, `${dest}/`], env, dest, 50);
  return { code: r.code, stderr: r.stderr, halves, same: snapshot(dest) };
}

describe("a local copy's sending half", () => {
  test("runs in a process of its own by default", async () => {
    const r = await watchedCopy("forked", []);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.halves).toBe(1);
    expect(r.same).toEqual(snapshot(src()));
  });

  test("stays in this process with OC_RSYNC_LOCAL_FORK=0, and with a --log-file (written by that half)", async () => {
    const plain = await watchedCopy("inproc", [], { OC_RSYNC_LOCAL_FORK: "0" });
    expect(plain.code).toBe(0);
    expect(plain.halves).toBe(0);
    expect(plain.same).toEqual(snapshot(src()));
    const logged = await watchedCopy("logged", [`--log-file=${join(work, "log")}`]);
    expect(logged.code).toBe(0);
    expect(logged.halves).toBe(0);
    expect(fs.readFileSync(join(work, "log"), "latin1")).toContain("big");
  });

  test("a listing forks too, and lists the same as in one process", async () => {
    // Enough entries for the listing to last a few polls.
    const many = join(work, "many");
    for (let d = 0; d < 20; d++) {
      fs.mkdirSync(join(many, `d${d}`), { recursive: true });
      for (let f = 0; f < 300; f++) fs.writeFileSync(join(many, `d${d}`, `f${f}`), "");
    }
    ageTree(many, 1_450_000_000);
    const listing = async (env: Record<string, string>) => {
      const { r, halves } = await watchedRun(["-r", `${many}/`], env, many, 5);
      return { code: r.code, stdout: r.stdout, stderr: r.stderr, halves };
    };
    const forked = await listing({});
    const inProcess = await listing({ OC_RSYNC_LOCAL_FORK: "0" });
    expect(forked.halves).toBe(1);
    expect(inProcess.halves).toBe(0);
    expect(forked.stdout.split("\n").length).toBe(20 * 301 + 2);
    expect({ ...forked, halves: 0 }).toEqual(inProcess);
  });

  test("either way the same items, totals and tree; a failure the same lines and code", async () => {
    const outcome = async (env: Record<string, string>, dest: string) => {
      const r = await runOc(["-ai", "--stats", `${src()}/`, `${join(work, "nowhere")}/`, `${dest}/`], { env });
      // (A source that is not there: the sending half's error, then the rest is copied.)
      return { code: r.code, stdout: maskFigures(r.stdout.replaceAll(dest, "DEST")), stderr: r.stderr.replaceAll(dest, "DEST"), tree: snapshot(dest) };
    };
    const forked = await outcome({}, join(work, "either-forked"));
    const inProcess = await outcome({ OC_RSYNC_LOCAL_FORK: "0" }, join(work, "either-inproc"));
    expect(forked.code).toBe(23);
    expect(forked.stderr).toContain("change_dir");
    expect(forked).toEqual(inProcess);
  });
});
