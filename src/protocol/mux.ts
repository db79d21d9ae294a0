/**
 * Multiplexed I/O (io.c): every byte after setup_protocol travels in frames
 * of a 4-byte header (24-bit length, tag = MPLEX_BASE + message code) and a
 * payload. MSG_DATA payloads concatenate into the data stream; every other
 * code is an out-of-band message.
 */
import { streamError } from "../errors.ts";

export const MPLEX_BASE = 7;
export const MAX_FRAME = 0xffffff;
/** Upstream's BIGPATHBUFLEN, the buffer a text message is read into: one this long or longer is refused. */
export const MAX_MESSAGE = 5120;
/** MSG_SUCCESS between the halves of a local copy: the index, then the destination's device and inode. */
export const LOCAL_SUCCESS_LENGTH = 4 + 8 + 8;

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

/** The side reading the frames: what it may be sent, and how its errors name it. */
export interface FrameReader {
  /** Upstream's who_am_i() for the process reading, "/inc" appended under incremental recursion (asked when a frame is refused). */
  readerName(): string;
  /** A server: MSG_IO_TIMEOUT is for a client only. */
  readonly amServer: boolean;
  /** A half of a local copy: MSG_SUCCESS carries the destination's device and inode too. */
  readonly localCopy: boolean;
}

/** How read_a_msg words its refusal of a frame. */
type Refusal = "unexpected tag" | "invalid multi-message" | "multiplexing overflow";

/**
 * Why upstream's read_a_msg refuses a frame of `code` and `length` bytes, or
 * null if it takes it. What comes over the connection is read by a sender or
 * a receiver, never by a generator: the messages a receiver sends its own
 * generator through their pipe (MSG_REDO, MSG_STATS, MSG_LOG, ...) are
 * refused from the peer, whatever their length.
 */
function refusal(code: number, length: number, reader: FrameReader): Refusal | null {
  switch (code) {
    case MSG.DATA:
      return null;
    case MSG.INFO:
    case MSG.ERROR:
    case MSG.ERROR_XFER:
    case MSG.WARNING:
    case MSG.DELETED:
      return length >= MAX_MESSAGE ? "multiplexing overflow" : null;
    case MSG.IO_ERROR:
    case MSG.NO_SEND:
      return length === 4 ? null : "invalid multi-message";
    case MSG.IO_TIMEOUT:
      return length === 4 && !reader.amServer ? null : "invalid multi-message";
    case MSG.NOOP:
      return length === 0 ? null : "invalid multi-message";
    case MSG.ERROR_EXIT:
      return length === 0 || length === 4 ? null : "invalid multi-message";
    case MSG.SUCCESS:
      return length === (reader.localCopy ? LOCAL_SUCCESS_LENGTH : 4) ? null : "invalid multi-message";
    case MSG.STATS:
    case MSG.REDO:
    case MSG.ERROR_SOCKET:
    case MSG.ERROR_UTF8:
    case MSG.CLIENT:
    case MSG.LOG:
      return "invalid multi-message";
    default:
      return "unexpected tag";
  }
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

  constructor(
    private readonly handlers: DemuxHandlers,
    private readonly reader: FrameReader,
  ) {}

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
    // The tag is the top byte of a signed 32-bit word (io.c raw_read_int): from 0x80 on it is negative.
    const code = ((h[3]! << 24) >> 24) - MPLEX_BASE;
    const refused = refusal(code, length, this.reader);
    if (refused) {
      const what = refused === "unexpected tag" ? `${refused} ${code}` : `${refused} ${code}:${length}`;
      throw streamError(`${what} [${this.reader.readerName()}]`);
    }
    this.code = code;
    this.remaining = length;
    if (code === MSG.DATA) return;
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
