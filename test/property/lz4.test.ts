/**
 * The LZ4 block codec, native and TypeScript: hand-checked blocks from the
 * block format spec, blocks made by the reference LZ4 library
 * (test/vectors/lz4.json), and fast-check properties: every encoder's block
 * decodes with both decoders, keeps LZ4's end-of-block rules (which the
 * reference decoder relies on), and every malformed, truncated or corrupted
 * block is refused with -1 by both, never read past, never thrown on.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { core, lz4CompressBound, tsCore, type Core } from "../../src/native/index.ts";
import vectors from "../vectors/lz4.json";

const CODECS: Array<[string, Core]> = [
  ["native", core],
  ["typescript", tsCore],
];
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const fromHex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const ascii = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

function compress(c: Core, data: Uint8Array): Uint8Array {
  const dst = new Uint8Array(lz4CompressBound(data.length));
  const n = c.lz4Compress(data, dst);
  expect(n).toBeGreaterThan(0);
  return dst.subarray(0, n);
}

/** The decoded bytes, or null for -1. The output buffer has spare room, which must stay untouched. */
function decompress(c: Core, block: Uint8Array, capacity: number): Uint8Array | null {
  const dst = new Uint8Array(capacity + 8).fill(0xa5);
  const n = c.lz4Decompress(block, dst.subarray(0, capacity));
  expect(dst.subarray(capacity).every((b) => b === 0xa5)).toBe(true);
  if (n === -1) return null;
  expect(n).toBeGreaterThanOrEqual(0);
  expect(n).toBeLessThanOrEqual(capacity);
  return dst.subarray(0, n);
}

/**
 * Walks a block as the format defines it and checks the end-of-block rules
 * LZ4_decompress_safe relies on: every offset within the output so far, no
 * match starting in the last 12 bytes nor reaching into the last 5.
 */
function expectEndOfBlockRules(block: Uint8Array, length: number): void {
  let at = 0;
  let out = 0;
  const readLength = (nibble: number) => {
    let n = nibble;
    if (n === 15) for (let b = 255; b === 255; n += b) b = block[at++]!;
    return n;
  };
  for (;;) {
    const token = block[at++]!;
    const literals = readLength(token >> 4);
    at += literals;
    out += literals;
    if (at === block.length) break;
    const offset = block[at]! | (block[at + 1]! << 8);
    at += 2;
    const match = 4 + readLength(token & 15);
    expect(offset >= 1 && offset <= out).toBe(true);
    expect(out + 12).toBeLessThanOrEqual(length);
    out += match;
    expect(out + 5).toBeLessThanOrEqual(length);
  }
  expect(at).toBe(block.length);
  expect(out).toBe(length);
}

/** xorshift32: fast deterministic bytes for inputs too big for fast-check to generate element by element. */
function prng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

const KINDS = ["random", "run", "alphabet", "periodic", "words", "edits"] as const;
const WORDS = ["the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ", "\n", "rsync ", "delta "];

/** Data of one kind: incompressible, a single run (offset 1), few symbols, a short period (overlapping copies), text, or copies of earlier bytes. */
function makeData(kind: (typeof KINDS)[number], length: number, seed: number): Uint8Array {
  const next = prng(seed);
  const data = new Uint8Array(length);
  const period = 1 + (next() % 40);
  for (let i = 0; i < length; i++) {
    const r = next();
    switch (kind) {
      case "random":
        data[i] = r;
        break;
      case "run":
        data[i] = seed;
        break;
      case "alphabet":
        data[i] = r % 3;
        break;
      case "periodic":
        data[i] = i < period ? r : data[i - period]!;
        break;
      case "words": {
        const word = WORDS[r % WORDS.length]!;
        for (let j = 0; j < word.length && i < length; j++) data[i++] = word.charCodeAt(j);
        i--;
        break;
      }
      case "edits":
        // Mostly copies from up to 70000 bytes back (some beyond any offset LZ4 can express), some fresh bytes.
        data[i] = i > 0 && r % 8 !== 0 ? data[i - 1 - ((r >>> 3) % Math.min(i, 70_000))]! : r;
        break;
    }
  }
  return data;
}

const dataArb = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom(...KINDS), length: fc.integer({ min: 0, max: 70_000 }), seed: fc.integer() }).map((s) => makeData(s.kind, s.length, s.seed)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300, min: 0, max: 2 }) },
);

describe("hand-checked blocks (lz4_Block_format.md)", () => {
  // No 4 bytes of it repeat, so no match can be found.
  const RANDOM_300 = makeData("random", 300, 1);
  // [what, data, block]: each codec compresses the data to exactly this block (the greedy parse is forced), and decodes it back.
  const blocks: Array<[string, Uint8Array, string]> = [
    ["empty data: one token, no literals", new Uint8Array(0), "00"],
    ["one byte", ascii("x"), "1078"],
    ["12 bytes: too short for any match", ascii("abcabcabcabc"), "c0616263616263616263616263"],
    // 'a', then a match at offset 1 for 14 bytes (token 0x1a: 1 literal, 14 - 4), then the 5 literals the end requires.
    ["20 × 'a'", ascii("a".repeat(20)), "1a610100506161616161"],
    // Match of 994 = 4 + 15 + 3 × 255 + 210: nibble 15, then ff ff ff d2.
    ["1000 × 'a'", ascii("a".repeat(1000)), "1f610100ffffffd2506161616161"],
    // 300 literals = 15 + 255 + 30: token 0xf0, then ff 1e.
    ["300 random bytes: literals only", RANDOM_300, "f0ff1e" + hex(RANDOM_300)],
  ];
  for (const [name, c] of CODECS) {
    test.each(blocks)(`${name}: %s`, (_, data, block) => {
      expect(hex(compress(c, data))).toBe(block);
      expect(hex(decompress(c, fromHex(block), data.length)!)).toBe(hex(data));
    });
    test(`${name}: overlapping copies and a last sequence of no literals`, () => {
      // "abc", then offset 3 for 9 bytes (each copied byte is one just written), then an empty last sequence.
      expect(decompress(c, fromHex("35616263030000"), 12)).toEqual(ascii("abcabcabcabc"));
      // Offset 1 repeats the last byte: 'z' then 4 + 15 + 1 more = 20 copies.
      expect(decompress(c, fromHex("1f7a01000100"), 21)).toEqual(ascii("z".repeat(21)));
      // The last token's match nibble is unused (as in the reference decoder).
      expect(decompress(c, fromHex("1f78"), 4)).toEqual(ascii("x"));
    });
  }
});

describe("reference LZ4 blocks (test/vectors/lz4.json)", () => {
  const WORD_TABLE = ["the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ", "\n", "rsync ", "delta "];
  /** The inputs the generator describes (see the file's `inputs`). */
  function input(spec: { hex?: string; generator?: string; length?: number }): Uint8Array {
    if (spec.hex !== undefined) return fromHex(spec.hex);
    const length = spec.length!;
    let state = (length ^ 0x2545f491) >>> 0;
    const draw = () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state >>> 24;
    };
    if (spec.generator === "lcg-bytes") return Uint8Array.from({ length }, draw);
    if (spec.generator === "lcg-nibbles") return Uint8Array.from({ length }, () => draw() >> 4);
    let text = "";
    while (text.length < length) text += WORD_TABLE[draw() % WORD_TABLE.length];
    return ascii(text.slice(0, length));
  }

  const cases = vectors.vectors.flatMap((v) =>
    (["fast", "fast_accel8", "hc9"] as const).filter((mode) => mode in v).map((mode) => ({ name: `${v.name} (${mode})`, v, block: (v as Record<string, unknown>)[mode] as string })),
  );
  test("the file holds every mode of every vector", () => expect(cases.length).toBe(3 * vectors.vectors.length - 2));
  for (const [name, c] of CODECS) {
    test.each(cases)(`${name} decodes %#: $name`, ({ v, block }) => {
      const data = input(v.input);
      expect(data.length).toBe(v.length);
      const bytes = fromHex(block);
      expect(hex(decompress(c, bytes, data.length)!)).toBe(hex(data));
      expect(hex(decompress(c, bytes, data.length + 100)!)).toBe(hex(data));
      if (data.length > 0) expect(decompress(c, bytes, data.length - 1)).toBeNull();
    });
  }
  test("the reference blocks are no smaller than ours by much, for the fast mode", () => {
    for (const v of vectors.vectors) {
      if (!("fast" in v)) continue;
      const ours = compress(core, input(v.input)).length;
      expect(ours).toBeLessThanOrEqual(Math.ceil((v.fast as string).length / 2) * 1.05 + 2);
    }
  });
});

describe("round trips", () => {
  test("every encoder's block decodes with both decoders and keeps the end-of-block rules", () => {
    fc.assert(
      fc.property(dataArb, (data) => {
        for (const [, encoder] of CODECS) {
          const block = compress(encoder, data);
          expect(block.length).toBeLessThanOrEqual(lz4CompressBound(data.length));
          expectEndOfBlockRules(block, data.length);
          for (const [, decoder] of CODECS) {
            const back = decompress(decoder, block, data.length);
            expect(back !== null && Buffer.compare(back, data) === 0).toBe(true);
            if (data.length > 0) expect(decoder.lz4Decompress(block, new Uint8Array(data.length - 1))).toBe(-1);
          }
          // Exactly the room the block needs: the same block.
          const exact = new Uint8Array(block.length);
          expect(encoder.lz4Compress(data, exact)).toBe(block.length);
          expect(hex(exact)).toBe(hex(block));
          // One byte short of the block's length: it does not fit, and nothing is written past dst.
          const short = new Uint8Array(block.length + 8).fill(0xa5);
          expect(encoder.lz4Compress(data, short.subarray(0, block.length - 1))).toBe(0);
          expect(short.subarray(block.length - 1).every((b) => b === 0xa5)).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  test("repeats further back than 65535 bytes are never referenced", () => {
    const data = makeData("random", 140_000, 5);
    for (const at of [65_536, 70_000, 131_072]) data.copyWithin(at, 0, 1000);
    for (const [, c] of CODECS) {
      const block = compress(c, data);
      expectEndOfBlockRules(block, data.length);
      expect(Buffer.compare(decompress(core, block, data.length)!, data)).toBe(0);
    }
  });

  test("an empty dst takes nothing, not even the empty block", () => {
    for (const [, c] of CODECS) {
      expect(c.lz4Compress(new Uint8Array(0), new Uint8Array(0))).toBe(0);
      expect(c.lz4Decompress(fromHex("00"), new Uint8Array(0))).toBe(0);
    }
  });
});

describe("hostile blocks", () => {
  /** Both decoders give the same answer (they check the same things in the same order); returns it. */
  function decodeBoth(block: Uint8Array, capacity: number): Uint8Array | null {
    const native = decompress(core, block, capacity);
    const ts = decompress(tsCore, block, capacity);
    expect(native === null ? null : hex(native)).toBe(ts === null ? null : hex(ts));
    return native;
  }

  test.each([
    ["no token at all", ""],
    ["5 literals announced, 3 present", "50616263"],
    ["literal length runs off the end", "f0"],
    ["literal length runs off the end after 255s", "f0ffff"],
    ["offset cut short", "1161" + "01"],
    ["offset 0", "116100005061616161"],
    ["offset before the start of the output", "116102005061616161"],
    ["match length runs off the end", "1f610100"],
    ["match length runs off the end after 255s", "1f610100ffff"],
    ["the block ends with a match", "10610100"],
  ])("%s: -1", (_, block) => {
    expect(decodeBoth(fromHex(block), 100)).toBeNull();
  });

  test("lengths far beyond the input or the output are refused at once", () => {
    const endlessLiterals = new Uint8Array(1_000_000).fill(255);
    endlessLiterals[0] = 0xf0;
    expect(decodeBoth(endlessLiterals, 100)).toBeNull();
    const endlessMatch = new Uint8Array(1_000_000).fill(255);
    endlessMatch.set([0x1f, 0x61, 0x01, 0x00]);
    expect(decodeBoth(endlessMatch, 100)).toBeNull();
    // Valid blocks whose output would not fit.
    expect(decodeBoth(fromHex("1f610100ffffffd2506161616161"), 999)).toBeNull();
    expect(decodeBoth(fromHex("5068656c6c6f"), 4)).toBeNull();
  });

  test("random bytes: both decoders agree, nothing thrown, nothing written past dst", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(2000), (block, capacity) => {
        decodeBoth(block, capacity);
      }),
      { numRuns: 3000 },
    );
  });

  test("truncated blocks fail or decode to a prefix of the data; corrupted ones stay in bounds", () => {
    fc.assert(
      fc.property(dataArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(), (data, flips, cutSeed) => {
        const block = compress(core, data);
        const cut = cutSeed % block.length;
        const prefix = decodeBoth(block.subarray(0, cut), data.length);
        if (prefix !== null) expect(hex(prefix)).toBe(hex(data.subarray(0, prefix.length)));

        const corrupted = Uint8Array.from(block);
        for (const [at, value] of flips) corrupted[at % corrupted.length] = value;
        decodeBoth(corrupted, data.length);
        decodeBoth(corrupted, data.length + 1000);
      }),
      { numRuns: 200 },
    );
  });
});
