/**
 * The sending side's file list: FlistBuilder's semantics on local trees, and
 * golden bytes against upstream. For the latter Debian's rsync daemon serves
 * a tree (files, directories, symlinks, hard links within and across
 * directories, nanosecond mtimes, non-UTF-8 and long names, and as root
 * several owners and groups, devices and a fifo); upstream's client pulls it
 * with -n through a recording proxy, and the data stream's list bytes must be
 * exactly (a) what our builder + encoder make of the same tree with the
 * options the daemon's sender got, and (b) what our encoder makes of the
 * entries our decoder reads from those bytes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuildOptions, FlistBuilder, cleanFname, nodeWalkFs, unsafeSymlink, type WalkFs } from "../../src/flist/build.ts";
import { FlistDecoder, IOERR_GENERAL, XMIT, type FlistWireOptions } from "../../src/flist/decode.ts";
import { FlistEncoder, type FlistEncodeOptions, SF } from "../../src/flist/encode.ts";
import { mapIdNames, systemIdNames } from "../../src/flist/id-names.ts";
import type { FileList } from "../../src/flist/lists.ts";
import { FileListSender } from "../../src/flist/send-lists.ts";
import { F, FileTable, isDir } from "../../src/flist/table.ts";
import { fileListHasher, impliedSum, sumByName } from "../../src/protocol/checksum-choice.ts";
import { NDX_FLIST_EOF, NDX_FLIST_OFFSET, NdxDecoder, NdxEncoder } from "../../src/protocol/ndx.ts";
import { ChunkReader } from "../../src/protocol/reader.ts";
import { CF } from "../../src/protocol/setup.ts";
import { ByteWriter } from "../../src/protocol/writer.ts";
import { setTimes } from "../../src/fs/libc.ts";
import { startUpstreamDaemon, type RunningDaemon } from "../helpers/daemon.ts";
import { splitDaemonStream } from "../helpers/daemon-stream.ts";
import { joined, startRecordingProxy, type RecordingProxy } from "../helpers/record-proxy.ts";
import { runRsync } from "../helpers/run.ts";
import { ageTree } from "../helpers/tree.ts";

const b = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
const s = (x: Uint8Array) => Buffer.from(x).toString("latin1");
const isRoot = process.getuid?.() === 0;

function buildOptions(over: Partial<BuildOptions> = {}): BuildOptions {
  return {
    protocol: 31,
    recursive: true,
    dirs: true,
    relative: false,
    impliedDirs: true,
    incRecurse: false,
    preserveLinks: true,
    copyLinks: false,
    copyUnsafeLinks: false,
    copyDirlinks: false,
    oneFileSystem: 0,
    preserveHardLinks: false,
    ...over,
  };
}

// ---------------------------------------------------------------------------------------------

describe("path helpers", () => {
  test.each([
    ["a//b/./c/", 0, "a/b/c"],
    ["./a", 0, "a"],
    ["/a/./b", 0, "/a/b"],
    ["", 0, "."],
    ["./", 0, "."],
    ["a/.", 0, "a/."],
    ["a/.", 2, "a"],
    ["a/.", 3, "a/"],
    ["a/b/", 1, "a/b/"],
    ["//", 0, "/"],
  ] as [string, number, string][])("cleanFname(%j, %d) = %j", (name, flags, want) => {
    expect(s(cleanFname(b(name), flags))).toBe(want);
  });

  test.each([
    ["/etc/passwd", "x", true],
    ["", "x", true],
    ["a", "x", false],
    ["../a", "x", true],
    ["../a", "d/x", false],
    ["../../a", "d/x", true],
    ["d/../../a", "x", true],
    ["..", "d/x", false],
    ["..", "x", true],
    ["a/..", "x", true],
    ["./../a", "d/x", true], // "/../" after the leading "./"
    ["../a", "../d/x", false], // ".." in the source starts the count over
    ["sub/../x", "d/x", true],
  ] as [string, string, boolean][])("unsafeSymlink(%j at %j) = %p", (dest, src, want) => {
    expect(unsafeSymlink(b(dest), b(src))).toBe(want);
  });
});

// ---------------------------------------------------------------------------------------------
// Semantics on a local tree (no upstream needed)

function wireBase(protocol: number): FlistEncodeOptions {
  return {
    protocol,
    varintFlags: protocol >= 30,
    safeFlist: protocol >= 31,
    preserveUid: true,
    preserveGid: true,
    preserveLinks: true,
    preserveDevices: true,
    preserveSpecials: true,
    preserveHardLinks: false,
    checksumLength: 0,
    relativePaths: false,
    recursive: true,
    incRecurse: false,
    numericIds: 0,
    id0Names: protocol >= 30,
  };
}

let work: string;

/** src/: a, d/b, d/e/f, d/e/g, link -> a, dangling -> nowhere, abs -> /etc/hostname, ldir -> d, empty/ */
function smallTree(root: string): void {
  fs.mkdirSync(join(root, "d/e"), { recursive: true });
  fs.mkdirSync(join(root, "empty"));
  fs.writeFileSync(join(root, "a"), "aaa");
  fs.writeFileSync(join(root, "d/b"), "b");
  fs.writeFileSync(join(root, "d/e/f"), "f");
  fs.writeFileSync(join(root, "d/e/g"), "g");
  fs.symlinkSync("a", join(root, "link"));
  fs.symlinkSync("nowhere", join(root, "dangling"));
  fs.symlinkSync("/etc/hostname", join(root, "abs"));
  fs.symlinkSync("d", join(root, "ldir"));
}

interface Built {
  builder: FlistBuilder;
  /** Names in transmission order, list by list, with a type letter and flags. */
  sent: string[][];
  messages: string[];
}

/** Builds all lists for `args` (relative to `root`) and records what was emitted. */
function buildAll(root: string, args: string[], over: Partial<BuildOptions> = {}, fsImpl?: WalkFs): Built {
  const messages: string[] = [];
  const builder = new FlistBuilder(buildOptions({ onMessage: (k, t) => messages.push(`${k}: ${t}`), ...over }), root, fsImpl);
  const sent: string[][] = [];
  const t = builder.table;
  const describeRow = (row: number) => {
    const m = t.mode[row]!;
    const kind = isDir(m) ? "d" : (m & 0o170000) === 0o120000 ? "l" : (m & 0o170000) === 0o100000 ? "f" : "o";
    const fl = t.flags[row]!;
    const tags = isDir(m) ? `${fl & F.TOP_DIR ? "T" : ""}${fl & F.CONTENT_DIR ? "C" : ""}${fl & F.IMPLIED_DIR ? "I" : ""}${fl & SF.MOUNT_DIR ? "M" : ""}` : "";
    return `${kind}:${s(builder.nameOf(row))}${tags ? `:${tags}` : ""}`;
  };
  let current: string[] = [];
  const emit = (row: number) => current.push(describeRow(row));
  builder.firstList(args.map(b), emit);
  sent.push(current);
  while (builder.nextSubListDir >= 0) {
    current = [`[${builder.nextSubListDir}]`];
    builder.nextSubList(emit);
    sent.push(current);
  }
  return { builder, sent, messages };
}

/** Names of a list's rows in sorted (index) order. */
const sortedNames = (builder: FlistBuilder, list: FileList) =>
  Array.from({ length: list.count }, (_, i) => s(builder.nameOf(list.ndxStart + i)));

describe("FlistBuilder", () => {
  let root: string;
  beforeAll(() => {
    work = fs.mkdtempSync(join(tmpdir(), "oc-flist-build-"));
    root = join(work, "src");
    fs.mkdirSync(root);
    smallTree(root);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  const sortedSet = (x: string[]) => [...x].sort();

  test('"dir/" sends "." and names relative to it; "dir" sends "dir/..."', () => {
    const dot = buildAll(work, ["src/"]);
    expect(dot.sent.length).toBe(1);
    expect(dot.sent[0]![0]).toBe("d:.:TC");
    expect(sortedSet(dot.sent[0]!)).toEqual(
      sortedSet(["d:.:TC", "f:a", "d:d:C", "f:d/b", "d:d/e:C", "f:d/e/f", "f:d/e/g", "l:link", "l:dangling", "l:abs", "l:ldir", "d:empty:C"]),
    );
    const named = buildAll(work, ["src"]);
    expect(named.sent[0]![0]).toBe("d:src:TC");
    expect(named.sent[0]!.every((n) => n.includes(":src"))).toBe(true);
    expect(buildAll(root, ["."]).sent).toEqual(dot.sent);
    expect(buildAll(work, ["src/."]).sent).toEqual(dot.sent);
  });

  test("the list is sorted as f_name_cmp orders it, files before directories", () => {
    const { builder } = buildAll(root, ["."]);
    expect(sortedNames(builder, builder.lists.lists[0]!)).toEqual([".", "a", "abs", "dangling", "ldir", "link", "d", "d/b", "d/e", "d/e/f", "d/e/g", "empty"]);
  });

  test("-d without -r: a dot-dir's contents without recursion; a named dir alone; nothing without -d", () => {
    const d = buildAll(root, ["."], { recursive: false, dirs: true });
    expect(sortedSet(d.sent[0]!)).toEqual(sortedSet(["d:.:TC", "f:a", "d:d", "l:link", "l:dangling", "l:abs", "l:ldir", "d:empty"]));
    expect(buildAll(work, ["src"], { recursive: false, dirs: true }).sent).toEqual([["d:src"]]);
    const none = buildAll(work, ["src", "src/a"], { recursive: false, dirs: false });
    expect(none.sent).toEqual([["f:a"]]);
    expect(none.messages).toEqual(["info: skipping directory src"]);
  });

  test("-R: implied directories first, /./ cuts the path, a leading ./ sends '.'", () => {
    const r = buildAll(work, ["src/d/e/f", "src/d/e/g"], { relative: true, recursive: false, protocol: 31 });
    expect(r.sent).toEqual([["d:src:I", "d:src/d:I", "d:src/d/e:I", "f:src/d/e/f", "f:src/d/e/g"]]);
    expect(buildAll(work, ["src/./d/e"], { relative: true }).sent[0]!.slice(0, 2)).toEqual(["d:d:I", "d:d/e:TC"]);
    expect(buildAll(root, ["./d/b"], { relative: true, recursive: false }).sent).toEqual([["d:.:I", "d:d:I", "f:d/b"]]);
    // --no-implied-dirs counts before protocol 30 only.
    expect(buildAll(work, ["src/d/b"], { relative: true, recursive: false, impliedDirs: false, protocol: 29 }).sent).toEqual([["f:src/d/b"]]);
    expect(buildAll(work, ["src/d/b"], { relative: true, recursive: false, impliedDirs: false, protocol: 30 }).sent[0]!.length).toBe(3);
    expect(() => buildAll(work, ["src/../src/a"], { relative: true })).toThrow('found ".." dir in relative path');
  });

  test("-R with an absolute path keeps the leading slash, also on a single component", () => {
    const r = buildAll("/", [`${root}/a`], { relative: true, recursive: false });
    const parts = root.split("/").filter(Boolean);
    const implied = parts.map((_, i) => `d:/${parts.slice(0, i + 1).join("/")}:I`);
    expect(r.sent).toEqual([[...implied, `f:${root}/a`]]);
    expect(r.builder.table.flags[r.builder.lists.lists[0]!.ndxStart]! & SF.ANCHORED).toBeTruthy();
  });

  test("incremental recursion: first list, then one list per directory, depth first in sorted order", () => {
    const r = buildAll(root, ["."], { incRecurse: true });
    expect(sortedSet(r.sent[0]!)).toEqual(sortedSet(["d:.:TC", "f:a", "d:d:C", "l:link", "l:dangling", "l:abs", "l:ldir", "d:empty:C"]));
    // dirList: ".", "d", "empty" (first list, sorted); then "d"'s list adds "d/e".
    expect(r.sent.slice(1).map((l) => l[0])).toEqual(["[1]", "[3]", "[2]"]);
    expect(sortedSet(r.sent[1]!.slice(1))).toEqual(["d:d/e:C", "f:d/b"]);
    expect(sortedSet(r.sent[2]!.slice(1))).toEqual(["f:d/e/f", "f:d/e/g"]);
    expect(r.sent[3]).toEqual(["[2]"]);
    const { lists } = r.builder;
    expect(lists.lists.map((l) => [l.ndxStart, l.count, l.parentDir])).toEqual([
      [1, 8, 0],
      [10, 2, 1],
      [13, 2, 3],
      [16, 0, 2],
    ]);
    expect(lists.eof).toBe(true);
  });

  test("incremental recursion: directories with the same name share one list", () => {
    fs.mkdirSync(join(work, "other/d"), { recursive: true });
    fs.writeFileSync(join(work, "other/d/z"), "z");
    const r = buildAll(work, ["src/d", "other/d"], { incRecurse: true });
    expect(r.sent[0]).toEqual(["d:d:TC", "d:d:TC"]);
    expect(sortedSet(r.sent[1]!)).toEqual(sortedSet(["[0]", "d:d/e:C", "f:d/b", "f:d/z"]));
    expect(r.sent.length).toBe(3); // then d/e
  });

  test("incremental -R: deeper path components travel in their parents' lists", () => {
    const r = buildAll(work, ["src/d/e/f"], { incRecurse: true, relative: true });
    expect(r.sent).toEqual([["d:src:I"], ["[0]", "d:src/d:I"], ["[1]", "d:src/d/e:I"], ["[2]", "f:src/d/e/f"]]);
  });

  test("-L follows links (a dangling one is an error), --copy-unsafe-links only those leaving the tree", () => {
    const l = buildAll(root, ["."], { copyLinks: true });
    expect(l.sent[0]).toContain("f:link");
    expect(l.sent[0]).toContain("d:ldir:C");
    expect(l.sent[0]).toContain("f:ldir/e/f");
    expect(l.sent[0]).not.toContain("l:dangling");
    expect(l.builder.ioError).toBe(IOERR_GENERAL);
    expect(l.messages.some((m) => m.startsWith("error: symlink has no referent:") && m.endsWith('/src/dangling"'))).toBe(true);
    const u = buildAll(root, ["."], { copyUnsafeLinks: true });
    expect(u.sent[0]).toContain("f:abs");
    expect(u.sent[0]).toContain("l:link");
    expect(u.sent[0]).toContain("l:dangling");
    const k = buildAll(root, ["."], { copyDirlinks: true });
    expect(k.sent[0]).toContain("d:ldir:C");
    expect(k.sent[0]).toContain("l:link");
  });

  test("a missing argument is an error (not with --ignore-missing-args); a vanished one is counted", () => {
    const m = buildAll(root, ["nope", "a"]);
    expect(m.sent).toEqual([["f:a"]]);
    expect(m.messages[0]).toMatch(/^error: rsync: \[sender\] link_stat ".*\/src\/nope" failed: No such file or directory \(2\)$/);
    expect(m.builder.ioError).toBe(0); // upstream: ENOENT of an argument does not set io_error
    expect(buildAll(root, ["nope", "a"], { ignoreMissingArgs: true }).messages).toEqual([]);
  });

  test("-H: keys on multiply-linked files (every regular file before protocol 28)", () => {
    fs.linkSync(join(root, "a"), join(root, "d/hard"));
    try {
      const h = buildAll(root, ["."], { preserveHardLinks: true, protocol: 30 });
      const t = h.builder.table;
      const keys = Array.from({ length: h.builder.lists.lists[0]!.count }, (_, i) => [s(h.builder.nameOf(i)), t.extras.get(i)?.hlinkKey]);
      const linked = keys.filter(([, k]) => k !== undefined);
      expect(linked.map(([n]) => n).sort()).toEqual(["a", "d/hard"]);
      expect(linked[0]![1]).toBe(linked[1]![1]);
      expect(linked[0]![1]).toMatch(/^d\d+:\d+$/);
      const old = buildAll(root, ["."], { preserveHardLinks: true, protocol: 27 });
      const regular = Array.from({ length: old.builder.lists.lists[0]!.count }, (_, i) => i).filter((i) => (old.builder.table.mode[i]! & 0o170000) === 0o100000);
      expect(regular.every((i) => old.builder.table.extras.get(i)?.hlinkKey)).toBe(true);
    } finally {
      fs.rmSync(join(root, "d/hard"));
    }
  });

  test("-x: a directory on another device is sent without its contents; -xx leaves it out", () => {
    // A reader that puts d/ on another device (the interface a native walker implements).
    const other = (st: ReturnType<WalkFs["lstat"]>, path: Uint8Array) => (s(path).endsWith("/d") ? { ...st, dev: st.dev + 1n } : st);
    const mounted: WalkFs = { ...nodeWalkFs, lstat: (p) => other(nodeWalkFs.lstat(p), p), stat: (p) => other(nodeWalkFs.stat(p), p) };
    const x = buildAll(root, ["."], { oneFileSystem: 1 }, mounted);
    expect(x.sent[0]).toContain("d:d:M");
    expect(x.sent[0]!.some((n) => n.includes(":d/"))).toBe(false);
    const xx = buildAll(root, ["."], { oneFileSystem: 2 }, mounted);
    expect(xx.sent[0]!.some((n) => /:d($|\/|:)/.test(n))).toBe(false);
    expect(xx.sent[0]).toContain("f:a");
    // Incremental: the mount point gets an (empty) list of its own.
    const inc = buildAll(root, ["."], { oneFileSystem: 1, incRecurse: true }, mounted);
    expect(inc.sent[0]).toContain("d:d:M");
    expect(inc.sent[1]).toEqual(["[1]"]);
    // On the wire (protocol 30+) it is a directory without content.
    const w = new ByteWriter();
    const t = x.builder.table;
    const row = Array.from({ length: x.builder.lists.lists[0]!.count }, (_, i) => i).find((i) => s(x.builder.nameOf(i)) === "d")!;
    const e = new FlistEncoder(t, { ...wireBase(31), incRecurse: false });
    e.writeEntry(w, row, 0);
    const r = new ChunkReader();
    r.push(w.take());
    expect(r.varint() & XMIT.NO_CONTENT_DIR).toBe(XMIT.NO_CONTENT_DIR);
  });

  test("names are bytes: a non-UTF-8 name goes through unchanged", () => {
    const dir = join(work, "bytes");
    fs.mkdirSync(dir);
    fs.writeFileSync(Buffer.concat([Buffer.from(dir + "/"), Buffer.from([0xff, 0xfe, 0x41])]), "x");
    const r = buildAll(dir, ["."]);
    expect(r.sent[0]).toContain("f:\xff\xfeA");
  });

  test("the directory reader can be replaced (a native walker plugs in here)", () => {
    const calls: string[] = [];
    const counting: WalkFs = { ...nodeWalkFs, readDir: (p) => (calls.push(s(p)), nodeWalkFs.readDir(p)) };
    const r = buildAll(root, ["."], {}, counting);
    expect(r.sent[0]!.length).toBe(12);
    expect(sortedSet(calls.map((c) => c.slice(root.length)))).toEqual(["/.", "/d", "/d/e", "/empty"]);
  });
});

// ---------------------------------------------------------------------------------------------
// Golden bytes against upstream

interface Scenario {
  name: string;
  /** Options for upstream's client. */
  client: string[];
  /** Module-relative source paths (the URLs' paths). */
  paths: string[];
  /** What the daemon's sender gets as arguments for them. */
  args: string[];
  /** The sender options those client options amount to. */
  build: Partial<BuildOptions> & { numericIds?: number };
  protocols: number[];
}

const A = { recursive: true, dirs: true, preserveLinks: true };
const SCENARIOS: Scenario[] = [
  { name: "-aH of the module", client: ["-aH"], paths: [""], args: ["."], build: { ...A, preserveHardLinks: true }, protocols: [27, 28, 29, 30, 31, 32] },
  {
    name: "-aH --no-inc-recursive",
    client: ["-aH", "--no-inc-recursive"],
    paths: [""],
    args: ["."],
    build: { ...A, preserveHardLinks: true },
    protocols: [30, 31, 32],
  },
  { name: "-aHc (file checksums)", client: ["-aHc"], paths: [""], args: ["."], build: { ...A, preserveHardLinks: true }, protocols: [29, 30, 31] },
  {
    name: "-a of several arguments",
    client: ["-a"],
    paths: ["d", "a", "sub/", "w/"],
    args: ["d", "a", "sub/", "w/"],
    build: { ...A },
    protocols: [29, 30, 31],
  },
  {
    name: "-aR with implied dirs and /./",
    client: ["-aR"],
    paths: ["d/e/f", "sub/./deeper/x", "a", "d/e/g"],
    args: ["d/e/f", "sub/./deeper/x", "a", "d/e/g"],
    build: { ...A, relative: true },
    protocols: [29, 30, 31],
  },
  {
    name: "-aR of directories with a trailing slash",
    client: ["-aR"],
    paths: ["d/e/", "sub/deeper/", "w/"],
    args: ["d/e/", "sub/deeper/", "w/"],
    build: { ...A, relative: true },
    protocols: [29, 30, 31],
  },
  {
    name: "-aR --no-implied-dirs",
    client: ["-aR", "--no-implied-dirs"],
    paths: ["d/e/f", "sub/deeper"],
    args: ["d/e/f", "sub/deeper"],
    build: { ...A, relative: true, impliedDirs: false },
    protocols: [29, 31],
  },
  { name: "-d (dirs, no recursion)", client: ["-lptgoDd"], paths: [""], args: ["."], build: { recursive: false, dirs: true, preserveLinks: true }, protocols: [29, 30, 31] },
  { name: "-rtL (copy links; a dangling one is an I/O error)", client: ["-rtL"], paths: [""], args: ["."], build: { recursive: true, dirs: true, copyLinks: true }, protocols: [29, 30, 31] },
  {
    name: "-a --copy-unsafe-links -x",
    client: ["-ax", "--copy-unsafe-links"],
    paths: [""],
    args: ["."],
    build: { ...A, copyUnsafeLinks: true, oneFileSystem: 1 },
    protocols: [29, 31],
  },
  { name: "-aH --numeric-ids", client: ["-aH", "--numeric-ids", "--no-inc-recursive"], paths: [""], args: ["."], build: { ...A, preserveHardLinks: true, numericIds: 1 }, protocols: [29, 31] },
];

/** The source tree every golden scenario pulls. */
function goldenTree(root: string): void {
  const p = (x: string) => join(root, x);
  fs.mkdirSync(p("d/e"), { recursive: true });
  fs.mkdirSync(p("sub/deeper"), { recursive: true });
  fs.mkdirSync(p("empty"));
  fs.writeFileSync(p("a"), "hello\n");
  fs.writeFileSync(p("a-b"), "");
  fs.writeFileSync(p("a.b"), "x".repeat(64)); // a multiple of 64 bytes (MD4's block)
  fs.writeFileSync(p("a b"), "x".repeat(100_000));
  fs.writeFileSync(p("d/b"), "b\n");
  fs.linkSync(p("a"), p("d/e/f")); // a group of three, across directories
  fs.linkSync(p("a"), p("h1"));
  fs.writeFileSync(p("d/e/g"), "g\n");
  fs.linkSync(p("d/e/g"), p("x")); // a pair across lists
  fs.writeFileSync(p("h2"), "pair\n");
  fs.linkSync(p("h2"), p("h3")); // a pair in one directory
  fs.writeFileSync(p("sub/deeper/x"), "deep\n");
  fs.symlinkSync("a", p("link"));
  fs.symlinkSync("../a", p("d/up"));
  fs.symlinkSync("/etc/hostname", p("abs"));
  fs.symlinkSync("nowhere", p("dangling"));
  fs.symlinkSync("d", p("ldir"));
  fs.writeFileSync(Buffer.from([...Buffer.from(p("")), 0xff, 0xfe, 0x2d, 0x62]), "not utf-8\n");
  // Names longer than 255 bytes in the list (a suffix that needs LONG_NAME).
  const long1 = `w/${"A".repeat(250)}`;
  const long2 = `w/${"B".repeat(250)}/${"y".repeat(250)}`;
  fs.mkdirSync(p(long1), { recursive: true });
  fs.writeFileSync(p(`${long1}/x`), "x");
  fs.mkdirSync(p(long2), { recursive: true });
  if (isRoot) {
    fs.mkdirSync(p("own"));
    const owned: [string, number, number][] = [
      ["own/daemon", 1, 1],
      ["own/bin", 2, 2],
      ["own/nobody", 65534, 65534],
      ["own/nameless", 4242, 4343],
      ["own/users", 0, 100],
    ];
    for (const [name, uid, gid] of owned) {
      fs.writeFileSync(p(name), name);
      fs.chownSync(p(name), uid, gid);
    }
    fs.chownSync(p("d"), 2, 1);
    fs.lchownSync(p("link"), 1, 2);
    const mknod = (name: string, type: "c" | "b" | "p", major = 0, minor = 0) => {
      const r = Bun.spawnSync(type === "p" ? ["mknod", p(name), "p"] : ["mknod", p(name), type, String(major), String(minor)]);
      if (r.exitCode !== 0) throw new Error(`mknod ${name}: ${r.stderr.toString()}`);
    };
    mknod("own/null", "c", 1, 3);
    mknod("own/disk", "b", 8, 300);
    mknod("own/fifo", "p");
  }
  ageTree(root, 1_600_000_000);
  // A second nanosecond-free mtime, so SAME_TIME and a zero MOD_NSEC both occur.
  setTimes(p("a-b"), 1_600_000_000, 0, false);
}

/** Reads the list section of a data stream and writes it again with our encoder. */
interface Reencoded {
  consumed: number;
  bytes: Uint8Array;
  /** Every XMIT flag some entry carried. */
  flagsSeen: number;
  /** Hard links whose leader is in an earlier list (sent in full, with its index). */
  crossListLinks: number;
  names: { users: Map<number, Uint8Array>; groups: Map<number, Uint8Array> };
}

function reencode(data: Uint8Array, o: FlistEncodeOptions): Reencoded {
  const t = new FileTable();
  const wire: FlistWireOptions = { ...o };
  const d = new FlistDecoder(t, wire);
  const r = new ChunkReader();
  r.push(data);
  r.ended = true;
  const ndxIn = new NdxDecoder(o.protocol);
  interface L {
    start: number;
    count: number;
    dir: number;
    ioError: number;
  }
  const lists: L[] = [];
  let trailing = 0;
  let flagsSeen = 0;
  let crossListLinks = 0;
  const readList = (start: number, dir: number) => {
    const l: L = { start, count: 0, dir, ioError: 0 };
    for (;;) {
      const flags = d.readFlags(r);
      if (typeof flags !== "number") {
        l.ioError = flags.ioError;
        break;
      }
      flagsSeen |= flags;
      d.readEntry(r, flags, start + l.count, start, l.count);
      const key = t.extras.get(start + l.count)?.hlinkKey;
      if (o.protocol >= 30 && key && Number(key.slice(1)) < start) crossListLinks++;
      l.count++;
    }
    lists.push(l);
  };
  readList(o.incRecurse ? 1 : 0, -1);
  if (!o.incRecurse) {
    if (o.numericIds <= 0) d.readIdLists(r, o.id0Names);
    if (o.protocol < 30) trailing = r.i32();
  } else {
    for (;;) {
      const ndx = ndxIn.read(r);
      if (ndx === NDX_FLIST_EOF) break;
      if (ndx > NDX_FLIST_OFFSET) throw new Error(`unexpected index ${ndx} among the lists`);
      const last = lists[lists.length - 1]!;
      readList(last.start + last.count + 1, NDX_FLIST_OFFSET - ndx);
    }
  }
  const consumed = r.consumed;

  const e = new FlistEncoder(t, { ...o, names: mapIdNames(d.names.users, d.names.groups) });
  const w = new ByteWriter();
  const ndxOut = new NdxEncoder(o.protocol);
  for (const l of lists) {
    if (l.dir >= 0) ndxOut.write(w, NDX_FLIST_OFFSET - l.dir);
    for (let i = 0; i < l.count; i++) e.writeEntry(w, l.start + i, l.start);
    e.writeEnd(w, l.ioError);
    if (l.dir < 0 && !o.incRecurse) {
      if (o.numericIds <= 0) e.writeIdLists(w);
      if (o.protocol < 30) w.i32(trailing);
    }
  }
  if (o.incRecurse) ndxOut.write(w, NDX_FLIST_EOF);
  return { consumed, bytes: w.take(), flagsSeen, crossListLinks, names: d.names };
}

/** Where two byte strings first differ, with some context, for a readable failure. */
function firstDifference(ours: Uint8Array, theirs: Uint8Array): string | null {
  const n = Math.min(ours.length, theirs.length);
  let i = 0;
  while (i < n && ours[i] === theirs[i]) i++;
  if (i === ours.length && i <= theirs.length) return null;
  const ctx = (x: Uint8Array) => Buffer.from(x.subarray(Math.max(0, i - 24), i + 24)).toString("hex");
  return `differ at byte ${i} of ${ours.length}:\n ours   ${ctx(ours)}\n theirs ${ctx(theirs)}`;
}

describe("golden bytes: upstream's daemon and us, on the same tree", () => {
  let gwork: string;
  let tree: string;
  let daemon: RunningDaemon;
  let proxy: RecordingProxy;

  beforeAll(async () => {
    gwork = fs.mkdtempSync(join(tmpdir(), "oc-flist-golden-"));
    // The daemon drops to "nobody" and goes back to the module by its absolute path.
    fs.chmodSync(gwork, 0o755);
    tree = join(gwork, "tree");
    fs.mkdirSync(tree);
    goldenTree(tree);
    daemon = await startUpstreamDaemon([{ name: "mod", path: tree }]);
    proxy = await startRecordingProxy(daemon.port);
  });
  afterAll(async () => {
    proxy.stop();
    await daemon.stop();
    fs.rmSync(gwork, { recursive: true, force: true });
  });

  for (const sc of SCENARIOS) {
    for (const protocol of sc.protocols) {
      test(`${sc.name}, protocol ${protocol}`, async () => {
        const before = proxy.recordings.length;
        const urls = sc.paths.map((p) => `rsync://127.0.0.1:${proxy.port}/mod/${p}`);
        const r = await runRsync(["-n", ...sc.client, `--protocol=${protocol}`, ...urls, join(gwork, "dest/")]);
        expect(proxy.recordings.length).toBe(before + 1);
        const rec = proxy.recordings[before]!;
        await rec.done;
        // -L meets the dangling link: upstream says so and exits 23.
        if (![0, 23].includes(r.code)) console.log(r);
        expect([0, 23]).toContain(r.code);
        const stream = splitDaemonStream(joined(rec.fromServer), protocol);
        const cf = stream.compatFlags;
        const incRecurse = (cf & CF.INC_RECURSE) !== 0;
        expect(incRecurse).toBe(protocol >= 30 && sc.build.recursive === true && !sc.client.includes("--no-inc-recursive"));

        const checksum = sc.client.some((c) => /^-[a-zA-Z]*c/.test(c));
        const sumKind = stream.checksumList ? sumByName(stream.checksumList[0]!, protocol) : impliedSum(protocol);
        const sums = { xfer: sumKind, file: sumKind, seed: stream.seed, properSeedOrder: false };
        const a = sc.client.some((c) => /^-[a-zA-Z]*a/.test(c));
        const wireOpts: FlistEncodeOptions = {
          protocol,
          varintFlags: (cf & CF.VARINT_FLIST_FLAGS) !== 0,
          safeFlist: (cf & CF.SAFE_FLIST) !== 0 || protocol >= 31,
          preserveUid: a || sc.client.some((c) => /^-[a-zA-Z]*o/.test(c)),
          preserveGid: a || sc.client.some((c) => /^-[a-zA-Z]*g/.test(c)),
          preserveLinks: sc.build.preserveLinks ?? false,
          preserveDevices: a || sc.client.some((c) => /^-[a-zA-Z]*D/.test(c)),
          preserveSpecials: a || sc.client.some((c) => /^-[a-zA-Z]*D/.test(c)),
          preserveHardLinks: sc.build.preserveHardLinks ?? false,
          checksumLength: checksum ? sumKind.length : 0,
          relativePaths: sc.build.relative ?? false,
          recursive: sc.build.recursive ?? false,
          incRecurse,
          numericIds: sc.build.numericIds ?? 0,
          id0Names: (cf & CF.ID0_NAMES) !== 0,
          names: systemIdNames(),
        };

        // (a) Our walk of the same tree, encoded.
        const messages: string[] = [];
        const builder = new FlistBuilder(
          buildOptions({
            ...sc.build,
            protocol,
            incRecurse,
            preserveHardLinks: wireOpts.preserveHardLinks,
            checksum: checksum
              ? (path) => {
                  const h = fileListHasher(sums);
                  h.update(new Uint8Array(fs.readFileSync(Buffer.from(path))));
                  return h.digest();
                }
              : undefined,
            onMessage: (k, t) => messages.push(`${k}: ${t}`),
          }),
          tree,
        );
        const encoder = new FlistEncoder(builder.table, wireOpts);
        const sender = new FileListSender(builder, encoder, new NdxEncoder(protocol), { ...wireOpts });
        const w = new ByteWriter();
        sender.writeFirst(
          w,
          sc.args.map((x) => b(x)),
        );
        while (!sender.eof) sender.writeNext(w);
        const ours = w.take();
        expect(firstDifference(ours, stream.data)).toBeNull();

        // (b) Upstream's entries, decoded by us and encoded again.
        const again = reencode(stream.data, wireOpts);
        expect(again.consumed).toBe(ours.length);
        expect(firstDifference(again.bytes, stream.data.subarray(0, again.consumed))).toBeNull();

        // The tree exercises what it is meant to (checked where the options make it show).
        if (sc.name.startsWith("-aH of the module")) {
          const want: number[] = [XMIT.TOP_DIR, XMIT.SAME_NAME, XMIT.LONG_NAME, XMIT.SAME_MODE, XMIT.SAME_TIME];
          if (protocol >= 28) want.push(XMIT.HLINKED); // before 28 the flags are one byte
          if (protocol === 28 || protocol === 29) want.push(XMIT.EXTENDED_FLAGS);
          if (protocol >= 30) want.push(XMIT.HLINK_FIRST);
          if (protocol === 28 || protocol === 29) want.push(XMIT.SAME_DEV_PRE30);
          if (protocol >= 31) want.push(XMIT.MOD_NSEC);
          if (isRoot && incRecurse) want.push(XMIT.USER_NAME_FOLLOWS, XMIT.GROUP_NAME_FOLLOWS);
          if (isRoot && protocol >= 28 && protocol < 30) want.push(XMIT.RDEV_MINOR_8_PRE30);
          for (const bit of want) expect(again.flagsSeen & bit, `XMIT bit 0x${bit.toString(16)}`).toBe(bit);
          if (incRecurse) expect(again.crossListLinks).toBeGreaterThan(0);
          if (isRoot) {
            const names = (m: Map<number, Uint8Array>) => [...m.values()].map(s).sort();
            expect(names(again.names.users)).toEqual(expect.arrayContaining(["bin", "daemon", "nobody"]));
            expect(names(again.names.groups)).toEqual(expect.arrayContaining(["bin", "daemon", "users"]));
          }
        }
        if (sc.name.startsWith("-d") && protocol >= 30) expect(again.flagsSeen & XMIT.NO_CONTENT_DIR).toBe(XMIT.NO_CONTENT_DIR);

        if (sc.build.copyLinks) {
          expect(builder.ioError).toBe(IOERR_GENERAL);
          expect(messages.filter((m) => m.includes("symlink has no referent")).length).toBeGreaterThan(0);
        } else expect(builder.ioError).toBe(0);
      });
    }
  }
});
