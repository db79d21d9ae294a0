/**
 * The file-list order (flist.c f_name_cmp). Both sides sort every list
 * this way and a file's index is its sorted position, so this must agree
 * with upstream byte for byte.
 *
 * Each entry is compared as the byte string "dirname/basename", where (for
 * protocol 29+) a directory's name continues with a "/" and a step into a
 * deeper path component counts as "more path": at the first point where one
 * side continues as a path and the other ends as a plain item, the item
 * sorts first. The top directory "." sorts before everything.
 */
import { F, type FileTable, isDir, NO_ANSWER } from "./table.ts";

const SLASH = new Uint8Array([0x2f]);
const NOTHING = new Uint8Array(0);

const enum Stage {
  Dir,
  Slash,
  Base,
  Trailing,
}

/** Walks one entry's comparison string segment by segment. */
class Cursor {
  bytes: Uint8Array = NOTHING;
  pos = 0;
  stage = Stage.Base;
  /** true = "path" (more components follow), false = "item". */
  path = false;
  dir: Uint8Array = NOTHING;
  base: Uint8Array = NOTHING;
  isDir = false;
  pathType = true;

  start(dir: Uint8Array, base: Uint8Array, entryIsDir: boolean, sameDir: boolean, pathType: boolean, anchored = false): void {
    this.dir = dir;
    this.base = base;
    this.isDir = entryIsDir;
    this.pathType = pathType;
    if (sameDir || (dir.length === 0 && !anchored)) this.enterBase();
    else {
      this.bytes = dir;
      this.pos = 0;
      this.stage = Stage.Dir;
      this.path = pathType;
    }
  }

  private enterBase(): void {
    this.path = this.isDir && this.pathType;
    this.pos = 0;
    if (this.path && this.base.length === 1 && this.base[0] === 0x2e) {
      // The "." directory compares as an empty item: before everything.
      this.path = false;
      this.stage = Stage.Trailing;
      this.bytes = NOTHING;
    } else {
      this.stage = Stage.Base;
      this.bytes = this.base;
    }
  }

  get atEnd(): boolean {
    return this.pos >= this.bytes.length;
  }

  /**
   * Moves on once the current segment is used up. Returns true when the
   * entry itself has ended (its trailing stage), as upstream's s_TRAILING.
   */
  nextSegment(): boolean {
    switch (this.stage) {
      case Stage.Dir:
        this.stage = Stage.Slash;
        this.bytes = SLASH;
        this.pos = 0;
        return false;
      case Stage.Slash:
        this.enterBase();
        return false;
      case Stage.Base:
        this.stage = Stage.Trailing;
        if (this.path) {
          // A directory's name continues with "/".
          this.bytes = SLASH;
          this.pos = 0;
          return false;
        }
        this.path = false;
        return true;
      case Stage.Trailing:
        this.path = false;
        return true;
    }
  }
}

const a = new Cursor();
const b = new Cursor();

/**
 * Compares two names; negative when (dir1, base1) sorts first. An
 * `anchored` name with an empty dir is a single component after a leading
 * "/" (upstream's dirname "" for "/usr", which is not the same as no dirname).
 */
export function compareNames(
  dir1: Uint8Array,
  base1: Uint8Array,
  dir1IsDirEntry: boolean,
  dir2: Uint8Array,
  base2: Uint8Array,
  dir2IsDirEntry: boolean,
  protocol: number,
  anchored1 = false,
  anchored2 = false,
): number {
  const pathType = protocol >= 29;
  const sameDir = anchored1 === anchored2 && (dir1 === dir2 || (dir1.length === dir2.length && Buffer.compare(dir1, dir2) === 0));
  a.start(dir1, base1, dir1IsDirEntry, sameDir, pathType, anchored1);
  b.start(dir2, base2, dir2IsDirEntry, sameDir, pathType, anchored2);
  if (a.path !== b.path) return a.path ? 1 : -1;
  for (;;) {
    if (a.atEnd) {
      a.nextSegment();
      if (!b.atEnd && a.path !== b.path) return a.path ? 1 : -1;
    }
    if (b.atEnd) {
      if (b.nextSegment() && a.atEnd) return 0;
      if (a.path !== b.path) return a.path ? 1 : -1;
    }
    // Past its end a side reads as 0, which sorts before any name byte.
    const c1 = a.atEnd ? 0 : a.bytes[a.pos++]!;
    const c2 = b.atEnd ? 0 : b.bytes[b.pos++]!;
    if (c1 !== c2) return c1 - c2;
  }
}

/** f_name_cmp for two rows of a table; inactive rows sort last. */
export function compareRows(t: FileTable, r1: number, r2: number, protocol: number): number {
  const inactive1 = (t.flags[r1]! & F.INACTIVE) !== 0;
  const inactive2 = (t.flags[r2]! & F.INACTIVE) !== 0;
  if (inactive1 || inactive2) return inactive1 === inactive2 ? 0 : inactive1 ? 1 : -1;
  if (t.dirId[r1] === t.dirId[r2]) {
    // Two entries of one directory (nearly every comparison of a sub-list), as compareNames would order them:
    // below protocol 29 a directory's name is a plain item; from 29 on it continues with "/", sorting after the
    // files ("." is an empty item instead: that one the long way).
    const dir1 = isDir(t.mode[r1]!);
    const dir2 = isDir(t.mode[r2]!);
    if (protocol < 29 || (!dir1 && !dir2)) return t.compareBaseNames(r1, r2);
    if (!t.isDotName(r1) && !t.isDotName(r2)) {
      if (dir1 !== dir2) return dir1 ? 1 : -1;
      const c = t.compareBaseNames(r1, r2, 0x2f);
      if (c !== NO_ANSWER) return c;
    }
  }
  return compareNames(
    t.dirName(r1),
    t.baseName(r1),
    isDir(t.mode[r1]!),
    t.dirName(r2),
    t.baseName(r2),
    isDir(t.mode[r2]!),
    protocol,
  );
}
