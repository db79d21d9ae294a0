/**
 * What upstream does to every line it prints (log.c rwrite, filtered_fwrite):
 * bytes that are not valid in the user's charset (checked by an iconv from the
 * charset to itself), control characters other than tab, and a backslash that
 * would read as an escape, are written as `\#ooo` (octal). With -8 the charset
 * check is skipped: high-bit bytes pass, control characters are still escaped.
 * A trailing newline or carriage return, and a leading carriage return
 * (progress lines), are written as they are.
 */
import { existsSync, readFileSync } from "node:fs";

export type Charset = "utf8" | "ascii";

const BACKSLASH = 0x5c;
const HASH = 0x23;
const TAB = 0x09;
const NL = 0x0a;
const CR = 0x0d;

const isDigit = (b: number | undefined) => b !== undefined && b >= 0x30 && b <= 0x39;

/** True when the line can be written as it is (the common case: printable ASCII, no backslash). */
function plain(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const b = bytes[i]!;
    if (b < 0x20 ? b !== TAB : b >= 0x7f || b === BACKSLASH) return false;
  }
  return true;
}

/** Length of the valid UTF-8 sequence at `i` (as glibc's iconv accepts it), or 0. */
function utf8Length(bytes: Uint8Array, i: number, end: number): number {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return 1;
  let need: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    need = 2;
    if (b0 === 0xe0) lo = 0xa0; // overlong
    if (b0 === 0xed) hi = 0x9f; // surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    need = 3;
    if (b0 === 0xf0) lo = 0x90; // overlong
    if (b0 === 0xf4) hi = 0x8f; // beyond U+10FFFF
  } else return 0;
  for (let k = 1; k <= need; k++) {
    const b = bytes[i + k];
    if (i + k >= end || b === undefined) return 0;
    if (k === 1 ? b < lo || b > hi : b < 0x80 || b > 0xbf) return 0;
  }
  return need + 1;
}

const octal = (b: number) => `\\#${b.toString(8).padStart(3, "0")}`;

/**
 * The bytes to write for one message. `charset` null means -8 (no charset
 * check).
 */
export function escapeForOutput(bytes: Uint8Array, charset: Charset | null): Uint8Array {
  let start = 0;
  let end = bytes.length;
  if (end > 0 && (bytes[end - 1] === NL || bytes[end - 1] === CR)) end--;
  if (end > 0 && bytes[0] === CR) start = 1;
  if (plain(bytes, start, end)) return bytes;
  const out: number[] = [];
  for (let i = 0; i < start; i++) out.push(bytes[i]!);
  let i = start;
  while (i < end) {
    const b = bytes[i]!;
    if (b >= 0x80 && charset !== null) {
      const len = charset === "utf8" ? utf8Length(bytes, i, end) : 0;
      if (len === 0) {
        for (const c of octal(b)) out.push(c.charCodeAt(0));
        i++;
        continue;
      }
      for (let k = 0; k < len; k++) out.push(bytes[i + k]!);
      i += len;
      continue;
    }
    const escapesItself = b === BACKSLASH && i + 4 < end && bytes[i + 1] === HASH && isDigit(bytes[i + 2]) && isDigit(bytes[i + 3]) && isDigit(bytes[i + 4]);
    if (escapesItself || (b < 0x20 && b !== TAB)) {
      for (const c of octal(b)) out.push(c.charCodeAt(0));
    } else out.push(b);
    i++;
  }
  for (let k = end; k < bytes.length; k++) out.push(bytes[k]!);
  return Uint8Array.from(out);
}

/**
 * The charset upstream would check names against: setlocale(LC_CTYPE, "")
 * picks the first of LC_ALL, LC_CTYPE, LANG; a locale that is not installed
 * leaves the C locale (ASCII). C.UTF-8 is built into glibc.
 */
export function localeCharset(env: Record<string, string | undefined> = process.env): Charset {
  const name = env.LC_ALL || env.LC_CTYPE || env.LANG || "";
  const m = /^([^.@]*)\.([^@]*)(@.*)?$/.exec(name);
  if (!m || !/^utf-?8$/i.test(m[2]!)) return "ascii";
  if (m[1] === "C" || m[1] === "POSIX") return "utf8";
  return localeInstalled(`${m[1]}.utf8${m[3] ?? ""}`) || localeInstalled(name) ? "utf8" : "ascii";
}

function localeInstalled(name: string): boolean {
  if (existsSync(`/usr/lib/locale/${name}`)) return true;
  try {
    return readFileSync("/usr/lib/locale/locale-archive").includes(Buffer.from(`${name}\0`));
  } catch {
    return false;
  }
}
