/**
 * Local copies (`oc-rsync -a SRC DEST`) against upstream's local copy of the
 * same tree: the trees must be identical and the itemized output the same,
 * for a first copy, a resync after edits, deletions, every protocol and the
 * argument forms (`src` vs `src/`).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { maskFigures, normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

let work: string;
const src = () => join(work, "src");

function buildSource(): void {
  const root = src();
  fs.mkdirSync(join(root, "dir/deeper/deepest"), { recursive: true });
  fs.mkdirSync(join(root, "empty-dir"));
  fs.writeFileSync(join(root, "small"), "hello\n");
  fs.writeFileSync(join(root, "empty"), "");
  fs.writeFileSync(join(root, "big"), Buffer.alloc(300_000, 3));
  fs.writeFileSync(join(root, "dir/a"), "a\n");
  fs.writeFileSync(join(root, "dir/deeper/b"), "b\n");
  fs.writeFileSync(join(root, "dir/deeper/deepest/c"), "c\n");
  fs.chmodSync(join(root, "dir/a"), 0o600);
  fs.symlinkSync("small", join(root, "link"));
  fs.symlinkSync("../small", join(root, "dir/uplink"));
  fs.linkSync(join(root, "small"), join(root, "hard"));
  for (let i = 0; i < 40; i++) fs.writeFileSync(join(root, "dir", `f${String(i).padStart(2, "0")}`), `file ${i}\n`);
  ageTree(root, 1_450_000_000);
}

beforeAll(() => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-local-"));
  buildSource();
});

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

const sorted = (text: string) => text.split("\n").sort().join("\n");

interface LocalCase {
  name: string;
  args: string[];
  /** The source argument (default "src/"). */
  source?: string;
  /** Run twice, editing the source (and each dest) in between. */
  edit?: { source?: (root: string) => void; dest?: (dest: string) => void };
  unordered?: boolean;
}

const CASES: LocalCase[] = [
  { name: "-a, contents of src/", args: ["-ai"] },
  { name: "-a, src itself", args: ["-ai"], source: "src" },
  { name: "-aH keeps hard links", args: ["-aiH"] },
  // Upstream's "skipping non-regular file" lines come from its other process: their place is timing.
  { name: "-r without times or links", args: ["-ri"], unordered: true },
  ...[27, 28, 29, 30, 31].map((p) => ({ name: `-aH at protocol ${p}`, args: ["-aiH", `--protocol=${p}`] })),
  {
    name: "a resync after edits, with --delete",
    args: ["-ai", "--delete"],
    unordered: true,
    edit: {
      source: (root) => {
        fs.writeFileSync(join(root, "small"), "changed!\n");
        fs.rmSync(join(root, "dir/deeper"), { recursive: true });
        fs.writeFileSync(join(root, "new-file"), "new\n");
        ageTree(root, 1_460_000_000);
      },
      dest: (d) => fs.writeFileSync(join(d, "stray"), "not in the source\n"),
    },
  },
  { name: "-v --stats on a first copy", args: ["-av", "--stats"] },
  {
    name: "a delta resync (--no-whole-file): literal and matched data as upstream's",
    args: ["-ai", "--no-whole-file", "--stats"],
    edit: {
      source: (root) => {
        // Insertions, a deletion and an overwrite inside the big file, so blocks move.
        const big = fs.readFileSync(join(root, "big"));
        const edited = Buffer.concat([big.subarray(0, 5000), Buffer.from("inserted!"), big.subarray(5000, 100_000), big.subarray(120_000), Buffer.from("appended")]);
        edited.fill(7, 200_000, 200_100);
        fs.writeFileSync(join(root, "big"), edited);
        fs.writeFileSync(join(root, "small"), "changed!\n");
        ageTree(root, 1_460_000_000);
      },
    },
  },
];


describe("local copy matches upstream's local copy", () => {
  CASES.forEach((c, i) => {
    test(c.name, async () => {
      const ours = join(work, `ours-${i}`);
      const theirs = join(work, `theirs-${i}`);
      const source = join(work, c.source ?? "src/");
      const copy = async () => {
        const a = await runOc([...c.args, source, `${ours}/`]);
        const b = await runRsync([...c.args, source, `${theirs}/`]);
        expect(a.stderr).toBe(b.stderr);
        expect(a.code).toBe(b.code);
        const show = (t: string) => (c.unordered ? sorted(maskFigures(t)) : maskFigures(t));
        expect(show(a.stdout.replaceAll(ours, "DEST"))).toBe(show(b.stdout.replaceAll(theirs, "DEST")));
        // Copying "src" itself creates DEST now, in both runs: only what is inside must agree.
        const opts = { ignoreRoot: c.source === "src", ignoreTimes: !c.args.some((a) => /^-[^-]*[at]/.test(a)) };
        expect(snapshot(ours, opts)).toEqual(snapshot(theirs, opts));
      };
      await copy();
      if (c.edit) {
        const backup = join(work, `src-backup-${i}`);
        fs.cpSync(src(), backup, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
        c.edit.source?.(src());
        c.edit.dest?.(ours);
        c.edit.dest?.(theirs);
        try {
          await copy();
        } finally {
          fs.rmSync(src(), { recursive: true, force: true });
          fs.renameSync(backup, src());
          ageTree(src(), 1_450_000_000);
        }
      }
      expect(fs.readFileSync(join(ours, c.source === "src" ? "src/small" : "small"), "utf8")).toBeTruthy();
    });
  });
});

test("a source that does not exist: the error, exit 23, and no hang", async () => {
  const missing = join(work, "no-such-source");
  const a = await runOc(["-a", missing, join(work, "missing-ours/")]);
  const b = await runRsync(["-a", missing, join(work, "missing-theirs/")]);
  expect(a.code).toBe(23);
  expect(a.code).toBe(b.code);
  expect(a.stderr.split("\n")[0]).toBe(b.stderr.split("\n")[0]!);
});

test("a relative source that does not exist is named under the current directory, as upstream's full_fname does", async () => {
  for (const arg of ["no-such-source", "src/../no-such-source", "./src/nope/"]) {
    const a = await runOc(["-a", arg, join(work, "missing-rel-ours/")], { cwd: work });
    const b = await runRsync(["-a", arg, join(work, "missing-rel-theirs/")], { cwd: work });
    expect(a.code).toBe(b.code);
    expect(a.stderr.split("\n")[0]).toBe(b.stderr.split("\n")[0]!);
  }
});

describe("a local listing matches upstream's", () => {
  const LISTINGS: string[][] = [
    ["src"],
    ["src/"],
    ["-r", "src/"],
    ["src/dir/a"],
    ["--no-dirs", "src"],
    ["-i", "src/"],
    ["-r", "--exclude=deeper", "src/dir"],
    // --list-only with a destination lists and leaves the destination alone.
    ["--list-only", "src/", "listed-dest"],
    ["src/missing"],
  ];
  LISTINGS.forEach((args) => {
    test(args.join(" "), async () => {
      const a = await runOc(args, { cwd: work });
      const b = await runRsync(args, { cwd: work });
      expect(a.stdout).toBe(b.stdout);
      if (b.code === 0) expect(a.stdout.length).toBeGreaterThan(0);
      expect(a.stderr.split("\n")[0]).toBe(b.stderr.split("\n")[0]!);
      expect(a.code).toBe(b.code);
      expect(fs.existsSync(join(work, "listed-dest"))).toBe(false);
    });
  });
});

test("options without any path print the help and fail, as upstream", async () => {
  const a = await runOc(["-av"]);
  const b = await runRsync(["-av"]);
  expect(a.code).toBe(1);
  expect(a.code).toBe(b.code);
  expect(a.stdout).toBe(b.stdout);
  expect(a.stderr).toContain("Usage: oc-rsync [OPTION]... SRC");
  const lastLine = (t: string) => normalizeErrors(t).trimEnd().split("\n").pop();
  expect(lastLine(a.stderr)).toBe(lastLine(b.stderr));
});

describe("-R with an absolute source recreates its whole path, as upstream", () => {
  [["-aiR"], ["-aiR", "--no-i-r"]].forEach((flags, i) => {
    test(flags.join(" "), async () => {
      const source = join(work, "src/dir/deeper");
      const ours = join(work, `abs-${i}-ours`);
      const theirs = join(work, `abs-${i}-theirs`);
      const a = await runOc([...flags, source, `${ours}/`]);
      const b = await runRsync([...flags, source, `${theirs}/`]);
      expect(a.stderr).toBe(b.stderr);
      expect(a.code).toBe(b.code);
      // Upstream names the entries as sent, leading slash and all ("cd+++++++++ /tmp/").
      expect(sorted(a.stdout.replaceAll(ours, "DEST"))).toBe(sorted(b.stdout.replaceAll(theirs, "DEST")));
      expect(snapshot(join(ours, source))).toEqual(snapshot(join(theirs, source)));
      expect(fs.readFileSync(join(ours, source, "b"), "utf8")).toBe("b\n");
    });
  });
});

test("a relative destination that cannot be made is named under the current directory, as upstream", async () => {
  const a = await runOc(["-a", "src/", "no/such/parent/"], { cwd: work });
  const b = await runRsync(["-a", "src/", "no/such/parent/"], { cwd: work });
  expect(a.code).toBe(11);
  expect(a.code).toBe(b.code);
  expect(a.stderr.split("\n")[0]).toBe(b.stderr.split("\n")[0]!);
});

// main.c get_local_name: a single file is written from within DEST's directory, which must be there (change_dir#3,
// exit 3); with a relative DEST the messages name it from the working directory. (Ours went on to a failed write, 23.)
describe("a single file's destination directory that is not there, as upstream", () => {
  for (const [name, dest] of [
    ["missing parents", "missing/x/y/newname"],
    ["missing parents, dry run", "-n missing/x/y/newname"],
    ["a dangling symlink as the directory", "dangling/newname"],
    ["a file as the directory", "plainfile/newname"],
  ] as const) {
    test(name, async () => {
      const root = join(work, "solo-parent");
      fs.rmSync(root, { recursive: true, force: true });
      fs.mkdirSync(root);
      fs.writeFileSync(join(root, "r"), "r\n");
      fs.writeFileSync(join(root, "plainfile"), "p\n");
      fs.symlinkSync("/nonexistent-target", join(root, "dangling"));
      const args = ["-a", ...dest.split(" ").slice(0, -1), "r", dest.split(" ").at(-1)!];
      const [up, ours] = [await runRsync(args, { cwd: root }), await runOc(args, { cwd: root })];
      expect(up.code).toBe(3);
      expect({ code: ours.code, stderr: normalizeErrors(ours.stderr) }).toEqual({ code: up.code, stderr: normalizeErrors(up.stderr) });
      expect(fs.readdirSync(root).sort()).toEqual(["dangling", "plainfile", "r"]);
    });
  }
});

// main.c do_server_recv: a local copy's receiving half settles DEST even when the list is empty (no -r or -d: "."
// is skipped), so a missing destination directory is made and said. (Ours returned before making it.)
describe("an empty list still makes the destination directory, as upstream", () => {
  for (const args of [["-i", "-lptgoD"], ["-lptgoD"], ["-n", "-i", "-lptgoD"], ["-i", "--debug=chdir", "-lptgoD"]]) {
    test(args.join(" "), async () => {
      const root = join(work, "empty-list");
      const seen: Record<string, unknown> = {};
      for (const [side, runner] of [["upstream", runRsync], ["ours", runOc]] as const) {
        fs.rmSync(root, { recursive: true, force: true });
        fs.mkdirSync(join(root, "src"), { recursive: true });
        fs.writeFileSync(join(root, "src/f"), "f\n");
        const r = await runner([...args, "src/", "dst/"], { cwd: root });
        seen[side] = { code: r.code, stdout: r.stdout, stderr: normalizeErrors(r.stderr), made: fs.existsSync(join(root, "dst")) };
      }
      expect(seen.ours).toEqual(seen.upstream);
    });
  }
});

// A local copy's progress is its sending half's (match.c matched: after each piece sent), so the first line of a
// file already counts its first piece; a pull's comes from the receiver, before each piece. (Ours began each file
// of a local copy with a "0 0%" line.)
describe("a local copy's progress lines, as upstream's", () => {
  for (const args of [["--progress"], ["--info=progress2"], ["--progress", "--no-W"], ["--info=progress2", "-n"]]) {
    test(args.join(" "), async () => {
      const root = join(work, "progress");
      fs.rmSync(root, { recursive: true, force: true });
      fs.mkdirSync(join(root, "src"), { recursive: true });
      fs.writeFileSync(join(root, "src/big"), Buffer.alloc(3_000_000, 7));
      fs.writeFileSync(join(root, "src/small"), "hi\n");
      // (The rate is padded to its width: the spaces before it go with it.)
      const shown = (text: string) => text.replace(/ +[\d.]+[kMGT]?B\/s/g, " RATE").replace(/\d+:\d\d:\d\d/g, "TIME");
      const seen: string[] = [];
      for (const runner of [runRsync, runOc]) {
        fs.rmSync(join(root, "dst"), { recursive: true, force: true });
        const r = await runner(["-a", ...args, "src/", "dst/"], { cwd: root });
        expect(r.code).toBe(0);
        seen.push(shown(r.stdout));
      }
      expect(seen[1]).toBe(seen[0]!);
    });
  }
});

test("-v --copy-unsafe-links says which symlinks it copies as their referents", async () => {
  const base = join(work, "unsafe");
  fs.mkdirSync(join(base, "outside"), { recursive: true });
  fs.mkdirSync(join(base, "tree/sub"), { recursive: true });
  fs.writeFileSync(join(base, "outside/f"), "outside\n");
  fs.symlinkSync("../outside/f", join(base, "tree/unsafe"));
  fs.symlinkSync("../../outside", join(base, "tree/sub/unsafe-dir"));
  fs.symlinkSync("sub", join(base, "tree/safe"));
  const a = await runOc(["-av", "--copy-unsafe-links", `${base}/tree/`, `${base}/ours/`]);
  const b = await runRsync(["-av", "--copy-unsafe-links", `${base}/tree/`, `${base}/theirs/`]);
  expect(a.code).toBe(b.code);
  expect(a.stderr).toBe(b.stderr);
  // The sender says it as it lists; where that falls among the receiving half's lines is timing.
  const lines = (t: string, dest: string) => sorted(maskFigures(t.replaceAll(dest, "DEST")));
  expect(lines(a.stdout, `${base}/ours`)).toBe(lines(b.stdout, `${base}/theirs`));
  expect(b.stdout).toContain('copying unsafe symlink "sub/unsafe-dir" -> "../../outside"');
  expect(fs.readFileSync(join(base, "ours/sub/unsafe-dir/f"), "utf8")).toBe("outside\n");
});
