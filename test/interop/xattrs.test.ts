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
import { startBothDaemons, stopDaemons, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runOc, runRsync, sortedLines } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";

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
    ["readonly", "read-only with attributes\n"],
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
s('readonly', 'user.ro', b'${LONG_A}'); s('readonly', 'trusted.ro', b'root only')
os.chmod('readonly', 0o444)
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
os.chmod('readonly', 0o644); s('readonly', 'user.ro', b'old'); os.chmod('readonly', 0o444)
`,
  );
}

/** What only root can make: other owners, setuid and sticky bits, a device, a fifo, an owned symlink, xattrs in trusted.* and user.*. */
function makePrivilegedSource(src: string): void {
  fs.mkdirSync(join(src, "locked"), { recursive: true });
  fs.mkdirSync(join(src, "sticky"));
  fs.writeFileSync(join(src, "plain"), "plain\n");
  fs.writeFileSync(join(src, "setuid"), "setuid\n");
  fs.writeFileSync(join(src, "owned"), "owned\n");
  fs.writeFileSync(join(src, "locked/inside"), "inside\n");
  fs.chmodSync(join(src, "setuid"), 0o4755);
  fs.chownSync(join(src, "owned"), 1234, 5678);
  fs.chmodSync(join(src, "owned"), 0o640);
  fs.chmodSync(join(src, "sticky"), 0o1777);
  fs.symlinkSync("plain", join(src, "link"));
  fs.lchownSync(join(src, "link"), 1234, 99);
  expect(spawnSync("mknod", [join(src, "cdev"), "c", "4", "5"]).status).toBe(0);
  expect(spawnSync("mkfifo", [join(src, "fifo")]).status).toBe(0);
  py(src, "os.setxattr('plain', 'trusted.t', b'tv'); os.setxattr('plain', 'user.u', b'uv')");
  fs.chmodSync(join(src, "locked"), 0o500);
  ageTree(src, 1_500_000_000);
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-xattrs-"));
  makeSource(join(work, "src"));
  fs.mkdirSync(join(work, "w"));
  const modules: ModuleConfig[] = [
    { name: "src", path: join(work, "src"), params: { uid: "0", gid: "0" } },
    { name: "w", path: join(work, "w"), params: { "read only": "no", uid: "0", gid: "0" } },
  ];
  makePrivilegedSource(join(work, "fsrc"));
  // A tree as a --fake-super receiver leaves it (made by upstream), for the sending side.
  expect(spawnSync("rsync", ["-aX", "--fake-super", `${join(work, "fsrc")}/`, `${join(work, "faked")}/`]).status).toBe(0);
  fs.mkdirSync(join(work, "fw"));
  modules.push(
    { name: "fsrc", path: join(work, "fsrc"), params: { uid: "0", gid: "0" } },
    { name: "faked", path: join(work, "faked"), params: { uid: "0", gid: "0", "fake super": "yes" } },
    { name: "fw", path: join(work, "fw"), params: { "read only": "no", uid: "0", gid: "0", "fake super": "yes" } },
    { name: "wn", path: join(work, "wn"), params: { "read only": "no", uid: "nobody", gid: "nogroup" } },
    { name: "fwn", path: join(work, "fwn"), params: { "read only": "no", uid: "nobody", gid: "nogroup", "fake super": "yes" } },
  );
  for (const dir of ["wn", "fwn"]) {
    fs.mkdirSync(join(work, dir));
    fs.chownSync(join(work, dir), 65534, 65534);
  }
  ({ upstream, ours } = await startBothDaemons(modules));
});

afterAll(async () => {
  await stopDaemons(upstream, ours);
  fs.rmSync(work, { recursive: true, force: true });
});

const lines = sortedLines;

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

/** Like compare, for the --fake-super trees: `fsrc` (real) or `faked` (as a fake-super receiver left it) as the source. */
async function compareFake(mode: Mode, args: string[], source: "fsrc" | "faked" | "src", destModule = "w", prepare?: (dest: string) => void) {
  const pushing = mode === "push" || mode === "daemon-push";
  const base = pushing ? join(work, destModule) : work;
  const name = `fake-${mode}-${serial++}`;
  const mine = join(base, `${name}-ours`);
  const theirs = join(base, `${name}-theirs`);
  if (prepare) {
    prepare(mine);
    prepare(theirs);
  }
  const runMine = mode === "local" || mode === "pull" || mode === "push" ? runOc : runRsync;
  const mineDaemon = mode.startsWith("daemon") ? ours : upstream;
  const from = (d: RunningDaemon) => (mode === "pull" || mode === "daemon-pull" ? d.url(source, "") : `${join(work, source)}/`);
  const to = (d: RunningDaemon, dest: string) => (pushing ? d.url(destModule, `${basename(dest)}/`) : `${dest}/`);
  const a = await runMine([...args, from(mineDaemon), to(mineDaemon, mine)]);
  const b = await runRsync([...args, from(upstream), to(upstream, theirs)]);
  expect(normalizeErrors(a.stderr).replaceAll(mine, "DEST")).toBe(normalizeErrors(b.stderr).replaceAll(theirs, "DEST"));
  expect(a.code).toBe(b.code);
  expect(lines(a.stdout, [mine])).toEqual(lines(b.stdout, [theirs]));
  expect(xattrs(mine)).toEqual(xattrs(theirs));
  expect(snapshot(mine, { ignoreDirTimes: true })).toEqual(snapshot(theirs, { ignoreDirTimes: true }));
  return { dest: mine, xattrs: xattrs(mine) };
}

const stat = (text: string) => Buffer.from(text).toString("hex");

describe("--fake-super keeps what root would apply in user.rsync.%stat, as upstream", () => {
  test("a local copy: placeholders, owner access, the stat xattr byte for byte; a second run does nothing", async () => {
    const { dest, xattrs: got } = await compareFake("local", ["-ai", "--fake-super"], "fsrc");
    expect(got).toContain(`owned user.rsync.%stat ${stat("100640 0,0 1234:5678")}`);
    expect(got).toContain(`cdev user.rsync.%stat ${stat("20644 4,5 0:0")}`);
    expect(got).toContain(`link user.rsync.%stat ${stat("120777 0,0 1234:99")}`);
    expect(got).toContain(`sticky user.rsync.%stat ${stat("41777 0,0 0:0")}`);
    expect(got.some((l) => l.startsWith("plain user.rsync"))).toBe(false);
    expect(fs.lstatSync(join(dest, "cdev")).isFile()).toBe(true);
    expect(fs.readFileSync(join(dest, "link"), "utf8")).toBe("plain");
    const again = await runOc(["-ai", "--fake-super", `${join(work, "fsrc")}/`, `${dest}/`]);
    expect(again.stdout).toBe("");
  });
  test("with -X: other namespaces are kept under user.rsync.", async () => {
    const { xattrs: got } = await compareFake("local", ["-aXi", "--fake-super"], "fsrc");
    expect(got).toContain(`plain user.rsync.trusted.t ${stat("tv")}`);
    expect(got).toContain(`plain user.u ${stat("uv")}`);
  });
  for (const mode of ["local", "pull", "daemon-pull"] as const) {
    test(`sending a faked tree with --fake-super (or from a "fake super" module) sends what it stands for: ${mode}`, async () => {
      const args = mode === "local" ? ["-aXi", "--fake-super"] : ["-aXi"];
      const { dest, xattrs: got } = await compareFake(mode, args, "faked");
      if (mode === "local") {
        // Both halves of a local copy fake: the copy is faked again, the same way.
        expect(got).toContain(`cdev user.rsync.%stat ${stat("20644 4,5 0:0")}`);
        expect(got).toContain(`plain user.rsync.trusted.t ${stat("tv")}`);
        return;
      }
      expect(fs.lstatSync(join(dest, "cdev")).isCharacterDevice()).toBe(true);
      expect(fs.readlinkSync(join(dest, "link"))).toBe("plain");
      expect(fs.lstatSync(join(dest, "owned")).uid).toBe(1234);
      expect(got).toContain(`plain trusted.t ${stat("tv")}`);
    });
  }
  for (const mode of ["push", "daemon-push"] as const) {
    test(`a module with "fake super = yes" receives as --fake-super: ${mode}`, async () => {
      const { xattrs: got } = await compareFake(mode, ["-aXi"], "fsrc", "fw");
      expect(got).toContain(`owned user.rsync.%stat ${stat("100640 0,0 1234:5678")}`);
      expect(got).toContain(`plain user.rsync.trusted.t ${stat("tv")}`);
    });
    test(`such a module takes -XX as -X: ${mode}`, async () => {
      // The client (not faking) sends the faked tree's stat xattrs as names of their own (-XX); the module drops them.
      const { xattrs: got } = await compareFake(mode, ["-aXXi"], "faked", "fw");
      expect(got.some((l) => l.startsWith("cdev user.rsync.%stat"))).toBe(false);
      expect(got).toContain(`plain user.rsync.trusted.t ${stat("tv")}`);
    });
  }
  for (const mode of ["push", "daemon-push"] as const) {
    test(`what it is for: a daemon that is not root keeps ownership and devices in the xattr: ${mode}`, async () => {
      const { dest, xattrs: got } = await compareFake(mode, ["-aXi"], "fsrc", "fwn");
      expect(got).toContain(`plain user.rsync.%stat ${stat("100644 0,0 0:0")}`);
      expect(got).toContain(`locked user.rsync.%stat ${stat("40500 0,0 0:0")}`);
      expect(fs.lstatSync(join(dest, "owned")).uid).toBe(65534);
    });
  }
  test("a pushing client's --fake-super reads the faked tree (the daemon's side is plain root)", async () => {
    const { dest } = await compareFake("push", ["-aXi", "--fake-super"], "faked");
    expect(fs.lstatSync(join(dest, "cdev")).isCharacterDevice()).toBe(true);
    expect(fs.lstatSync(join(dest, "setuid")).mode & 0o7777).toBe(0o4755);
  });
  test("--no-super as root neither chowns nor makes devices; --super as root is root", async () => {
    await compareFake("local", ["-ai", "--no-super"], "fsrc");
    await compareFake("local", ["-ai", "--super"], "fsrc");
  });
  test("--fake-super with -XX is refused", async () => {
    const a = await runOc(["-aXX", "--fake-super", `${join(work, "fsrc")}/`, join(work, "never")]);
    const b = await runRsync(["-aXX", "--fake-super", `${join(work, "fsrc")}/`, join(work, "never")]);
    expect(a.code).toBe(b.code);
    expect(a.stderr.split("\n")[0]).toBe(b.stderr.split("\n")[0]);
  });
});

describe("-X in other settings, as upstream", () => {
  const MAIN = join(import.meta.dir, "../../src/main.ts");
  const rshScript = () => {
    const rsh = join(work, "rsh");
    if (!fs.existsSync(rsh)) writeFakeRsh(rsh);
    return rsh;
  };
  /** Upstream's client with our --server at the far end of a remote shell, against upstream's own server. */
  for (const direction of ["pull", "push"] as const) {
    test(`upstream's client with our --server over a remote shell: ${direction}`, async () => {
      const src = join(work, "src");
      const mine = join(work, `rsh-${direction}-ours`);
      const theirs = join(work, `rsh-${direction}-theirs`);
      makeOldDest(src, mine);
      makeOldDest(src, theirs);
      const args = ["-aXi", "-e", rshScript()];
      const at = (p: string) => `localhost:${p}/`;
      const a = await runRsync([...args, `--rsync-path=${process.execPath} ${MAIN}`, direction === "pull" ? at(src) : `${src}/`, direction === "pull" ? `${mine}/` : at(mine)]);
      const b = await runRsync([...args, direction === "pull" ? at(src) : `${src}/`, direction === "pull" ? `${theirs}/` : at(theirs)]);
      expect(a.stderr).toBe(b.stderr);
      expect(a.code).toBe(b.code);
      expect(lines(a.stdout, [mine])).toEqual(lines(b.stdout, [theirs]));
      expect(xattrs(mine)).toEqual(xattrs(theirs));
    });
  }
  test("a remote transfer below protocol 30 is refused (a local one is not)", async () => {
    const src = join(work, "src");
    for (const [from, to] of [
      [`${src}/`, `localhost:${join(work, "p29-push")}/`],
      [`localhost:${src}/`, `${join(work, "p29-pull")}/`],
    ] as const) {
      const a = await runOc(["-aX", "--protocol=29", "-e", rshScript(), from, to]);
      const b = await runRsync(["-aX", "--protocol=29", "-e", rshScript(), from, to]);
      expect(a.code).toBe(2);
      expect(a.code).toBe(b.code);
      expect(a.stderr).toContain("--xattrs requires protocol 30 or higher (negotiated 29).");
    }
    await compare("local", ["-aXi", "--protocol=29"]);
  });
  for (const mode of ["push", "daemon-push"] as const) {
    test(`a receiver that is not root keeps only user. (and lends itself write access to a read-only file): ${mode}`, async () => {
      const got = await compareFake(mode, ["-rtXi"], "src", "wn", (dest) => {
        makeOldDest(join(work, "src"), dest);
        spawnSync("chown", ["-R", "nobody:nogroup", dest]);
      });
      expect(got.xattrs.some((l) => l.includes("trusted."))).toBe(false);
      expect(got.xattrs).toContain(`readonly user.ro ${Buffer.from(LONG_A).toString("hex")}`);
    });
  }
  for (const mode of ["local", "pull", "push", "daemon-push"] as const) {
    test(`hard links (-H: a linked entry's set follows it too): ${mode}`, async () => {
      const src = join(work, "src");
      if (!fs.existsSync(join(src, "dir/hard"))) fs.linkSync(join(src, "dir/one"), join(src, "dir/hard"));
      await compare(mode, ["-aHXi"], (dest) => makeOldDest(src, dest));
    });
    test(`protocol 30: ${mode}`, async () => {
      await compare(mode, ["-aXi", "--protocol=30"], (dest) => makeOldDest(join(work, "src"), dest));
    });
  }
});

test("-X in a batch: each side reads the other's (the stream flag and the recorded sets)", async () => {
  // Regular files only: upstream's batch reader sets a non-transferred entry's attributes while its
  // generator may not have made the entry yet (a race of its own), so none are in this source.
  const src = join(work, "bsrc");
  fs.mkdirSync(src);
  for (const name of ["a", "b", "c"]) fs.writeFileSync(join(src, name), `${name}\n`);
  py(src, `
for f in ['a', 'b', 'c']:
    os.setxattr(f, 'user.shared', b'${LONG_A}'); os.setxattr(f, 'user.own', f.encode())
os.setxattr('c', 'trusted.t', b'${LONG_B}')
`);
  const dir = join(work, "batches");
  fs.mkdirSync(dir, { recursive: true });
  expect((await runOc(["-aX", `--write-batch=${join(dir, "ours")}`, `${src}/`, `${join(dir, "w-ours")}/`])).code).toBe(0);
  expect((await runRsync(["-aX", `--write-batch=${join(dir, "theirs")}`, `${src}/`, `${join(dir, "w-theirs")}/`])).code).toBe(0);
  const a = await runOc(["-aXi", `--read-batch=${join(dir, "theirs")}`, `${join(dir, "r-ours")}/`]);
  const b = await runRsync(["-aXi", `--read-batch=${join(dir, "ours")}`, `${join(dir, "r-theirs")}/`]);
  expect([a.code, b.code]).toEqual([0, 0]);
  expect(lines(a.stdout, [join(dir, "r-ours")])).toEqual(lines(b.stdout, [join(dir, "r-theirs")]));
  const got = xattrs(join(dir, "r-ours"));
  expect(got).toEqual(xattrs(join(dir, "r-theirs")));
  expect(got).toEqual(xattrs(join(dir, "w-theirs")));
  expect(got).toContain(`c user.shared ${Buffer.from(LONG_A).toString("hex")}`);
  expect(got).toContain(`c trusted.t ${Buffer.from(LONG_B).toString("hex")}`);
});
