/**
 * What the client prints, compared byte for byte with upstream's client on
 * the same pull: -v, -i, --out-format escapes, --stats with each -h level,
 * --progress and --info=progress2, --list-only, deletions, -q, and names
 * escaped for the terminal under each locale and -8. Only figures that
 * depend on timing or on how bytes were framed are masked.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startUpstreamDaemon, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runOc, runRsync, stableOutput } from "../helpers/run.ts";
import { ageTree } from "../helpers/tree.ts";

let work: string;
let daemon: RunningDaemon;
const src = () => join(work, "src");

function buildSource(): void {
  const root = src();
  fs.mkdirSync(join(root, "sub/deeper"), { recursive: true });
  fs.writeFileSync(join(root, "small"), "hello\n");
  fs.writeFileSync(join(root, "empty"), "");
  fs.writeFileSync(join(root, "big"), Buffer.alloc(123_456, 7));
  fs.writeFileSync(join(root, "sub/a"), "a\n");
  fs.writeFileSync(join(root, "sub/deeper/b"), "bb\n");
  fs.chmodSync(join(root, "sub/a"), 0o4755);
  fs.symlinkSync("small", join(root, "link"));
  // Names the terminal must not see raw: UTF-8, a tab, a newline, a fake escape, invalid UTF-8.
  const names = [Buffer.from("ı-é"), Buffer.from("tab\tx"), Buffer.from("nl\nx"), Buffer.from("back\\#123"), Buffer.from([0x6c, 0x61, 0x74, 0xe9])];
  for (const n of names) fs.writeFileSync(Buffer.concat([Buffer.from(`${root}/sub/`), n]), "x");
  ageTree(root, 1_400_000_000);
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-output-"));
  fs.chmodSync(work, 0o755);
  buildSource();
  daemon = await startUpstreamDaemon([{ name: "mod", path: src() }]);
});

afterAll(async () => {
  await daemon?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Masks what depends on the clock or on framing, keeps everything else. */
function masked(text: string): string {
  return stableOutput(normalizeErrors(text))
    .replace(/(File list (?:generation|transfer) time:) [\d.,]+/g, "$1 T")
    .replace(/^(File list size:|Total bytes sent:|Total bytes received:) \S+/gm, "$1 N")
    .replace(/ {2}speedup is [\d.,]+/g, "  speedup is N")
    .replace(/^sent \S+ bytes {2}received \S+ bytes {2}\S+ bytes\/sec$/gm, "sent N bytes  received N bytes  N bytes/sec")
    .replace(/( +\d+%) +[\d.]+[kMG]B\/s +\S+/g, "$1 RATE TIME");
}

interface OutputCase {
  name: string;
  args: string[];
  env?: Record<string, string>;
  /** Prepare each destination before the pull. */
  prepare?: (dest: string) => void;
  /** Deletions and items come from two upstream processes: compare those outputs as sets of lines. */
  unordered?: boolean;
}

const prefill = (dest: string) => {
  fs.mkdirSync(join(dest, "gone-dir/inner"), { recursive: true });
  fs.writeFileSync(join(dest, "gone-file"), "old");
  fs.writeFileSync(join(dest, "gone-dir/inner/f"), "old");
};

const copyTree = (from: string, to: string) => {
  const r = Bun.spawnSync(["cp", "-a", `${from}/.`, to]);
  if (r.exitCode !== 0) throw new Error(`cp -a failed: ${r.stderr}`);
};

const FORMAT = "[%o|%n|%f|%l|%U|%G|%M|%B|%b|%c|%i|%L|%m|%P|%u|%h|%a|%%|%q|%12n|%-12n|%'l|%''l|%'''l|%8L|%-3i]";

const CASES: OutputCase[] = [
  { name: "-v in the C locale escapes every high-bit byte", args: ["-av"] },
  { name: "-v in C.UTF-8 keeps valid UTF-8", args: ["-av"], env: { LC_ALL: "C.UTF-8" } },
  { name: "-8 leaves high-bit bytes alone", args: ["-av8"] },
  { name: "-i on a first pull", args: ["-ai"] },
  { name: "--out-format with every escape", args: ["-a", `--out-format=${FORMAT}`] },
  { name: "-c with %C", args: ["-ac", "--out-format=%C|%n"] },
  { name: "--stats", args: ["-a", "--stats"] },
  { name: "--stats -h", args: ["-a", "--stats", "-h"] },
  { name: "--stats -hh", args: ["-a", "--stats", "-hh"] },
  { name: "--stats --no-h", args: ["-a", "--stats", "--no-h"] },
  { name: "--stats at protocol 29", args: ["-a", "--stats", "--protocol=29"] },
  { name: "--stats -n", args: ["-an", "--stats"] },
  { name: "--progress", args: ["-a", "--progress"] },
  { name: "-v --progress", args: ["-av", "--progress"] },
  { name: "--info=progress2", args: ["-a", "--info=progress2"] },
  { name: "--info=progress2 at protocol 29 (one list)", args: ["-a", "--info=progress2", "--protocol=29"] },
  // Each marker shows the totals even when nothing is transferred (upstream's cur_flist is set before any file).
  { name: "--info=progress2 on an identical tree", args: ["-a", "--info=progress2"], prepare: (d) => copyTree(src(), d) },
  // (One list: with incremental recursion how many items come before a list's marker is the generators' timing.)
  { name: "--info=progress2 -n counts what it would transfer", args: ["-an", "--info=progress2", "--no-inc-recursive"] },
  { name: "-ii on an identical tree lists every item", args: ["-aii"], prepare: (d) => copyTree(src(), d) },
  { name: "-vv on a first pull", args: ["-avv"] },
  { name: "-vv on an identical tree names what is up to date", args: ["-avv"], prepare: (d) => copyTree(src(), d) },
  { name: "-vv -W", args: ["-avvW"] },
  { name: "-i on an identical tree says nothing", args: ["-ai", "--stats"], prepare: (d) => copyTree(src(), d) },
  { name: "-q says nothing", args: ["-aq", "--stats"] },
  { name: "-v --delete", args: ["-av", "--delete"], prepare: prefill, unordered: true },
  { name: "-i --delete", args: ["-ai", "--delete"], prepare: prefill, unordered: true },
  { name: "--out-format with %o --delete", args: ["-a", "--delete", "--out-format=%o %n"], prepare: prefill, unordered: true },
  { name: "--delete-excluded alone deletes as --delete does", args: ["-ai", "--delete-excluded"], prepare: prefill, unordered: true },
  { name: "--out-format without %o/%i --delete", args: ["-a", "--delete", "--out-format=>%n"], prepare: prefill, unordered: true },
];

const sortedLines = (text: string) => text.split("\n").sort().join("\n");

describe("client output matches upstream", () => {
  CASES.forEach((c, i) => {
    test(c.name, async () => {
      const ours = join(work, `ours-${i}`);
      const theirs = join(work, `theirs-${i}`);
      for (const d of [ours, theirs]) {
        fs.mkdirSync(d, { recursive: true });
        c.prepare?.(d);
      }
      const url = daemon.url("mod");
      const a = await runOc([...c.args, url, `${ours}/`], { env: c.env });
      const b = await runRsync([...c.args, url, `${theirs}/`], { env: c.env });
      expect(a.code).toBe(b.code);
      const show = (t: string) => (c.unordered ? sortedLines(masked(t)) : masked(t)).replaceAll(`port ${daemon.port}`, "port P");
      expect(show(a.stdout)).toBe(show(b.stdout));
      expect(masked(a.stderr)).toBe(masked(b.stderr));
      expect(b.stdout.length).toBeGreaterThan(c.args.includes("-aq") ? -1 : 0);
    });
  });
});

describe("--list-only matches upstream", () => {
  const LISTINGS: { name: string; args: string[]; path?: string }[] = [
    { name: "top of a module", args: ["--list-only"] },
    { name: "recursive", args: ["-r", "--list-only"] },
    { name: "recursive with links", args: ["-rl", "--list-only"] },
    { name: "--no-h widths", args: ["-r", "--list-only", "--no-h"] },
    { name: "-h units", args: ["-rlh", "--list-only"] },
    { name: "one file", args: ["--list-only"], path: "big" },
  ];
  for (const l of LISTINGS) {
    test(l.name, async () => {
      const url = daemon.url("mod", l.path);
      const a = await runOc([...l.args, url]);
      const b = await runRsync([...l.args, url]);
      expect(a.code).toBe(b.code);
      expect(a.stdout).toBe(b.stdout);
      expect(b.stdout).toContain(l.path ?? "small");
    });
  }
});

/**
 * Upstream's client is the sending half of a local copy (its receiving half
 * is a forked server that passes the item flags back), so the items it
 * prints are the sender's: %o "send", %f the path as the sender found it,
 * %b what it wrote for a file (index and attributes included), %c the block
 * sums it read. The --log-file lines are the sender's too.
 */
describe("a local copy's items are its sending half's", () => {
  const LOCAL: { name: string; args: string[]; source: string; dest: string; update?: boolean }[] = [
    { name: "every escape, a new tree", args: ["-a", `--out-format=${FORMAT}`], source: "src", dest: "d/" },
    { name: "a trailing-slash source", args: ["-a", "--out-format=%o|%f|%n|%b|%c"], source: "src/", dest: "d/" },
    { name: "-R with an implied directory cut", args: ["-aR", "--out-format=%o|%f|%n|%b|%c"], source: "src/./sub", dest: "d/" },
    { name: "one file under a new name", args: ["-a", "--out-format=%o|%f|%n|%b|%c"], source: "src/small", dest: "d/renamed" },
    { name: "a delta update", args: ["-a", "--no-W", "-I", "--out-format=%o|%f|%n|%b|%c|%i"], source: "src/", dest: "d/", update: true },
  ];
  LOCAL.forEach((c, i) => {
    test(c.name, async () => {
      const run = async (who: "ours" | "theirs") => {
        const base = join(work, `local-${who}-${i}`);
        fs.mkdirSync(join(base, "d"), { recursive: true });
        // (cp: node's cpSync cannot name the source's non-UTF-8 file.)
        Bun.spawnSync(["cp", "-a", src(), join(base, "src")]);
        if (c.update) {
          Bun.spawnSync(["cp", "-a", `${join(base, "src")}/.`, join(base, "d")]);
          fs.appendFileSync(join(base, "src/big"), "more\n");
        }
        const args = [...c.args, "--log-file=log", "--log-file-format=%o|%f|%b|%c", c.source, c.dest];
        const r = await (who === "ours" ? runOc(args, { cwd: base }) : runRsync(args, { cwd: base }));
        const log = fs.readFileSync(join(base, "log"), "latin1").replace(/^.*?\] /gm, "").replace(/^sent .*\n/m, "");
        return { ...r, log };
      };
      const a = await run("ours");
      const b = await run("theirs");
      expect(a.code).toBe(b.code);
      expect(masked(a.stdout)).toBe(masked(b.stdout));
      expect(masked(a.stderr)).toBe(masked(b.stderr));
      expect(a.log).toBe(b.log);
      expect(b.stdout).toContain("send|");
    });
  });
});
