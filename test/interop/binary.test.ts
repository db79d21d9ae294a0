/**
 * The shipped artifact: dist/oc-rsync, copied alone into an empty
 * directory, must run and load its embedded native core, also when Bun
 * cannot extract the library into $TMPDIR.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../helpers/run.ts";

const DIST = join(import.meta.dir, "../../dist/oc-rsync");
let dir: string;
let bin: string;

beforeAll(() => {
  if (!fs.existsSync(DIST)) throw new Error("dist/oc-rsync is missing: run `npm run build` (npm run setup does it)");
  dir = fs.mkdtempSync(join(tmpdir(), "oc-bin-"));
  bin = join(dir, "oc-rsync");
  fs.copyFileSync(DIST, bin);
  fs.chmodSync(bin, 0o755);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The artifact loads its core whatever the suite runs with (CI also runs it with OC_RSYNC_NATIVE=0). */
const NATIVE_ON = { OC_RSYNC_NATIVE: "1" };

test("copied alone into an empty directory, --version reports the native core loaded", async () => {
  const r = await run([bin, "--version"], { cwd: dir, env: NATIVE_ON });
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^oc-rsync {2}version \d+\.\d+\.\d+ {2}protocol version 32$/m);
  expect(r.stdout).toMatch(/^native core: loaded \(simd (sse2|avx2|neon), io_uring (yes|no)\)$/m);
});

test("with $TMPDIR missing it falls back to a copy in the cache directory", async () => {
  const cache = join(dir, "cache");
  const r = await run([bin, "--version"], { cwd: dir, env: { ...NATIVE_ON, TMPDIR: join(dir, "does-not-exist"), XDG_CACHE_HOME: cache } });
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^native core: loaded/m);
  expect(fs.readdirSync(join(cache, "oc-rsync")).some((f) => /^liboc-[0-9a-f]{16}\.so$/.test(f))).toBe(true);
});

test("OC_RSYNC_NATIVE=0 forces the TypeScript twins and says so", async () => {
  const r = await run([bin, "--version"], { cwd: dir, env: { OC_RSYNC_NATIVE: "0" } });
  expect(r.stdout).toMatch(/^native core: not loaded \(disabled by OC_RSYNC_NATIVE=0\)$/m);
});

test("an unknown option is refused with upstream's wording and exit code 1", async () => {
  const r = await run([bin, "--no-such-option"], { cwd: dir });
  expect(r.code).toBe(1);
  expect(r.stderr).toStartWith("rsync: --no-such-option: unknown option\nrsync error: syntax or usage error (code 1)");
});

/** The environment of a running process, as its /proc entry shows it (execve replaces it in place). */
function environOf(pid: number): string[] {
  return fs.readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
}

/**
 * Starts `--server --sender` (it waits for the client's protocol version on
 * stdin) with `extra` in an environment otherwise free of the switches, and
 * returns the JIT switch its process ends up with.
 */
async function ftlSwitchOfRunningServer(extra: Record<string, string>): Promise<string | undefined> {
  return (await runningServer(bin, extra, (pid) => environOf(pid).find((v) => v.startsWith("BUN_JSC_useFTLJIT="))))!;
}

/** Starts `--server --sender` from `program` (see ftlSwitchOfRunningServer) and returns what `look` sees of its process. */
async function runningServer<T>(program: string, extra: Record<string, string>, look: (pid: number) => T): Promise<T> {
  const env = { ...process.env, ...extra } as Record<string, string>;
  for (const name of ["BUN_JSC_useFTLJIT", "OC_RSYNC_REEXEC"]) if (!(name in extra)) delete env[name];
  const child = Bun.spawn([program, "--server", "--sender", "-r", ".", "."], { cwd: dir, env, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  try {
    // The server writes its version only once start-up is over, so any re-exec (same pid) has happened by then.
    const first = await child.stdout.getReader().read();
    expect(first.value?.length).toBeGreaterThan(0);
    return look(child.pid);
  } finally {
    child.kill();
    await child.exited;
  }
}

test("the process re-executes itself in place without JSC's FTL tier", async () => {
  expect(await ftlSwitchOfRunningServer({})).toBe("BUN_JSC_useFTLJIT=0");
});

test("a JIT switch the user set is kept, and OC_RSYNC_REEXEC=0 keeps the first process as it is", async () => {
  expect(await ftlSwitchOfRunningServer({ BUN_JSC_useFTLJIT: "1" })).toBe("BUN_JSC_useFTLJIT=1");
  expect(await ftlSwitchOfRunningServer({ OC_RSYNC_REEXEC: "0" })).toBeUndefined();
});

test("the re-executed process keeps the name it was started under (ps, pgrep, killall)", async () => {
  const nameOf = (pid: number) => fs.readFileSync(`/proc/${pid}/comm`, "latin1").trim();
  expect(await runningServer(bin, {}, nameOf)).toBe("oc-rsync");
  // Installed under upstream's name through a link: the name is the link's, as for any program; the switch is on.
  const link = join(dir, "rsync");
  fs.symlinkSync(bin, link);
  const seen = await runningServer(link, {}, (pid) => ({ name: nameOf(pid), env: environOf(pid) }));
  expect(seen).toEqual({ name: "rsync", env: expect.arrayContaining(["BUN_JSC_useFTLJIT=0"]) });
  // Not re-executed: the kernel's name stays.
  expect(await runningServer(link, { OC_RSYNC_REEXEC: "0" }, nameOf)).toBe("rsync");
});
