/**
 * --append and --append-verify wherever our code sends or asks: a local
 * copy (with and without -W, which --append turns off), our client pushing
 * to upstream's daemon, upstream's client pulling from and pushing to ours,
 * and our client pulling from upstream's. The sender skips what the receiver
 * has (reading it only to verify), so the literal/matched totals, the output
 * and the trees must be upstream's, including a prefix that differs (verify
 * fails, and the redo rebuilds the file) and a destination already longer.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { maskFigures, normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { noise } from "../helpers/noise.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

let work: string;
const daemons: Partial<Record<"ours" | "upstream", RunningDaemon>> = {};
const FULL = Buffer.from(noise(300_000, 41));

/** The destination before each run: a prefix, a prefix with a changed byte, a longer file, nothing. */
function seed(dest: string): void {
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  fs.writeFileSync(join(dest, "grow"), FULL.subarray(0, 120_000));
  const bad = Buffer.from(FULL.subarray(0, 120_000));
  bad[5000] = bad[5000]! ^ 0xff;
  fs.writeFileSync(join(dest, "changed-prefix"), bad);
  fs.writeFileSync(join(dest, "longer"), Buffer.concat([FULL, Buffer.from("tail")]));
  ageTree(dest, 1_400_000_000);
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-append-"));
  const src = join(work, "src");
  fs.mkdirSync(src);
  for (const name of ["grow", "changed-prefix", "longer", "new"]) fs.writeFileSync(join(src, name), FULL);
  ageTree(src, 1_450_000_000);
  fs.mkdirSync(join(work, "in"));
  const modules: ModuleConfig[] = [
    { name: "src", path: src, params: { uid: "0", gid: "0" } },
    { name: "in", path: join(work, "in"), params: { uid: "0", gid: "0", "read only": "no" } },
  ];
  daemons.ours = await startDaemon("ours", modules);
  daemons.upstream = await startDaemon("upstream", modules);
});

afterAll(async () => {
  await daemons.ours?.stop();
  await daemons.upstream?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

type Role = "local" | "push to upstream" | "pull from upstream" | "upstream pulls from ours" | "upstream pushes to ours";
const ROLES: Role[] = ["local", "push to upstream", "pull from upstream", "upstream pulls from ours", "upstream pushes to ours"];

const stats = (t: string) => t.split("\n").filter((l) => /^(Literal|Matched) data/.test(l) || /^(WARNING|rsync)/.test(l) || /^[<>.ch]f/.test(l));

describe("--append sends only what the receiver lacks, as upstream", () => {
  for (const role of ROLES) {
    for (const flags of [["--append"], ["--append-verify"], ["--append-verify", "--no-W"], ["--append", "-W"]]) {
      if (role !== "local" && flags.includes("-W")) continue;
      test(`${role}: ${flags.join(" ")}`, async () => {
        const run = async (who: "ours" | "theirs") => {
          const push = role === "push to upstream" || role === "upstream pushes to ours";
          const dest = push ? join(work, "in", who) : join(work, `dest-${who}`);
          seed(dest);
          const src = `${join(work, "src")}/`;
          const refDaemon = daemons.upstream!;
          let args: string[];
          let client: typeof runOc;
          if (role === "local") [args, client] = [[src, `${dest}/`], who === "ours" ? runOc : runRsync];
          else if (role === "push to upstream") [args, client] = [[src, refDaemon.url("in", `${who}/`)], who === "ours" ? runOc : runRsync];
          else if (role === "pull from upstream") [args, client] = [[refDaemon.url("src", ""), `${dest}/`], who === "ours" ? runOc : runRsync];
          else if (role === "upstream pulls from ours") [args, client] = [[(who === "ours" ? daemons.ours! : refDaemon).url("src", ""), `${dest}/`], runRsync];
          else [args, client] = [[src, (who === "ours" ? daemons.ours! : refDaemon).url("in", `${who}/`)], runRsync];
          const r = await client(["-rti", "--stats", ...flags, ...args]);
          return { r, dest };
        };
        const a = await run("ours");
        const b = await run("theirs");
        expect(a.r.code).toBe(b.r.code);
        expect(stats(maskFigures(normalizeErrors(a.r.stdout + a.r.stderr))).sort()).toEqual(stats(maskFigures(normalizeErrors(b.r.stdout + b.r.stderr))).sort());
        expect(snapshot(a.dest, { ignoreRoot: true })).toEqual(snapshot(b.dest, { ignoreRoot: true }));
        // What was appended is the source's data.
        if (b.r.code === 0) expect(Buffer.compare(fs.readFileSync(join(a.dest, "grow")), FULL)).toBe(0);
      });
    }
  }
});
