/**
 * --profile: one `perf record -g` run of our side per scenario (the client,
 * or in serve-initial a dedicated instance of our daemon), then a folded
 * stack file and a flamegraph SVG under WORK/profiles/.
 *
 * JavaScriptCore's JIT code lives in anonymous memory that perf cannot name.
 * With BUN_JSC_useJITDump=1 it writes a jitdump file of every compiled
 * function; its file name is not the one `perf inject --jit` looks for, so
 * we turn it into /tmp/perf-PID.map, the plain symbol map perf script reads.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { flamegraphSvg, foldedText, foldPerfScript } from "./flamegraph.ts";
import { ensureTool, run } from "./proc.ts";

type Log = (s: string) => void;

/** Whether perf can record here (containers often forbid perf_event_open); the reason when not. */
export async function perfUsable(log: Log): Promise<string | null> {
  if (!(await ensureTool("perf", "linux-perf", log))) return "perf is not installed and `apt-get install linux-perf` failed";
  const probe = `/tmp/rsync-bench-perf-probe-${process.pid}.data`;
  const r = await run(["perf", "record", "-g", "-o", probe, "--", "true"]);
  rmSync(probe, { force: true });
  if (r.code !== 0) return `perf record does not work here: ${r.stderr.trim().split("\n").slice(0, 3).join(" / ")}`;
  return null;
}

export function jitEnv(jitDir: string): Record<string, string | undefined> {
  mkdirSync(jitDir, { recursive: true });
  return { ...process.env, BUN_JSC_useJITDump: "1", BUN_JSC_jitDumpDirectory: jitDir };
}

/** JIT_CODE_LOAD records of a jitdump file (perf's tools/perf/util/jitdump.h layout) as perf map lines. */
export function jitdumpToMap(buf: Buffer): { pid: number; lines: string[] } {
  const lines: string[] = [];
  if (buf.length < 40 || buf.readUInt32LE(0) !== 0x4a695444) return { pid: 0, lines };
  const pid = buf.readUInt32LE(20);
  let off = buf.readUInt32LE(8);
  while (off + 16 <= buf.length) {
    const id = buf.readUInt32LE(off);
    const size = buf.readUInt32LE(off + 4);
    if (size < 16 || off + size > buf.length) break;
    if (id === 0) {
      const addr = buf.readBigUInt64LE(off + 32);
      const codeSize = buf.readBigUInt64LE(off + 40);
      const nameEnd = buf.indexOf(0, off + 56);
      const name = buf.toString("utf8", off + 56, nameEnd < 0 ? off + size : nameEnd);
      lines.push(`${addr.toString(16)} ${codeSize.toString(16)} ${name}`);
    }
    off += size;
  }
  return { pid, lines };
}

/** Writes /tmp/perf-PID.map for every jitdump in dir; returns the files to remove afterwards. */
function writePerfMaps(jitDir: string): string[] {
  const written: string[] = [];
  if (!existsSync(jitDir)) return written;
  for (const f of readdirSync(jitDir)) {
    const { pid, lines } = jitdumpToMap(readFileSync(join(jitDir, f)));
    if (!pid || !lines.length) continue;
    const map = `/tmp/perf-${pid}.map`;
    writeFileSync(map, lines.join("\n") + "\n");
    written.push(map);
  }
  return written;
}

/**
 * Turns a perf.data into NAME.folded and NAME.svg next to it. Returns the
 * svg path, or null with a message when perf script gave nothing.
 */
export async function renderProfile(perfData: string, jitDir: string, title: string, log: Log): Promise<string | null> {
  const maps = writePerfMaps(jitDir);
  try {
    const proc = Bun.spawn(["perf", "script", "-i", perfData], { stdout: "pipe", stderr: "ignore" });
    const folded = await foldPerfScript(proc.stdout);
    await proc.exited;
    if (folded.size === 0) {
      log(`  perf script found no samples in ${perfData}`);
      return null;
    }
    const base = perfData.replace(/(\.perf)?\.data$/, "");
    writeFileSync(`${base}.folded`, foldedText(folded));
    writeFileSync(`${base}.svg`, flamegraphSvg(folded, title));
    return `${base}.svg`;
  } finally {
    for (const m of maps) rmSync(m, { force: true });
    rmSync(jitDir, { recursive: true, force: true });
  }
}

/** `perf record -g` wrapped around argv (a client run); false when perf failed. */
export async function perfRecord(argv: string[], perfData: string, jitDir: string): Promise<{ ok: boolean; err: string }> {
  const r = await run(["perf", "record", "-g", "-F", "999", "-o", perfData, "--", ...argv], { env: jitEnv(jitDir) });
  return { ok: r.code === 0 && existsSync(perfData), err: r.stderr.trim().split("\n").slice(-2).join(" / ") };
}
