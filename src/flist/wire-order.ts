/**
 * --iconv: the two sides' names differ, so they may sort differently, and
 * file indexes then count entries in the order they were sent (flist.c keeps
 * an unsorted files array beside the sorted one when need_unsorted_flist).
 * Our tables are sorted in place, so this remembers, per list, which row
 * each transmitted entry ended up in; the index codecs translate through it.
 * With incremental recursion a sub-list names its directory by the order
 * directories were transmitted in (flist.c F_NDX of a dir_flist entry), so
 * that order is kept too.
 */
export class WireOrder {
  /** Only the entries sorting moved: transmission index → row, and back. */
  private readonly rowOf = new Map<number, number>();
  private readonly sentAs = new Map<number, number>();
  /** The rows of all directories, in the order they were transmitted, and back. */
  private readonly dirRows: number[] = [];
  private readonly dirSentAs = new Map<number, number>();

  /**
   * Once a list is sorted (`order[i]` is the transmission index of the row
   * going to `start + i`), before its rows move: `isDir` is asked of the
   * rows as they still are, in transmission order.
   */
  record(start: number, order: readonly number[], isDir: (row: number) => boolean): void {
    for (let i = 0; i < order.length; i++) {
      const sent = order[i]!;
      if (sent === start + i) continue;
      this.rowOf.set(sent, start + i);
      this.sentAs.set(start + i, sent);
    }
    for (let sent = start; sent < start + order.length; sent++) {
      if (!isDir(sent)) continue;
      const row = this.toRow(sent);
      this.dirSentAs.set(row, this.dirRows.length);
      this.dirRows.push(row);
    }
  }

  /** The row of the directory transmitted `index`th (undefined: no such directory). */
  dirRow(index: number): number | undefined {
    return this.dirRows[index];
  }

  /** The transmission index of directory `row` among all directories. */
  dirIndexOf(row: number): number {
    const index = this.dirSentAs.get(row);
    if (index === undefined) throw new Error(`row ${row} is not a transmitted directory`);
    return index;
  }

  toWire(row: number): number {
    return this.sentAs.get(row) ?? row;
  }

  toRow(ndx: number): number {
    return this.rowOf.get(ndx) ?? ndx;
  }
}

/** Gives an index codec the list's transmission order (none: indexes are rows). */
export function withWireOrder<T extends { order: WireOrder | null }>(codec: T, order: WireOrder | null): T {
  codec.order = order;
  return codec;
}
