/**
 * A resync over a destination whose entries changed type against upstream:
 * files where directories go and back, symlinks where directories go (one
 * pointing at a directory holding the same names, whose stats must not be
 * taken for the new directory's), directories where symlinks go, unchanged
 * and changed files, missing directories, extra names, in lists long enough
 * that the generator's stats are taken ahead (roles/stat-prefetch.ts).
 * Locally, by our client pulling from upstream's daemon, and by upstream's
 * client pushing to our daemon; the trees, the itemized changes and the exit
 * codes must be upstream's.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { maskFigures, normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

let work: string;
let upstream: RunningDaemon;
let ours: RunningDaemon;

const write = (path: string, data: string) => {
  fs.mkdirSync(join(path, ".."), { recursive: true });
  fs.writeFileSync(path, data);
};

/** The source: many files at each level, and the names that change type. */
function makeSource(src: string): void {
  for (let i = 0; i < 90; i++) write(join(src, `f${String(i).padStart(2, "0")}`), `top ${i}\n`);
  for (let i = 0; i < 70; i++) write(join(src, "d2f", `x${i}`), `x ${i}\n`);
  write(join(src, "f2d"), "now a file\n");
  for (const n of ["a", "b", "c"]) write(join(src, "l2d", n), `l2d ${n}\n`);
  fs.symlinkSync("real", join(src, "d2l"));
  fs.symlinkSync("f00", join(src, "f2l"));
  write(join(src, "l2f"), "now a file\n");
  for (const n of ["a", "b", "c"]) write(join(src, "real", n), `real ${n} in the source\n`);
  for (let i = 0; i < 80; i++) write(join(src, "same", `s${i}`), `same ${i}\n`);
  write(join(src, "n1/n2/n3/deep"), "deep\n");
  fs.mkdirSync(join(src, "n1/n2/n3/d2f"));
  write(join(src, "n1/n2/n3/d2f/y"), "y\n");
  for (let i = 0; i < 20; i++) write(join(src, "newdir", `z${i}`), `z ${i}\n`);
  // The last of its list: met again as its own list's directory right after the early look that replaced it.
  for (let i = 0; i < 3; i++) write(join(src, "zz-d2f", `w${i}`), `w ${i}\n`);
}

/** The destination as it was: other types under the same names, some contents changed. */
function makeOldDest(dest: string): void {
  for (let i = 0; i < 90; i += 2) write(join(dest, `f${String(i).padStart(2, "0")}`), `top ${i}\n`);
  write(join(dest, "f01"), "changed\n");
  write(join(dest, "d2f"), "was a file\n");
  for (let i = 0; i < 30; i++) write(join(dest, "f2d", `old${i}`), "old\n");
  fs.mkdirSync(join(dest, "f2d", "sub"));
  for (const n of ["a", "b", "c"]) write(join(dest, "real", n), `real ${n} here, much longer than the source's\n`);
  // A symlink to a directory holding the names its replacement will hold.
  fs.symlinkSync("real", join(dest, "l2d"));
  for (const n of ["a", "q"]) write(join(dest, "d2l", n), "a dir\n");
  write(join(dest, "f2l"), "was a file\n");
  fs.symlinkSync("f02", join(dest, "l2f"));
  for (let i = 0; i < 80; i++) write(join(dest, "same", `s${i}`), i % 7 === 0 ? "other\n" : `same ${i}\n`);
  write(join(dest, "same", "extra"), "extra\n");
  write(join(dest, "n1/n2"), "a file where a directory goes\n");
  write(join(dest, "extra-file"), "extra\n");
  write(join(dest, "zz-d2f"), "was a file\n");
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-type-changes-"));
  makeSource(join(work, "src"));
  makeOldDest(join(work, "old"));
  ageTree(join(work, "src"), 1_500_000_000);
  ageTree(join(work, "old"), 1_400_000_000);
  fs.mkdirSync(join(work, "w"));
  const modules: ModuleConfig[] = [
    { name: "src", path: join(work, "src"), params: { uid: "0", gid: "0" } },
    { name: "w", path: join(work, "w"), params: { "read only": "no", uid: "0", gid: "0" } },
  ];
  upstream = await startDaemon("upstream", modules);
  ours = await startDaemon("ours", modules);
});

afterAll(async () => {
  await upstream.stop();
  await ours.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

type Mode = "local" | "pull" | "push to ours";

const shown = (text: string, dest: string) =>
  maskFigures(normalizeErrors(text))
    .replaceAll(dest, "DEST")
    .split("\n")
    .filter(Boolean)
    .sort();

let n = 0;
async function compare(mode: Mode, args: string[]) {
  const name = `t${n++}`;
  const inW = mode === "push to ours";
  const mine = join(work, inW ? "w" : "", `${name}-ours`);
  const theirs = join(work, inW ? "w" : "", `${name}-theirs`);
  for (const d of [mine, theirs]) expect(spawnSync("cp", ["-a", join(work, "old"), d]).status).toBe(0);
  const from = mode === "pull" ? upstream.url("src", "") : `${join(work, "src")}/`;
  // Our side is the generator: our client locally and pulling, our daemon when upstream's client pushes (to each daemon).
  const a = inW ? await runRsync([...args, from, ours.url("w", `${name}-ours/`)]) : await runOc([...args, from, `${mine}/`]);
  const b = await runRsync([...args, from, inW ? upstream.url("w", `${name}-theirs/`) : `${theirs}/`]);
  expect(shown(a.stderr, mine)).toEqual(shown(b.stderr, theirs));
  expect(a.code).toBe(b.code);
  expect(shown(a.stdout, mine)).toEqual(shown(b.stdout, theirs));
  expect(snapshot(mine, { ignoreDirTimes: true })).toEqual(snapshot(theirs, { ignoreDirTimes: true }));
}

describe("entries that changed type, as upstream", () => {
  for (const mode of ["local", "pull", "push to ours"] as const) {
    test(`-ai --delete: ${mode}`, () => compare(mode, ["-ai", "--delete"]));
    test(`-ai (no deletion): ${mode}`, () => compare(mode, ["-ai"]));
    test(`-ai --delete-after --force: ${mode}`, () => compare(mode, ["-ai", "--delete-after", "--force"]));
    test(`-ai --no-inc-recursive --delete: ${mode}`, () => compare(mode, ["-ai", "--no-inc-recursive", "--delete"]));
  }
});

// generator.c recv_generator: a directory of the list that --ignore-existing leaves as a file or symlink here fails the
// stat of each entry beneath it (exit 23), and the rest of the transfer goes on. (Ours used to end the whole run as if
// the sender had sent a bad list.)
// Upstream's touch-up of directory times then sets the directory's mtime on what stands in its place (a symlink's
// own), and under --delete its opendir of the stand-in fails: an I/O error. (Ours left both alone.)
describe("--ignore-existing over a file or symlink where the list has a directory, as upstream", () => {
  for (const [kind, extra] of [["file", []], ["symlink", []], ["file", ["--delete"]], ["symlink", ["--delete"]]] as const) {
    test(`${kind} ${extra.join(" ")}`, async () => {
      const results: Record<string, unknown> = {};
      for (const [side, runner] of [["upstream", runRsync], ["ours", runOc]] as const) {
        const root = join(work, `ignore-existing-${kind}${extra.length}-${side}`);
        fs.rmSync(root, { recursive: true, force: true });
        write(join(root, "src/b/x"), "x\n");
        write(join(root, "src/b/y"), "y\n");
        write(join(root, "src/c/z"), "z\n");
        write(join(root, "src/top"), "top\n");
        fs.mkdirSync(join(root, "elsewhere"), { recursive: true });
        fs.mkdirSync(join(root, "dst"));
        if (kind === "file") fs.writeFileSync(join(root, "dst/b"), "a file\n");
        else fs.symlinkSync("../elsewhere", join(root, "dst/b"));
        ageTree(join(root, "src"));
        fs.lutimesSync(join(root, "dst/b"), 1_400_000_000, 1_400_000_000);
        const r = await runner(["-a", "--ignore-existing", ...extra, `${root}/src/`, `${root}/dst/`]);
        const dst = snapshot(join(root, "dst"), { ignoreRoot: true, ignoreDirTimes: true });
        results[side] = {
          code: r.code,
          stderr: normalizeErrors(r.stderr).replaceAll(root, "ROOT").replace(/ at \S+\(\d+\) /, " at X "),
          dst,
          elsewhere: fs.readdirSync(join(root, "elsewhere")),
        };
      }
      expect(results.ours).toEqual(results.upstream);
      expect((results.ours as { code: number }).code).toBe(23);
    });
  }
});

// delete.c delete_item: room for a file or symlink where a non-empty directory stays (-b backs its contents up beside
// themselves, --max-delete stops) is "could not make way", a transfer error. (Ours said nothing and exited 0, or 25.)
// A dry run goes the same way: a directory in the way is emptied in words, or fails as the real run would. (Ours
// said the file and symlink would be made, and left the directory's contents unmentioned.)
describe("a directory that cannot be made way for, as upstream", () => {
  const dryRuns = [["-n"], ["-n", "--delete"], ["-n", "-b", "--delete"], ["-n", "--existing"], ["-n", "--inplace", "-b"]];
  for (const args of [["-b", "--delete"], ["-b", "--suffix=~~", "--delete"], ["--delete-after", "-b"], ["--delete", "--max-delete=2"], ...dryRuns]) {
    test(args.join(" "), async () => {
      const results: Record<string, unknown> = {};
      for (const [side, runner] of [["upstream", runRsync], ["ours", runOc]] as const) {
        const root = join(work, `make-way-${args.join("")}-${side}`);
        fs.rmSync(root, { recursive: true, force: true });
        write(join(root, "src/becomes_file"), "f\n");
        fs.mkdirSync(join(root, "src/d"));
        fs.symlinkSync("d", join(root, "src/l2d"));
        write(join(root, "dst/becomes_file/inner/i"), "i\n");
        write(join(root, "dst/l2d/q"), "q\n");
        const r = await runner(["-a", "-i", ...args, `${root}/src/`, `${root}/dst/`]);
        results[side] = {
          code: r.code,
          lines: normalizeErrors(r.stdout + r.stderr)
            .split("\n")
            .filter((l) => l && !/^(\.d|cd\+)/.test(l))
            .sort(),
          dst: Object.keys(snapshot(join(root, "dst"))).sort(),
        };
      }
      expect(results.ours).toEqual(results.upstream);
      // (A dry run with --delete would empty the directories: nothing fails.)
      if (!(args.includes("-n") && args.includes("--delete"))) expect((results.ours as { code: number }).code).toBe(23);
    });
  }
});
