/**
 * The sender's block matcher (match.c build_hash_table, hash_search and
 * matched): finds the receiver's basis blocks in the new data with the
 * rolling checksum, confirms each candidate with the strong sum, and emits
 * (block, length) pairs (block -1: a literal run) with upstream's choices: a
 * hash table sized for about 80% load, chains searched newest block first,
 * the block after the last match preferred when it also matches, and long
 * literal runs flushed early in pieces. The twin of zig/matcher.zig.
 */
import type { MatchParams } from "../api.ts";
import { blockSums } from "./block-sums.ts";
import { rollingChecksum } from "./rolling.ts";

/** Upstream's CHUNK_SIZE: the longest literal token. */
const CHUNK_SIZE = 32 * 1024;
const TRADITIONAL_TABLESIZE = 1 << 16;

export function matchBlocks(data: Uint8Array, sums: Uint8Array, p: MatchParams): Float64Array {
  const ops: number[] = [];
  const len = data.length;
  let lastMatch = 0;
  // matched(): the literal bytes since the last match, then block i (i < 0: no block, a flush or the end).
  const matched = (offset: number, i: number, blockLen: number) => {
    if (offset > lastMatch) ops.push(-1, offset - lastMatch);
    if (i >= 0) ops.push(i, blockLen);
    lastMatch = offset + (i >= 0 ? blockLen : 0);
  };
  if (len === 0 || p.count === 0) {
    for (let j = CHUNK_SIZE; j < len; j += CHUNK_SIZE) matched(j, -2, 0);
    matched(len, -1, 0);
    return Float64Array.from(ops);
  }

  const { count, blockLength: blength, strongLength } = p;
  const stride = 4 + strongLength;
  const view = new DataView(sums.buffer, sums.byteOffset, sums.byteLength);
  const sum1 = (i: number) => view.getUint32(i * stride, true);
  const blockLen = (i: number) => (i === count - 1 && p.remainder !== 0 ? p.remainder : blength);
  const sameStrong = (i: number, strong: Uint8Array) => {
    const base = i * stride + 4;
    for (let j = 0; j < strongLength; j++) if (sums[base + j] !== strong[j]) return false;
    return true;
  };
  const strongOf = (at: number, l: number) => blockSums(data.subarray(at, at + l), { ...p, blockLength: l }).subarray(4, 4 + strongLength);

  let tableSize = Math.floor(count / 8) * 10 + 11;
  if (tableSize < TRADITIONAL_TABLESIZE) tableSize = TRADITIONAL_TABLESIZE;
  const traditional = tableSize === TRADITIONAL_TABLESIZE;
  const hashOf = (sum: number) => (traditional ? ((sum & 0xffff) + (sum >>> 16)) & 0xffff : sum % tableSize);
  const table = new Int32Array(tableSize).fill(-1);
  const chain = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const t = hashOf(sum1(i));
    chain[i] = table[t]!;
    table[t] = i;
  }

  // Bytes as rsync's schar: the rolling sums take them signed.
  const signed = new Int8Array(data.buffer, data.byteOffset, data.byteLength);
  let k = Math.min(len, blength);
  let s1 = 0;
  let s2 = 0;
  const restart = (at: number) => {
    const sum = rollingChecksum(data.subarray(at, at + k));
    s1 = sum & 0xffff;
    s2 = sum >>> 16;
  };
  restart(0);
  let wantI = 0;
  const end = len + 1 - blockLen(count - 1);
  let offset = 0;
  do {
    const sum = ((s1 & 0xffff) | ((s2 & 0xffff) << 16)) >>> 0;
    let strong: Uint8Array | null = null;
    for (let i = table[hashOf(sum)]!; i >= 0; i = chain[i]!) {
      if (p.updatingBasis && i * blength < offset) continue;
      if (sum !== sum1(i)) continue;
      const l = Math.min(blength, len - offset);
      if (l !== blockLen(i)) continue;
      strong ??= strongOf(offset, l);
      if (!sameStrong(i, strong)) continue;
      // The block after the previous match is better still: the receiver copies runs.
      if (i !== wantI && wantI < count && (!p.updatingBasis || wantI * blength >= offset) && sum === sum1(wantI) && sameStrong(wantI, strong)) i = wantI;
      wantI = i + 1;
      matched(offset, i, blockLen(i));
      offset += blockLen(i) - 1;
      k = Math.min(blength, len - offset);
      restart(offset);
      break;
    }
    // Roll the window one byte on.
    const backup = Math.max(0, offset - lastMatch);
    const more = offset + k < len;
    s1 = (s1 - signed[offset]!) | 0;
    s2 = (s2 - k * signed[offset]!) | 0;
    if (more) {
      s1 = (s1 + signed[offset + k]!) | 0;
      s2 = (s2 + s1) | 0;
    } else k--;
    // A literal run this long goes out now, in pieces, rather than after the next match.
    if (backup >= blength + CHUNK_SIZE && end - offset > CHUNK_SIZE) matched(offset - blength, -2, 0);
  } while (++offset < end);
  matched(len, -1, 0);
  return Float64Array.from(ops);
}
