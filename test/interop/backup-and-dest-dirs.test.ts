/**
 * -b/--backup, --backup-dir, --suffix and --compare-dest/--copy-dest/
 * --link-dest against upstream, in every role: a local copy, our client
 * pulling from upstream's daemon, our client pushing to it (the options go
 * to upstream's receiving server), and upstream's client pushing to our
 * daemon (our receiving server). Each case runs on two identical trees,
 * one per implementation; the trees left behind (with the backups, and
 * which files share an inode with the basis dir), the output lines, the
 * errors and the exit codes must agree.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { startDaemon, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { maskFigures, normalizeErrors, runOc, runRsync, type RunResult } from "../helpers/run.ts";
import { snapshot } from "../helpers/tree.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";

const T = 1_500_000_000;
let work: string;
let upstream: RunningDaemon;
let ours: RunningDaemon;

/** The source: files that match, differ in content, size, mode or mtime from the basis dir, and the destination. */
function buildSource(src: string): void {
  const file = (rel: string, text: string, mtime = T, mode = 0o644) => {
    fs.mkdirSync(join(src, rel, ".."), { recursive: true });
    fs.writeFileSync(join(src, rel), text);
    fs.chmodSync(join(src, rel), mode);
    fs.utimesSync(join(src, rel), mtime, mtime);
  };
  file("same", "same content\n");
  file("changed", "changed and longer content\n");
  file("perm", "perm\n");
  file("newer", "newer\n", T + 100);
  file("onlysrc", "only in the source\n");
  file("d/f", "deep\n");
  file("sub/deep/x", "replaced deep file\n");
  file("hl1", "hard linked\n");
  fs.linkSync(join(src, "hl1"), join(src, "hl2"));
  fs.symlinkSync("tgt", join(src, "l"));
  fs.symlinkSync("new-target", join(src, "l2"));
  specials(src);
  for (const d of ["sub/deep", "sub", "d", "."]) fs.utimesSync(join(src, d), T, T);
  fs.lutimesSync(join(src, "l"), T, T);
  fs.lutimesSync(join(src, "l2"), T, T);
}

/** A fifo and (as root) a device, which basis dirs match by type and device numbers. */
function specials(dir: string): void {
  spawnSync("mkfifo", [join(dir, "pipe")]);
  if (process.getuid?.() === 0) spawnSync("mknod", [join(dir, "null"), "c", "1", "3"]);
  for (const name of ["pipe", "null"]) if (fs.existsSync(join(dir, name))) fs.utimesSync(join(dir, name), T, T);
}

/** A case's own tree: `prev` (the basis dir, a previous snapshot) and, when asked, an existing destination `dst`. */
function buildCase(root: string, withDest: boolean): void {
  const file = (rel: string, text: string, mtime = T, mode = 0o644) => {
    fs.mkdirSync(join(root, rel, ".."), { recursive: true });
    fs.writeFileSync(join(root, rel), text);
    fs.chmodSync(join(root, rel), mode);
    fs.utimesSync(join(root, rel), mtime, mtime);
  };
  file("prev/same", "same content\n");
  file("prev/changed", "old\n");
  file("prev/perm", "perm\n", T, 0o600);
  file("prev/newer", "newer\n");
  file("prev/d/f", "deep\n");
  file("prev/hl1", "hard linked\n");
  fs.linkSync(join(root, "prev/hl1"), join(root, "prev/hl2"));
  fs.symlinkSync("tgt", join(root, "prev/l"));
  fs.lutimesSync(join(root, "prev/l"), T, T);
  specials(join(root, "prev"));
  file("notdir", "a file where a directory is wanted\n");
  if (!withDest) return;
  file("dst/same", "same content\n");
  file("dst/changed", "the old content\n", T - 50);
  file("dst/sub/deep/x", "old deep file\n", T - 50);
  file("dst/gone", "extraneous\n");
  file("dst/gone~", "an old backup\n");
  file("dst/dirgone/inner", "in a directory that goes\n");
  fs.symlinkSync("old-target", join(root, "dst/l2"));
  fs.lutimesSync(join(root, "dst/l2"), T - 50, T - 50);
  fs.chmodSync(join(root, "dst/sub"), 0o750);
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-backup-"));
  rsh = join(work, "rsh");
  writeFakeRsh(rsh);
  buildSource(join(work, "src"));
  fs.mkdirSync(join(work, "up"));
  fs.mkdirSync(join(work, "ours"));
  const modules = (w: string): ModuleConfig[] => [
    { name: "src", path: join(work, "src"), params: { uid: "0", gid: "0" } },
    { name: "w", path: w, params: { "read only": "no", uid: "0", gid: "0" } },
  ];
  upstream = await startDaemon("upstream", modules(join(work, "up")));
  ours = await startDaemon("ours", modules(join(work, "ours")));
});

afterAll(async () => {
  await upstream.stop();
  await ours.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/**
 * local: both clients copy locally; pull: our client from upstream's daemon;
 * push: our client to upstream's daemon; served: upstream's client to our
 * daemon; shell: upstream's client to our --server over a remote shell.
 */
type Mode = "local" | "pull" | "push" | "served" | "shell";
const MODES: Mode[] = ["local", "pull", "push", "served", "shell"];
const OUR_SERVER = `${process.execPath} ${join(import.meta.dir, "../../src/main.ts")}`;
/** A remote shell that drops "-l USER" and the host and runs the rest here (as ssh's far end would). */
let rsh: string;

/** Everything a run leaves behind: the case's tree (with its backups), and which destination files are the basis dir's inodes. */
function outcome(root: string, dest: string, ignoreTimes = false) {
  const tree = snapshot(root, { ignoreDirTimes: true, ignoreRoot: true, ignoreTimes });
  const shared: string[] = [];
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(join(root, dest, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(join(root, dest, r));
      if (st.isDirectory()) walk(r);
      else {
        const basis = fs.lstatSync(join(root, "prev", r), { throwIfNoEntry: false });
        if (basis && basis.ino === st.ino) shared.push(`${r} (${st.nlink} links)`);
      }
    }
  };
  if (fs.existsSync(join(root, dest))) walk("");
  return { tree, shared };
}

const lines = (r: RunResult, root: string) =>
  maskFigures(r.stdout)
    .replaceAll(root, "ROOT")
    .replaceAll(basename(root), "CASE")
    .split("\n")
    .filter(Boolean)
    .sort();

let caseNo = 0;

/** Runs `args` (with "{dest}" for the destination) both ways and compares. */
async function compare(
  mode: Mode,
  args: string[],
  opts: { withDest?: boolean; dest?: string; emptyDest?: boolean; ignoreTimes?: boolean; sortErrors?: boolean } = {},
) {
  const id = `c${caseNo++}`;
  const dest = opts.dest ?? "dst";
  // The daemon each side talks to: upstream's for both in a push, ours against upstream's when serving.
  const daemonOf = (who: "a" | "b") => (mode === "served" && who === "a" ? ours : upstream);
  const rootOf = (who: "a" | "b") => {
    const base = mode === "push" || mode === "served" ? join(work, daemonOf(who) === ours ? "ours" : "up") : work;
    return join(base, `${id}-${who}`);
  };
  const results: { r: RunResult; root: string }[] = [];
  for (const who of ["a", "b"] as const) {
    const root = rootOf(who);
    buildCase(root, opts.withDest ?? false);
    if (opts.emptyDest) fs.mkdirSync(join(root, dest));
    const from = mode === "pull" ? upstream.url("src", "") : `${join(work, "src")}/`;
    const to =
      mode === "push" || mode === "served"
        ? daemonOf(who).url("w", `${id}-${who}/${dest}/`)
        : mode === "shell"
          ? `host:${join(root, dest)}/`
          : `${join(root, dest)}/`;
    // Our side: our client (local, pull, push), or our server (served, shell: always driven by upstream's client).
    const ourSide = who === "a";
    const shell = mode === "shell" ? ["-e", rsh, ...(ourSide ? [`--rsync-path=${OUR_SERVER}`] : [])] : [];
    const run = ourSide && mode !== "served" && mode !== "shell" ? runOc : runRsync;
    // "{case}": the case's directory as the receiving side names it absolutely (a daemon's "/" is its module).
    const caseDir = mode === "push" || mode === "served" ? `/${id}-${who}` : root;
    results.push({ r: await run([...args.map((a) => a.replace("{case}", caseDir)), ...shell, from, to]), root });
  }
  const [a, b] = results as [{ r: RunResult; root: string }, { r: RunResult; root: string }];
  const errors = (x: { r: RunResult; root: string }) => {
    const text = normalizeErrors(x.r.stderr).replaceAll(x.root, "ROOT").replaceAll(basename(x.root), "CASE");
    // The two sides' errors meet on one stderr in an order that is timing.
    return opts.sortErrors ? text.split("\n").sort().join("\n") : text;
  };
  expect(errors(a)).toBe(errors(b));
  expect(a.r.code).toBe(b.r.code);
  expect(lines(a.r, a.root)).toEqual(lines(b.r, b.root));
  expect(outcome(a.root, dest, opts.ignoreTimes)).toEqual(outcome(b.root, dest, opts.ignoreTimes));
  return { ours: a, theirs: b };
}

const backupCases: { name: string; args: string[]; nowTimes?: boolean }[] = [
  { name: "-b keeps replaced files as NAME~", args: ["-a", "-b", "-i"] },
  { name: "-b with --delete: deleted files kept, the *~ files protected", args: ["-a", "-b", "--delete", "-i", "--info=backup"] },
  { name: "--suffix", args: ["-a", "-b", "--suffix=.old", "--delete", "-i", "--info=backup"] },
  { name: "--backup-dir recreates the tree (and implies -b)", args: ["-a", "--backup-dir=../bak", "--delete", "-i", "--info=backup"] },
  { name: "--backup-dir with a suffix, deleting after", args: ["-a", "--backup-dir=../bak", "--suffix=.1", "--delete-after", "-i", "--info=backup"] },
  { name: "-b under -v", args: ["-a", "-b", "--delete", "-v"] },
  { name: "a dry run says what it would back up", args: ["-an", "-b", "--delete", "--info=backup"] },
  { name: "--delay-updates: backups as the files go into place", args: ["-a", "--delay-updates", "-b", "-i", "--info=backup"] },
  { name: "an absolute --backup-dir", args: ["-a", "--backup-dir={case}/bak", "-i", "--info=backup", "--delete"] },
  { name: "a --backup-dir that is a file ends the run", args: ["-a", "--backup-dir=../notdir", "-i"] },
  { name: "--inplace: the backup is a copy made first", args: ["-a", "--inplace", "-b", "-i", "--info=backup"] },
  { name: "--inplace with a delta: the backup is the basis", args: ["-a", "--inplace", "--no-W", "--backup-dir=bak", "-i", "--info=backup"] },
  { name: "--inplace with a delta, backups beside the files", args: ["-a", "--inplace", "--no-W", "-b", "-i", "--info=backup"] },
  // Upstream's hardened stat refuses the "../" backup path after the delta's copy: the copy keeps mode 0600 and the time of now.
  { name: "--inplace with a delta into a ../ backup dir", args: ["-a", "--inplace", "--no-W", "--backup-dir=../bak", "-i", "--info=backup"], nowTimes: true },
];

const destCases: { name: string; args: string[]; withDest?: boolean; emptyDest?: boolean; nowTimes?: boolean }[] = [
  { name: "--link-dest links the unchanged files", args: ["-a", "-i", "--link-dest=../prev"] },
  { name: "--link-dest with -ii", args: ["-a", "-ii", "--link-dest=../prev"] },
  { name: "--link-dest with -H", args: ["-aH", "-ii", "--link-dest=../prev"] },
  { name: "--link-dest with -c", args: ["-ac", "-i", "--link-dest=../prev"] },
  { name: "--link-dest into last time's snapshot, with --delete", args: ["-a", "-i", "--delete", "--link-dest=../prev"], withDest: true },
  { name: "--compare-dest leaves out what the basis has", args: ["-a", "-ii", "--compare-dest=../prev"] },
  { name: "--compare-dest with an existing destination", args: ["-a", "-i", "--compare-dest=../prev"], withDest: true },
  { name: "--copy-dest copies the unchanged files", args: ["-a", "-ii", "--copy-dest=../prev"] },
  { name: "a missing --link-dest dir is warned about, the next one used", args: ["-a", "-i", "--link-dest=../nowhere", "--link-dest=../prev"] },
  { name: "--link-dest with --info=name2", args: ["-a", "--info=name2", "--link-dest=../prev"] },
  { name: "an absolute --link-dest", args: ["-a", "-i", "--link-dest={case}/prev"] },
  { name: "a dry run of a new snapshot (no destination yet), with -H", args: ["-anH", "-ii", "--link-dest=../prev"] },
  { name: "--link-dest without --times or --perms (unchanged attributes mean less)", args: ["-rl", "-ii", "--link-dest=../prev"], nowTimes: true },
  { name: "--link-dest into an existing empty directory, without -p", args: ["-rlt", "-ii", "--link-dest=../prev"], emptyDest: true },
];

describe("backups, as upstream", () => {
  for (const mode of MODES) {
    for (const c of backupCases) test(`${c.name}: ${mode}`, () => compare(mode, c.args, { withDest: true, ignoreTimes: c.nowTimes }), 60000);
  }
});

describe("basis directories, as upstream", () => {
  for (const mode of MODES) {
    for (const c of destCases) {
      const opts = { withDest: c.withDest, dest: c.withDest ? "dst" : "new", emptyDest: c.emptyDest, ignoreTimes: c.nowTimes };
      test(`${c.name}: ${mode}`, () => compare(mode, c.args, opts), 60000);
    }
  }
});

describe("before protocol 29 (no basis type on the wire), as upstream", () => {
  // Our receiving side in both: a pulling client, and a server under upstream's client.
  for (const mode of ["pull", "shell"] as const) {
    test(`one --link-dest is tried for a missing file's basis: ${mode}`, () => compare(mode, ["-a", "-i", "--protocol=28", "--link-dest=../prev"], { dest: "new" }), 60000);
    test(`two are refused: ${mode}`, () => compare(mode, ["-a", "-i", "--protocol=28", "--link-dest=../prev", "--link-dest=../x"], { dest: "new", sortErrors: true }), 60000);
    test(`with --inplace it is refused: ${mode}`, () => compare(mode, ["-a", "-i", "--protocol=28", "--inplace", "--copy-dest=../prev"], { dest: "new", sortErrors: true }), 60000);
  }
});

test("--link-dest shares the inodes of unchanged files only (nlink counted)", async () => {
  const { ours: a } = await compare("local", ["-a", "--link-dest=../prev"], { dest: "new" });
  const ino = (p: string) => fs.lstatSync(join(a.root, p));
  expect(ino("new/same").ino).toBe(ino("prev/same").ino);
  expect(ino("new/same").nlink).toBe(2);
  expect(ino("new/d/f").ino).toBe(ino("prev/d/f").ino);
  expect(ino("new/l").ino).toBe(ino("prev/l").ino);
  // Changed content, other permissions, another mtime: never linked.
  for (const f of ["changed", "perm", "newer"]) expect(ino(`new/${f}`).ino).not.toBe(ino(`prev/${f}`).ino);
  expect(fs.readFileSync(join(a.root, "new/changed"), "utf8")).toBe("changed and longer content\n");
});

test("backups are hard links of the replaced files, deleted files are moved", async () => {
  const { ours: a } = await compare("local", ["-a", "--backup-dir=../bak", "--delete"], { withDest: true });
  expect(fs.readFileSync(join(a.root, "bak/changed"), "utf8")).toBe("the old content\n");
  expect(fs.readFileSync(join(a.root, "bak/sub/deep/x"), "utf8")).toBe("old deep file\n");
  // Each backup directory takes the mode of the destination directory it mirrors.
  expect(fs.statSync(join(a.root, "bak/sub")).mode & 0o7777).toBe(fs.statSync(join(a.root, "dst/sub")).mode & 0o7777);
  expect(fs.readFileSync(join(a.root, "bak/dirgone/inner"), "utf8")).toBe("in a directory that goes\n");
  expect(fs.readlinkSync(join(a.root, "bak/l2"))).toBe("old-target");
  expect(fs.existsSync(join(a.root, "dst/gone"))).toBe(false);
});

describe("option errors, as upstream", () => {
  const cases: string[][] = [
    ["--suffix="],
    ["-b", "--suffix=a/b"],
    ["--backup-dir=."],
    ["--backup-dir=./", "--suffix="],
    ["--link-dest=a", "--copy-dest=b"],
    ["--compare-dest=a", "--link-dest=b"],
    Array.from({ length: 21 }, (_, i) => `--link-dest=x${i}`),
  ];
  cases.forEach((args, i) => {
    test(`${args.slice(0, 2).join(" ")}${args.length > 2 ? " ..." : ""}`, async () => {
      const dest = join(work, `err${i}`);
      const a = await runOc([...args, `${join(work, "src")}/`, `${dest}-a/`]);
      const b = await runRsync([...args, `${join(work, "src")}/`, `${dest}-b/`]);
      expect(normalizeErrors(a.stderr)).toBe(normalizeErrors(b.stderr));
      expect(a.code).toBe(b.code);
      expect(fs.existsSync(`${dest}-a`)).toBe(fs.existsSync(`${dest}-b`));
    });
  });
});

test("a daemon module's rules refuse a --backup-dir or basis dir they exclude, as upstream's", async () => {
  const mods = (side: string): ModuleConfig[] => {
    fs.mkdirSync(join(work, `ruled-${side}`), { recursive: true });
    return [{ name: "r", path: join(work, `ruled-${side}`), params: { "read only": "no", uid: "0", gid: "0", exclude: "/bak/" } }];
  };
  const theirs = await startDaemon("upstream", mods("up"));
  const mine = await startDaemon("ours", mods("ours"));
  try {
    for (const args of [["--backup-dir=bak"], ["--backup-dir=./bak/"], ["--link-dest=/bak"], ["--backup-dir=bak2", "--link-dest=/bak2"]]) {
      const runs = [];
      for (const d of [mine, theirs]) runs.push(await runRsync(["-a", ...args, `${join(work, "src")}/`, d.url("r", "dest/")]));
      const [a, b] = runs as [RunResult, RunResult];
      // Whether the client also sees the connection drop is timing.
      const errors = (r: RunResult) =>
        normalizeErrors(r.stderr)
          .split("\n")
          .filter((l) => l && !l.includes("Connection reset by peer"))
          .map((l) => l.replace(join(work, "ruled-ours"), "MOD").replace(join(work, "ruled-up"), "MOD"));
      expect(errors(a)).toEqual(errors(b));
      expect(a.code).toBe(b.code);
    }
  } finally {
    await theirs.stop();
    await mine.stop();
  }
}, 60000);

test("a --backup-dir on another filesystem gets copies (symlinks and fifos made again, attributes kept, an old backup's symlink replaced, not followed), as upstream's", async () => {
  const shm = "/dev/shm";
  if (!fs.existsSync(shm) || fs.statSync(shm).dev === fs.statSync(work).dev) return;
  const outside = fs.mkdtempSync(join(shm, "oc-backup-"));
  try {
    const run = async (name: string, impl: typeof runOc) => {
      const root = join(work, `xdev-${name}`);
      const bak = join(outside, name);
      const file = (rel: string, text: string, mtime: number, mode = 0o644) => {
        fs.mkdirSync(join(root, rel, ".."), { recursive: true });
        fs.writeFileSync(join(root, rel), text);
        fs.chmodSync(join(root, rel), mode);
        fs.utimesSync(join(root, rel), mtime, mtime);
      };
      file("src/f", "new content\n", T);
      file("src/g", "new g\n", T);
      file("dst/f", "old content\n", T - 50, 0o600);
      file("dst/g", "old g\n", T - 50);
      fs.symlinkSync("new-target", join(root, "src/l"));
      fs.symlinkSync("old-target", join(root, "dst/l"));
      fs.lutimesSync(join(root, "dst/l"), T - 50, T - 50);
      // A fifo replaced by a file: made again in the backup dir.
      file("src/p", "a file now\n", T);
      spawnSync("mkfifo", ["-m", "0640", join(root, "dst/p")]);
      fs.utimesSync(join(root, "dst/p"), T - 50, T - 50);
      // An old backup of g that is a symlink to a file outside: replaced, and the file left alone.
      fs.mkdirSync(bak);
      fs.writeFileSync(join(outside, `${name}-victim`), "not to be written\n");
      fs.symlinkSync(join(outside, `${name}-victim`), join(bak, "g"));
      const r = await impl(["-a", `--backup-dir=${bak}`, "--info=backup", "--debug=backup", `${join(root, "src")}/`, `${join(root, "dst")}/`]);
      return { r, bak, victim: fs.readFileSync(join(outside, `${name}-victim`), "utf8") };
    };
    const a = await run("ours", runOc);
    const b = await run("up", runRsync);
    expect(a.r.code).toBe(0);
    expect({ code: a.r.code, out: a.r.stdout.replaceAll(a.bak, "BAK"), err: a.r.stderr }).toEqual({ code: b.r.code, out: b.r.stdout.replaceAll(b.bak, "BAK"), err: b.r.stderr });
    expect(snapshot(a.bak, { ignoreRoot: true })).toEqual(snapshot(b.bak, { ignoreRoot: true }));
    expect(fs.readFileSync(join(a.bak, "f"), "utf8")).toBe("old content\n");
    expect(fs.statSync(join(a.bak, "f")).mode & 0o777).toBe(0o600);
    expect(fs.lstatSync(join(a.bak, "g")).isFile()).toBe(true);
    expect(a.victim).toBe("not to be written\n");
  } finally {
    fs.rmSync(outside, { recursive: true, force: true });
  }
});
