/**
 * Keeps the JavaScript heap small by collecting garbage at a steady pace.
 *
 * Left alone, JavaScriptCore collects the young generation only after about
 * 40 MB of new allocations, and the old generation rarely: objects that were
 * still in flight at an eden collection (chunks, buffers, promises of one
 * file) get promoted and then pile up, so a kernel-sized transfer ends up with
 * a 100+ MB heap of which 15-25 MB is live, while upstream rsync stays near
 * 10 MB. The protocol layers report their work here (bytes through the
 * connection, file-list entries made or received); every EDEN_EVERY units an
 * eden collection runs, and a full one when the heap has grown FULL_SLACK past
 * what the last full collection left. On the kernel tree this took the
 * client's peak RSS from 130-185 MB to 90-120 MB for a few tenths of a second
 * of CPU (bench/README.md, memory).
 *
 * OC_RSYNC_GC_PACING=0 turns it off (to measure what it saves).
 */
import { edenGC, heapSize } from "bun:jsc";

/** Units of work between two eden collections (about what they allocate, in bytes). */
const EDEN_EVERY = 4 << 20;
/** A full collection once the heap is this much larger than after the previous one. */
const FULL_SLACK = 12 << 20;
/** What one file-list entry costs in allocations, in the same units (the walk or the decoding, the name, the sort). */
export const ENTRY_WORK = 2048;
/**
 * What one received entry costs: the decoder writes its name and fields into
 * the table in place, so what it leaves is the generator's (its path, its
 * stat, the attributes wanted) and the list's sort, a few hundred bytes. An
 * eden collection costs about 1 ms however little is garbage (40 of them on
 * a kernel-tree noop pull at ENTRY_WORK), so charging the walk's figure here
 * collected four times too often.
 */
export const RECEIVED_ENTRY_WORK = 512;

const enabled = process.env.OC_RSYNC_GC_PACING !== "0";
let work = 0;
let heapAfterFull = 0;
let scheduled = false;

/**
 * Notes `units` of work done (bytes moved, or ENTRY_WORK per entry); collects when enough has piled up.
 *
 * The collection waits for the event loop's next turn: by then what was being
 * worked on is done with (a received chunk decoded and written out), so it is
 * garbage the eden collection frees, not a survivor it promotes to the old
 * generation, where only a full collection (about 10 ms with a kernel tree's
 * file list) gets it back. Collecting in the middle of a 512 KiB chunk
 * promoted about 2 MB each time and made every fifth collection a full one.
 * Where the loop does not turn for long (the two halves of a local copy talk
 * through promises alone), twice the work collects at once.
 */
export function noteWork(units: number): void {
  work += units;
  if (work < EDEN_EVERY || !enabled) return;
  if (work >= 2 * EDEN_EVERY) collect();
  else if (!scheduled) {
    scheduled = true;
    setImmediate(collectIfDue);
  }
}

function collectIfDue(): void {
  scheduled = false;
  if (work >= EDEN_EVERY) collect();
}

function collect(): void {
  work = 0;
  if (heapSize() > heapAfterFull + FULL_SLACK) {
    // Bun.gc(true) rather than jsc's fullGC: it also has the allocator give back the pages it freed.
    Bun.gc(true);
    heapAfterFull = heapSize();
  } else edenGC();
}
