/**
 * The sender's half of a file's data (match.c match_sums): the file as a
 * stream of tokens against the receiver's basis signatures — literal data
 * and block references, written by the session's TokenWriter (plain or
 * compressed) — then the end token and the whole-file checksum. Writing
 * pauses whenever the output has a backlog, so a file of any size goes out
 * in bounded memory.
 */
import { readSync } from "node:fs";
import type { ByteWriter } from "../protocol/writer.ts";
import type { Hasher } from "../native/index.ts";
import { CHUNK_SIZE, type TokenWriter } from "./token-writer.ts";

export { CHUNK_SIZE };
/** Bytes read from a file at a time when it goes whole (a multiple of CHUNK_SIZE keeps upstream's token boundaries). */
export const READ_SIZE = 8 * CHUNK_SIZE;

/** One step of a file's reconstruction: `length` literal bytes from `offset`, or a block of the basis. */
export type DeltaOp = { literal: true; offset: number; length: number } | { literal: false; block: number; length: number };

export interface DeltaTotals {
  literal: number;
  matched: number;
}

/** Where tokens go: the current writer (it changes after each flush) and a wait while the output is backed up. */
export interface TokenSink {
  writer(): ByteWriter;
  writable(): Promise<void>;
}

/** Writes `ops` over `data` as tokens, feeding every byte to `hasher`; returns the byte totals. */
export async function writeTokens(sink: TokenSink, tokens: TokenWriter, data: Uint8Array, ops: Iterable<DeltaOp>, hasher: Hasher): Promise<DeltaTotals> {
  const totals: DeltaTotals = { literal: 0, matched: 0 };
  let pos = 0;
  let sinceWait = 0;
  for (const op of ops) {
    if (op.literal) {
      tokens.literal(sink.writer(), data.subarray(op.offset, op.offset + op.length));
      totals.literal += op.length;
      sinceWait += op.length;
    } else {
      tokens.block(sink.writer(), op.block, data.subarray(pos, pos + op.length));
      totals.matched += op.length;
    }
    pos += op.length;
    if (sinceWait >= READ_SIZE) {
      await sink.writable();
      sinceWait = 0;
    }
  }
  hasher.update(data.subarray(0, pos));
  const w = sink.writer();
  tokens.end(w);
  w.bytes(hasher.digest());
  return totals;
}

/**
 * A file sent whole (the receiver has no basis): read from `fd` piece by
 * piece into `buf` (READ_SIZE bytes, the caller's, reused from file to file:
 * most files are small, and a fresh buffer each would cost more than their
 * data) and sent as literal tokens, never held in memory at once.
 */
/**
 * --append (match.c match_sums with append_mode): what the receiver has is
 * skipped (it is only read, for the whole-file checksum, with
 * --append-verify) and the rest goes out as literal data. Nothing counts as
 * matched.
 */
export async function writeAppended(sink: TokenSink, tokens: TokenWriter, fd: number, hasher: Hasher, buf: Uint8Array, from: number, verify: boolean): Promise<DeltaTotals> {
  let position = 0;
  for (;;) {
    // Without verification the prefix is not read at all.
    const want = verify ? Math.min(buf.length, from - position) : 0;
    if (want <= 0) break;
    const n = readSync(fd, buf, 0, want, position);
    if (n <= 0) break;
    hasher.update(buf.subarray(0, n));
    position += n;
  }
  let literal = 0;
  for (position = from; ; ) {
    const n = readSync(fd, buf, 0, buf.length, position);
    if (n <= 0) break;
    const piece = buf.subarray(0, n);
    tokens.literal(sink.writer(), piece);
    hasher.update(piece);
    literal += n;
    position += n;
    await sink.writable();
  }
  return endWhole(sink, tokens, hasher, literal);
}

export async function writeWholeFile(sink: TokenSink, tokens: TokenWriter, fd: number, hasher: Hasher, buf: Uint8Array, limit = Infinity): Promise<DeltaTotals> {
  let total = 0;
  // `limit`: a device's length (--copy-devices), past which it is not read.
  while (total < limit) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, limit - total), null);
    if (n <= 0) break;
    await sendLiteral(sink, tokens, hasher, buf.subarray(0, n));
    total += n;
  }
  return endWhole(sink, tokens, hasher, total);
}

/**
 * writeWholeFile for a file already read (Core.readSource), at once: it is
 * at most one read buffer, and the caller waits for the output afterwards.
 * `sum` is its whole-file checksum (wholeFileSum).
 */
export function writeWholeData(w: ByteWriter, tokens: TokenWriter, data: Uint8Array, sum: Uint8Array): DeltaTotals {
  if (data.length > 0) tokens.literal(w, data);
  return endWith(w, tokens, sum, data.length);
}

async function sendLiteral(sink: TokenSink, tokens: TokenWriter, hasher: Hasher, piece: Uint8Array): Promise<void> {
  tokens.literal(sink.writer(), piece);
  hasher.update(piece);
  await sink.writable();
}

/** The end of a file sent whole: the end token and the whole-file checksum. */
function endWhole(sink: TokenSink, tokens: TokenWriter, hasher: Hasher, literal: number): DeltaTotals {
  return endWith(sink.writer(), tokens, hasher.digest(), literal);
}

/** The end token and the whole-file checksum `sum`, after `literal` bytes sent whole. */
function endWith(w: ByteWriter, tokens: TokenWriter, sum: Uint8Array, literal: number): DeltaTotals {
  tokens.end(w);
  w.bytes(sum);
  return { literal, matched: 0 };
}
