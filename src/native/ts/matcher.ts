/**
 * The sender's block matcher (match.c build_hash_table, hash_search and
 * matched): finds the receiver's basis blocks in the new data with the
 * rolling checksum, confirms each candidate with the strong sum, and emits
 * (block, length) pairs (block -1: a literal run) with upstream's choices: a
 * hash table sized for about 80% load, chains searched newest block first,
 * the block after the last match preferred when it also matches, at most
 * MAX_CHAIN_LEN candidates with the same rolling sum tried at one offset,
 * long literal runs flushed early in pieces, and with --inplace blocks the
 * walk has passed unlinked from their chains and a block found at its own
 * offset preferred. It counts what match.c counts for -vv (MatchCounts). The walk may be fed the file in
 * windows (as upstream reads it through map_ptr's sliding window): it stops
 * where a window ends and resumes with its state when the next is given.
 * The twin of zig/matcher.zig.
 */
import type { BlockMatcher, MatchCounts, MatchParams } from "../api.ts";
import { blockSums } from "./block-sums.ts";
import { rollingChecksum } from "./rolling.ts";

/** Upstream's CHUNK_SIZE: the longest literal token. */
export const CHUNK_SIZE = 32 * 1024;
const TRADITIONAL_TABLESIZE = 1 << 16;
/** Upstream's MAX_CHAIN_LEN: candidates with the offset's rolling sum tried before giving up there. */
const MAX_CHAIN_LEN = 1024;
/** Upstream's SUMFLG_SAME_OFFSET: with --inplace, a block found at its own offset (it stays usable behind the walk). */
const SAME_OFFSET = 1;
/** Offsets in a row with failed strong sums before the walk jumps on (the run then stays at this). */
const FALSE_ALARM_RUN_MAX = 3;

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
  /** --inplace: the first block boundary at or after the walk, and its block. */
  private alignedOffset = 0;
  private alignedI = 0;
  /** Consecutive offsets where a strong sum failed (or the chain was cut short). */
  private falseAlarmRun = 0;
  readonly counts: MatchCounts = { hashHits: 0, falseAlarms: 0, matches: 0 };
  private readonly table: Int32Array;
  private readonly chain: Int32Array;
  private readonly flags: Uint8Array;
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
      this.flags = new Uint8Array(0);
      return;
    }
    this.table = new Int32Array(tableSize).fill(-1);
    this.chain = new Int32Array(count);
    this.flags = new Uint8Array(count);
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

  /** Blocks i and j have the same strong sum (as the receiver sent them). */
  private sameStoredStrong(i: number, j: number): boolean {
    const { strongLength } = this.p;
    const a = i * (4 + strongLength) + 4;
    const b = j * (4 + strongLength) + 4;
    for (let n = 0; n < strongLength; n++) if (this.sums[a + n] !== this.sums[b + n]) return false;
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
    const { table, chain, flags, counts } = this;
    const updating = p.updatingBasis;
    // One turn reads up to two blocks ahead (a match, then the block after it); with --inplace a
    // match may first move on to the next block boundary, a third block.
    const lookAhead = (updating ? 3 : 2) * blength;
    const at = (pos: number, n: number) => window.subarray(pos - base, pos - base + n);
    // Bytes as rsync's schar: the rolling sums take them signed.
    const signed = new Int8Array(window.buffer, window.byteOffset, window.byteLength);
    const byte = (pos: number) => signed[pos - base]!;
    const strongOf = (pos: number, l: number) => blockSums(at(pos, l), { ...p, blockLength: l }).subarray(4, 4 + strongLength);
    const end = len + 1 - this.blockLen(count - 1);
    let { offset, k, s1, s2, wantI, alignedOffset, alignedI, falseAlarmRun } = this;
    const restart = (pos: number) => {
      const sum = rollingChecksum(at(pos, k));
      s1 = sum & 0xffff;
      s2 = sum >>> 16;
    };
    if (this.phase === Phase.Start) {
      if (!final && lookAhead > avail) return new Float64Array(0);
      k = Math.min(len, blength);
      restart(0);
      this.phase = Phase.Walk;
    }
    while (this.phase === Phase.Walk) {
      if (!final && offset + lookAhead > avail) break;
      let sum = ((s1 & 0xffff) | ((s2 & 0xffff) << 16)) >>> 0;
      const slot = this.hashOf(sum);
      if (table[slot]! >= 0) counts.hashHits++;
      // The link to the current candidate (-1: the table's slot): --inplace drops blocks the walk has
      // passed, and a block equal to one that just failed here (same sums) is dropped as a duplicate.
      let link = -1;
      const linked = () => (link < 0 ? table[slot]! : chain[link]!);
      const unlink = (i: number) => {
        if (link < 0) table[slot] = chain[i]!;
        else chain[link] = chain[i]!;
      };
      let strong: Uint8Array | null = null;
      let chainLen = 0;
      let gaveUp = false;
      let matchedHere = false;
      // The last candidate whose strong sum failed at this offset.
      let failed = -1;
      for (let i = linked(); i >= 0; i = linked()) {
        if (updating && i * blength < offset && !(flags[i]! & SAME_OFFSET)) {
          unlink(i);
          continue;
        }
        const l = Math.min(blength, len - offset);
        if (sum !== this.sum1(i) || l !== this.blockLen(i)) {
          link = i;
          continue;
        }
        if (failed >= 0 && (!(flags[i]! & SAME_OFFSET) || flags[failed]! & SAME_OFFSET) && this.sameStoredStrong(i, failed)) {
          unlink(i);
          continue;
        }
        // A pathological chain of equal rolling sums: give up at this offset (its bytes go literally).
        if (++chainLen > MAX_CHAIN_LEN) {
          gaveUp = true;
          break;
        }
        strong ??= strongOf(offset, l);
        if (!this.sameStrong(i, strong)) {
          counts.falseAlarms++;
          failed = i;
          link = i;
          continue;
        }
        // --inplace: the block at its own offset costs the receiver no write, so it is preferred; zeros
        // matched a little before a block boundary of zeros are realigned to it.
        aligned: if (updating) {
          while (alignedOffset < offset) {
            alignedOffset += blength;
            alignedI++;
          }
          if (!(offset === alignedOffset || (sum === 0 && l === blength && alignedOffset + l <= len)) || alignedI >= count) break aligned;
          if (i !== alignedI) {
            if (sum !== this.sum1(alignedI) || l !== this.blockLen(alignedI) || !this.sameStrong(alignedI, strong)) break aligned;
            i = alignedI;
          }
          if (offset !== alignedOffset) {
            sum = rollingChecksum(at(alignedOffset, l));
            if (sum !== this.sum1(i)) break aligned;
            strong = strongOf(alignedOffset, l);
            if (!this.sameStrong(i, strong)) break aligned;
            offset = alignedOffset;
          }
          flags[i] = flags[i]! | SAME_OFFSET;
          wantI = i;
        }
        // The block after the previous match is better still: the receiver copies runs.
        if (
          i !== wantI &&
          wantI < count &&
          (!updating || wantI * blength >= offset || flags[wantI]! & SAME_OFFSET) &&
          sum === this.sum1(wantI) &&
          l === this.blockLen(wantI) &&
          this.sameStrong(wantI, strong)
        )
          i = wantI;
        wantI = i + 1;
        matched(offset, i, this.blockLen(i));
        offset += this.blockLen(i) - 1;
        k = Math.min(blength, len - offset);
        restart(offset);
        counts.matches++;
        matchedHere = true;
        break;
      }
      // Offsets where strong sums kept failing (or the chain was too long): after four in a row
      // the walk jumps most of a block on, as Debian's rsync 3.5.0 does to bound the sender's work.
      if (matchedHere || !(gaveUp || strong)) falseAlarmRun = 0;
      else if (++falseAlarmRun > FALSE_ALARM_RUN_MAX && k > 1) {
        falseAlarmRun = FALSE_ALARM_RUN_MAX;
        const skip = Math.min(end - 1 - offset, k - 1);
        if (skip > 0) {
          offset += skip;
          k = Math.min(blength, len - offset);
          restart(offset);
        }
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
    Object.assign(this, { offset, k, s1, s2, wantI, alignedOffset, alignedI, falseAlarmRun });
    if (this.phase === Phase.Tail && final) {
      matched(len, -1, 0);
      this.phase = Phase.Done;
    }
    return Float64Array.from(ops);
  }
}
