/**
 * XXH3 for inputs of 0-16 bytes (64- and 128-bit results). These read the
 * default secret only; the seed enters arithmetically. `input` spans exactly the input.
 */
import { U64, bswap32, mul128, mulFold64, readU32LE, readU64LE, type ReadonlyU64, type U128 } from "./u64.ts";
import { PRIME32_2, PRIME64_1, PRIME64_2, PRIME_MX2, avalancheXxh3, avalancheXxh64 } from "./xxh-constants.ts";
import { DEFAULT_SECRET_VIEW as SECRET } from "./xxh3-secret.ts";

/** secret[offset..+8] xor secret[offset+8..+16], the "bitflip" every short path starts from. */
function secretPair(offset: number): U64 {
  return readU64LE(SECRET, offset).xor(readU64LE(SECRET, offset + 8));
}

/** The 1-3 byte paths pack all of the input and its length into one 32-bit word. */
function combineOneToThree(input: DataView): number {
  const length = input.byteLength;
  const first = input.getUint8(0);
  const middle = input.getUint8(length >> 1);
  const last = input.getUint8(length - 1);
  return (last | (length << 8) | (first << 16) | (middle << 24)) | 0;
}

/** The 4-8 byte paths fold the low word of the seed, byte-swapped, into its high word. */
function seedForFourToEight(seed: ReadonlyU64): U64 {
  return U64.copy(seed).xor(new U64(bswap32(seed.lo), 0));
}

export function xxh3Small64(input: DataView, seed: ReadonlyU64): U64 {
  const length = input.byteLength;
  if (length > 8) {
    const low = secretPair(24).add(seed).xor(readU64LE(input, 0));
    const high = secretPair(40).sub(seed).xor(readU64LE(input, length - 8));
    const value = U64.fromNumber(length).add(U64.copy(low).bswap()).add(high).add(mulFold64(low, high));
    return avalancheXxh3(value);
  }
  if (length >= 4) {
    const first = input.getInt32(0, true);
    const last = input.getInt32(length - 4, true);
    const value = secretPair(8).sub(seedForFourToEight(seed)).xor(new U64(first, last));
    // rrmxmx: a stronger mix than avalanche, since this input has at most 64 bits of entropy.
    value.xor(U64.copy(value).rotl(49).xor(U64.copy(value).rotl(24)));
    value.mul(PRIME_MX2);
    value.xor(U64.copy(value).shr(35).add(new U64(0, length)));
    return value.mul(PRIME_MX2).xorShr(28);
  }
  if (length > 0) {
    const bitflip = new U64(0, readU32LE(SECRET, 0).lo ^ readU32LE(SECRET, 4).lo).add(seed);
    return avalancheXxh64(new U64(0, combineOneToThree(input)).xor(bitflip));
  }
  return avalancheXxh64(U64.copy(seed).xor(secretPair(56)));
}

export function xxh3Small128(input: DataView, seed: ReadonlyU64): U128 {
  const length = input.byteLength;
  if (length > 8) {
    const first = readU64LE(input, 0);
    const last = readU64LE(input, length - 8);
    const product = mul128(secretPair(32).sub(seed).xor(first).xor(last), PRIME64_1);
    product.low.add(new U64((length - 1) << 22, 0)); // (length − 1) << 54
    const keyedLast = secretPair(48).add(seed).xor(last);
    // high += (hi32(k) << 32) + lo32(k)·PRIME32_2, written as upstream does: k + lo32(k)·(PRIME32_2 − 1).
    product.high.add(keyedLast).add(new U64(0, keyedLast.lo).mul(new U64(0, PRIME32_2.lo - 1)));
    product.low.xor(U64.copy(product.high).bswap());
    // {low, high} · PRIME64_2 as a 128 × 64 → 128 product.
    const result = mul128(product.low, PRIME64_2);
    result.high.add(U64.copy(product.high).mul(PRIME64_2));
    return { low: avalancheXxh3(result.low), high: avalancheXxh3(result.high) };
  }
  if (length >= 4) {
    const first = input.getInt32(0, true);
    const last = input.getInt32(length - 4, true);
    const keyed = secretPair(16).add(seedForFourToEight(seed)).xor(new U64(last, first));
    const product = mul128(keyed, U64.copy(PRIME64_1).add(new U64(0, length << 2)));
    const { low, high } = product;
    high.add(U64.copy(low).shl(1));
    low.xor(U64.copy(high).shr(3)).xorShr(35).mul(PRIME_MX2).xorShr(28);
    return { low, high: avalancheXxh3(high) };
  }
  if (length > 0) {
    const combined = combineOneToThree(input);
    const swapped = bswap32(combined);
    const combinedHigh = (swapped << 13) | (swapped >>> 19);
    const bitflipLow = new U64(0, readU32LE(SECRET, 0).lo ^ readU32LE(SECRET, 4).lo).add(seed);
    const bitflipHigh = new U64(0, readU32LE(SECRET, 8).lo ^ readU32LE(SECRET, 12).lo).sub(seed);
    return {
      low: avalancheXxh64(new U64(0, combined).xor(bitflipLow)),
      high: avalancheXxh64(new U64(0, combinedHigh).xor(bitflipHigh)),
    };
  }
  return {
    low: avalancheXxh64(U64.copy(seed).xor(secretPair(64))),
    high: avalancheXxh64(U64.copy(seed).xor(secretPair(80))),
  };
}
