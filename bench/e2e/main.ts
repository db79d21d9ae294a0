/**
 * End-to-end benchmark: oc-rsync against upstream rsync on the Linux kernel
 * source (or, with --quick, a small synthetic tree), as specified in
 * docs/benchmark.md. Run: `npm run bench` (flags: bun bench/e2e/main.ts --help).
 *
 * Order of work: tools, data, daemons, then each scenario (warm-up, timed
 * runs, checks, strace pass), then reports; daemons are stopped on every exit
 * path, Ctrl-C included. CSV and Markdown go to WORK/results/.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs, type BenchArgs } from "./args.ts";
import { prepareKernel, prepareQuick, rereadExecutables, warmPageCache, type Dataset } from "./data.ts";
import { ensureTool, killAll, run } from "./proc.ts";
import { perfRecord, perfUsable, renderProfile, jitEnv } from "./profile.ts";
import { summary, writeCsv, type ReportMeta } from "./report.ts";
import { freshDest, runScenario, type ScenarioResult } from "./runner.ts";
import { SCENARIOS, type BenchEnv, type ScenarioId } from "./scenarios.ts";
import { startDaemon, writeDaemonConfig, type Daemon } from "./servers.ts";

const log = (s: string) => console.log(s);
const warn = (s: string) => console.error(`warning: ${s}`);
const REPO = join(import.meta.dir, "../..");

/** Newest modification time under a directory, to tell a stale compiled client. */
function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

async function checkTools(a: BenchArgs): Promise<{ strace: boolean }> {
  if (!(await ensureTool("rsync", "rsync", log))) throw new Error("upstream rsync is needed (apt-get install rsync)");
  const exe = a.client[0]!;
  if (exe.includes("/") && !existsSync(exe)) throw new Error(`client ${exe} does not exist: build it with \`npm run build\` (or pass --client=...)`);
  if (exe === join(REPO, "dist/oc-rsync") && statSync(exe).mtimeMs < newestMtime(join(REPO, "src"))) {
    warn(`${exe} is older than src/: you are measuring an old build (npm run build)`);
  }
  if (!(await ensureTool("time", "time", log))) warn("GNU time (/usr/bin/time) is unavailable: peak RSS will include the harness's own, as Bun forks before exec");
  if (a.noStrace) return { strace: false };
  const strace = await ensureTool("strace", "strace", log);
  if (!strace) warn("strace is unavailable: no syscall counts");
  return { strace };
}

async function describeMachine(a: BenchArgs, data: Dataset): Promise<string[]> {
  const first = async (argv: string[]) => (await run(argv)).stdout.split("\n")[0]?.trim() ?? "?";
  const cpu = (await run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"])).stdout.trim();
  const ours = (await run([...a.client, "--version"])).stdout.split("\n");
  const fsType = (await run(["stat", "-f", "-c", "%T", a.destDir])).stdout.trim();
  return [
    `date: ${new Date().toISOString()}`,
    `machine: ${cpu || "?"}, ${navigator.hardwareConcurrency} cores, Linux ${await first(["uname", "-r"])}, Bun ${Bun.version}`,
    `upstream: ${await first(["rsync", "--version"])}`,
    `oc-rsync: ${ours[0]?.trim() ?? "?"} (${a.client.join(" ")}); ${ours.find((l) => l.startsWith("native core")) ?? ""}`,
    `data: ${data.describe}`,
    `method: ${a.warmup} warm-up + ${a.runs} timed runs per client, alternating; dest in ${a.destDir} (${fsType}), reset outside the timed region; every timed run checked with \`rsync -ani --delete SRC/ DEST/\`; both executables' page cache dropped before the daemons start (their code read back from disk, as after a reboot)`,
    "cpu: wait4() rusage of the client's process tree; peak RSS: GNU time's %M (largest process of the tree); server cpu: the daemon's reaped per-connection workers (/proc, 10 ms ticks); serve-initial's series name the daemon (the client is upstream's for both)",
  ];
}

/** One perf run of our side for a scenario; prints where the flamegraph went, or why there is none. */
async function profileScenario(id: ScenarioId, env: BenchEnv & { cfgText: string }, a: BenchArgs, profDir: string): Promise<void> {
  const sc = SCENARIOS[id];
  const ours = sc.series(env).find((s) => s.name === "oc-rsync")!;
  const perfData = join(profDir, `${id}.perf.data`);
  // On the dest filesystem (tmpfs by default): JSC fsyncs its jitdump, which on a disk would weigh on the profile.
  const jitDir = join(a.destDir, `jit-${id}`);
  await freshDest(env, sc.start);
  if (ours.subjectIsServer) {
    // A dedicated daemon under perf: the shared one must stay unprofiled for the timed runs.
    const d = await startDaemon("ours", a.client, { text: env.cfgText, dir: join(a.workDir, "daemon") }, { env: jitEnv(jitDir), wrap: ["perf", "record", "-g", "-F", "999", "-o", perfData, "--"] });
    await run([...env.upstream, "-a", d.url("kernel"), `${env.dest}/`]);
    await d.stop();
  } else {
    const r = await perfRecord(ours.argv, perfData, jitDir);
    if (!r.ok) return log(`  profile ${id}: perf record failed (${r.err})`);
  }
  const svg = await renderProfile(perfData, jitDir, `oc-rsync ${id} (${ours.subjectIsServer ? "daemon" : "client"})`, log);
  log(`  profile ${id}: ${perfData}${svg ? `, ${svg} (and .folded)` : ""}`);
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  const tools = await checkTools(a);
  const resultsDir = join(a.workDir, "results");
  const profDir = join(a.workDir, "profiles");
  mkdirSync(resultsDir, { recursive: true });
  mkdirSync(a.destDir, { recursive: true });
  const dest = join(a.destDir, "dest");
  const daemons: Daemon[] = [];
  let stopping = false;
  const stopAll = async () => {
    await Promise.all(daemons.splice(0).map((d) => d.stop()));
    // A kernel-sized dest left on tmpfs would hold 1.5 GB of RAM.
    rmSync(dest, { recursive: true, force: true });
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      console.error(`\n${sig}: stopping daemons and children`);
      killAll();
      stopAll().finally(() => process.exit(130));
    });
  }
  try {
    const data = a.quick ? await prepareQuick(a.workDir, a.seed, log) : await prepareKernel(a.workDir, a.seed, log);
    // Fresh each time: daemon logs and configs are per port and would pile up.
    rmSync(join(a.workDir, "daemon"), { recursive: true, force: true });
    const cfg = writeDaemonConfig(join(a.workDir, "daemon"), data.src, dest);
    await rereadExecutables([Bun.which("rsync") ?? "/usr/bin/rsync", Bun.which(a.client[0]!) ?? a.client[0]!]);
    const upstreamDaemon = await startDaemon("upstream", ["rsync"], cfg);
    daemons.push(upstreamDaemon);
    const ourDaemon = await startDaemon("ours", a.client, cfg);
    daemons.push(ourDaemon);
    log(`daemons: upstream on port ${upstreamDaemon.port}, oc-rsync on port ${ourDaemon.port}`);
    const env: BenchEnv & { cfgText: string } = { src: data.src, old: data.old, dest, upstream: ["rsync"], ours: a.client, upstreamDaemon, ourDaemon, cfgText: cfg.text };

    const meta: ReportMeta = { title: `oc-rsync vs upstream rsync: ${a.quick ? "quick (synthetic tree)" : "Linux kernel source"}`, lines: await describeMachine(a, data) };
    const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
    const base = join(resultsDir, `${stamp}-${a.quick ? "quick" : "kernel"}`);
    const results: ScenarioResult[] = [];
    for (const id of a.scenarios) {
      // Read once more per scenario: dest on tmpfs competes with the page cache for memory.
      await warmPageCache(data.src);
      if (SCENARIOS[id].start === "old") await warmPageCache(data.old);
      results.push(await runScenario(id, env, { runs: a.runs, warmup: a.warmup, traceDir: tools.strace ? join(a.workDir, "strace") : null, log }));
      // Written after every scenario, so an interrupted benchmark keeps what it measured.
      writeCsv(`${base}.csv`, results);
    }
    if (a.profile) {
      const why = await perfUsable(log);
      if (why) log(`--profile: skipped: ${why}`);
      else {
        mkdirSync(profDir, { recursive: true });
        for (const r of results) if (r.status["oc-rsync"] !== "n/a") await profileScenario(r.id, env, a, profDir);
      }
    }
    writeFileSync(`${base}.md`, summary(meta, results, true));
    console.log("\n" + summary(meta, results, false));
    log(`results: ${base}.csv, ${base}.md`);
    const failed = results.filter((r) => r.status.upstream === "failed" || r.status["oc-rsync"] === "failed");
    if (failed.length) console.error(`FAILED: ${failed.map((r) => r.id).join(", ")} (see the notes above)`);
    return failed.length ? 1 : 0;
  } finally {
    await stopAll();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
    killAll();
    process.exit(2);
  },
);
