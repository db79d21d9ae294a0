/** FileTable.arrange: sorting a list in place gives what copying every row out and back in order gave; names stored from ranges. */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { FileTable } from "../../src/flist/table.ts";
import { cleanWireName, isCleanWireName } from "../../src/flist/wire-name.ts";
import { ChunkReader } from "../../src/protocol/reader.ts";

const enc = new TextEncoder();

/** A table with rows [start, start + n) filled, each row's columns derived from its number, every third with extras. */
function filled(start: number, n: number): FileTable {
  const t = new FileTable();
  t.ensure(start + n + 1);
  for (let row = start; row < start + n; row++) {
    t.mode[row] = 0o100644 + row;
    t.size[row] = row * 1000.5;
    t.mtime[row] = 1_700_000_000 + row;
    t.nsec[row] = row * 7;
    t.uid[row] = row + 1;
    t.gid[row] = row + 2;
    t.flags[row] = row & 0xff;
    t.setName(row, enc.encode(`dir${row % 3}/file-${row}`));
    if (row % 3 === 0) t.extra(row).link = enc.encode(`target-${row}`);
    if (row % 2 === 0) t.setSum(row, Uint8Array.from({ length: 16 }, (_, i) => (row * 31 + i) & 0xff));
  }
  return t;
}

/** Everything a row holds, for comparing rows across tables. */
function rowOf(t: FileTable, row: number) {
  return {
    mode: t.mode[row],
    size: t.size[row],
    mtime: t.mtime[row],
    nsec: t.nsec[row],
    uid: t.uid[row],
    gid: t.gid[row],
    flags: t.flags[row],
    path: Buffer.from(t.path(row)).toString(),
    link: t.extras.get(row)?.link ? Buffer.from(t.extras.get(row)!.link!).toString() : undefined,
    sum: t.sum(row) ? Buffer.from(t.sum(row)!).toString("hex") : undefined,
  };
}

describe("FileTable.arrange", () => {
  test("every permutation puts each source row at its position and leaves the spare row empty", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 40 }), fc.integer(), (start, n, seed) => {
        const t = filled(start, n);
        const before = filled(start, n);
        // A seeded shuffle of the list's rows.
        const order = Array.from({ length: n }, (_, i) => start + i);
        let s = seed >>> 0;
        for (let i = n - 1; i > 0; i--) {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          const j = s % (i + 1);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        t.arrange(start, order, start + n);
        for (let i = 0; i < n; i++) expect(rowOf(t, start + i)).toEqual(rowOf(before, order[i]!));
        expect(t.mode[start + n]).toBe(0);
        expect(t.nameLen[start + n]).toBe(0);
        expect(t.extras.has(start + n)).toBe(false);
        expect(t.sum(start + n)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  test("the identity order changes nothing", () => {
    const t = filled(1, 5);
    t.arrange(1, [1, 2, 3, 4, 5], 6);
    for (let row = 1; row <= 5; row++) expect(rowOf(t, row)).toEqual(rowOf(filled(1, 5), row));
  });
});

describe("names stored from a range of a larger buffer", () => {
  const seg = fc.array(fc.constantFrom("a", "b", ".", "/", "é", "\0"), { maxLength: 12 }).map((parts) => new Uint8Array(Buffer.from(parts.join(""), "latin1")));

  test("setNameRange stores what setName stores for the bytes of the range (dir interned, base name, a leading slash kept)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(seg, fc.nat(8), fc.nat(8)), { minLength: 1, maxLength: 30 }), (names) => {
        const whole = new FileTable();
        const ranged = new FileTable();
        whole.ensure(names.length);
        ranged.ensure(names.length);
        names.forEach(([name, before, after], row) => {
          // The name sits between bytes that must not leak into it (slashes, which would move the split).
          const buf = new Uint8Array(before + name.length + after).fill(0x2f);
          buf.set(name, before);
          whole.setName(row, name.slice());
          ranged.setNameRange(row, buf, before, before + name.length);
        });
        names.forEach(([name], row) => {
          expect(Buffer.from(ranged.path(row))).toEqual(Buffer.from(whole.path(row)));
          expect(Buffer.from(ranged.dirName(row))).toEqual(Buffer.from(whole.dirName(row)));
          expect(Buffer.from(ranged.baseName(row))).toEqual(Buffer.from(whole.baseName(row)));
          expect(ranged.dirId[row]).toBe(whole.dirId[row]!);
          expect(Buffer.from(ranged.path(row)).length).toBe(name.length);
        });
      }),
      { numRuns: 500 },
    );
  });

  test("isCleanWireName on a range says whether cleanWireName would return the name unchanged", () => {
    fc.assert(
      fc.property(seg, fc.nat(6), fc.nat(6), fc.boolean(), (name, before, after, relative) => {
        const buf = new Uint8Array(before + name.length + after).fill(0x2e);
        buf.set(name, before);
        let unchanged: boolean;
        try {
          unchanged = cleanWireName(name, relative) === name && name.length > 0;
        } catch {
          unchanged = false;
        }
        expect(isCleanWireName(buf, before, before + name.length, relative)).toBe(unchanged);
      }),
      { numRuns: 3000 },
    );
  });

  test("ChunkReader.readInto copies n bytes across any cut of the stream and reads on after them", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.array(fc.nat(210), { maxLength: 6 }), fc.nat(200), fc.nat(5), (bytes, cuts, rawN, at) => {
        const n = rawN % (bytes.length + 1);
        const r = new ChunkReader();
        let from = 0;
        for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
          if (cut > from && cut < bytes.length) {
            r.push(bytes.subarray(from, cut));
            from = cut;
          }
        }
        r.push(bytes.subarray(from));
        const dest = new Uint8Array(at + n + 3).fill(7);
        r.readInto(dest, at, n);
        expect(Buffer.from(dest.subarray(at, at + n))).toEqual(Buffer.from(bytes.subarray(0, n)));
        expect([...dest.subarray(0, at), ...dest.subarray(at + n)].every((b) => b === 7)).toBe(true);
        expect(r.consumed).toBe(n);
        if (n < bytes.length) expect(r.u8()).toBe(bytes[n]!);
      }),
    );
  });
});

describe("copyPath", () => {
  test("writes path(row) where asked, pathLength(row) bytes long", () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z.]{1,8}(\/[a-z.]{1,8}){0,3}$/), { minLength: 1, maxLength: 20 }), fc.nat(5), (names, at) => {
        const t = new FileTable();
        t.ensure(names.length);
        names.forEach((n, row) => t.setName(row, enc.encode(n)));
        for (let row = 0; row < names.length; row++) {
          const into = new Uint8Array(at + t.pathLength(row) + 3).fill(0xff);
          const end = t.copyPath(row, into, at);
          expect(end).toBe(at + t.pathLength(row));
          expect(Buffer.from(into.subarray(at, end)).toString()).toBe(Buffer.from(t.path(row)).toString());
          expect(into[end]).toBe(0xff);
        }
      }),
      { numRuns: 100 },
    );
  });
});

test("baseNameStart: the base name's first byte, -1 for an empty one", () => {
  const t = new FileTable();
  t.ensure(3);
  t.setName(0, enc.encode("dir/abc"));
  t.setName(1, enc.encode("/tmp"));
  t.setName(2, enc.encode(""));
  expect([t.baseNameStart(0), t.baseNameStart(1), t.baseNameStart(2)]).toEqual([0x61, 0x2f, -1]);
});
