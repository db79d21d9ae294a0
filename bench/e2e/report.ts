/**
 * Results out: one CSV row per run, and a summary (overall table, then per
 * scenario: medians, min-max, the paired ratio, the syscall top 10) rendered
 * both as aligned text for the terminal and as Markdown for a README.
 */
import { writeFileSync } from "node:fs";
import type { RunRow, ScenarioResult } from "./runner.ts";
import { SERIES, type SeriesName } from "./scenarios.ts";
import { max, median, min, pairRatios } from "./stats.ts";

const CSV_HEADER = "scenario,client,run,wall_s,user_s,sys_s,max_rss_kb,ok,server_user_s,server_sys_s";

export function writeCsv(file: string, results: ScenarioResult[]): void {
  const f = (x: number | null, d = 4) => (x === null || !Number.isFinite(x) ? "" : x.toFixed(d));
  const lines = [CSV_HEADER];
  for (const r of results) {
    for (const x of r.rows) lines.push([x.scenario, x.client, x.run, f(x.wallS), f(x.userS), f(x.sysS), f(x.maxRssKb, 0), x.ok, f(x.serverUserS, 2), f(x.serverSysS, 2)].join(","));
    // A series that could not run at all still leaves a trace, so the CSV alone tells n/a from missing.
    for (const s of SERIES) if (r.status[s] === "n/a") lines.push([r.id, s, 0, "", "", "", "", "n/a", "", ""].join(","));
  }
  writeFileSync(file, lines.join("\n") + "\n");
}

export interface ReportMeta {
  title: string;
  lines: string[];
}

type Table = { head: string[]; rows: string[][] };

function render(t: Table, md: boolean): string {
  if (md) {
    const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
    return [line(t.head), line(t.head.map(() => "---")), ...t.rows.map(line)].join("\n");
  }
  // Backticks mark commands for Markdown only.
  t = { head: t.head, rows: t.rows.map((r) => r.map((c) => c.replaceAll("`", ""))) };
  const all = [t.head, ...t.rows];
  const w = t.head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i]!)).join("  ").trimEnd();
  return [line(t.head), w.map((n) => "-".repeat(n)).join("  "), ...t.rows.map(line)].join("\n");
}

const okRows = (r: ScenarioResult, s: SeriesName) => r.rows.filter((x) => x.client === s && x.ok);
const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : "-");
const spread = (xs: number[], d = 3) => (xs.length ? `${fmt(median(xs), d)} (${fmt(min(xs), d)}–${fmt(max(xs), d)})` : "-");
const subjectCpu = (r: ScenarioResult, x: RunRow) => (r.subjectIsServer ? (x.serverUserS ?? NaN) + (x.serverSysS ?? NaN) : x.userS + x.sysS);

/** Median of the paired wall-time ratios ours/upstream, over runs that both passed the check. */
export function wallRatio(r: ScenarioResult): number[] {
  return pairRatios(
    okRows(r, "oc-rsync").map((x) => x.wallS),
    okRows(r, "upstream").map((x) => x.wallS),
  );
}

function cell(r: ScenarioResult, s: SeriesName): string {
  if (r.status[s] === "n/a") return "n/a";
  if (r.status[s] === "failed") return "FAILED";
  return spread(okRows(r, s).map((x) => x.wallS));
}

function verdict(r: ScenarioResult): string {
  if (r.status["oc-rsync"] === "n/a") return "n/a (not supported by oc-rsync yet)";
  if (r.status["oc-rsync"] === "failed") return "FAILED (oc-rsync)";
  if (r.status.upstream !== "ok") return `upstream ${r.status.upstream}`;
  const q = median(wallRatio(r));
  if (!Number.isFinite(q)) return "-";
  return q <= 0.9 ? "faster by ≥10%" : q < 1 ? "faster" : "slower";
}

function overview(results: ScenarioResult[]): Table {
  return {
    head: ["scenario", "upstream wall s, median (min–max)", "oc-rsync wall s, median (min–max)", "ratio oc/up (median of pairs)", "verdict"],
    rows: results.map((r) => {
      const q = wallRatio(r);
      return [r.id, cell(r, "upstream"), cell(r, "oc-rsync"), q.length ? spread(q, 2) : "-", verdict(r)];
    }),
  };
}

function detail(r: ScenarioResult): Table {
  const col = (f: (x: RunRow) => number, d = 3) => SERIES.map((s) => (r.status[s] === "n/a" ? "n/a" : spread(okRows(r, s).map(f), d)));
  const rows: string[][] = [
    ["command", ...SERIES.map((s) => `\`${r.shapes[s]}\``)],
    ["wall s", ...col((x) => x.wallS)],
    ["user s (client tree)", ...col((x) => x.userS)],
    ["sys s (client tree)", ...col((x) => x.sysS)],
    ["peak RSS MB (client)", ...col((x) => x.maxRssKb / 1024, 1)],
  ];
  if (r.rows.some((x) => x.serverUserS !== null)) rows.push(["server cpu s (user+sys)", ...col((x) => (x.serverUserS ?? NaN) + (x.serverSysS ?? NaN), 2)]);
  rows.push(["runs passing the check", ...SERIES.map((s) => `${okRows(r, s).length}/${r.rows.filter((x) => x.client === s).length}`)]);
  const cpu = pairRatios(
    okRows(r, "oc-rsync").map((x) => subjectCpu(r, x)),
    okRows(r, "upstream").map((x) => subjectCpu(r, x)),
  );
  rows.push(["ratio oc/up, wall (median of pairs)", "", spread(wallRatio(r), 2)]);
  rows.push([`ratio oc/up, cpu of the ${r.subjectIsServer ? "daemon" : "client"}`, "", spread(cpu, 2)]);
  for (const s of SERIES) if (r.notes[s]) rows.push([`note (${s})`, r.notes[s]!.replaceAll("|", "/"), ""]);
  return { head: [r.id, "upstream", "oc-rsync"], rows };
}

function syscalls(r: ScenarioResult): Table | null {
  const up = r.syscalls.upstream;
  const oc = r.syscalls["oc-rsync"];
  if (!up && !oc) return null;
  const rows: string[][] = [];
  for (let i = 0; i < 10; i++) {
    const a = up?.[i];
    const b = oc?.[i];
    if (!a && !b) break;
    rows.push([String(i + 1), a?.name ?? "", a ? String(a.calls) : "", b?.name ?? "", b ? String(b.calls) : ""]);
  }
  const total = (xs: typeof up) => (xs ? String(xs.reduce((n, x) => n + x.calls, 0)) : "-");
  rows.push(["all", "", total(up), "", total(oc)]);
  const who = r.subjectIsServer ? "daemon" : "client";
  return { head: ["#", `upstream ${who} syscall`, "calls", `oc-rsync ${who} syscall`, "calls"], rows };
}

/** The whole summary; `md` chooses Markdown or aligned text. */
export function summary(meta: ReportMeta, results: ScenarioResult[], md: boolean): string {
  const out: string[] = [md ? `## ${meta.title}` : `=== ${meta.title} ===`, ""];
  out.push(...meta.lines.map((l) => (md ? `- ${l}` : l)), "");
  out.push(render(overview(results), md), "");
  for (const r of results) {
    out.push(md ? `### ${r.id}: ${r.what}` : `--- ${r.id}: ${r.what} ---`, "");
    out.push(render(detail(r), md), "");
    const t = syscalls(r);
    if (t) out.push(md ? "Syscalls (`strace -c -f`, one untimed run), top 10 by calls:" : "syscalls (strace -c -f, untimed), top 10 by calls:", "", render(t, md), "");
  }
  return out.join("\n");
}
