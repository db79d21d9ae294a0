/**
 * --copy-devices, --write-devices and --copy-as against upstream 3.5.0: local
 * copies, our client pulling from and pushing to upstream's daemon, and
 * upstream's client against our daemon or our --server over a remote shell,
 * each compared with upstream doing the same (trees, device contents,
 * output, exit codes). Devices are loop devices over files (root and
 * losetup needed: without them the device tests are skipped); --copy-as
 * drops to "nobody".
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { startDaemon, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { maskFigures, normalizeErrors, runOc, runRsync, type RunResult } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";
import { noise } from "../helpers/noise.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const OUR_SERVER = `${process.execPath} ${MAIN}`;
const DEVICE_SIZE = 65536;
const NOBODY = 65534;

const amRoot = process.getuid?.() === 0;
const haveLoop = amRoot && spawnSync("losetup", ["--version"]).status === 0;

let work: string;
let rsh: string;
let upstreamDaemon: RunningDaemon;
let ourDaemon: RunningDaemon;
const loops: string[] = [];

/** A loop device over a new file of `content`; detached after the run. */
function loopOver(content: Uint8Array): { device: string; backing: string } {
  const backing = join(work, `loop-${loops.length}.img`);
  fs.writeFileSync(backing, content);
  const r = spawnSync("losetup", ["-f", "--show", backing], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`losetup failed: ${r.stderr}`);
  const device = r.stdout.trim();
  loops.push(device);
  return { device, backing };
}

/** A device node at `path` for the same device as `device` (mknod, as a tree would hold it). */
function nodeFor(device: string, path: string, type: "b" | "c" = "b"): void {
  const rdev = Number(fs.statSync(device).rdev);
  const major = (rdev >> 8) & 0xfff;
  const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
  mknod(path, type, major, minor);
}

function mknod(path: string, type: "b" | "c", major: number, minor: number): void {
  const r = spawnSync("mknod", [path, type, String(major), String(minor)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`mknod failed: ${r.stderr}`);
}

/** Reads a loop device's backing file (what the device holds after a transfer wrote it). */
const backingBytes = (backing: string) => new Uint8Array(fs.readFileSync(backing));

const lines = (text: string) => text.split("\n").filter(Boolean).sort();

/**
 * A refused option: the daemon's refusal is the client's first line, and the
 * run fails. What follows depends on how the connection ends (upstream's
 * daemon may reset it), so it is not compared.
 */
function expectSameRefusal(a: RunResult, b: RunResult, option: string) {
  expect(b.stderr.split("\n")[0]).toBe(`rsync: The server is configured to refuse --${option}`);
  expect(a.stderr.split("\n")[0]).toBe(b.stderr.split("\n")[0]!);
  expect(a.code).not.toBe(0);
  expect(b.code).not.toBe(0);
}

function expectSameRun(a: RunResult, b: RunResult, ours: string[] = [], theirs: string[] = []) {
  const mask = (text: string, names: string[]) => names.reduce((t, n) => t.replaceAll(n, "DEST"), maskFigures(normalizeErrors(text)));
  // Upstream's two processes (or client and server) may print in either order.
  expect(lines(mask(a.stderr, ours))).toEqual(lines(mask(b.stderr, theirs)));
  expect(a.code).toBe(b.code);
  expect(lines(mask(a.stdout, ours))).toEqual(lines(mask(b.stdout, theirs)));
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-devices-"));
  // --copy-as=nobody must be able to reach the trees.
  fs.chmodSync(work, 0o755);
  rsh = join(work, "rsh");
  writeFakeRsh(rsh);
  for (const dir of ["cd-src", "wd-up", "wd-ours", "push"]) fs.mkdirSync(join(work, dir));
  // The daemons' modules: devices to read (accepted, and refused as by default), devices to write into.
  const modules: ModuleConfig[] = [
    { name: "devs", path: join(work, "cd-src"), params: { uid: "0", gid: "0", "refuse options": "!copy-devices" } },
    { name: "devs-default", path: join(work, "cd-src"), params: { uid: "0", gid: "0" } },
    { name: "push", path: join(work, "push"), params: { uid: "0", gid: "0", "read only": "no" } },
  ];
  upstreamDaemon = await startDaemon("upstream", [
    ...modules,
    { name: "wd", path: join(work, "wd-up"), params: { uid: "0", gid: "0", "read only": "no", "refuse options": "!write-devices" } },
    { name: "wd-default", path: join(work, "wd-up"), params: { uid: "0", gid: "0", "read only": "no" } },
    { name: "wd-noinplace", path: join(work, "wd-up"), params: { uid: "0", gid: "0", "read only": "no", "refuse options": "inplace !write-devices" } },
  ]);
  ourDaemon = await startDaemon("ours", [
    ...modules,
    { name: "wd", path: join(work, "wd-ours"), params: { uid: "0", gid: "0", "read only": "no", "refuse options": "!write-devices" } },
    { name: "wd-default", path: join(work, "wd-ours"), params: { uid: "0", gid: "0", "read only": "no" } },
    { name: "wd-noinplace", path: join(work, "wd-ours"), params: { uid: "0", gid: "0", "read only": "no", "refuse options": "inplace !write-devices" } },
  ]);
});

afterAll(async () => {
  await upstreamDaemon?.stop();
  await ourDaemon?.stop();
  for (const device of loops) spawnSync("losetup", ["-d", device]);
  fs.rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!haveLoop)("--copy-devices sends a device's contents as a regular file", () => {
  let src: string;
  let blockContent: Uint8Array;

  beforeAll(() => {
    src = join(work, "cd-src");
    blockContent = noise(DEVICE_SIZE, 7);
    const { device } = loopOver(blockContent);
    nodeFor(device, join(src, "blk"));
    // Char devices seek to 0: upstream sends them as empty files.
    mknod(join(src, "zero"), "c", 1, 5);
    mknod(join(src, "null"), "c", 1, 3);
    fs.writeFileSync(join(src, "file"), "plain\n");
    fs.chmodSync(join(src, "blk"), 0o640);
    ageTree(src, 1_450_000_000);
  });

  const converted = ["blk", "zero", "null"];

  /** The trees must match but for the converted files' mtimes ("now"); those keep the node's nanoseconds, as upstream's do. */
  function expectSameTree(ours: string, theirs: string) {
    const a = snapshot(ours, { ignoreDirTimes: true });
    const b = snapshot(theirs, { ignoreDirTimes: true });
    for (const name of converted) {
      if (!a[name] || !b[name]) continue;
      const nodeNsec = BigInt(fs.statSync(join(src, name), { bigint: true }).mtimeNs) % 1_000_000_000n;
      expect(BigInt(a[name].mtimeNs) % 1_000_000_000n).toBe(nodeNsec);
      expect(BigInt(b[name].mtimeNs) % 1_000_000_000n).toBe(nodeNsec);
      // Dated now, not with the node's own (old) mtime.
      expect(Number(BigInt(a[name].mtimeNs) / 1_000_000_000n)).toBeGreaterThan(Date.now() / 1000 - 600);
      a[name].mtimeNs = b[name].mtimeNs = "now";
    }
    expect(a).toEqual(b);
    if (b.blk) expect(Buffer.from(backingBytesOf(join(ours, "blk")))).toEqual(Buffer.from(blockContent));
  }
  const backingBytesOf = (path: string) => new Uint8Array(fs.readFileSync(path));

  const ARGS: string[][] = [["-ai", "--copy-devices"], ["-rti", "--copy-devices", "--no-W", "-c"], ["-rti"], ["-ai", "--copy-devices", "--devices"]];
  ARGS.forEach((args, i) => {
    test(`local copy: ${args.join(" ")}`, async () => {
      const ours = join(work, `cd-local-${i}-ours`);
      const theirs = join(work, `cd-local-${i}-theirs`);
      const a = await runOc([...args, `${src}/`, `${ours}/`]);
      const b = await runRsync([...args, `${src}/`, `${theirs}/`]);
      expectSameRun(a, b, [ours], [theirs]);
      expectSameTree(ours, theirs);
    });
  });

  test("pull from upstream's daemon (a module that accepts it), and one that refuses it by default", async () => {
    for (const module of ["devs", "devs-default"]) {
      const ours = join(work, `cd-pull-${module}-ours`);
      const theirs = join(work, `cd-pull-${module}-theirs`);
      const a = await runOc(["-ai", "--copy-devices", upstreamDaemon.url(module), `${ours}/`]);
      const b = await runRsync(["-ai", "--copy-devices", upstreamDaemon.url(module), `${theirs}/`]);
      if (module === "devs-default") {
        expectSameRefusal(a, b, "copy-devices");
        continue;
      }
      expectSameRun(a, b, [ours], [theirs]);
      expectSameTree(ours, theirs);
    }
  });

  test("upstream's client pulling from our daemon, as from upstream's (accepted, refused by default)", async () => {
    for (const module of ["devs", "devs-default"]) {
      const ours = join(work, `cd-ourd-${module}-ours`);
      const theirs = join(work, `cd-ourd-${module}-theirs`);
      const a = await runRsync(["-ai", "--copy-devices", ourDaemon.url(module), `${ours}/`]);
      const b = await runRsync(["-ai", "--copy-devices", upstreamDaemon.url(module), `${theirs}/`]);
      if (module === "devs-default") {
        expectSameRefusal(a, b, "copy-devices");
        continue;
      }
      expectSameRun(a, b, [ours], [theirs]);
      expectSameTree(ours, theirs);
    }
  });

  test("push to upstream's daemon (the sending client converts; nothing is forwarded)", async () => {
    const ours = `cd-push-ours`;
    const theirs = `cd-push-theirs`;
    const a = await runOc(["-ai", "--copy-devices", `${src}/`, upstreamDaemon.url("push", `${ours}/`)]);
    const b = await runRsync(["-ai", "--copy-devices", `${src}/`, upstreamDaemon.url("push", `${theirs}/`)]);
    expectSameRun(a, b, [ours], [theirs]);
    expectSameTree(join(work, "push", ours), join(work, "push", theirs));
  });

  test("upstream's client pulling from our --server over a remote shell", async () => {
    const ours = join(work, "cd-rsh-ours");
    const theirs = join(work, "cd-rsh-theirs");
    const a = await runRsync(["-ai", "--copy-devices", "-e", rsh, `--rsync-path=${OUR_SERVER}`, `host:${src}/`, `${ours}/`]);
    const b = await runRsync(["-ai", "--copy-devices", "-e", rsh, `host:${src}/`, `${theirs}/`]);
    expectSameRun(a, b, [ours], [theirs]);
    expectSameTree(ours, theirs);
  });
});

describe.skipIf(!haveLoop)("--write-devices writes into an existing device", () => {
  /** A destination directory holding "disk": a node for a new loop device over DEVICE_SIZE bytes of `seed`'s noise. */
  function deviceDest(dir: string, seed: number): { dest: string; backing: string } {
    fs.mkdirSync(dir, { recursive: true });
    const { device, backing } = loopOver(noise(DEVICE_SIZE, seed));
    nodeFor(device, join(dir, "disk"));
    return { dest: dir, backing };
  }

  /** A source directory with "disk", a regular file of `size` bytes (old mtime, mode 600). */
  function fileSource(name: string, size: number): string {
    const src = join(work, name);
    fs.mkdirSync(src);
    fs.writeFileSync(join(src, "disk"), noise(size, size));
    fs.chmodSync(join(src, "disk"), 0o600);
    ageTree(src, 1_450_000_000);
    return src;
  }

  /** `untimed`: the node's mtime is not the file's (a failed write dates it now; a refused run leaves it as made). */
  function expectSameDevices(ours: { dest: string; backing: string }, theirs: { dest: string; backing: string }, untimed = false) {
    expect(backingBytes(ours.backing)).toEqual(backingBytes(theirs.backing));
    // The node itself is kept (a block device still), with the file's mode and mtime.
    const opts = { ignoreRoot: true, ignoreTimes: untimed, ignoreDirTimes: true };
    expect(snapshot(ours.dest, opts)).toEqual(snapshot(theirs.dest, opts));
  }

  const SIZES: [string, number][] = [
    ["as long as the device", DEVICE_SIZE],
    ["shorter: the rest of the device stays", 1000],
    ["longer: the write fails (no space left)", DEVICE_SIZE + 5000],
  ];
  SIZES.forEach(([name, size], i) => {
    test(`local copy, ${name}; then again (nothing to do)`, async () => {
      const src = fileSource(`wd-src-${i}`, size);
      const ours = deviceDest(join(work, `wd-local-${i}-ours`), 1);
      const theirs = deviceDest(join(work, `wd-local-${i}-theirs`), 1);
      for (let pass = 0; pass < 2; pass++) {
        const a = await runOc(["-ai", "--write-devices", `${src}/`, `${ours.dest}/`]);
        const b = await runRsync(["-ai", "--write-devices", `${src}/`, `${theirs.dest}/`]);
        expectSameRun(a, b, [ours.dest], [theirs.dest]);
        expectSameDevices(ours, theirs, size > DEVICE_SIZE);
      }
      if (size > DEVICE_SIZE) expect(backingBytes(ours.backing)).toEqual(new Uint8Array(fs.readFileSync(join(src, "disk"))).subarray(0, DEVICE_SIZE));
      if (size <= DEVICE_SIZE) expect(backingBytes(ours.backing).subarray(0, size)).toEqual(new Uint8Array(fs.readFileSync(join(src, "disk"))));
    });
  });

  test("char devices (/dev/null's and /dev/zero's numbers) take the data; with -c too, whose sum reads none of an endless device", async () => {
    const src = join(work, "wd-src-char");
    fs.mkdirSync(src);
    fs.writeFileSync(join(src, "null"), noise(3000, 9));
    fs.writeFileSync(join(src, "zero"), "");
    ageTree(src, 1_450_000_000);
    for (const args of [["-ai", "-c"], ["-ai"]]) {
      const ours = join(work, `wd-char${args.length}-ours`);
      const theirs = join(work, `wd-char${args.length}-theirs`);
      for (const dest of [ours, theirs]) {
        fs.mkdirSync(dest);
        mknod(join(dest, "null"), "c", 1, 3);
        mknod(join(dest, "zero"), "c", 1, 5);
      }
      for (let pass = 0; pass < 2; pass++) {
        const a = await runOc([...args, "--write-devices", `${src}/`, `${ours}/`]);
        const b = await runRsync([...args, "--write-devices", `${src}/`, `${theirs}/`]);
        expectSameRun(a, b, [ours], [theirs]);
        expect(snapshot(ours, { ignoreRoot: true })).toEqual(snapshot(theirs, { ignoreRoot: true }));
      }
    }
  });

  test("with --copy-devices too: a device onto a device, whole and by delta", async () => {
    const src = join(work, "wd-src-dev");
    fs.mkdirSync(src);
    const { device } = loopOver(noise(DEVICE_SIZE, 42));
    nodeFor(device, join(src, "disk"));
    for (const args of [["-ai"], ["-ai", "--no-W"]]) {
      const ours = deviceDest(join(work, `wd-dev${args.length}-ours`), 8);
      const theirs = deviceDest(join(work, `wd-dev${args.length}-theirs`), 8);
      // The source is dated now: the destination nodes must be older to differ.
      for (const dest of [ours.dest, theirs.dest]) fs.utimesSync(join(dest, "disk"), 1_450_000_000, 1_450_000_000);
      const a = await runOc([...args, "--copy-devices", "--write-devices", `${src}/`, `${ours.dest}/`]);
      const b = await runRsync([...args, "--copy-devices", "--write-devices", `${src}/`, `${theirs.dest}/`]);
      expectSameRun(a, b, [ours.dest], [theirs.dest]);
      expect(Buffer.from(backingBytes(ours.backing))).toEqual(Buffer.from(noise(DEVICE_SIZE, 42)));
      expectSameDevices(ours, theirs, true);
    }
  });

  test("-b: the device's old contents are kept as a regular backup file (whole, and as the delta basis)", async () => {
    const src = fileSource("wd-src-backup", 20_000);
    for (const args of [["-aib"], ["-aib", "--no-W"], ["-aiv", "--backup-dir=bak"]]) {
      const tag = args.join("").replace(/\W/g, "");
      const ours = deviceDest(join(work, `wd-bak-${tag}-ours`), 10);
      const theirs = deviceDest(join(work, `wd-bak-${tag}-theirs`), 10);
      for (const dest of [ours.dest, theirs.dest]) fs.utimesSync(join(dest, "disk"), 1_400_000_000, 1_400_000_000);
      const a = await runOc([...args, "--write-devices", `${src}/`, `${ours.dest}/`]);
      const b = await runRsync([...args, "--write-devices", `${src}/`, `${theirs.dest}/`]);
      expectSameRun(a, b, [ours.dest], [theirs.dest]);
      expectSameDevices(ours, theirs);
      const backup = args.includes("-aib") ? "disk~" : "bak/disk";
      expect(Buffer.from(fs.readFileSync(join(ours.dest, backup)))).toEqual(Buffer.from(noise(DEVICE_SIZE, 10)));
    }
  });

  test("without --write-devices the device is replaced by the file", async () => {
    const src = fileSource("wd-src-plain", 1000);
    const ours = deviceDest(join(work, "wd-plain-ours"), 2);
    const theirs = deviceDest(join(work, "wd-plain-theirs"), 2);
    const a = await runOc(["-ai", `${src}/`, `${ours.dest}/`]);
    const b = await runRsync(["-ai", `${src}/`, `${theirs.dest}/`]);
    expectSameRun(a, b, [ours.dest], [theirs.dest]);
    expectSameDevices(ours, theirs);
    expect(fs.lstatSync(join(ours.dest, "disk")).isFile()).toBe(true);
  });

  test("pull from upstream's daemon into a local device", async () => {
    const src = fileSource("wd-src-pull", 3000);
    fs.renameSync(src, join(work, "push", "wd-src-pull"));
    const ours = deviceDest(join(work, "wd-pull-ours"), 3);
    const theirs = deviceDest(join(work, "wd-pull-theirs"), 3);
    const a = await runOc(["-ai", "--write-devices", upstreamDaemon.url("push", "wd-src-pull/"), `${ours.dest}/`]);
    const b = await runRsync(["-ai", "--write-devices", upstreamDaemon.url("push", "wd-src-pull/"), `${theirs.dest}/`]);
    expectSameRun(a, b, [ours.dest], [theirs.dest]);
    expectSameDevices(ours, theirs);
  });

  test("push to upstream's daemon (accepted, and refused by default), from our client and upstream's", async () => {
    const src = fileSource("wd-src-push", 2000);
    for (const module of ["wd", "wd-default"]) {
      const ours = deviceDest(join(work, "wd-up", `${module}-ours`), 4);
      const theirs = deviceDest(join(work, "wd-up", `${module}-theirs`), 4);
      const a = await runOc(["-ai", "--write-devices", `${src}/`, upstreamDaemon.url(module, `${module}-ours/`)]);
      const b = await runRsync(["-ai", "--write-devices", `${src}/`, upstreamDaemon.url(module, `${module}-theirs/`)]);
      const refused = module === "wd-default";
      if (refused) expectSameRefusal(a, b, "write-devices");
      else expectSameRun(a, b, [`${module}-ours`], [`${module}-theirs`]);
      // Refused: the nodes are left as made (at slightly different times).
      expectSameDevices(ours, theirs, refused);
    }
  });

  test("upstream's client pushing to our daemon, as to upstream's (accepted, and refused by default)", async () => {
    const src = fileSource("wd-src-ourd", 2500);
    for (const module of ["wd", "wd-default"]) {
      const ours = deviceDest(join(work, "wd-ours", `${module}-x`), 5);
      const theirs = deviceDest(join(work, "wd-up", `${module}-x`), 5);
      const a = await runRsync(["-ai", "--write-devices", `${src}/`, ourDaemon.url(module, `${module}-x/`)]);
      const b = await runRsync(["-ai", "--write-devices", `${src}/`, upstreamDaemon.url(module, `${module}-x/`)]);
      const refused = module === "wd-default";
      if (refused) expectSameRefusal(a, b, "write-devices");
      else expectSameRun(a, b);
      expectSameDevices(ours, theirs, refused);
    }
  });

  test("a daemon refusing --inplace refuses what implies it (--write-devices, --append), ours as upstream's", async () => {
    const src = fileSource("wd-src-noinplace", 100);
    for (const args of [["--write-devices"], ["--append"], ["--append-verify"]]) {
      const a = await runRsync(["-ai", ...args, `${src}/`, ourDaemon.url("wd-noinplace", "ni/")]);
      const b = await runRsync(["-ai", ...args, `${src}/`, upstreamDaemon.url("wd-noinplace", "ni/")]);
      expectSameRefusal(a, b, "inplace");
    }
  });

  test("upstream's client pushing to our --server over a remote shell", async () => {
    const src = fileSource("wd-src-rsh", 4000);
    const ours = deviceDest(join(work, "wd-rsh-ours"), 6);
    const theirs = deviceDest(join(work, "wd-rsh-theirs"), 6);
    const a = await runRsync(["-ai", "--write-devices", "-e", rsh, `--rsync-path=${OUR_SERVER}`, `${src}/`, `host:${ours.dest}/`]);
    const b = await runRsync(["-ai", "--write-devices", "-e", rsh, `${src}/`, `host:${theirs.dest}/`]);
    expectSameRun(a, b, [ours.dest], [theirs.dest]);
    expectSameDevices(ours, theirs);
  });
});

describe.skipIf(!amRoot)("--copy-as runs the copy as another user", () => {
  let src: string;

  beforeAll(() => {
    src = join(work, "ca-src");
    fs.mkdirSync(join(src, "closed"), { recursive: true });
    fs.writeFileSync(join(src, "public"), "anyone\n");
    fs.writeFileSync(join(src, "secret"), "root only\n");
    fs.writeFileSync(join(src, "closed/inside"), "hidden\n");
    fs.chmodSync(join(src, "secret"), 0o600);
    fs.chmodSync(join(src, "closed"), 0o700);
    ageTree(src, 1_450_000_000);
    fs.chownSync(join(work, "push"), NOBODY, NOBODY);
  });

  /** A destination directory the copy-as user may write in. */
  function writableDest(path: string): string {
    fs.mkdirSync(path, { recursive: true });
    fs.chownSync(path, NOBODY, NOBODY);
    return path;
  }

  test("local copy: what only root may read is an error, the rest is owned by the user", async () => {
    const ours = writableDest(join(work, "ca-local-ours"));
    const theirs = writableDest(join(work, "ca-local-theirs"));
    const a = await runOc(["-ai", "--copy-as=nobody", `${src}/`, `${ours}/`]);
    const b = await runRsync(["-ai", "--copy-as=nobody", `${src}/`, `${theirs}/`]);
    expectSameRun(a, b, [ours], [theirs]);
    const tree = snapshot(ours, { ignoreDirTimes: true });
    expect(tree).toEqual(snapshot(theirs, { ignoreDirTimes: true }));
    expect(tree.public?.uid).toBe(NOBODY);
    expect(tree.secret).toBeUndefined();
  });

  test("local copy with a group, into a directory the user may not write", async () => {
    const ours = join(work, "ca-root-ours");
    const theirs = join(work, "ca-root-theirs");
    fs.mkdirSync(ours);
    fs.mkdirSync(theirs);
    const a = await runOc(["-ai", "--copy-as=nobody:nogroup", `${src}/`, `${ours}/sub/`]);
    const b = await runRsync(["-ai", "--copy-as=nobody:nogroup", `${src}/`, `${theirs}/sub/`]);
    expectSameRun(a, b, [ours], [theirs]);
    expect(snapshot(ours, { ignoreRoot: true })).toEqual(snapshot(theirs, { ignoreRoot: true }));
  });

  const BAD = ["no-such-user", "nobody:no-such-group", "4242", ""];
  BAD.forEach((spec) => {
    test(`--copy-as=${spec}: both halves of a local copy say what is wrong`, async () => {
      const a = await runOc(["-a", `--copy-as=${spec}`, `${src}/`, join(work, "ca-bad-ours/")]);
      const b = await runRsync(["-a", `--copy-as=${spec}`, `${src}/`, join(work, "ca-bad-theirs/")]);
      // Upstream's sender may signal its receiving child (SIGUSR1) before the child has said everything: compare what is said.
      // What the receiving half says may be cut short, so only the sender's lines are compared (each once).
      const said = (text: string) => [...new Set(lines(normalizeErrors(text)).filter((l) => !l.includes("[Receiver")))];
      expect(said(a.stderr)).toEqual(said(b.stderr));
      expect(a.stderr).toContain("at oc-rsync [Receiver=");
      expect(a.code).toBe(b.code);
      expect(a.stdout).toBe(b.stdout);
      expect(fs.existsSync(join(work, "ca-bad-ours"))).toBe(false);
    });
  });

  test("pull from upstream's daemon: our receiving side writes as the user", async () => {
    fs.cpSync(src, join(work, "push", "ca-src"), { recursive: true, preserveTimestamps: true });
    const ours = writableDest(join(work, "ca-pull-ours"));
    const theirs = writableDest(join(work, "ca-pull-theirs"));
    const a = await runOc(["-ai", "--copy-as=nobody", upstreamDaemon.url("push", "ca-src/public"), `${ours}/`]);
    const b = await runRsync(["-ai", "--copy-as=nobody", upstreamDaemon.url("push", "ca-src/public"), `${theirs}/`]);
    expectSameRun(a, b, [ours], [theirs]);
    const tree = snapshot(ours, { ignoreDirTimes: true });
    expect(tree).toEqual(snapshot(theirs, { ignoreDirTimes: true }));
    expect(tree.public?.uid).toBe(NOBODY);
  });

  test("push to upstream's daemon: our sending side reads as the user", async () => {
    const a = await runOc(["-ai", "--copy-as=nobody", `${src}/`, upstreamDaemon.url("push", "ca-push-ours/")]);
    const b = await runRsync(["-ai", "--copy-as=nobody", `${src}/`, upstreamDaemon.url("push", "ca-push-theirs/")]);
    expectSameRun(a, b, ["ca-push-ours"], ["ca-push-theirs"]);
    const tree = snapshot(join(work, "push", "ca-push-ours"), { ignoreDirTimes: true });
    expect(tree).toEqual(snapshot(join(work, "push", "ca-push-theirs"), { ignoreDirTimes: true }));
    expect(tree.secret).toBeUndefined();
  });

  test("upstream's client with -M--copy-as against our daemon, as against upstream's (pull, push, a bad user)", async () => {
    fs.cpSync(src, join(work, "push", "ca-d-src"), { recursive: true, preserveTimestamps: true });
    for (const spec of ["nobody", "nosuch"]) {
      const ours = writableDest(join(work, `ca-d-${spec}-ours`));
      const theirs = writableDest(join(work, `ca-d-${spec}-theirs`));
      const a = await runRsync(["-ai", `-M--copy-as=${spec}`, ourDaemon.url("push", "ca-d-src/"), `${ours}/`]);
      const b = await runRsync(["-ai", `-M--copy-as=${spec}`, upstreamDaemon.url("push", "ca-d-src/"), `${theirs}/`]);
      expectSameRun(a, b, [ours], [theirs]);
      expect(snapshot(ours, { ignoreDirTimes: true })).toEqual(snapshot(theirs, { ignoreDirTimes: true }));
    }
    // The daemon writes as nobody: what it makes is nobody's.
    const a = await runRsync(["-ai", "-M--copy-as=nobody", `${src}/public`, ourDaemon.url("push", "ca-d-pushed-ours")]);
    const b = await runRsync(["-ai", "-M--copy-as=nobody", `${src}/public`, upstreamDaemon.url("push", "ca-d-pushed-theirs")]);
    expectSameRun(a, b);
    const mine = fs.statSync(join(work, "push", "ca-d-pushed-ours"));
    expect(mine.uid).toBe(NOBODY);
    expect(mine.uid).toBe(fs.statSync(join(work, "push", "ca-d-pushed-theirs")).uid);
  });

  for (const direction of ["push", "pull"] as const) {
    test(`upstream's client with -M--copy-as=nobody and our --server over a remote shell (${direction})`, async () => {
      const ours = writableDest(join(work, `ca-rsh-${direction}-ours`));
      const theirs = writableDest(join(work, `ca-rsh-${direction}-theirs`));
      const args = (dest: string) => (direction === "push" ? [`${src}/`, `host:${dest}/`] : [`host:${src}/`, `${dest}/`]);
      const a = await runRsync(["-ai", "-M--copy-as=nobody", "-e", rsh, `--rsync-path=${OUR_SERVER}`, ...args(ours)]);
      const b = await runRsync(["-ai", "-M--copy-as=nobody", "-e", rsh, ...args(theirs)]);
      expectSameRun(a, b, [ours, basename(ours)], [theirs, basename(theirs)]);
      expect(snapshot(ours, { ignoreDirTimes: true })).toEqual(snapshot(theirs, { ignoreDirTimes: true }));
    });
  }
});
