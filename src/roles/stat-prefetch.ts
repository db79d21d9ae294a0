/**
 * The generator's lstat of each destination entry (recv_generator's
 * link_stat), done ahead by the native core's worker thread: the lists the
 * generator will reach are offered directory by directory (one job per run
 * of rows that share a directory), and when the generator comes to a row its
 * stat is taken from the records instead of being made on the JS thread. A
 * row not offered, whose record is not done yet, or whose stat failed other
 * than with ENOENT is stat'ed there as before: the generator never waits for
 * the worker (a second stat costs less than a futex round trip), and errors
 * are reported by the ordinary path. A generator that finds the worker
 * behind stats the next rows itself while the worker skips them. In an
 * initial transfer no row is asked for (all are inside directories the
 * generator made): offering stops after a few thousand rows.
 *
 * Why a record made earlier is still what the generator would see:
 * - The generator handles rows in order, and a row is asked for once (the
 *   first time: a directory met again as its own list's parent, or a row
 *   generated again for a redo, is stat'ed afresh).
 * - Nothing this process does touches a listed name before the generator has
 *   stat'ed it: the receiver writes only rows already generated; deletion
 *   (--delete-during) removes only names the sender did not list; a row
 *   replaced by another type (a file where a directory goes) is removed when
 *   that row itself is handled, after its stat.
 * - What the generator does to a directory changes the answers for the rows
 *   inside it, and those are answered without any stat: a directory it
 *   creates (or replaces) is in x.createdDirs, which statDest looks at before
 *   this (the worker may have opened what was there before, a symlink say:
 *   that record is never read).
 * - Options under which these hold no longer are left out (see wanted):
 *   --backup renames the old file to another name that may be listed,
 *   --delay-updates and --fuzzy read other names, -H links names to each
 *   other, -K follows symlinks, -R --no-implied-dirs makes parents as it goes,
 *   --inplace/--append write in place, -n remembers missing directories
 *   separately, and a single-file destination has a name of its own.
 * Others than this process may still change the tree meanwhile, as they may
 * between upstream's stat and its use.
 */
import { F } from "../flist/table.ts";
import type { FileList } from "../flist/lists.ts";
import type { DestStat } from "../fs/dest-fs.ts";
import { core, type StatPrefetcher } from "../native/index.ts";
import type { ReceivingSide } from "./context.ts";

/** The most names in one job (a bigger directory is cut into several). */
const MAX_JOB = 1024;
const ENOENT = 2;
/** Rows the generator stats itself when it finds the worker behind, while the worker gets ahead again. */
const LEAP = 64;
/**
 * After this many rows offered, offering stops for good if the generator asked for fewer than a quarter
 * of them: it answers rows inside directories it created without a stat (an initial transfer), so the
 * worker's stats and the records' memory would be spent for nothing.
 */
const JUDGE_AFTER = 8192;

/** Whether offering should stop, `asked` of the `offered` rows having been asked for (see JUDGE_AFTER). */
export const offersWasted = (offered: number, asked: number): boolean => offered >= JUDGE_AFTER && asked < offered / 4;

/** A copy of `bytes` with room for at least `min`. */
function grown(bytes: Uint8Array, min: number): Uint8Array<ArrayBuffer> {
  const next = new Uint8Array(Math.max(min, bytes.length * 2));
  next.set(bytes);
  return next;
}

/** Rows from..to-1 (one directory's), their records in slots slot..slot+(to-from)-1. */
interface Job {
  from: number;
  to: number;
  slot: number;
}

export class StatPrefetch {
  private readonly p: StatPrefetcher = core.statPrefetcher;
  /** Jobs given, oldest first (from `head` on: those before are passed). */
  private jobs: Job[] = [];
  private head = 0;
  /** The next row to offer, in list order: lists[list], row. */
  private list = 0;
  private row = -1;
  /** Rows below the current list's start, and up to the last one asked for, are never answered. */
  private floor = 0;
  private lastAsked = -1;
  /** Slots done as last read, and the slot after the last one given. */
  private done = 0;
  private end = 0;
  /** Rows whose slots are below this are stat'ed by the generator (see take). */
  private leapTo = 0;
  /** Rows offered, rows the generator asked for, and whether offering has stopped (see JUDGE_AFTER). */
  private offered = 0;
  private asked = 0;
  private stopped = false;
  /** Where a job's names are packed for submit (kept: most jobs fit in what the last one grew it to). */
  private names = new Uint8Array(16 * 1024);

  /** Whether stats may be taken ahead in this run (see the module's comment), decided once. */
  static wanted(x: ReceivingSide): boolean {
    const o = x.o;
    return (
      core.statPrefetcher.slots > 0 &&
      x.dest.fdOps &&
      !x.soloName &&
      !o.dryRun &&
      !o.listOnly &&
      !o.keepDirlinks &&
      !o.hardLinks &&
      !o.fuzzy &&
      !o.backup &&
      !o.delayUpdates &&
      !(o.relative && !o.impliedDirs) &&
      !o.inplace &&
      !o.append
    );
  }

  constructor(private readonly x: ReceivingSide) {}

  /** The generator starts on `list`: nothing before it is answered any more; offer what follows. */
  startList(list: FileList): void {
    this.floor = list.ndxStart;
    if (this.row < list.ndxStart) {
      const lists = this.x.lists.lists;
      let li = this.list;
      while (li < lists.length && lists[li] !== list) li++;
      if (li < lists.length) {
        this.list = li;
        this.row = list.ndxStart;
      }
    }
    this.topUp(list.ndxStart);
  }

  /** The generator is at `row`: lets go of the records before it and offers more rows, as far as the ring has room. */
  topUp(row: number): void {
    if (this.stopped) return;
    if (offersWasted(this.offered, this.asked)) {
      this.stopped = true;
      return;
    }
    const lowest = this.release(row);
    let room = this.p.slots - (this.end - lowest);
    const x = this.x;
    const t = x.t;
    const lists = x.lists.lists;
    let given = false;
    let li = this.list;
    let r = this.row;
    while (room > 0 && li < lists.length) {
      const l = lists[li]!;
      const end = l.ndxStart + l.count;
      if (r < l.ndxStart) r = l.ndxStart;
      if (r >= end) {
        li++;
        continue;
      }
      if (!this.eligible(r)) {
        r++;
        continue;
      }
      // A run of rows in the same directory, as many as the ring has room for.
      const dirId = t.dirId[r]!;
      const from = r;
      const most = from + Math.min(MAX_JOB, room);
      // The names packed as the worker takes them, each followed by a NUL (copied in place: no view per row).
      let at = 0;
      while (r < end && r < most && t.dirId[r] === dirId && this.eligible(r)) {
        if (this.names.length < at + t.nameLen[r]! + 1) this.names = grown(this.names, at + t.nameLen[r]! + 1);
        at = t.copyBaseName(r, this.names, at);
        this.names[at++] = 0;
        r++;
      }
      const count = r - from;
      const slot = this.p.submit(x.dest.abs(t.dirNames[dirId]!), this.names.subarray(0, at), count);
      if (slot < 0) {
        r = from;
        break;
      }
      this.jobs.push({ from, to: r, slot });
      this.offered += count;
      this.end = slot + count;
      room -= count;
      given = true;
    }
    this.list = li;
    this.row = r;
    if (given) this.p.kick();
  }

  /** Drops the jobs wholly before `row`; the lowest slot still wanted (the worker skips those below it). */
  private release(row: number): number {
    const jobs = this.jobs;
    while (this.head < jobs.length && jobs[this.head]!.to <= row) this.head++;
    if (this.head > 1024) {
      this.jobs = jobs.slice(this.head);
      this.head = 0;
    }
    const job = this.jobs[this.head];
    const lowest = job ? job.slot + Math.max(0, row - job.from) : this.end;
    this.p.skipBelow(lowest);
    return lowest;
  }

  /** The rows statDest sends to DestFs.lstatIn: active, in a directory, not the top-level "." nor an absolute -R name. */
  private eligible(row: number): boolean {
    const t = this.x.t;
    if (t.flags[row]! & F.INACTIVE) return false;
    // (Looked at in place: a view of the name per row was a good part of offering's cost.)
    const first = t.baseNameStart(row);
    if (first < 0 || first === 0x2f) return false;
    return !(t.nameLen[row] === 1 && first === 0x2e && t.dirName(row).length === 0);
  }

  /**
   * The stat of `row` done ahead: its lstat, null when nothing is there
   * (ENOENT, of the name or of its directory), or undefined when the caller
   * must stat it itself (not offered, not done yet, asked for before, or
   * failed otherwise: the caller's own stat reports why).
   */
  take(row: number): DestStat | null | undefined {
    if (row < this.floor || row <= this.lastAsked) return undefined;
    this.lastAsked = row;
    this.asked++;
    const jobs = this.jobs;
    while (this.head < jobs.length && jobs[this.head]!.to <= row) this.head++;
    const job = jobs[this.head];
    if (!job || job.from > row) return undefined;
    const slot = job.slot + row - job.from;
    if (slot < this.leapTo) return undefined;
    if (slot >= this.done && slot >= (this.done = this.p.done())) {
      // Caught up with the worker: it jumps ahead while these rows are stat'ed here, instead of both
      // stat'ing the same rows in step (the records it skips are never read).
      this.leapTo = slot + LEAP;
      this.p.skipBelow(this.leapTo);
      return undefined;
    }
    const rec = this.p.record(slot);
    if (typeof rec === "number") return rec === ENOENT ? null : undefined;
    return rec;
  }
}
