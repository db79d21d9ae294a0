/**
 * The sender's match statistics (match.c): the "total: matches=..." line at
 * -vv and each file's "false_alarms=... hash_hits=... matches=..." line at
 * -vvv, printed by whichever side sends. Each transfer is done by us and by
 * upstream on the same files and the lines must be equal: a local copy, a
 * pull from upstream's daemon and from ours (the server's lines come to the
 * client as messages; a module's default "max verbosity" of 1 silences
 * them), a push to either daemon (our client is the sender), and upstream's
 * client pulling from our server over a remote shell.
 *
 * The files make the matcher work: a changed file of a small alphabet with
 * 64-byte blocks and 2-byte strong sums (false alarms, strong-sum collisions,
 * the walk's jumps after runs of false alarms), blocks whose rolling sums all
 * collide (a chain past MAX_CHAIN_LEN), and a new file sent whole.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ModuleConfig, type RunningDaemon, startDaemon } from "../helpers/daemon.ts";
import { runOc, runRsync } from "../helpers/run.ts";
import { ageTree } from "../helpers/tree.ts";
import { collidingBlock, collidingBlocks } from "../helpers/collisions.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const OUR_SERVER = `${process.execPath} ${MAIN}`;

let work: string;
let src: string;
let basis: string;
let rsh: string;
const daemons: Record<"upstream" | "ours", RunningDaemon> = {} as never;

/** A reproducible stream of bytes (mulberry32). */
function bytes(seed: number, n: number, alphabet = 256): Uint8Array {
  const out = new Uint8Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) % alphabet;
  }
  return out;
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-match-stats-"));
  src = join(work, "src");
  basis = join(work, "basis");
  fs.mkdirSync(src);
  fs.mkdirSync(basis);
  // A file of four byte values, edited: many rolling-sum candidates, and 2-byte strong sums that sometimes collide.
  const old = Buffer.from(bytes(5, 300_000, 4));
  const edited = Buffer.concat([old.subarray(0, 1000), bytes(6, 5000, 4), old.subarray(1000, 50_000), old.subarray(50_400, 100_000), bytes(7, 200), old.subarray(100_200), bytes(8, 30_000)]);
  fs.writeFileSync(join(basis, "edited"), old);
  fs.writeFileSync(join(src, "edited"), edited);
  // 1100 blocks with one rolling sum: block 76 is found as the 1024th candidate, block 75 is past the chain limit.
  for (const v of [76, 75]) {
    fs.writeFileSync(join(basis, `colliding-${v}`), collidingBlocks(64, 1100));
    // A block of other bytes between them keeps the windows across their edges out of the chain.
    fs.writeFileSync(join(src, `colliding-${v}`), Buffer.concat([collidingBlock(64, v), Buffer.alloc(64, 7), collidingBlock(64, 1099)]));
  }
  // Runs of identical blocks: a candidate with the sums of one that just failed is dropped from its chain.
  fs.writeFileSync(join(basis, "duplicates"), Buffer.concat([...Array(20).fill(collidingBlock(64, 1)), ...Array(3).fill(collidingBlock(64, 5))]));
  fs.writeFileSync(join(src, "duplicates"), Buffer.concat([collidingBlock(64, 2), Buffer.alloc(64, 7), collidingBlock(64, 1), Buffer.alloc(64, 7), collidingBlock(64, 2)]));
  fs.writeFileSync(join(src, "new"), bytes(9, 5000));
  ageTree(src, 1_460_000_000);
  ageTree(basis, 1_450_000_000);
  rsh = join(work, "rsh");
  writeFakeRsh(rsh);
  fs.mkdirSync(join(work, "w"));
  const modules: ModuleConfig[] = [
    { name: "src", path: src, params: { uid: "0", gid: "0" } },
    { name: "loud", path: src, params: { uid: "0", gid: "0", "max verbosity": "4" } },
    { name: "w", path: join(work, "w"), params: { "read only": "no", uid: "0", gid: "0", "max verbosity": "4" } },
  ];
  daemons.upstream = await startDaemon("upstream", modules);
  daemons.ours = await startDaemon("ours", modules);
});

afterAll(async () => {
  await daemons.upstream?.stop();
  await daemons.ours?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** A fresh destination holding the old files. */
function destination(name: string): string {
  const dest = join(work, "w", name);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.cpSync(basis, dest, { recursive: true, preserveTimestamps: true });
  return dest;
}

/** The statistics lines of a run's stdout, in order. */
const statLines = (stdout: string) => stdout.split("\n").filter((l) => /^(total: matches=|false_alarms=)/.test(l));

/** The destination now equals the source (a delta that went wrong would show here). */
function expectCopied(dest: string): void {
  for (const name of fs.readdirSync(src)) expect(Buffer.compare(fs.readFileSync(join(dest, name)), fs.readFileSync(join(src, name)))).toBe(0);
}

type Role = "local" | "pull" | "push" | "rsh-pull";
const CLIENT_AND_SERVER: Record<Role, [string, string][]> = {
  // [client, server]: ours is compared with upstream's.
  local: [["ours", "ours"], ["upstream", "upstream"]],
  pull: [["ours", "upstream"], ["ours", "ours"], ["upstream", "ours"], ["upstream", "upstream"]],
  push: [["ours", "upstream"], ["ours", "ours"], ["upstream", "upstream"]],
  "rsh-pull": [["upstream", "ours"], ["upstream", "upstream"]],
};

async function transfer(role: Role, client: string, server: string, args: string[], module = "loud"): Promise<{ lines: string[]; stderr: string; code: number }> {
  const dest = destination(`${role}-${client}-${server}`);
  const d = daemons[server as "upstream" | "ours"];
  const run = client === "ours" ? runOc : runRsync;
  let argv: string[];
  if (role === "local") argv = [...args, `${src}/`, `${dest}/`];
  else if (role === "pull") argv = [...args, d.url(module), `${dest}/`];
  else if (role === "push") argv = [...args, `${src}/`, d.url("w", `${dest.slice(join(work, "w").length + 1)}/`)];
  else argv = [...args, "-e", rsh, ...(server === "ours" ? [`--rsync-path=${OUR_SERVER}`] : []), `localhost:${src}/`, `${dest}/`];
  const r = await run(argv);
  expect(r.code).toBe(0);
  expectCopied(dest);
  return { lines: statLines(r.stdout), stderr: r.stderr, code: r.code };
}

const DELTA = ["-r", "-t", "--no-W", "-B64", "--checksum-seed=77"];
const CASES: { name: string; args: string[] }[] = [
  { name: "-vv, delta", args: [...DELTA, "-vv"] },
  { name: "-vvv, delta", args: [...DELTA, "-vvv"] },
  { name: "-vvv --inplace", args: [...DELTA, "-vvv", "--inplace"] },
  { name: "-vv, whole files", args: ["-r", "-t", "-W", "-vv"] },
  { name: "--debug=deltasum2 without -v", args: [...DELTA, "--debug=DELTASUM2"] },
];

for (const role of ["local", "pull", "push", "rsh-pull"] as Role[]) {
  describe(`match statistics: ${role}`, () => {
    for (const c of CASES) {
      // Upstream's client never forwards --debug, so a remote sender only hears -v.
      if (c.name.startsWith("--debug") && role !== "local" && role !== "push") continue;
      test(c.name, async () => {
        const pairs = CLIENT_AND_SERVER[role];
        const reference = await transfer(role, "upstream", "upstream", c.args);
        // The case shows something (with a basis, and at -vvv, a line per file).
        expect(reference.lines.length).toBeGreaterThan(0);
        expect(reference.lines.at(-1)).toMatch(/^total: matches=\d+ {2}hash_hits=\d+ {2}false_alarms=\d+ data=\d+$/);
        for (const [client, server] of pairs) {
          if (client === "upstream" && server === "upstream") continue;
          if (role === "push" && client === "upstream") continue;
          const got = await transfer(role, client, server, c.args);
          expect({ client, server, lines: got.lines }).toEqual({ client, server, lines: reference.lines });
        }
      }, 60_000);
    }
  });
}

test("the fixture exercises false alarms and the chain limit (upstream's own lines)", async () => {
  const r = await transfer("local", "upstream", "upstream", [...DELTA, "-vvv"]);
  // colliding-75, colliding-76, duplicates, edited, new: sorted, then the redo of files whose 2-byte sums collided.
  const perFile = r.lines.filter((l) => l.startsWith("false_alarms="));
  expect(perFile[0]).toBe("false_alarms=1024 hash_hits=2 matches=1");
  expect(perFile[1]).toBe("false_alarms=1023 hash_hits=2 matches=2");
  expect(perFile[2]).toBe("false_alarms=5 hash_hits=3 matches=1");
  expect(Number(/false_alarms=(\d+)/.exec(perFile[3]!)![1])).toBeGreaterThan(100);
  expect(perFile[4]).toBe("false_alarms=0 hash_hits=0 matches=0");
}, 60_000);

test("a daemon module's default max verbosity (1) keeps its sender's statistics to itself", async () => {
  for (const server of ["upstream", "ours"]) {
    for (const client of ["upstream", "ours"]) {
      const r = await transfer("pull", client, server, [...DELTA, "-vvv"], "src");
      expect({ client, server, lines: r.lines }).toEqual({ client, server, lines: [] });
    }
  }
}, 60_000);
