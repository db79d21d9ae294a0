/**
 * XXH3's engine for inputs over 240 bytes: eight 64-bit accumulators fed one
 * 64-byte stripe at a time, scrambled after every block of 16 stripes.
 *
 * Which stripes a whole input goes through, written so that a stream can
 * feed them as they arrive: with L bytes in total, the first ⌊(L−1)/64⌋
 * stripes are accumulated in order (the k-th against secret offset 8·(k mod 16)),
 * a scramble follows every 16th of them, and then the last 64 bytes of input
 * (which may overlap the stripes before) are accumulated against secret
 * offset 121 without a scramble. A stripe is thus "ordinary" exactly when at
 * least one byte of input follows it.
 */
import { U64, carry32, mulFold64, mulHi32, readU64LE, type ReadonlyU64, type U128 } from "./u64.ts";
import {
  PRIME32_1,
  PRIME32_2,
  PRIME32_3,
  PRIME64_1,
  PRIME64_2,
  PRIME64_3,
  PRIME64_4,
  PRIME64_5,
  avalancheXxh3,
} from "./xxh-constants.ts";
import { SECRET_BYTES } from "./xxh3-secret.ts";

export const STRIPE_BYTES = 64;
const STRIPES_PER_BLOCK = (SECRET_BYTES - STRIPE_BYTES) / 8;
const SCRAMBLE_SECRET_OFFSET = SECRET_BYTES - STRIPE_BYTES;
const LAST_STRIPE_SECRET_OFFSET = SECRET_BYTES - STRIPE_BYTES - 7;
const MERGE_LOW_SECRET_OFFSET = 11;
const MERGE_HIGH_SECRET_OFFSET = SECRET_BYTES - STRIPE_BYTES - 11;

const INITIAL_ACCUMULATORS = [PRIME32_3, PRIME64_1, PRIME64_2, PRIME64_3, PRIME64_4, PRIME32_2, PRIME64_5, PRIME32_1];

/**
 * For each of the 8 lanes of the stripe at `offset`: the neighbouring
 * accumulator (lane xor 1) gains the input word, and this lane's accumulator
 * gains lo32(k)·hi32(k) where k = input word xor secret word.
 * `acc` holds accumulator i as int32 halves at [2i] (low) and [2i + 1] (high).
 */
function accumulateStripe(
  acc: Int32Array,
  input: DataView,
  offset: number,
  secret: DataView,
  secretOffset: number,
): void {
  for (let lane = 0; lane < 8; lane++) {
    const inLo = input.getInt32(offset + 8 * lane, true);
    const inHi = input.getInt32(offset + 8 * lane + 4, true);
    const keyLo = inLo ^ secret.getInt32(secretOffset + 8 * lane, true);
    const keyHi = inHi ^ secret.getInt32(secretOffset + 8 * lane + 4, true);

    const swapped = 2 * (lane ^ 1);
    const swappedLo = acc[swapped]!;
    const swappedSum = (swappedLo + inLo) | 0;
    acc[swapped] = swappedSum;
    acc[swapped + 1] = (acc[swapped + 1]! + inHi + carry32(swappedLo, inLo, swappedSum)) | 0;

    const own = 2 * lane;
    const productLo = Math.imul(keyLo, keyHi);
    const ownLo = acc[own]!;
    const ownSum = (ownLo + productLo) | 0;
    acc[own] = ownSum;
    acc[own + 1] = (acc[own + 1]! + mulHi32(keyLo, keyHi) + carry32(ownLo, productLo, ownSum)) | 0;
  }
}

/** Per accumulator: acc ^= acc >> 47; acc ^= secret word; acc *= PRIME32_1. */
function scramble(acc: Int32Array, secret: DataView): void {
  const prime = PRIME32_1.lo;
  for (let lane = 0; lane < 8; lane++) {
    const hi = acc[2 * lane + 1]!;
    const lo = acc[2 * lane]! ^ (hi >>> 15) ^ secret.getInt32(SCRAMBLE_SECRET_OFFSET + 8 * lane, true);
    const mixedHi = hi ^ secret.getInt32(SCRAMBLE_SECRET_OFFSET + 8 * lane + 4, true);
    acc[2 * lane] = Math.imul(lo, prime);
    acc[2 * lane + 1] = (mulHi32(lo, prime) + Math.imul(mixedHi, prime)) | 0;
  }
}

export class Xxh3Accumulator {
  private readonly acc = new Int32Array(16);
  /** Ordinary stripes accumulated since the last scramble. */
  private stripesInBlock = 0;

  constructor(private readonly secret: DataView) {
    INITIAL_ACCUMULATORS.forEach((v, i) => {
      this.acc[2 * i] = v.lo;
      this.acc[2 * i + 1] = v.hi;
    });
  }

  copy(): Xxh3Accumulator {
    const twin = new Xxh3Accumulator(this.secret);
    twin.acc.set(this.acc);
    twin.stripesInBlock = this.stripesInBlock;
    return twin;
  }

  /** Accumulates `count` ordinary stripes starting at `offset`; the caller guarantees more input follows them. */
  consumeStripes(input: DataView, offset: number, count: number): void {
    const { acc, secret } = this;
    let stripesInBlock = this.stripesInBlock;
    for (let i = 0; i < count; i++, offset += STRIPE_BYTES) {
      accumulateStripe(acc, input, offset, secret, 8 * stripesInBlock);
      if (++stripesInBlock === STRIPES_PER_BLOCK) {
        scramble(acc, secret);
        stripesInBlock = 0;
      }
    }
    this.stripesInBlock = stripesInBlock;
  }

  /** The 64-bit result, from the input's last 64 bytes (at `offset`) and total length. Leaves the state unchanged. */
  finish64(lastStripe: DataView, offset: number, totalBytes: number): U64 {
    const acc = this.withLastStripe(lastStripe, offset);
    return this.merge(acc, MERGE_LOW_SECRET_OFFSET, U64.fromNumber(totalBytes).mul(PRIME64_1));
  }

  /** The 128-bit result, as `finish64`. */
  finish128(lastStripe: DataView, offset: number, totalBytes: number): U128 {
    const acc = this.withLastStripe(lastStripe, offset);
    return {
      low: this.merge(acc, MERGE_LOW_SECRET_OFFSET, U64.fromNumber(totalBytes).mul(PRIME64_1)),
      high: this.merge(acc, MERGE_HIGH_SECRET_OFFSET, U64.fromNumber(totalBytes).mul(PRIME64_2).not()),
    };
  }

  private withLastStripe(input: DataView, offset: number): Int32Array {
    const acc = this.acc.slice();
    accumulateStripe(acc, input, offset, this.secret, LAST_STRIPE_SECRET_OFFSET);
    return acc;
  }

  /** finalMerge: fold the accumulators pairwise (keyed by 64 secret bytes) into `start`, then avalanche. */
  private merge(acc: Int32Array, secretOffset: number, start: U64): U64 {
    const word = (i: number): ReadonlyU64 => new U64(acc[2 * i + 1], acc[2 * i]);
    for (let i = 0; i < 8; i += 2) {
      const a = U64.copy(word(i)).xor(readU64LE(this.secret, secretOffset + 8 * i));
      const b = U64.copy(word(i + 1)).xor(readU64LE(this.secret, secretOffset + 8 * i + 8));
      start.add(mulFold64(a, b));
    }
    return avalancheXxh3(start);
  }
}
