/**
 * 64-bit C words filled from JS numbers without BigInt, as 32-bit halves
 * (little-endian, as on x86-64 and arm64): struct iovec arrays for writev and
 * the native file writer, and the int64 fields of timespecs. A BigInt64Array
 * takes a BigInt per store, a heap cell each: two per chunk written was
 * garbage enough to show among the eden collections of a kernel-tree pull.
 */
import { ptr } from "bun:ffi";

const WORD = 0x1_0000_0000;

export class Iovecs {
  /** Four 32-bit halves per iovec; pass it where the C side wants `struct iovec *`. */
  words: Uint32Array<ArrayBuffer>;

  constructor(count: number) {
    this.words = new Uint32Array(count * 4);
  }

  /** Room for `count` iovecs (what was set before may be lost). */
  ensure(count: number): void {
    if (this.words.length < count * 4) this.words = new Uint32Array(count * 4);
  }

  /** iovec `i` covers `chunk` (an empty one gets a null base). */
  set(i: number, chunk: Uint8Array): void {
    const base = chunk.byteLength ? ptr(chunk) : 0;
    const length = chunk.byteLength;
    const w = this.words;
    const at = i * 4;
    w[at] = base % WORD;
    w[at + 1] = Math.floor(base / WORD);
    w[at + 2] = length % WORD;
    w[at + 3] = Math.floor(length / WORD);
  }
}

/** A whole number (within 2^53, negative too) as the int64 at words[at], words[at + 1]. */
export function putI64(words: Int32Array, at: number, value: number): void {
  const hi = Math.floor(value / WORD);
  words[at] = value - hi * WORD;
  words[at + 1] = hi;
}
