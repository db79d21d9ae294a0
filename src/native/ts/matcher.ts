/**
 * The sender's block matcher (match.c build_hash_table, hash_search and
 * matched): finds the receiver's basis blocks in the new data with the
 * rolling checksum, confirms each candidate with the strong sum, and emits
 * (block, length) pairs (block -1: a literal run) with upstream's choices: a
 * hash table sized for about 80% load, chains searched newest block first,
 * the block after the last match preferred when it also matches, and long
 * literal runs flushed early in pieces. The walk may be fed the file in
 * windows (as upstream reads it through map_ptr's sliding window): it stops
 * where a window ends and resumes with its state when the next is given.
 * The twin of zig/matcher.zig.
 */
import type { BlockMatcher, MatchParams } from "../api.ts";
import { blockSums } from "./block-sums.ts";
import { rollingChecksum } from "./rolling.ts";

/** Upstream's CHUNK_SIZE: the longest literal token. */
const CHUNK_SIZE = 32 * 1024;
const TRADITIONAL_TABLESIZE = 1 << 16;

const enum Phase {
  /** No blocks to match: literal pieces only. */
  Plain,
  Start,
  Walk,
  /** Walked: the last literal run is still to go. */
  Tail,
  Done,
}

export function matchBlocks(data: Uint8Array, sums: Uint8Array, p: MatchParams): Float64Array {
  const m = createMatcher(sums, p, data.length);
  const ops = m.step(data, 0);
  if (!m.done) throw new RangeError("block matching did not finish");
  return ops;
}

export function createMatcher(sums: Uint8Array, p: MatchParams, length: number): BlockMatcher {
  return new WindowMatcher(sums, p, length);
}

class WindowMatcher implements BlockMatcher {
  private phase: Phase;
  private offset = 0;
  private lastMatch = 0;
  private wantI = 0;
  private k = 0;
  private s1 = 0;
  private s2 = 0;
  private readonly table: Int32Array;
  private readonly chain: Int32Array;
  private readonly traditional: boolean;
  private readonly view: DataView;

  constructor(
    private readonly sums: Uint8Array,
    private readonly p: MatchParams,
    private readonly len: number,
  ) {
    const count = p.count;
    let tableSize = Math.floor(count / 8) * 10 + 11;
    if (tableSize < TRADITIONAL_TABLESIZE) tableSize = TRADITIONAL_TABLESIZE;
    this.traditional = tableSize === TRADITIONAL_TABLESIZE;
    this.view = new DataView(sums.buffer, sums.byteOffset, sums.byteLength);
    this.phase = len === 0 || count === 0 ? Phase.Plain : Phase.Start;
    if (this.phase === Phase.Plain) {
      this.offset = CHUNK_SIZE;
      this.table = this.chain = new Int32Array(0);
      return;
    }
    this.table = new Int32Array(tableSize).fill(-1);
    this.chain = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const t = this.hashOf(this.sum1(i));
      this.chain[i] = this.table[t]!;
      this.table[t] = i;
    }
  }

  get pendingFrom(): number {
    return this.lastMatch;
  }

  get done(): boolean {
    return this.phase === Phase.Done;
  }

  private hashOf(sum: number): number {
    return this.traditional ? ((sum & 0xffff) + (sum >>> 16)) & 0xffff : sum % this.table.length;
  }

  private sum1(i: number): number {
    return this.view.getUint32(i * (4 + this.p.strongLength), true);
  }

  private blockLen(i: number): number {
    return i === this.p.count - 1 && this.p.remainder !== 0 ? this.p.remainder : this.p.blockLength;
  }

  private sameStrong(i: number, strong: Uint8Array): boolean {
    const { strongLength } = this.p;
    const at = i * (4 + strongLength) + 4;
    for (let j = 0; j < strongLength; j++) if (this.sums[at + j] !== strong[j]) return false;
    return true;
  }

  step(window: Uint8Array, base: number): Float64Array {
    const { len, p } = this;
    if (base > this.lastMatch || base + window.length > len) throw new RangeError("bad matcher window");
    const avail = base + window.length;
    const final = avail === len;
    const ops: number[] = [];
    // matched(): the literal bytes since the last match, then block i (i < 0: no block, a flush or the end).
    const matched = (offset: number, i: number, blockLen: number) => {
      if (offset > this.lastMatch) ops.push(-1, offset - this.lastMatch);
      if (i >= 0) ops.push(i, blockLen);
      this.lastMatch = offset + (i >= 0 ? blockLen : 0);
    };
    if (this.phase === Phase.Plain) {
      let j = this.offset;
      for (; j < len && j <= avail; j += CHUNK_SIZE) matched(j, -2, 0);
      this.offset = j;
      if (final && j >= len) {
        matched(len, -1, 0);
        this.phase = Phase.Done;
      }
      return Float64Array.from(ops);
    }
    if (this.phase === Phase.Done) return new Float64Array(0);

    const { count, blockLength: blength, strongLength } = p;
    const at = (pos: number, n: number) => window.subarray(pos - base, pos - base + n);
    // Bytes as rsync's schar: the rolling sums take them signed.
    const signed = new Int8Array(window.buffer, window.byteOffset, window.byteLength);
    const byte = (pos: number) => signed[pos - base]!;
    const strongOf = (pos: number, l: number) => blockSums(at(pos, l), { ...p, blockLength: l }).subarray(4, 4 + strongLength);
    const end = len + 1 - this.blockLen(count - 1);
    let { offset, k, s1, s2, wantI } = this;
    const restart = (pos: number) => {
      const sum = rollingChecksum(at(pos, k));
      s1 = sum & 0xffff;
      s2 = sum >>> 16;
    };
    if (this.phase === Phase.Start) {
      if (!final && 2 * blength > avail) return new Float64Array(0);
      k = Math.min(len, blength);
      restart(0);
      this.phase = Phase.Walk;
    }
    while (this.phase === Phase.Walk) {
      // One turn reads up to two blocks ahead (a match, then the block after it).
      if (!final && offset + 2 * blength > avail) break;
      const sum = ((s1 & 0xffff) | ((s2 & 0xffff) << 16)) >>> 0;
      let strong: Uint8Array | null = null;
      for (let i = this.table[this.hashOf(sum)]!; i >= 0; i = this.chain[i]!) {
        if (p.updatingBasis && i * blength < offset) continue;
        if (sum !== this.sum1(i)) continue;
        const l = Math.min(blength, len - offset);
        if (l !== this.blockLen(i)) continue;
        strong ??= strongOf(offset, l);
        if (!this.sameStrong(i, strong)) continue;
        // The block after the previous match is better still: the receiver copies runs.
        if (i !== wantI && wantI < count && (!p.updatingBasis || wantI * blength >= offset) && sum === this.sum1(wantI) && this.sameStrong(wantI, strong)) i = wantI;
        wantI = i + 1;
        matched(offset, i, this.blockLen(i));
        offset += this.blockLen(i) - 1;
        k = Math.min(blength, len - offset);
        restart(offset);
        break;
      }
      // Roll the window one byte on.
      const backup = Math.max(0, offset - this.lastMatch);
      const more = offset + k < len;
      s1 = (s1 - byte(offset)) | 0;
      s2 = (s2 - k * byte(offset)) | 0;
      if (more) {
        s1 = (s1 + byte(offset + k)) | 0;
        s2 = (s2 + s1) | 0;
      } else k--;
      // A literal run this long goes out now, in pieces, rather than after the next match.
      if (backup >= blength + CHUNK_SIZE && end - offset > CHUNK_SIZE) matched(offset - blength, -2, 0);
      if (++offset >= end) this.phase = Phase.Tail;
    }
    Object.assign(this, { offset, k, s1, s2, wantI });
    if (this.phase === Phase.Tail && final) {
      matched(len, -1, 0);
      this.phase = Phase.Done;
    }
    return Float64Array.from(ops);
  }
}
