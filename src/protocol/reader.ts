/**
 * ChunkReader: rsync's primitive decodings (io.c read_*) over a queue of
 * received chunks, synchronously.
 *
 * Decoders never wait: when the bytes of an item have not all arrived they
 * throw UNDERFLOW, the caller rewinds to the item's start (`mark`/`rewind`)
 * and tries again when more data is in. So a whole network chunk is decoded
 * in one synchronous pass, and a protocol loop awaits once per chunk, not
 * once per field (see Input.loop in ../io/input.ts).
 *
 * Chunks are kept as received; bytes are copied only when an item straddles
 * two chunks.
 */
import { type RsyncError, streamError } from "../errors.ts";

/** Thrown (as a value, not an Error: it is control flow) when an item is incomplete. */
export const UNDERFLOW: unique symbol = Symbol("underflow");

const EMPTY = new Uint8Array(0);
/** At most this many unconsumed bytes are copied out before a wait (settle); an item larger than that keeps its chunks. */
const SETTLE_MAX = 16 << 10;

export class ChunkReader {
  private buf: Uint8Array = EMPTY;
  private view: DataView<ArrayBufferLike> = new DataView(EMPTY.buffer);
  private pos = 0;
  private markPos = 0;
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  /** The buffer settle() made last: already our own, nothing to copy out of. */
  private settled: Uint8Array = EMPTY;
  /** No more chunks will come; running out is then an error, not an underflow. */
  ended = false;
  /** Bytes consumed so far (for "N bytes received so far" and stats). */
  consumedBefore = 0;
  /** Who reads, as the closed connection's message names it (who_am_i): the sending side sets "sender". */
  role = "receiver";

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
  }

  get available(): number {
    return this.buf.length - this.pos + this.queued;
  }

  get consumed(): number {
    return this.consumedBefore + this.pos;
  }

  /** What running out of bytes after the end is (io.c's wording); `cause` is the connection's error, when it had one. */
  closedError(cause?: string): RsyncError {
    return streamError(`rsync: connection unexpectedly closed (${this.consumed} bytes received so far) [${this.role}]${cause ? `: ${cause}` : ""}`);
  }

  /** Remember the current position as the start of an item. */
  mark(): void {
    this.markPos = this.pos;
  }

  /** Go back to the last mark (after an UNDERFLOW). */
  rewind(): void {
    this.pos = this.markPos;
  }

  /** Makes buf[pos, pos+n) contiguous, keeping bytes from the mark on (a rewind may need them). */
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.available < n) {
      if (this.ended) throw this.closedError();
      throw UNDERFLOW;
    }
    const keepFrom = Math.min(this.markPos, this.pos);
    const kept = this.buf.length - keepFrom;
    const needAfterKept = this.pos + n - this.buf.length;
    if (kept === 0 && this.queue[0]!.length >= needAfterKept) {
      // The common case: just move on to the next chunk, no copy.
      const next = this.queue.shift()!;
      this.queued -= next.length;
      this.moveTo(next, keepFrom);
      return;
    }
    let take = 0;
    for (let size = 0; size < needAfterKept; ) size += this.queue[take++]!.length;
    this.moveTo(this.joined(keepFrom, take), keepFrom);
  }

  /** buf's bytes from `keepFrom` on and the first `take` queued chunks (taken off the queue), in one new array. */
  private joined(keepFrom: number, take: number): Uint8Array {
    const kept = this.buf.length - keepFrom;
    let size = kept;
    for (let i = 0; i < take; i++) size += this.queue[i]!.length;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(keepFrom), 0);
    let at = kept;
    for (const chunk of this.queue.splice(0, take)) {
      next.set(chunk, at);
      at += chunk.length;
    }
    this.queued -= size - kept;
    return next;
  }

  /** Reads on in `next`, which starts with buf's bytes from `keepFrom` on (positions move back by that much). */
  private moveTo(next: Uint8Array, keepFrom: number): void {
    this.consumedBefore += keepFrom;
    this.pos -= keepFrom;
    this.markPos -= keepFrom;
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  u8(): number {
    if (this.pos >= this.buf.length) this.ensure(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.ensure(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  i32(): number {
    this.ensure(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u32(): number {
    return this.i32() >>> 0;
  }

  /** A 64-bit LE value as a number (exact below 2^53; larger values lose precision, callers bound them). */
  i64(): number {
    this.ensure(8);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getInt32(this.pos + 4, true);
    this.pos += 8;
    return hi * 0x1_0000_0000 + lo;
  }

  longint(): number {
    const v = this.i32();
    return v === -1 ? this.i64() : v;
  }

  /** n bytes: a view when they lie in one chunk, else a copy. Valid as long as the caller keeps it. */
  bytes(n: number): Uint8Array {
    if (n === 0) return EMPTY;
    this.ensure(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** n bytes copied into dest at `at`, without a view of them (a file-list name's suffix, into the decoder's buffer). */
  readInto(dest: Uint8Array, at: number, n: number): void {
    if (n === 0) return;
    this.ensure(n);
    const buf = this.buf;
    const p = this.pos;
    if (n > 64) dest.set(buf.subarray(p, p + n), at);
    else for (let i = 0; i < n; i++) dest[at + i] = buf[p + i]!;
    this.pos = p + n;
  }

  /**
   * n bytes appended to `out` as the pieces they arrived in, without copying
   * (a literal token's payload, which would otherwise be joined into a new
   * buffer whenever it straddles two frames). It must be the item's last
   * read: once it moves past a chunk, a rewind cannot go back before it.
   */
  pieces(n: number, out: Uint8Array[]): void {
    if (this.available < n) {
      if (this.ended) throw this.closedError();
      throw UNDERFLOW;
    }
    for (let left = n; left > 0; ) {
      if (this.pos === this.buf.length) {
        const next = this.queue.shift()!;
        this.queued -= next.length;
        this.consumedBefore += this.buf.length;
        this.buf = next;
        this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
        this.pos = this.markPos = 0;
      }
      const take = Math.min(this.buf.length - this.pos, left);
      out.push(this.buf.subarray(this.pos, this.pos + take));
      this.pos += take;
      left -= take;
    }
  }

  varint(): number {
    const v = this.varlong(1, 4);
    return v | 0;
  }

  /** See ByteWriter.varlong. `valueBytes` is 4 for varint, 8 for varlong. */
  varlong(minBytes: number, valueBytes = 8): number {
    this.ensure(minBytes);
    const header = this.buf[this.pos]!;
    const extra = Math.min(leadingOnes(header), 6);
    if (minBytes + extra > valueBytes + 1) {
      throw streamError(`Overflow in read_var${valueBytes === 4 ? "int" : "long"}`);
    }
    this.ensure(minBytes + extra);
    const b = this.buf;
    let p = this.pos + 1;
    // Value bytes LE: the minBytes-1 that follow the header, then the extra ones, then the header's own bits.
    let value = 0;
    let scale = 1;
    const count = minBytes - 1 + extra;
    for (let i = 0; i < count; i++) {
      value += b[p++]! * scale;
      scale *= 256;
    }
    const top = header & ((1 << (8 - extra)) - 1);
    if (count < valueBytes) value += top * scale;
    this.pos = p;
    // Eight value bytes are an int64 (negative mtimes use all eight).
    if (valueBytes === 8 && count >= 8) {
      const lo = this.view.getUint32(p - 8, true);
      const hi = this.view.getInt32(p - 4, true);
      return hi * 0x1_0000_0000 + lo;
    }
    return value;
  }

  /** vstring with a maximum length (upstream bounds every one it reads). */
  vstring(max: number): Uint8Array {
    let len = this.u8();
    if (len & 0x80) len = ((len & 0x7f) << 8) | this.u8();
    if (len > max) throw streamError(`over-long vstring received (${len} > ${max})`);
    return this.bytes(len);
  }

  /**
   * Before a wait for input: the few bytes left over (the start of an item
   * that has not all arrived) are copied out of the chunks they lie in, so
   * that nothing holds those chunks while we wait. A socket's chunk is a
   * fresh 512 KiB buffer; held across a collection it would be promoted and
   * then need a full one (see ../io/memory-pacer.ts). Views handed out
   * before stay valid: nothing is overwritten, the reader only moves on.
   */
  settle(): void {
    const keepFrom = Math.min(this.markPos, this.pos);
    const kept = this.buf.length - keepFrom;
    if (kept + this.queued > SETTLE_MAX || (this.buf === this.settled && keepFrom === 0 && this.queue.length === 0)) return;
    this.settled = this.joined(keepFrom, this.queue.length);
    this.moveTo(this.settled, keepFrom);
  }

  /** Consumes everything buffered (used when a stream switches mode). */
  drain(): Uint8Array[] {
    const rest = [this.buf.subarray(this.pos), ...this.queue].filter((c) => c.length > 0);
    this.consumedBefore += this.buf.length;
    for (const c of this.queue) this.consumedBefore += c.length;
    this.buf = EMPTY;
    this.view = new DataView(EMPTY.buffer);
    this.pos = this.markPos = 0;
    this.queue.length = 0;
    this.queued = 0;
    return rest;
  }
}

function leadingOnes(byte: number): number {
  let n = 0;
  while (n < 8 && byte & (0x80 >> n)) n++;
  return n;
}
