/**
 * ByteWriter: rsync's primitive encodings (io.c write_*) appended to a
 * growable buffer. One writer is reused per output stream; `take()` hands
 * out the bytes written so far and starts over.
 */

const MAX_VSTRING = 0x7fff;
/** Up to this many bytes, bytesFrom copies in a loop rather than through a view. */
const SHORT_COPY = 64;

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  /** The end of what is written (the reserved prefix included). */
  length: number;
  private readonly scratch = new Uint8Array(8);
  private readonly scratchView = new DataView(this.scratch.buffer);

  /**
   * `reserved`: bytes kept free at the start for the owner to fill in just
   * before the buffer goes out (a multiplexing header), so framing needs no
   * copy. They are not part of what peek/take return.
   */
  constructor(
    initial = 4096,
    readonly reserved = 0,
  ) {
    this.buf = new Uint8Array(Math.max(initial, reserved + 1));
    this.view = new DataView(this.buf.buffer);
    this.length = reserved;
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** The bytes written since the last take/clear (a view: valid until the next write). */
  peek(): Uint8Array {
    return this.buf.subarray(this.reserved, this.length);
  }

  /** The reserved prefix followed by the bytes written (a view, valid until the next write; the owner may fill the prefix in). */
  raw(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** How many bytes were written since the last take/clear. */
  get size(): number {
    return this.length - this.reserved;
  }

  /** A copy of the bytes written, and the writer emptied. */
  take(): Uint8Array {
    const out = this.buf.slice(this.reserved, this.length);
    this.length = this.reserved;
    return out;
  }

  clear(): void {
    this.length = this.reserved;
  }

  u8(v: number): this {
    this.reserve(1);
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  /** shortint: unsigned 16-bit LE. */
  u16(v: number): this {
    this.reserve(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
    return this;
  }

  /** int: 32-bit LE (signed or unsigned input, same bits). */
  i32(v: number): this {
    this.reserve(4);
    this.view.setInt32(this.length, v | 0, true);
    this.length += 4;
    return this;
  }

  /** 64-bit LE from a JS number (exact below 2^53) or bigint. */
  i64(v: number | bigint): this {
    this.reserve(8);
    this.view.setBigInt64(this.length, BigInt(v), true);
    this.length += 8;
    return this;
  }

  /** longint: 4 bytes when 0..0x7fffffff, else ff ff ff ff + 8 bytes. */
  longint(v: number): this {
    if (v >= 0 && v <= 0x7fffffff) return this.i32(v);
    return this.i32(-1).i64(v);
  }

  bytes(data: Uint8Array): this {
    this.reserve(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
    return this;
  }

  /** bytes(data.subarray(start, end)) without the view: short runs (names) are copied byte by byte. */
  bytesFrom(data: Uint8Array, start: number, end = data.length): this {
    const n = end - start;
    if (n > SHORT_COPY) return this.bytes(data.subarray(start, end));
    this.reserve(n);
    const buf = this.buf;
    let at = this.length;
    for (let i = start; i < end; i++) buf[at++] = data[i]!;
    this.length = at;
    return this;
  }

  /** varint: a 32-bit value as a varlong with at least 1 byte. */
  varint(v: number): this {
    return this.varlong(v >>> 0, 1, 4);
  }

  /**
   * varlong(v, minBytes): the header byte carries the count of extra bytes
   * in its leading one-bits and the top value bits; then the low bytes LE.
   * `valueBytes` caps the width (4 for varint, 8 for varlong).
   */
  varlong(v: number, minBytes: number, valueBytes = 8): this {
    // Split into 32-bit halves without BigInt (hot path); works for negative safe integers too.
    const hi = Math.floor(v / 0x1_0000_0000);
    this.scratchView.setUint32(0, v - hi * 0x1_0000_0000, true);
    this.scratchView.setInt32(4, hi, true);
    const b = this.scratch;
    let n = valueBytes;
    while (n > minBytes && b[n - 1] === 0) n--;
    // b[n-1] is the top byte; it rides in the header if it fits below the marker bits.
    const top = b[n - 1]!;
    const extra = n - minBytes;
    this.reserve(n + 1);
    if (top >= 1 << (7 - extra)) {
      this.buf[this.length++] = (0xff << (8 - (extra + 1))) & 0xff;
    } else {
      this.buf[this.length++] = extra > 0 ? top | ((0xff << (8 - extra)) & 0xff) : top;
      n--;
    }
    // The low bytes, copied one by one: a view of the scratch per value cost more than the value.
    for (let i = 0; i < n; i++) this.buf[this.length++] = b[i]!;
    return this;
  }

  /** vstring: 1-byte length (< 0x80) or 2-byte big-endian length with the top bit set. */
  vstring(data: Uint8Array): this {
    if (data.length > MAX_VSTRING) throw new RangeError(`vstring too long (${data.length})`);
    if (data.length > 0x7f) this.u8(0x80 | (data.length >> 8)).u8(data.length & 0xff);
    else this.u8(data.length);
    return this.bytes(data);
  }
}
