/**
 * The receiver's side of a file's tokens (token.c recv_token): plain int32
 * tokens, or the compressed stream that token-writer.ts describes.
 *
 * `read` takes one item of the stream and changes nothing until the item is
 * complete, so it can be retried after UNDERFLOW; what an item expands to (a
 * run of blocks, a payload's output) is handed out one step at a time
 * without reading more, so a payload that decompresses to hundreds of MiB
 * never sits in memory at once.
 */
import { protocolError } from "../errors.ts";
import type { ChunkReader } from "../protocol/reader.ts";
import { Cpres, type Compression } from "../compress/choice.ts";
import { type CodecSettings, type LiteralDecompressor, literalDecompressor } from "../compress/literal-codecs.ts";
import { CHUNK_SIZE, TOKEN_FLAG } from "./token-writer.ts";

/** `read`'s answer for the end of the file's data. */
export const TOKEN_END = -1;
/** `read`'s answer for literal bytes it appended to the caller's `pieces`. */
export const TOKEN_PIECES = -2;

export interface TokenReader {
  /**
   * Literal bytes, a block index (>= 0), or TOKEN_END. Given `pieces`, a
   * reader may instead append literal bytes there as they arrived (no copy)
   * and answer TOKEN_PIECES.
   */
  read(r: ChunkReader, pieces?: Uint8Array[]): Uint8Array | number;
  /** Protocol bytes the last `read` took from the stream. */
  readonly wireBytes: number;
  /** A block just copied from the basis (zlib puts it in the decompressor's history). */
  seeBlock(bytes: Uint8Array): void;
  /** Whether seeBlock wants the blocks at all (not for plain tokens). */
  readonly seesBlocks: boolean;
}

/**
 * simple_recv_token. A literal run is handed out CHUNK_SIZE bytes at a time
 * (its residue kept between reads), so one of any length (upstream 3.5.0
 * takes longer runs than it sends, e.g. acrosync's 64 KiB blocks) never sits
 * in memory at once.
 */
class PlainTokenReader implements TokenReader {
  wireBytes = 0;
  readonly seesBlocks = false;
  /** Bytes of the current literal run still to hand out. */
  private residue = 0;

  read(r: ChunkReader, pieces?: Uint8Array[]): Uint8Array | number {
    if (this.residue > 0) {
      const n = Math.min(CHUNK_SIZE, this.residue);
      const out = this.literal(r, n, pieces);
      this.residue -= n;
      this.wireBytes = n;
      return out;
    }
    const token = r.i32();
    if (token > 0) {
      const n = Math.min(CHUNK_SIZE, token);
      // Read whole before anything changes: an UNDERFLOW retries the token from its length.
      const out = this.literal(r, n, pieces);
      this.residue = token - n;
      this.wireBytes = 4 + n;
      return out;
    }
    this.wireBytes = 4;
    return token === 0 ? TOKEN_END : -(token + 1);
  }

  private literal(r: ChunkReader, n: number, pieces?: Uint8Array[]): Uint8Array | number {
    if (!pieces) return r.bytes(n);
    r.pieces(n, pieces);
    return TOKEN_PIECES;
  }

  seeBlock(): void {}
}

/** Upstream 3.4.3+ refuses block numbers beyond this. */
const MAX_TOKEN_INDEX = 0x7ffffffe;

const invalidToken = () => protocolError("invalid token number in compressed stream");

/** recv_deflated_token / recv_zstd_token / recv_compressed_token: the framing all algorithms share. */
class CompressedTokenReader implements TokenReader {
  wireBytes = 0;
  readonly seesBlocks = true;
  /** The last block handed out (relative tokens count from it); 0 at a file's start. */
  private lastBlock = 0;
  /** Blocks of the current run still to hand out. */
  private runLeft = 0;
  /** A payload's output is still being handed out. */
  private draining = false;
  /** Literal data came since the last token (deflate then expects its sync marker back). */
  private afterData = false;
  private atFileStart = true;
  /** The current payload as it arrived (one piece or several), and how many of its pieces the codec has had. */
  private readonly payload: Uint8Array[] = [];
  private fed = 0;

  constructor(private readonly codec: LiteralDecompressor) {}

  read(r: ChunkReader): Uint8Array | number {
    this.wireBytes = 0;
    if (this.draining) {
      const out = this.drain();
      if (out !== null) return out;
      this.draining = false;
    }
    if (this.runLeft > 0) {
      if (this.lastBlock >= MAX_TOKEN_INDEX) throw invalidToken();
      this.runLeft--;
      return ++this.lastBlock;
    }
    if (this.atFileStart) {
      this.codec.startFile();
      this.lastBlock = 0;
      this.atFileStart = false;
    }
    const flag = r.u8();
    if ((flag & 0xc0) === TOKEN_FLAG.DATA) {
      const n = ((flag & 0x3f) << 8) | r.u8();
      // Views, not copies (received chunks are never reused): a stream decoder takes the payload in the
      // pieces it arrived in, where one whole array would be a copy whenever it straddles two frames.
      const payload = this.payload;
      payload.length = 0;
      if (this.codec.streaming) r.pieces(n, payload);
      else payload.push(r.bytes(n));
      this.wireBytes = 2 + n;
      this.codec.feed(payload[0] ?? EMPTY);
      this.fed = 1;
      this.afterData = true;
      this.draining = true;
      // An empty answer when the payload held no output yet: the caller just reads on.
      return this.drain() ?? EMPTY;
    }
    if (flag === TOKEN_FLAG.END) {
      this.wireBytes = 1;
      this.endOfData();
      this.atFileStart = true;
      return TOKEN_END;
    }
    return this.token(r, flag);
  }

  /** The payload's next piece of output, feeding the codec the payload's next piece as needed; null once it has given all. */
  private drain(): Uint8Array | null {
    for (;;) {
      const out = this.codec.drain();
      if (out !== null || this.fed >= this.payload.length) return out;
      this.codec.feed(this.payload[this.fed++]!);
    }
  }

  /** A block token: read whole, then the data before it is closed off and the numbers checked. */
  private token(r: ChunkReader, flag: number): number {
    const relative = (flag & TOKEN_FLAG.REL) !== 0;
    if (!relative && flag !== TOKEN_FLAG.LONG && flag !== TOKEN_FLAG.RUN_LONG) throw protocolError(`invalid flag byte 0x${flag.toString(16)} in compressed stream`);
    const absolute = relative ? 0 : r.i32();
    const isRun = relative ? (flag & 0x40) !== 0 : flag === TOKEN_FLAG.RUN_LONG;
    const run = isRun ? r.u16() : 0;
    this.wireBytes = 1 + (relative ? 0 : 4) + (isRun ? 2 : 0);
    this.endOfData();
    let block: number;
    if (relative) {
      const step = flag & 0x3f;
      if (this.lastBlock > MAX_TOKEN_INDEX - step) throw invalidToken();
      block = this.lastBlock + step;
    } else {
      if (absolute < 0 || absolute > MAX_TOKEN_INDEX) throw invalidToken();
      block = absolute;
    }
    if (isRun && (run <= 0 || block > MAX_TOKEN_INDEX - run)) throw invalidToken();
    this.lastBlock = block;
    this.runLeft = run;
    return block;
  }

  private endOfData(): void {
    if (!this.afterData) return;
    this.afterData = false;
    this.codec.dataEnded();
  }

  seeBlock(bytes: Uint8Array): void {
    this.codec.seeBlock(bytes);
  }
}

const EMPTY = new Uint8Array(0);

/** The token reader for a session: one per receiving side (a zstd stream spans files). */
export function tokenReaderFor(c: Compression, o: CodecSettings): TokenReader {
  return c.alg === Cpres.NONE ? new PlainTokenReader() : new CompressedTokenReader(literalDecompressor(c, o));
}
