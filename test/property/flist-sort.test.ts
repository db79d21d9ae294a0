/**
 * compareRows answers two rows of one directory from their base names in
 * place (files, directories with their trailing "/", "." among them): for
 * any such names and any protocol it must order them as compareNames, the
 * f_name_cmp walk, does.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { FileTable, S_IFDIR, S_IFREG } from "../../src/flist/table.ts";
import { compareNames, compareRows } from "../../src/flist/sort.ts";

const sign = (n: number) => Math.sign(n) || 0;
/**
 * Short names over bytes that sort around "/" (0x2f): "-", ".", "0", "/" itself (an absolute -R top-level name), high
 * bytes. Never ending in "/": a list has no empty base name (the builder leaves such a name out).
 */
const name = fc
  .array(fc.constantFrom(0x2d, 0x2e, 0x2f, 0x30, 0x61, 0x62, 0xe9), { minLength: 1, maxLength: 5 })
  .filter((b) => b[b.length - 1] !== 0x2f)
  .map((b) => new Uint8Array(b));
const entry = fc.record({ name: fc.oneof(name, fc.constant(new Uint8Array([0x2e]))), dir: fc.boolean() });

describe("compareRows within one directory", () => {
  test("orders as compareNames for any names, types and protocol", () => {
    fc.assert(
      fc.property(fc.constantFrom("", "sub", "a/b"), entry, entry, fc.constantFrom(27, 28, 29, 30, 31, 32), (dir, e1, e2, protocol) => {
        const t = new FileTable();
        t.ensure(2);
        const prefix = dir ? Buffer.from(`${dir}/`) : Buffer.alloc(0);
        t.setName(0, new Uint8Array(Buffer.concat([prefix, e1.name])));
        t.setName(1, new Uint8Array(Buffer.concat([prefix, e2.name])));
        t.mode[0] = e1.dir ? S_IFDIR | 0o755 : S_IFREG | 0o644;
        t.mode[1] = e2.dir ? S_IFDIR | 0o755 : S_IFREG | 0o644;
        const want = compareNames(t.dirName(0), t.baseName(0), e1.dir, t.dirName(1), t.baseName(1), e2.dir, protocol);
        expect(sign(compareRows(t, 0, 1, protocol))).toBe(sign(want));
        expect(sign(compareRows(t, 1, 0, protocol))).toBe(sign(-want));
      }),
      { numRuns: 3000 },
    );
  });
});
