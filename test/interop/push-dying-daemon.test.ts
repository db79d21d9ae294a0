/**
 * A push to upstream's daemon whose per-connection processes die or stall
 * mid-transfer, while our sender waits for the socket to take more: the
 * client must end, never wait for a drain that a dead or stalled peer does
 * not give. Killed (SIGTERM), the daemon's generator says why and the client
 * exits with an error; killed without a word, the client reports the lost
 * connection; stalled under --timeout, it gives up with exit 30, as
 * upstream's client does. (Such a wait used to keep the client running
 * forever, at 100% CPU: Bun spins when all that is left is the main module's
 * pending top-level await.) Each run is bounded: a hang guard, not a
 * performance check.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, type RunningDaemon } from "../helpers/daemon.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
/** Enough data that the sender is still sending (and held back by the socket) when the daemon goes. */
const FILES = 24;
const FILE_SIZE = 2 << 20;
/** How long a client may take to end once the daemon is gone or stalled. */
const GUARD_MS = 20_000;

let work: string;
let daemon: RunningDaemon;

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-dying-"));
  const src = join(work, "src");
  fs.mkdirSync(src);
  for (let i = 0; i < FILES; i++) fs.writeFileSync(join(src, `f${String(i).padStart(2, "0")}`), Buffer.alloc(FILE_SIZE, i + 1));
  fs.mkdirSync(join(work, "in"));
  daemon = await startDaemon("upstream", [{ name: "in", path: join(work, "in"), params: { uid: "0", gid: "0", "read only": "no" } }]);
});

afterAll(async () => {
  await daemon?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** The processes serving the daemon's connections: what it forked, and what those forked (upstream's receiver forks its generator). */
function daemonProcesses(): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces, so read past its closing parenthesis.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "latin1");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const found: number[] = [];
  for (let todo = [...(children.get(daemon.pid) ?? [])]; todo.length > 0; ) {
    const pid = todo.pop()!;
    found.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return found;
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // Already gone.
    }
  }
}

/** Starts a push of the tree (ours, or upstream's client) into a new directory of the module, and waits until file data arrives there. */
async function startPush(dest: string, extra: string[] = [], client: "ours" | "upstream" = "ours") {
  const destDir = join(work, "in", dest);
  const program = client === "ours" ? [process.execPath, MAIN] : ["rsync"];
  const proc = Bun.spawn([...program, "-a", ...extra, `${join(work, "src")}/`, daemon.url("in", `${dest}/`)], {
    env: { ...process.env, LC_ALL: "C" },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const stderr = new Response(proc.stderr).text();
  const started = Date.now();
  while (Date.now() - started < GUARD_MS && proc.exitCode === null) {
    // The receiver writes file data (into its temporary files, then the finished ones): the sender is sending.
    if (fs.existsSync(destDir) && fs.readdirSync(destDir).length > 0) break;
    await Bun.sleep(10);
  }
  expect(proc.exitCode).toBeNull();
  const serving = daemonProcesses();
  expect(serving.length).toBeGreaterThan(0);
  return { proc, stderr, serving };
}

/** The client's exit code and what it printed; code null when it still ran after GUARD_MS (then it is killed). */
async function outcome(proc: ReturnType<typeof Bun.spawn>, stderr: Promise<string>): Promise<{ code: number | null; text: string }> {
  const code = await Promise.race([proc.exited, Bun.sleep(GUARD_MS).then(() => null)]);
  if (code === null) proc.kill("SIGKILL");
  return { code, text: await stderr };
}

test("the daemon's processes are killed mid-push: the client exits with their error", async () => {
  const { proc, stderr, serving } = await startPush("terminated");
  signal(serving, "SIGTERM");
  const { code, text } = await outcome(proc, stderr);
  expect(text).toContain("rsync error: received SIGINT, SIGTERM, or SIGHUP (code 20)");
  // 20 once the daemon's MSG_ERROR_EXIT has come, 12 when the connection's end comes first.
  expect([12, 20]).toContain(code!);
}, 60_000);

test("the daemon's processes stall, then die without a word: the client reports the lost connection", async () => {
  const { proc, stderr, serving } = await startPush("killed");
  // Stalled, the daemon stops reading: our sender fills the socket and waits for room, which never comes.
  signal(serving, "SIGSTOP");
  await Bun.sleep(300);
  signal(serving, "SIGKILL");
  const { code, text } = await outcome(proc, stderr);
  expect(text).toMatch(/rsync error: .* \(code 1[02]\)/);
  expect([10, 12]).toContain(code!);
}, 60_000);

test("the daemon's processes stall mid-push under --timeout: the client gives up with exit 30, as upstream's does", async () => {
  for (const client of ["upstream", "ours"] as const) {
    const { proc, stderr, serving } = await startPush(`stalled-${client}`, ["--timeout=2"], client);
    signal(serving, "SIGSTOP");
    try {
      const { code, text } = await outcome(proc, stderr);
      expect(text).toContain("[sender] io timeout after");
      expect(code).toBe(30);
    } finally {
      signal(serving, "SIGKILL");
      signal(serving, "SIGCONT");
    }
  }
}, 90_000);
