/** FileTable.arrange: sorting a list in place gives what copying every row out and back in order gave. */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { FileTable } from "../../src/flist/table.ts";

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
