/**
 * 64-bit unsigned arithmetic without BigInt.
 *
 * JavaScriptCore runs BigInt far slower than int32 math, so a 64-bit value is
 * a pair of int32 bit patterns (`hi`, `lo`) and every operation wraps modulo
 * 2^64 like C's uint64_t. The hot loops (XXH64 rounds, XXH3 stripes) inline
 * the same arithmetic on local variables using `mulHi32` and `carry32`; the
 * `U64` class serves the short-input and finalisation paths, where clarity
 * matters more than a few allocations.
 */

const TWO_POW_32 = 4294967296;

/** High 32 bits of the unsigned 64-bit product a·b (both taken as uint32 bit patterns), as an int32 bit pattern. */
export function mulHi32(a: number, b: number): number {
  // 16-bit pieces keep every partial product below 2^32, so Math.imul gives
  // each one exactly (as a bit pattern) and the JIT never leaves int32.
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = Math.imul(a0, b0);
  const p01 = Math.imul(a0, b1);
  const p10 = Math.imul(a1, b0);
  const middle = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (Math.imul(a1, b1) + (p01 >>> 16) + (p10 >>> 16) + (middle >>> 16)) | 0;
}

/** Carry (0 or 1) out of the 32-bit addition `sum = a + b` (all int32 bit patterns). */
export function carry32(a: number, b: number, sum: number): number {
  // The carry is the majority of the top bits of a, b and NOT sum.
  return ((a & b) | ((a | b) & ~sum)) >>> 31;
}

/** A 64-bit value that is never modified (constants, arguments). */
export interface ReadonlyU64 {
  readonly hi: number;
  readonly lo: number;
}

/**
 * A mutable unsigned 64-bit integer. Every operation updates `this` in place
 * and returns it, so formulas read left to right: `x.xor(k).mul(P).shiftXor(29)`.
 */
export class U64 implements ReadonlyU64 {
  hi: number;
  lo: number;

  constructor(hi = 0, lo = 0) {
    this.hi = hi | 0;
    this.lo = lo | 0;
  }

  static copy(v: ReadonlyU64): U64 {
    return new U64(v.hi, v.lo);
  }

  /** `v` modulo 2^64. */
  static fromBigInt(v: bigint): U64 {
    const u = BigInt.asUintN(64, v);
    return new U64(Number(u >> 32n), Number(u & 0xffffffffn));
  }

  /** A non-negative safe integer (a length or byte count). */
  static fromNumber(n: number): U64 {
    return new U64(Math.floor(n / TWO_POW_32), n % TWO_POW_32);
  }

  toBigInt(): bigint {
    return (BigInt(this.hi >>> 0) << 32n) | BigInt(this.lo >>> 0);
  }

  set(v: ReadonlyU64): this {
    this.hi = v.hi;
    this.lo = v.lo;
    return this;
  }

  add(v: ReadonlyU64): this {
    const lo = (this.lo + v.lo) | 0;
    this.hi = (this.hi + v.hi + carry32(this.lo, v.lo, lo)) | 0;
    this.lo = lo;
    return this;
  }

  sub(v: ReadonlyU64): this {
    const borrow = this.lo >>> 0 < v.lo >>> 0 ? 1 : 0;
    this.lo = (this.lo - v.lo) | 0;
    this.hi = (this.hi - v.hi - borrow) | 0;
    return this;
  }

  /** 0 - this (two's complement). */
  negate(): this {
    this.lo = -this.lo | 0;
    this.hi = (~this.hi + (this.lo === 0 ? 1 : 0)) | 0;
    return this;
  }

  not(): this {
    this.hi = ~this.hi;
    this.lo = ~this.lo;
    return this;
  }

  xor(v: ReadonlyU64): this {
    this.hi ^= v.hi;
    this.lo ^= v.lo;
    return this;
  }

  /** this · v modulo 2^64. */
  mul(v: ReadonlyU64): this {
    const aLo = this.lo;
    const aHi = this.hi;
    this.lo = Math.imul(aLo, v.lo);
    this.hi = (mulHi32(aLo, v.lo) + Math.imul(aLo, v.hi) + Math.imul(aHi, v.lo)) | 0;
    return this;
  }

  /** Logical shift right by 0 < n < 64. */
  shr(n: number): this {
    if (n < 32) {
      this.lo = (this.lo >>> n) | (this.hi << (32 - n));
      this.hi = this.hi >>> n;
    } else {
      this.lo = this.hi >>> (n - 32);
      this.hi = 0;
    }
    this.hi |= 0;
    this.lo |= 0;
    return this;
  }

  /** Shift left by 0 < n < 64. */
  shl(n: number): this {
    if (n < 32) {
      this.hi = (this.hi << n) | (this.lo >>> (32 - n));
      this.lo = this.lo << n;
    } else {
      this.hi = this.lo << (n - 32);
      this.lo = 0;
    }
    return this;
  }

  /** Rotate left by 0 < n < 64. */
  rotl(n: number): this {
    const hi = this.hi;
    const lo = this.lo;
    if (n === 32) {
      this.hi = lo;
      this.lo = hi;
    } else if (n < 32) {
      this.hi = (hi << n) | (lo >>> (32 - n));
      this.lo = (lo << n) | (hi >>> (32 - n));
    } else {
      const m = n - 32;
      this.hi = (lo << m) | (hi >>> (32 - m));
      this.lo = (hi << m) | (lo >>> (32 - m));
    }
    return this;
  }

  /** this ^= this >> n, the xorshift step of every xxHash avalanche. */
  xorShr(n: number): this {
    return this.xor(U64.copy(this).shr(n));
  }

  /** Reverse the byte order. */
  bswap(): this {
    const hi = this.hi;
    this.hi = bswap32(this.lo);
    this.lo = bswap32(hi);
    return this;
  }

  /** Store little-endian at `offset`. */
  writeLE(out: DataView, offset: number): void {
    out.setInt32(offset, this.lo, true);
    out.setInt32(offset + 4, this.hi, true);
  }
}

export function bswap32(x: number): number {
  return ((x << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) | 0;
}

/** The little-endian 64-bit value at `offset`. */
export function readU64LE(view: DataView, offset: number): U64 {
  return new U64(view.getInt32(offset + 4, true), view.getInt32(offset, true));
}

/** The little-endian 32-bit value at `offset`, zero-extended. */
export function readU32LE(view: DataView, offset: number): U64 {
  return new U64(0, view.getInt32(offset, true));
}

/** A 128-bit value as two 64-bit halves. */
export interface U128 {
  low: U64;
  high: U64;
}

/** The full 128-bit product a·b. */
export function mul128(a: ReadonlyU64, b: ReadonlyU64): U128 {
  // Schoolbook on 32-bit digits. The column sums stay below 2^53, so plain
  // doubles carry them exactly; this path runs per 16-byte chunk, not per lane.
  const llHi = mulHi32(a.lo, b.lo) >>> 0;
  const lhLo = Math.imul(a.lo, b.hi) >>> 0;
  const lhHi = mulHi32(a.lo, b.hi) >>> 0;
  const hlLo = Math.imul(a.hi, b.lo) >>> 0;
  const hlHi = mulHi32(a.hi, b.lo) >>> 0;
  const hhLo = Math.imul(a.hi, b.hi) >>> 0;
  const hhHi = mulHi32(a.hi, b.hi);
  const column1 = llHi + lhLo + hlLo;
  const column2 = hhLo + lhHi + hlHi + Math.floor(column1 / TWO_POW_32);
  return {
    low: new U64(column1 | 0, Math.imul(a.lo, b.lo)),
    high: new U64((hhHi + Math.floor(column2 / TWO_POW_32)) | 0, column2 | 0),
  };
}

/** Low half xor high half of the 128-bit product a·b (XXH3's mul128_fold64). */
export function mulFold64(a: ReadonlyU64, b: ReadonlyU64): U64 {
  const { low, high } = mul128(a, b);
  return low.xor(high);
}
