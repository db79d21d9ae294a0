/**
 * The sum head (generator.c sum_sizes_sqroot, io.c write_sum_head /
 * read_sum_head): block count, block length, strong-sum length and the last
 * block's length, chosen from the basis file's size exactly as upstream does.
 */
import { protocolError } from "../errors.ts";
import type { ChunkReader } from "../protocol/reader.ts";
import type { ByteWriter } from "../protocol/writer.ts";

export interface SumHead {
  count: number;
  blockLength: number;
  strongLength: number;
  remainder: number;
}

export const NULL_SUM_HEAD: SumHead = { count: 0, blockLength: 0, strongLength: 0, remainder: 0 };

/** A sum head's bytes on the wire (no strong-sum length before protocol 27). */
export const sumHeadBytes = (protocol: number) => (protocol >= 27 ? 16 : 12);

/** The sum head and block sums a generator sends for one file: what a sender reads for it (its %c). */
export const blockSumsBytes = (head: SumHead, protocol: number) => sumHeadBytes(protocol) + head.count * (4 + head.strongLength);

/** upstream BLOCK_SIZE and MAX_BLOCK_SIZE. */
const BLOCK_SIZE = 700;
const MAX_BLOCK_SIZE = 1 << 17;
const OLD_MAX_BLOCK_SIZE = 1 << 29;
/** Strong-sum lengths of the first pass and of the redo pass. */
export const SHORT_SUM_LENGTH = 2;
export const SUM_LENGTH = 16;

function log2Floor(n: number): number {
  return n < 1 ? 0 : Math.floor(Math.log2(n));
}

/**
 * Block length and strong-sum length for a basis of `len` bytes. `redo`
 * asks for full-length sums (the second pass); `digestLength` caps them.
 */
export function chooseSumHead(len: number, protocol: number, digestLength: number, redo: boolean, forcedBlockSize = 0): SumHead {
  let blength: number;
  if (forcedBlockSize) {
    blength = forcedBlockSize;
  } else if (len <= BLOCK_SIZE * BLOCK_SIZE) {
    blength = BLOCK_SIZE;
  } else {
    const max = protocol < 30 ? OLD_MAX_BLOCK_SIZE : MAX_BLOCK_SIZE;
    let c = 1;
    for (let t = len; (t = Math.floor(t / 4)) !== 0; ) c *= 2;
    if (c >= max) {
      blength = max;
    } else {
      // The largest multiple-of-8-ish value whose square does not exceed len, built bit by bit.
      let b = 0;
      while (c >= 8) {
        b += c;
        if (len < b * b) b -= c;
        c /= 2;
      }
      blength = Math.max(b, BLOCK_SIZE);
    }
  }

  let s2length: number;
  if (redo) {
    s2length = Math.min(SUM_LENGTH, digestLength);
  } else {
    let b = 10 + 2 * log2Floor(len);
    for (let l = log2Floor(blength); l > 0 && b > 0; l--) b--;
    s2length = Math.trunc((b - 24) / 8);
    s2length = Math.max(SHORT_SUM_LENGTH, Math.min(s2length, SUM_LENGTH, digestLength));
  }
  const remainder = len % blength;
  return { count: Math.floor(len / blength) + (remainder ? 1 : 0), blockLength: blength, strongLength: s2length, remainder };
}

export function writeSumHead(w: ByteWriter, h: SumHead, protocol: number): void {
  w.i32(h.count).i32(h.blockLength);
  if (protocol >= 27) w.i32(h.strongLength);
  w.i32(h.remainder);
}

/** Reads and validates a sum head (upstream's bounds; a violation is a protocol error). */
export function readSumHead(r: ChunkReader, protocol: number, digestLength: number, who: "sender" | "receiver"): SumHead {
  const count = r.i32();
  const blockLength = r.i32();
  const strongLength = protocol >= 27 ? r.i32() : SHORT_SUM_LENGTH;
  const remainder = r.i32();
  const maxBlock = protocol < 30 ? OLD_MAX_BLOCK_SIZE : MAX_BLOCK_SIZE;
  if (count < 0) throw protocolError(`Invalid checksum count ${count} [${who}]`);
  if (blockLength < 0 || blockLength > maxBlock) throw protocolError(`Invalid block length ${blockLength} [${who}]`);
  if (count > 0 && blockLength === 0) throw protocolError(`Invalid zero block length [${who}]`);
  if (strongLength < 0 || strongLength > digestLength) throw protocolError(`Invalid checksum length ${strongLength} [${who}]`);
  if (remainder < 0 || remainder > blockLength) throw protocolError(`Invalid remainder length ${remainder} [${who}]`);
  return { count, blockLength, strongLength, remainder };
}
