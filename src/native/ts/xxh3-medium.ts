/**
 * XXH3 for inputs of 17-240 bytes (64- and 128-bit results): 16-byte chunks
 * of input mixed with 16-byte pieces of the default secret.
 */
import { U64, mulFold64, readU64LE, type ReadonlyU64, type U128 } from "./u64.ts";
import { PRIME64_1, PRIME64_2, PRIME64_4, avalancheXxh3 } from "./xxh-constants.ts";
import { DEFAULT_SECRET_VIEW as SECRET } from "./xxh3-secret.ts";

/** Inputs of 129-240 bytes start their secret reads again at this offset after the first 128 bytes. */
const MIDSIZE_START_OFFSET = 3;
/** …and mix their last 16 bytes with the secret at 136 − 17. */
const MIDSIZE_LAST_OFFSET = 119;

/** mixStep: the 16 input bytes at `offset`, keyed by 16 secret bytes and the seed, folded to 64 bits. */
function mix16(input: DataView, offset: number, secretOffset: number, seed: ReadonlyU64): U64 {
  const a = readU64LE(input, offset).xor(readU64LE(SECRET, secretOffset).add(seed));
  const b = readU64LE(input, offset + 8).xor(readU64LE(SECRET, secretOffset + 8).sub(seed));
  return mulFold64(a, b);
}

/** The sum of the two 64-bit words of the 16 bytes at `offset`. */
function sumOfWords(input: DataView, offset: number): U64 {
  return readU64LE(input, offset).add(readU64LE(input, offset + 8));
}

/** XXH3-128's mixTwoChunks: two 16-byte chunks against 32 secret bytes, each also stirring the other accumulator. */
function mix32(
  acc: U128,
  input: DataView,
  first: number,
  second: number,
  secretOffset: number,
  seed: ReadonlyU64,
): void {
  acc.low.add(mix16(input, first, secretOffset, seed)).xor(sumOfWords(input, second));
  acc.high.add(mix16(input, second, secretOffset + 16, seed)).xor(sumOfWords(input, first));
}

export function xxh3Medium64(input: DataView, seed: ReadonlyU64): U64 {
  const length = input.byteLength;
  const acc = U64.fromNumber(length).mul(PRIME64_1);
  if (length <= 128) {
    // Chunk pairs from both ends towards the middle: the first and last 16, then the next ones in.
    const rounds = ((length - 1) >> 5) + 1;
    for (let i = rounds - 1; i >= 0; i--) {
      acc.add(mix16(input, 16 * i, 32 * i, seed));
      acc.add(mix16(input, length - 16 * (i + 1), 32 * i + 16, seed));
    }
    return avalancheXxh3(acc);
  }
  const chunks = length >> 4;
  for (let i = 0; i < 8; i++) acc.add(mix16(input, 16 * i, 16 * i, seed));
  avalancheXxh3(acc);
  for (let i = 8; i < chunks; i++) acc.add(mix16(input, 16 * i, 16 * (i - 8) + MIDSIZE_START_OFFSET, seed));
  acc.add(mix16(input, length - 16, MIDSIZE_LAST_OFFSET, seed));
  return avalancheXxh3(acc);
}

export function xxh3Medium128(input: DataView, seed: ReadonlyU64): U128 {
  const length = input.byteLength;
  const acc: U128 = { low: U64.fromNumber(length).mul(PRIME64_1), high: new U64() };
  if (length <= 128) {
    const rounds = ((length - 1) >> 5) + 1;
    for (let i = rounds - 1; i >= 0; i--) mix32(acc, input, 16 * i, length - 16 * (i + 1), 32 * i, seed);
  } else {
    const chunks = length >> 5;
    for (let i = 0; i < 4; i++) mix32(acc, input, 32 * i, 32 * i + 16, 32 * i, seed);
    avalancheXxh3(acc.low);
    avalancheXxh3(acc.high);
    for (let i = 4; i < chunks; i++) {
      mix32(acc, input, 32 * i, 32 * i + 16, 32 * (i - 4) + MIDSIZE_START_OFFSET, seed);
    }
    // The last 32 bytes, halves swapped and the seed negated (as upstream).
    mix32(acc, input, length - 16, length - 32, MIDSIZE_LAST_OFFSET - 16, U64.copy(seed).negate());
  }
  const low = U64.copy(acc.low).add(acc.high);
  const high = U64.copy(acc.low)
    .mul(PRIME64_1)
    .add(U64.copy(acc.high).mul(PRIME64_4))
    .add(U64.fromNumber(length).sub(seed).mul(PRIME64_2));
  return { low: avalancheXxh3(low), high: avalancheXxh3(high).negate() };
}
