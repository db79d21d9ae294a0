/** How API seeds become 64-bit xxHash seeds. */
import { U64 } from "./u64.ts";

/**
 * A number is rsync's int32 checksum seed and is sign-extended, as upstream
 * passes it to XXH64/XXH3 through a signed-to-uint64 conversion
 * (0x87654321 → 0xFFFFFFFF87654321). A bigint is taken modulo 2^64.
 */
export function seedToU64(seed: number | bigint | undefined): U64 {
  if (seed === undefined) return new U64();
  if (typeof seed === "bigint") return U64.fromBigInt(seed);
  const lo = seed | 0;
  return new U64(lo >> 31, lo);
}
