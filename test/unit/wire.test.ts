import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Demultiplexer, type FrameReader, MSG, frameHeader } from "../../src/protocol/mux.ts";
import { NDX_DONE, NDX_FLIST_EOF, NdxDecoder, NdxEncoder } from "../../src/protocol/ndx.ts";
import { ChunkReader, UNDERFLOW } from "../../src/protocol/reader.ts";
import { ByteWriter } from "../../src/protocol/writer.ts";
import type { RsyncError } from "../../src/errors.ts";

/** A pulling client under incremental recursion, before its receiving process would fork. */
const pullingClient: FrameReader = { readerName: () => "Receiver/inc", amServer: false, localCopy: false };

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex").replace(/(..)(?!$)/g, "$1 ");
const fromHex = (s: string) => new Uint8Array(Buffer.from(s.replace(/ /g, ""), "hex"));

/** A reader holding `bytes` split into chunks at the given cut points. */
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

// Appendix B.1 of the protocol reference.
const VARINTS: [number, string][] = [
  [0, "00"], [1, "01"], [5, "05"], [127, "7f"], [128, "80 80"], [255, "80 ff"], [256, "81 00"],
  [1000, "83 e8"], [4096, "90 00"], [16383, "bf ff"], [16384, "c0 00 40"], [2097151, "df ff ff"],
  [2097152, "e0 00 00 20"], [268435455, "ef ff ff ff"], [268435456, "f0 00 00 00 10"],
  [2147483647, "f0 ff ff ff 7f"], [-1, "f0 ff ff ff ff"], [0x98, "80 98"], [0x1ff, "81 ff"], [0xc01, "8c 01"],
];
const VARLONGS3: [number, string][] = [
  [0, "00 00 00"], [5, "00 05 00"], [4096, "00 00 10"], [8388607, "7f ff ff"], [8388608, "80 00 00 80"],
  [16777216, "81 00 00 00"], [1700000000, "c0 00 f1 53 65"], [2147483647, "c0 ff ff ff 7f"],
  [2147483648, "c0 00 00 00 80"], [4294967296, "c1 00 00 00 00"], [2 ** 40 + 5, "e1 05 00 00 00 00"],
];
const VARLONGS4: [number, string][] = [
  [0, "00 00 00 00"], [5, "00 05 00 00"], [4096, "00 00 10 00"], [8388607, "00 ff ff 7f"],
  [8388608, "00 00 00 80"], [16777216, "01 00 00 00"], [1700000000, "65 00 f1 53"],
  [2147483647, "7f ff ff ff"], [2147483648, "80 00 00 00 80"], [4294967296, "81 00 00 00 00"],
  [2 ** 40 + 5, "c1 05 00 00 00 00"],
];

describe("varint / varlong (Appendix B.1)", () => {
  test.each(VARINTS)("varint %d", (value, bytes) => {
    expect(hex(new ByteWriter().varint(value).take())).toBe(bytes);
    expect(readerOf(fromHex(bytes)).varint()).toBe(value);
  });
  test.each(VARLONGS3)("varlong(%d, 3)", (value, bytes) => {
    expect(hex(new ByteWriter().varlong(value, 3).take())).toBe(bytes);
    expect(readerOf(fromHex(bytes)).varlong(3)).toBe(value);
  });
  test.each(VARLONGS4)("varlong(%d, 4)", (value, bytes) => {
    expect(hex(new ByteWriter().varlong(value, 4).take())).toBe(bytes);
    expect(readerOf(fromHex(bytes)).varlong(4)).toBe(value);
  });
  test("2^62 takes all eight value bytes", () => {
    expect(hex(new ByteWriter().varlong(2 ** 62, 3).take())).toBe("fc 00 00 00 00 00 00 00 40");
    expect(hex(new ByteWriter().varlong(2 ** 62, 4).take())).toBe("f8 00 00 00 00 00 00 00 40");
    expect(readerOf(fromHex("f8 00 00 00 00 00 00 00 40")).varlong(4)).toBe(2 ** 62);
  });
  test("negative mtimes round-trip (pre-1970 files)", () => {
    for (const t of [-1, -86400, -(2 ** 31), -(2 ** 40)]) {
      expect(readerOf(new ByteWriter().varlong(t, 4).take()).varlong(4)).toBe(t);
    }
  });
  test("an over-long varint is a protocol error", () => {
    expect(() => readerOf(fromHex("f8 00 00 00 00 00")).varint()).toThrow("Overflow in read_varint");
  });
  test("round-trips across any chunking", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.maxSafeNat()), { maxLength: 30 }),
        fc.array(fc.nat(400), { maxLength: 10 }),
        (pairs, cuts) => {
          const w = new ByteWriter();
          for (const [i, l] of pairs) w.varint(i).varlong(l, 3).longint(l).vstring(new Uint8Array(i & 0x1ff));
          const r = readerOf(w.take(), cuts);
          for (const [i, l] of pairs) {
            expect(r.varint()).toBe(i);
            expect(r.varlong(3)).toBe(l);
            expect(r.longint()).toBe(l);
            expect(r.vstring(0x7fff).length).toBe(i & 0x1ff);
          }
          expect(r.available).toBe(0);
        },
      ),
    );
  });
});

describe("longint and vstring", () => {
  test("longint switches to 12 bytes above int32", () => {
    expect(hex(new ByteWriter().longint(5).take())).toBe("05 00 00 00");
    expect(hex(new ByteWriter().longint(2 ** 32).take())).toBe("ff ff ff ff 00 00 00 00 01 00 00 00");
  });
  test("vstring uses a big-endian 2-byte length above 127", () => {
    const w = new ByteWriter().vstring(new Uint8Array(300));
    expect(hex(w.peek().subarray(0, 2))).toBe("81 2c");
    expect(() => readerOf(w.take()).vstring(256)).toThrow("over-long vstring");
  });
});

describe("reader underflow", () => {
  test("an incomplete item throws UNDERFLOW and rewinds to its mark", () => {
    const r = new ChunkReader();
    r.push(fromHex("c0 00"));
    r.mark();
    let thrown: unknown;
    try {
      r.varlong(3);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBe(UNDERFLOW);
    r.rewind();
    r.push(fromHex("f1 53 65"));
    expect(r.varlong(3)).toBe(1700000000);
  });
  test("settling before each wait copies nothing wrong: items decode as from one buffer, earlier views keep their bytes", () => {
    // Items of a 1-byte kind: 0 = u8, 1 = i32, 2 = a 2-byte length and bytes(length), kept as a view.
    const item = fc.oneof(
      fc.nat(255).map((v) => ({ kind: 0, bytes: [0, v] })),
      fc.integer().map((v) => ({ kind: 1, bytes: [1, ...new Uint8Array(new Int32Array([v]).buffer)] })),
      fc.uint8Array({ maxLength: 40_000 }).map((b) => ({ kind: 2, bytes: [2, b.length & 0xff, b.length >> 8, ...b] })),
    );
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 20 }), (items, sizes) => {
        const stream = new Uint8Array(items.flatMap((i) => i.bytes));
        const read = (r: ChunkReader): unknown => {
          const kind = r.u8();
          if (kind === 0) return r.u8();
          if (kind === 1) return r.i32();
          const n = r.u8() | (r.u8() << 8);
          return r.bytes(n);
        };
        const want = items.map((i) => read(readerOf(new Uint8Array(i.bytes))));
        const r = new ChunkReader();
        const got: unknown[] = [];
        let from = 0;
        for (let k = 0; got.length < items.length; k++) {
          try {
            r.mark();
            got.push(read(r));
            continue;
          } catch (e) {
            expect(e).toBe(UNDERFLOW);
            r.rewind();
          }
          // A wait for input: settle, then the next chunk arrives (if any is left: else the decoding went wrong).
          expect(from).toBeLessThan(stream.length);
          r.settle();
          const size = sizes[k % sizes.length]!;
          r.push(stream.slice(from, from + size));
          from += size;
        }
        expect(got.map((g) => (g instanceof Uint8Array ? Buffer.from(g) : g))).toEqual(want.map((w) => (w instanceof Uint8Array ? Buffer.from(w) : w)));
        expect(r.consumed).toBe(stream.length);
      }),
      { numRuns: 200 },
    );
  });
  test("running out after the end is a stream error naming the byte count", () => {
    const r = readerOf(fromHex("01 02"));
    r.u16();
    expect(() => r.i32()).toThrow("connection unexpectedly closed (2 bytes received so far)");
  });
});

describe("file indexes (Appendix B.2)", () => {
  const SEQUENCE: [number, string][] = [
    [0, "01"], [2, "02"], [1, "fe 80 01 00 00"], [300, "fe 01 2b"], [300, "fe 00 00"],
    [40000, "fe 80 40 9c 00"], [NDX_DONE, "00"], [NDX_FLIST_EOF, "ff 01"], [-102, "ff 64"],
    [-103, "ff 01"], [-2, "ff fe 80 02 00 00"], [5, "fe 80 05 00 00"],
  ];
  test("encoder produces the reference bytes and the decoder reverses them", () => {
    const enc = new NdxEncoder(31);
    const w = new ByteWriter();
    const parts = SEQUENCE.map(([ndx]) => {
      enc.write(w, ndx);
      return hex(w.take());
    });
    expect(parts).toEqual(SEQUENCE.map(([, b]) => b));
    const dec = new NdxDecoder(31);
    const r = readerOf(fromHex(SEQUENCE.map(([, b]) => b).join(" ")));
    expect(SEQUENCE.map(() => dec.read(r))).toEqual(SEQUENCE.map(([n]) => n));
  });
  test("protocol 29 sends plain int32s", () => {
    const w = new ByteWriter();
    new NdxEncoder(29).write(w, 7);
    new NdxEncoder(29).write(w, NDX_DONE);
    expect(hex(w.take())).toBe("07 00 00 00 ff ff ff ff");
  });
  test("random sequences round-trip", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: -1000, max: -1 }), fc.nat(3_000_000)), { maxLength: 200 }), (seq) => {
        const enc = new NdxEncoder(32);
        const w = new ByteWriter();
        for (const n of seq) enc.write(w, n);
        const dec = new NdxDecoder(32);
        const r = readerOf(w.take());
        expect(seq.map(() => dec.read(r))).toEqual(seq);
      }),
    );
  });
});

describe("demultiplexer", () => {
  test("data is forwarded piecewise and messages whole, whatever the chunking", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(200), { maxLength: 8 }), (cuts) => {
        const stream = Buffer.concat([
          frameHeader(MSG.DATA, 5), Buffer.from("hello"),
          frameHeader(MSG.INFO, 3), Buffer.from("hi\n"),
          frameHeader(MSG.DATA, 0),
          frameHeader(MSG.DATA, 3), Buffer.from("abc"),
        ]);
        const data: Uint8Array[] = [];
        const messages: string[] = [];
        const d = new Demultiplexer({
          data: (p) => data.push(p.slice()),
          message: (code, p) => messages.push(`${code}:${Buffer.from(p).toString()}`),
        }, pullingClient);
        let from = 0;
        for (const cut of [...cuts, stream.length].sort((a, b) => a - b)) {
          if (cut <= from || cut > stream.length) continue;
          d.push(stream.subarray(from, cut));
          from = cut;
        }
        expect(Buffer.concat(data).toString()).toBe("helloabc");
        expect(messages).toEqual(["2:hi\n"]);
        expect(d.atFrameBoundary).toBe(true);
      }),
    );
  });
  /** What a frame makes a demultiplexer reading as `reader` throw (its message and exit code), or "taken". */
  const outcome = (frame: Uint8Array, reader: FrameReader = pullingClient) => {
    const d = new Demultiplexer({ data: () => {}, message: () => {} }, reader);
    try {
      d.push(frame);
      return "taken";
    } catch (e) {
      return `${(e as RsyncError).code} ${(e as Error).message}`;
    }
  };
  test("an unknown tag is fatal, named as upstream's reader names itself", () => {
    expect(outcome(fromHex("00 00 00 12"))).toBe("12 unexpected tag 11 [Receiver/inc]");
    expect(outcome(fromHex("00 00 00 06"))).toBe("12 unexpected tag -1 [Receiver/inc]");
    expect(outcome(fromHex("00 00 00 ff"))).toBe("12 unexpected tag -8 [Receiver/inc]");
  });
  test("a text message of upstream's buffer size or more overflows it", () => {
    expect(outcome(frameHeader(MSG.INFO, 5119))).toBe("taken");
    expect(outcome(frameHeader(MSG.INFO, 5120))).toBe("12 multiplexing overflow 2:5120 [Receiver/inc]");
    expect(outcome(frameHeader(MSG.DELETED, 6000))).toBe("12 multiplexing overflow 101:6000 [Receiver/inc]");
  });
  test("a message of the wrong length, or one only a generator takes from its receiver, is invalid", () => {
    expect(outcome(frameHeader(MSG.IO_ERROR, 3))).toBe("12 invalid multi-message 22:3 [Receiver/inc]");
    expect(outcome(frameHeader(MSG.NOOP, 1))).toBe("12 invalid multi-message 42:1 [Receiver/inc]");
    expect(outcome(frameHeader(MSG.ERROR_EXIT, 2))).toBe("12 invalid multi-message 86:2 [Receiver/inc]");
    expect(outcome(frameHeader(MSG.ERROR_EXIT, 0))).toBe("taken");
    expect(outcome(frameHeader(MSG.REDO, 4))).toBe("12 invalid multi-message 9:4 [Receiver/inc]");
    expect(outcome(frameHeader(MSG.LOG, 3))).toBe("12 invalid multi-message 6:3 [Receiver/inc]");
    // A local copy's confirmation carries the destination's device and inode; over a connection, the index alone.
    expect(outcome(frameHeader(MSG.SUCCESS, 4))).toBe("taken");
    expect(outcome(frameHeader(MSG.SUCCESS, 20))).toBe("12 invalid multi-message 100:20 [Receiver/inc]");
    expect(outcome(frameHeader(MSG.SUCCESS, 20), { ...pullingClient, localCopy: true })).toBe("taken");
    // Only a client may be told to lower its timeout.
    expect(outcome(frameHeader(MSG.IO_TIMEOUT, 4))).toBe("taken");
    expect(outcome(frameHeader(MSG.IO_TIMEOUT, 4), { readerName: () => "sender", amServer: true, localCopy: false })).toBe("12 invalid multi-message 33:4 [sender]");
  });
});

describe("indexes out of range, named as upstream's read_ndx_and_attrs names them", () => {
  test("a directory index the lists do not have: the index as it came, and the range of those", async () => {
    const { FileLists, invalidFileIndex } = await import("../../src/flist/lists.ts");
    const lists = new FileLists(true, 31);
    expect(() => lists.claimDirList(500)).toThrow("Invalid dir index: -601 (-101 - -100) [receiver]");
    expect(() => lists.claimDirList(-97)).toThrow("Invalid dir index: -4 (-101 - -100) [receiver]");
    expect(invalidFileIndex(-7, lists, "sender").message).toBe("Invalid file index: -7 (-1 - -1) [sender]");
  });
});
