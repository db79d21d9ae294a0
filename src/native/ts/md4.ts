/**
 * MD4 (RFC 1320) in plain TypeScript, plus the "busted" finish of rsync
 * protocols < 27 (see MdBlockHasherOptions.busted).
 */
import type { Hasher } from "../api.ts";
import { MdBlockHasher } from "./md-block-hasher.ts";

const MD4_INITIAL_STATE = Int32Array.of(0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476);

/** Round 2 adds floor(√2 · 2^30), round 3 floor(√3 · 2^30) (RFC 1320 §3.4). */
const ROUND2_CONSTANT = 0x5a827999;
const ROUND3_CONSTANT = 0x6ed9eba1;

function rotateLeft(x: number, s: number): number {
  return (x << s) | (x >>> (32 - s));
}

// a = (a + f(b, c, d) + x [+ constant]) <<< s, with F = select, G = majority, H = parity.
function round1(a: number, b: number, c: number, d: number, x: number, s: number): number {
  return rotateLeft((a + ((b & c) | (~b & d)) + x) | 0, s);
}
function round2(a: number, b: number, c: number, d: number, x: number, s: number): number {
  return rotateLeft((a + ((b & c) | (b & d) | (c & d)) + x + ROUND2_CONSTANT) | 0, s);
}
function round3(a: number, b: number, c: number, d: number, x: number, s: number): number {
  return rotateLeft((a + (b ^ c ^ d) + x + ROUND3_CONSTANT) | 0, s);
}

function md4Compress(state: Int32Array, block: DataView, offset: number): void {
  const x0 = block.getInt32(offset + 0, true);
  const x1 = block.getInt32(offset + 4, true);
  const x2 = block.getInt32(offset + 8, true);
  const x3 = block.getInt32(offset + 12, true);
  const x4 = block.getInt32(offset + 16, true);
  const x5 = block.getInt32(offset + 20, true);
  const x6 = block.getInt32(offset + 24, true);
  const x7 = block.getInt32(offset + 28, true);
  const x8 = block.getInt32(offset + 32, true);
  const x9 = block.getInt32(offset + 36, true);
  const x10 = block.getInt32(offset + 40, true);
  const x11 = block.getInt32(offset + 44, true);
  const x12 = block.getInt32(offset + 48, true);
  const x13 = block.getInt32(offset + 52, true);
  const x14 = block.getInt32(offset + 56, true);
  const x15 = block.getInt32(offset + 60, true);
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;

  a = round1(a, b, c, d, x0, 3);
  d = round1(d, a, b, c, x1, 7);
  c = round1(c, d, a, b, x2, 11);
  b = round1(b, c, d, a, x3, 19);
  a = round1(a, b, c, d, x4, 3);
  d = round1(d, a, b, c, x5, 7);
  c = round1(c, d, a, b, x6, 11);
  b = round1(b, c, d, a, x7, 19);
  a = round1(a, b, c, d, x8, 3);
  d = round1(d, a, b, c, x9, 7);
  c = round1(c, d, a, b, x10, 11);
  b = round1(b, c, d, a, x11, 19);
  a = round1(a, b, c, d, x12, 3);
  d = round1(d, a, b, c, x13, 7);
  c = round1(c, d, a, b, x14, 11);
  b = round1(b, c, d, a, x15, 19);

  a = round2(a, b, c, d, x0, 3);
  d = round2(d, a, b, c, x4, 5);
  c = round2(c, d, a, b, x8, 9);
  b = round2(b, c, d, a, x12, 13);
  a = round2(a, b, c, d, x1, 3);
  d = round2(d, a, b, c, x5, 5);
  c = round2(c, d, a, b, x9, 9);
  b = round2(b, c, d, a, x13, 13);
  a = round2(a, b, c, d, x2, 3);
  d = round2(d, a, b, c, x6, 5);
  c = round2(c, d, a, b, x10, 9);
  b = round2(b, c, d, a, x14, 13);
  a = round2(a, b, c, d, x3, 3);
  d = round2(d, a, b, c, x7, 5);
  c = round2(c, d, a, b, x11, 9);
  b = round2(b, c, d, a, x15, 13);

  a = round3(a, b, c, d, x0, 3);
  d = round3(d, a, b, c, x8, 9);
  c = round3(c, d, a, b, x4, 11);
  b = round3(b, c, d, a, x12, 15);
  a = round3(a, b, c, d, x2, 3);
  d = round3(d, a, b, c, x10, 9);
  c = round3(c, d, a, b, x6, 11);
  b = round3(b, c, d, a, x14, 15);
  a = round3(a, b, c, d, x1, 3);
  d = round3(d, a, b, c, x9, 9);
  c = round3(c, d, a, b, x5, 11);
  b = round3(b, c, d, a, x13, 15);
  a = round3(a, b, c, d, x3, 3);
  d = round3(d, a, b, c, x11, 9);
  c = round3(c, d, a, b, x7, 11);
  b = round3(b, c, d, a, x15, 15);

  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
}

/** Standard MD4. */
export function createMd4(): Hasher {
  return new MdBlockHasher({ compress: md4Compress, initialState: MD4_INITIAL_STATE });
}

/** MD4 as rsync protocols 21-26 computed it. */
export function createMd4Busted(): Hasher {
  return new MdBlockHasher({ compress: md4Compress, initialState: MD4_INITIAL_STATE, busted: true });
}
