/** Constants and final mixes shared by XXH64 and XXH3 (xxHash's doc/xxhash_spec.md). */
import { U64, type ReadonlyU64 } from "./u64.ts";

function constant(hi: number, lo: number): ReadonlyU64 {
  return Object.freeze(new U64(hi, lo));
}

export const PRIME32_1 = constant(0, 0x9e3779b1);
export const PRIME32_2 = constant(0, 0x85ebca77);
export const PRIME32_3 = constant(0, 0xc2b2ae3d);
export const PRIME64_1 = constant(0x9e3779b1, 0x85ebca87);
export const PRIME64_2 = constant(0xc2b2ae3d, 0x27d4eb4f);
export const PRIME64_3 = constant(0x165667b1, 0x9e3779f9);
export const PRIME64_4 = constant(0x85ebca77, 0xc2b2ae63);
export const PRIME64_5 = constant(0x27d4eb2f, 0x165667c5);
export const PRIME_MX1 = constant(0x16566791, 0x9e3779f9);
export const PRIME_MX2 = constant(0x9fb21c65, 0x1e98df25);

/** XXH64's final mix, also used by XXH3 for inputs of 0-3 bytes. Modifies and returns `x`. */
export function avalancheXxh64(x: U64): U64 {
  return x.xorShr(33).mul(PRIME64_2).xorShr(29).mul(PRIME64_3).xorShr(32);
}

/** XXH3's own (shorter) final mix. Modifies and returns `x`. */
export function avalancheXxh3(x: U64): U64 {
  return x.xorShr(37).mul(PRIME_MX1).xorShr(32);
}
