/**
 * Seeded test data: the quick mode's tree (the kernel's shape in miniature:
 * many small text files in nested directories, a few large files, some
 * symlinks) and the "older version" of any tree, made by deterministic edits,
 * for the delta scenario when no second kernel version is available.
 * Same seed, same bytes and mtimes: results stay comparable across machines.
 */
import { lutimesSync, mkdirSync, readdirSync, readFileSync, lstatSync, symlinkSync, unlinkSync, utimesSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";

/** mulberry32: tiny, fast, and good enough to pick sizes and bytes. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const BASE_MTIME = 1_700_000_000;

/** Source-code-like text (compressible, as the kernel's is), from a seeded vocabulary. */
function textCorpus(r: () => number, bytes: number): Uint8Array {
  const words: string[] = [];
  for (let i = 0; i < 400; i++) {
    let w = "";
    for (let n = int(r, 2, 10); n > 0; n--) w += String.fromCharCode(97 + int(r, 0, 25));
    words.push(w);
  }
  const punct = [" ", " ", " ", "(", ");\n", " = ", ";\n\t", ", ", " {\n\t", "\n}\n", "->", "_"];
  const parts: string[] = [];
  let len = 0;
  while (len < bytes) {
    const p = words[int(r, 0, words.length - 1)]! + punct[int(r, 0, punct.length - 1)]!;
    parts.push(p);
    len += p.length;
  }
  return new TextEncoder().encode(parts.join("")).subarray(0, bytes);
}

function randomBytes(r: () => number, bytes: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(bytes / 4));
  for (let i = 0; i < words.length; i++) words[i] = (r() * 4294967296) >>> 0;
  return new Uint8Array(words.buffer, 0, bytes);
}

export interface TreeShape {
  dirs: number;
  smallFiles: number;
  /** Sizes of the large files in bytes. */
  large: number[];
  symlinks: number;
}

export const QUICK_SHAPE: TreeShape = { dirs: 60, smallFiles: 2000, large: [4 << 20, 8 << 20, 12 << 20], symlinks: 12 };

/** Writes the synthetic tree into `root` (which must not exist yet). */
export function makeSyntheticTree(root: string, seed: number, shape: TreeShape = QUICK_SHAPE): void {
  const r = prng(seed);
  const corpus = textCorpus(r, 1 << 20);
  mkdirSync(root, { recursive: true });
  // Nested directories: each new one under a random earlier one, so depth varies as in a source tree.
  const dirs = [""];
  for (let i = 0; i < shape.dirs; i++) {
    const parent = dirs[int(r, 0, dirs.length - 1)]!;
    const d = join(parent, `dir${i}`);
    mkdirSync(join(root, d));
    dirs.push(d);
  }
  const files: string[] = [];
  for (let i = 0; i < shape.smallFiles; i++) {
    const dir = dirs[int(r, 0, dirs.length - 1)]!;
    const name = join(dir, `file${i}.${["c", "h", "txt", "S", "rst"][int(r, 0, 4)]}`);
    // Mostly a few KB, some empty, a tail up to 64 KB: roughly the kernel's distribution.
    const size = r() < 0.03 ? 0 : Math.floor(Math.exp(r() * Math.log(64 * 1024)));
    const off = int(r, 0, corpus.length - size - 1);
    const head = new TextEncoder().encode(`/* ${name} */\n`);
    const body = new Uint8Array(size + head.length);
    body.set(head);
    body.set(corpus.subarray(off, off + size), head.length);
    writeFileSync(join(root, name), body);
    if (r() < 0.05) chmodSync(join(root, name), 0o755);
    files.push(name);
  }
  shape.large.forEach((size, i) => {
    // One incompressible, the others text: the matcher and -z see both kinds.
    const data = i === 0 ? randomBytes(r, size) : repeatCorpus(corpus, size, int(r, 0, 1000));
    const name = join(dirs[int(r, 1, dirs.length - 1)] ?? "", `large${i}.bin`);
    writeFileSync(join(root, name), data);
    files.push(name);
  });
  for (let i = 0; i < shape.symlinks; i++) {
    const dir = dirs[int(r, 0, dirs.length - 1)]!;
    const depth = dir ? dir.split("/").length : 0;
    // Relative targets into the tree, one to a directory and one dangling, like the kernel's dts links.
    const target = i === 0 ? "does-not-exist" : i === 1 ? "../".repeat(depth) + (dirs[1] ?? ".") : "../".repeat(depth) + files[int(r, 0, files.length - 1)]!;
    symlinkSync(target, join(root, dir, `link${i}`));
    files.push(join(dir, `link${i}`));
  }
  for (const f of files) {
    const t = BASE_MTIME + int(r, 0, 30_000_000);
    (lstatSync(join(root, f)).isSymbolicLink() ? lutimesSync : utimesSync)(join(root, f), t, t);
  }
  // Directories last and deepest first: writing a file would change its directory's mtime.
  for (const d of [...dirs].reverse()) {
    const t = BASE_MTIME + int(r, 0, 30_000_000);
    utimesSync(join(root, d), t, t);
  }
}

function repeatCorpus(corpus: Uint8Array, size: number, shift: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let pos = 0; pos < size; pos += corpus.length - shift) out.set(corpus.subarray(shift, shift + Math.min(corpus.length - shift, size - pos)), pos);
  return out;
}

/** Every regular file and symlink under root, sorted, relative: a deterministic walk order. */
export function listFiles(root: string, rel = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, rel)).sort()) {
    const p = join(rel, name);
    const st = lstatSync(join(root, p));
    if (st.isDirectory()) out.push(...listFiles(root, p));
    else out.push(p);
  }
  return out;
}

export interface EditRates {
  /** Share of regular files whose content gets a small edit. */
  edit: number;
  /** Share of regular files removed from the old tree (the new one adds them). */
  remove: number;
}

/**
 * Turns a copy of the new tree (already at `old`) into a plausible older
 * version: every file's mtime moves back a day (so a plain -a resync must
 * look at every file, as between two kernel releases), a few files get
 * small in-place or shifting edits, a few disappear. Nothing is added:
 * the delta pull runs without --delete, and extra files would fail the check.
 */
export function deriveOldTree(old: string, seed: number, rates: EditRates): { edited: number; removed: number } {
  const r = prng(seed ^ 0x5eed);
  let edited = 0;
  let removed = 0;
  for (const rel of listFiles(old)) {
    const path = join(old, rel);
    const st = lstatSync(path);
    if (!st.isFile()) continue;
    const roll = r();
    if (roll < rates.remove) {
      unlinkSync(path);
      removed++;
      continue;
    }
    if (roll < rates.remove + rates.edit && st.size > 0) {
      writeFileSync(path, editBytes(readFileSync(path), r));
      edited++;
    }
    const t = Math.floor(st.mtimeMs / 1000) - 86_400;
    utimesSync(path, t, t);
  }
  return { edited, removed };
}

/** One to three local changes: overwrite a span, insert bytes (shifts the rest), or cut some. */
function editBytes(data: Uint8Array, r: () => number): Uint8Array {
  let d = data;
  for (let n = int(r, 1, 3); n > 0; n--) {
    const at = int(r, 0, Math.max(0, d.length - 1));
    const len = int(r, 1, 200);
    const kind = int(r, 0, 2);
    if (kind === 0) {
      d = d.slice();
      d.set(randomBytes(r, Math.min(len, d.length - at)), at);
    } else if (kind === 1) {
      const ins = randomBytes(r, len);
      const out = new Uint8Array(d.length + len);
      out.set(d.subarray(0, at));
      out.set(ins, at);
      out.set(d.subarray(at), at + len);
      d = out;
    } else {
      const out = new Uint8Array(d.length - Math.min(len, d.length - at));
      out.set(d.subarray(0, at));
      out.set(d.subarray(at + len), at);
      d = out;
    }
  }
  return d;
}
