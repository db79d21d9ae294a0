/**
 * --max-size/--min-size, --ignore-missing-args and -x against upstream:
 * local copies, and pulls/pushes through upstream's daemon, compared with
 * upstream's client doing the same (trees, output, exit codes).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { startDaemon, type RunningDaemon } from "../helpers/daemon.ts";
import { maskFigures, normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

let work: string;
let daemon: RunningDaemon;

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-sizes-"));
  const src = join(work, "src");
  fs.mkdirSync(join(src, "dir"), { recursive: true });
  fs.writeFileSync(join(src, "tiny"), Buffer.alloc(10, 1));
  fs.writeFileSync(join(src, "mid"), Buffer.alloc(5000, 2));
  fs.writeFileSync(join(src, "dir/big"), Buffer.alloc(300_000, 3));
  ageTree(src, 1_450_000_000);
  fs.mkdirSync(join(work, "w"));
  daemon = await startDaemon("upstream", [
    { name: "src", path: src, params: { uid: "0", gid: "0" } },
    { name: "w", path: join(work, "w"), params: { "read only": "no", uid: "0", gid: "0" } },
  ]);
});

afterAll(async () => {
  await daemon.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const sorted = (text: string, ours: string, theirs: string) =>
  maskFigures(text)
    .replaceAll(ours, "DEST")
    .replaceAll(theirs, "DEST")
    .replaceAll(basename(ours), "DEST")
    .replaceAll(basename(theirs), "DEST")
    .split("\n")
    .filter(Boolean)
    .sort();

type Mode = "local" | "pull" | "push";

async function compare(mode: Mode, args: string[], sources: string[] = ["src/"]) {
  const name = `${mode}-${args.join("_").replace(/[^\w]/g, "")}-${sources.length}`;
  const ours = join(work, mode === "push" ? "w" : "", `${name}-ours`);
  const theirs = join(work, mode === "push" ? "w" : "", `${name}-theirs`);
  const from = (s: string) => (mode === "pull" ? daemon.url("src", s.replace(/^src\/?/, "")) : join(work, s));
  const to = (dest: string) => (mode === "push" ? daemon.url("w", `${dest.slice(join(work, "w").length + 1)}/`) : `${dest}/`);
  const a = await runOc([...args, ...sources.map(from), to(ours)]);
  const b = await runRsync([...args, ...sources.map(from), to(theirs)]);
  expect(normalizeErrors(a.stderr).replaceAll(ours, "DEST")).toBe(normalizeErrors(b.stderr).replaceAll(theirs, "DEST"));
  expect(a.code).toBe(b.code);
  expect(sorted(a.stdout, ours, theirs)).toEqual(sorted(b.stdout, ours, theirs));
  if (fs.existsSync(theirs)) expect(snapshot(ours, { ignoreDirTimes: true })).toEqual(snapshot(theirs, { ignoreDirTimes: true }));
}

describe("size limits and missing arguments, as upstream", () => {
  for (const mode of ["local", "pull", "push"] as const) {
    test(`--max-size: ${mode}`, () => compare(mode, ["-ai", "--max-size=4k"]));
    test(`--min-size with a unit: ${mode}`, () => compare(mode, ["-ai", "--min-size=1K"]));
    test(`both, and --info=skip says what was skipped: ${mode}`, () => compare(mode, ["-ai", "--info=skip", "--max-size=100k", "--min-size=200"]));
    test(`--ignore-missing-args: ${mode}`, () => compare(mode, ["-ai", "--ignore-missing-args"], ["src/no-such-file", "src/tiny"]));
    test(`a missing argument without it: ${mode}`, () => compare(mode, ["-ai"], ["src/no-such-file", "src/tiny"]));
  }
});

test("-x stays on the source's filesystem, -xx leaves mount points out", async () => {
  const src = join(work, "xsrc");
  fs.mkdirSync(join(src, "mnt"), { recursive: true });
  fs.writeFileSync(join(src, "a"), "a\n");
  // Needs root to mount a filesystem inside the source; without it there is nothing to cross.
  if (spawnSync("mount", ["-t", "tmpfs", "none", join(src, "mnt")]).status !== 0) return;
  try {
    fs.writeFileSync(join(src, "mnt/inside"), "in\n");
    for (const args of [["-ai"], ["-aix"], ["-aixx"]]) {
      const ours = join(work, `x-${args[0]}-ours`);
      const theirs = join(work, `x-${args[0]}-theirs`);
      const a = await runOc([...args, `${src}/`, `${ours}/`]);
      const b = await runRsync([...args, `${src}/`, `${theirs}/`]);
      expect(a.code).toBe(b.code);
      expect(snapshot(ours, { ignoreTimes: true })).toEqual(snapshot(theirs, { ignoreTimes: true }));
    }
  } finally {
    spawnSync("umount", [join(src, "mnt")]);
  }
});

describe("--mkpath, and a single file under another name, as upstream", () => {
  const cases: { name: string; args: string[]; source: string; dest: string }[] = [
    { name: "a directory into a missing path", args: ["-ai", "--mkpath"], source: "src/", dest: "a/b/" },
    { name: "a file into a missing directory", args: ["-ai", "--mkpath"], source: "src/tiny", dest: "c/d/" },
    { name: "a file to a new name in a missing directory", args: ["-ai", "--mkpath"], source: "src/mid", dest: "e/f/renamed" },
    { name: "a file to a new name (item line names the source)", args: ["-ai"], source: "src/mid", dest: "renamed" },
  ];
  for (const mode of ["local", "push"] as const) {
    cases.forEach((c, i) => {
      test(`${c.name}: ${mode}`, async () => {
        const base = mode === "push" ? join(work, "w") : work;
        const ours = join(base, `mk${i}-${mode}-ours`);
        const theirs = join(base, `mk${i}-${mode}-theirs`);
        fs.mkdirSync(ours);
        fs.mkdirSync(theirs);
        const to = (root: string) => (mode === "push" ? daemon.url("w", `${basename(root)}/${c.dest}`) : join(root, c.dest));
        const a = await runOc([...c.args, join(work, c.source), to(ours)]);
        const b = await runRsync([...c.args, join(work, c.source), to(theirs)]);
        expect(a.code).toBe(b.code);
        expect(sorted(a.stdout, ours, theirs)).toEqual(sorted(b.stdout, ours, theirs));
        expect(snapshot(ours, { ignoreDirTimes: true })).toEqual(snapshot(theirs, { ignoreDirTimes: true }));
      });
    });
  }
});
