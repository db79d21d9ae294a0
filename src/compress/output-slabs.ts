/**
 * Slabs that decompressed file data is written into and handed out from, in
 * views, and used again once every view cut from a slab has been given back.
 *
 * A -z pull inflates its whole transfer (1.5 GB on the kernel tree), and a
 * fresh array per piece made all of it garbage: allocations, then eden
 * collections (the GC pacer's, paced by those bytes) to free them. The pieces
 * live only until their file is written (by the FileWriter's worker, or a
 * flush of a large file), so the receiver gives them back then (`giveBack`)
 * and the same few slabs carry the whole transfer. A view never given back
 * (a file passed over, discarded, written some other way) only keeps its
 * slab from being reused: the slab is then left to the collector.
 */
import { noteWork } from "../io/memory-pacer.ts";

/**
 * One slab's size (an engine cuts pieces from it while a whole piece still
 * fits). A slab is used again only once every piece cut from it is back, so
 * the slabs out at once hold what the writer has queued plus up to a slab
 * each: with 1 MiB slabs and 16 kept spare a -z kernel pull peaked at
 * 109-117 MB, with 256 KiB and 4 at 101-106 MB, for no CPU measurable.
 */
export const SLAB_SIZE = 256 << 10;
/** Spare slabs kept for reuse; more are left to the collector. */
const KEEP_SPARE = 4;

interface Slab {
  readonly bytes: Uint8Array;
  /** Views handed out and not given back yet. */
  out: number;
  /** Pieces are still being cut from it (it is some engine's current slab). */
  cutting: boolean;
}

/** A slab by its ArrayBuffer: weakly, so a slab whose views were never given back can still be collected. */
const byBuffer = new WeakMap<ArrayBufferLike, Slab>();
const spare: Slab[] = [];
/** No slab was ever made (no decompressing here): giving back has nothing to look up. */
let none = true;

/** A slab to cut pieces from (a spare one when there is one). */
export function takeSlab(): Slab {
  const reused = spare.pop();
  if (reused) {
    reused.cutting = true;
    return reused;
  }
  // Not zeroed: only bytes an engine wrote are handed out. It is garbage only if its views are never given back.
  const fresh = Buffer.allocUnsafeSlow(SLAB_SIZE);
  const bytes = new Uint8Array(fresh.buffer, fresh.byteOffset, SLAB_SIZE);
  noteWork(SLAB_SIZE);
  none = false;
  const slab: Slab = { bytes, out: 0, cutting: true };
  byBuffer.set(bytes.buffer, slab);
  return slab;
}

/** A view of `length` bytes of `slab` from `at`, counted as out. */
export function cut(slab: Slab, at: number, length: number): Uint8Array {
  slab.out++;
  return slab.bytes.subarray(at, at + length);
}

/** No more pieces are cut from `slab`: it is spare once its views are back. */
export function doneCutting(slab: Slab): void {
  slab.cutting = false;
  spareIfFree(slab);
}

/** Whether any slab was made here: only then is anything worth giving back. */
export function slabsInUse(): boolean {
  return !none;
}

/**
 * Pieces nothing will read or keep any more (their file is written): a
 * slab whose views are all back is used again. Arrays that did not come
 * from a slab are ignored. Give a view back once, and only when no one
 * holds it: its bytes are overwritten afterwards.
 */
export function giveBack(pieces: readonly Uint8Array[]): void {
  // (Nor a view's `buffer` asked for: JSC makes an object for it on the first ask.)
  if (none) return;
  for (const piece of pieces) giveBackPiece(piece);
}

/** giveBack of one piece (a piece copied elsewhere as soon as it came: its slab need not wait for its file). */
export function giveBackPiece(piece: Uint8Array): void {
  if (none) return;
  const slab = byBuffer.get(piece.buffer);
  if (slab === undefined) return;
  slab.out--;
  spareIfFree(slab);
}

function spareIfFree(slab: Slab): void {
  if (slab.out === 0 && !slab.cutting && spare.length < KEEP_SPARE) spare.push(slab);
}

export type { Slab };
