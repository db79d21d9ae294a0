/**
 * The Core contract implemented over the Zig library. Typed arrays are passed
 * straight through (bun:ffi hands native a pointer to their bytes, no copy).
 */
import type { BlockSumParams, Capabilities, Core, HashAlg, Hasher, MatchParams } from "./api.ts";
import { digestLength } from "./api.ts";
import type { NativeLibrary } from "./load.ts";

const SIMD_NAMES = ["scalar", "sse2", "avx2", "neon"];

/** bun:ffi turns an empty typed array into a null pointer; native signatures take non-null ones. */
const EMPTY = new Uint8Array(1);
const bytesOf = (data: Uint8Array) => (data.byteLength === 0 ? EMPTY : data);

function toSeed(seed: number | bigint | undefined): bigint {
  if (seed === undefined) return 0n;
  // An int32 seed is sign-extended, as rsync does when it passes its seed to xxHash.
  return typeof seed === "bigint" ? BigInt.asIntN(64, seed) : BigInt(seed | 0);
}

function check(result: number, what: string): number {
  if (result < 0) throw new RangeError(`native ${what} failed (errno ${-result})`);
  return result;
}

export function createNativeCore(lib: NativeLibrary): Core {
  const s = lib.symbols;
  const uring = s.oc_io_uring_probe();
  const caps: Capabilities = {
    kind: "native",
    simd: SIMD_NAMES[s.oc_simd_level()] ?? "unknown",
    ioUring: uring === 1,
  };
  const stateSize = s.oc_hash_state_size();

  return {
    caps,

    rollingChecksum(data) {
      return s.oc_rolling_checksum(bytesOf(data), data.byteLength);
    },

    blockSums(data: Uint8Array, p: BlockSumParams) {
      const { blockLength, strongLength } = p;
      if (!(blockLength > 0) || strongLength < 1 || strongLength > digestLength(p.alg)) {
        throw new RangeError(`bad block-sum parameters ${blockLength}/${strongLength}`);
      }
      const count = Math.ceil(data.byteLength / blockLength);
      const out = new Uint8Array(count * (4 + strongLength));
      if (count === 0) return out;
      check(
        Number(s.oc_block_sums(data, data.byteLength, blockLength, strongLength, p.alg, p.seed | 0, p.seedOrder, out)),
        "block sums",
      );
      return out;
    },

    matchBlocks(data: Uint8Array, sums: Uint8Array, p: MatchParams) {
      // matcher.zig Params: eight 32-bit fields.
      const params = new Uint32Array([p.count, p.blockLength, p.remainder, p.strongLength, p.alg, p.seed | 0, p.seedOrder, p.updatingBasis ? 1 : 0]);
      // Every op consumes a block or ends a literal run; flushes come at most once per CHUNK_SIZE.
      const out = new Float64Array(2 * (Math.floor(data.byteLength / Math.max(p.blockLength, 1)) + Math.floor(data.byteLength / 32768) + 4));
      const n = check(Number(s.oc_match_blocks(params, bytesOf(data), data.byteLength, bytesOf(sums), out, out.length)), "block matching");
      return out.subarray(0, n);
    },

    lz4Compress(src: Uint8Array, dst: Uint8Array) {
      return Number(s.oc_lz4_compress(bytesOf(src), src.byteLength, bytesOf(dst), dst.byteLength));
    },

    lz4Decompress(src: Uint8Array, dst: Uint8Array) {
      const n = Number(s.oc_lz4_decompress(bytesOf(src), src.byteLength, bytesOf(dst), dst.byteLength));
      return n < 0 ? -1 : n;
    },

    hash(alg: HashAlg, data: Uint8Array, seed?: number | bigint) {
      const out = new Uint8Array(digestLength(alg));
      check(s.oc_hash(alg, bytesOf(data), data.byteLength, toSeed(seed), out), "hash");
      return out;
    },

    createHasher(alg: HashAlg, seed?: number | bigint): Hasher {
      // A fresh ArrayBuffer is at least 8-byte aligned, which the state needs.
      const state = new Uint8Array(stateSize);
      check(s.oc_hash_init(state, alg, toSeed(seed)), "hash init");
      return {
        update(data) {
          if (data.byteLength > 0) s.oc_hash_update(state, data, data.byteLength);
        },
        digest() {
          const out = new Uint8Array(digestLength(alg));
          check(s.oc_hash_final(state, out), "hash final");
          return out;
        },
      };
    },
  };
}
