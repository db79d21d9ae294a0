/**
 * Command-line flags of the end-to-end benchmark. Hand-parsed: the harness
 * must not depend on the program it measures (src/cli) and the flag set is tiny.
 */
import { resolve } from "node:path";
import { SCENARIO_IDS, type ScenarioId } from "./scenarios.ts";

export interface BenchArgs {
  quick: boolean;
  scenarios: ScenarioId[];
  runs: number;
  warmup: number;
  workDir: string;
  destDir: string;
  /** How to start our program: an executable, or several words such as "bun src/main.ts". */
  client: string[];
  profile: boolean;
  /** Skip the untimed strace pass (for quick A/B iterations; the figure of record keeps it). */
  noStrace: boolean;
  /** The seed of the quick tree and of the derived old tree. */
  seed: number;
}

const REPO = resolve(import.meta.dir, "../..");

export const USAGE = `usage: bun bench/e2e/main.ts [flags]   (or: npm run bench -- [flags])
  --quick             synthetic seeded tree instead of the kernel source (about a minute)
  --scenarios=a,b     subset of: ${SCENARIO_IDS.join(", ")}
  --runs=N            timed runs per client (default 10; 5 with --quick)
  --warmup=N          warm-up runs per client (default 5; 2 with --quick)
  --work-dir=DIR      data, results/ and profiles/ (default /tmp/rsync-bench)
  --dest-dir=DIR      where destinations are written (default /dev/shm/rsync-bench: tmpfs)
  --client=PATH       our program (default ${REPO}/dist/oc-rsync; may be "bun ${REPO}/src/main.ts")
  --seed=N            seed of the synthetic/derived trees (default 1)
  --profile           perf record + flamegraph of our client, one run per scenario
  --no-strace         skip the untimed strace pass (quicker A/B iterations)`;

export function parseArgs(argv: string[]): BenchArgs {
  let runs: number | null = null;
  let warmup: number | null = null;
  const a: BenchArgs = {
    quick: false,
    scenarios: [...SCENARIO_IDS],
    runs: 0,
    warmup: 0,
    workDir: "/tmp/rsync-bench",
    destDir: "/dev/shm/rsync-bench",
    client: [resolve(REPO, "dist/oc-rsync")],
    profile: false,
    noStrace: false,
    seed: 1,
  };
  for (const arg of argv) {
    const eq = arg.indexOf("=");
    const [key, val] = eq < 0 ? [arg, ""] : [arg.slice(0, eq), arg.slice(eq + 1)];
    switch (key) {
      case "--quick":
        a.quick = true;
        break;
      case "--profile":
        a.profile = true;
        break;
      case "--no-strace":
        a.noStrace = true;
        break;
      case "--scenarios": {
        const ids = val.split(",").filter(Boolean);
        for (const id of ids) if (!(SCENARIO_IDS as readonly string[]).includes(id)) throw new Error(`unknown scenario "${id}"; known: ${SCENARIO_IDS.join(", ")}`);
        // Keep the canonical order so reports read the same whatever order was asked.
        a.scenarios = SCENARIO_IDS.filter((id) => ids.includes(id));
        break;
      }
      case "--runs":
        runs = count(key, val, 1);
        break;
      case "--warmup":
        warmup = count(key, val, 0);
        break;
      case "--seed":
        a.seed = count(key, val, 0);
        break;
      case "--work-dir":
        a.workDir = resolve(nonEmpty(key, val));
        break;
      case "--dest-dir":
        a.destDir = resolve(nonEmpty(key, val));
        break;
      case "--client": {
        const words = nonEmpty(key, val).split(/\s+/).filter(Boolean);
        a.client = words.map((w, i) => (i === words.length - 1 || w.includes("/") ? resolve(w) : w));
        break;
      }
      case "-h":
      case "--help":
        console.log(USAGE);
        process.exit(0);
      default:
        throw new Error(`unknown flag ${arg}\n${USAGE}`);
    }
  }
  // Quick mode is for iterating: fewer runs keep it near a minute; the kernel figures use the full count.
  a.runs = runs ?? (a.quick ? 5 : 10);
  a.warmup = warmup ?? (a.quick ? 2 : 5);
  return a;
}

function count(key: string, val: string, min: number): number {
  const n = Number(val);
  if (!Number.isInteger(n) || n < min) throw new Error(`${key} needs an integer >= ${min}, got "${val}"`);
  return n;
}

function nonEmpty(key: string, val: string): string {
  if (!val) throw new Error(`${key} needs a value (${key}=...)`);
  return val;
}
