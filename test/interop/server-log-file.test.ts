/**
 * A --server's own --log-file, given to it by the client's -M/--remote-option
 * (the client never forwards its own --log-file): the server logs what
 * upstream's server logs in the same transfer ("building file list" or
 * "receiving file list", its messages, a line per item in the log format,
 * deletions, and the totals at the end). Upstream's client drives upstream's
 * server and ours over a fake remote shell, pulling and pushing, and the two
 * logs must have the same lines once timestamps, pids and the byte counts
 * (which depend on framing) are masked; our client with -M drives ours too.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOc, runRsync } from "../helpers/run.ts";
import { ageTree } from "../helpers/tree.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const OUR_SERVER = `${process.execPath} ${MAIN}`;

let work: string;
let rsh: string;

beforeAll(() => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-server-log-"));
  rsh = join(work, "rsh");
  writeFakeRsh(rsh);
  const src = join(work, "src");
  fs.mkdirSync(join(src, "d"), { recursive: true });
  fs.mkdirSync(join(src, "empty"));
  fs.writeFileSync(join(src, "a"), "hi\n");
  fs.writeFileSync(join(src, "d/b"), "yo\n");
  fs.writeFileSync(join(src, "name with\ttab"), "t\n");
  const big = Buffer.alloc(100_000).map((_, i) => (i * 7919) >>> 5);
  fs.writeFileSync(join(src, "big"), Buffer.concat([big, Buffer.from("x\n")]));
  fs.linkSync(join(src, "a"), join(src, "hl"));
  fs.symlinkSync("a", join(src, "ln"));
  ageTree(src, 1_460_000_000);
  // The old side: a stale copy of big (a delta), an older d/b, and extraneous files for --delete.
  const base = join(work, "base");
  fs.mkdirSync(join(base, "d"), { recursive: true });
  fs.mkdirSync(join(base, "gone"));
  fs.writeFileSync(join(base, "big"), big);
  fs.writeFileSync(join(base, "d/b"), "old\n");
  fs.writeFileSync(join(base, "stale"), "s\n");
  fs.writeFileSync(join(base, "gone/f"), "g\n");
  ageTree(base, 1_450_000_000);
});

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

/** The log's lines without timestamp and pid, paths made neutral, byte counts masked (framing differs). */
function logLines(file: string, dest: string): string[] {
  if (!fs.existsSync(file)) return ["(no log)"];
  return fs
    .readFileSync(file, "latin1")
    .split("\n")
    .filter(Boolean)
    .map((l) =>
      l
        .replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[\d+\] /, "")
        .replace(/^sent \d+ bytes {2}received \d+ bytes/, "sent N bytes  received N bytes")
        .replaceAll(dest, "DEST"),
    );
}

type Pair = { client: "upstream" | "ours"; server: "upstream" | "ours" };

async function transfer(direction: "pull" | "push", { client, server }: Pair, args: string[], source = "src/") {
  const name = `${direction}-${client}-${server}`;
  const dest = join(work, name);
  const log = join(work, `${name}.log`);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.rmSync(log, { force: true });
  fs.cpSync(join(work, "base"), dest, { recursive: true, preserveTimestamps: true });
  const from = direction === "pull" ? `localhost:${join(work, source)}` : join(work, source);
  const to = direction === "pull" ? `${dest}/` : `localhost:${dest}/`;
  const serverPath = server === "ours" ? [`--rsync-path=${OUR_SERVER}`] : [];
  const run = client === "ours" ? runOc : runRsync;
  const r = await run([...args, "-e", rsh, ...serverPath, `-M--log-file=${log}`, from, to]);
  return { code: r.code, lines: logLines(log, dest) };
}

const CASES: { name: string; args: string[]; source?: string }[] = [
  { name: "-a", args: ["-a"] },
  { name: "-av --delete", args: ["-av", "--delete"] },
  { name: "-ai -H --no-W --delete (a delta, a hard link)", args: ["-ai", "-H", "--no-W", "--delete"] },
  { name: "-aii (unchanged items too)", args: ["-aii"] },
  { name: "-avv (the server's messages)", args: ["-avv", "--no-W"] },
  { name: "a dry run logs no items", args: ["-a", "--delete", "-n"] },
  { name: "--log-file-format with %o %l %b", args: ["-a", "--delete", "-M--log-file-format=%o %n %l %b"] },
  { name: "--log-file-format without %o or %i: deletions as 'deleting'", args: ["-a", "--delete", "-M--log-file-format=%n %b"] },
  { name: "--max-delete=0", args: ["-a", "--delete", "--max-delete=0"] },
  { name: "a missing source (an error, code 23)", args: ["-a"], source: "src/nothing-here" },
];

for (const direction of ["pull", "push"] as const) {
  describe(`a --server's --log-file: ${direction}`, () => {
    for (const c of CASES) {
      test(c.name, async () => {
        const reference = await transfer(direction, { client: "upstream", server: "upstream" }, c.args, c.source);
        // Upstream's server wrote something, ending with its totals (a receiver's only after a clean run).
        expect(reference.lines[0]).toBe(direction === "pull" ? "building file list" : "receiving file list");
        for (const pair of [
          { client: "upstream", server: "ours" },
          { client: "ours", server: "ours" },
        ] as Pair[]) {
          const got = await transfer(direction, pair, c.args, c.source);
          // A receiving server's deletions (its generator) and items (its receiver) interleave as the load has it,
          // in upstream's two processes as in ours: between the first and the last line, a push's lines are compared sorted.
          const shown = (lines: string[]) => (direction === "push" ? [lines[0], ...lines.slice(1, -1).sort(), lines.at(-1)] : lines);
          expect({ ...pair, code: got.code, lines: shown(got.lines) }).toEqual({ ...pair, code: reference.code, lines: shown(reference.lines) });
        }
      }, 60_000);
    }
  });
}

test("without -M the server writes no log: the client's --log-file is the client's alone", async () => {
  const log = join(work, "own.log");
  const dest = join(work, "own-dest");
  fs.rmSync(dest, { recursive: true, force: true });
  const r = await runOc(["-a", "-e", rsh, `--rsync-path=${OUR_SERVER}`, `--log-file=${log}`, `${join(work, "src")}/`, `localhost:${dest}/`]);
  expect(r.code).toBe(0);
  const lines = logLines(log, dest);
  // The pushing client's own lines; a receiving server's would start with "receiving file list".
  expect(lines[0]).toBe("building file list");
  expect(lines).not.toContain("receiving file list");
  expect(lines.filter((l) => l.startsWith("sent N bytes")).length).toBe(1);
}, 60_000);

test("a log file the server cannot open is reported on its stderr and skipped, as upstream's server does", async () => {
  const got: Record<string, { code: number; stderr: string }> = {};
  for (const server of ["upstream", "ours"]) {
    const dest = join(work, `unopened-${server}`);
    fs.rmSync(dest, { recursive: true, force: true });
    const serverPath = server === "ours" ? [`--rsync-path=${OUR_SERVER}`] : [];
    const r = await runRsync(["-a", "-e", rsh, ...serverPath, `-M--log-file=${join(work, "no-such-dir", "x.log")}`, `${join(work, "src")}/`, `localhost:${dest}/`]);
    got[server] = { code: r.code, stderr: r.stderr };
  }
  expect(got.upstream!.stderr).toContain("failed to open log-file");
  expect(got.ours).toEqual(got.upstream!);
}, 60_000);
