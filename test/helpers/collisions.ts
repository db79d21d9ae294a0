/**
 * Blocks whose rolling checksums all collide: each is a run of one byte value
 * with +1/-1 at positions i, i+1 and -1/+1 at j, j+1, which leaves both sums
 * of the rolling checksum (the byte total and the position-weighted total)
 * unchanged. Distinct (i, j) pairs give distinct blocks, so their strong sums
 * differ: every candidate but the right one is a false alarm, and enough of
 * them make a chain longer than the sender searches (match.c MAX_CHAIN_LEN).
 */
export function collidingBlock(blockLength: number, variant: number, fill = 100): Uint8Array {
  const block = new Uint8Array(blockLength).fill(fill);
  if (variant === 0) return block;
  let n = variant - 1;
  for (let i = 0; i + 3 < blockLength; i++) {
    const choices = blockLength - 2 - (i + 2);
    if (n < choices) {
      const j = i + 2 + n;
      block[i]! += 1;
      block[i + 1]! -= 1;
      block[j]! -= 1;
      block[j + 1]! += 1;
      return block;
    }
    n -= choices;
  }
  throw new RangeError(`no colliding variant ${variant} for blocks of ${blockLength}`);
}

/** `count` distinct colliding blocks one after another (variants from `first`). */
export function collidingBlocks(blockLength: number, count: number, first = 0): Uint8Array {
  const out = new Uint8Array(blockLength * count);
  for (let v = 0; v < count; v++) out.set(collidingBlock(blockLength, first + v), v * blockLength);
  return out;
}
