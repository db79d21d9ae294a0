/**
 * Process helpers for the harness: plain runs with captured output, measured
 * runs (wall, CPU of the whole process tree, peak RSS), and bookkeeping so
 * that Ctrl-C can stop whatever we started.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Measured extends RunResult {
  wallS: number;
  userS: number;
  sysS: number;
  maxRssKb: number;
}

/** Everything still running that we spawned; main.ts kills these on SIGINT. */
const live = new Set<{ kill(sig?: number): void }>();

export function killAll(): void {
  for (const p of live) {
    try {
      p.kill(15);
    } catch {}
  }
}

/** Runs a command to completion, capturing its output; never throws on a non-zero exit. */
export async function run(argv: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; stdin?: "ignore" | "inherit" } = {}): Promise<RunResult> {
  const proc = Bun.spawn(argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdin: opts.stdin ?? "ignore", stdout: "pipe", stderr: "pipe" });
  live.add(proc);
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr };
  } finally {
    live.delete(proc);
  }
}

/** Like run() but throws with the command's stderr when it fails: for set-up steps that must work. */
export async function mustRun(argv: string[], opts: { cwd?: string } = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** Runs a shell pipeline (bash, pipefail), throwing on failure. */
export function sh(script: string): Promise<string> {
  return mustRun(["bash", "-o", "pipefail", "-c", script]);
}

const TIME = "/usr/bin/time";

/**
 * Runs the command under measurement. CPU comes from wait4()'s rusage (Bun's
 * resourceUsage()), which covers the child and every descendant it waited
 * for - rsync's forked generator/receiver and our helpers included - in
 * microseconds. Peak RSS comes from GNU time's %M instead: Bun forks before
 * exec, and Linux keeps the forked copy's high-water mark (Bun's own ~80 MB)
 * in ru_maxrss, which would hide any client smaller than the harness.
 * %M is the peak of the largest single process of the tree, not a sum.
 */
export async function measure(argv: string[], env?: Record<string, string | undefined>): Promise<Measured> {
  const timeFile = `/tmp/rsync-bench-time-${process.pid}.txt`;
  const wrapped = existsSync(TIME) ? [TIME, "-f", "%M", "-o", timeFile, "--", ...argv] : argv;
  const t0 = performance.now();
  const proc = Bun.spawn(wrapped, { env: env ?? process.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  live.add(proc);
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    const wallS = (performance.now() - t0) / 1000;
    const ru = proc.resourceUsage();
    // time writes "Command exited with non-zero status N" before the format line when the client fails.
    const rssLine = wrapped === argv ? "" : readFileSync(timeFile, "utf8").trim().split("\n").pop();
    const maxRssKb = rssLine ? Number(rssLine) : ru ? Math.round(ru.maxRSS / 1024) : NaN;
    return {
      code,
      stdout,
      stderr,
      wallS,
      userS: ru ? Number(ru.cpuTime.user) / 1e6 : NaN,
      sysS: ru ? Number(ru.cpuTime.system) / 1e6 : NaN,
      maxRssKb,
    };
  } finally {
    live.delete(proc);
    rmSync(timeFile, { force: true });
  }
}

/** Starts a long-running process (daemon, tracer) that the caller stops; registered for Ctrl-C. */
export function startBackground(argv: string[], opts: { env?: Record<string, string | undefined>; stderrFile?: string } = {}) {
  const proc = Bun.spawn(argv, {
    env: opts.env ?? process.env,
    stdin: "ignore",
    stdout: "ignore",
    stderr: opts.stderrFile ? Bun.file(opts.stderrFile) : "ignore",
  });
  live.add(proc);
  proc.exited.then(() => live.delete(proc));
  return proc;
}

export function which(cmd: string): string | null {
  return Bun.which(cmd);
}

/** Installs a Debian package when its command is missing; false when that is impossible here. */
export async function ensureTool(cmd: string, pkg: string, log: (s: string) => void): Promise<boolean> {
  if (which(cmd)) return true;
  if (!which("apt-get") || process.getuid?.() !== 0) return false;
  log(`installing ${pkg} (apt-get) for ${cmd}`);
  let r = await run(["apt-get", "install", "-y", "-q", pkg], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (r.code !== 0) {
    await run(["apt-get", "update", "-q"]);
    r = await run(["apt-get", "install", "-y", "-q", pkg], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  }
  return r.code === 0 && which(cmd) !== null;
}

/** The pids of a process's direct children (all its threads'), from /proc. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const f = `/proc/${pid}/task/${tid}/children`;
      if (!existsSync(f)) continue;
      for (const s of readFileSync(f, "utf8").split(/\s+/)) if (s) out.push(Number(s));
    }
  } catch {}
  return out;
}

/**
 * CPU seconds a process has used plus those of its children it has reaped
 * (utime, stime, cutime, cstime of /proc/PID/stat): the cost of a daemon's
 * forked per-connection workers, once they are gone.
 */
export function treeCpu(pid: number): { user: number; sys: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses; fields restart after the last ')'.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const tick = 100; // CLK_TCK on Linux x86-64
    const n = (i: number) => Number(f[i - 3]);
    return { user: (n(14) + n(16)) / tick, sys: (n(15) + n(17)) / tick };
  } catch {
    return null;
  }
}

/** Waits until a daemon has no children left (its worker for the last client has exited and been reaped). */
export async function waitChildless(pid: number, timeoutMs = 15000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (childPids(pid).length === 0) return true;
    await Bun.sleep(5);
  }
  return false;
}
