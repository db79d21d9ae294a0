/**
 * File indexes on the wire (io.c write_ndx/read_ndx). Protocol 30+ encodes
 * each index as a difference from the previous one of the same sign, so the
 * codec is stateful: one encoder per output stream, one decoder per input
 * stream, for the whole connection. Older protocols send plain int32s.
 */
import { protocolError } from "../errors.ts";
import type { ChunkReader } from "./reader.ts";
import type { ByteWriter } from "./writer.ts";
import type { WireOrder } from "../flist/wire-order.ts";

export const NDX_DONE = -1;
export const NDX_FLIST_EOF = -2;
export const NDX_DEL_STATS = -3;
export const NDX_FLIST_OFFSET = -101;

export class NdxEncoder {
  private prevPositive = -1;
  private prevNegative = 1;
  /** --iconv: rows go out as their transmission indexes. */
  order: WireOrder | null = null;

  constructor(private readonly protocol: number) {}

  write(w: ByteWriter, ndx: number): void {
    if (ndx >= 0 && this.order) ndx = this.order.toWire(ndx);
    if (this.protocol < 30) {
      w.i32(ndx);
      return;
    }
    if (ndx === NDX_DONE) {
      w.u8(0);
      return;
    }
    let value: number;
    let diff: number;
    if (ndx >= 0) {
      value = ndx;
      diff = value - this.prevPositive;
      this.prevPositive = value;
    } else {
      value = -ndx;
      diff = value - this.prevNegative;
      this.prevNegative = value;
      w.u8(0xff);
    }
    if (diff > 0 && diff < 0xfe) {
      w.u8(diff);
    } else if (diff >= 0 && diff <= 0x7fff) {
      w.u8(0xfe).u8(diff >> 8).u8(diff & 0xff);
    } else {
      w.u8(0xfe)
        .u8(0x80 | (value >>> 24))
        .u8(value & 0xff)
        .u8((value >>> 8) & 0xff)
        .u8((value >>> 16) & 0xff);
    }
  }
}

export class NdxDecoder {
  private prevPositive = -1;
  private prevNegative = 1;
  /** --iconv: transmission indexes come back as rows. */
  order: WireOrder | null = null;

  constructor(private readonly protocol: number) {}

  /** The decoding state, to put back when an item that began with an index must be read again. */
  save(): [number, number] {
    return [this.prevPositive, this.prevNegative];
  }

  restore(state: [number, number]): void {
    [this.prevPositive, this.prevNegative] = state;
  }

  /**
   * Reads one index. The state only changes once the whole index was read,
   * so an UNDERFLOW part-way leaves the decoder as it was; a caller whose item
   * goes on after the index must save() and restore() around it.
   */
  read(r: ChunkReader): number {
    if (this.protocol < 30) {
      const ndx = r.i32();
      return ndx >= 0 && this.order ? this.order.toRow(ndx) : ndx;
    }
    let b = r.u8();
    if (b === 0) return NDX_DONE;
    const negative = b === 0xff;
    if (negative) b = r.u8();
    const prev = negative ? this.prevNegative : this.prevPositive;
    let value: number;
    if (b === 0xfe) {
      const b1 = r.u8();
      const b2 = r.u8();
      if (b1 & 0x80) {
        const b3 = r.u8();
        const b4 = r.u8();
        value = ((b1 & 0x7f) << 24) | b2 | (b3 << 8) | (b4 << 16);
      } else {
        value = ((b1 << 8) | b2) + prev;
      }
    } else {
      value = b + prev;
    }
    if (negative) this.prevNegative = value;
    else this.prevPositive = value;
    if (value < 0) throw protocolError(`Invalid file index ${value} received`);
    if (negative) return -value;
    return this.order ? this.order.toRow(value) : value;
  }
}
