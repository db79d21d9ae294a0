/**
 * XXH3-64 and XXH3-128 (xxHash's doc/xxhash_spec.md) with a 64-bit seed:
 * one-shot, and streaming with the same results.
 */
import type { Hasher } from "../api.ts";
import { U64, type ReadonlyU64, type U128 } from "./u64.ts";
import { xxh3Small128, xxh3Small64 } from "./xxh3-small.ts";
import { xxh3Medium128, xxh3Medium64 } from "./xxh3-medium.ts";
import { STRIPE_BYTES, Xxh3Accumulator } from "./xxh3-long.ts";
import { secretForSeed } from "./xxh3-secret.ts";

/** Inputs up to this size take the small/medium paths, which see the whole input at once. */
const MEDIUM_MAX_BYTES = 240;

type Width = 64 | 128;

function shortResult(width: Width, input: DataView, seed: ReadonlyU64): U64 | U128 {
  if (width === 64) return input.byteLength <= 16 ? xxh3Small64(input, seed) : xxh3Medium64(input, seed);
  return input.byteLength <= 16 ? xxh3Small128(input, seed) : xxh3Medium128(input, seed);
}

function finishLong(width: Width, acc: Xxh3Accumulator, view: DataView, lastStripe: number, total: number): U64 | U128 {
  return width === 64 ? acc.finish64(view, lastStripe, total) : acc.finish128(view, lastStripe, total);
}

/** Wire bytes: the 64-bit value little-endian; a 128-bit value as low half LE then high half LE. */
function wireBytes(result: U64 | U128): Uint8Array {
  if (result instanceof U64) {
    const out = new Uint8Array(8);
    result.writeLE(new DataView(out.buffer), 0);
    return out;
  }
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  result.low.writeLE(view, 0);
  result.high.writeLE(view, 8);
  return out;
}

function xxh3OneShot(width: Width, data: Uint8Array, seed: ReadonlyU64): Uint8Array {
  const length = data.byteLength;
  const view = new DataView(data.buffer, data.byteOffset, length);
  if (length <= MEDIUM_MAX_BYTES) return wireBytes(shortResult(width, view, seed));
  const acc = new Xxh3Accumulator(secretForSeed(seed));
  acc.consumeStripes(view, 0, Math.floor((length - 1) / STRIPE_BYTES));
  return wireBytes(finishLong(width, acc, view, length - STRIPE_BYTES, length));
}

export function xxh3Hash64(data: Uint8Array, seed: ReadonlyU64): Uint8Array {
  return xxh3OneShot(64, data, seed);
}

export function xxh3Hash128(data: Uint8Array, seed: ReadonlyU64): Uint8Array {
  return xxh3OneShot(128, data, seed);
}

/** Bytes held back between updates (at least the last stripe's worth must stay available). */
const HELD_BYTES = 256;
/** Room before the held bytes for the 64 bytes consumed just before them: the last stripe may reach back into them. */
const HISTORY_BYTES = STRIPE_BYTES;

/**
 * Streaming XXH3. Input is held until it is known to be more than 240 bytes
 * (the short paths need it whole); from then on every stripe is accumulated
 * as soon as at least one more byte has arrived after it, which is exactly
 * the set of stripes the one-shot path accumulates (see xxh3-long.ts).
 */
class Xxh3Hasher implements Hasher {
  private readonly seed: ReadonlyU64;
  private readonly accumulator: Xxh3Accumulator;
  /**
   * [64, 64 + heldBytes): bytes not yet accumulated. [0, 64): the last 64 bytes
   * accumulated from this buffer, which the final stripe reaches back into
   * when fewer than 64 bytes are held.
   */
  private readonly held = new Uint8Array(HISTORY_BYTES + HELD_BYTES);
  private readonly heldView = new DataView(this.held.buffer);
  private heldBytes = 0;
  private totalBytes = 0;

  constructor(
    private readonly width: Width,
    seed: ReadonlyU64,
  ) {
    this.seed = U64.copy(seed);
    this.accumulator = new Xxh3Accumulator(secretForSeed(seed));
  }

  update(data: Uint8Array): void {
    const length = data.byteLength;
    this.totalBytes += length;
    if (this.heldBytes + length <= HELD_BYTES) {
      this.held.set(data, HISTORY_BYTES + this.heldBytes);
      this.heldBytes += length;
      return;
    }

    // More arrives than can be held, so the full held buffer is followed by
    // at least one byte: all four of its stripes are ordinary.
    let offset = HELD_BYTES - this.heldBytes;
    this.held.set(data.subarray(0, offset), HISTORY_BYTES + this.heldBytes);
    this.accumulator.consumeStripes(this.heldView, HISTORY_BYTES, HELD_BYTES / STRIPE_BYTES);
    this.held.copyWithin(0, HELD_BYTES, HELD_BYTES + HISTORY_BYTES);

    // Stripes straight from the caller's bytes, leaving 193..256 of them to
    // hold: enough that the last stripe cannot reach back into the history.
    const remaining = length - offset;
    if (remaining > HELD_BYTES) {
      const stripes = Math.ceil((remaining - HELD_BYTES) / STRIPE_BYTES);
      this.accumulator.consumeStripes(new DataView(data.buffer, data.byteOffset, length), offset, stripes);
      offset += stripes * STRIPE_BYTES;
    }
    this.held.set(data.subarray(offset), HISTORY_BYTES);
    this.heldBytes = length - offset;
  }

  /** Does not change the state, so it may be called again after more updates. */
  digest(): Uint8Array {
    const { width, heldBytes, heldView } = this;
    if (this.totalBytes <= MEDIUM_MAX_BYTES) {
      const input = new DataView(this.held.buffer, HISTORY_BYTES, heldBytes);
      return wireBytes(shortResult(width, input, this.seed));
    }
    // heldBytes ≥ 1 here: every update that accumulates leaves some bytes held.
    const acc = this.accumulator.copy();
    acc.consumeStripes(heldView, HISTORY_BYTES, Math.floor((heldBytes - 1) / STRIPE_BYTES));
    const lastStripe = HISTORY_BYTES + heldBytes - STRIPE_BYTES;
    return wireBytes(finishLong(width, acc, heldView, lastStripe, this.totalBytes));
  }
}

export function createXxh3_64(seed: ReadonlyU64): Hasher {
  return new Xxh3Hasher(64, seed);
}

export function createXxh3_128(seed: ReadonlyU64): Hasher {
  return new Xxh3Hasher(128, seed);
}
