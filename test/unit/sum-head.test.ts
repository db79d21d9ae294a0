import { expect, test } from "bun:test";
import { chooseSumHead, readSumHead, writeSumHead } from "../../src/delta/sum-head.ts";
import { sumByName } from "../../src/protocol/checksum-choice.ts";
import { ChunkReader } from "../../src/protocol/reader.ts";
import { ByteWriter } from "../../src/protocol/writer.ts";

// Appendix B.6 of the protocol reference (sum_sizes_sqroot, protocol 30+, first pass).
const CASES: [number, number, number, number, number, number?][] = [
  [5, 700, 2, 1, 5],
  [1000, 700, 2, 2, 300],
  [490000, 700, 2, 700, 0],
  [490001, 700, 2, 701, 1],
  [1_000_000, 1000, 2, 1000, 0],
  [10_000_000, 3160, 2, 3165, 1760],
  [100 * 2 ** 20, 10240, 3, 10240, 0],
  [2 ** 30, 32768, 3, 32768, 0],
  [4 * 2 ** 30, 65536, 4, 65536, 0],
  [1e12, 131072, 5, 7629395, 69632],
  [2 ** 40, 131072, 6, 8388608, 0],
  [2 ** 40, 1048576, 5, 1048576, 0, 29],
];

test.each(CASES)("basis of %d bytes", (len, blength, s2, count, remainder, protocol = 31) => {
  expect(chooseSumHead(len, protocol, 16, false)).toEqual({ blockLength: blength, strongLength: s2, count, remainder });
});

test("the redo pass asks for full sums, capped at the digest length", () => {
  expect(chooseSumHead(5000, 31, 16, true).strongLength).toBe(16);
  expect(chooseSumHead(5000, 31, 8, true).strongLength).toBe(8);
  // sha1: never more than SUM_LENGTH (generator.c MIN(SUM_LENGTH, xfer_sum_len)), though its digest has 20 bytes.
  expect(chooseSumHead(5000, 31, sumByName("sha1", 31).length, true).strongLength).toBe(16);
});

test("a sender takes strong sums up to the session's digest length: 20 bytes with sha1 (io.c read_sum_head)", () => {
  const head = (strongLength: number) => {
    const w = new ByteWriter(16);
    writeSumHead(w, { count: 1, blockLength: 700, strongLength, remainder: 0 }, 31);
    const r = new ChunkReader();
    r.push(w.take());
    return r;
  };
  const sha1 = sumByName("sha1", 31).length;
  expect(sha1).toBe(20);
  expect(readSumHead(head(20), 31, sha1, "sender").strongLength).toBe(20);
  expect(() => readSumHead(head(21), 31, sha1, "sender")).toThrow("Invalid checksum length 21 [sender]");
  expect(() => readSumHead(head(17), 31, sumByName("md5", 31).length, "receiver")).toThrow("Invalid checksum length 17 [receiver]");
});

test("blocks of no length are refused, an empty head of no length is not (io.c read_sum_head)", () => {
  const head = (count: number, blockLength: number) => {
    const w = new ByteWriter(16);
    writeSumHead(w, { count, blockLength, strongLength: 16, remainder: 0 }, 31);
    const r = new ChunkReader();
    r.push(w.take());
    return r;
  };
  expect(() => readSumHead(head(1, 0), 31, 16, "sender")).toThrow("Invalid zero block length [sender]");
  expect(readSumHead(head(0, 0), 31, 16, "receiver").count).toBe(0);
});
