/**
 * -X/--xattrs (and -XX) against upstream: the extended attributes a copy
 * leaves, its -i lines and exit code, compared with upstream's client doing
 * the same, in a local copy, a pull and a push through upstream's daemon,
 * and upstream's client pulling from and pushing to our daemon. Values over
 * 32 bytes travel abbreviated and are asked for, so the trees have long
 * values the destination already has, lacks, or has differently, and sets
 * shared by several files (sent once, referred to by index after).
 * Attributes are set and read with Python's os module (tests run as root:
 * trusted.* is copied as well as user.*).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { startDaemon, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { maskFigures, normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

let work: string;
let upstream: RunningDaemon;
let ours: RunningDaemon;

/** Runs a Python snippet (os.setxattr and friends); `root` is its working directory. */
function py(root: string, code: string): string {
  const r = spawnSync("python3", ["-c", `import os, sys\n${code}`], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

/** Every entry's attributes (names sorted, values in hex), not following symlinks. */
function xattrs(root: string): string[] {
  const out = py(
    root,
    `
for dp, dns, fns in os.walk('.'):
    for n in ['.'] + dns + fns:
        p = dp if n == '.' else os.path.join(dp, n)
        if n != '.' and os.path.isdir(p) and not os.path.islink(p): continue
        for x in sorted(os.listxattr(p, follow_symlinks=False)):
            print(os.path.normpath(p), x, os.getxattr(p, x, follow_symlinks=False).hex())
`,
  );
  return out.split("\n").filter(Boolean).sort();
}

const LONG_A = "A".repeat(100);
const LONG_B = "B".repeat(40);

/** The source: short, empty and long values, trusted.*, rsync's own name, a directory's and a symlink's, and shared sets. */
function makeSource(src: string): void {
  fs.mkdirSync(join(src, "dir/deep"), { recursive: true });
  for (const [name, text] of [
    ["plain", "no attributes\n"],
    ["short", "short values\n"],
    ["long", "long values\n"],
    ["mixed", "all kinds\n"],
    ["own", "rsync's own name\n"],
    ["dir/one", "shared set 1\n"],
    ["dir/two", "shared set 2\n"],
    ["dir/deep/three", "shared set 3\n"],
  ]) fs.writeFileSync(join(src, name!), text!);
  fs.symlinkSync("plain", join(src, "link"));
  py(
    src,
    `
s = os.setxattr
s('short', 'user.a', b'1'); s('short', 'user.b', b''); s('short', 'user.c', b'x' * 32)
s('long', 'user.big', b'${LONG_A}'); s('long', 'user.small', b'sm')
s('mixed', 'user.z', b'${LONG_B}'); s('mixed', 'trusted.t', b'trusted value'); s('mixed', 'user.bin', bytes(range(256)))
s('own', 'user.rsync.%stat', b'100644 0,0 0:0'); s('own', 'user.kept', b'k')
s('dir', 'user.dirattr', b'${LONG_A}')
for f in ['dir/one', 'dir/two', 'dir/deep/three']:
    s(f, 'user.shared', b'${LONG_B}'); s(f, 'user.tag', b'same')
s('link', 'trusted.onlink', b'on the link itself', follow_symlinks=False)
`,
  );
  ageTree(src, 1_500_000_000);
}

/**
 * A destination already holding the files (same data and times) with
 * attributes that are partly the same, partly different, partly extra.
 */
function makeOldDest(src: string, dest: string): void {
  expect(spawnSync("rsync", ["-a", `${src}/`, `${dest}/`]).status).toBe(0);
  py(
    dest,
    `
s = os.setxattr
s('long', 'user.big', b'${LONG_A}')
s('long', 'user.small', b'different')
s('mixed', 'user.z', b'${LONG_A}')
s('mixed', 'user.extra', b'to be removed')
s('plain', 'user.extra', b'${LONG_A}')
s('dir/one', 'user.shared', b'${LONG_B}')
s('dir/two', 'user.shared', b'${"C".repeat(40)}')
s('dir', 'user.dirattr', b'${LONG_B}')
`,
  );
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-xattrs-"));
  makeSource(join(work, "src"));
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

const lines = (text: string, dests: string[]) => {
  let t = maskFigures(text);
  for (const d of dests) t = t.replaceAll(d, "DEST").replaceAll(basename(d), "DEST");
  return t.split("\n").filter(Boolean).sort();
};

/**
 * "local", "pull", "push": our client and upstream's side by side (through
 * upstream's daemon). "daemon-pull", "daemon-push": upstream's client with
 * our daemon against upstream's client with upstream's daemon.
 */
type Mode = "local" | "pull" | "push" | "daemon-pull" | "daemon-push";
const MODES: Mode[] = ["local", "pull", "push", "daemon-pull", "daemon-push"];

let serial = 0;

async function compare(mode: Mode, args: string[], prepare?: (dest: string) => void) {
  const pushing = mode === "push" || mode === "daemon-push";
  const base = pushing ? join(work, "w") : work;
  const name = `${mode}-${serial++}`;
  const mine = join(base, `${name}-ours`);
  const theirs = join(base, `${name}-theirs`);
  if (prepare) {
    prepare(mine);
    prepare(theirs);
  }
  const src = join(work, "src");
  const runMine = mode === "local" || mode === "pull" || mode === "push" ? runOc : runRsync;
  const mineDaemon = mode.startsWith("daemon") ? ours : upstream;
  const from = (d: RunningDaemon) => (mode === "pull" || mode === "daemon-pull" ? d.url("src", "") : `${src}/`);
  const to = (d: RunningDaemon, dest: string) => (pushing ? d.url("w", `${basename(dest)}/`) : `${dest}/`);
  const a = await runMine([...args, from(mineDaemon), to(mineDaemon, mine)]);
  const b = await runRsync([...args, from(upstream), to(upstream, theirs)]);
  expect(normalizeErrors(a.stderr).replaceAll(mine, "DEST")).toBe(normalizeErrors(b.stderr).replaceAll(theirs, "DEST"));
  expect(a.code).toBe(b.code);
  expect(lines(a.stdout, [mine])).toEqual(lines(b.stdout, [theirs]));
  expect(xattrs(mine)).toEqual(xattrs(theirs));
  expect(snapshot(mine, { ignoreDirTimes: true })).toEqual(snapshot(theirs, { ignoreDirTimes: true }));
  return xattrs(mine);
}

describe("-X copies extended attributes as upstream does", () => {
  for (const mode of MODES) {
    test(`a new tree: ${mode}`, async () => {
      const got = await compare(mode, ["-aXi"]);
      // What the comparison stands on: the attributes are there (and rsync's own name is not, without -XX).
      expect(got).toContain(`long user.big ${Buffer.from(LONG_A).toString("hex")}`);
      expect(got).toContain(`link trusted.onlink ${Buffer.from("on the link itself").toString("hex")}`);
      expect(got).toContain(`mixed trusted.t ${Buffer.from("trusted value").toString("hex")}`);
      expect(got.some((l) => l.startsWith("own user.rsync.%stat"))).toBe(false);
    });
    test(`a destination with partly different attributes (x in the item lines): ${mode}`, async () => {
      const got = await compare(mode, ["-aXi"], (dest) => makeOldDest(join(work, "src"), dest));
      expect(got.some((l) => l.includes("user.extra"))).toBe(false);
      expect(got).toContain(`dir/two user.shared ${Buffer.from(LONG_B).toString("hex")}`);
    });
    test(`-XX also copies rsync's own names: ${mode}`, async () => {
      const got = await compare(mode, ["-aXXi"]);
      expect(got.some((l) => l.startsWith("own user.rsync.%stat"))).toBe(true);
    });
  }
  for (const mode of ["local", "pull", "push"] as const) {
    test(`whole files (-W) and a dry run (-n) over an old destination: ${mode}`, async () => {
      await compare(mode, ["-aXWi"], (dest) => makeOldDest(join(work, "src"), dest));
      await compare(mode, ["-aXni"], (dest) => makeOldDest(join(work, "src"), dest));
    });
  }
});
