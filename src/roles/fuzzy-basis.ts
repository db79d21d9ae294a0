/**
 * --fuzzy (generator.c find_fuzzy, util1.c fuzzy_distance and
 * find_filename_suffix): when a destination file is missing, a similar file
 * of its directory serves as the delta basis. A file of the same size and
 * mtime wins outright; otherwise the name closest by upstream's weighted
 * Levenshtein distance (suffixes weigh ten times more), up to a distance of 25.
 *
 * The candidates must be chosen exactly as upstream chooses them, or the
 * literal and matched totals of a transfer differ: same scan order (the
 * directory sorted as a file list), same ties (the last of equals wins),
 * same arithmetic (32-bit units of 1 << 16 per edit).
 */
import { relative, resolve } from "node:path";
import type { Options } from "../cli/options.ts";
import { RERR, RsyncError } from "../errors.ts";
import { isDir, isReg } from "../flist/table.ts";
import type { DestFs } from "../fs/dest-fs.ts";
import { sameTime } from "./same-time.ts";
import { FNAMECMP_FUZZY } from "./partial-dir.ts";
import { debugLine, shownName } from "../output/debug-line.ts";
import { dirlistDump, type ListedEntry } from "../flist/flist-dump.ts";
import { compareNames } from "../flist/sort.ts";

/** One edit of the Levenshtein distance; the low 16 bits weigh how far apart the changed bytes are. */
const UNIT = 1 << 16;
/** Distances above this (25 edits) are not similar. */
const MAX_DISTANCE = 25 * UNIT;
const TOO_FAR = 0xffff * UNIT + 1;
const U32 = 2 ** 32;
const DOT = 0x2e;
const TILDE = 0x7e;

const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;

/** Whether name[from..] (to the end of the whole name, as strcmp reads it) is exactly `word`. */
function restIs(name: Uint8Array, from: number, word: string): boolean {
  if (name.length - from !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (name[from + i] !== word.charCodeAt(i)) return false;
  return true;
}

/**
 * find_filename_suffix: the most significant suffix of a name (".gz" of
 * "a.tar.gz", ".c" of "x.c.orig"), ignoring backup-like ones (".bak",
 * ".old", ".orig", "~", ".~1~") and, when another is left, all-digit ones.
 * Returns its [start, length]; length 0 when there is none.
 */
export function filenameSuffix(name: Uint8Array): [number, number] {
  let fn = 0;
  let fnLen = name.length;
  // Leading dots are no suffix.
  while (fnLen > 0 && name[fn] === DOT) fn++, fnLen--;
  let hadTilde = false;
  if (fnLen > 1 && name[fn + fnLen - 1] === TILDE) {
    fnLen--;
    hadTilde = true;
  }
  let suf = fn;
  let sufLen = 0;
  let s = fn + fnLen;
  while (fnLen > 1) {
    do s--;
    while (name[s] !== DOT && s !== fn);
    if (s === fn) break;
    let sLen = fnLen - (s - fn);
    fnLen = s - fn;
    // Upstream compares with strcmp, so ".bak" and the others are only skipped at the very end of the name.
    if (sLen === 4) {
      if (restIs(name, s + 1, "bak") || restIs(name, s + 1, "old")) continue;
    } else if (sLen === 5) {
      if (restIs(name, s + 1, "orig")) continue;
    } else if (sLen > 2 && hadTilde && name[s + 1] === TILDE && isDigit(name[s + 2])) continue;
    suf = s;
    sufLen = sLen;
    if (sLen === 1) break;
    let allDigits = true;
    for (s++, sLen--; sLen > 0; s++, sLen--) {
      if (!isDigit(name[s])) {
        allDigits = false;
        break;
      }
    }
    if (!allDigits) return [suf, sufLen];
    // An all-digit suffix may not be that significant: look further left.
    s = suf;
  }
  return [suf, sufLen];
}

/** fuzzy_distance: upstream's Levenshtein distance in UNITs plus byte-distance weights, or TOO_FAR past `upperLimit`. */
export function fuzzyDistance(s1: Uint8Array, s2: Uint8Array, upperLimit: number): number {
  let len1 = s1.length;
  const len2 = s2.length;
  if (Math.abs(len1 - len2) * UNIT > upperLimit) return TOO_FAR;
  if (len1 === 0 || len2 === 0) {
    const s = len1 === 0 ? s2 : s1;
    len1 = s.length;
    // Upstream sums the bytes as (signed) chars here.
    let cost = 0;
    for (let i = 0; i < len1; i++) cost += (s[i]! << 24) >> 24;
    return (((len1 * UNIT + cost) % U32) + U32) % U32;
  }
  const a = new Array<number>(len2);
  for (let i2 = 0; i2 < len2; i2++) a[i2] = (i2 + 1) * UNIT;
  for (let i1 = 0; i1 < len1; i1++) {
    const c1 = s1[i1]!;
    let diag = i1 * UNIT;
    let above = (i1 + 1) * UNIT;
    for (let i2 = 0; i2 < len2; i2++) {
      const c2 = s2[i2]!;
      const left = a[i2]!;
      let cost = c1 - c2;
      if (cost !== 0) cost = cost < 0 ? UNIT - cost : UNIT + cost;
      const diagInc = diag + cost;
      const leftInc = left + UNIT + c1;
      const aboveInc = above + UNIT + c2;
      above = left < above ? Math.min(leftInc, diagInc) : Math.min(aboveInc, diagInc);
      a[i2] = above;
      diag = left;
    }
  }
  return a[len2 - 1]!;
}

/**
 * How far a candidate's name is from the missing file's (what upstream's
 * --debug=fuzzy2 prints): their distance, plus ten times their suffixes'
 * unless the names are too far apart already (past `limit`).
 */
export function nameDistance(candidate: Uint8Array, target: Uint8Array, limit: number): number {
  const dist = fuzzyDistance(candidate, target, limit);
  if (dist >= 0xffff0000) return dist;
  const [at, len] = filenameSuffix(candidate);
  const [tAt, tLen] = filenameSuffix(target);
  return (dist + fuzzyDistance(candidate.subarray(at, at + len), target.subarray(tAt, tAt + tLen), 0xffff0000) * 10) % U32;
}

/** A regular file of a directory the fuzzy search looks in. */
interface Candidate {
  name: Buffer;
  size: number;
  mtime: number;
  /** Being updated in this run: not a basis for later files (FLAG_FILE_SENT). */
  sent: boolean;
}

export interface FuzzyMatch {
  /** The basis's name within its directory (the xname sent along with the request). */
  name: Uint8Array;
  /** Its path relative to the destination root. */
  rel: Uint8Array;
  size: number;
  /** Which directory: 0 the destination's, i the (i-1)th basis dir (FNAMECMP_FUZZY + i). */
  level: number;
}

/**
 * The fuzzy search of one generator. Directory listings are made when a
 * missing file first needs them and dropped when the generator moves to
 * another directory, as upstream's fuzzy_dirlist is.
 */
export class FuzzyBasis {
  private dirKey: string | null = null;
  private lists: (Candidate[] | null)[] | null = null;
  /** --debug=fuzzy2: each candidate's distance and a size/mtime match are told (find_fuzzy). */
  debugLevel = 0;
  /** --debug=flist2: get_dirlist's make_file says each entry of a directory listed (without filters: level 1). */
  flistDebug = 0;
  /** --debug=flist3: the listing is dumped too (output_flist), entries sorted as a file list is for `protocol`. */
  dumpView: { human: number; nsec: boolean; uid: boolean; gid: boolean; ourUid: number; protocol: number } | null = null;

  /** `dirs(dir)`: for a destination directory, the directories searched (relative to the destination root), in level order. */
  constructor(
    private readonly dest: DestFs,
    private readonly modifyWindow: number,
    private readonly dirs: (dir: Uint8Array) => Uint8Array[],
  ) {}

  /** The generator handles an entry of directory `dir` (need_fuzzy_dirlist on a change of directory). */
  enterDir(dir: Uint8Array): void {
    const key = Buffer.from(dir).toString("latin1");
    if (key === this.dirKey) return;
    this.dirKey = key;
    this.lists = null;
  }

  /** find_fuzzy for a missing file `base` of directory `dir` with the source's size and mtime. */
  find(dir: Uint8Array, base: Uint8Array, size: number, mtime: number): FuzzyMatch | null {
    this.enterDir(dir);
    this.lists ??= this.dirs(dir).map((d) => this.listDir(d));
    const lists = this.lists;
    const matchOf = (level: number, c: Candidate): FuzzyMatch => {
      const d = this.dirs(dir)[level]!;
      return { name: c.name, rel: d.length ? Buffer.concat([d, Buffer.from("/"), c.name]) : c.name, size: c.size, level };
    };
    const usable = (c: Candidate) => c.size > 0 && !c.sent;
    for (let level = 0; level < lists.length; level++) {
      for (const c of lists[level] ?? []) {
        if (usable(c) && c.size === size && sameTime(this.modifyWindow, c.mtime, 0, mtime, 0)) {
          const m = matchOf(level, c);
          if (this.debugLevel > 1) debugLine(`fuzzy size/modtime match for ${shownName(m.rel)}`);
          return m;
        }
      }
    }
    let lowest = MAX_DISTANCE;
    let best: { level: number; c: Candidate } | null = null;
    for (let level = 0; level < lists.length; level++) {
      for (const c of lists[level] ?? []) {
        if (!usable(c)) continue;
        const dist = nameDistance(c.name, base, lowest);
        if (this.debugLevel > 1) debugLine(`fuzzy distance for ${shownName(matchOf(level, c).rel)} = ${Math.floor(dist / UNIT)}.${String(dist % UNIT).padStart(5, "0")}`);
        if (dist <= lowest) {
          lowest = dist;
          best = { level, c };
        }
      }
    }
    return best ? matchOf(best.level, best.c) : null;
  }

  /** A file of the destination's directory is being updated: never a basis for a later file (generator.c marks FLAG_FILE_SENT). */
  markSent(dir: Uint8Array, base: Uint8Array): void {
    this.enterDir(dir);
    const list = this.lists?.[0];
    if (!list) return;
    const c = list.find((e) => Buffer.compare(e.name, base) === 0);
    if (c) c.sent = true;
  }

  /** get_dirlist without filters: the regular files of a directory, sorted as a file list sorts them. */
  private listDir(dir: Uint8Array): Candidate[] | null {
    let names: Buffer[];
    try {
      names = this.dest.listDir(dir);
    } catch {
      return null;
    }
    const out: Candidate[] = [];
    const listed: ListedEntry[] = [];
    for (const name of names) {
      const rel = dir.length ? Buffer.concat([dir, Buffer.from("/"), name]) : name;
      const st = this.dest.lstat(rel);
      if (st && this.flistDebug > 1) debugLine(`[generator] make_file(${shownName(rel)},*,1)`);
      if (st && this.dumpView) listed.push({ path: rel, st });
      if (st && isReg(st.mode)) out.push({ name, size: st.size, mtime: st.mtime, sent: false });
    }
    out.sort((x, y) => Buffer.compare(x.name, y.name));
    if (this.dumpView) {
      const v = this.dumpView;
      const empty = new Uint8Array(0);
      const base = (e: ListedEntry) => e.path.subarray(e.path.lastIndexOf(0x2f) + 1);
      listed.sort((a, b) => compareNames(empty, base(a), isDir(a.st.mode), empty, base(b), isDir(b.st.mode), v.protocol));
      for (const line of dirlistDump(listed, v)) debugLine(line);
    }
    return out.length ? out : null;
  }
}

/**
 * The directories a fuzzy search of destination directory `dir` looks in:
 * `dir` itself, and with -yy the same directory under each --compare-dest /
 * --copy-dest / --link-dest dir (options.c: fuzzy_basis = basis_dir_cnt + 1),
 * all relative to the destination root `root`.
 */
export function fuzzyDirs(o: Options, root: Buffer, dir: Uint8Array): Uint8Array[] {
  const dirs = [dir];
  if (o.fuzzy < 2) return dirs;
  for (const b of o.basisDirs) {
    const base = b.startsWith("/") ? relative(resolve(root.toString("latin1") || "."), b) || "." : b.replace(/\/+$/, "");
    dirs.push(Buffer.from(dir.length ? `${base}/${Buffer.from(dir).toString("latin1")}` : base, "latin1"));
  }
  return dirs;
}

/** A basis type that names a fuzzy basis this receiver can have asked for. */
export function isFuzzyType(o: Options, type: number): boolean {
  const levels = o.fuzzy > 1 ? o.basisDirs.length + 1 : o.fuzzy;
  return type >= FNAMECMP_FUZZY && type - FNAMECMP_FUZZY < levels;
}

/**
 * receiver.c: the basis of a fuzzy request is the xname in the file's
 * directory (or that directory under a basis dir). The name comes back
 * through the sender, so it must be a plain name.
 */
export function fuzzyBasisRel(o: Options, root: Buffer, rel: Uint8Array, type: number, xname: Uint8Array | undefined): Uint8Array {
  const name = xname ? Buffer.from(xname).toString("latin1") : "";
  if (name === "" || name === "." || name === ".." || name.includes("/")) {
    throw new RsyncError(RERR.PROTOCOL, `rsync: refusing malicious fuzzy operation for ${name}`);
  }
  const slash = rel.lastIndexOf(0x2f);
  const dir = fuzzyDirs(o, root, rel.subarray(0, Math.max(0, slash)))[type - FNAMECMP_FUZZY]!;
  return dir.length ? Buffer.concat([dir, Buffer.from("/"), xname!]) : xname!;
}
