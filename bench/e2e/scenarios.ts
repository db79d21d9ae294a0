/**
 * The scenarios of docs/benchmark.md, as data: the command each side runs,
 * the state dest must be in before each run, and which daemon is involved.
 * Every scenario compares two series named "upstream" and "oc-rsync"; in
 * serve-initial the client is upstream's for both and the name says whose
 * daemon served it.
 */
import type { Daemon } from "./servers.ts";

export const SCENARIO_IDS = ["pull-initial", "pull-noop", "pull-delta", "pull-z", "pull-checksum", "push-initial", "serve-initial", "local-initial"] as const;
export type ScenarioId = (typeof SCENARIO_IDS)[number];
export type SeriesName = "upstream" | "oc-rsync";
export const SERIES: readonly SeriesName[] = ["upstream", "oc-rsync"];

/** What dest holds before a run: nothing, a copy of the source, or a copy of the older tree. */
export type DestStart = "empty" | "src" | "old";

export interface BenchEnv {
  src: string;
  old: string;
  dest: string;
  upstream: string[];
  ours: string[];
  upstreamDaemon: Daemon;
  ourDaemon: Daemon;
}

export interface Series {
  name: SeriesName;
  argv: string[];
  /** The daemon in the transfer: its CPU (reaped workers included) is recorded per run. */
  server?: Daemon;
  /** serve-initial: the daemon, not the client, is what differs, so strace and perf look at it. */
  subjectIsServer: boolean;
}

export interface Scenario {
  id: ScenarioId;
  what: string;
  start: DestStart;
  series(env: BenchEnv): Series[];
}

/** A client pulling from upstream's daemon: the same server for both, so only the client differs. */
function pull(id: ScenarioId, what: string, start: DestStart, flags: string): Scenario {
  return {
    id,
    what,
    start,
    series: (e) =>
      SERIES.map((name) => ({
        name,
        argv: [...(name === "upstream" ? e.upstream : e.ours), flags, e.upstreamDaemon.url("kernel"), `${e.dest}/`],
        server: e.upstreamDaemon,
        subjectIsServer: false,
      })),
  };
}

export const SCENARIOS: Record<ScenarioId, Scenario> = {
  "pull-initial": pull("pull-initial", "pull into an empty dest (headline)", "empty", "-a"),
  "pull-noop": pull("pull-noop", "pull into an identical dest", "src", "-a"),
  "pull-delta": pull("pull-delta", "pull into a dest holding the older tree", "old", "-a"),
  "pull-z": pull("pull-z", "pull into an empty dest with compression", "empty", "-az"),
  "pull-checksum": pull("pull-checksum", "pull into an identical dest with -c", "src", "-ac"),
  "push-initial": {
    id: "push-initial",
    what: "push to upstream's writable module, empty",
    start: "empty",
    series: (e) =>
      SERIES.map((name) => ({
        name,
        argv: [...(name === "upstream" ? e.upstream : e.ours), "-a", `${e.src}/`, e.upstreamDaemon.url("upload")],
        server: e.upstreamDaemon,
        subjectIsServer: false,
      })),
  },
  "serve-initial": {
    id: "serve-initial",
    what: "upstream's client pulls from each daemon, empty dest",
    start: "empty",
    series: (e) =>
      SERIES.map((name) => {
        const d = name === "upstream" ? e.upstreamDaemon : e.ourDaemon;
        return { name, argv: [...e.upstream, "-a", d.url("kernel"), `${e.dest}/`], server: d, subjectIsServer: true };
      }),
  },
  "local-initial": {
    id: "local-initial",
    what: "local copy into an empty dest",
    start: "empty",
    series: (e) => SERIES.map((name) => ({ name, argv: [...(name === "upstream" ? e.upstream : e.ours), "-a", `${e.src}/`, `${e.dest}/`], subjectIsServer: false })),
  },
};

/** The command of a series with the machine-specific parts replaced, for the report. */
export function shapeOf(argv: string[], env: BenchEnv): string {
  const port = (d: Daemon) => new RegExp(`:${d.port}/`, "g");
  return argv
    .map((a, i) => (i === 0 ? a.replace(/^.*\//, "") : a))
    .join(" ")
    .replace(port(env.upstreamDaemon), ":PORT/")
    .replace(port(env.ourDaemon), ":PORT/")
    .replaceAll(env.src, "SRC")
    .replaceAll(env.dest, "DEST");
}
