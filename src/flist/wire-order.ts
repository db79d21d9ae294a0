/**
 * --iconv: the two sides' names differ, so they may sort differently, and
 * file indexes then count entries in the order they were sent (flist.c keeps
 * an unsorted files array beside the sorted one when need_unsorted_flist).
 * Our tables are sorted in place, so this remembers, per list, which row
 * each transmitted entry ended up in; the index codecs translate through it.
 */
export class WireOrder {
  /** Only the entries sorting moved: transmission index → row, and back. */
  private readonly rowOf = new Map<number, number>();
  private readonly sentAs = new Map<number, number>();

  /** After sorting a list: `order[i]` is the transmission index of the row now at `start + i`. */
  record(start: number, order: readonly number[]): void {
    for (let i = 0; i < order.length; i++) {
      const sent = order[i]!;
      if (sent === start + i) continue;
      this.rowOf.set(sent, start + i);
      this.sentAs.set(start + i, sent);
    }
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
