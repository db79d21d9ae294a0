/** Maps HashAlg ids to the TypeScript implementations. */
import { HashAlg, type Hasher } from "../api.ts";
import { createMd4, createMd4Busted } from "./md4.ts";
import { createMd5 } from "./md5.ts";
import { seedToU64 } from "./seed.ts";
import { createSha1 } from "./sha1.ts";
import { createXxh3_128, createXxh3_64, xxh3Hash128, xxh3Hash64 } from "./xxh3.ts";
import { createXxh64 } from "./xxh64.ts";

function unknownAlgorithm(alg: never): never {
  throw new RangeError(`unknown hash algorithm ${String(alg)}`);
}

/** A streaming hasher. `seed` matters only for the xxHash family (see seedToU64). */
export function createHasher(alg: HashAlg, seed?: number | bigint): Hasher {
  switch (alg) {
    case HashAlg.MD4_BUSTED:
      return createMd4Busted();
    case HashAlg.MD4:
      return createMd4();
    case HashAlg.MD5:
      return createMd5();
    case HashAlg.XXH64:
      return createXxh64(seedToU64(seed));
    case HashAlg.XXH3_64:
      return createXxh3_64(seedToU64(seed));
    case HashAlg.XXH3_128:
      return createXxh3_128(seedToU64(seed));
    case HashAlg.SHA1:
      return createSha1();
    default:
      return unknownAlgorithm(alg);
  }
}

/** One-shot digest in wire byte order. */
export function hash(alg: HashAlg, data: Uint8Array, seed?: number | bigint): Uint8Array {
  // XXH3 has a direct one-shot path (no copy into a hold buffer); the others stream.
  if (alg === HashAlg.XXH3_64) return xxh3Hash64(data, seedToU64(seed));
  if (alg === HashAlg.XXH3_128) return xxh3Hash128(data, seedToU64(seed));
  const hasher = createHasher(alg, seed);
  hasher.update(data);
  return hasher.digest();
}
