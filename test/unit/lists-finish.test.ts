/**
 * FileLists.finish (flist_sort_and_clean): a received list comes out in
 * upstream's sorted order, whatever order it came in (upstream's sender
 * sends entries as its walk meets them and sorts afterwards, as the
 * receiver does), its duplicates deactivated.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { FileLists } from "../../src/flist/lists.ts";
import { compareRows } from "../../src/flist/sort.ts";
import { F, S_IFDIR, S_IFREG } from "../../src/flist/table.ts";

/** A finished list of `entries` received in that order (names relative to the top, no incremental recursion). */
function received(entries: { name: string; dir: boolean }[]): FileLists {
  const lists = new FileLists(false, 31);
  const t = lists.table;
  t.ensure(entries.length + 1);
  entries.forEach((e, row) => {
    t.setName(row, Buffer.from(e.name));
    t.mode[row] = (e.dir ? S_IFDIR : S_IFREG) | 0o644;
    t.size[row] = row;
  });
  const list = { ndxStart: 0, count: entries.length, parentDir: -1, inProgress: 0, toRedo: 0 };
  lists.begin(list);
  lists.finish(list);
  return lists;
}

const names = (lists: FileLists) => Array.from({ length: lists.lists[0]!.count }, (_, row) => Buffer.from(lists.table.path(row)).toString());

describe("FileLists.finish", () => {
  test("an unsorted list is sorted as upstream sorts it (a directory's contents after it, '.' first)", () => {
    const lists = received([
      { name: "b", dir: false },
      { name: "a/x", dir: false },
      { name: "a.c", dir: false },
      { name: "a", dir: true },
      { name: ".", dir: true },
    ]);
    expect(names(lists)).toEqual([".", "a.c", "b", "a", "a/x"]);
    // Each row's other columns moved with its name.
    expect(lists.table.size[1]).toBe(2);
  });

  test("any order of the same entries ends the same, and in order", () => {
    const entry = fc.record({ name: fc.stringMatching(/^[a-c.]{1,3}(\/[a-c]{1,2})?$/), dir: fc.boolean() });
    fc.assert(
      fc.property(fc.uniqueArray(entry, { minLength: 1, maxLength: 12, selector: (e) => e.name }), (entries) => {
        const sorted = received(entries);
        const again = received([...entries].reverse());
        expect(names(again)).toEqual(names(sorted));
        const t = sorted.table;
        for (let row = 1; row < entries.length; row++) expect(compareRows(t, row - 1, row, 31)).toBeLessThanOrEqual(0);
      }),
    );
  });

  test("a duplicate name keeps one entry active (a directory over a file)", () => {
    const lists = received([
      { name: "d", dir: false },
      { name: "d", dir: true },
      { name: "e", dir: false },
    ]);
    const t = lists.table;
    const active = [0, 1, 2].filter((row) => !(t.flags[row]! & F.INACTIVE));
    // (Directories sort after the files beside them.)
    expect(active.map((row) => [Buffer.from(t.path(row)).toString(), (t.mode[row]! & S_IFDIR) !== 0])).toEqual([
      ["e", false],
      ["d", true],
    ]);
  });
});
