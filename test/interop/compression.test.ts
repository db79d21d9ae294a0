/**
 * Compressed transfers (-z, --zc, --zl) in every pairing with upstream:
 * our client pulling from and pushing to upstream's daemon and upstream's
 * `--server` over a remote shell, and upstream's client doing the same with
 * ours. Each runs twice: a first copy (compressible text, incompressible
 * random bytes, a file of many payloads, an empty file), then a delta resync
 * after edits, so matched blocks sit between compressed literal data (and,
 * for zlib, enter both sides' history). The trees must equal the source and
 * the data figures must equal upstream-with-upstream's on the same edits.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";
import { noise } from "../helpers/noise.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const OUR_SERVER = `${process.execPath} ${MAIN}`;

let work: string;
let rsh: string;
const daemons: Record<Side, RunningDaemon | null> = { ours: null, upstream: null };

type Side = "ours" | "upstream";

function buildSource(root: string): void {
  fs.mkdirSync(join(root, "dir"), { recursive: true });
  fs.writeFileSync(join(root, "text"), Array.from({ length: 12_000 }, (_, i) => `line ${i} of some compressible text\n`).join(""));
  fs.writeFileSync(join(root, "random"), noise(150_000, 7));
  // Text and noise interleaved: many DEFLATED_DATA payloads, and blocks of both kinds.
  fs.writeFileSync(join(root, "dir/mixed"), Buffer.concat(Array.from({ length: 20 }, (_, i) => [noise(20_000, i + 11), Buffer.from("abc".repeat(20_000))]).flat()));
  fs.writeFileSync(join(root, "empty"), "");
  fs.writeFileSync(join(root, "dir/small"), "small\n");
  ageTree(root, 1_450_000_000);
}

/** Edits that leave most blocks in place: the resync is a delta. */
function editSource(root: string): void {
  const patch = (name: string, at: number, bytes: string) => {
    const data = fs.readFileSync(join(root, name));
    data.write(bytes, at, "latin1");
    fs.writeFileSync(join(root, name), data);
  };
  patch("text", 200_000, "EDITED");
  patch("random", 70_000, "EDITED");
  patch("dir/mixed", 401_000, "EDITED");
  fs.appendFileSync(join(root, "text"), "a new last line\n");
  ageTree(root, 1_460_000_000);
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-compress-"));
  rsh = join(work, "rsh");
  writeFakeRsh(rsh);
  const modules = [{ name: "w", path: work, params: { "read only": "no", uid: "0", gid: "0", "munge symlinks": "no" } }];
  [daemons.ours, daemons.upstream] = await Promise.all([startDaemon("ours", modules), startDaemon("upstream", modules)]);
});

afterAll(async () => {
  await Promise.all([daemons.ours?.stop(), daemons.upstream?.stop()]);
  fs.rmSync(work, { recursive: true, force: true });
});

interface Pairing {
  client: Side;
  server: Side;
  via: "daemon" | "rsh";
  direction: "pull" | "push";
}

/** `rel` under the work directory, as the given server reaches it. */
function remote(p: Pairing, rel: string): string {
  return p.via === "daemon" ? daemons[p.server]!.url("w", `${rel}/`) : `host:${join(work, rel)}/`;
}

async function transfer(p: Pairing, args: string[], src: string, dest: string) {
  const shell = p.via === "rsh" ? ["-e", rsh, ...(p.server === "ours" ? [`--rsync-path=${OUR_SERVER}`] : [])] : [];
  const [from, to] = p.direction === "pull" ? [remote(p, src), `${join(work, dest)}/`] : [`${join(work, src)}/`, remote(p, dest)];
  const run = p.client === "ours" ? runOc : runRsync;
  return run([...args, ...shell, from, to]);
}

/** The figures that depend only on the data and the delta, not on framing. */
function dataFigures(stdout: string): string[] {
  return stdout.split("\n").filter((l) => /^(Literal data|Matched data|Number of regular files transferred|Total file size):/.test(l));
}

const PAIRINGS: Pairing[] = [];
for (const direction of ["pull", "push"] as const) {
  for (const via of ["daemon", "rsh"] as const) {
    PAIRINGS.push({ client: "ours", server: "upstream", via, direction }, { client: "upstream", server: "ours", via, direction });
  }
}

/** A tree's snapshot; below protocol 31 mtimes travel in whole seconds. */
function tree(root: string, args: string[]) {
  const snap = snapshot(root, { ignoreDirTimes: true });
  if (!args.some((a) => /^--protocol=(2\d|30)$/.test(a))) return snap;
  return Object.fromEntries(Object.entries(snap).map(([k, e]) => [k, { ...e, mtimeNs: e.mtimeNs === "-" ? "-" : e.mtimeNs.slice(0, -9) }]));
}

/** Runs a first copy and a delta resync through `p` and through upstream with upstream; both must agree. */
async function compare(name: string, args: string[], p: Pairing): Promise<void> {
  const base = `${name}/${p.direction}-${p.via}-${p.client}`;
  const src = `${base}/src`;
  buildSource(join(work, src));
  for (const dest of ["ours", "theirs"]) fs.mkdirSync(join(work, base, dest), { recursive: true });
  const reference: Pairing = { ...p, client: "upstream", server: "upstream" };
  for (const round of ["copy", "delta"]) {
    if (round === "delta") editSource(join(work, src));
    const a = await transfer(p, [...args, "-a", "--stats"], src, `${base}/ours`);
    const b = await transfer(reference, [...args, "-a", "--stats"], src, `${base}/theirs`);
    expect(a.stderr).toBe("");
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(tree(join(work, base, "ours"), args)).toEqual(tree(join(work, src), args));
    expect(dataFigures(a.stdout)).toEqual(dataFigures(b.stdout));
    if (round === "delta") expect(dataFigures(a.stdout).find((l) => l.startsWith("Matched data"))).not.toBe("Matched data: 0 bytes");
  }
}

const ALGORITHMS: { name: string; args: string[] }[] = [
  { name: "-z (negotiates zstd)", args: ["-z"] },
  { name: "zlib", args: ["--zc=zlib"] },
  { name: "zlibx", args: ["--zc=zlibx"] },
  { name: "zstd", args: ["--zc=zstd"] },
  { name: "lz4", args: ["--zc=lz4"] },
];

describe("compressed transfers match upstream with upstream", () => {
  ALGORITHMS.forEach((alg, i) => {
    PAIRINGS.forEach((p) => {
      test(`${alg.name}: ${p.client} client, ${p.server} server, ${p.direction} via ${p.via}`, () => compare(`alg${i}`, alg.args, p));
    });
  });
});

const LEVELS: { name: string; args: string[] }[] = [
  { name: "zlib level 1", args: ["--zc=zlib", "--zl=1"] },
  { name: "zlib level 9", args: ["--zc=zlib", "--zl=9"] },
  { name: "zstd level -5", args: ["--zc=zstd", "--zl=-5"] },
  { name: "zstd level 19", args: ["--zc=zstd", "--zl=19"] },
  { name: "zlibx level 0 (compression off)", args: ["--zc=zlibx", "--zl=0"] },
  { name: "-z at protocol 29 (zlib, no negotiation)", args: ["-z", "--protocol=29"] },
  { name: "zlib at protocol 30 with 100 KB blocks (history in 64 KiB pieces, the first repeated)", args: ["--old-compress", "--protocol=30", "-B100000"] },
];

describe("compression levels and old protocols", () => {
  LEVELS.forEach((c, i) => {
    for (const p of [PAIRINGS[0]!, PAIRINGS[1]!]) {
      test(`${c.name}: ${p.client} client pulls from ${p.server}'s daemon`, () => compare(`level${i}`, c.args, p));
    }
  });
});

test("a module with 'dont compress = *' and one refusing compression, as upstream's daemon", async () => {
  const dir = join(work, "modules");
  buildSource(join(dir, "src"));
  const modules: ModuleConfig[] = [
    { name: "stored", path: join(dir, "src"), params: { "dont compress": "*" } },
    { name: "nocompress", path: join(dir, "src"), params: { "refuse options": "compress" } },
  ];
  const [ours, theirs] = await Promise.all([startDaemon("ours", modules), startDaemon("upstream", modules)]);
  try {
    const stored = await runRsync(["-a", "--zc=zlib", "--stats", ours.url("stored"), join(dir, "stored")]);
    expect(stored.code).toBe(0);
    // Stored blocks: nothing shrinks, so the text arrives at its full size (plus framing).
    const received = Number(/^Total bytes received: ([\d,]+)/m.exec(stored.stdout)![1]!.replaceAll(",", ""));
    expect(received).toBeGreaterThan(fs.statSync(join(dir, "src/text")).size);
    expect(snapshot(join(dir, "stored"), { ignoreDirTimes: true })).toEqual(snapshot(join(dir, "src"), { ignoreDirTimes: true }));
    for (const args of [["-z"], ["--zc=zstd"], ["--zl=3"]]) {
      const a = await runRsync(["-a", ...args, ours.url("nocompress"), join(dir, "refused-ours")]);
      const b = await runRsync(["-a", ...args, theirs.url("nocompress"), join(dir, "refused-theirs")]);
      expect(a.stderr.split("\n")[0]).toBe("rsync: The server is configured to refuse --compress (-z)");
      expect(a.stderr.split("\n")[0]).toBe(b.stderr.split("\n")[0]!);
      expect(a.code).not.toBe(0);
    }
  } finally {
    await Promise.all([ours.stop(), theirs.stop()]);
  }
});

test("an unknown --compress-choice fails before connecting, as upstream's does", async () => {
  const url = daemons.upstream!.url("w", "nowhere/");
  const a = await runOc(["-a", "--zc=brotli", url, join(work, "unknown-choice")]);
  const b = await runRsync(["-a", "--zc=brotli", url, join(work, "unknown-choice")]);
  expect(normalizeErrors(a.stderr)).toBe(normalizeErrors(b.stderr));
  expect(a.code).toBe(b.code);
});
