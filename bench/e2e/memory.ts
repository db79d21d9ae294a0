/**
 * Memory per file-list entry: peak RSS of a client over two synthetic trees
 * of empty files that differ only in their entry count (default 100K and 1M,
 * 1000 files per directory), and the slope between them in bytes per entry.
 * Upstream rsync is measured the same way beside ours.
 *
 *   bun bench/e2e/memory.ts                         # dist/oc-rsync, 100K vs 1M, every mode
 *   bun bench/e2e/memory.ts --client="bun src/main.ts" --counts=20000,200000 --modes=pull
 *
 * Modes (what the client does with the tree):
 *   pull   `CLIENT -an rsync://127.0.0.1:PORT/mem/ DEST/` from upstream's daemon (our client receives the list: a dry run,
 *          so no file is written and the figure is the list's, the generator's walk included)
 *   push   `CLIENT -an SRC/ rsync://127.0.0.1:PORT/upload/` to upstream's daemon (our client builds and sends the list)
 *   local  `CLIENT -a --list-only SRC/` (both halves of a local run in one process)
 * The trees are made once under --dir (a tmpfs by default, empty files: only inodes) and kept for the next run.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { measure } from "./proc.ts";
import { startDaemon, writeDaemonConfig, type Daemon } from "./servers.ts";

const REPO = resolve(import.meta.dir, "../..");
const MODES = ["pull", "push", "local"] as const;
type Mode = (typeof MODES)[number];

interface Args {
  client: string[];
  counts: [number, number];
  modes: Mode[];
  dir: string;
  perDir: number;
}

function parse(argv: string[]): Args {
  const a: Args = { client: [join(REPO, "dist/oc-rsync")], counts: [100_000, 1_000_000], modes: [...MODES], dir: "/dev/shm/rsync-bench-mem", perDir: 1000 };
  for (const arg of argv) {
    const [key, val = ""] = arg.split(/=(.*)/s);
    if (key === "--client") a.client = val.split(" ").filter(Boolean);
    else if (key === "--counts") {
      const [x, y] = val.split(",").map(Number);
      if (!x || !y || !(y > x)) throw new Error("--counts=SMALL,LARGE (LARGE > SMALL)");
      a.counts = [x, y];
    } else if (key === "--modes") a.modes = val.split(",").map((m) => (MODES.includes(m as Mode) ? (m as Mode) : fail(`unknown mode ${m}`)));
    else if (key === "--dir") a.dir = resolve(val);
    else if (key === "--per-dir") a.perDir = Number(val);
    else fail(`unknown flag ${arg}\nusage: bun bench/e2e/memory.ts [--client=CMD] [--counts=100000,1000000] [--modes=pull,push,local] [--dir=DIR] [--per-dir=N]`);
  }
  return a;
}

function fail(text: string): never {
  console.error(text);
  process.exit(2);
}

/** A tree of `count` entries: directories of `perDir` empty files (the directories count as entries too). */
function makeTree(root: string, count: number, perDir: number): string {
  const tree = join(root, `tree-${count}`);
  const stamp = `${tree}.done`;
  if (existsSync(stamp)) return tree;
  rmSync(tree, { recursive: true, force: true });
  let made = 1; // the top directory
  for (let d = 0; made < count; d++) {
    const dir = join(tree, `d${d}`);
    mkdirSync(dir, { recursive: true });
    made++;
    for (let f = 0; f < perDir && made < count; f++, made++) writeFileSync(join(dir, `file-${f}.txt`), "");
  }
  writeFileSync(stamp, "");
  return tree;
}

function commandFor(mode: Mode, client: string[], tree: string, daemon: Daemon, module: string, dest: string): string[] {
  switch (mode) {
    case "pull":
      return [...client, "-an", daemon.url(module), `${dest}/`];
    case "push":
      return [...client, "-an", `${tree}/`, daemon.url("upload")];
    case "local":
      return [...client, "-a", "--list-only", `${tree}/`];
  }
}

async function main(): Promise<void> {
  const a = parse(process.argv.slice(2));
  mkdirSync(a.dir, { recursive: true });
  console.log(`making trees of ${a.counts.join(" and ")} entries under ${a.dir} (kept for later runs)`);
  const trees = a.counts.map((n) => makeTree(a.dir, n, a.perDir));
  const upload = join(a.dir, "upload");
  const dest = join(a.dir, "dest");
  mkdirSync(upload, { recursive: true });
  mkdirSync(dest, { recursive: true });
  // One module per tree: [t0] and [t1] (writeDaemonConfig's [kernel] serves the first).
  const cfg = writeDaemonConfig(join(a.dir, "daemon"), trees[0]!, upload);
  cfg.text += `\n[t1]\n  path = ${trees[1]}\n  read only = yes\n`;
  const daemon = await startDaemon("upstream", ["rsync"], cfg);
  const clients: [string, string[]][] = [
    ["upstream", ["rsync"]],
    ["oc-rsync", a.client],
  ];
  const rows: string[] = [];
  try {
    for (const mode of a.modes) {
      for (const [name, client] of clients) {
        const rss: number[] = [];
        for (const [i, tree] of trees.entries()) {
          for (const leftover of readdirSync(upload)) rmSync(join(upload, leftover), { recursive: true, force: true });
          const m = await measure(commandFor(mode, client, tree, daemon, i === 0 ? "kernel" : "t1", dest));
          if (m.code !== 0) throw new Error(`${name} ${mode} on ${a.counts[i]} entries exited ${m.code}: ${m.stderr.slice(0, 500)}`);
          rss.push(m.maxRssKb * 1024);
          console.log(`  ${mode} ${name} ${a.counts[i]} entries: peak RSS ${(m.maxRssKb / 1024).toFixed(1)} MB, ${m.wallS.toFixed(1)} s, cpu ${(m.userS + m.sysS).toFixed(2)} s`);
        }
        const perEntry = (rss[1]! - rss[0]!) / (a.counts[1] - a.counts[0]);
        rows.push(`| ${mode} | ${name} | ${(rss[0]! / 1048576).toFixed(1)} | ${(rss[1]! / 1048576).toFixed(1)} | ${perEntry.toFixed(0)} |`);
      }
    }
  } finally {
    await daemon.stop();
  }
  console.log(`\n| mode | client | peak RSS MB, ${a.counts[0]} entries | peak RSS MB, ${a.counts[1]} entries | bytes per entry |`);
  console.log("| --- | --- | --- | --- | --- |");
  for (const r of rows) console.log(r);
}

await main();
