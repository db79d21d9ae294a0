/**
 * One reused ring of bytes that received file data is copied into, from the
 * moment it arrives until its file is written (by the FileWriter's worker, or
 * a flush of a large file).
 *
 * Without it a file's pieces were views of the chunks they arrived in, and a
 * socket's chunk is a fresh 512 KiB buffer: each small file queued for the
 * writer kept a whole chunk alive, and the GC pacer's eden collections
 * promoted those chunks to the old generation, where only a full collection
 * (about 10 ms with a kernel tree's file list) gets them back: a kernel pull
 * made 50-90 of those. Copied here, a chunk is garbage as soon as it is
 * decoded, and the copy costs less than the collections did.
 *
 * Pieces are held in segments, released in any order (a large file written
 * at once while smaller ones still wait in the queue); the space of the
 * oldest ones is reused once they are all released. When the ring has no
 * room (or a piece is too large for it) the caller keeps the piece itself,
 * as before.
 */

/** Most segments held at once (a small file is one or two). */
const SEGMENTS = 1 << 14;

export class WriteStaging {
  private ring: Uint8Array | null = null;
  /** Absolute byte positions (never wrapped): the next segment starts at `head`, the oldest held one at `tail`. */
  private head = 0;
  private tail = 0;
  /** Per segment (by id modulo SEGMENTS): where it ends (absolute, a skipped end of the ring included) and whether it is released. */
  private readonly ends = new Float64Array(SEGMENTS);
  private readonly released = new Uint8Array(SEGMENTS);
  /** Ids of the oldest held segment and of the next one. */
  private oldest = 0;
  private next = 0;

  constructor(private readonly size: number) {}

  /**
   * A copy of `data` in the ring, whose segment id is pushed onto `ids` (to
   * release it later); null, with nothing copied, when the ring has no room.
   */
  copy(data: Uint8Array, ids: number[]): Uint8Array | null {
    const len = data.length;
    const size = this.size;
    if (len === 0 || len > size >> 2 || this.next - this.oldest >= SEGMENTS) return null;
    let start = this.head;
    // A piece never wraps: the rest of the ring is skipped (and counted as this segment's).
    if ((start % size) + len > size) start += size - (start % size);
    if (start + len - this.tail > size) return null;
    this.ring ??= new Uint8Array(size);
    const at = start % size;
    const view = this.ring.subarray(at, at + len);
    view.set(data);
    const id = this.next++;
    this.ends[id % SEGMENTS] = start + len;
    this.released[id % SEGMENTS] = 0;
    this.head = start + len;
    ids.push(id);
    return view;
  }

  /** The segments in `ids` are no longer read: their space may be reused (once the older ones are released too). */
  release(ids: readonly number[]): void {
    for (const id of ids) if (id >= this.oldest && id < this.next) this.released[id % SEGMENTS] = 1;
    while (this.oldest < this.next && this.released[this.oldest % SEGMENTS]) {
      this.tail = this.ends[this.oldest % SEGMENTS]!;
      this.oldest++;
    }
    if (this.oldest === this.next) this.head = this.tail = 0;
  }
}
