/**
 * LZ4 block format (lz4_Block_format.md): raw blocks, no frame, no
 * dictionary. A block is a series of sequences, each a token (literal length
 * in the high nibble, match length - 4 in the low one; 15 means "more in the
 * following bytes, 255 each until one is smaller"), the literals, then a
 * 2-byte LE offset back into the output and the match length's extra bytes.
 * The last sequence has literals only.
 *
 * The compressor is a greedy single-probe hash-table matcher in the style of
 * LZ4's fast mode, keeping LZ4's end-of-block rules so that the reference
 * LZ4_decompress_safe accepts its blocks. The decompressor takes input from a
 * hostile peer: every length and offset is checked before it is used.
 * The twin of zig/lz4.zig (same algorithm, same hash).
 */

/** The shortest match a token can describe (its match nibble stores length - 4). */
const MIN_MATCH = 4;
/** Offsets are two bytes; 0 is invalid. */
const MAX_OFFSET = 65535;
/** End-of-block rule: the last 5 bytes of the data are always literals. */
const LAST_LITERALS = 5;
/** End-of-block rule: the last match starts at least 12 bytes before the end. */
const MATCH_FREE_TAIL = 12;
/** Inputs shorter than this cannot hold a match under the two rules above. */
const MIN_INPUT_WITH_MATCH = MATCH_FREE_TAIL + 1;
/** A nibble of 15 means the length continues in extra bytes. */
const NIBBLE_MAX = 15;
const HASH_LOG = 12;
/** The search stride grows by one byte every 2^SKIP_STRENGTH consecutive misses (LZ4's acceleration). */
const SKIP_STRENGTH = 6;
/** 2^64 / golden ratio, odd, as 32-bit halves: the multiplier of the 5-byte hash. */
const HASH_MULTIPLIER_HI = 0x9e3779b9 | 0;
const HASH_MULTIPLIER_LO = 0x7f4a7c15;

/** Hash slot -> last position (mod 2^32) seen with that hash. Reused across calls: JS runs one at a time, and each call clears it. */
const table = new Int32Array(1 << HASH_LOG);

/** `src` as one LZ4 block into `dst`: the block's length, or 0 when it does not fit. */
export function lz4Compress(src: Uint8Array, dst: Uint8Array): number {
  const out = new BlockWriter(dst);
  let anchor = 0;
  if (src.length >= MIN_INPUT_WITH_MATCH) {
    anchor = emitMatches(src, out);
    if (anchor < 0) return 0;
  }
  return out.sequence(src, anchor, src.length, 0, 0) ? out.pos : 0;
}

/** Decodes the block `src` into `dst`: the bytes written, or -1 (malformed block, or dst too small). */
export function lz4Decompress(src: Uint8Array, dst: Uint8Array): number {
  // Even empty data is one token (0x00): an empty block is not a block.
  if (src.length === 0) return -1;
  const input = new BlockReader(src);
  let out = 0;
  for (;;) {
    if (input.at === src.length) return -1; // the block ended with a match
    const token = src[input.at++]!;

    const literalLength = input.length(token >>> 4);
    if (literalLength < 0 || literalLength > src.length - input.at || literalLength > dst.length - out) return -1;
    copyLiterals(dst, out, src, input.at, literalLength);
    input.at += literalLength;
    out += literalLength;
    if (input.at === src.length) return out; // literals only: the last sequence

    if (src.length - input.at < 2) return -1;
    const offset = src[input.at]! | (src[input.at + 1]! << 8);
    input.at += 2;
    if (offset === 0 || offset > out) return -1;
    const extra = input.length(token & 0x0f);
    if (extra < 0) return -1;
    const matchLength = MIN_MATCH + extra;
    if (matchLength > dst.length - out) return -1;
    copyMatch(dst, out, offset, matchLength);
    out += matchLength;
  }
}

class BlockReader {
  at = 0;
  constructor(private readonly src: Uint8Array) {}

  /** A token nibble plus, when it is 15, the extra bytes after it; -1 when they run off the end. */
  length(nibble: number): number {
    let length = nibble;
    if (length !== NIBBLE_MAX) return length;
    const src = this.src;
    for (;;) {
      if (this.at === src.length) return -1;
      const b = src[this.at++]!;
      length += b;
      if (b !== 255) return length;
    }
  }
}

/** Short runs byte by byte: cheaper than making the subarray `set` needs. */
function copyLiterals(dst: Uint8Array, at: number, src: Uint8Array, from: number, length: number): void {
  if (length <= 32) {
    for (let i = 0; i < length; i++) dst[at + i] = src[from + i]!;
  } else {
    dst.set(src.subarray(from, from + length), at);
  }
}

/**
 * Copies `length` bytes from `offset` back to dst[at..]. When the two overlap
 * (offset < length) the output repeats with period `offset`, so the source can
 * stay put while each chunk doubles: a chunk never overlaps its source, which
 * copyWithin (memmove semantics) needs for LZ77's byte-by-byte meaning.
 */
function copyMatch(dst: Uint8Array, at: number, offset: number, length: number): void {
  const from = at - offset;
  const end = at + length;
  if (length <= 32) {
    // Short matches are the common case: a plain loop beats copyWithin's call overhead.
    for (let i = at; i < end; i++) dst[i] = dst[i - offset]!;
    return;
  }
  for (let to = at; to < end; ) {
    const n = Math.min(end - to, to - from);
    dst.copyWithin(to, from, from + n);
    to += n;
  }
}

/** dst and how much of it the block has taken. */
class BlockWriter {
  pos = 0;
  constructor(private readonly dst: Uint8Array) {}

  /**
   * Appends one sequence, src[literalStart..literalEnd) then a match (none
   * when matchLength is 0, as in the last sequence); false, writing
   * nothing, when it does not fit.
   */
  sequence(src: Uint8Array, literalStart: number, literalEnd: number, offset: number, matchLength: number): boolean {
    const literalLength = literalEnd - literalStart;
    const hasMatch = matchLength !== 0;
    const matchCode = hasMatch ? matchLength - MIN_MATCH : 0;
    const need = 1 + extraLengthBytes(literalLength) + literalLength + (hasMatch ? 2 + extraLengthBytes(matchCode) : 0);
    if (need > this.dst.length - this.pos) return false;

    const dst = this.dst;
    dst[this.pos++] = (Math.min(literalLength, NIBBLE_MAX) << 4) | Math.min(matchCode, NIBBLE_MAX);
    this.extraLength(literalLength);
    copyLiterals(dst, this.pos, src, literalStart, literalLength);
    this.pos += literalLength;
    if (hasMatch) {
      dst[this.pos++] = offset & 0xff;
      dst[this.pos++] = offset >>> 8;
      this.extraLength(matchCode);
    }
    return true;
  }

  private extraLength(length: number): void {
    if (length < NIBBLE_MAX) return;
    let rest = length - NIBBLE_MAX;
    for (; rest >= 255; rest -= 255) this.dst[this.pos++] = 255;
    this.dst[this.pos++] = rest;
  }
}

/** Bytes after the token that a length needs beyond its nibble. */
function extraLengthBytes(length: number): number {
  return length < NIBBLE_MAX ? 0 : Math.floor((length - NIBBLE_MAX) / 255) + 1;
}

/**
 * Emits every sequence that ends in a match; returns where the final literals
 * start, or -1 when dst is full. The search is inline (zig/lz4.zig's
 * findMatch) because it is the hot loop.
 */
function emitMatches(src: Uint8Array, out: BlockWriter): number {
  // Zeroed slots point at position 0, a real position: a stale or colliding
  // slot is harmless because every candidate is verified.
  table.fill(0);
  const lastMatchStart = src.length - MATCH_FREE_TAIL;
  const matchEndLimit = src.length - LAST_LITERALS;
  let anchor = 0;
  let pos = 1;
  for (;;) {
    // Find the next position whose 4 bytes equal those at the position its slot remembered, at most MAX_OFFSET back.
    let misses = 1 << SKIP_STRENGTH;
    let earlier = -1;
    for (; pos <= lastMatchStart; pos += misses++ >>> SKIP_STRENGTH) {
      const word = read32(src, pos);
      const slot = hashOf5(word, src[pos + 4]!);
      // Positions are kept mod 2^32, as in the Zig twin: the wrapped distance names some earlier position, checked like any candidate.
      const distance = (pos - table[slot]!) >>> 0;
      table[slot] = pos;
      if (distance !== 0 && distance <= MAX_OFFSET && distance <= pos && read32(src, pos - distance) === word) {
        earlier = pos - distance;
        break;
      }
    }
    if (earlier < 0) return anchor;

    let start = pos;
    // Bytes just before the hit that also match join the match rather than the literals.
    while (start > anchor && earlier > 0 && src[start - 1] === src[earlier - 1]) {
      start--;
      earlier--;
    }
    const length = MIN_MATCH + commonLength(src, earlier + MIN_MATCH, start + MIN_MATCH, matchEndLimit);
    if (!out.sequence(src, anchor, start, start - earlier, length)) return -1;
    pos = start + length;
    anchor = pos;
    if (pos > lastMatchStart) return anchor;
    // Index a position inside the match too: the next repeat of this stretch is then found from its start.
    table[hashOf5(read32(src, pos - 2), src[pos + 2]!)] = pos - 2;
  }
}

/**
 * The Zig twin's hash of 5 bytes (`word`: the first 4 as read32 gives them,
 * then `fifth`): ((the bytes as a 40-bit LE number) << 24) * multiplier
 * mod 2^64, top HASH_LOG bits. Only the product's high half matters, so
 * with x = hi:lo (lo = first byte << 24) it is hi·mLo + lo·mHi + the carry
 * out of lo·mLo, all mod 2^32; that carry is firstByte·mLo / 2^8, exact in a double.
 */
function hashOf5(word: number, fifth: number): number {
  const first = word & 0xff;
  const hi = (word >>> 8) | (fifth << 24);
  const high = Math.imul(hi, HASH_MULTIPLIER_LO) + Math.imul(first << 24, HASH_MULTIPLIER_HI) + Math.floor((first * HASH_MULTIPLIER_LO) / 256);
  return high >>> (32 - HASH_LOG);
}

/** 4 bytes little-endian, as a signed int32 (only compared and hashed). */
function read32(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
}

/** How many bytes from src[later..] (up to `limit`) equal those from src[earlier..], 4 at a time then 1. */
function commonLength(src: Uint8Array, earlier: number, later: number, limit: number): number {
  let n = 0;
  while (later + n + 4 <= limit && read32(src, earlier + n) === read32(src, later + n)) n += 4;
  while (later + n < limit && src[earlier + n] === src[later + n]) n++;
  return n;
}
