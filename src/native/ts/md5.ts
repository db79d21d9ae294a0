/**
 * MD5 (RFC 1321) in plain TypeScript: the compression function, unrolled.
 * The step constants are floor(|sin(i + 1)| · 2^32) from the RFC's table.
 */
import type { Hasher } from "../api.ts";
import { MdBlockHasher } from "./md-block-hasher.ts";

const MD5_INITIAL_STATE = Int32Array.of(0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476);

function rotateLeft(x: number, s: number): number {
  return (x << s) | (x >>> (32 - s));
}

// One step per auxiliary function F, G, H, I: a = b + ((a + f(b, c, d) + x + t) <<< s).
function ff(a: number, b: number, c: number, d: number, x: number, s: number, t: number): number {
  return (b + rotateLeft((a + ((b & c) | (~b & d)) + x + t) | 0, s)) | 0;
}
function gg(a: number, b: number, c: number, d: number, x: number, s: number, t: number): number {
  return (b + rotateLeft((a + ((b & d) | (c & ~d)) + x + t) | 0, s)) | 0;
}
function hh(a: number, b: number, c: number, d: number, x: number, s: number, t: number): number {
  return (b + rotateLeft((a + (b ^ c ^ d) + x + t) | 0, s)) | 0;
}
function ii(a: number, b: number, c: number, d: number, x: number, s: number, t: number): number {
  return (b + rotateLeft((a + (c ^ (b | ~d)) + x + t) | 0, s)) | 0;
}

function md5Compress(state: Int32Array, block: DataView, offset: number): void {
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

  a = ff(a, b, c, d, x0, 7, 0xd76aa478);
  d = ff(d, a, b, c, x1, 12, 0xe8c7b756);
  c = ff(c, d, a, b, x2, 17, 0x242070db);
  b = ff(b, c, d, a, x3, 22, 0xc1bdceee);
  a = ff(a, b, c, d, x4, 7, 0xf57c0faf);
  d = ff(d, a, b, c, x5, 12, 0x4787c62a);
  c = ff(c, d, a, b, x6, 17, 0xa8304613);
  b = ff(b, c, d, a, x7, 22, 0xfd469501);
  a = ff(a, b, c, d, x8, 7, 0x698098d8);
  d = ff(d, a, b, c, x9, 12, 0x8b44f7af);
  c = ff(c, d, a, b, x10, 17, 0xffff5bb1);
  b = ff(b, c, d, a, x11, 22, 0x895cd7be);
  a = ff(a, b, c, d, x12, 7, 0x6b901122);
  d = ff(d, a, b, c, x13, 12, 0xfd987193);
  c = ff(c, d, a, b, x14, 17, 0xa679438e);
  b = ff(b, c, d, a, x15, 22, 0x49b40821);

  a = gg(a, b, c, d, x1, 5, 0xf61e2562);
  d = gg(d, a, b, c, x6, 9, 0xc040b340);
  c = gg(c, d, a, b, x11, 14, 0x265e5a51);
  b = gg(b, c, d, a, x0, 20, 0xe9b6c7aa);
  a = gg(a, b, c, d, x5, 5, 0xd62f105d);
  d = gg(d, a, b, c, x10, 9, 0x02441453);
  c = gg(c, d, a, b, x15, 14, 0xd8a1e681);
  b = gg(b, c, d, a, x4, 20, 0xe7d3fbc8);
  a = gg(a, b, c, d, x9, 5, 0x21e1cde6);
  d = gg(d, a, b, c, x14, 9, 0xc33707d6);
  c = gg(c, d, a, b, x3, 14, 0xf4d50d87);
  b = gg(b, c, d, a, x8, 20, 0x455a14ed);
  a = gg(a, b, c, d, x13, 5, 0xa9e3e905);
  d = gg(d, a, b, c, x2, 9, 0xfcefa3f8);
  c = gg(c, d, a, b, x7, 14, 0x676f02d9);
  b = gg(b, c, d, a, x12, 20, 0x8d2a4c8a);

  a = hh(a, b, c, d, x5, 4, 0xfffa3942);
  d = hh(d, a, b, c, x8, 11, 0x8771f681);
  c = hh(c, d, a, b, x11, 16, 0x6d9d6122);
  b = hh(b, c, d, a, x14, 23, 0xfde5380c);
  a = hh(a, b, c, d, x1, 4, 0xa4beea44);
  d = hh(d, a, b, c, x4, 11, 0x4bdecfa9);
  c = hh(c, d, a, b, x7, 16, 0xf6bb4b60);
  b = hh(b, c, d, a, x10, 23, 0xbebfbc70);
  a = hh(a, b, c, d, x13, 4, 0x289b7ec6);
  d = hh(d, a, b, c, x0, 11, 0xeaa127fa);
  c = hh(c, d, a, b, x3, 16, 0xd4ef3085);
  b = hh(b, c, d, a, x6, 23, 0x04881d05);
  a = hh(a, b, c, d, x9, 4, 0xd9d4d039);
  d = hh(d, a, b, c, x12, 11, 0xe6db99e5);
  c = hh(c, d, a, b, x15, 16, 0x1fa27cf8);
  b = hh(b, c, d, a, x2, 23, 0xc4ac5665);

  a = ii(a, b, c, d, x0, 6, 0xf4292244);
  d = ii(d, a, b, c, x7, 10, 0x432aff97);
  c = ii(c, d, a, b, x14, 15, 0xab9423a7);
  b = ii(b, c, d, a, x5, 21, 0xfc93a039);
  a = ii(a, b, c, d, x12, 6, 0x655b59c3);
  d = ii(d, a, b, c, x3, 10, 0x8f0ccc92);
  c = ii(c, d, a, b, x10, 15, 0xffeff47d);
  b = ii(b, c, d, a, x1, 21, 0x85845dd1);
  a = ii(a, b, c, d, x8, 6, 0x6fa87e4f);
  d = ii(d, a, b, c, x15, 10, 0xfe2ce6e0);
  c = ii(c, d, a, b, x6, 15, 0xa3014314);
  b = ii(b, c, d, a, x13, 21, 0x4e0811a1);
  a = ii(a, b, c, d, x4, 6, 0xf7537e82);
  d = ii(d, a, b, c, x11, 10, 0xbd3af235);
  c = ii(c, d, a, b, x2, 15, 0x2ad7d2bb);
  b = ii(b, c, d, a, x9, 21, 0xeb86d391);

  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
}

export function createMd5(): Hasher {
  return new MdBlockHasher({ compress: md5Compress, initialState: MD5_INITIAL_STATE });
}
