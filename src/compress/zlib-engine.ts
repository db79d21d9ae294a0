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
import { cut, doneCutting, type Slab, SLAB_SIZE, takeSlab } from "./output-slabs.ts";

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
const EMPTY = new Uint8Array(0);
/** One compression or decompression stream, fed synchronously. */
export class ZlibEngine {
  private readonly handle: EngineHandle;
  private readonly state: Uint32Array;
  private failure: string | null = null;
  /** Scratch output: copied out for the caller, or dropped (`skip`). */
  private readonly out = new Uint8Array(OUT_CHUNK);
  /** The slab a decompressor's output goes into (see output-slabs.ts), and how far it is used. */
  private slab: Slab | null = null;
  private slabAt = 0;
  /** The input being fed, how far the engine has taken it, and with which flush. */
  private input: Uint8Array = EMPTY;
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
    for (let produced = this.step(this.out, 0); produced >= 0; produced = this.step(this.out, 0)) {
      if (produced === 0) continue;
      pieces.push(this.out.slice(0, produced));
      total += produced;
    }
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, total);
  }

  /** Starts on `input`; `pump` then hands out the output a bounded piece at a time. */
  feed(input: Uint8Array, flush: number): void {
    this.input = input;
    this.inOff = 0;
    this.flush = flush;
    this.more = true;
  }

  /**
   * The next piece of output for the fed input, or null once the engine has
   * given everything. A decompressor's output is not bounded by its input (a
   * few KiB of zstd can stand for hundreds of MiB), so a receiver takes it
   * piece by piece (at most 64 KiB). The piece is a view of a slab that is
   * not written again before the piece is given back (output-slabs.ts
   * giveBack); the caller may keep it as long as it likes until then.
   */
  pump(): Uint8Array | null {
    for (;;) {
      let slab = this.slab;
      if (slab === null || SLAB_SIZE - this.slabAt < OUT_CHUNK) {
        if (slab !== null) doneCutting(slab);
        slab = this.slab = takeSlab();
        this.slabAt = 0;
      }
      const at = this.slabAt;
      const produced = this.step(slab.bytes, at, OUT_CHUNK);
      if (produced < 0) return null;
      if (produced === 0) continue;
      this.slabAt = at + produced;
      return cut(slab, at, produced);
    }
  }

  /** Runs the fed input to its end, dropping the output; returns how many bytes it came to. */
  skip(): number {
    let total = 0;
    for (let produced = this.step(this.out, 0); produced >= 0; produced = this.step(this.out, 0)) total += produced;
    return total;
  }

  /**
   * One engine call with `most` bytes of `dest` from `at` as its output: how many bytes it put there, or -1 when the fed input had nothing
   * more to give.
   */
  private step(dest: Uint8Array, at: number, most = dest.byteLength - at): number {
    if (!this.more) return -1;
    const inLen = this.input.byteLength - this.inOff;
    const room = most;
    this.handle.writeSync(this.flush, this.input, this.inOff, inLen, dest, at, room);
    if (this.failure !== null) throw new Error(`${this.what} failed: ${this.failure}`);
    const availOut = this.state[0]!;
    const availIn = this.state[1]!;
    this.inOff += inLen - availIn;
    // Room left in the output means the engine has nothing more for this input.
    if (availOut !== 0) {
      this.more = false;
      if (availIn !== 0) throw new Error(`${this.what} failed: data after the end of the stream`);
    }
    return room - availOut;
  }
}

