/**
 * A transfer over a remote shell keeps its memory bounded when the far side
 * reads slower than we write: what the pipe cannot take waits in our
 * output, and the sender waits for it, instead of everything we send piling
 * up in memory. (Bun's node streams on pipes never report backpressure: a
 * kernel-tree push over a remote shell held 400-550 MB, a pull from our
 * `--server` 350-480 MB, and this test's transfer about as much as its file.)
 *
 * The source is one sparse 384 MB file: reading it costs nothing, so the
 * sending side always outruns the receiving one, which hashes and writes
 * every byte. The peak resident size of every process in the run's tree is
 * sampled from /proc while it runs.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const OUR_SERVER = `${process.execPath} ${MAIN}`;
const FILE_SIZE = 384 << 20;
/** Far below what piling the file up would take; a run from source needs ~100 MB of its own. */
const RSS_LIMIT_MB = 220;

let work: string;
let rsh: string;

beforeAll(() => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-rsh-mem-"));
  rsh = writeFakeRsh(join(work, "rsh"));
  fs.mkdirSync(join(work, "src"));
  const fd = fs.openSync(join(work, "src/sparse"), "w");
  fs.ftruncateSync(fd, FILE_SIZE);
  fs.writeSync(fd, "the end\n", FILE_SIZE - 8);
  fs.closeSync(fd);
});

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

/** The processes below `root` (its children, theirs, ...), from each process's parent in /proc. */
function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "latin1");
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const found = [root];
  for (let i = 0; i < found.length; i++) for (const [pid, ppid] of parentOf) if (ppid === found[i]) found.push(pid);
  return found;
}

function residentMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "latin1"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs `cmd`, sampling the largest resident size of any process of its tree every 20 ms. */
async function runSampled(cmd: string[]): Promise<{ code: number; stderr: string; peakMb: number }> {
  const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: { ...process.env, LC_ALL: "C" } });
  let peakMb = 0;
  const sampler = setInterval(() => {
    for (const pid of descendants(proc.pid)) peakMb = Math.max(peakMb, residentMb(pid));
  }, 20);
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  clearInterval(sampler);
  return { code, stderr, peakMb };
}

function expectCopied(dest: string): void {
  const st = fs.statSync(join(dest, "sparse"));
  expect(st.size).toBe(FILE_SIZE);
  const tail = Buffer.alloc(8);
  const fd = fs.openSync(join(dest, "sparse"), "r");
  fs.readSync(fd, tail, 0, 8, FILE_SIZE - 8);
  fs.closeSync(fd);
  expect(tail.toString()).toBe("the end\n");
}

test("our client pushing to our --server stays bounded", async () => {
  const dest = join(work, "pushed");
  const r = await runSampled([process.execPath, MAIN, "-r", "-e", rsh, `--rsync-path=${OUR_SERVER}`, `${work}/src/`, `host:${dest}/`]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expectCopied(dest);
  expect(r.peakMb).toBeLessThan(RSS_LIMIT_MB);
}, 120_000);

test("upstream's client pulling from our --server stays bounded", async () => {
  const dest = join(work, "pulled");
  const r = await runSampled(["rsync", "-r", "-e", rsh, `--rsync-path=${OUR_SERVER}`, `host:${work}/src/`, `${dest}/`]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expectCopied(dest);
  expect(r.peakMb).toBeLessThan(RSS_LIMIT_MB);
}, 120_000);
