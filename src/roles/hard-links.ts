/**
 * -H on the receiving side (hlink.c match_gnums, hard_link_check,
 * finish_hard_link). Which member of a group gets its data and in what order
 * the others are linked is visible in the output, so this follows upstream:
 *
 * - a member whose destination is missing waits ("deferred") unless it is
 *   the group's last member in its list, which is then transferred;
 * - a member found up to date, or one that is transferred, becomes the
 *   group's file: the members waiting behind it are linked to it, the ones
 *   that arrived while it was in transfer first (each chains behind the one
 *   before it, so in arrival order), then the deferred ones from the latest
 *   back;
 * - members met after that are linked right away.
 *
 * Waiting members count as work in progress of their list, so the list's
 * end is not announced before they are linked.
 */
import type { FileList } from "../flist/lists.ts";

export interface Member {
  row: number;
  ndx: number;
  list: FileList;
}

interface Group {
  /** The member in place that the others link to. */
  done: Member | null;
  /** The member whose data is being received. */
  sent: Member | null;
  /** Members that came while `sent` was in transfer, in arrival order. */
  waiters: Member[];
  /** Members deferred because they were missing and not the last, in list order. */
  deferred: Member[];
}

export type Claim = { kind: "link"; to: number } | { kind: "wait" } | { kind: "handle"; last: boolean };

export class HardLinkGroups {
  private readonly groups = new Map<string, Group>();
  /** Each group's last member among the lists received so far (a new list can move it). */
  private readonly lastRow = new Map<string, number>();
  private notedLists = 0;

  private group(key: string): Group {
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = { done: null, sent: null, waiters: [], deferred: [] }));
    return g;
  }

  /** Takes in the lists received since the last call (upstream matches each list's groups as it arrives). */
  noteLists(lists: readonly FileList[], keyOf: (row: number) => string | undefined): void {
    for (; this.notedLists < lists.length; this.notedLists++) {
      const list = lists[this.notedLists]!;
      for (let row = list.ndxStart; row < list.ndxStart + list.count; row++) {
        const key = keyOf(row);
        if (key !== undefined) this.lastRow.set(key, row);
      }
    }
  }

  /** What to do with a hard-linked member met in list order. */
  claim(key: string, m: Member): Claim {
    const g = this.group(key);
    if (g.done) return { kind: "link", to: g.done.row };
    if (g.sent) {
      g.waiters.push(m);
      m.list.inProgress++;
      return { kind: "wait" };
    }
    return { kind: "handle", last: this.lastRow.get(key) === m.row };
  }

  /** A missing member that is not the last: it waits for the group's file. */
  defer(key: string, m: Member): void {
    this.group(key).deferred.push(m);
    m.list.inProgress++;
  }

  /** The member's data was requested. */
  sending(key: string, m: Member): void {
    this.group(key).sent = m;
  }

  /** `m` is in place (received, or found up to date): returns the members to link to it now, in upstream's order. */
  placed(key: string, m: Member): Member[] {
    const g = this.group(key);
    g.done = m;
    g.sent = null;
    const toLink = [...g.waiters.splice(0), ...g.deferred.splice(0).reverse()];
    for (const w of toLink) w.list.inProgress--;
    return toLink;
  }

  /**
   * The member in transfer could not be put in place: the next candidate
   * (the first waiter, else the latest deferred member) is returned to be
   * handled in full.
   */
  failed(key: string): Member | null {
    const g = this.group(key);
    g.sent = null;
    const next = g.waiters.shift() ?? g.deferred.pop() ?? null;
    if (next) next.list.inProgress--;
    return next;
  }
}
