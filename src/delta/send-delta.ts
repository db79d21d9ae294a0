/**
 * The sender's half of a delta (match.c match_sums over fileio.c map_ptr):
 * the file is read through a window of bounded size that slides on as the
 * matcher walks it, and each op's tokens (literal data, block references)
 * go out as soon as the matcher emits it, so a file of any size is sent in
 * a few MiB of memory. The tokens are those of the whole file in memory: the
 * matcher keeps its state from window to window.
 */
import { readSync } from "node:fs";
import { errText } from "../fs/errors.ts";
import type { BlockMatcher, Hasher } from "../native/index.ts";
import type { TokenWriter } from "./token-writer.ts";
import { type DeltaTotals, READ_SIZE, type TokenSink } from "./send-tokens.ts";

/** The window's usual size (upstream maps at most 256 KiB at a time; bigger reads cost fewer slides). */
const DEFAULT_WINDOW = 4 << 20;

/** The window size: OC_RSYNC_MATCH_WINDOW (bytes) lets tests make it small, to cross many window boundaries. */
export function matchWindowSize(): number {
  const asked = Number(process.env.OC_RSYNC_MATCH_WINDOW);
  return Number.isInteger(asked) && asked > 0 ? asked : DEFAULT_WINDOW;
}

export interface DeltaResult extends DeltaTotals {
  /**
   * The file ended before `length` (it shrank while being sent) or a read
   * failed: the missing bytes went out as zeros, as map_ptr gives them, and
   * this says why for the caller's message ("No data available (61)" at an
   * early end, as upstream's ENODATA).
   */
  readError?: string;
}

/**
 * Sends `length` bytes of `fd` as tokens against the receiver's blocks
 * (`matcher`), feeding every byte to `hasher`, then the end token and the
 * whole-file checksum. Bytes past `length` (a file that grew) are not read.
 */
export async function writeDeltaFile(sink: TokenSink, tokens: TokenWriter, fd: number, length: number, matcher: BlockMatcher, hasher: Hasher, blockLength: number, window = matchWindowSize()): Promise<DeltaResult> {
  const result: DeltaResult = { literal: 0, matched: 0 };
  // The matcher looks two blocks ahead of where it stands (three with --inplace), and waits for that much.
  let buf = new Uint8Array(Math.min(length, Math.max(window, 3 * blockLength)));
  // buf[0, filled) holds the file's bytes [base, base + filled); `pos` is where the next op starts.
  let base = 0;
  let filled = 0;
  let pos = 0;
  let sinceWait = 0;
  while (!matcher.done) {
    // Slide: bytes before the pending literal run are sent and no longer needed.
    const keep = matcher.pendingFrom;
    if (keep > base) {
      buf.copyWithin(0, keep - base, filled);
      filled -= keep - base;
      base = keep;
    }
    const wanted = Math.min(buf.length, length - base);
    while (filled < wanted) {
      let n = 0;
      if (result.readError === undefined) {
        try {
          n = readSync(fd, buf, filled, wanted - filled, base + filled);
          if (n <= 0) result.readError = "No data available (61)";
        } catch (e) {
          result.readError = errText(e);
        }
      }
      if (n <= 0) {
        // Zeros stand for the rest, and the caller reports it.
        buf.fill(0, filled, wanted);
        filled = wanted;
        break;
      }
      filled += n;
    }
    const ops = matcher.step(buf.subarray(0, filled), base);
    if (ops.length === 0 && !matcher.done) {
      // Only a window that reaches the file's end lets the walk finish; one that cannot grow must not spin.
      if (filled < buf.length || base + filled >= length) throw new Error("block matcher stalled");
      // A window too small for the walk's look-ahead past a pending literal run: widen it.
      const wider = new Uint8Array(Math.min(length - base, buf.length * 2));
      wider.set(buf.subarray(0, filled));
      buf = wider;
      continue;
    }
    for (let i = 0; i < ops.length; i += 2) {
      const block = ops[i]!;
      const n = ops[i + 1]!;
      const data = buf.subarray(pos - base, pos - base + n);
      if (block < 0) {
        tokens.literal(sink.writer(), data);
        result.literal += n;
        sinceWait += n;
      } else {
        tokens.block(sink.writer(), block, data);
        result.matched += n;
      }
      hasher.update(data);
      pos += n;
      if (sinceWait >= READ_SIZE) {
        await sink.writable();
        sinceWait = 0;
      }
    }
  }
  const w = sink.writer();
  tokens.end(w);
  w.bytes(hasher.digest());
  return result;
}
