/**
 * The received file lists of a session (flist.c recv_file_list,
 * flist_sort_and_clean, flist_new). Without incremental recursion there is
 * one list starting at index 0; with it, a first list starting at 1 and one
 * sub-list per directory, each starting one index after the previous list's
 * end (the gap is the "parent directory" index ndxStart - 1).
 */
import { RERR, RsyncError, protocolError } from "../errors.ts";
import type { ChunkReader } from "../protocol/reader.ts";
import { NDX_FLIST_OFFSET } from "../protocol/ndx.ts";
import { FlistDecoder, type FlistWireOptions, IOERR_VALID_MASK } from "./decode.ts";
import { compareNames, compareRows } from "./sort.ts";
import { F, FileTable, isDevice, isDir, isLink, isReg } from "./table.ts";
import type { WireOrder } from "./wire-order.ts";
import { flistDump, type DumpView } from "./flist-dump.ts";

export interface FileList {
  ndxStart: number;
  count: number;
  /** Index into dirList of the directory this list holds the contents of; -1 if none. */
  parentDir: number;
  /** Generator bookkeeping: transfers requested but not finished, and files to redo. */
  inProgress: number;
  toRedo: number;
}

/** What the lists held, for --stats and progress (flist.c recv_file_list's stats counters). */
export interface ListTally {
  files: number;
  dirs: number;
  symlinks: number;
  devices: number;
  specials: number;
  /** Bytes of regular files and symlinks (stats.total_size as the lists arrive). */
  size: number;
  /** Bytes the lists took on the wire. */
  bytes: number;
}

export class FileLists {
  readonly table = new FileTable();
  /** Complete, sorted lists, in the order received: what the generator may walk. */
  readonly lists: FileList[] = [];
  /** The list being received (not yet sorted: its rows are not final). */
  private receiving: FileList | null = null;
  /** dir_flist: the rows of all directories, list by list, each list's in sorted order. */
  readonly dirList: number[] = [];
  private readonly dirsWithList = new Set<number>();
  /** No more lists will come (NDX_FLIST_EOF, or the only list of a non-incremental run). */
  eof = false;
  readonly tally: ListTally = { files: 0, dirs: 0, symlinks: 0, devices: 0, specials: 0, size: 0, bytes: 0 };
  /** --iconv: indexes count entries in transmission order (set before any list arrives). */
  wireOrder: WireOrder | null = null;
  /** --iconv: a directory's row → its place in dirList (sub-lists name directories by transmission order). */
  private readonly dirListIndex = new Map<number, number>();

  /** A sub-list's directory index as the sender wrote it, as an index into dirList. */
  dirIndexFromWire(index: number): number {
    if (!this.wireOrder) return index;
    const row = this.wireOrder.dirRow(index);
    return row === undefined ? -1 : (this.dirListIndex.get(row) ?? -1);
  }

  constructor(
    readonly incRecurse: boolean,
    readonly protocol: number,
  ) {}

  get nextStart(): number {
    const last = this.receiving ?? this.lists[this.lists.length - 1];
    if (!last) return this.incRecurse ? 1 : 0;
    return last.ndxStart + last.count + 1;
  }

  /** Starts receiving a list: it becomes visible in `lists` only once finished. */
  begin(list: FileList): void {
    if (this.receiving) throw protocolError("a file list started before the previous one ended");
    this.receiving = list;
  }

  /** The list listOf found last: the generator and receiver ask about the files of one list in a row. */
  private lastListOf: FileList | undefined;

  /** The list holding `ndx` (its parent-dir slot ndxStart - 1 included). */
  listOf(ndx: number): FileList | undefined {
    const last = this.lastListOf;
    if (last && ndx >= last.ndxStart - 1 && ndx < last.ndxStart + last.count) return last;
    const lists = this.lists;
    let lo = 0;
    let hi = lists.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const l = lists[mid]!;
      if (ndx < l.ndxStart - 1) hi = mid - 1;
      else if (ndx >= l.ndxStart + l.count) lo = mid + 1;
      else return (this.lastListOf = l);
    }
    return undefined;
  }

  /** Checks a sub-list announcement (NDX_FLIST_OFFSET - dirIndex) and returns the directory's row. */
  claimDirList(dirIndex: number): number {
    // rsync.c read_ndx_and_attrs names the index as it came (NDX_FLIST_OFFSET - dirIndex), and the range of those.
    if (dirIndex < 0 || dirIndex >= this.dirList.length) {
      throw protocolError(`Invalid dir index: ${NDX_FLIST_OFFSET - dirIndex} (${NDX_FLIST_OFFSET} - ${NDX_FLIST_OFFSET - this.dirList.length + 1}) [receiver]`);
    }
    const row = this.dirList[dirIndex]!;
    if (this.table.flags[row]! & F.INACTIVE) throw protocolError(`rsync: refusing flist for cleared dir_ndx ${dirIndex}`);
    if (this.dirsWithList.has(dirIndex)) throw protocolError(`rsync: refusing malicious duplicate flist for dir ${dirIndex}`);
    this.dirsWithList.add(dirIndex);
    return row;
  }

  /**
   * The first incremental list holds the contents of the top directory "."
   * when it starts with it: dirList[0] is then that list's parent (upstream
   * parent_ndx 0), handled under index 0, and never gets a list of its own.
   */
  adoptTopDir(list: FileList): void {
    const t = this.table;
    const first = list.ndxStart;
    const isTop = list.count > 0 && this.dirList.length > 0 && t.dirId[first] === 0 && t.nameLen[first] === 1 && t.baseName(first)[0] === 0x2e;
    list.parentDir = isTop ? 0 : -1;
    if (isTop) this.dirsWithList.add(0);
  }

  /**
   * Sorts a freshly received list into place, deactivates duplicate names
   * (keeping a directory over a non-directory, else the first), and adds
   * its directories to dirList.
   */
  finish(list: FileList): void {
    const t = this.table;
    const { ndxStart: start, count: n } = list;
    const order: number[] = [];
    for (let i = 0; i < n; i++) order.push(start + i);
    const protocol = this.protocol;
    order.sort((x, y) => compareRows(t, x, y, protocol) || x - y);
    this.wireOrder?.record(start, order, (row) => isDir(t.mode[row]!));
    // In place, through the row just past the list (the next list's parent-directory slot, never an entry).
    let moved = false;
    for (let i = 0; i < n && !moved; i++) moved = order[i] !== start + i;
    if (moved) t.arrange(start, order, start + n);
    this.removeDuplicates(list);
    if (this.incRecurse) {
      for (let row = start; row < start + n; row++) {
        if (!isDir(t.mode[row]!)) continue;
        if (this.wireOrder) this.dirListIndex.set(row, this.dirList.length);
        this.dirList.push(row);
      }
    }
    this.receiving = null;
    this.lists.push(list);
  }

  /** --debug=DUP: set to an array to collect flist_sort_and_clean's "removing duplicate name" lines, for the caller to print. */
  duplicateLines: string[] | null = null;

  private removeDuplicates(list: FileList): void {
    const t = this.table;
    const dropped = (row: number) => this.duplicateLines?.push(`removing duplicate name ${Buffer.from(t.path(row)).toString("latin1")} from file list (${row})`);
    const end = list.ndxStart + list.count;
    let prev = -1;
    for (let row = list.ndxStart; row < end; row++) {
      if (prev < 0) {
        prev = row;
        continue;
      }
      let dup = compareRows(t, row, prev, this.protocol) === 0 ? prev : -1;
      if (dup < 0 && this.protocol >= 29 && isDir(t.mode[row]!)) dup = this.findAsFile(row, list.ndxStart, prev);
      if (dup < 0) {
        prev = row;
        continue;
      }
      // Keep a directory over a non-directory (it may have contents), else the first.
      if (isDir(t.mode[row]!) && !isDir(t.mode[dup]!)) {
        dropped(dup);
        t.flags[dup] = t.flags[dup]! | F.INACTIVE;
        prev = row;
      } else {
        if (isDir(t.mode[row]!)) {
          t.flags[dup] = (t.flags[dup]! | (t.flags[row]! & (F.TOP_DIR | F.CONTENT_DIR))) & (t.flags[row]! | ~F.IMPLIED_DIR);
        }
        dropped(row);
        t.flags[row] = t.flags[row]! | F.INACTIVE;
      }
    }
  }

  /** Binary search in rows [lo, hi] for a non-directory with the name of directory `row`. */
  private findAsFile(row: number, lo: number, hi: number): number {
    const t = this.table;
    const dir = t.dirName(row);
    const base = t.baseName(row);
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (t.flags[mid]! & F.INACTIVE) return -1;
      const c = compareNames(t.dirName(mid), t.baseName(mid), isDir(t.mode[mid]!), dir, base, false, this.protocol);
      if (c === 0) return isDir(t.mode[mid]!) ? -1 : mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

export interface ListReceiveOptions extends FlistWireOptions {
  /** The uid/gid name lists follow a non-incremental list (unless --numeric-ids). */
  idLists: boolean;
  /** The id lists end with the names of uid/gid 0 (CF_ID0_NAMES). */
  id0Names: boolean;
  /** Checks a name against what the client asked for; false rejects the transfer. */
  isRequested?: (name: Uint8Array, dir: boolean) => boolean;
  /** A name our filter rules exclude: a sender that lists it is not trusted. */
  isExcluded?: (name: Uint8Array, dir: boolean) => boolean;
}

/**
 * Receives one list entry by entry. `step` reads one item (an entry, or the
 * end marker with whatever follows it) and returns true once the list is
 * complete; it is safe to retry after UNDERFLOW.
 */
export class ListReceiver {
  readonly list: FileList;
  ioError = 0;
  /**
   * --debug=flist2 / hlink: set to an array to collect recv_file_list's lines
   * (each name, then the count; "[%s] #N hard-links #M" with %s for the role
   * that reads it), for the caller to print.
   */
  debugLines: string[] | null = null;
  /** Which of them: the names (flist2), the hard links (hlink), the whole list as output_flist dumps it (flist3; its `who` is "%s"). */
  sayNames = true;
  sayHardLinks = false;
  dump: DumpView | null = null;
  private readonly expectedDir: Uint8Array | null;
  /** The interned directory id of an entry found to lie in expectedDir: the entries after it that share it need no byte comparison. */
  private expectedDirId = -1;
  private startedAt = -1;

  constructor(
    private readonly lists: FileLists,
    private readonly decoder: FlistDecoder,
    private readonly o: ListReceiveOptions,
    parentDirIndex: number,
  ) {
    // --iconv: the sender counts directories in transmission order.
    if (parentDirIndex >= 0 && lists.wireOrder) {
      const ours = lists.dirIndexFromWire(parentDirIndex);
      if (ours < 0) throw protocolError(`Invalid dir index: ${parentDirIndex} (0 - ${lists.dirList.length - 1})`);
      parentDirIndex = ours;
    }
    const parentRow = parentDirIndex >= 0 ? lists.claimDirList(parentDirIndex) : -1;
    this.list = { ndxStart: lists.nextStart, count: 0, parentDir: parentDirIndex, inProgress: 0, toRedo: 0 };
    // In incremental mode every entry must sit directly in the announced directory.
    this.expectedDir = lists.incRecurse ? (parentRow >= 0 ? lists.table.path(parentRow) : new Uint8Array(0)) : null;
    lists.begin(this.list);
  }

  step(r: ChunkReader): boolean {
    const l = this.list;
    if (this.startedAt < 0) this.startedAt = r.consumed;
    const flags = this.decoder.readFlags(r);
    if (typeof flags !== "number") {
      const p = this.o.protocol;
      if (!this.lists.incRecurse && this.o.idLists) this.decoder.readIdLists(r, this.o.id0Names);
      const ioError = p < 30 ? r.i32() & IOERR_VALID_MASK : flags.ioError;
      this.ioError = ioError;
      // Upstream counts socket bytes here, its frame header included.
      const tally = this.lists.tally;
      tally.files += l.count;
      tally.bytes += r.consumed - this.startedAt + 4;
      if (this.debugLines && this.sayNames) this.debugLines.push(`received ${l.count} names`);
      this.lists.finish(l);
      // flist_sort_and_clean's duplicate lines come between the two (--debug=DUP).
      if (this.debugLines) this.debugLines.push(...(this.lists.duplicateLines?.splice(0) ?? []), ...(this.dump ? flistDump(this.lists.table, l, this.dump) : []), ...(this.sayNames ? ["recv_file_list done"] : []));
      if (this.lists.incRecurse && l.ndxStart === 1) this.lists.adoptTopDir(l);
      if (!this.lists.incRecurse) this.lists.eof = true;
      return true;
    }
    const row = l.ndxStart + l.count;
    this.decoder.readEntry(r, flags, row, l.ndxStart, l.count);
    const t = this.lists.table;
    // An entry whose name did not convert (--iconv) is already out of the transfer.
    const dropped = (t.flags[row]! & F.INACTIVE) !== 0;
    if (this.expectedDir) {
      // Upstream empties such a name, so in a sub-list it no longer lies in the list's directory (flist.c recv_file_list).
      if (!dropped) this.checkDir(row);
      else if (this.expectedDir.some((b) => b !== 0x2f)) throw new RsyncError(RERR.UNSUPPORTED, "ABORTING due to invalid path from sender: /");
    }
    if ((this.o.isRequested || this.o.isExcluded) && !dropped && !isDot(t.baseName(row), t.dirName(row))) {
      const path = t.path(row);
      if (this.o.isExcluded?.(path, isDir(t.mode[row]!))) {
        throw new RsyncError(RERR.UNSUPPORTED, `ERROR: rejecting excluded file-list name: ${Buffer.from(path).toString("latin1")}`);
      }
      if (this.o.isRequested && !this.o.isRequested(path, isDir(t.mode[row]!))) {
        throw new RsyncError(RERR.UNSUPPORTED, `ERROR: rejecting unrequested file-list name: ${Buffer.from(path).toString("latin1")}`);
      }
    }
    l.count++;
    this.count(t.mode[row]!, t.size[row]!);
    if (this.debugLines) {
      const first = this.decoder.lastHardLinkFirst;
      if (this.sayHardLinks && first >= 0) this.debugLines.push(`[%s] #${row} hard-links #${first} (${first >= l.ndxStart ? "" : "un"}abbrev)`);
      if (this.sayNames) this.debugLines.push(`recv_file_name(${Buffer.from(t.path(row)).toString("latin1")})`);
    }
    return false;
  }

  private count(mode: number, size: number): void {
    const tally = this.lists.tally;
    if (isReg(mode) || isLink(mode)) tally.size += size;
    if (isReg(mode)) return;
    if (isDir(mode)) tally.dirs++;
    else if (isLink(mode)) tally.symlinks++;
    else if (isDevice(mode)) tally.devices++;
    else tally.specials++;
  }

  private checkDir(row: number): void {
    const t = this.lists.table;
    if (t.dirId[row] === this.expectedDirId) return;
    let dir = t.dirName(row);
    let expected = this.expectedDir!;
    // -R with an absolute source: names come with their leading slash, which the receiver drops on both sides.
    if (this.o.relativePaths) {
      while (dir[0] === 0x2f) dir = dir.subarray(1);
      while (expected[0] === 0x2f) expected = expected.subarray(1);
    }
    if (dir.length !== expected.length || Buffer.compare(dir, expected) !== 0) {
      throw new RsyncError(
        RERR.UNSUPPORTED,
        `ABORTING due to invalid path from sender: ${Buffer.from(dir).toString("latin1")}/${Buffer.from(t.baseName(row)).toString("latin1")}`,
      );
    }
    this.expectedDirId = t.dirId[row]!;
  }
}

const isDot = (base: Uint8Array, dir: Uint8Array) => dir.length === 0 && base.length === 1 && base[0] === 0x2e;

/**
 * rsync.c read_ndx_and_attrs: a negative index that is no marker the reader
 * takes, named with the range of the indexes it knows (NDX_DONE up to the
 * last list's last entry, -1 before any).
 */
export function invalidFileIndex(ndx: number, lists: FileLists, who: "sender" | "receiver"): RsyncError {
  const last = lists.lists.at(-1);
  const end = last ? last.ndxStart + last.count - 1 : -1;
  return protocolError(`Invalid file index: ${ndx} (-1 - ${end}) [${who}]`);
}
