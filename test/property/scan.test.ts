/**
 * The directory scan (Core.scanDir), native and TypeScript: for random trees
 * of every kind of entry (names of any bytes, files of any size, symlinks,
 * fifos, devices, hard links, negative and sub-second mtimes) both must equal
 * what the walker did before, readdirSync order plus entryStatOf(lstatSync)
 * per entry, for every directory, with and without prefetching (all
 * directories hinted, then scanned in another order). Entries whose lstat
 * fails carry its errno; a directory's own error is node's error, property
 * for property.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { entryStatOf } from "../../src/native/api.ts";
import { mknod, setTimes } from "../../src/fs/libc.ts";
import { core, tsCore, type Core, type DirScan } from "../../src/native/index.ts";

const CORES: Array<[string, Core]> = [
  ["native", core],
  ["typescript", tsCore],
];
const NATIVE = core.caps.kind === "native";
const ROOT = process.getuid?.() === 0;
const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

const bytes = (s: string | Uint8Array) => new Uint8Array(Buffer.from(s));
const asBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const child = (dir: Uint8Array, name: Uint8Array) => Buffer.concat([dir, Buffer.from("/"), name]);
const hex = (b: Uint8Array) => asBuffer(b).toString("hex");

/** The walker's way before the scan existed: readdirSync, then entryStatOf(lstatSync) per entry. */
function oracle(dir: Uint8Array): DirScan {
  const names = readdirSync(dir);
  const stats = names.map((name) => {
    try {
      return entryStatOf(fs.lstatSync(child(dir, name), { bigint: true }));
    } catch (e) {
      return -(e as NodeJS.ErrnoException).errno!;
    }
  });
  return { names, stats };
}

const readdirSync = (dir: Uint8Array) => fs.readdirSync(asBuffer(dir), { encoding: "buffer" }).map((n) => new Uint8Array(n));

/** A stat or errno as text: keys sorted, bigints marked. */
const statText = (s: unknown) =>
  JSON.stringify(typeof s === "object" && s !== null ? Object.fromEntries(Object.entries(s).sort()) : s, (_, v) => (typeof v === "bigint" ? `${v}n` : v));

/** One line per entry (name in hex, then its stat or errno), for one readable comparison. */
function canon(scan: DirScan): string[] {
  expect(scan.stats.length).toBe(scan.names.length);
  return scan.names.map((name, i) => `${hex(name)} ${statText(scan.stats[i])}`);
}

/** Every directory under (and including) `root`, symlinks not followed. */
function allDirs(root: Uint8Array): Uint8Array[] {
  const dirs = [root];
  for (let i = 0; i < dirs.length; i++) {
    for (const name of readdirSync(dirs[i]!)) {
      const path = child(dirs[i]!, name);
      if ((fs.lstatSync(path).mode & S_IFMT) === S_IFDIR) dirs.push(new Uint8Array(path));
    }
  }
  return dirs;
}

/** Runs `f` unable to read what only root can (euid nobody), as an ordinary user does anyway. */
function unprivileged<T>(f: () => T): T {
  if (!ROOT) return f();
  process.seteuid!(65534);
  try {
    return f();
  } finally {
    process.seteuid!(0);
  }
}

type Node =
  | { kind: "file"; size: number; mtime: number; nsec: number }
  | { kind: "sparse"; size: number }
  | { kind: "symlink"; target: Uint8Array; mtime: number }
  | { kind: "fifo" }
  | { kind: "device"; major: number; minor: number }
  | { kind: "hardlink"; to: number }
  | { kind: "dir"; children: Array<[Uint8Array, Node]>; mtime: number; nsec: number };

/** Any bytes but NUL and "/" (mapped to "_"), never "." or ".."; some ordinary, some of NAME_MAX. */
const nameArb = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom("a", "b.txt", "ı", "name with spaces", "-x", ".hidden", "...", "\n").map(bytes) },
  {
    weight: 3,
    arbitrary: fc
      .uint8Array({ minLength: 1, maxLength: 16, min: 1, max: 255 })
      .map((n) => n.map((c) => (c === 0x2f ? 0x5f : c)))
      .map((n) => (n.length <= 2 && n.every((c) => c === 0x2e) ? Uint8Array.of(0x2e, 0x5f) : n)),
  },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 255 }).map((n) => bytes("L".repeat(n))) },
);

const mtimeArb = fc.integer({ min: -2_000_000_000, max: 4_000_000_000 });
const nsecArb = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 999_999_999 }));

const leafArb: fc.Arbitrary<Node> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("file" as const), size: fc.oneof(fc.constant(0), fc.nat(5000), fc.nat(200_000)), mtime: mtimeArb, nsec: nsecArb }) },
  // Sizes past 2^32 (sparse): the native record carries them in two halves.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("sparse" as const), size: fc.integer({ min: 2 ** 32 - 1, max: 2 ** 40 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("symlink" as const), target: fc.uint8Array({ minLength: 1, maxLength: 40, min: 1, max: 255 }), mtime: mtimeArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: "fifo" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("device" as const), major: fc.nat(4095), minor: fc.nat(0xfffff) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("hardlink" as const), to: fc.nat() }) },
);

const treeArb: fc.Arbitrary<Node> = fc.letrec<{ node: Node; dir: Node }>((tie) => ({
  node: fc.oneof({ depthSize: "small", withCrossShrink: true }, leafArb, tie("dir")),
  dir: fc.record({
    kind: fc.constant("dir" as const),
    children: fc.uniqueArray(fc.tuple(nameArb, tie("node")), { maxLength: 8, selector: ([name]) => hex(name) }),
    mtime: mtimeArb,
    nsec: nsecArb,
  }),
})).dir;

/** Makes the tree at `path`; hard links are made last, to the regular files made before. */
function materialize(path: Buffer, tree: Node): void {
  const files: Buffer[] = [];
  const links: Array<[Buffer, number]> = [];
  const make = (p: Buffer, node: Node): void => {
    switch (node.kind) {
      case "file":
        fs.writeFileSync(p, Buffer.alloc(node.size, 0x61));
        setTimes(p, node.mtime, node.nsec, false);
        files.push(p);
        return;
      case "sparse":
        fs.writeFileSync(p, "");
        fs.truncateSync(p, node.size);
        files.push(p);
        return;
      case "symlink":
        fs.symlinkSync(asBuffer(node.target), p);
        setTimes(p, node.mtime, 0, true);
        return;
      case "fifo":
        mknod(p, S_IFIFO | 0o644, 0, 0);
        return;
      case "device":
        // Only root may make devices; anyone else gets a fifo.
        if (ROOT) mknod(p, S_IFCHR | 0o600, node.major, node.minor);
        else mknod(p, S_IFIFO | 0o600, 0, 0);
        return;
      case "hardlink":
        links.push([p, node.to]);
        return;
      case "dir":
        fs.mkdirSync(p);
        for (const [name, c] of node.children) make(child(p, name), c);
        return;
    }
  };
  make(path, tree);
  for (const [p, to] of links) {
    if (files.length > 0) fs.linkSync(files[to % files.length]!, p);
    else fs.writeFileSync(p, "");
  }
  // Directory times last: making their contents changed them.
  const setDirTimes = (p: Buffer, node: Node): void => {
    if (node.kind !== "dir") return;
    for (const [name, c] of node.children) setDirTimes(child(p, name), c);
    setTimes(p, node.mtime, node.nsec, false);
  };
  setDirTimes(path, tree);
}

/** Core.scanDirAt of `dir` opened for it (and closed after). */
function scanThroughFd(c: Core, dir: Uint8Array): DirScan {
  const fd = fs.openSync(asBuffer(dir), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    return c.scanDirAt(fd, dir);
  } finally {
    fs.closeSync(fd);
  }
}

let work: string;
let run = 0;
/** A fresh directory under the test's work directory. */
const fresh = (what: string) => Buffer.from(join(work, `${what}-${run++}`));

beforeAll(() => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-scan-"));
  // Searchable by the unprivileged user of the permission tests.
  fs.chmodSync(work, 0o755);
});

afterAll(() => {
  core.endScans();
  fs.rmSync(work, { recursive: true, force: true });
});

describe("random trees", () => {
  test("every directory: native = twin = readdirSync + lstatSync, with and without prefetching", () => {
    fc.assert(
      fc.property(treeArb, fc.nat(), (tree, seed) => {
        const root = fresh("tree");
        materialize(root, tree);
        const dirs = allDirs(new Uint8Array(root));
        const expected = new Map(dirs.map((d) => [hex(d), canon(oracle(d))]));
        for (const d of dirs) {
          for (const [, c] of CORES) expect(canon(c.scanDir(d))).toEqual(expected.get(hex(d))!);
          for (const [, c] of CORES) expect(canon(scanThroughFd(c, d))).toEqual(expected.get(hex(d))!);
        }
        // Hinted all at once, then taken in another order (rotated, every other one reversed).
        core.prefetchDirs(dirs);
        const shift = seed % dirs.length;
        const order = [...dirs.slice(shift), ...dirs.slice(0, shift)];
        if (seed % 2 === 1) order.reverse();
        for (const d of order) expect(canon(core.scanDir(d))).toEqual(expected.get(hex(d))!);
        core.endScans();
        fs.rmSync(root, { recursive: true, force: true });
      }),
      { numRuns: 100 },
    );
  });

  test("a symlink to a directory is followed", () => {
    const root = fresh("follow");
    materialize(root, { kind: "dir", mtime: 0, nsec: 0, children: [[bytes("f"), { kind: "file", size: 3, mtime: 5, nsec: 6 }]] });
    const link = fresh("link");
    fs.symlinkSync(root, link);
    for (const [, c] of CORES) expect(canon(c.scanDir(new Uint8Array(link)))).toEqual(canon(oracle(new Uint8Array(root))));
    // "dir/" and "dir" scan alike.
    for (const [, c] of CORES) expect(canon(c.scanDir(new Uint8Array(Buffer.concat([root, Buffer.from("/")]))))).toEqual(canon(oracle(new Uint8Array(root))));
  });
});

describe("scans through a descriptor (scanDirAt)", () => {
  test("the directory opened, even once its path leads elsewhere (moved, and a symlink in its place)", () => {
    const dir = fresh("held");
    materialize(dir, { kind: "dir", mtime: 0, nsec: 0, children: [[bytes("inside"), { kind: "file", size: 3, mtime: 5, nsec: 6 }]] });
    const elsewhere = fresh("elsewhere");
    materialize(elsewhere, { kind: "dir", mtime: 0, nsec: 0, children: [[bytes("outside"), { kind: "file", size: 9, mtime: 7, nsec: 0 }]] });
    const moved = fresh("moved");
    const expected = canon(oracle(new Uint8Array(dir)));
    for (const [, c] of CORES) {
      const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
      try {
        fs.renameSync(dir, moved);
        fs.symlinkSync(elsewhere, dir);
        const scan = c.scanDirAt(fd, new Uint8Array(dir));
        expect(canon(scan)).toEqual(expected);
        expect(scan.names.map((n) => asBuffer(n).toString())).toEqual(["inside"]);
      } finally {
        fs.closeSync(fd);
        fs.unlinkSync(dir);
        fs.renameSync(moved, dir);
      }
    }
  });

  test("a descriptor of no directory: the same node-style error", () => {
    const file = fresh("plain");
    fs.writeFileSync(file, "x");
    const failure = (c: Core) => {
      const fd = fs.openSync(file, "r");
      try {
        c.scanDirAt(fd, new Uint8Array(file));
      } catch (e) {
        const { code, errno, syscall, message } = e as NodeJS.ErrnoException;
        return { code, errno, syscall, message };
      } finally {
        fs.closeSync(fd);
      }
      return null;
    };
    expect(failure(tsCore)).toEqual({ code: "ENOTDIR", errno: -20, syscall: "scandir", message: `ENOTDIR: not a directory, scandir '${file}'` });
    expect(failure(core)).toEqual(failure(tsCore));
  });
});

describe("big directories", () => {
  test("100k entries, prefetched or not", () => {
    const dir = fresh("big");
    fs.mkdirSync(dir);
    // Hard links are the cheapest entries to make (to 4 files: ext4 allows 65000 links each); names of every length up to NAME_MAX.
    const originals = [0, 1, 2, 3].map((i) => child(dir, bytes(String(i))));
    for (const f of originals) fs.writeFileSync(f, "x");
    for (let i = 4; i < 100_000; i++) fs.linkSync(originals[i % 4]!, child(dir, bytes(`${i}-${"n".repeat(i % 250)}`)));
    const d = new Uint8Array(dir);
    const expected = canon(oracle(d));
    expect(expected.length).toBe(100_000);
    for (const [, c] of CORES) expect(canon(c.scanDir(d))).toEqual(expected);
    // More than the native side's first buffer (which endScans shrinks back): scanDirAt's retry too.
    core.endScans();
    for (const [, c] of CORES) expect(canon(scanThroughFd(c, d))).toEqual(expected);
    core.prefetchDirs([d]);
    expect(canon(core.scanDir(d))).toEqual(expected);
    core.endScans();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  test("more hints than the bounds hold: every scan is still right", () => {
    const root = fresh("many");
    fs.mkdirSync(root);
    const dirs: Uint8Array[] = [];
    for (let i = 0; i < 600; i++) {
      const d = child(root, bytes(`d${i}`));
      fs.mkdirSync(d);
      fs.writeFileSync(child(d, bytes(`f${i}`)), "x".repeat(i));
      dirs.push(new Uint8Array(d));
    }
    const expected = dirs.map((d) => canon(oracle(d)));
    core.prefetchDirs(dirs);
    core.prefetchDirs(dirs);
    for (let i = dirs.length - 1; i >= 0; i--) expect(canon(core.scanDir(dirs[i]!))).toEqual(expected[i]!);
    core.endScans();
  });
});

describe("prefetched results", () => {
  test("a result is taken once, and endScans drops the ones not taken", () => {
    const dir = fresh("taken");
    fs.mkdirSync(dir);
    fs.writeFileSync(child(dir, bytes("a")), "1");
    const d = new Uint8Array(dir);
    const before = canon(oracle(d));
    core.prefetchDirs([d]);
    Bun.sleepSync(100);
    fs.writeFileSync(child(dir, bytes("b")), "2");
    const after = canon(oracle(d));
    // Made before or after "b" appeared (the workers' timing), but once taken it is gone.
    expect([before, after]).toContainEqual(canon(core.scanDir(d)));
    expect(canon(core.scanDir(d))).toEqual(after);

    core.prefetchDirs([d]);
    Bun.sleepSync(100);
    fs.writeFileSync(child(dir, bytes("c")), "3");
    core.endScans();
    expect(canon(core.scanDir(d))).toEqual(canon(oracle(d)));
    expect(core.scanDir(d).names.length).toBe(3);
  });

  test("an entry that vanishes between the read and its lstat gets ENOENT", () => {
    if (!NATIVE) return;
    // A worker reads names a thousand at a time and lstats them one by one, while this thread
    // deletes them from the other end: the two meet inside a batch of names already read.
    let vanished = 0;
    for (let attempt = 0; attempt < 20 && vanished === 0; attempt++) {
      const dir = fresh("vanish");
      fs.mkdirSync(dir);
      const first = child(dir, bytes("0"));
      fs.writeFileSync(first, "");
      for (let i = 1; i < 20_000; i++) fs.linkSync(first, child(dir, bytes(String(i))));
      const d = new Uint8Array(dir);
      const names = readdirSync(d);
      core.prefetchDirs([d]);
      for (let i = names.length - 1; i >= 0; i--) fs.unlinkSync(child(dir, names[i]!));
      const scan = core.scanDir(d);
      for (const s of scan.stats) {
        if (typeof s === "number") {
          expect(s).toBe(2);
          vanished++;
        } else expect(s.mode & S_IFMT).toBe(0o100000);
      }
    }
    expect(vanished).toBeGreaterThan(0);
  }, 120_000);
});

describe("entries whose lstat fails", () => {
  test("a readable but unsearchable directory: names, and EACCES for each", () => {
    const dir = fresh("noexec");
    fs.mkdirSync(dir);
    for (const n of [bytes("a"), bytes("b"), Uint8Array.of(0xff)]) fs.writeFileSync(child(dir, n), n);
    fs.chmodSync(dir, 0o644);
    const d = new Uint8Array(dir);
    const expected = unprivileged(() => canon(oracle(d)));
    expect(expected.map((line) => line.split(" ")[1])).toEqual(["13", "13", "13"]);
    for (const [, c] of CORES) expect(unprivileged(() => canon(c.scanDir(d)))).toEqual(expected);
    unprivileged(() => {
      core.prefetchDirs([d]);
      expect(canon(core.scanDir(d))).toEqual(expected);
    });
  });
});

describe("errors of the directory itself", () => {
  /** What f threw, with the properties node sets. */
  function thrown(f: () => unknown): Record<string, unknown> {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(Error);
      const { code, errno, syscall, path, message } = e as NodeJS.ErrnoException;
      return { code, errno, syscall, path, message };
    }
    throw new Error("no error thrown");
  }

  let cases: Array<[string, Uint8Array]>;
  beforeAll(() => {
    const base = fresh("errors");
    fs.mkdirSync(base);
    const at = (n: string | Uint8Array) => child(base, bytes(n));
    fs.writeFileSync(at("file"), "x");
    mknod(at("fifo"), S_IFIFO | 0o644, 0, 0);
    fs.symlinkSync("nowhere", at("dangling"));
    fs.symlinkSync("loop2", at("loop1"));
    fs.symlinkSync("loop1", at("loop2"));
    fs.mkdirSync(at("closed"), 0o000);
    fs.chmodSync(at("closed"), 0o000);
    const named: Array<[string, Buffer]> = [
      ["missing", at("missing")],
      ["a file", at("file")],
      ["a fifo", at("fifo")],
      ["a dangling symlink", at("dangling")],
      ["a symlink loop", at("loop1")],
      ["through a file", at("file/x")],
      ["a name longer than NAME_MAX", at("n".repeat(256))],
      ["a missing name that is not UTF-8", at(Uint8Array.of(0x6d, 0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82))],
      ["an unreadable directory", at("closed")],
    ];
    cases = named.map(([what, p]) => [what, new Uint8Array(p)]);
  });

  test("node's error, property for property, from both cores, prefetched or not", () => {
    for (const [what, path] of cases) {
      unprivileged(() => {
        const node = thrown(() => fs.readdirSync(asBuffer(path), { encoding: "buffer" }));
        expect(node.syscall, what).toBe("scandir");
        for (const [, c] of CORES) expect(thrown(() => c.scanDir(path)), what).toEqual(node);
        core.prefetchDirs([path]);
        Bun.sleepSync(5);
        expect(thrown(() => core.scanDir(path)), what).toEqual(node);
      });
    }
    core.endScans();
  });

  test("with --open-noatime (the directory opened through libc): still node's error, from both cores", () => {
    for (const [, c] of CORES) c.scanNoatime(true);
    try {
      for (const [what, path] of cases) {
        unprivileged(() => {
          const node = thrown(() => fs.readdirSync(asBuffer(path), { encoding: "buffer" }));
          for (const [, c] of CORES) expect(thrown(() => c.scanDir(path)), what).toEqual(node);
        });
      }
    } finally {
      for (const [, c] of CORES) c.scanNoatime(false);
    }
  });

  test("a path of PATH_MAX bytes or more: node's code and errno", () => {
    // Bun refuses it before asking the system (syscall "open"): only the code and errno are node's here.
    const path = bytes(`/${"d/".repeat(2100)}`);
    const node = thrown(() => fs.readdirSync(asBuffer(path)));
    for (const [, c] of CORES) {
      const e = thrown(() => c.scanDir(path));
      expect([e.code, e.errno]).toEqual([node.code, node.errno]);
      expect(e.code).toBe("ENAMETOOLONG");
    }
  });

  test("an empty path or one with a NUL: node's argument errors", () => {
    for (const path of [new Uint8Array(0), bytes("/tmp\0/x")]) {
      const node = thrown(() => fs.readdirSync(asBuffer(path)));
      for (const [, c] of CORES) expect(thrown(() => c.scanDir(path)).code).toBe(node.code);
      // Hints with them are ignored, not fatal.
      core.prefetchDirs([path]);
    }
  });
});

test("with OC_RSYNC_NATIVE=0 the twin scans", () => {
  const dir = fresh("env");
  materialize(dir, { kind: "dir", mtime: 1, nsec: 2, children: [[Uint8Array.of(0xfe, 0x80), { kind: "file", size: 9, mtime: -5, nsec: 7 }], [bytes("s"), { kind: "fifo" }]] });
  const script = `
    import { core } from ${JSON.stringify(join(import.meta.dir, "../../src/native/index.ts"))};
    const scan = core.scanDir(new Uint8Array(Buffer.from(process.argv[1], "hex")));
    core.prefetchDirs([]);
    core.endScans();
    console.log(JSON.stringify({ kind: core.caps.kind, scan: { names: scan.names.map((n) => Buffer.from(n).toString("hex")), stats: scan.stats } }, (_, v) => (typeof v === "bigint" ? v + "n" : v)));
  `;
  const r = Bun.spawnSync([process.execPath, "-e", script, dir.toString("hex")], { env: { ...process.env, OC_RSYNC_NATIVE: "0" } });
  expect(r.stderr.toString()).toBe("");
  const out = JSON.parse(r.stdout.toString());
  expect(out.kind).toBe("typescript");
  const expected = oracle(new Uint8Array(dir));
  expect(out.scan.names).toEqual(expected.names.map(hex));
  // Bigints came as "<digits>n" text, as statText writes them.
  const revive = (s: unknown) => (typeof s === "object" && s !== null ? Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === "string" ? BigInt(v.slice(0, -1)) : v])) : s);
  expect(out.scan.stats.map((s: unknown) => statText(revive(s)))).toEqual(expected.stats.map(statText));
});
