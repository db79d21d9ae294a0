/**
 * --iconv: file names travel as UTF-8 and each side converts between that
 * and its own charset (rsync.c setup_iconv, iconvbufs). Bun has no iconv, so
 * we convert UTF-8 and the single-byte charsets TextDecoder knows (ISO-8859-*,
 * CP125x, KOI8-*, ...) ourselves: a byte→code point table per charset and
 * its reverse. A failed conversion reports errno's text as glibc's iconv
 * would: a bad sequence is EILSEQ, one cut short at the end of the name EINVAL.
 */
import { RERR, RsyncError } from "../errors.ts";
import { CF } from "../protocol/setup.ts";

export const EILSEQ_TEXT = "Invalid or incomplete multibyte or wide character";
export const EINVAL_TEXT = "Invalid argument";

/** The outcome of one conversion: the bytes, or why it failed (strerror text). */
export type Converted = Uint8Array | { error: string };

export const convertFailed = (c: Converted): c is { error: string } => !(c instanceof Uint8Array);

interface Charset {
  /** Local bytes → code points; null when a byte is not in the charset. */
  decode(bytes: Uint8Array): number[] | { error: string };
  /** Code points → local bytes; null when one has no byte. */
  encode(points: number[]): Uint8Array | null;
}

/** The spelling glibc accepts loosely: case and punctuation do not matter. */
const normalize = (name: string) => name.toUpperCase().replace(/[^A-Z0-9]/g, "");

const UTF8_NAMES = new Set(["UTF8"]);
const ASCII_NAMES = new Set(["ASCII", "USASCII", "ANSIX341968", "ANSIX341986", "ISO646US", "US", "CP367", "IBM367"]);
const LATIN1_NAMES = new Set(["ISO88591", "ISO885911987", "LATIN1", "L1", "CP819", "IBM819", "ISOIR100"]);

/** glibc names → TextDecoder labels for the other single-byte charsets. */
function decoderLabel(norm: string): string | null {
  let m = /^ISO8859(\d{1,2})$/.exec(norm) ?? /^ISO8859(\d{1,2})\d{4}$/.exec(norm);
  if (m) return m[1] === "11" ? null : `iso-8859-${m[1]}`;
  m = /^(?:CP|WINDOWS|MSCP|IBM)?(125\d|874|866)$/.exec(norm);
  if (m) return m[1] === "866" ? "ibm866" : `windows-${m[1]}`;
  const latin: Record<string, string> = { LATIN2: "iso-8859-2", LATIN3: "iso-8859-3", LATIN4: "iso-8859-4", LATIN5: "iso-8859-9", LATIN6: "iso-8859-10", LATIN7: "iso-8859-13", LATIN8: "iso-8859-14", LATIN9: "iso-8859-15", LATIN10: "iso-8859-16" };
  if (latin[norm]) return latin[norm]!;
  if (norm === "KOI8R" || norm === "KOI8U") return norm === "KOI8R" ? "koi8-r" : "koi8-u";
  if (norm === "MACINTOSH" || norm === "MAC" || norm === "MACROMAN") return "macintosh";
  return null;
}

/** A charset of one byte per character, from its byte → code point table (-1: no character). */
function singleByte(table: Int32Array): Charset {
  const reverse = new Map<number, number>();
  for (let b = 255; b >= 0; b--) if (table[b]! >= 0) reverse.set(table[b]!, b);
  return {
    decode(bytes) {
      const out: number[] = [];
      for (const b of bytes) {
        const cp = table[b]!;
        if (cp < 0) return { error: EILSEQ_TEXT };
        out.push(cp);
      }
      return out;
    },
    encode(points) {
      const out = new Uint8Array(points.length);
      for (let i = 0; i < points.length; i++) {
        const b = reverse.get(points[i]!);
        if (b === undefined) return null;
        out[i] = b;
      }
      return out;
    },
  };
}

/** Strict UTF-8 (no surrogates, no overlong forms), as glibc's iconv reads it. */
const utf8: Charset = {
  decode(bytes) {
    const out: number[] = [];
    let i = 0;
    while (i < bytes.length) {
      const b = bytes[i]!;
      if (b < 0x80) {
        out.push(b);
        i++;
        continue;
      }
      // glibc takes F0-F7 as the start of four bytes (cut short: EINVAL), and checks the range once they are in.
      const len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf7 ? 4 : 0;
      if (!len) return { error: EILSEQ_TEXT };
      let cp = b & (0x7f >> len);
      for (let k = 1; k < len; k++) {
        if (i + k >= bytes.length) return { error: EINVAL_TEXT };
        const c = bytes[i + k]!;
        if ((c & 0xc0) !== 0x80) return { error: EILSEQ_TEXT };
        cp = (cp << 6) | (c & 0x3f);
      }
      const min = len === 2 ? 0x80 : len === 3 ? 0x800 : 0x10000;
      if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return { error: EILSEQ_TEXT };
      out.push(cp);
      i += len;
    }
    return out;
  },
  encode(points) {
    return new Uint8Array(Buffer.from(String.fromCodePoint(...points), "utf8"));
  },
};

function charsetNamed(name: string): Charset | null {
  const norm = normalize(name);
  if (UTF8_NAMES.has(norm)) return utf8;
  const table = new Int32Array(256).fill(-1);
  if (ASCII_NAMES.has(norm) || LATIN1_NAMES.has(norm)) {
    const top = LATIN1_NAMES.has(norm) ? 256 : 128;
    for (let b = 0; b < top; b++) table[b] = b;
    return singleByte(table);
  }
  const label = decoderLabel(norm);
  if (!label) return null;
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label as ConstructorParameters<typeof TextDecoder>[0], { fatal: true });
  } catch {
    return null;
  }
  for (let b = 0; b < 256; b++) {
    try {
      const s = decoder.decode(new Uint8Array([b]));
      table[b] = s.codePointAt(0)!;
    } catch {
      // Not a character of this charset.
    }
  }
  // WHATWG fills CP125x's holes with C1 controls, where glibc has no character.
  if (label.startsWith("windows-")) for (let b = 0x80; b < 0xa0; b++) if (table[b] === b) table[b] = -1;
  return singleByte(table);
}

/** nl_langinfo(CODESET) from the environment's locale, for "--iconv=." and an empty charset. */
export function localeCharset(env: NodeJS.ProcessEnv = process.env): string {
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || "";
  const dot = locale.indexOf(".");
  if (dot < 0) return "ANSI_X3.4-1968";
  const codeset = locale.slice(dot + 1).replace(/@.*/, "");
  return normalize(codeset) === "UTF8" ? "UTF-8" : codeset;
}

/** One side's pair of converters: local charset → UTF-8 (sending) and back (receiving). */
export class NameConverter {
  private constructor(
    readonly charset: string,
    private readonly local: Charset,
  ) {}

  /**
   * setup_iconv: the charset this side uses from a CONVERT_SPEC ("LOCAL",
   * "LOCAL,REMOTE"; a server takes the part after the comma, since a local
   * copy's server gets the whole spec). "" and "." mean the locale's.
   * Fails as iconv_open failing does (exit 4).
   */
  static open(spec: string, amServer: boolean): NameConverter {
    const comma = spec.indexOf(",");
    let name = comma < 0 ? spec : amServer ? spec.slice(comma + 1) : spec.slice(0, comma);
    if (name === "" || name === ".") name = localeCharset();
    const local = charsetNamed(name);
    if (!local) throw new RsyncError(RERR.UNSUPPORTED, `iconv_open("UTF-8", "${name}") failed`);
    return new NameConverter(name, local);
  }

  /** ic_send: local bytes → UTF-8. */
  toWire(bytes: Uint8Array): Converted {
    if (isAscii(bytes)) return bytes;
    const points = this.local.decode(bytes);
    if (!Array.isArray(points)) return points;
    return utf8.encode(points)!;
  }

  /**
   * ic_send with ICB_INCLUDE_BAD (io.c, --files-from under -s): what does
   * not convert goes through byte by byte as it is.
   */
  toWireKeepingBad(bytes: Uint8Array): Uint8Array {
    return this.keepingBad(bytes, (part) => this.toWire(part));
  }

  /** ic_recv with ICB_INCLUDE_BAD. */
  fromWireKeepingBad(bytes: Uint8Array): Uint8Array {
    return this.keepingBad(bytes, (part) => this.fromWire(part));
  }

  private keepingBad(bytes: Uint8Array, convert: (part: Uint8Array) => Converted): Uint8Array {
    const out: number[] = [];
    for (const piece of this.pieces(bytes, convert)) {
      if (typeof piece === "number") out.push(piece);
      else out.push(...piece);
    }
    return Uint8Array.from(out);
  }

  /**
   * ic_recv over a peer's message (log.c rwrite): converted runs, and the
   * bytes that did not convert one by one (upstream shows those as \#ooo).
   */
  fromWirePieces(bytes: Uint8Array): (Uint8Array | number)[] {
    return this.pieces(bytes, (part) => this.fromWire(part));
  }

  /** Converts the shortest piece that converts at each point (at most 4 bytes: one character), else gives up one byte. */
  private pieces(bytes: Uint8Array, convert: (part: Uint8Array) => Converted): (Uint8Array | number)[] {
    const whole = convert(bytes);
    if (!convertFailed(whole)) return [whole];
    const out: (Uint8Array | number)[] = [];
    let i = 0;
    while (i < bytes.length) {
      let done = false;
      for (let len = 1; len <= 4 && i + len <= bytes.length && !done; len++) {
        const part = convert(bytes.subarray(i, i + len));
        if (convertFailed(part)) continue;
        out.push(part);
        i += len;
        done = true;
      }
      if (!done) out.push(bytes[i++]!);
    }
    return out;
  }

  /** ic_recv: UTF-8 → local bytes. */
  fromWire(bytes: Uint8Array): Converted {
    if (isAscii(bytes)) return bytes;
    const points = utf8.decode(bytes);
    if (!Array.isArray(points)) return points;
    return this.local.encode(points) ?? { error: EILSEQ_TEXT };
  }
}

function isAscii(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b >= 0x80) return false;
  return true;
}

const opened = new Map<string, NameConverter>();

/** The converter for one side of a session (each spec is opened once per process). */
export function nameConverterFor(spec: string | null | undefined, amServer: boolean): NameConverter | null {
  if (spec === null || spec === undefined) return null;
  const key = `${amServer ? "S" : "C"}${spec}`;
  let c = opened.get(key);
  if (!c) opened.set(key, (c = NameConverter.open(spec, amServer)));
  return c;
}

/**
 * compat.c sender_symlink_iconv: symlink targets are converted too when the
 * peer can. A server knows it from the client's 's' capability (in -e.LETTERS,
 * which our parser keeps as --rsh), a client from CF_SYMLINK_ICONV.
 */
export function symlinkTargetsConverted(amServer: boolean, rsh: string | undefined, compatFlags: number): boolean {
  if (amServer) return rsh?.startsWith(".") === true && rsh.includes("s");
  return (compatFlags & CF.SYMLINK_ICONV) !== 0;
}
