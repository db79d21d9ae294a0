/**
 * The literal data of a compressed token stream, one codec per algorithm
 * (token.c send_deflated_token / recv_deflated_token / see_deflate_token,
 * send_zstd_token / recv_zstd_token, send_compressed_token /
 * recv_compressed_token). The token framing around them is the same for all
 * and lives in ../delta/token-writer.ts and ../delta/token-reader.ts.
 */
import { protocolError, streamError } from "../errors.ts";
import { core, lz4CompressBound } from "../native/index.ts";
import { Cpres, type Compression } from "./choice.ts";
import { Z_NO_FLUSH, Z_SYNC_FLUSH, ZSTD_E_CONTINUE, ZSTD_E_FLUSH, ZlibEngine } from "./zlib-engine.ts";

/** The most bytes one DEFLATED_DATA item carries (14 bits of length). */
export const MAX_DATA_COUNT = 16383;

/** The sender's half: literal bytes in, DEFLATED_DATA payloads out. */
export interface LiteralCompressor {
  /** A file's data starts (deflate starts a fresh stream for each file). */
  startFile(): void;
  /**
   * Compresses `data` and hands out the payloads (each at most
   * MAX_DATA_COUNT bytes). With `flush`, what was compressed so far can be
   * decoded up to here: a token follows.
   */
  compress(data: Uint8Array, flush: boolean, emit: (payload: Uint8Array) => void): void;
  /** A matched block enters the compressor's history (zlib only). */
  seeBlock(bytes: Uint8Array): void;
}

/** The receiver's half: DEFLATED_DATA payloads in, literal bytes out. */
export interface LiteralDecompressor {
  /** A payload may be fed in pieces (a stream decoder), not only whole (LZ4's blocks). */
  readonly streaming: boolean;
  startFile(): void;
  /** Takes one payload, or the next piece of one (streaming); `drain` then gives its output so far. */
  feed(payload: Uint8Array): void;
  /** The next piece of output of what was fed, or null when there is no more. */
  drain(): Uint8Array | null;
  /** A token follows literal data: deflate's stripped sync marker goes back in. */
  dataEnded(): void;
  /** A block copied from the basis enters the history (zlib only). */
  seeBlock(bytes: Uint8Array): void;
}

/** Cuts a compressed stream's output into DEFLATED_DATA-sized payloads. */
function emitInPieces(out: Uint8Array, emit: (payload: Uint8Array) => void): void {
  for (let at = 0; at < out.byteLength; at += MAX_DATA_COUNT) emit(out.subarray(at, Math.min(out.byteLength, at + MAX_DATA_COUNT)));
}

/** A decompressing engine's next piece of output; what it fails on is a stream error (exit 12). */
function pumped(engine: ZlibEngine): Uint8Array | null {
  try {
    return engine.pump();
  } catch (e) {
    throw streamError((e as Error).message);
  }
}

/** The empty stored block a sync flush ends with; rsync leaves it off the wire. */
const SYNC_MARKER = Uint8Array.of(0, 0, 0xff, 0xff);
/** see_deflate_token feeds matched data as stored blocks of at most this many bytes. */
const STORED_BLOCK_MAX = 0xffff;

/**
 * zlib's history insertion splits a long block into 64 KiB pieces. Below
 * protocol 31 both sides repeat the first piece instead of moving on (an
 * upstream bug the protocol keeps).
 */
function* historyPieces(bytes: Uint8Array, protocol: number): Generator<Uint8Array> {
  let at = 0;
  for (let left = bytes.byteLength; left > 0; ) {
    const n = Math.min(left, STORED_BLOCK_MAX);
    yield bytes.subarray(at, at + n);
    left -= n;
    if (protocol >= 31) at += n;
  }
}

class DeflateCompressor implements LiteralCompressor {
  private readonly engine: ZlibEngine;

  constructor(
    level: number,
    private readonly withHistory: boolean,
    private readonly protocol: number,
  ) {
    this.engine = ZlibEngine.deflateRaw(level);
  }

  startFile(): void {
    this.engine.reset();
  }

  compress(data: Uint8Array, flush: boolean, emit: (payload: Uint8Array) => void): void {
    let out = this.engine.write(data, flush ? Z_SYNC_FLUSH : Z_NO_FLUSH);
    if (flush) {
      if (!endsWithSyncMarker(out)) throw streamError("deflate did not end its output with a sync marker");
      out = out.subarray(0, out.byteLength - SYNC_MARKER.byteLength);
    }
    emitInPieces(out, emit);
  }

  /**
   * Stock zlib has no Z_INSERT_ONLY: like upstream built against a system
   * zlib, the block is deflated with a sync flush and the output dropped.
   * The receiver rebuilds the same history from its own copy of the block.
   */
  seeBlock(bytes: Uint8Array): void {
    if (!this.withHistory) return;
    for (const piece of historyPieces(bytes, this.protocol)) this.engine.write(piece, Z_SYNC_FLUSH);
  }
}

function endsWithSyncMarker(out: Uint8Array): boolean {
  const n = out.byteLength;
  return n >= 4 && out[n - 4] === 0 && out[n - 3] === 0 && out[n - 2] === 0xff && out[n - 1] === 0xff;
}

class InflateDecompressor implements LiteralDecompressor {
  readonly streaming = true;
  private readonly engine = ZlibEngine.inflateRaw();

  constructor(
    private readonly withHistory: boolean,
    private readonly protocol: number,
  ) {}

  startFile(): void {
    this.engine.reset();
  }

  feed(payload: Uint8Array): void {
    this.engine.feed(payload, Z_NO_FLUSH);
  }

  drain(): Uint8Array | null {
    return pumped(this.engine);
  }

  dataEnded(): void {
    // All output was drained, so the inflater must be waiting for exactly the stripped marker.
    const out = this.run(SYNC_MARKER);
    if (out !== 0) throw streamError("decompressor lost sync!");
  }

  seeBlock(bytes: Uint8Array): void {
    if (!this.withHistory) return;
    const header = new Uint8Array(5);
    for (const piece of historyPieces(bytes, this.protocol)) {
      const n = piece.byteLength;
      header.set([0, n & 0xff, n >> 8, ~n & 0xff, (~n >> 8) & 0xff]);
      this.run(header);
      this.run(piece);
    }
  }

  /** Feeds `input` with a sync flush and drops the output; returns how many bytes came out. */
  private run(input: Uint8Array): number {
    this.engine.feed(input, Z_SYNC_FLUSH);
    try {
      return this.engine.skip();
    } catch (e) {
      throw streamError((e as Error).message);
    }
  }
}

/** One zstd frame for the whole connection, never reset and never ended. */
class ZstdCompressor implements LiteralCompressor {
  private readonly engine: ZlibEngine;

  constructor(level: number) {
    this.engine = ZlibEngine.zstdCompress(level);
  }

  startFile(): void {}

  compress(data: Uint8Array, flush: boolean, emit: (payload: Uint8Array) => void): void {
    emitInPieces(this.engine.write(data, flush ? ZSTD_E_FLUSH : ZSTD_E_CONTINUE), emit);
  }

  seeBlock(): void {}
}

class ZstdDecompressor implements LiteralDecompressor {
  readonly streaming = true;
  private readonly engine = ZlibEngine.zstdDecompress();

  startFile(): void {}

  feed(payload: Uint8Array): void {
    this.engine.feed(payload, ZSTD_E_CONTINUE);
  }

  drain(): Uint8Array | null {
    return pumped(this.engine);
  }

  dataEnded(): void {}
  seeBlock(): void {}
}

/**
 * Each payload an independent LZ4 block of at most MAX_DATA_COUNT input
 * bytes; input that would not fit compressed is halved and tried again.
 */
class Lz4Compressor implements LiteralCompressor {
  private readonly out = new Uint8Array(lz4CompressBound(MAX_DATA_COUNT));

  startFile(): void {}

  compress(data: Uint8Array, _flush: boolean, emit: (payload: Uint8Array) => void): void {
    for (let at = 0; at < data.byteLength; ) {
      let n = Math.min(MAX_DATA_COUNT, data.byteLength - at);
      let size = core.lz4Compress(data.subarray(at, at + n), this.out);
      while (size === 0 || size > MAX_DATA_COUNT) {
        n = n >> 1;
        size = core.lz4Compress(data.subarray(at, at + n), this.out);
      }
      emit(this.out.subarray(0, size));
      at += n;
    }
  }

  seeBlock(): void {}
}

/** upstream's output buffer: MAX(LZ4_compressBound(CHUNK_SIZE), MAX_DATA_COUNT+2). */
const LZ4_MAX_OUTPUT = Math.max(lz4CompressBound(32 * 1024), MAX_DATA_COUNT + 2);

class Lz4Decompressor implements LiteralDecompressor {
  readonly streaming = false;
  private payload: Uint8Array | null = null;

  startFile(): void {}

  feed(payload: Uint8Array): void {
    this.payload = payload;
  }

  drain(): Uint8Array | null {
    const payload = this.payload;
    if (payload === null) return null;
    this.payload = null;
    const out = new Uint8Array(LZ4_MAX_OUTPUT);
    const n = core.lz4Decompress(payload, out);
    if (n < 0) throw streamError(`uncompress failed: ${n}`);
    return out.subarray(0, n);
  }

  dataEnded(): void {}
  seeBlock(): void {}
}

export interface CodecSettings {
  protocol: number;
  /** A daemon module's "dont compress" holds "*": deflate stores (level 0), as upstream's per-file default then is. */
  storeOnly?: boolean;
}

export function literalCompressor(c: Compression, o: CodecSettings): LiteralCompressor {
  switch (c.alg) {
    case Cpres.ZLIB:
    case Cpres.ZLIBX:
      return new DeflateCompressor(o.storeOnly ? 0 : c.level, c.alg === Cpres.ZLIB, o.protocol);
    case Cpres.ZSTD:
      return new ZstdCompressor(c.level);
    case Cpres.LZ4:
      return new Lz4Compressor();
    case Cpres.NONE:
      throw protocolError("no compression in use");
  }
}

export function literalDecompressor(c: Compression, o: CodecSettings): LiteralDecompressor {
  switch (c.alg) {
    case Cpres.ZLIB:
    case Cpres.ZLIBX:
      return new InflateDecompressor(c.alg === Cpres.ZLIB, o.protocol);
    case Cpres.ZSTD:
      return new ZstdDecompressor();
    case Cpres.LZ4:
      return new Lz4Decompressor();
    case Cpres.NONE:
      throw protocolError("no compression in use");
  }
}
