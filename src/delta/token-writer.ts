/**
 * How a file's tokens go on the wire (token.c send_token): plain int32
 * tokens, or, with compression, the byte-flagged stream where literal data
 * travels as DEFLATED_DATA payloads and block numbers as (runs of) relative
 * or absolute tokens.
 */
import type { ByteWriter } from "../protocol/writer.ts";
import { Cpres, type Compression } from "../compress/choice.ts";
import { type CodecSettings, type LiteralCompressor, literalCompressor } from "../compress/literal-codecs.ts";

/** Upstream's CHUNK_SIZE: the longest literal token. */
export const CHUNK_SIZE = 32 * 1024;

export interface TokenWriter {
  /** Literal bytes at the file's current position. */
  literal(w: ByteWriter, bytes: Uint8Array): void;
  /** Block `index` of the receiver's basis; `bytes` is our matching data. */
  block(w: ByteWriter, index: number, bytes: Uint8Array): void;
  /** The file's data is over (its checksum follows). */
  end(w: ByteWriter): void;
}

/** simple_send_token: a literal run is its length then its bytes, a block is -(index + 1), the end is 0. */
class PlainTokenWriter implements TokenWriter {
  literal(w: ByteWriter, bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; at += CHUNK_SIZE) {
      const chunk = bytes.subarray(at, Math.min(bytes.length, at + CHUNK_SIZE));
      w.i32(chunk.length).bytes(chunk);
    }
  }

  block(w: ByteWriter, index: number): void {
    w.i32(-(index + 1));
  }

  end(w: ByteWriter): void {
    w.i32(0);
  }
}

/** Flag bytes of the compressed stream. */
export const TOKEN_FLAG = {
  END: 0x00,
  LONG: 0x20,
  RUN_LONG: 0x21,
  DATA: 0x40,
  REL: 0x80,
  RUN_REL: 0xc0,
} as const;

/** A file's first call (upstream's last_token == -1). */
const START = -3;
/** Literal data with no token after it yet (upstream's token -2). */
const LITERAL_ONLY = -2;
const END_OF_FILE = -1;
/** A run covers at most this many blocks after its first (a 16-bit count). */
const MAX_RUN = 65535;

/**
 * send_deflated_token's framing, shared by every algorithm: literal data is
 * compressed as it comes and flushed when a token or the end follows; block
 * numbers wait until the run they belong to is over, then go as one token
 * relative to the previous run's end (or absolute when too far).
 */
class CompressedTokenWriter implements TokenWriter {
  private lastToken = START;
  private runStart = 0;
  private lastRunEnd = 0;
  private flushPending = false;

  constructor(private readonly codec: LiteralCompressor) {}

  literal(w: ByteWriter, bytes: Uint8Array): void {
    if (bytes.byteLength > 0) this.step(w, LITERAL_ONLY, bytes);
  }

  block(w: ByteWriter, index: number, bytes: Uint8Array): void {
    this.step(w, index, EMPTY);
    this.codec.seeBlock(bytes);
  }

  end(w: ByteWriter): void {
    this.step(w, END_OF_FILE, EMPTY);
    w.u8(TOKEN_FLAG.END);
    this.lastToken = START;
  }

  /** One send_token call: `token` after `data` (LITERAL_ONLY: data only, END_OF_FILE: the end). */
  private step(w: ByteWriter, token: number, data: Uint8Array): void {
    if (this.lastToken === START) {
      this.codec.startFile();
      this.lastRunEnd = 0;
      this.runStart = token;
      this.flushPending = false;
    } else if (this.lastToken === LITERAL_ONLY) {
      this.runStart = token;
    } else if (data.byteLength > 0 || token !== this.lastToken + 1 || token > this.runStart + MAX_RUN) {
      this.writeRun(w);
      this.lastRunEnd = this.lastToken;
      this.runStart = token;
    }
    this.lastToken = token;
    if (data.byteLength > 0 || this.flushPending) {
      this.codec.compress(data, token !== LITERAL_ONLY, (payload) => {
        w.u8(TOKEN_FLAG.DATA | (payload.byteLength >> 8)).u8(payload.byteLength & 0xff).bytes(payload);
      });
      this.flushPending = token === LITERAL_ONLY;
    }
  }

  /** The blocks runStart..lastToken as one token. */
  private writeRun(w: ByteWriter): void {
    const rel = this.runStart - this.lastRunEnd;
    const count = this.lastToken - this.runStart;
    if (rel >= 0 && rel <= 63) {
      w.u8((count === 0 ? TOKEN_FLAG.REL : TOKEN_FLAG.RUN_REL) + rel);
    } else {
      w.u8(count === 0 ? TOKEN_FLAG.LONG : TOKEN_FLAG.RUN_LONG).i32(this.runStart);
    }
    if (count !== 0) w.u8(count & 0xff).u8(count >> 8);
  }
}

const EMPTY = new Uint8Array(0);

/** The token writer for a session: one per sending side, kept from file to file (zstd's stream spans them). */
export function tokenWriterFor(c: Compression, o: CodecSettings): TokenWriter {
  return c.alg === Cpres.NONE ? new PlainTokenWriter() : new CompressedTokenWriter(literalCompressor(c, o));
}
