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

export class FileSumPrefetch {
  /** The next row to consider, in list order: lists[list], row. */
  private list = 0;
  private row = -1;

  constructor(
    private readonly x: ReceivingSide,
    private readonly alg: HashAlg,
  ) {}

  /** Offers the next files not offered yet (call as lists arrive and as the generator moves on). */
  topUp(): void {
    const x = this.x;
    const t = x.t;
    const lists = x.lists.lists;
    const paths: Uint8Array[] = [];
    const sizes: number[] = [];
    const rows: [number, number][] = [];
    let li = this.list;
    let row = this.row;
    while (paths.length < OFFER && li < lists.length) {
      const l = lists[li]!;
      if (row < l.ndxStart) row = l.ndxStart;
      if (row >= l.ndxStart + l.count) {
        li++;
        continue;
      }
      if (isReg(t.mode[row]!) && !(t.flags[row]! & F.INACTIVE)) {
        paths.push(x.dest.abs(t.path(row)));
        sizes.push(t.size[row]!);
        rows.push([li, row]);
      }
      row++;
    }
    if (paths.length === 0) {
      this.list = li;
      this.row = row;
      return;
    }
    const taken = core.prefetchFileSums(paths, sizes, this.alg);
    // Resume after the last file taken (all of them: after the last row looked at).
    if (taken >= paths.length) {
      this.list = li;
      this.row = row;
    } else if (taken > 0) {
      this.list = rows[taken - 1]![0];
      this.row = rows[taken - 1]![1] + 1;
    }
  }

  end(): void {
    core.endFileSums();
  }
}
