/**
 * --iconv's converters (flist/iconv.ts) against what glibc's iconv gives
 * upstream (bytes and errno texts checked with rsync 3.5.0 and iconv(1)),
 * and the transmission-order bookkeeping (flist/wire-order.ts).
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { EILSEQ_TEXT, EINVAL_TEXT, NameConverter, localeCharset, symlinkTargetsConverted } from "../../src/flist/iconv.ts";
import { WireOrder } from "../../src/flist/wire-order.ts";
import { CF } from "../../src/protocol/setup.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);
const hex = (c: Uint8Array | { error: string }) => (c instanceof Uint8Array ? Buffer.from(c).toString("hex") : c.error);

/** What iconv(1) (glibc, as upstream's rsync uses it) makes of `input`: hex, or null when it fails. */
function glibc(from: string, to: string, input: Uint8Array): string | null {
  const r = spawnSync("iconv", ["-f", from, "-t", to], { input });
  return r.status === 0 ? r.stdout.toString("hex") : null;
}

describe("conversions agree with glibc's iconv", () => {
  const charsets = ["ISO-8859-1", "ISO-8859-15", "CP1252", "ISO-8859-2", "KOI8-R", "CP1251"];
  for (const cs of charsets) {
    test(`${cs}: every byte to UTF-8 and back`, () => {
      const c = NameConverter.open(cs, false);
      for (let b = 0x80; b < 0x100; b++) {
        const want = glibc(cs, "UTF-8", bytes(b));
        const got = c.toWire(bytes(b));
        expect(got instanceof Uint8Array ? hex(got) : null).toBe(want);
        if (got instanceof Uint8Array) expect(hex(c.fromWire(got))).toBe(b.toString(16));
      }
    });
  }
  test("UTF-8 that is cut short is EINVAL, a bad byte EILSEQ (glibc reads F0-F7 as four-byte leads)", () => {
    const u = NameConverter.open("UTF-8", false);
    expect(hex(u.toWire(bytes(0x63, 0x61, 0x66, 0xe9)))).toBe(EINVAL_TEXT);
    expect(hex(u.toWire(bytes(0x61, 0xe9, 0x62)))).toBe(EILSEQ_TEXT);
    expect(hex(u.toWire(bytes(0x62, 0xf6)))).toBe(EINVAL_TEXT);
    expect(hex(u.toWire(bytes(0x62, 0xf8)))).toBe(EILSEQ_TEXT);
    expect(hex(u.toWire(bytes(0xc0, 0x80)))).toBe(EILSEQ_TEXT);
    expect(hex(u.toWire(bytes(0xed, 0xa0, 0x80)))).toBe(EILSEQ_TEXT);
  });
  test("a character the charset lacks is EILSEQ; bad bytes can be kept as they are", () => {
    const a = NameConverter.open("ASCII", true);
    expect(hex(a.fromWire(Buffer.from("café")))).toBe(EILSEQ_TEXT);
    expect(hex(a.fromWireKeepingBad(Buffer.from("café")))).toBe(Buffer.from("café").toString("hex"));
    const l = NameConverter.open("LATIN1", false);
    expect(hex(l.fromWireKeepingBad(bytes(0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac)))).toBe("61e9e282ac");
  });
});

describe("CONVERT_SPEC", () => {
  test("a client takes LOCAL, a server REMOTE; '' and '.' are the locale's charset", () => {
    expect(NameConverter.open("ISO-8859-1,UTF-8", false).charset).toBe("ISO-8859-1");
    expect(NameConverter.open("ISO-8859-1,UTF-8", true).charset).toBe("UTF-8");
    expect(NameConverter.open("UTF-8", true).charset).toBe("UTF-8");
    expect(localeCharset({ LANG: "C.UTF-8" })).toBe("UTF-8");
    expect(localeCharset({ LC_ALL: "de_DE.ISO-8859-1@euro", LANG: "C.UTF-8" })).toBe("ISO-8859-1");
    expect(localeCharset({})).toBe("ANSI_X3.4-1968");
  });
  test("an unknown charset fails as iconv_open does", () => {
    expect(() => NameConverter.open("BOGUS", false)).toThrow('iconv_open("UTF-8", "BOGUS") failed');
    expect(() => NameConverter.open("UTF-8,BOGUS", true)).toThrow('iconv_open("UTF-8", "BOGUS") failed');
  });
  test("symlink targets: a server asks the client's 's', a client CF_SYMLINK_ICONV", () => {
    expect(symlinkTargetsConverted(true, ".iLsfxCIvu", 0)).toBe(true);
    expect(symlinkTargetsConverted(true, ".iLfxCIvu", CF.SYMLINK_ICONV)).toBe(false);
    expect(symlinkTargetsConverted(false, undefined, CF.SYMLINK_ICONV)).toBe(true);
    expect(symlinkTargetsConverted(false, undefined, 0)).toBe(false);
  });
});

describe("WireOrder", () => {
  test("rows and transmission indexes map both ways; directories keep their transmission order", () => {
    const w = new WireOrder();
    // Sent: 0 "b/" (dir), 1 "a", 2 "c/" (dir); sorted: a, b/, c/.
    const dirs = new Set([0, 2]);
    w.record(0, [1, 0, 2], (row) => dirs.has(row));
    expect([0, 1, 2].map((row) => w.toWire(row))).toEqual([1, 0, 2]);
    expect([0, 1, 2].map((ndx) => w.toRow(ndx))).toEqual([1, 0, 2]);
    expect(w.dirRow(0)).toBe(1);
    expect(w.dirRow(1)).toBe(2);
    expect(w.dirIndexOf(1)).toBe(0);
  });
});
