/**
 * The streaming frame shared by MD4 and MD5: 64-byte blocks, a 4-word state,
 * and the final padding (0x80, zeros, 64-bit little-endian bit count).
 */
import type { Hasher } from "../api.ts";

/** Mixes the 64-byte block at `offset` of `block` into `state`. */
export type CompressFunction = (state: Int32Array, block: DataView, offset: number) => void;

export interface MdBlockHasherOptions {
  compress: CompressFunction;
  /** Initial state words A, B, C, D (identical for MD4 and MD5); copied, never written. */
  initialState: Int32Array;
  /**
   * rsync protocols < 27 finish MD4 "busted": an input that ends exactly on a
   * block boundary (including empty input) gets no padding block at all, and
   * the bit count keeps only its low 32 bits.
   */
  busted?: boolean;
}

const BLOCK_BYTES = 64;

export class MdBlockHasher implements Hasher {
  private readonly state: Int32Array;
  /** Bytes of an unfinished block; two blocks long because the padding may spill into a second. */
  private readonly pending = new Uint8Array(BLOCK_BYTES * 2);
  private readonly pendingView = new DataView(this.pending.buffer);
  private pendingBytes = 0;
  private totalBytes = 0;
  private finished = false;

  constructor(private readonly options: MdBlockHasherOptions) {
    this.state = options.initialState.slice();
  }

  update(data: Uint8Array): void {
    if (this.finished) throw new Error("hasher already digested");
    const { compress } = this.options;
    const length = data.byteLength;
    this.totalBytes += length;
    let offset = 0;

    if (this.pendingBytes > 0) {
      const take = Math.min(BLOCK_BYTES - this.pendingBytes, length);
      this.pending.set(data.subarray(0, take), this.pendingBytes);
      this.pendingBytes += take;
      offset = take;
      if (this.pendingBytes < BLOCK_BYTES) return;
      compress(this.state, this.pendingView, 0);
      this.pendingBytes = 0;
    }

    // Whole blocks straight from the caller's bytes: no copy.
    if (length - offset >= BLOCK_BYTES) {
      const view = new DataView(data.buffer, data.byteOffset, length);
      for (; offset + BLOCK_BYTES <= length; offset += BLOCK_BYTES) compress(this.state, view, offset);
    }

    if (offset < length) {
      this.pending.set(data.subarray(offset), 0);
      this.pendingBytes = length - offset;
    }
  }

  digest(): Uint8Array {
    if (this.finished) throw new Error("hasher already digested");
    this.finished = true;
    if (!(this.options.busted && this.pendingBytes === 0)) this.pad();

    const out = new Uint8Array(16);
    const view = new DataView(out.buffer);
    for (let i = 0; i < 4; i++) view.setInt32(i * 4, this.state[i]!, true);
    return out;
  }

  /** Appends 0x80, zeros and the bit count, and compresses the last one or two blocks. */
  private pad(): void {
    const { compress } = this.options;
    const used = this.pendingBytes;
    // The count needs 8 bytes after the 0x80 marker; else it spills into a second block.
    const paddedBytes = used < BLOCK_BYTES - 8 ? BLOCK_BYTES : BLOCK_BYTES * 2;
    this.pending.fill(0, used);
    this.pending[used] = 0x80;

    const bitsLow = (this.totalBytes * 8) % 4294967296;
    const bitsHigh = this.options.busted ? 0 : Math.floor((this.totalBytes * 8) / 4294967296);
    this.pendingView.setUint32(paddedBytes - 8, bitsLow, true);
    this.pendingView.setUint32(paddedBytes - 4, bitsHigh, true);

    for (let offset = 0; offset < paddedBytes; offset += BLOCK_BYTES) compress(this.state, this.pendingView, offset);
  }
}
