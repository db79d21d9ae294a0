/**
 * Multiplexed I/O (io.c): every byte after setup_protocol travels in frames
 * of a 4-byte header (24-bit length, tag = MPLEX_BASE + message code) and a
 * payload. MSG_DATA payloads concatenate into the data stream; every other
 * code is an out-of-band message.
 */
import { streamError } from "../errors.ts";

export const MPLEX_BASE = 7;
export const MAX_FRAME = 0xffffff;
/** Upstream's BIGPATHBUFLEN: a longer non-data message is a protocol error. */
export const MAX_MESSAGE = 5120;

export const MSG = {
  DATA: 0,
  ERROR_XFER: 1,
  INFO: 2,
  ERROR: 3,
  WARNING: 4,
  ERROR_SOCKET: 5,
  LOG: 6,
  CLIENT: 7,
  ERROR_UTF8: 8,
  REDO: 9,
  STATS: 10,
  IO_ERROR: 22,
  IO_TIMEOUT: 33,
  NOOP: 42,
  ERROR_EXIT: 86,
  SUCCESS: 100,
  DELETED: 101,
  NO_SEND: 102,
} as const;

const KNOWN_CODES: ReadonlySet<number> = new Set(Object.values(MSG));

export function frameHeader(code: number, length: number): Uint8Array {
  const h = new Uint8Array(4);
  writeFrameHeader(h, 0, code, length);
  return h;
}

export function writeFrameHeader(target: Uint8Array, at: number, code: number, length: number): void {
  target[at] = length & 0xff;
  target[at + 1] = (length >>> 8) & 0xff;
  target[at + 2] = (length >>> 16) & 0xff;
  target[at + 3] = MPLEX_BASE + code;
}

export interface DemuxHandlers {
  /** A piece of the data stream (a view into the received chunk). */
  data(payload: Uint8Array): void;
  /** A complete out-of-band message. */
  message(code: number, payload: Uint8Array): void;
}

/**
 * Splits raw received chunks into data and messages. Headers and message
 * payloads may straddle chunks; data payloads are forwarded piecewise as they
 * arrive, without copying.
 */
export class Demultiplexer {
  private header = new Uint8Array(4);
  private headerHave = 0;
  private code = 0;
  private remaining = 0;
  private message: Uint8Array | null = null;
  private messageHave = 0;

  constructor(private readonly handlers: DemuxHandlers) {}

  /** True between frames (nothing partial pending). */
  get atFrameBoundary(): boolean {
    return this.headerHave === 0 && this.remaining === 0;
  }

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining === 0 && this.message === null) {
        // Collect a header.
        const take = Math.min(4 - this.headerHave, chunk.length - at);
        this.header.set(chunk.subarray(at, at + take), this.headerHave);
        this.headerHave += take;
        at += take;
        if (this.headerHave < 4) return;
        this.headerHave = 0;
        this.startFrame();
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - at);
      const piece = chunk.subarray(at, at + take);
      at += take;
      this.remaining -= take;
      if (this.message === null) {
        this.handlers.data(piece);
      } else {
        this.message.set(piece, this.messageHave);
        this.messageHave += take;
        if (this.remaining === 0) this.finishMessage();
      }
    }
  }

  private startFrame(): void {
    const h = this.header;
    const length = h[0]! | (h[1]! << 8) | (h[2]! << 16);
    const code = h[3]! - MPLEX_BASE;
    if (!KNOWN_CODES.has(code)) throw streamError(`unexpected tag ${code} [multiplexed input]`);
    this.code = code;
    this.remaining = length;
    if (code === MSG.DATA) return;
    if (length > MAX_MESSAGE) throw streamError(`multiplexing overflow ${code}:${length}`);
    this.message = new Uint8Array(length);
    this.messageHave = 0;
    if (length === 0) this.finishMessage();
  }

  private finishMessage(): void {
    const payload = this.message!;
    this.message = null;
    this.handlers.message(this.code, payload);
  }
}
