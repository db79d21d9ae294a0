/** XXH64 (xxHash's doc/xxhash_spec.md), streaming, with a 64-bit seed. */
import type { Hasher } from "../api.ts";
import { U64, carry32, mulHi32, readU32LE, readU64LE, type ReadonlyU64 } from "./u64.ts";
import { PRIME64_1, PRIME64_2, PRIME64_3, PRIME64_4, PRIME64_5, avalancheXxh64 } from "./xxh-constants.ts";

const STRIPE_BYTES = 32;

// The round's constants as int32 halves, for the inlined hot loop.
const P1_HI = PRIME64_1.hi;
const P1_LO = PRIME64_1.lo;
const P2_HI = PRIME64_2.hi;
const P2_LO = PRIME64_2.lo;

/**
 * The per-lane round, on accumulator `lane` (halves at acc[2·lane], acc[2·lane+1])
 * and the 8 input bytes at `offset`: acc = ((acc + input·PRIME64_2) <<< 31)·PRIME64_1.
 */
function roundLane(acc: Int32Array, lane: number, input: DataView, offset: number): void {
  const inLo = input.getInt32(offset, true);
  const inHi = input.getInt32(offset + 4, true);
  const productLo = Math.imul(inLo, P2_LO);
  const productHi = (mulHi32(inLo, P2_LO) + Math.imul(inLo, P2_HI) + Math.imul(inHi, P2_LO)) | 0;
  const accLo = acc[2 * lane]!;
  const sumLo = (accLo + productLo) | 0;
  const sumHi = (acc[2 * lane + 1]! + productHi + carry32(accLo, productLo, sumLo)) | 0;
  const rotatedHi = (sumHi << 31) | (sumLo >>> 1);
  const rotatedLo = (sumLo << 31) | (sumHi >>> 1);
  acc[2 * lane] = Math.imul(rotatedLo, P1_LO);
  acc[2 * lane + 1] = (mulHi32(rotatedLo, P1_LO) + Math.imul(rotatedLo, P1_HI) + Math.imul(rotatedHi, P1_LO)) | 0;
}

function consumeStripes(acc: Int32Array, input: DataView, offset: number, end: number): void {
  for (; offset + STRIPE_BYTES <= end; offset += STRIPE_BYTES) {
    roundLane(acc, 0, input, offset);
    roundLane(acc, 1, input, offset + 8);
    roundLane(acc, 2, input, offset + 16);
    roundLane(acc, 3, input, offset + 24);
  }
}

/** round(0, value): the same round applied to a zero accumulator, used when merging and finishing. */
function roundOfZero(value: ReadonlyU64): U64 {
  return U64.copy(value).mul(PRIME64_2).rotl(31).mul(PRIME64_1);
}

export class Xxh64Hasher implements Hasher {
  /** Four lane accumulators as (lo, hi) int32 pairs. */
  private readonly acc = new Int32Array(8);
  private readonly pending = new Uint8Array(STRIPE_BYTES);
  private readonly pendingView = new DataView(this.pending.buffer);
  private pendingBytes = 0;
  private totalBytes = 0;
  private readonly seed: ReadonlyU64;

  constructor(seed: ReadonlyU64) {
    this.seed = U64.copy(seed);
    const lanes = [
      U64.copy(seed).add(PRIME64_1).add(PRIME64_2),
      U64.copy(seed).add(PRIME64_2),
      U64.copy(seed),
      U64.copy(seed).sub(PRIME64_1),
    ];
    lanes.forEach((v, i) => {
      this.acc[2 * i] = v.lo;
      this.acc[2 * i + 1] = v.hi;
    });
  }

  update(data: Uint8Array): void {
    const length = data.byteLength;
    this.totalBytes += length;
    let offset = 0;

    if (this.pendingBytes > 0) {
      const take = Math.min(STRIPE_BYTES - this.pendingBytes, length);
      this.pending.set(data.subarray(0, take), this.pendingBytes);
      this.pendingBytes += take;
      offset = take;
      if (this.pendingBytes < STRIPE_BYTES) return;
      consumeStripes(this.acc, this.pendingView, 0, STRIPE_BYTES);
      this.pendingBytes = 0;
    }

    const wholeStripesEnd = offset + Math.floor((length - offset) / STRIPE_BYTES) * STRIPE_BYTES;
    if (wholeStripesEnd > offset) {
      consumeStripes(this.acc, new DataView(data.buffer, data.byteOffset, length), offset, wholeStripesEnd);
    }
    if (wholeStripesEnd < length) {
      this.pending.set(data.subarray(wholeStripesEnd), 0);
      this.pendingBytes = length - wholeStripesEnd;
    }
  }

  /** Does not change the state, so it may be called again after more updates. */
  digest(): Uint8Array {
    const h = this.totalBytes >= STRIPE_BYTES ? this.convergedLanes() : U64.copy(this.seed).add(PRIME64_5);
    h.add(U64.fromNumber(this.totalBytes));

    // The tail (< 32 bytes): 8-byte words, then one 4-byte word, then single bytes.
    const tail = this.pendingView;
    const end = this.pendingBytes;
    let offset = 0;
    for (; offset + 8 <= end; offset += 8) {
      h.xor(roundOfZero(readU64LE(tail, offset))).rotl(27).mul(PRIME64_1).add(PRIME64_4);
    }
    if (offset + 4 <= end) {
      h.xor(readU32LE(tail, offset).mul(PRIME64_1)).rotl(23).mul(PRIME64_2).add(PRIME64_3);
      offset += 4;
    }
    for (; offset < end; offset++) {
      h.xor(new U64(0, this.pending[offset]!).mul(PRIME64_5)).rotl(11).mul(PRIME64_1);
    }

    const out = new Uint8Array(8);
    avalancheXxh64(h).writeLE(new DataView(out.buffer), 0);
    return out;
  }

  private convergedLanes(): U64 {
    const lanes = [0, 1, 2, 3].map((i) => new U64(this.acc[2 * i + 1], this.acc[2 * i]));
    const [v1, v2, v3, v4] = lanes as [U64, U64, U64, U64];
    const h = U64.copy(v1).rotl(1).add(U64.copy(v2).rotl(7)).add(U64.copy(v3).rotl(12)).add(U64.copy(v4).rotl(18));
    for (const v of lanes) h.xor(roundOfZero(v)).mul(PRIME64_1).add(PRIME64_4);
    return h;
  }
}

export function createXxh64(seed: ReadonlyU64): Hasher {
  return new Xxh64Hasher(seed);
}
