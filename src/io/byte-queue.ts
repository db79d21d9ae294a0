/**
 * A FIFO of bytes in fixed-size chunks that are recycled: where the Output
 * keeps what the channel could not take yet. Bytes are copied in (the
 * writer's buffer is reused at once) but no memory is allocated per write,
 * so a connection that stays backed up for a whole transfer costs a memcpy
 * per byte, not a fresh buffer (and its collection) per flush.
 */

/** Bytes per chunk: one channel write takes at most this much. */
const CHUNK = 256 * 1024;
/** Empty chunks kept for reuse (more are left to the collector). */
const SPARE_CHUNKS = 4;

export class ByteQueue {
  private readonly chunks: Uint8Array[] = [];
  private readonly spare: Uint8Array[] = [];
  /** Read position in chunks[0]. */
  private head = 0;
  /** Write position in the last chunk. */
  private tail = 0;
  /** Bytes queued. */
  length = 0;

  /** Copies `bytes` in at the end. */
  push(bytes: Uint8Array): void {
    let from = 0;
    while (from < bytes.length) {
      if (this.chunks.length === 0 || this.tail === CHUNK) {
        this.chunks.push(this.spare.pop() ?? new Uint8Array(CHUNK));
        this.tail = 0;
      }
      const n = Math.min(CHUNK - this.tail, bytes.length - from);
      this.chunks[this.chunks.length - 1]!.set(bytes.subarray(from, from + n), this.tail);
      this.tail += n;
      from += n;
    }
    this.length += bytes.length;
  }

  /** The next bytes in order, as one contiguous view (valid until the next push or consume). */
  peek(): Uint8Array {
    if (this.length === 0) return new Uint8Array(0);
    const first = this.chunks[0]!;
    return first.subarray(this.head, this.chunks.length === 1 ? this.tail : CHUNK);
  }

  /** Drops the first `n` bytes (at most what peek returned). */
  consume(n: number): void {
    this.head += n;
    this.length -= n;
    if (this.length === 0) {
      // Keep one chunk in place for the next push; the rest go back to the spares.
      while (this.chunks.length > 1) this.recycle(this.chunks.pop()!);
      this.head = 0;
      this.tail = 0;
      return;
    }
    if (this.head === CHUNK) {
      this.recycle(this.chunks.shift()!);
      this.head = 0;
    }
  }

  private recycle(chunk: Uint8Array): void {
    if (this.spare.length < SPARE_CHUNKS) this.spare.push(chunk);
  }
}
