/**
 * The sender's block matcher (match.c build_hash_table, hash_search and
 * matched): finds the receiver's basis blocks in the new data with the
 * rolling checksum, confirms each candidate with the strong sum, and yields
 * literal runs and block references in the order upstream sends them,
 * including its choices: a hash table sized for about 80% load, chains
 * searched newest block first, the block after the last match preferred
 * when it also matches, and long literal runs flushed early in pieces.
 * This is the TypeScript implementation; it is also the oracle for a native one.
 */
import type { SessionSums } from "../protocol/checksum-choice.ts";
import { blockSeedOrder } from "../protocol/checksum-choice.ts";
import { core } from "../native/index.ts";
import { CHUNK_SIZE, type DeltaOp } from "./send-tokens.ts";
import type { SumHead } from "./sum-head.ts";

const TRADITIONAL_TABLESIZE = 1 << 16;

export interface MatchOptions {
  /** --inplace: the receiver overwrites its basis as it goes, so a block behind the current offset is gone. */
  updatingBasis: boolean;
}

/** The basis blocks as the receiver described them. */
interface Blocks {
  count: number;
  sum1: Uint32Array;
  len: Int32Array;
  offset: Float64Array;
  chain: Int32Array;
  strong: Uint8Array;
  strongLength: number;
}

function readBlocks(head: SumHead, sums: Uint8Array): Blocks {
  const count = head.count;
  const stride = 4 + head.strongLength;
  const view = new DataView(sums.buffer, sums.byteOffset, sums.byteLength);
  const b: Blocks = {
    count,
    sum1: new Uint32Array(count),
    len: new Int32Array(count),
    offset: new Float64Array(count),
    chain: new Int32Array(count),
    strong: new Uint8Array(count * head.strongLength),
    strongLength: head.strongLength,
  };
  for (let i = 0; i < count; i++) {
    b.sum1[i] = view.getUint32(i * stride, true);
    b.strong.set(sums.subarray(i * stride + 4, (i + 1) * stride), i * head.strongLength);
    b.len[i] = i === count - 1 && head.remainder !== 0 ? head.remainder : head.blockLength;
    b.offset[i] = i * head.blockLength;
  }
  return b;
}

export function* matchBlocks(head: SumHead, sums: Uint8Array, data: Uint8Array, xferSums: SessionSums, opts: MatchOptions): Generator<DeltaOp> {
  const len = data.length;
  let lastMatch = 0;
  // matched(): the literal bytes since the last match, then block i (-1: the end, -2: a flush only).
  function* matched(offset: number, i: number, blockLen: number): Generator<DeltaOp> {
    if (offset > lastMatch) yield { literal: true, offset: lastMatch, length: offset - lastMatch };
    if (i >= 0) yield { literal: false, block: i, length: blockLen };
    lastMatch = offset + (i >= 0 ? blockLen : 0);
  }

  if (len === 0 || head.count === 0) {
    for (let j = CHUNK_SIZE; j < len; j += CHUNK_SIZE) yield* matched(j, -2, 0);
    yield* matched(len, -1, 0);
    return;
  }

  const b = readBlocks(head, sums);
  let tableSize = Math.floor(b.count / 8) * 10 + 11;
  if (tableSize < TRADITIONAL_TABLESIZE) tableSize = TRADITIONAL_TABLESIZE;
  const traditional = tableSize === TRADITIONAL_TABLESIZE;
  const hashOf = (sum: number) => (traditional ? ((sum & 0xffff) + (sum >>> 16)) & 0xffff : sum % tableSize);
  const table = new Int32Array(tableSize).fill(-1);
  for (let i = 0; i < b.count; i++) {
    const t = hashOf(b.sum1[i]!);
    b.chain[i] = table[t]!;
    table[t] = i;
  }

  const strongParams = {
    strongLength: b.strongLength,
    alg: xferSums.xfer.alg!,
    seed: xferSums.seed,
    seedOrder: blockSeedOrder(xferSums),
  };
  const strongOf = (at: number, l: number) => core.blockSums(data.subarray(at, at + l), { ...strongParams, blockLength: l }).subarray(4, 4 + b.strongLength);
  const sameStrong = (i: number, strong: Uint8Array) => {
    const base = i * b.strongLength;
    for (let j = 0; j < b.strongLength; j++) if (b.strong[base + j] !== strong[j]) return false;
    return true;
  };

  // Bytes as rsync's schar: the rolling sums take them signed.
  const signed = new Int8Array(data.buffer, data.byteOffset, data.byteLength);
  const blength = head.blockLength;
  let k = Math.min(len, blength);
  let s1 = 0;
  let s2 = 0;
  const start = (at: number) => {
    const sum = core.rollingChecksum(data.subarray(at, at + k));
    s1 = sum & 0xffff;
    s2 = sum >>> 16;
  };
  start(0);
  let wantI = 0;
  const end = len + 1 - b.len[b.count - 1]!;
  let offset = 0;
  do {
    const sum = ((s1 & 0xffff) | ((s2 & 0xffff) << 16)) >>> 0;
    let i = table[hashOf(sum)]!;
    let strong: Uint8Array | null = null;
    for (; i >= 0; i = b.chain[i]!) {
      if (opts.updatingBasis && b.offset[i]! < offset) continue;
      if (sum !== b.sum1[i]) continue;
      const l = Math.min(blength, len - offset);
      if (l !== b.len[i]) continue;
      strong ??= strongOf(offset, l);
      if (!sameStrong(i, strong)) continue;
      // A match; the block after the previous match is better still (the receiver copies runs).
      if (i !== wantI && wantI < b.count && (!opts.updatingBasis || b.offset[wantI]! >= offset) && sum === b.sum1[wantI] && sameStrong(wantI, strong)) {
        i = wantI;
      }
      wantI = i + 1;
      yield* matched(offset, i, b.len[i]!);
      offset += b.len[i]! - 1;
      k = Math.min(blength, len - offset);
      start(offset);
      break;
    }
    // Roll the window one byte on.
    const backup = Math.max(0, offset - lastMatch);
    const more = offset + k < len;
    s1 -= signed[offset]!;
    s2 -= k * signed[offset]!;
    if (more) {
      s1 += signed[offset + k]!;
      s2 += s1;
    } else k--;
    s1 |= 0;
    s2 |= 0;
    // A literal run this long goes out now, in pieces, rather than after the next match.
    if (backup >= blength + CHUNK_SIZE && end - offset > CHUNK_SIZE) yield* matched(offset - blength, -2, 0);
  } while (++offset < end);
  yield* matched(len, -1, 0);
}
