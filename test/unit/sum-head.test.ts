import { expect, test } from "bun:test";
import { chooseSumHead } from "../../src/delta/sum-head.ts";

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
});
