/**
 * -H links hard-linked symlinks, devices and fifos too (protocol 28+: the
 * sender lists every non-directory with more than one link in a group),
 * itemized "hL/hD/hS+++++++++ second => first". Compared with upstream in
 * every role: a local copy, our client pulling from and pushing to upstream's
 * daemon, upstream's client against our daemon and against our --server over
 * a remote shell (protocols 32, 30, 29 and 28); on a fresh destination, a
 * dry run, an up-to-date rerun and a destination whose entries are something
 * else. (Protocol 27 and older link regular files only, in both.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBothDaemons, stopDaemons, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { runOc, runRsync, sortedLines, type RunResult } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const OUR_SERVER = `${process.execPath} ${MAIN}`;
const PROTOCOLS = [32, 30, 29, 28];

let work: string;
let rsh: string;
let upstream: RunningDaemon;
let ours: RunningDaemon;
const src = () => join(work, "src");
const pushRoot = () => join(work, "push");

/** Groups of each kind, one of them spread over two directories (separate lists under incremental recursion). */
function buildSource(root: string): void {
  fs.mkdirSync(join(root, "sub"), { recursive: true });
  fs.writeFileSync(join(root, "f1"), "data\n");
  fs.linkSync(join(root, "f1"), join(root, "f2"));
  fs.symlinkSync("target", join(root, "s1"));
  fs.linkSync(join(root, "s1"), join(root, "s2"));
  fs.linkSync(join(root, "s1"), join(root, "sub/s3"));
  fs.symlinkSync("solo-target", join(root, "solo-link"));
  mknod(join(root, "p1"), "p");
  fs.linkSync(join(root, "p1"), join(root, "p2"));
  mknod(join(root, "c1"), "c", 1, 3);
  fs.linkSync(join(root, "c1"), join(root, "sub/c2"));
  ageTree(root, 1_450_000_000);
}

function mknod(path: string, type: "p" | "c", major = 0, minor = 0): void {
  const r = Bun.spawnSync(type === "p" ? ["mkfifo", path] : ["mknod", path, type, String(major), String(minor)]);
  if (r.exitCode !== 0) throw new Error(`mknod ${path}: ${r.stderr.toString()}`);
}

/** Which entries share an inode: each linked path with the lowest path of its group. */
function linkGroups(root: string): Record<string, string> {
  const byInode = new Map<string, string[]>();
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(join(root, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(join(root, path), { bigint: true });
      if (st.isDirectory()) walk(path);
      else if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        byInode.set(key, [...(byInode.get(key) ?? []), path]);
      }
    }
  };
  walk("");
  const out: Record<string, string> = {};
  for (const paths of byInode.values()) for (const p of paths) out[p] = paths.sort()[0]!;
  return out;
}

const LINKED = { f1: "f1", f2: "f1", s1: "s1", s2: "s1", "sub/s3": "s1", p1: "p1", p2: "p1", c1: "c1", "sub/c2": "c1" };

function expectSame(a: RunResult, b: RunResult, oursDest: string, theirsDest: string): void {
  expect(a.code).toBe(b.code);
  expect(sortedLines(a.stderr, [oursDest, theirsDest])).toEqual(sortedLines(b.stderr, [oursDest, theirsDest]));
  expect(sortedLines(a.stdout, [oursDest, theirsDest])).toEqual(sortedLines(b.stdout, [oursDest, theirsDest]));
  // (A dry run into a missing destination leaves none.)
  expect(fs.existsSync(oursDest)).toBe(fs.existsSync(theirsDest));
  if (!fs.existsSync(theirsDest)) return;
  expect(snapshot(oursDest, { ignoreDirTimes: true })).toEqual(snapshot(theirsDest, { ignoreDirTimes: true }));
  expect(linkGroups(oursDest)).toEqual(linkGroups(theirsDest));
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-hlink-special-"));
  rsh = join(work, "rsh");
  writeFakeRsh(rsh);
  buildSource(src());
  fs.mkdirSync(pushRoot());
  const modules: ModuleConfig[] = [
    { name: "src", path: src(), params: { uid: "0", gid: "0" } },
    { name: "push", path: pushRoot(), params: { uid: "0", gid: "0", "read only": "no" } },
  ];
  ({ upstream, ours } = await startBothDaemons(modules));
});

afterAll(async () => {
  await stopDaemons(upstream, ours);
  fs.rmSync(work, { recursive: true, force: true });
});

test("upstream itself links every group (the reference this file compares with)", async () => {
  const dest = join(work, "reference");
  const r = await runRsync(["-aHi", `${src()}/`, `${dest}/`]);
  expect(r.code).toBe(0);
  expect(linkGroups(dest)).toEqual(LINKED);
  expect(r.stdout).toContain("hL+++++++++ s2 => s1\n");
  expect(r.stdout).toContain("hS+++++++++ p2 => p1\n");
  expect(r.stdout).toContain("hD+++++++++ sub/c2 => c1\n");
});

/** A role: how to run a transfer of src/ into `dest` with `args`, for our side and upstream's. */
interface Role {
  name: string;
  ours(args: string[], dest: string): Promise<RunResult>;
  theirs(args: string[], dest: string): Promise<RunResult>;
}

/** A push to a daemon lands in the writable module, in the directory named by `dest`'s last component. */
const pushDir = (name: string) => join(pushRoot(), name);
const baseName = (dest: string) => dest.slice(dest.lastIndexOf("/") + 1);

const ROLES: Role[] = [
  {
    name: "local copy",
    ours: (args, dest) => runOc([...args, `${src()}/`, `${dest}/`]),
    theirs: (args, dest) => runRsync([...args, `${src()}/`, `${dest}/`]),
  },
  {
    name: "our client pulling from upstream's daemon",
    ours: (args, dest) => runOc([...args, upstream.url("src"), `${dest}/`]),
    theirs: (args, dest) => runRsync([...args, upstream.url("src"), `${dest}/`]),
  },
  {
    name: "our client pushing to upstream's daemon",
    ours: (args, dest) => runOc([...args, `${src()}/`, upstream.url("push", `${baseName(dest)}/`)]),
    theirs: (args, dest) => runRsync([...args, `${src()}/`, upstream.url("push", `${baseName(dest)}/`)]),
  },
  {
    name: "upstream's client pulling from our daemon",
    ours: (args, dest) => runRsync([...args, ours.url("src"), `${dest}/`]),
    theirs: (args, dest) => runRsync([...args, upstream.url("src"), `${dest}/`]),
  },
  {
    name: "upstream's client pushing to our daemon",
    ours: (args, dest) => runRsync([...args, `${src()}/`, ours.url("push", `${baseName(dest)}/`)]),
    theirs: (args, dest) => runRsync([...args, `${src()}/`, upstream.url("push", `${baseName(dest)}/`)]),
  },
  {
    name: "upstream's client pulling from our --server",
    ours: (args, dest) => runRsync([...args, "-e", rsh, `--rsync-path=${OUR_SERVER}`, `host:${src()}/`, `${dest}/`]),
    theirs: (args, dest) => runRsync([...args, "-e", rsh, `host:${src()}/`, `${dest}/`]),
  },
  {
    name: "upstream's client pushing to our --server",
    ours: (args, dest) => runRsync([...args, "-e", rsh, `--rsync-path=${OUR_SERVER}`, `${src()}/`, `host:${dest}/`]),
    theirs: (args, dest) => runRsync([...args, "-e", rsh, `${src()}/`, `host:${dest}/`]),
  },
];

const isPushToDaemon = (role: Role) => role.name.includes("pushing to") && role.name.includes("daemon");

ROLES.forEach((role, r) => {
  describe(role.name, () => {
    PROTOCOLS.forEach((protocol) => {
      test(`protocol ${protocol}: fresh, dry run, up to date, and over entries of other types`, async () => {
        const base = join(work, `r${r}p${protocol}`);
        const where = (name: string) => (isPushToDaemon(role) ? pushDir(`r${r}p${protocol}-${name}`) : `${base}-${name}`);
        const pair = async (args: string[], prepare?: (dest: string) => void) => {
          const oursDest = where("ours");
          const theirsDest = where("theirs");
          for (const d of [oursDest, theirsDest]) prepare?.(d);
          const a = await role.ours(args, oursDest);
          const b = await role.theirs(args, theirsDest);
          expectSame(a, b, oursDest, theirsDest);
          return { a, oursDest };
        };
        const args = ["-aHi", `--protocol=${protocol}`];
        const reset = (d: string) => fs.rmSync(d, { recursive: true, force: true });

        // A dry run on a missing destination: the items, and nothing made.
        // (Below protocol 29 a sending client shows only what is transferred: the receiver reports no items to it.)
        const itemsShown = protocol >= 29 || role.name.includes("pulling");
        const dry = await pair([...args, "-n"], reset);
        if (itemsShown) expect(dry.a.stdout).toContain("hL+++++++++ s2 => s1");
        expect(fs.existsSync(join(dry.oursDest, "s1"))).toBe(false);

        const fresh = await pair(args, reset);
        expect(linkGroups(fresh.oursDest)).toEqual(LINKED);
        if (itemsShown) expect(fresh.a.stdout).toContain("hS+++++++++ p2 => p1");
        if (itemsShown) expect(fresh.a.stdout).toContain("hD+++++++++ sub/c2 => c1");

        // Up to date: the links are said to be in place ("hL          s2 => s1" under -ii).
        await pair([...args, "-ii"]);

        // Each first member (and a later one) is something else here: replaced, then linked to.
        await pair(args, (d) => {
          reset(d);
          fs.mkdirSync(join(d, "sub"), { recursive: true });
          fs.writeFileSync(join(d, "s1"), "a file where a symlink goes\n");
          fs.mkdirSync(join(d, "p1"));
          fs.symlinkSync("elsewhere", join(d, "c1"));
          fs.symlinkSync("wrong", join(d, "s2"));
          mknod(join(d, "sub/c2"), "p");
        });
      });
    });
  });
});

describe("local copy: with a basis directory", () => {
  ["link", "copy", "compare"].forEach((kind) => {
    [false, true].forEach((dryRun) => {
      test(`--${kind}-dest${dryRun ? " -n" : ""} -ii`, async () => {
        const basis = join(work, `basis-${kind}`);
        fs.rmSync(basis, { recursive: true, force: true });
        const made = await runRsync(["-aH", `${src()}/`, `${basis}/`]);
        expect(made.code).toBe(0);
        const oursDest = join(work, `${kind}${dryRun}-ours`);
        const theirsDest = join(work, `${kind}${dryRun}-theirs`);
        const args = ["-aHii", ...(dryRun ? ["-n"] : []), `--${kind}-dest=${basis}`, `${src()}/`];
        const a = await runOc([...args, `${oursDest}/`]);
        const b = await runRsync([...args, `${theirsDest}/`]);
        expect(a.code).toBe(0);
        expect(a.stdout.replaceAll(oursDest, "DEST")).toBe(b.stdout.replaceAll(theirsDest, "DEST"));
        if (!dryRun) expect(linkGroups(oursDest)).toEqual(linkGroups(theirsDest));
      });
    });
  });
});

describe("local copy: a group of three whose last member alone is in the basis dir", () => {
  // (Not --compare-dest: upstream then leaves the deferred members waiting forever and never exits.)
  ["link", "copy"].forEach((kind) => {
    [false, true].forEach((dryRun) => {
      test(`--${kind}-dest${dryRun ? " -n" : ""} -ii: the others are linked before the basis match is reported`, async () => {
        const from = join(work, "three");
        const basis = join(work, "three-basis");
        for (const d of [from, basis]) fs.rmSync(d, { recursive: true, force: true });
        fs.mkdirSync(from);
        fs.mkdirSync(basis);
        fs.writeFileSync(join(from, "a"), "three\n");
        fs.linkSync(join(from, "a"), join(from, "b"));
        fs.linkSync(join(from, "a"), join(from, "c"));
        ageTree(from, 1_450_000_000);
        expect((await runRsync(["-a", join(from, "c"), `${basis}/`])).code).toBe(0);
        const oursDest = join(work, `three-${kind}${dryRun}-ours`);
        const theirsDest = join(work, `three-${kind}${dryRun}-theirs`);
        const args = ["-aHii", ...(dryRun ? ["-n"] : []), `--${kind}-dest=${basis}`, `${from}/`];
        const a = await runOc([...args, `${oursDest}/`]);
        const b = await runRsync([...args, `${theirsDest}/`]);
        expect(a.code).toBe(0);
        expect(a.stdout.replaceAll(oursDest, "DEST")).toBe(b.stdout.replaceAll(theirsDest, "DEST"));
        if (!dryRun) expect(linkGroups(oursDest)).toEqual(linkGroups(theirsDest));
      });
    });
  });
});
