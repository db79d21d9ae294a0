/**
 * Runs one scenario: warm-up and timed runs with the two series alternating
 * (A B A B, so drifts in machine state hit both alike), dest reset before
 * every run outside the timed region, a check of dest after every timed
 * run, then one untimed strace pass per series.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { measure, mustRun, run, treeCpu, waitChildless, which, type Measured } from "./proc.ts";
import { SCENARIOS, shapeOf, type BenchEnv, type DestStart, type ScenarioId, type Series, type SeriesName } from "./scenarios.ts";
import { straceCommand, straceDaemon, type SyscallRow } from "./strace.ts";
import { verifyTree } from "./verify.ts";

export interface RunRow {
  scenario: ScenarioId;
  client: SeriesName;
  run: number;
  wallS: number;
  userS: number;
  sysS: number;
  maxRssKb: number;
  ok: boolean;
  /** CPU of the daemon's side of the transfer (null for local copies). */
  serverUserS: number | null;
  serverSysS: number | null;
}

export type SeriesStatus = "ok" | "n/a" | "failed";

export interface ScenarioResult {
  id: ScenarioId;
  what: string;
  shapes: Record<SeriesName, string>;
  rows: RunRow[];
  status: Record<SeriesName, SeriesStatus>;
  /** Why a series is n/a or failed. */
  notes: Partial<Record<SeriesName, string>>;
  syscalls: Partial<Record<SeriesName, SyscallRow[] | null>>;
  subjectIsServer: boolean;
}

export interface RunnerOpts {
  runs: number;
  warmup: number;
  traceDir: string | null;
  log: (s: string) => void;
}

/**
 * Tracks what dest holds so that "a copy of the source" is not redone after
 * a run that was verified to leave exactly that.
 */
class Dest {
  private holds: DestStart | "unknown" = "unknown";
  constructor(private readonly env: BenchEnv) {}

  async reset(to: DestStart): Promise<void> {
    if (to !== "empty" && this.holds === to) return;
    await freshDest(this.env, to);
    this.holds = to;
  }

  /** After a run dest holds something else - unless it was just verified equal to the source. */
  changed(verifiedEqualToSrc: boolean): void {
    this.holds = verifiedEqualToSrc ? "src" : "unknown";
  }
}

/** Puts dest in the given state from scratch. */
export async function freshDest(env: BenchEnv, to: DestStart): Promise<void> {
  rmSync(env.dest, { recursive: true, force: true });
  if (to === "empty") mkdirSync(env.dest, { recursive: true });
  // cp -a into a missing name copies the top directory's owner, mode and times too, as a pull would.
  else await mustRun(["cp", "-a", to === "src" ? env.src : env.old, env.dest]);
}

/** Our client refusing an option it does not have yet (upstream's wording, exit 1): n/a, not a failure. */
function unsupported(m: Measured): boolean {
  return m.code === 1 && /unknown option|not (yet )?supported/i.test(m.stderr);
}

const firstLine = (s: string) => s.trim().split("\n")[0] ?? "";

export async function runScenario(id: ScenarioId, env: BenchEnv, o: RunnerOpts): Promise<ScenarioResult> {
  const sc = SCENARIOS[id];
  const series = sc.series(env);
  const dest = new Dest(env);
  const res: ScenarioResult = {
    id,
    what: sc.what,
    shapes: Object.fromEntries(series.map((s) => [s.name, shapeOf(s.argv, env)])) as Record<SeriesName, string>,
    rows: [],
    status: { upstream: "ok", "oc-rsync": "ok" },
    notes: {},
    syscalls: {},
    subjectIsServer: series.some((s) => s.subjectIsServer),
  };
  const active = () => series.filter((s) => res.status[s.name] === "ok");

  const once = async (s: Series, runNo: number | null): Promise<void> => {
    await dest.reset(sc.start);
    // A worker still finishing an earlier connection (or the start-up probe) must not count in this run.
    if (s.server) await waitChildless(s.server.pid);
    const cpu0 = s.server ? treeCpu(s.server.pid) : null;
    const m = await measure(s.argv);
    let serverUserS: number | null = null;
    let serverSysS: number | null = null;
    if (s.server && cpu0) {
      // The daemon's worker may still be exiting when the client is done; its CPU counts once it is reaped.
      await waitChildless(s.server.pid);
      const cpu1 = treeCpu(s.server.pid);
      if (cpu1) [serverUserS, serverSysS] = [cpu1.user - cpu0.user, cpu1.sys - cpu0.sys];
    }
    if (m.code !== 0) {
      dest.changed(false);
      res.status[s.name] = unsupported(m) ? "n/a" : "failed";
      res.notes[s.name] = `exit ${m.code}: ${firstLine(m.stderr) || firstLine(m.stdout)}`;
      o.log(`  ${s.name}: ${res.status[s.name]} (${res.notes[s.name]})`);
      if (runNo !== null && res.status[s.name] === "failed") res.rows.push(row(id, s.name, runNo, m, false, serverUserS, serverSysS));
      return;
    }
    if (runNo === null) return dest.changed(false);
    const v = await verifyTree(env.src, env.dest);
    dest.changed(v.ok);
    res.rows.push(row(id, s.name, runNo, m, v.ok, serverUserS, serverSysS));
    o.log(`  ${id} ${s.name.padEnd(8)} run ${runNo}/${o.runs}: ${m.wallS.toFixed(3)} s wall, ${(m.userS + m.sysS).toFixed(3)} s cpu, ${m.maxRssKb} KB${v.ok ? "" : "  DEST DIFFERS"}`);
    if (!v.ok) {
      res.status[s.name] = "failed";
      res.notes[s.name] = `dest differs from the source after run ${runNo}: ${v.diff.join(" | ")}`;
    }
  };

  o.log(`${id}: ${sc.what}`);
  for (let i = 0; i < o.warmup; i++) for (const s of active()) await once(s, null);
  for (let i = 1; i <= o.runs; i++) for (const s of active()) await once(s, i);
  if (o.traceDir) await straceAll(res, series, dest, sc.start, o.traceDir);
  return res;
}

function row(scenario: ScenarioId, client: SeriesName, runNo: number, m: Measured, ok: boolean, su: number | null, ss: number | null): RunRow {
  return { scenario, client, run: runNo, wallS: m.wallS, userS: m.userS, sysS: m.sysS, maxRssKb: m.maxRssKb, ok, serverUserS: su, serverSysS: ss };
}

/** The untimed strace pass; the subject (client, or daemon in serve-initial) of each series that ran. */
async function straceAll(res: ScenarioResult, series: Series[], dest: Dest, start: DestStart, dir: string): Promise<void> {
  if (!which("strace")) return;
  mkdirSync(dir, { recursive: true });
  for (const s of series) {
    if (res.status[s.name] === "n/a") continue;
    await dest.reset(start);
    const out = join(dir, `${res.id}.${s.name}.strace`);
    rmSync(out, { force: true });
    res.syscalls[s.name] =
      s.subjectIsServer && s.server ? await straceDaemon(s.server.pid, () => run(s.argv), out, `${out}.stderr`) : await straceCommand(s.argv, out);
    dest.changed(false);
    if (!res.syscalls[s.name] && existsSync(out)) res.notes[s.name] ??= `strace gave no summary (see ${out})`;
  }
}

