/** The block-signature table rsync's receiver sends (generator.c generate_and_send_sums). */
import { SeedOrder, digestLength, isXxh, type BlockSumParams, type HashAlg } from "../api.ts";
import { createHasher, hash } from "./algorithms.ts";
import { rollingChecksum } from "./rolling.ts";

function validate(p: BlockSumParams): void {
  if (!Number.isInteger(p.blockLength) || p.blockLength <= 0) {
    throw new RangeError(`blockLength must be a positive integer, got ${p.blockLength}`);
  }
  const maxStrong = digestLength(p.alg);
  if (!Number.isInteger(p.strongLength) || p.strongLength < 1 || p.strongLength > maxStrong) {
    throw new RangeError(`strongLength must be 1..${maxStrong} for this algorithm, got ${p.strongLength}`);
  }
}

/**
 * A block's strong sum (checksum.c get_checksum2): xxHash algorithms take the
 * session seed as their seed; MD4/MD5/SHA1 hash the seed's 4 little-endian
 * bytes after (Append) or before (Prepend) the block, and nothing when it is 0.
 */
function strongSum(block: Uint8Array, alg: HashAlg, seed: number, seedBytes: Uint8Array, order: SeedOrder): Uint8Array {
  if (isXxh(alg)) return hash(alg, block, seed);
  if (seed === 0) return hash(alg, block);
  const hasher = createHasher(alg);
  if (order === SeedOrder.Prepend) hasher.update(seedBytes);
  hasher.update(block);
  if (order === SeedOrder.Append) hasher.update(seedBytes);
  return hasher.digest();
}

/** For each block: its rolling checksum (uint32 LE) then the first strongLength bytes of its strong sum. */
export function blockSums(data: Uint8Array, p: BlockSumParams): Uint8Array {
  validate(p);
  const { blockLength, strongLength, alg, seedOrder } = p;
  const seed = p.seed | 0;
  const seedBytes = new Uint8Array(4);
  new DataView(seedBytes.buffer).setInt32(0, seed, true);

  const count = Math.ceil(data.byteLength / blockLength);
  const entryBytes = 4 + strongLength;
  const out = new Uint8Array(count * entryBytes);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    const block = data.subarray(i * blockLength, (i + 1) * blockLength);
    const entry = i * entryBytes;
    outView.setUint32(entry, rollingChecksum(block), true);
    out.set(strongSum(block, alg, seed, seedBytes, seedOrder).subarray(0, strongLength), entry + 4);
  }
  return out;
}
