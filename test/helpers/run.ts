/** Runs oc-rsync (from source, so tests see the current code) or upstream rsync, capturing everything. */
import { join } from "node:path";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const MAIN = join(import.meta.dir, "../../src/main.ts");

export async function run(cmd: string[], opts: { cwd?: string; env?: Record<string, string>; stdin?: string } = {}): Promise<RunResult> {
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd,
    env: { ...process.env, TZ: "UTC", LC_ALL: "C", ...opts.env },
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

export const runOc = (args: string[], opts?: Parameters<typeof run>[1]) => run([process.execPath, MAIN, ...args], opts);
export const runRsync = (args: string[], opts?: Parameters<typeof run>[1]) => run(["rsync", ...args], opts);

/** Removes the lines whose figures depend on timing and framing ("sent ... bytes/sec"). */
export function stableOutput(text: string): string {
  return text
    .split("\n")
    .filter((l) => !/^sent [\d,.]+ bytes\s+received [\d,.]+ bytes\s+[\d,.]+ bytes\/sec$/.test(l))
    .join("\n");
}

/** Our "rsync error: ... at FILE(LINE) [ROLE=VERSION]" lines name our own file and version: compare without them. */
export function normalizeErrors(text: string): string {
  return text.replace(/\) at \S+ \[(\w+)=[^\]]+\]/g, ") at X [$1]");
}

/** Masks the --stats and -v figures that depend on framing and timing (list size, byte totals, rates, times). */
export function maskFigures(text: string): string {
  return text
    .replace(/(File list (?:generation|transfer) time:) [\d.,]+/g, "$1 T")
    .replace(/^(File list size:|Total bytes sent:|Total bytes received:) \S+/gm, "$1 N")
    .replace(/^sent \S+ bytes {2}received \S+ bytes {2}\S+ bytes\/sec$/gm, "sent N")
    .replace(/ {2}speedup is [\d.,]+/g, "  speedup is N");
}

/**
 * Output compared as a set of lines: figures masked, each destination (and
 * its last component, as a daemon names it) shown as DEST, sorted (upstream
 * prints some lines from its other process, so their order is timing).
 */
export function sortedLines(text: string, dests: string[]): string[] {
  let t = maskFigures(text);
  for (const d of dests) t = t.replaceAll(d, "DEST").replaceAll(d.slice(d.lastIndexOf("/") + 1), "DEST");
  return t.split("\n").filter(Boolean).sort();
}
