/**
 * Syscall counts from `strace -c -f` (an untimed pass: tracing slows every
 * call). Either the command runs under strace, or - for a daemon under test -
 * strace attaches to the running daemon and follows the worker it forks
 * for our client.
 */
import { readFileSync } from "node:fs";
import { run, startBackground, waitChildless } from "./proc.ts";

export interface SyscallRow {
  name: string;
  calls: number;
  errors: number;
  seconds: number;
}

/**
 * Parses strace's -c summary: "% time  seconds  usecs/call  calls  errors
 * syscall" rows between dashed rules; the errors column may be empty, and
 * the "total" row is left out.
 */
export function parseStraceSummary(text: string): SyscallRow[] {
  const rows: SyscallRow[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(?:(\d+)\s+)?(\S+)\s*$/.exec(line);
    if (!m || m[6] === "total") continue;
    rows.push({ name: m[6]!, seconds: Number(m[2]), calls: Number(m[4]), errors: Number(m[5] ?? 0) });
  }
  return rows.sort((a, b) => b.calls - a.calls);
}

/** Runs argv under `strace -c -f`; null when strace could not trace (e.g. ptrace is forbidden here). */
export async function straceCommand(argv: string[], outFile: string): Promise<SyscallRow[] | null> {
  const r = await run(["strace", "-c", "-f", "-o", outFile, "--", ...argv]);
  if (r.code !== 0) return null;
  return readRows(outFile);
}

/**
 * Attaches to a running daemon (every thread: Bun's listener has several),
 * runs `client`, waits for the daemon's worker to be reaped, then detaches,
 * at which point strace writes its summary.
 */
export async function straceDaemon(daemonPid: number, client: () => Promise<unknown>, outFile: string, errFile: string): Promise<SyscallRow[] | null> {
  const tracer = startBackground(["strace", "-c", "-f", "-o", outFile, "-p", String(daemonPid)], { stderrFile: errFile });
  // strace says "Process N attached" once it is in; without that the client's start would go unseen.
  for (let i = 0; i < 200; i++) {
    if (tracer.exitCode !== null) return null;
    if (readText(errFile).includes("attached")) break;
    await Bun.sleep(10);
  }
  // One "attached" line per thread: give the rest a moment.
  await Bun.sleep(100);
  await client();
  await waitChildless(daemonPid);
  tracer.kill(2);
  await tracer.exited;
  return readRows(outFile);
}

function readText(f: string): string {
  try {
    return readFileSync(f, "utf8");
  } catch {
    return "";
  }
}

function readRows(f: string): SyscallRow[] | null {
  const rows = parseStraceSummary(readText(f));
  return rows.length ? rows : null;
}
