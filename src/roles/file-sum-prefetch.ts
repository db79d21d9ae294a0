/**
 * -c: hints the native core which destination files the generator will
 * checksum (quick_check_ok's file_checksum), in the order it will ask, so that
 * worker threads hash them while the JS thread decodes lists and compares.
 * Every regular file of the lists received so far is offered with the size
 * the sender's list gives it (a destination file of another size is not
 * hashed: the worker sees the size and gives up), as far as the core takes them.
 */
import { F, isReg } from "../flist/table.ts";
import { core, type HashAlg } from "../native/index.ts";
import type { ReceivingSide } from "./context.ts";

/** Rows offered per call: the core holds about a thousand hints. */
const OFFER = 256;
/** The kernel's PATH_MAX: the core takes shorter paths only (a longer one is hashed when asked for). */
const PATH_MAX = 4096;

export class FileSumPrefetch {
  /** The next row to consider, in list order: lists[list], row. */
  private list = 0;
  private row = -1;
  /**
   * One offer, made again each time (no array per path): the paths, each
   * with its NUL, their sizes, and where each came from (to resume after
   * the last one the core took).
   */
  private paths = new Uint8Array(64 * 1024);
  private readonly sizes = new Float64Array(OFFER);
  private readonly lists = new Int32Array(OFFER);
  private readonly rows = new Int32Array(OFFER);

  constructor(
    private readonly x: ReceivingSide,
    private readonly alg: HashAlg,
  ) {}

  /** Offers the next files not offered yet (call as lists arrive and as the generator moves on). */
  topUp(): void {
    const x = this.x;
    const t = x.t;
    const lists = x.lists.lists;
    const root = x.dest.root;
    let used = 0;
    let n = 0;
    let li = this.list;
    let row = this.row;
    while (n < OFFER && li < lists.length) {
      const l = lists[li]!;
      if (row < l.ndxStart) row = l.ndxStart;
      if (row >= l.ndxStart + l.count) {
        li++;
        continue;
      }
      if (isReg(t.mode[row]!) && !(t.flags[row]! & F.INACTIVE)) {
        const length = root.length + t.pathLength(row);
        if (used + length + 1 > this.paths.length) this.grow(used + length + 1);
        const paths = this.paths;
        paths.set(root, used);
        const end = t.copyPath(row, paths, used + root.length);
        paths[end] = 0;
        // A path the core cannot take (too long, or holding a NUL) is not offered: fileSum hashes it when asked.
        if (length < PATH_MAX && paths.indexOf(0, used) === end) {
          used = end + 1;
          this.sizes[n] = t.size[row]!;
          this.lists[n] = li;
          this.rows[n] = row;
          n++;
        }
      }
      row++;
    }
    if (n === 0) {
      this.list = li;
      this.row = row;
      return;
    }
    const taken = core.prefetchFileSums(this.paths.subarray(0, used), this.sizes.subarray(0, n), this.alg);
    // Resume after the last file taken (all of them: after the last row looked at).
    if (taken >= n) {
      this.list = li;
      this.row = row;
    } else if (taken > 0) {
      this.list = this.lists[taken - 1]!;
      this.row = this.rows[taken - 1]! + 1;
    }
  }

  private grow(min: number): void {
    const next = new Uint8Array(Math.max(min, 2 * this.paths.length));
    next.set(this.paths);
    this.paths = next;
  }

  end(): void {
    core.endFileSums();
  }
}
