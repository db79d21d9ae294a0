/**
 * FlistEncoder: a hand-checked vector (the protocol reference's §12.3), and
 * round trips: random tables -> FlistEncoder -> FlistDecoder must give the
 * same entries back, for every protocol 27..32 and random option sets
 * (varint flags, safe lists, ids and names, links, devices, specials, hard
 * links, checksums, incremental lists, I/O errors at the end).
 *
 * The comparison against upstream's own bytes is in flist-build.test.ts.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { FlistDecoder, type FlistWireOptions } from "../../src/flist/decode.ts";
import { FlistEncoder, type FlistEncodeOptions } from "../../src/flist/encode.ts";
import { mapIdNames } from "../../src/flist/id-names.ts";
import { F, FileTable, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_IFSOCK, isDevice, isDir, isLink, isReg, isSpecial } from "../../src/flist/table.ts";
import { ChunkReader } from "../../src/protocol/reader.ts";
import { ByteWriter } from "../../src/protocol/writer.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex").replace(/(..)(?!$)/g, "$1 ");
const enc = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

function readerOf(bytes: Uint8Array, cuts: number[] = []): ChunkReader {
  const r = new ChunkReader();
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    if (cut > from && cut < bytes.length) {
      r.push(bytes.subarray(from, cut));
      from = cut;
    }
  }
  r.push(bytes.subarray(from));
  r.ended = true;
  return r;
}

function baseOptions(protocol: number, over: Partial<FlistEncodeOptions> = {}): FlistEncodeOptions {
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
    ...over,
  };
}

describe("the reference's byte-by-byte example (§12.3)", () => {
  test("'.' and hello.txt, incremental, names inline", () => {
    const t = new FileTable();
    t.ensure(3);
    const set = (row: number, name: string, mode: number, size: number, flags = 0) => {
      t.setName(row, enc(name));
      t.mode[row] = mode;
      t.size[row] = size;
      t.mtime[row] = 1_700_000_000;
      t.uid[row] = 1000;
      t.gid[row] = 1000;
      t.flags[row] = flags;
    };
    set(1, ".", S_IFDIR | 0o755, 4096, F.TOP_DIR | F.CONTENT_DIR);
    set(2, "hello.txt", S_IFREG | 0o644, 5);
    const alice = new Map([[1000, enc("alice")]]);
    const e = new FlistEncoder(t, baseOptions(32, { incRecurse: true, names: mapIdNames(alice, alice) }));
    const w = new ByteWriter();
    e.writeEntry(w, 1, 1);
    e.writeEntry(w, 2, 1);
    e.writeEnd(w);
    expect(hex(w.take())).toBe(
      "8c 01 01 2e 00 00 10 65 00 f1 53 ed 41 00 00 83 e8 05 61 6c 69 63 65 83 e8 05 61 6c 69 63 65 " +
        "80 98 09 68 65 6c 6c 6f 2e 74 78 74 00 05 00 a4 81 00 00 00 00",
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Round trips

interface Ent {
  name: Uint8Array;
  mode: number;
  size: number;
  mtime: number;
  nsec: number;
  uid: number;
  gid: number;
  /** Directory flags (F.*). */
  flags: number;
  link?: Uint8Array;
  rdev?: [number, number];
  checksum?: Uint8Array;
  /** Hard-link identity, `d<dev>:<ino>`. */
  key?: string;
}

interface Case {
  o: FlistEncodeOptions;
  /** Entries per list (one list unless incremental). */
  lists: Ent[][];
  ioErrors: number[];
  users: Map<number, Uint8Array>;
  groups: Map<number, Uint8Array>;
}

const TYPES = [S_IFREG, S_IFREG, S_IFREG, S_IFDIR, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK];

/** A name component: any bytes but NUL and "/", never "." or "..". */
const component = fc
  .oneof(
    { weight: 6, arbitrary: fc.constantFrom("a", "b", "dir", "file", "x.txt", "é", "\xff\xfe", "-", " sp") },
    { weight: 3, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 12 }).map((b) => Buffer.from(b).toString("latin1")) },
    { weight: 1, arbitrary: fc.integer({ min: 200, max: 300 }).map((n) => "L".repeat(n)) },
  )
  .map((s) => s.replace(/[\0/]/g, "_"))
  .filter((s) => s !== "." && s !== "..");
const wireName = fc.array(component, { minLength: 1, maxLength: 4 }).map((parts) => enc(parts.join("/")));

function caseArb(protocol: number): fc.Arbitrary<Case> {
  const options = fc.record({
    varintFlags: protocol >= 30 ? fc.boolean() : fc.constant(false),
    safeFlist: protocol >= 31 ? fc.constant(true) : protocol === 30 ? fc.boolean() : fc.constant(false),
    preserveUid: fc.boolean(),
    preserveGid: fc.boolean(),
    preserveLinks: fc.boolean(),
    preserveDevices: fc.boolean(),
    preserveSpecials: fc.boolean(),
    preserveHardLinks: fc.boolean(),
    checksumLength: fc.constantFrom(0, 0, 16, 8, 20),
    relativePaths: fc.boolean(),
    incRecurse: protocol >= 30 ? fc.boolean() : fc.constant(false),
    numericIds: fc.constantFrom(0, 0, 1, -1),
    id0Names: protocol >= 30 ? fc.boolean() : fc.constant(false),
  });
  const maxTime = protocol >= 30 ? 2 ** 41 : 2 ** 32 - 1;
  const minTime = protocol >= 30 ? -(2 ** 41) : 0;
  const raw = fc.record({
    name: wireName,
    type: fc.constantFrom(...TYPES),
    perms: fc.integer({ min: 0, max: 0o7777 }),
    size: fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.maxSafeNat()),
    mtime: fc.oneof(fc.constant(1_700_000_000), fc.integer({ min: minTime, max: maxTime })),
    nsec: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 999_999_999 })),
    uid: fc.oneof(fc.constantFrom(0, 0, 1000, 1000, 65534), fc.nat({ max: 0xffffffff })),
    gid: fc.oneof(fc.constantFrom(0, 0, 100, 100, 65534), fc.nat({ max: 0xffffffff })),
    dirFlags: fc.constantFrom(0, F.CONTENT_DIR, F.CONTENT_DIR | F.TOP_DIR, F.IMPLIED_DIR),
    link: fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => b.map((x) => x || 1)),
    rdev:
      protocol < 28
        ? fc.tuple(fc.oneof(fc.constantFrom(0, 8), fc.nat({ max: 0xfff })), fc.oneof(fc.constantFrom(0, 1), fc.nat({ max: 0xfffff })))
        : fc.tuple(fc.oneof(fc.constantFrom(0, 8), fc.nat({ max: 0xffffffff })), fc.oneof(fc.constantFrom(0, 1), fc.nat({ max: 0xffffffff }))),
    sum: fc.uint8Array({ minLength: 20, maxLength: 20 }),
    /** Joins the hard-link group of an earlier entry (by position), or starts its own. */
    linkTo: fc.option(fc.nat(), { freq: 3 }),
    dev: fc.oneof(fc.constant(0), fc.constant(2049), fc.nat({ max: 2 ** 40 })),
    ino: fc.oneof(fc.nat({ max: 1000 }), fc.nat({ max: 2 ** 40 })),
  });
  const names = fc.array(fc.tuple(fc.constantFrom(0, 1000, 100, 65534, 7), fc.uint8Array({ minLength: 1, maxLength: 40 })), { maxLength: 5 });
  return fc
    .record({
      opts: options,
      raws: fc.array(raw, { minLength: 0, maxLength: 40 }),
      cuts: fc.array(fc.nat({ max: 40 }), { maxLength: 4 }),
      ioErrors: fc.array(fc.constantFrom(0, 0, 1, 2, 3, 5), { minLength: 5, maxLength: 5 }),
      userNames: names,
      groupNames: names,
      dotFirst: fc.boolean(),
    })
    .map(({ opts, raws, cuts, ioErrors, userNames, groupNames, dotFirst }) => {
      const o = baseOptions(protocol, opts);
      const ents: Ent[] = [];
      raws.forEach((r, i) => {
        const mode = r.type | r.perms;
        const e: Ent = {
          name: r.name,
          mode,
          size: isDevice(mode) || isSpecial(mode) ? 0 : r.size,
          mtime: r.mtime,
          nsec: r.nsec,
          uid: r.uid,
          gid: r.gid,
          flags: isDir(mode) ? r.dirFlags : 0,
        };
        if (isLink(mode)) e.link = r.link;
        if (isDevice(mode)) e.rdev = r.rdev;
        if (isReg(mode) && o.checksumLength) e.checksum = r.sum.subarray(0, o.checksumLength);
        const trackable = protocol >= 28 ? !isDir(mode) : isReg(mode);
        if (trackable) {
          const leader = r.linkTo !== null && ents.length > 0 ? ents[r.linkTo % ents.length]! : undefined;
          if (leader?.key && (protocol >= 28 ? !isDir(leader.mode) : isReg(leader.mode))) {
            // Links to one file share everything but the name.
            Object.assign(e, { ...leader, name: e.name, flags: 0 });
          } else if (r.linkTo !== null || protocol < 28) e.key = `d${r.dev}:${r.ino + i * 2 ** 41}`;
        }
        ents.push(e);
      });
      if (dotFirst && ents.length > 0) {
        ents[0] = { ...ents[0]!, name: enc("."), mode: S_IFDIR | 0o755, size: 4096, flags: F.TOP_DIR | F.CONTENT_DIR, link: undefined, rdev: undefined, checksum: undefined, key: undefined };
      }
      const lists: Ent[][] = [];
      if (o.incRecurse) {
        let from = 0;
        for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
          if (cut > from && cut < ents.length) {
            lists.push(ents.slice(from, cut));
            from = cut;
          }
        }
        lists.push(ents.slice(from));
      } else lists.push(ents);
      const users = new Map(userNames.map(([id, n]) => [id, n.map((x) => x || 1)] as [number, Uint8Array]));
      const groups = new Map(groupNames.map(([id, n]) => [id, n.map((x) => x || 1)] as [number, Uint8Array]));
      return { o, lists, ioErrors, users, groups };
    });
}

function fill(t: FileTable, row: number, e: Ent): void {
  t.ensure(row + 1);
  t.setName(row, e.name);
  t.mode[row] = e.mode;
  t.size[row] = e.size;
  t.mtime[row] = e.mtime;
  t.nsec[row] = e.nsec;
  t.uid[row] = e.uid;
  t.gid[row] = e.gid;
  t.flags[row] = e.flags;
  t.extras.delete(row);
  if (e.checksum) t.setSum(row, e.checksum);
  else t.clearSum(row);
  if (e.link || e.rdev || e.key) {
    const x = t.extra(row);
    if (e.link) x.link = e.link;
    if (e.rdev) [x.rdevMajor, x.rdevMinor] = e.rdev;
    if (e.key) x.hlinkKey = e.key;
  }
}

interface Encoded {
  bytes: Uint8Array;
  /** Row of each entry, list by list. */
  rows: number[][];
  starts: number[];
}

function encodeCase(c: Case): Encoded {
  const { o } = c;
  const t = new FileTable();
  const e = new FlistEncoder(t, { ...o, names: mapIdNames(c.users, c.groups) });
  const w = new ByteWriter();
  const rows: number[][] = [];
  const starts: number[] = [];
  let start = o.incRecurse ? 1 : 0;
  c.lists.forEach((list, k) => {
    starts.push(start);
    const r: number[] = [];
    list.forEach((ent, i) => {
      fill(t, start + i, ent);
      e.writeEntry(w, start + i, start);
      r.push(start + i);
    });
    rows.push(r);
    const ioError = o.varintFlags || o.safeFlist ? c.ioErrors[k % c.ioErrors.length]! : 0;
    e.writeEnd(w, ioError);
    if (!o.incRecurse) {
      if (o.numericIds <= 0) e.writeIdLists(w);
      if (o.protocol < 30) w.i32(c.ioErrors[0]!);
    }
    start += list.length + 1;
  });
  return { bytes: w.take(), rows, starts };
}

function decodeCase(c: Case, enc: Encoded, cuts: number[]): { t: FileTable; d: FlistDecoder; ioErrors: number[]; trailingIoError: number } {
  const { o } = c;
  const wire: FlistWireOptions = { ...o };
  const t = new FileTable();
  const d = new FlistDecoder(t, wire);
  const r = readerOf(enc.bytes, cuts);
  const ioErrors: number[] = [];
  let trailingIoError = -1;
  c.lists.forEach((list, k) => {
    const start = enc.starts[k]!;
    let count = 0;
    for (;;) {
      const flags = d.readFlags(r);
      if (typeof flags !== "number") {
        ioErrors.push(flags.ioError);
        break;
      }
      d.readEntry(r, flags, start + count, start, count);
      count++;
    }
    expect(count).toBe(list.length);
    if (!o.incRecurse) {
      if (o.numericIds <= 0) d.readIdLists(r, o.id0Names);
      if (o.protocol < 30) trailingIoError = r.i32();
    }
  });
  expect(r.available).toBe(0);
  return { t, d, ioErrors, trailingIoError };
}

/** What the decoder must report for entry `e` (sent in list `k`). */
function check(c: Case, e: Ent, t: FileTable, row: number): void {
  const { o } = c;
  const p = o.protocol;
  const where = `row ${row} ${Buffer.from(e.name).toString("latin1").slice(0, 40)}`;
  expect(Buffer.from(t.path(row)).equals(Buffer.from(e.name)), where).toBe(true);
  expect(t.mode[row], where).toBe(e.mode);
  expect(t.size[row], where).toBe(e.size);
  expect(t.mtime[row], where).toBe(e.mtime);
  expect(t.nsec[row], where).toBe(p >= 31 ? e.nsec : 0);
  if (o.preserveUid) expect(t.uid[row], where).toBe(e.uid);
  if (o.preserveGid) expect(t.gid[row], where).toBe(e.gid);
  const x = t.extras.get(row);
  expect(x?.link, where).toEqual(o.preserveLinks && isLink(e.mode) ? e.link : undefined);
  if (o.preserveDevices && isDevice(e.mode)) expect([x?.rdevMajor, x?.rdevMinor], where).toEqual(e.rdev!);
  expect(t.sum(row), where).toEqual(o.checksumLength && isReg(e.mode) ? e.checksum : undefined);
  if (isDir(e.mode)) {
    const mask = p >= 30 ? F.TOP_DIR | F.CONTENT_DIR | F.IMPLIED_DIR : F.TOP_DIR;
    expect(t.flags[row]! & mask, where).toBe(e.flags & mask);
  }
  const tracked = o.preserveHardLinks && e.key !== undefined && (p >= 28 ? !isDir(e.mode) : isReg(e.mode));
  expect(x?.hlinkKey !== undefined, where).toBe(tracked);
  if (tracked && p < 30) expect(x!.hlinkKey, where).toBe(e.key!);
}

function runCase(c: Case, cuts: number[]): void {
  const encoded = encodeCase(c);
  const { t, d, ioErrors, trailingIoError } = decodeCase(c, encoded, cuts);
  const { o } = c;
  const all: [Ent, number][] = [];
  c.lists.forEach((list, k) => list.forEach((e, i) => all.push([e, encoded.rows[k]![i]!])));
  for (const [e, row] of all) check(c, e, t, row);

  // Hard-link groups: same partition (from 30 the decoder names groups by their first index).
  if (o.preserveHardLinks) {
    const byKey = new Map<string, string>();
    for (const [e, row] of all) {
      const got = t.extras.get(row)?.hlinkKey;
      if (!e.key || !got) continue;
      if (byKey.has(e.key)) expect(got).toBe(byKey.get(e.key)!);
      else byKey.set(e.key, got);
    }
    expect(new Set(byKey.values()).size).toBe(byKey.size);
  }

  // The end markers' I/O errors, where the protocol carries them.
  c.lists.forEach((_, k) => {
    const sent = o.varintFlags || o.safeFlist ? c.ioErrors[k % c.ioErrors.length]! : 0;
    expect(ioErrors[k]).toBe(sent & 7);
  });
  if (!o.incRecurse && o.protocol < 30) expect(trailingIoError).toBe(c.ioErrors[0]!);

  // Names: inline the first time an id is sent (incremental), else in the id lists.
  const expectNames = (preserve: boolean, ids: number[], names: Map<number, Uint8Array>) => {
    const want = new Map<number, Uint8Array>();
    if (!preserve || o.numericIds > 0) return want;
    if (o.numericIds === 0) {
      for (const id of ids) {
        const n = names.get(id);
        if (n && n.length > 0 && (o.incRecurse || id !== 0)) want.set(id, n);
      }
    }
    if (!o.incRecurse && o.id0Names && (names.get(0)?.length ?? 0) > 0) want.set(0, names.get(0)!);
    return want;
  };
  expect(d.names.users).toEqual(expectNames(o.preserveUid, all.map(([e]) => e.uid), c.users));
  expect(d.names.groups).toEqual(expectNames(o.preserveGid, all.map(([e]) => e.gid), c.groups));
}

describe("round trip: FlistEncoder -> FlistDecoder", () => {
  for (const protocol of [27, 28, 29, 30, 31, 32]) {
    test(`protocol ${protocol}`, () => {
      fc.assert(
        fc.property(caseArb(protocol), fc.array(fc.nat({ max: 4000 }), { maxLength: 6 }), (c, cuts) => {
          runCase(c, cuts);
        }),
        { numRuns: 300 },
      );
    });
  }

  test("a hard link to an entry of an earlier list is sent in full, with the index", () => {
    const o = baseOptions(31, { incRecurse: true, preserveHardLinks: true });
    const file: Ent = { name: enc("a"), mode: S_IFREG | 0o644, size: 3, mtime: 5, nsec: 0, uid: 0, gid: 0, flags: 0, key: "d1:2" };
    const c: Case = { o, lists: [[file], [{ ...file, name: enc("d/b") }]], ioErrors: [0], users: new Map(), groups: new Map() };
    const encoded = encodeCase(c);
    runCase(c, []);
    // Second entry: flags HLINKED (no HLINK_FIRST), name, index 1, then the full attributes.
    const w = new ByteWriter();
    const t = new FileTable();
    const e = new FlistEncoder(t, o);
    fill(t, 1, file);
    e.writeEntry(w, 1, 1);
    e.writeEnd(w);
    fill(t, 3, { ...file, name: enc("d/b") });
    const before = w.length;
    e.writeEntry(w, 3, 3);
    const second = w.take().subarray(before);
    expect(hex(second)).toBe("82 9a 03 64 2f 62 01 00 03 00");
    expect(encoded.bytes.length).toBeGreaterThan(0);
  });

  test("a hard link within the same list is abbreviated to its leader's index", () => {
    const o = baseOptions(30, { preserveHardLinks: true });
    const t = new FileTable();
    const e = new FlistEncoder(t, o);
    const file: Ent = { name: enc("a"), mode: S_IFREG | 0o644, size: 3, mtime: 5, nsec: 0, uid: 0, gid: 0, flags: 0, key: "x" };
    fill(t, 0, file);
    fill(t, 1, { ...file, name: enc("b") });
    const w = new ByteWriter();
    e.writeEntry(w, 0, 0);
    const before = w.length;
    e.writeEntry(w, 1, 0);
    // HLINKED|SAME_UID|SAME_GID|SAME_TIME|SAME_MODE, suffix "b", leader index 0: nothing more.
    expect(hex(w.take().subarray(before))).toBe("82 9a 01 62 00");
  });

  test("id lists: most recently first-seen id first, then the names of id 0", () => {
    const o = baseOptions(30, { id0Names: true, preserveGid: false });
    const t = new FileTable();
    const names = new Map([
      [0, enc("root")],
      [5, enc("five")],
      [6, enc("six")],
    ]);
    const e = new FlistEncoder(t, { ...o, names: mapIdNames(names, new Map()) });
    const w = new ByteWriter();
    [5, 7, 6, 5].forEach((uid, row) => {
      fill(t, row, { name: enc(`f${row}`), mode: S_IFREG | 0o644, size: 0, mtime: 0, nsec: 0, uid, gid: 0, flags: 0 });
      e.writeEntry(w, row, 0);
    });
    w.clear();
    e.writeIdLists(w);
    // 6 "six", 5 "five" (7 has no name), then 0 "root".
    expect(hex(w.take())).toBe("06 03 73 69 78 05 04 66 69 76 65 00 04 72 6f 6f 74");
  });
});
