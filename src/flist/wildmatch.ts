/**
 * rsync's wildcard matching (lib/wildmatch.c), over raw bytes: the filter
 * rules match names that need not be UTF-8, so patterns and texts are
 * Uint8Arrays; the string forms (daemon lists, option names, requested
 * names) encode to UTF-8 and match the same way.
 *
 *   ?       one byte, never '/'
 *   *       any run of bytes without a '/'
 *   **      (two or more '*') any run of bytes, '/' included
 *   [...]   one byte of a class, never '/': '!' or '^' first negates, a ']'
 *           first (after the negation) is a member, "a-z" is a range,
 *           "[:alpha:]" and its siblings are the C locale's ctype classes
 *   \x      the byte x itself, in or out of a class
 *
 * Like upstream, "**" + "/foo" does not match "foo" here: a '/' in the
 * pattern always needs one in the text (the filter code supplies a leading
 * "/" text piece to let "**" + "/" match at the start). A malformed pattern
 * (an unclosed class, a trailing backslash, an unknown "[:name:]") matches
 * nothing, as upstream's ABORT_ALL makes it.
 *
 * A pattern is compiled once (compileWildPattern) into a list of steps with
 * the classes as 256-entry tables, and matched by backtracking at the stars
 * with upstream's two early-outs, which only save time: a single '*' that
 * reaches a '/' gives up back to the nearest '**' (a later start could not
 * get past that '/' either), and running out of text gives up entirely (a
 * later start has even less text).
 */

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const OPEN = 0x5b; // '['
const CLOSE = 0x5d; // ']'
const COLON = 0x3a;
const DASH = 0x2d;

/** The steps of a compiled pattern. */
const BYTE = 0; // arg: the byte (lower-cased when ignoring case)
const ANY = 1; // '?'
const CLASS = 2; // arg: offset of the class's 256-entry table in `tables`
const STAR = 3; // arg: 1 for "**", 0 for '*'

/** How a match attempt ended; the last two prune the backtracking. */
const NO = 0;
const YES = 1;
const GIVE_UP = 2; // no later start can match either (upstream's ABORT_ALL)
const BACK_TO_DOUBLE_STAR = 3; // only a "**" further out may go on (ABORT_TO_STARSTAR)

type Outcome = typeof NO | typeof YES | typeof GIVE_UP | typeof BACK_TO_DOUBLE_STAR;

export interface WildOptions {
  /** Fold ASCII letters on both sides, as iwildmatch does (hosts lists, --skip-compress). */
  ignoreCase?: boolean;
}

const encoder = new TextEncoder();
const asBytes = (s: string | Uint8Array) => (typeof s === "string" ? encoder.encode(s) : s);

/** ASCII lower-casing only: rsync's ctype calls see single bytes, and no byte over 0x7f is a letter to them. */
const lower = (b: number) => (b >= 0x41 && b <= 0x5a ? b + 0x20 : b);

function foldText(text: Uint8Array): Uint8Array {
  let i = 0;
  while (i < text.length && lower(text[i]!) === text[i]) i++;
  if (i === text.length) return text; // nothing to fold: no copy
  const out = text.slice();
  for (; i < out.length; i++) out[i] = lower(out[i]!);
  return out;
}

/** The POSIX classes a "[:name:]" may name, as the C locale defines them (ASCII only). */
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isUpper = (c: number) => c >= 0x41 && c <= 0x5a;
const isLower = (c: number) => c >= 0x61 && c <= 0x7a;
const isAlpha = (c: number) => isUpper(c) || isLower(c);
const isAlnum = (c: number) => isAlpha(c) || isDigit(c);
const isGraph = (c: number) => c > 0x20 && c < 0x7f;
const POSIX_CLASSES: Record<string, (c: number) => boolean> = {
  alnum: isAlnum,
  alpha: isAlpha,
  blank: (c) => c === 0x20 || c === 0x09,
  cntrl: (c) => c < 0x20 || c === 0x7f,
  digit: isDigit,
  graph: isGraph,
  lower: isLower,
  print: (c) => c >= 0x20 && c < 0x7f,
  punct: (c) => isGraph(c) && !isAlnum(c),
  space: (c) => c === 0x20 || (c >= 0x09 && c <= 0x0d),
  upper: isUpper,
  xdigit: (c) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66),
};

/** Thrown inside the compiler only: the pattern can match nothing. */
class Malformed extends Error {}

/**
 * Reads one "[...]" starting just after its '['. Returns the table of bytes
 * it accepts (already negated, '/' never) and where the pattern goes on.
 */
function readClass(p: Uint8Array, at: number, fold: (b: number) => number): { table: Uint8Array; next: number } {
  const member = new Uint8Array(256);
  let i = at;
  const negate = p[i] === 0x21 /* ! */ || p[i] === 0x5e; /* ^ */
  if (negate) i++;
  let prev = -1; // the last single member, which a '-' may start a range from
  for (let first = true; ; first = false) {
    if (i >= p.length) throw new Malformed();
    const c = p[i]!;
    if (c === CLOSE && !first) break;
    if (c === BACKSLASH) {
      if (i + 1 >= p.length) throw new Malformed();
      prev = fold(p[i + 1]!);
      member[prev] = 1;
      i += 2;
    } else if (c === DASH && prev >= 0 && i + 1 < p.length && p[i + 1] !== CLOSE) {
      i = readRangeEnd(p, i + 1, prev, member, fold);
      prev = -1; // a range cannot start another ("a-c-e" is a range, '-' and 'e')
    } else if (c === OPEN && p[i + 1] === COLON && namedClassEnd(p, i) > 0) {
      i = readNamedClass(p, i, member);
      prev = -1;
    } else {
      prev = fold(c);
      member[prev] = 1;
      i++;
    }
  }
  const table = new Uint8Array(256);
  for (let b = 0; b < 256; b++) table[b] = b !== SLASH && (member[b] === 1) !== negate ? 1 : 0;
  return { table, next: i + 1 };
}

/** The range from `low` to the byte at `at` (which a backslash may quote); returns the index after it. */
function readRangeEnd(p: Uint8Array, at: number, low: number, member: Uint8Array, fold: (b: number) => number): number {
  let i = at;
  if (p[i] === BACKSLASH) {
    i++;
    if (i >= p.length) throw new Malformed();
  }
  const high = fold(p[i]!);
  for (let b = low; b <= high; b++) member[b] = 1;
  return i + 1;
}

/**
 * For a "[:" at `at`: the index of the ']' closing a "[:name:]", or -1 when
 * the text up to the next ']' does not end in ':' (then the '[' is an
 * ordinary member). No ']' at all leaves the outer class unclosed.
 */
function namedClassEnd(p: Uint8Array, at: number): number {
  const close = p.indexOf(CLOSE, at + 2);
  if (close < 0) throw new Malformed();
  return close > at + 2 && p[close - 1] === COLON ? close : -1;
}

function readNamedClass(p: Uint8Array, at: number, member: Uint8Array): number {
  const close = namedClassEnd(p, at);
  const name = close - at < 12 ? String.fromCharCode(...p.subarray(at + 2, close - 1)) : ""; // the longest name is 6 letters
  const test = Object.hasOwn(POSIX_CLASSES, name) ? POSIX_CLASSES[name] : undefined;
  if (!test) throw new Malformed(); // "[::]" or "[:spaci:]": upstream aborts the whole match
  for (let b = 0; b < 256; b++) if (test(b)) member[b] = 1;
  return close + 1;
}

/** A compiled pattern, to match many names against. */
export class WildPattern {
  /** The step kinds (BYTE, ANY, CLASS, STAR) and each step's argument. */
  private readonly ops: Uint8Array;
  private readonly args: Int32Array;
  /** The class tables, 256 entries each, one after another. */
  private readonly tables: Uint8Array;
  /** A malformed pattern matches nothing. */
  private readonly never: boolean;
  /** No wildcard at all: a plain byte comparison does. */
  private readonly literal: boolean;
  private readonly ignoreCase: boolean;

  constructor(pattern: string | Uint8Array, options: WildOptions = {}) {
    this.ignoreCase = options.ignoreCase === true;
    const ops: number[] = [];
    const args: number[] = [];
    const tables: Uint8Array[] = [];
    let never = false;
    try {
      compileSteps(asBytes(pattern), this.ignoreCase ? lower : (b) => b, ops, args, tables);
    } catch (e) {
      if (!(e instanceof Malformed)) throw e;
      never = true;
    }
    this.ops = Uint8Array.from(ops);
    this.args = Int32Array.from(args);
    this.tables = new Uint8Array(tables.length * 256);
    tables.forEach((t, n) => this.tables.set(t, n * 256));
    this.never = never;
    this.literal = !never && ops.every((op) => op === BYTE);
  }

  /** Whether the whole text matches (upstream's wildmatch, or iwildmatch with ignoreCase). */
  matches(text: string | Uint8Array): boolean {
    if (this.never) return false;
    const bytes = asBytes(text);
    return this.matchesAt(this.ignoreCase ? foldText(bytes) : bytes, 0);
  }

  /**
   * Upstream's wildmatch_array: the pattern against the texts joined with
   * nothing between them (callers put the "/" pieces in themselves), where
   * `where` picks the part that must match:
   *   0   the whole joined text;
   *   N>0 its last N '/'-separated elements: what follows the N-th '/' from
   *       the end, or the whole text when it has exactly N-1 slashes (fewer:
   *       no match) — for a pattern with N-1 inner slashes and no "**";
   *   <0  the whole text or any part of it that starts just after a '/' —
   *       for a pattern that is not anchored and holds a "**" (not in front).
   * No texts at all match nothing.
   */
  matchesArray(texts: readonly Uint8Array[], where: number): boolean {
    if (texts.length === 0 || this.never) return false;
    let text = texts.length === 1 ? texts[0]! : Buffer.concat(texts);
    if (this.ignoreCase) text = foldText(text);
    if (where > 0) {
      const start = trailingElementsStart(text, where);
      return start >= 0 && this.matchesAt(text, start);
    }
    if (where === 0) return this.matchesAt(text, 0);
    return this.matchesAtAnyElement(text);
  }

  /** Whether the text from `start` to its end matches. */
  private matchesAt(text: Uint8Array, start: number): boolean {
    if (this.literal) return sameBytes(this.args, text, start);
    return this.run(0, text, start) === YES;
  }

  private matchesAtAnyElement(text: Uint8Array): boolean {
    if (this.literal) return literalAtAnyElement(this.args, text);
    let outcome = this.run(0, text, 0);
    for (let i = 0; outcome !== YES && outcome !== GIVE_UP; i++) {
      i = text.indexOf(SLASH, i);
      if (i < 0) return false;
      outcome = this.run(0, text, i + 1);
    }
    return outcome === YES;
  }

  /** Matches steps from `step` on against the text from `at` to its end. */
  private run(step: number, text: Uint8Array, at: number): Outcome {
    const { ops, args, tables } = this;
    let t = at;
    for (let s = step; s < ops.length; s++, t++) {
      const op = ops[s]!;
      if (op === STAR) return this.star(s, text, t);
      if (t >= text.length) return GIVE_UP;
      const c = text[t]!;
      if (op === BYTE ? c !== args[s] : op === ANY ? c === SLASH : tables[args[s]! + c] === 0) return NO;
    }
    return t === text.length ? YES : NO;
  }

  /** The star at `step` takes text from `at` on: as little as it can first, then one byte more each time. */
  private star(step: number, text: Uint8Array, at: number): Outcome {
    const double = this.args[step] === 1;
    const rest = step + 1;
    if (rest === this.ops.length) return double || text.indexOf(SLASH, at) < 0 ? YES : NO;
    for (let t = at; t < text.length; t++) {
      const outcome = this.run(rest, text, t);
      if (outcome === YES || outcome === GIVE_UP) return outcome;
      if (outcome === BACK_TO_DOUBLE_STAR && !double) return outcome;
      // A single '*' cannot take this '/', so neither can any star outside it that is no "**".
      if (!double && text[t] === SLASH) return BACK_TO_DOUBLE_STAR;
    }
    return GIVE_UP; // the rest needs at least one byte, and there are none left
  }
}

/** Turns the pattern into steps; throws Malformed when it can match nothing. */
function compileSteps(p: Uint8Array, fold: (b: number) => number, ops: number[], args: number[], tables: Uint8Array[]): void {
  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    if (c === 0x2a /* * */) {
      let end = i + 1;
      while (end < p.length && p[end] === 0x2a) end++;
      ops.push(STAR);
      args.push(end - i > 1 ? 1 : 0);
      i = end;
    } else if (c === 0x3f /* ? */) {
      ops.push(ANY);
      args.push(0);
      i++;
    } else if (c === OPEN) {
      const { table, next } = readClass(p, i + 1, fold);
      ops.push(CLASS);
      args.push(tables.length * 256);
      tables.push(table);
      i = next;
    } else if (c === BACKSLASH) {
      if (i + 1 >= p.length) throw new Malformed(); // nothing left to quote
      ops.push(BYTE);
      args.push(fold(p[i + 1]!));
      i += 2;
    } else {
      ops.push(BYTE);
      args.push(fold(c));
      i++;
    }
  }
}

/**
 * Where the last `count` '/'-separated elements of the text start: just
 * after the count-th '/' from the end, or 0 when there are exactly count-1
 * slashes; -1 when there are fewer.
 */
function trailingElementsStart(text: Uint8Array, count: number): number {
  let left = count;
  for (let i = text.length - 1; i >= 0; i--) {
    if (text[i] === SLASH && --left === 0) return i + 1;
  }
  return left === 1 ? 0 : -1;
}

function sameBytes(want: ArrayLike<number>, text: Uint8Array, start: number): boolean {
  if (text.length - start !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (text[start + i] !== want[i]) return false;
  return true;
}

function literalAtAnyElement(want: ArrayLike<number>, text: Uint8Array): boolean {
  for (let i = 0; ; i++) {
    if (sameBytes(want, text, i)) return true;
    i = text.indexOf(SLASH, i);
    if (i < 0) return false;
  }
}

/** Compiles a pattern for repeated matching; see WildPattern.matches and matchesArray. */
export function compileWildPattern(pattern: string | Uint8Array, options?: WildOptions): WildPattern {
  return new WildPattern(pattern, options);
}

/** Upstream's wildmatch over bytes: the whole text against the pattern. */
export function wildmatchBytes(pattern: Uint8Array, text: Uint8Array): boolean {
  return new WildPattern(pattern).matches(text);
}

/** Upstream's iwildmatch over bytes: as wildmatchBytes with ASCII letters folded on both sides. */
export function iwildmatchBytes(pattern: Uint8Array, text: Uint8Array): boolean {
  return new WildPattern(pattern, { ignoreCase: true }).matches(text);
}

/** Upstream's wildmatch_array; `where` as WildPattern.matchesArray documents it. */
export function wildmatchArray(pattern: Uint8Array, texts: readonly Uint8Array[], where: number): boolean {
  return new WildPattern(pattern).matchesArray(texts, where);
}

/**
 * Upstream's litmatch_array, for filter patterns without wildcards that
 * still need pieces joined: the string equals the joined texts (where <= 0)
 * or their last `where` elements (where > 0, as in wildmatchArray).
 */
export function litmatchArray(literal: Uint8Array, texts: readonly Uint8Array[], where: number): boolean {
  if (texts.length === 0) return false;
  const text = texts.length === 1 ? texts[0]! : Buffer.concat(texts);
  const start = where > 0 ? trailingElementsStart(text, where) : 0;
  return start >= 0 && sameBytes(literal, text, start);
}

/** Upstream's wildmatch on strings (UTF-8 bytes): daemon user and group lists, refuse options. */
export function wildmatch(pattern: string, text: string): boolean {
  return new WildPattern(pattern).matches(text);
}

/** Upstream's iwildmatch on strings: "hosts allow" / "hosts deny" names. */
export function iwildmatch(pattern: string, text: string): boolean {
  return new WildPattern(pattern, { ignoreCase: true }).matches(text);
}

/** Whether a pattern holds a wildcard at all (upstream's strpbrk(pattern, "*?[")); a bare backslash does not count. */
export function hasWildcards(pattern: string | Uint8Array): boolean {
  const p = asBytes(pattern);
  return p.includes(0x2a) || p.includes(0x3f) || p.includes(OPEN);
}
