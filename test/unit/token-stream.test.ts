/**
 * The token streams on their own: what the writer puts on the wire for each
 * algorithm, read back by the reader with the stream cut into arbitrary
 * pieces (every UNDERFLOW retried), must rebuild the same file; hostile
 * streams must end in a protocol or stream error, never a crash, a hang or
 * unbounded memory.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Cpres, type Compression } from "../../src/compress/choice.ts";
import { TOKEN_END, tokenReaderFor, type TokenReader } from "../../src/delta/token-reader.ts";
import { tokenWriterFor, TOKEN_FLAG } from "../../src/delta/token-writer.ts";
import { ChunkReader, UNDERFLOW } from "../../src/protocol/reader.ts";
import { ByteWriter } from "../../src/protocol/writer.ts";
import { RsyncError } from "../../src/errors.ts";
import { noise } from "../helpers/noise.ts";

/** The basis's block length (one test needs blocks longer than 64 KiB). */
let blockLength = 700;
const ALGORITHMS: Compression[] = [
  { alg: Cpres.NONE, level: 0 },
  { alg: Cpres.ZLIB, level: 6 },
  { alg: Cpres.ZLIBX, level: 1 },
  { alg: Cpres.ZSTD, level: 3 },
  { alg: Cpres.LZ4, level: 0 },
];

/** A file as the sender sees it: literal pieces and blocks of a basis, in order. */
type Op = { literal: Uint8Array } | { block: number };

/** Random bytes (xorshift): no block matches another by chance. */
const basis = noise(4 * 70_000, 12345);
const blockBytes = (n: number) => basis.subarray(n * blockLength, (n + 1) * blockLength);

function encode(c: Compression, files: Op[][], protocol = 31): Uint8Array {
  const tokens = tokenWriterFor(c, { protocol });
  const w = new ByteWriter();
  for (const ops of files) {
    for (const op of ops) {
      if ("literal" in op) tokens.literal(w, op.literal);
      else tokens.block(w, op.block, blockBytes(op.block));
    }
    tokens.end(w);
  }
  return w.take().slice();
}

/** Reads `files` files from `stream` delivered in pieces of `piece` bytes, retrying as Input.loop does. */
function decode(c: Compression, stream: Uint8Array, files: number, piece: number, protocol = 31): Uint8Array[] {
  const reader: TokenReader = tokenReaderFor(c, { protocol });
  const r = new ChunkReader();
  let fed = 0;
  const out: Uint8Array[] = [];
  let current: number[] = [];
  while (out.length < files) {
    r.mark();
    let token: Uint8Array | number;
    try {
      token = reader.read(r);
    } catch (e) {
      if (e !== UNDERFLOW) throw e;
      r.rewind();
      if (fed >= stream.length) throw new Error("stream ended early");
      r.push(stream.subarray(fed, fed + piece));
      fed += piece;
      continue;
    }
    if (token === TOKEN_END) {
      out.push(Uint8Array.from(current));
      current = [];
    } else if (typeof token === "number") {
      const bytes = blockBytes(token);
      reader.seeBlock(bytes);
      current.push(...bytes);
    } else {
      current.push(...token);
    }
  }
  return out;
}

function expected(ops: Op[]): Uint8Array {
  const parts: number[] = [];
  for (const op of ops) parts.push(...("literal" in op ? op.literal : blockBytes(op.block)));
  return Uint8Array.from(parts);
}

const literalArb = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 3000 }),
  // Compressible runs, long enough for several DEFLATED_DATA payloads.
  fc.tuple(fc.integer({ min: 1, max: 60_000 }), fc.integer({ min: 0, max: 255 })).map(([n, b]) => new Uint8Array(n).fill(b)),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  literalArb.map((literal) => ({ literal })),
  fc.integer({ min: 0, max: 63 }).map((block) => ({ block })),
);
/** Files with runs of consecutive blocks too (the run tokens). */
const fileArb = fc.array(fc.oneof(opArb, fc.integer({ min: 0, max: 50 }).map((b) => [{ block: b }, { block: b + 1 }, { block: b + 2 }] as Op[])), { maxLength: 12 }).map((ops) => ops.flat());

describe("token streams round-trip", () => {
  for (const c of ALGORITHMS) {
    test(`algorithm ${c.alg}: any files, any cut of the stream`, () => {
      fc.assert(
        fc.property(fc.array(fileArb, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 5000 }), (files, piece) => {
          const stream = encode(c, files);
          const got = decode(c, stream, files.length, piece);
          files.forEach((ops, i) => expect(Buffer.from(got[i]!).equals(Buffer.from(expected(ops)))).toBe(true));
        }),
        { numRuns: 40 },
      );
    });
  }

  test("zlib below protocol 31 inserts the first 64 KiB of a long block again and again, on both sides", () => {
    const zlib = { alg: Cpres.ZLIB, level: 6 } as const;
    blockLength = 70_000;
    try {
      // Literal data that repeats the block's tail: deflate refers back to it in the history (at 31; at 30 it is not there).
      const files: Op[][] = [[{ literal: new Uint8Array(5000).fill(9) }, { block: 2 }, { literal: blockBytes(2).slice(66_000) }]];
      const want = Buffer.from(expected(files[0]!));
      for (const protocol of [30, 31]) {
        expect(Buffer.from(decode(zlib, encode(zlib, files, protocol), 1, 97, protocol)[0]!).equals(want)).toBe(true);
      }
      // Decoded with the other protocol's history the back-references miss.
      let crossed: Uint8Array | null = null;
      try {
        crossed = decode(zlib, encode(zlib, files, 31), 1, 97, 30)[0]!;
      } catch {
        // an invalid distance is as good a failure
      }
      expect(crossed !== null && Buffer.from(crossed).equals(want)).toBe(false);
    } finally {
      blockLength = 700;
    }
  });
});

describe("the compressed stream's framing", () => {
  test("a run of blocks after literal data is one relative run token; a far block an absolute one", () => {
    const stream = encode({ alg: Cpres.LZ4, level: 0 }, [[{ literal: Uint8Array.of(1, 2, 3) }, { block: 5 }, { block: 6 }, { block: 7 }, { block: 200 }]]);
    // DATA(len) payload, then RUN_REL+5 with count 2, then LONG 200, then END.
    const payloadLength = stream[1]!;
    const rest = Array.from(stream.subarray(2 + payloadLength));
    expect(stream[0]).toBe(TOKEN_FLAG.DATA);
    expect(rest).toEqual([TOKEN_FLAG.RUN_REL + 5, 2, 0, TOKEN_FLAG.LONG, 200, 0, 0, 0, TOKEN_FLAG.END]);
  });
});

/** Feeds a hand-made stream to a reader; returns the error it ends with. */
function hostile(c: Compression, bytes: number[]): unknown {
  const reader = tokenReaderFor(c, { protocol: 31 });
  const r = new ChunkReader();
  r.push(Uint8Array.from(bytes));
  try {
    for (let i = 0; i < 1000; i++) {
      if (reader.read(r) === TOKEN_END) return "end";
    }
    return "no end";
  } catch (e) {
    return e;
  }
}

describe("hostile compressed streams", () => {
  const zlib = { alg: Cpres.ZLIB, level: 6 } as const;
  test("garbage in a DEFLATED_DATA payload is a stream error (exit 12)", () => {
    const e = hostile(zlib, [TOKEN_FLAG.DATA, 4, 0xff, 0xff, 0xff, 0xff, TOKEN_FLAG.END]);
    expect(e).toBeInstanceOf(RsyncError);
    expect((e as RsyncError).code).toBe(12);
  });

  test("token numbers beyond upstream's limit, empty runs and unknown flags are protocol errors", () => {
    for (const bytes of [
      [TOKEN_FLAG.LONG, 0xff, 0xff, 0xff, 0x7f],
      [TOKEN_FLAG.LONG, 0xff, 0xff, 0xff, 0xff],
      [TOKEN_FLAG.RUN_REL + 1, 0, 0],
      [TOKEN_FLAG.LONG, 0xfe, 0xff, 0xff, 0x7f, TOKEN_FLAG.RUN_REL + 0, 5, 0],
      [0x05],
    ]) {
      const e = hostile({ alg: Cpres.ZSTD, level: 3 }, bytes);
      expect(e).toBeInstanceOf(RsyncError);
      expect((e as RsyncError).code).toBe(2);
    }
  });

  test("a zstd payload standing for 256 MiB comes out in bounded pieces", async () => {
    const zlib = await import("node:zlib");
    // A bomb: 256 MiB of zeros is a few KiB of zstd.
    const bomb = zlib.zstdCompressSync(new Uint8Array(1 << 28));
    expect(bomb.length).toBeLessThan(16383);
    const reader = tokenReaderFor({ alg: Cpres.ZSTD, level: 3 }, { protocol: 31 });
    const r = new ChunkReader();
    r.push(Uint8Array.from([TOKEN_FLAG.DATA | (bomb.length >> 8), bomb.length & 0xff, ...bomb]));
    let largest = 0;
    let total = 0;
    for (let i = 0; i < 100; i++) {
      const out = reader.read(r) as Uint8Array;
      largest = Math.max(largest, out.length);
      total += out.length;
    }
    expect(largest).toBeLessThanOrEqual(64 * 1024);
    expect(total).toBeGreaterThan(0);
  });
});
