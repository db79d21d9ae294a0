/**
 * The sender's half of a file's data (match.c match_sums, token.c
 * simple_send_token): the file as a stream of tokens against the receiver's
 * basis signatures — literal runs of at most CHUNK_SIZE bytes and block
 * references — then the end token and the whole-file checksum.
 */
import type { ByteWriter } from "../protocol/writer.ts";
import type { Hasher } from "../native/index.ts";

/** Upstream's CHUNK_SIZE: the longest literal token. */
export const CHUNK_SIZE = 32 * 1024;

/** One step of a file's reconstruction: `length` literal bytes from `offset`, or a block of the basis. */
export type DeltaOp = { literal: true; offset: number; length: number } | { literal: false; block: number; length: number };

export interface DeltaTotals {
  literal: number;
  matched: number;
}

/** Writes `ops` over `data` as tokens, feeding every byte to `hasher`; returns the byte totals. */
export function writeTokens(w: ByteWriter, data: Uint8Array, ops: Iterable<DeltaOp>, hasher: Hasher): DeltaTotals {
  const totals: DeltaTotals = { literal: 0, matched: 0 };
  let pos = 0;
  for (const op of ops) {
    if (op.literal) {
      for (let at = op.offset, end = op.offset + op.length; at < end; at += CHUNK_SIZE) {
        const chunk = data.subarray(at, Math.min(end, at + CHUNK_SIZE));
        w.i32(chunk.length).bytes(chunk);
      }
      totals.literal += op.length;
    } else {
      w.i32(-(op.block + 1));
      totals.matched += op.length;
    }
    pos += op.length;
  }
  hasher.update(data.subarray(0, pos));
  w.i32(0);
  w.bytes(hasher.digest());
  return totals;
}

/** The whole file as literal data: what a sender without a basis (or without a matcher) sends. */
export function* allLiteral(length: number): Generator<DeltaOp> {
  if (length > 0) yield { literal: true, offset: 0, length };
}
