/**
 * Synchronous streaming deflate, inflate and zstd over Bun's node:zlib
 * engines. The token stream needs what node:zlib's public API does not
 * offer: one long-lived stream fed piece by piece, flushed (Z_SYNC_FLUSH,
 * ZSTD_e_flush) at chosen points, and answered at once, in the same call.
 * Node's own `*Sync` functions drive the engine's handle (`writeSync`, with
 * the counts left in `_writeState`) exactly this way but end the stream
 * after one call; we drive the same handle ourselves and keep it open.
 *
 * Why these and not libz/libzstd linked into the Zig core: they are the same
 * C libraries, already inside the Bun executable, with no build step and no
 * system package; bench/micro/compress.ts measures the call overhead.
 * Errors come back through the handle's `onerror` (the engine is then
 * unusable), which we turn into exceptions.
 */
import zlib from "node:zlib";
import { noteWork } from "../io/memory-pacer.ts";

interface EngineHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
  onerror: (message: string, errno: number) => void;
}

interface Engine {
  _handle: EngineHandle | null;
  _writeState: Uint32Array;
  on(event: "error", listener: (e: Error) => void): void;
}

export const Z_NO_FLUSH = zlib.constants.Z_NO_FLUSH;
export const Z_SYNC_FLUSH = zlib.constants.Z_SYNC_FLUSH;
export const ZSTD_E_CONTINUE = zlib.constants.ZSTD_e_continue;
export const ZSTD_E_FLUSH = zlib.constants.ZSTD_e_flush;

const OUT_CHUNK = 64 * 1024;

/** One compression or decompression stream, fed synchronously. */
export class ZlibEngine {
  private readonly handle: EngineHandle;
  private readonly state: Uint32Array;
  private failure: string | null = null;
  private readonly out = new Uint8Array(OUT_CHUNK);
  /** The input being fed, how far the engine has taken it, and with which flush. */
  private input: Uint8Array = new Uint8Array(0);
  private inOff = 0;
  private flush = 0;
  /** The engine may hold more output for the current input. */
  private more = false;

  private constructor(engine: Engine, private readonly what: string) {
    if (!engine._handle) throw new Error(`${what}: no engine handle`);
    this.handle = engine._handle;
    this.state = engine._writeState;
    // Keep the stream machinery from closing the handle or emitting an unhandled error.
    this.handle.onerror = (message, errno) => (this.failure = `${message} (${errno})`);
    engine.on("error", () => {});
  }

  static deflateRaw(level: number): ZlibEngine {
    // windowBits 15 with the Raw class: no zlib header or trailer, rsync's deflateInit2(-15).
    return new ZlibEngine(zlib.createDeflateRaw({ level, memLevel: 8, windowBits: 15 }) as unknown as Engine, "deflate");
  }

  static inflateRaw(): ZlibEngine {
    return new ZlibEngine(zlib.createInflateRaw({ windowBits: 15 }) as unknown as Engine, "inflate");
  }

  static zstdCompress(level: number): ZlibEngine {
    const params = { [zlib.constants.ZSTD_c_compressionLevel]: level };
    return new ZlibEngine(zlib.createZstdCompress({ params }) as unknown as Engine, "zstd compress");
  }

  static zstdDecompress(): ZlibEngine {
    return new ZlibEngine(zlib.createZstdDecompress() as unknown as Engine, "zstd decompress");
  }

  /** deflateReset / inflateReset: a fresh stream with the same settings. */
  reset(): void {
    this.handle.reset();
  }

  /**
   * Feeds all of `input` with `flush` and returns everything the engine
   * produced. For a compressor, whose output is bounded by its input.
   */
  write(input: Uint8Array, flush: number): Uint8Array {
    this.feed(input, flush);
    const pieces: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const piece = this.pump();
      if (piece === null) return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, total);
      pieces.push(piece);
      total += piece.byteLength;
    }
  }

  /** Starts on `input`; `pump` then hands out the output a bounded piece at a time. */
  feed(input: Uint8Array, flush: number): void {
    this.input = input;
    this.inOff = 0;
    this.flush = flush;
    this.more = true;
  }

  /**
   * The next piece of output for the fed input (at most 64 KiB, a fresh
   * array the caller keeps), or null once the engine has given everything.
   * A decompressor's output is not bounded by its input (a few KiB of zstd
   * can stand for hundreds of MiB), so a receiver takes it piece by piece.
   */
  pump(): Uint8Array | null {
    while (this.more) {
      const inLen = this.input.byteLength - this.inOff;
      this.handle.writeSync(this.flush, this.input, this.inOff, inLen, this.out, 0, this.out.byteLength);
      if (this.failure !== null) throw new Error(`${this.what} failed: ${this.failure}`);
      const availOut = this.state[0]!;
      const availIn = this.state[1]!;
      this.inOff += inLen - availIn;
      // Room left in the output means the engine has nothing more for this input.
      if (availOut !== 0) {
        this.more = false;
        if (availIn !== 0) throw new Error(`${this.what} failed: data after the end of the stream`);
      }
      const produced = this.out.byteLength - availOut;
      if (produced > 0) {
        // A copy of just what was produced: the caller keeps it, the buffer is reused. Inflated data is several
        // times the bytes that came in (all the GC pacer sees of a -z transfer otherwise), so it counts too.
        noteWork(produced);
        return this.out.slice(0, produced);
      }
    }
    return null;
  }
}
