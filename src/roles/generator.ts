/**
 * The generator (generator.c generate_files/recv_generator): walks the file
 * lists in order, compares each entry with the destination, creates
 * directories, symlinks and devices itself, and asks the sender for the
 * data of every regular file that needs it (with the block sums of the
 * existing file as the delta basis).
 *
 * It runs ahead of the receiver: requests go out as fast as the socket takes
 * them, and the generator only waits when it has nothing left to request.
 */
import { defaultPermsForDir } from "../flist/acls.ts";
import { protocolError } from "../errors.ts";
import { core } from "../native/index.ts";
import { errText } from "../fs/errors.ts";
import { chooseSumHead, NULL_SUM_HEAD, writeSumHead, type SumHead } from "../delta/sum-head.ts";
import { blockSeedOrder, fileListHasher } from "../protocol/checksum-choice.ts";
import { NDX_DEL_STATS, NDX_DONE } from "../protocol/ndx.ts";
import { F, isDevice, isDir, isLink, isReg, isSpecial } from "../flist/table.ts";
import type { FileList } from "../flist/lists.ts";
import type { DestStat } from "../fs/dest-fs.ts";
import { openedDeviceLength } from "../fs/device-content.ts";
import { AttrRules, AttrStepError, ITEM, SIGNIFICANT_ITEM_FLAGS, type Wanted } from "./attrs.ts";
import { destFullName } from "../fs/full-name.ts";
import { nameInDir, type ReceivingSide } from "./context.ts";
import { Deleter, type MakeRoomFor } from "./delete.ts";
import { BACKUP, Backups } from "./backup.ts";
import { BasisDirs } from "./basis-dirs.ts";
import { isUnsafeSymlink, sanitizeLinkTarget } from "./symlink-safety.ts";
import { MUNGE_PREFIX } from "../flist/build.ts";
import { FNAMECMP_BACKUP, FNAMECMP_FUZZY, FNAMECMP_PARTIAL_DIR, partialPathFor, removePartialFile } from "./partial-dir.ts";
import { FuzzyBasis, fuzzyDirs } from "./fuzzy-basis.ts";
import { HardLinkGroups } from "./hard-links.ts";
import { FileSumPrefetch } from "./file-sum-prefetch.ts";
import { StatPrefetch } from "./stat-prefetch.ts";
import { noteWork } from "../io/memory-pacer.ts";
import { xattrRequestFollows } from "../flist/xattrs.ts";
import { debugLine, shownName } from "../output/debug-line.ts";
import * as fs from "node:fs";

/**
 * A delta basis other than the destination file: a --partial-dir file, or a
 * fuzzy match, which also names its basis type and its name (the xname).
 */
interface AltBasis {
  rel: Uint8Array;
  st: DestStat;
  type?: number;
  xname?: Uint8Array;
  /** A basis dir's file found for a missing one: the item is reported against it (upstream's real_sx). */
  reportAgainst?: DestStat;
}

const dirOf = (rel: Uint8Array) => rel.subarray(0, Math.max(0, rel.lastIndexOf(0x2f)));
const baseOf = (rel: Uint8Array) => rel.subarray(rel.lastIndexOf(0x2f) + 1);

/** Entries known before generating starts with -H and incremental lists (upstream MIN_FILECNT_LOOKAHEAD / 2). */
const HLINK_LOOKAHEAD = 500;
/** Flush and yield to the event loop every this many entries (lets the socket drain). */
const YIELD_EVERY = 256;
/** Entries of finished lists after which their NDX_DONE markers are sent without waiting (see finishedLists). */
const DONE_FLUSH_ENTRIES = 256;
const READ_CHUNK = 1 << 20;
/** What one delta request costs the heap besides its sums, in the GC pacer's units (its objects here and the receiver's for the file). */
const DELTA_REQUEST_WORK = 2048;
/** A failed lstat's errno for "nothing there". */
const ENOENT = 2;

/** statDestOrSay: the stat failed and was reported. */
const FAILED = Symbol("stat failed");

export class Generator {
  readonly attrs: AttrRules;
  private readonly deleter: Deleter;
  private readonly hardLinks = new HardLinkGroups();
  /** Transfers the receiver has finished and the generator has not looked at yet. */
  private readonly ended: { row: number; ok: boolean }[] = [];

  private noteHardLinkLists(): void {
    const t = this.x.t;
    this.hardLinks.noteLists(this.x.lists.lists, (row) => (t.flags[row]! & F.INACTIVE ? undefined : t.extras.get(row)?.hlinkKey));
  }
  /** Directory-name ids whose contents are skipped (see skipDir). */
  private readonly skippedDirs = new Set<number>();
  /** Directory-name ids known to be real directories here (no symlinks in our path). */
  private readonly confirmedDirs = new Set<number>([0]);
  /** Directories the file list has as directories (by dir id), as the entries come. */
  private readonly listedDirs = new Set<number>();
  /** -n: directories that would have been created; what is beneath them is all new (upstream's missing_below). */
  private readonly missingDirs = new Set<number>();
  /** Directories whose permissions we loosened while filling them, with the mode to restore at the end. */
  private readonly tweakedDirs: { row: number; mode: number }[] = [];
  private redoPass = false;
  /** -y: the fuzzy search (null without it). */
  private readonly fuzzy: FuzzyBasis | null;
  /** --compare-dest / --copy-dest / --link-dest (null without them). */
  private readonly basisDirs: BasisDirs | null;
  /** --debug levels, read once: GENR (recv_generator and the phases), DELTASUM (the block sums sent), TIME (touch_up_dirs). */
  private readonly genrDebug: number;
  private readonly deltasumDebug: number;
  private readonly timeDebug: number;

  constructor(private readonly x: ReceivingSide) {
    this.genrDebug = x.out.debug.get("GENR");
    this.deltasumDebug = x.out.debug.get("DELTASUM");
    this.timeDebug = x.out.debug.get("TIME");
    this.attrs = new AttrRules(x.o, x.t, x.ids, x.amRoot, x.umask);
    this.attrs.acls = x.acls ?? null;
    this.attrs.ownDebug = x.out.debug.get("OWN");
    if (!x.o.perms) this.attrs.dirDefaultPerms = (row) => this.dirDefaultPerms(row);
    if (!x.o.perms && x.out.debug.get("ACL")) {
      this.attrs.defaultPermsSaid = (row) => {
        this.dirDefaultPerms(row);
        const line = this.aclPermsLines.get(x.soloName ? -1 : x.t.dirId[row]!);
        if (line) debugLine(line);
      };
    }
    this.deleter = new Deleter(x);
    this.fuzzy = x.o.fuzzy ? new FuzzyBasis(x.dest, x.o.modifyWindow, (dir) => fuzzyDirs(x.o, x.dest.root, dir)) : null;
    if (this.fuzzy) {
      this.fuzzy.debugLevel = x.out.debug.get("FUZZY");
      this.fuzzy.flistDebug = x.out.debug.get("FLIST");
      if (this.fuzzy.flistDebug > 2) {
        this.fuzzy.dumpView = { human: x.o.humanReadable, nsec: x.s.protocol >= 31, uid: x.amRoot && x.o.owner, gid: x.o.group, ourUid: process.getuid?.() ?? -1, protocol: x.s.protocol };
      }
    }
    this.basisDirs = BasisDirs.wanted(x.o)
      ? new BasisDirs(x, this.attrs, {
          itemize: (row, ndx, iflags, xname) => this.itemize(row, ndx, iflags, xname),
          upToDate: (row, rel, st) => this.upToDate(row, rel, st),
          linkTarget: (row) => this.storedLinkTarget(row, x.t.extras.get(row)?.link ?? new Uint8Array(0)),
        })
      : null;
    // Like upstream's generator, act on finished transfers at our own check points, not when they happen.
    x.fileDone = (row, ok) => {
      this.ended.push({ row, ok });
      x.wakeGenerator();
    };
  }

  private get out() {
    return this.x.output.data;
  }

  /** The destination path of an entry (the local name for a single-file transfer). */
  rel(row: number): Uint8Array {
    const x = this.x;
    if (x.soloName) return x.soloName;
    const p = x.t.path(row);
    return p.length === 1 && p[0] === 0x2e ? new Uint8Array(0) : p;
  }

  async run(): Promise<void> {
    const x = this.x;
    const lists = x.lists;
    const inc = lists.incRecurse;
    if (this.genrDebug) debugLine(`generator starting pid=${process.pid}`);
    if (this.deleter.mode === "before" && !x.soloName) this.deleter.deleteEverywhere();
    if (!x.o.listOnly) this.basisDirs?.warnMissing();
    // --debug=flist (-vv): whether blocks of the basis files will be used.
    if (x.out.debug.get("FLIST") > 0) x.report.info(`delta-transmission ${x.o.wholeFile === true && !x.o.append ? "disabled for local transfer or --whole-file" : "enabled"}`);
    // With -H upstream lets the lists run ahead first (MIN_FILECNT_LOOKAHEAD / 2), which decides
    // which member of a hard-link group is transferred: so do we.
    if (x.o.hardLinks && inc) {
      while (!lists.eof && lists.lists.reduce((n, l) => n + l.count, 0) < HLINK_LOOKAHEAD) await this.idle();
    }

    for (let li = 0; ; li++) {
      while (li >= lists.lists.length) {
        this.handleRedo();
        this.finishedLists();
        if (lists.eof) break;
        await this.idle();
      }
      const list = lists.lists[li];
      if (!list) break;
      await this.generateList(list);
      if (!inc) {
        x.ndxOut.write(this.out, NDX_DONE);
        break;
      }
      this.finishedLists();
    }

    this.sumPrefetch?.end();
    // generate_files' delete_in_dir(NULL): deletion while generating is over.
    if (this.deleter.duringMode) this.deleter.endPass();
    // Phase 1 (redo): wait until the sender has ended phase 0, re-requesting failed files meanwhile.
    this.redoPass = true;
    this.phaseDebug(1);
    for (;;) {
      this.handleRedo();
      this.finishedLists();
      if (x.doneMarkers >= 1 && (!inc || this.allListsDone())) break;
      await this.idle();
    }
    this.phaseDebug(2);
    const p = x.s.protocol;
    // --delay-updates (EARLY_DELAY_DONE_MSG): the end of the delay phase waits until the receiver has put the files in place.
    const delay = x.o.delayUpdates;
    x.ndxOut.write(this.out, NDX_DONE);
    if (p >= 29 && !delay) x.ndxOut.write(this.out, NDX_DONE);
    const lateDelete = this.deleter.mode === "after" || this.deleter.mode === "delay";
    if (p >= 31 && !lateDelete) {
      this.writeDeleteStats();
      if (!delay) x.ndxOut.write(this.out, NDX_DONE);
    }
    x.output.flush();

    while (x.doneMarkers < 2) {
      this.handleRedo();
      await this.idle();
    }
    if (p >= 29) this.phaseDebug(3);
    if (p >= 29 && delay) {
      // The delayed files are in place: links to them are made (and itemized) before the phase ends.
      this.handleRedo();
      x.ndxOut.write(this.out, NDX_DONE);
      if (p >= 31 && !lateDelete) x.ndxOut.write(this.out, NDX_DONE);
      x.output.flush();
    }
    // generate_files waits for the receiver to be done (its statistics read, on a client) before the goodbye,
    // so what the receiver says last ("recv_files finished") reaches the client first. (A late delete's phase waits below.)
    if (p >= 29 && !(p >= 31 && lateDelete)) {
      while (x.doneMarkers < 3) await this.idle();
    }
    // Deleting after the transfer looks at the directories as they end up: the queued files first.
    if (this.deleter.mode === "delay" || this.deleter.mode === "after") x.puts?.drain();
    if (this.deleter.mode === "delay") this.deleter.flushDelayed();
    if (this.deleter.mode === "after" && !x.soloName) this.deleter.deleteEverywhere();
    this.deleter.warnIfLimited();
    if (p >= 31 && lateDelete) {
      this.writeDeleteStats();
      x.ndxOut.write(this.out, NDX_DONE);
      x.output.flush();
      while (x.doneMarkers < 3) await this.idle();
    }
    this.touchUpDirs(-1);
    // Everything queued is in place (and its failures reported) before the last NDX_DONE ends the transfer.
    x.puts?.drain();
    if (this.genrDebug) debugLine("generate_files finished");
  }

  /** generate_files: "generate_files phase=N" as each phase starts. */
  private phaseDebug(phase: number): void {
    if (this.genrDebug) debugLine(`generate_files phase=${phase}`);
  }

  /** main.c write_del_stats: the deletion counts, which the sender's side prints with --stats. */
  private writeDeleteStats(): void {
    const x = this.x;
    if (x.o.deleteMode === "none") return;
    const st = x.stats;
    x.ndxOut.write(this.out, NDX_DEL_STATS);
    this.out.varint(st.deletedFiles - st.deletedDirs - st.deletedSymlinks - st.deletedDevices - st.deletedSpecials);
    this.out.varint(st.deletedDirs);
    this.out.varint(st.deletedSymlinks);
    this.out.varint(st.deletedDevices);
    this.out.varint(st.deletedSpecials);
  }

  private async idle(): Promise<void> {
    this.x.output.flush();
    await this.x.waitForReceiver();
  }

  private allListsDone(): boolean {
    return this.x.lists.lists.every((l) => l.inProgress === 0 && l.toRedo === 0);
  }

  private doneListCount = 0;
  /** Entries of the lists marked done since the markers were last sent. */
  private doneSinceFlush = 0;

  /**
   * Incremental mode (check_for_finished_files): one NDX_DONE per list, in
   * order, once all of its transfers are finished; the current list only
   * after it has been fully generated.
   */
  private finishedLists(): void {
    const x = this.x;
    if (!x.lists.incRecurse) return;
    const lists = x.lists.lists;
    // The list being worked on stays open until no more lists can come (upstream: cur_flist is never freed),
    // or a sender that has sent no further list yet would take this marker for the end of the phase.
    const allIn = x.lists.eof && this.generatedLists === lists.length;
    const limit = allIn ? this.generatedLists : this.generatedLists - 1;
    while (this.doneListCount < limit) {
      const l = lists[this.doneListCount]!;
      if (l.inProgress > 0 || l.toRedo > 0) break;
      x.ndxOut.write(this.out, NDX_DONE);
      // --delete-delay still deletes in these directories later: it touches every directory up at the end instead.
      if (l.parentDir >= 0 && this.deleter.mode !== "delay") this.touchUpDirs(x.lists.dirList[l.parentDir]!, l.parentDir);
      this.doneListCount++;
      this.doneSinceFlush += l.count;
    }
    // The sender keeps only so many entries of lists ahead of those we have said are done (sender.c tops up to
    // MIN_FILECNT_LOOKAHEAD), so these markers are what it waits for: they go out at once, not when we next idle.
    if (this.doneSinceFlush >= DONE_FLUSH_ENTRIES && !x.lists.eof) {
      this.doneSinceFlush = 0;
      x.output.flush();
    }
  }

  private generatedLists = 0;

  private async generateList(list: FileList): Promise<void> {
    const x = this.x;
    const t = x.t;
    // (Before this list's own directory is handled below: that second look at it is stat'ed afresh.)
    this.prefetchStats(list);
    if (x.lists.incRecurse && list.parentDir >= 0) {
      const dirRow = x.lists.dirList[list.parentDir]!;
      this.entry(dirRow, list.ndxStart - 1, true, list);
    }
    const end = list.ndxStart + list.count;
    if (x.o.hardLinks) this.noteHardLinkLists();
    this.prefetchSums();
    let n = 0;
    for (let row = list.ndxStart; row < end; row++) {
      if (t.flags[row]! & F.INACTIVE) continue;
      if (x.o.hardLinks) this.noteHardLinkLists();
      if (this.sumPrefetch && n % 64 === 0) this.sumPrefetch.topUp();
      if (this.statPrefetch && n % 64 === 63) this.statPrefetch.topUp(row);
      this.entry(row, row, false, list);
      this.handleRedo();
      if (++n % YIELD_EVERY === 0) {
        x.output.flush();
        await x.output.waitWritable();
      }
    }
    this.generatedLists++;
  }

  /** -c: hints the native core which files will be checksummed, so that they are hashed ahead, off the JS thread. */
  private sumPrefetch: FileSumPrefetch | null | undefined;

  private prefetchSums(): void {
    this.sumPrefetcher()?.topUp();
  }

  private sumPrefetcher(): FileSumPrefetch | null {
    const x = this.x;
    if (this.sumPrefetch === undefined) {
      const alg = x.s.sums.file.alg;
      this.sumPrefetch = x.o.checksum && !x.soloName && !x.dest.openNoatime && alg !== null && core.caps.kind === "native" ? new FileSumPrefetch(x, alg) : null;
    }
    return this.sumPrefetch;
  }

  /** The destination's stats taken ahead by the native core's worker (null where that is not safe: see StatPrefetch). */
  private statPrefetch: StatPrefetch | null | undefined;
  /**
   * -c, where StatPrefetch would be used: the workers hashing the hinted files lstat each before hashing it, and
   * statDest takes that stat for a regular file (core.fileSumStat) instead of a second one, the stat worker's; so
   * the stat worker is not started, and the other entries (directories, symlinks: few) are stat'ed here.
   */
  private sumStats = false;

  private prefetchStats(list: FileList): void {
    if (this.statPrefetch === undefined) {
      const wanted = StatPrefetch.wanted(this.x);
      this.sumStats = wanted && this.sumPrefetcher() !== null;
      this.statPrefetch = wanted && !this.sumStats ? new StatPrefetch(this.x) : null;
    }
    this.statPrefetch?.startList(list);
  }

  /** recv_generator for one entry. `slot` marks a directory handled as the parent of its own list. */
  private entry(row: number, ndx: number, slot: boolean, list: FileList): void {
    const x = this.x;
    const t = x.t;
    const mode = t.mode[row]!;
    const dirEntry = isDir(mode);
    // In incremental mode a directory met in its parent's list is only pre-created; it is handled in full later.
    const preview = dirEntry && x.lists.incRecurse && !slot;
    if (this.genrDebug) debugLine(`recv_generator(${shownName(x.soloName ?? t.path(row))},${ndx})`);
    if (dirEntry && !x.soloName) this.listedDirs.add(t.internDir(t.path(row)));

    if (x.o.listOnly) {
      if (preview || (dirEntry && t.flags[row]! & F.IMPLIED_DIR)) return;
      x.report.listEntry(row);
      return;
    }

    // Below a directory that was skipped (--existing) or could not be made there is nothing to do.
    if (this.skippedDirs.has(t.dirId[row]!)) {
      if (dirEntry) this.skipDir(row);
      return;
    }
    const rel = this.rel(row);
    // recv_generator without -p looks up each new parent directory's default permissions (--debug=acl says what an ACL gave).
    if (this.attrs.defaultPermsSaid) {
      const dir = x.soloName ? -1 : t.dirId[row]!;
      if (dir !== this.permsDir) {
        this.permsDir = dir;
        this.attrs.defaultPermsSaid(row);
      }
    }
    if (this.refusedByModule(row, rel, dirEntry, preview)) return;
    if (!x.soloName && !this.parentUsable(row, rel)) return;
    const st = this.statDestOrSay(row, rel, dirEntry);
    if (st === FAILED) return;
    // --delete-missing-args: a source argument the sender did not find; what has its name here goes.
    if (mode === 0 && x.o.deleteMissingArgs) {
      if (st) this.deleter.deleteMissing(rel, st);
      return;
    }

    // The destination directory made for this transfer is not "new" to --existing (upstream itemizes it, then skips within).
    if (x.o.existing && !st && !(t.flags[row]! & F.CREATED_DIR)) {
      if (dirEntry && !preview) this.skipDir(row);
      return;
    }
    if (x.o.ignoreExisting && st && (!dirEntry || !isDir(st.mode))) {
      // generate_files deletes in a sub-list's directory after its recv_generator whatever that did: over a
      // stand-in that is no directory the opendir fails (an I/O error, which stops later deletions). Never
      // through a symlink standing there: what it leads to is outside the destination (upstream lists it, and
      // its secure unlinks then fail).
      if (slot && !isLink(st.mode) && this.deleter.duringMode && t.flags[row]! & F.CONTENT_DIR) this.deleter.deleteInDir(row, rel, list);
      return;
    }

    if (dirEntry) this.directory(row, ndx, rel, st, preview, list);
    else if (isLink(mode)) this.linkableNonRegular(row, ndx, rel, st, list, () => this.symlink(row, ndx, rel, st));
    else if (isDevice(mode) || isSpecial(mode)) this.linkableNonRegular(row, ndx, rel, st, list, () => this.special(row, ndx, rel, st));
    else this.regular(row, ndx, rel, st, list);
  }

  /**
   * Whether the entry's directory is a real directory here: never write
   * through a symlink. When the file list has it as a directory but it is
   * something else here (a file or a symlink the transfer left in place, as
   * --ignore-existing does), each entry under it fails as upstream's walk
   * fails its stat (ENOTDIR; ELOOP for a symlink, which its path walk
   * refuses) and the transfer goes on (exit 23). When the list has no such
   * directory the sender's list is bad: the transfer ends (generator.c). One
   * that is missing is left to the entry's own steps (a failed mkdir says so).
   */
  private parentUsable(row: number, rel: Uint8Array): boolean {
    const x = this.x;
    const dirId = x.t.dirId[row]!;
    if (this.confirmedDirs.has(dirId) || this.missingDirs.has(dirId)) return true;
    const dir = x.t.dirNames[dirId]!;
    // --relative --no-implied-dirs sends no parent directories: make them here (generator.c make_path).
    if (x.o.relative && !x.o.impliedDirs && !x.o.dryRun) this.makeParents(dir);
    const st = x.dest.lstat(dir);
    if (!st) return true;
    if (isDir(st.mode)) {
      this.confirmedDirs.add(dirId);
      return true;
    }
    if (!this.listedDirs.has(dirId)) {
      throw protocolError(`ABORTING due to invalid path from sender: ${Buffer.from(dir).toString("latin1")}/${Buffer.from(x.t.baseName(row)).toString("latin1")}`);
    }
    const why = isLink(st.mode) ? "Too many levels of symbolic links (40)" : "Not a directory (20)";
    x.report.error(`rsync: [generator] recv_generator: failed to stat ${this.full(rel)}: ${why}`, true);
    x.hadTransferError = true;
    return false;
  }

  /** Creates the missing directories of `dir`, one component at a time (never through a symlink). */
  private makeParents(dir: Uint8Array): void {
    const x = this.x;
    for (let end = dir.indexOf(0x2f, 1); ; end = dir.indexOf(0x2f, end + 1)) {
      const part = end < 0 ? dir : dir.subarray(0, end);
      const st = x.dest.lstat(part);
      if (!st) x.dest.mkdir(part, 0o777 & ~x.umask);
      else if (!isDir(st.mode)) return; // reported by parentUsable
      if (end < 0) return;
    }
  }

  /**
   * statDest, where a failure other than ENOENT (a directory on the way that
   * cannot be searched) is recv_generator's: a regular file is reported
   * ("failed to stat") and skipped; anything else is handled as missing, so
   * its own creation fails and says so.
   */
  private statDestOrSay(row: number, rel: Uint8Array, dirEntry: boolean): DestStat | null | typeof FAILED {
    try {
      return this.statDest(row, rel, dirEntry);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (typeof err.errno !== "number") throw e;
      if (dirEntry || !isReg(this.x.t.mode[row]!)) return null;
      this.x.report.error(`rsync: [generator] recv_generator: failed to stat ${this.full(rel)}: ${errText(err)}`, true);
      this.x.hadTransferError = true;
      return FAILED;
    }
  }

  private statDest(row: number, rel: Uint8Array, dirEntry: boolean): DestStat | null {
    const x = this.x;
    // Inside a directory we just created there is nothing to find.
    if (!x.soloName && (x.createdDirs.has(x.t.dirId[row]!) || this.missingDirs.has(x.t.dirId[row]!))) return null;
    if (dirEntry && x.o.keepDirlinks) {
      const st = x.dest.stat(rel);
      if (st && isDir(st.mode)) return st;
    }
    // Through the directory's descriptor (no walk from the root); a top-level absolute -R name keeps its slash in the base name.
    // (The base name looked at in place: its view is made only for a stat made here.)
    if (x.dest.fdOps && !x.soloName && rel.length > 0 && x.t.baseNameStart(row) !== 0x2f) {
      const early = this.sumStats && !dirEntry && isReg(x.t.mode[row]!) ? this.hashedStat(row, rel) : this.statPrefetch?.take(row);
      if (early !== undefined) {
        // Those stats took the whole path: in a confined destination its directory must be reachable inside.
        if (x.dest.confined) x.dest.checkDir(x.t.dirId[row]!, x.t.dirName(row));
        return early;
      }
      return x.dest.lstatIn(x.t.dirId[row]!, x.t.dirName(row), x.t.baseName(row));
    }
    return x.dest.lstat(rel);
  }

  /** The last name hashedStat asked for, and its path: fileChecksum asks for that file's sum next (the same path). */
  private hashedRel: Uint8Array | null = null;
  private hashedPath: Uint8Array | null = null;

  /** The lstat of a hinted regular file made by the worker hashing it (see sumStats): null when nothing is there, undefined when the caller must stat it. */
  private hashedStat(row: number, rel: Uint8Array): DestStat | null | undefined {
    const path = this.x.dest.abs(rel);
    this.hashedRel = rel;
    this.hashedPath = path;
    const st = core.fileSumStat(path, this.x.t.size[row]!, this.x.s.sums.file.alg!);
    if (typeof st !== "number") return st;
    // Of the name or of its directory; any other failure is the caller's own stat's to report.
    return st === ENOENT ? null : undefined;
  }

  /**
   * A report-only item (generator.c itemize), when significant: sent to the
   * sender to be echoed (protocol 29+), or logged here for older protocols,
   * which have no item flags on the wire.
   */
  private itemize(row: number, ndx: number, iflags: number, xname?: Uint8Array): void {
    const x = this.x;
    iflags = this.xattrFlags(row, this.aclFlags(row, iflags));
    // --read-batch: the writer's items are in the batch; ours go nowhere (generator.c itemize).
    if (x.readBatch) return;
    // A server learns of the client's -ii from "%I" in the forwarded --log-format (stdout_format_has_i 2).
    const wantAll = x.o.itemizeChanges > 1 || x.o.verbose > 1 || x.out.formatHasI > 1;
    if (!(iflags & SIGNIFICANT_ITEM_FLAGS) && !wantAll && !(xname && xname.length)) return;
    if (x.s.protocol < 29) {
      x.report.item({ row, name: this.rel(row), iflags, xname });
      return;
    }
    x.ndxOut.write(this.out, ndx);
    this.out.u16(iflags & 0xffff);
    if (iflags & ITEM.XNAME_FOLLOWS) this.out.vstring(xname ?? new Uint8Array(0));
    this.writeXattrRequest(row, iflags);
  }

  /**
   * -X (generator.c itemize): the sender's set against what is here (none
   * for a new entry) adds REPORT_XATTR, and marks the abbreviated values we
   * lack to be asked for.
   */
  private xattrFlags(row: number, iflags: number): number {
    const x = this.x;
    if (!x.xattrs) return iflags;
    const local = iflags & ITEM.IS_NEW ? null : x.xattrs.readLocal(x.dest.abs(this.rel(row)), x.t.mode[row]!, x.o);
    return x.xattrs.differs(x.t.extras.get(row)?.xattr, local, true) ? iflags | ITEM.REPORT_XATTR : iflags;
  }

  /** Per directory (by name id): what default_perms_for_dir found, and (--debug=acl) what it said of a default ACL. */
  private readonly defaultPermsByDir = new Map<number, number>();
  private readonly aclPermsLines = new Map<number, string>();
  /** The directory whose default permissions were last looked up (generator.c parent_dirname). */
  private permsDir = -2;

  /** generator.c default_perms_for_dir for the directory `row` goes into (the local name's, for a single file). */
  private dirDefaultPerms(row: number): number {
    const x = this.x;
    const id = x.soloName ? -1 : x.t.dirId[row]!;
    let perms = this.defaultPermsByDir.get(id);
    if (perms === undefined) {
      const dir = x.soloName ? x.soloName.subarray(0, Math.max(0, x.soloName.lastIndexOf(0x2f))) : x.t.dirName(row);
      // acls.c says what a default ACL gave (--debug=acl), naming the directory as the list does.
      const said = x.out.debug.get("ACL")
        ? (p: number) => this.aclPermsLines.set(id, `got ACL-based default perms ${p.toString(8)} for directory ${dir.length ? shownName(dir) : "."}`)
        : undefined;
      perms = defaultPermsForDir(x.dest.abs(dir), 0o777 & ~x.umask, (text) => x.report.error(text), said);
      this.defaultPermsByDir.set(id, perms);
    }
    return perms;
  }

  /** -A (generator.c itemize): REPORT_ACL when an entry that was here (not a symlink) has other ACLs than the sender's. */
  private aclFlags(row: number, iflags: number): number {
    const x = this.x;
    if (!this.attrs.acls || iflags & ITEM.IS_NEW || isLink(x.t.mode[row]!)) return iflags;
    const rel = this.rel(row);
    const st = x.dest.lstat(rel);
    return st && this.attrs.aclDiffers(x.dest, rel, row, st, !(iflags & ITEM.TRANSFER)) ? iflags | ITEM.REPORT_ACL : iflags;
  }

  /** send_xattr_request after an item's flags: the values asked for (or, with none to ask, the marks settled). */
  private writeXattrRequest(row: number, iflags: number): void {
    const x = this.x;
    if (!x.xattrs || x.o.dryRun || !(iflags & (ITEM.REPORT_XATTR | ITEM.TRANSFER))) return;
    x.xattrs.writeRequest(xattrRequestFollows(iflags, x.xattrs.optim) ? this.out : null, x.t.extras.get(row)?.xattr);
  }

  private directory(row: number, ndx: number, rel: Uint8Array, st: DestStat | null, preview: boolean, list: FileList): void {
    const x = this.x;
    const t = x.t;
    const pathId = rel.length ? t.internDir(rel) : 0;
    if (t.flags[row]! & F.IMPLIED_DIR && !x.o.impliedDirs) return;
    if (preview) {
      // Create missing directories while the parent is current, so its mtime can be fixed right away.
      if (!x.o.times || x.o.omitDirTimes) return;
      if (st && (isDir(st.mode) || !this.deleter.removeForReplacement(rel, st, "dir"))) return;
      if (x.o.dryRun) return;
      try {
        x.dest.mkdir(rel, t.mode[row]! & 0o700);
        t.flags[row] = t.flags[row]! | F.CREATED_DIR;
        x.createdDirs.add(pathId);
        this.confirmedDirs.add(pathId);
      } catch {
        // Reported when the directory is handled in full.
      }
      return;
    }

    let realStat = st;
    if (st && !isDir(st.mode)) {
      if (!this.deleter.removeForReplacement(rel, st, "dir")) return this.skipDirContents(row);
      realStat = null;
    }
    const createdEarlier = (t.flags[row]! & F.CREATED_DIR) !== 0;
    // A directory made early (0700, while its parent was current) is new: without -p it gets a new one's mode (dest_mode).
    const w = this.attrs.wanted(row, createdEarlier ? null : realStat);
    const reportStat = createdEarlier ? null : realStat;
    // A missing directory found in a basis dir is reported against it (or not at all when it matched there).
    const basis = !reportStat && this.basisDirs ? this.basisDirs.nonRegular(row, ndx, rel, w) : null;
    if (basis === null || typeof basis === "object") this.itemize(row, ndx, this.attrs.itemizeFlags(row, basis?.st ?? reportStat, w, reportStat ? 0 : ITEM.LOCAL_CHANGE));
    if (x.o.dryRun) {
      if (!realStat) {
        t.flags[row] = t.flags[row]! | F.MISSING_DIR;
        this.missingDirs.add(pathId);
      } else {
        this.confirmedDirs.add(pathId);
        // A dry run still says what would be deleted in a directory that is there.
        if (this.deleter.duringMode && t.flags[row]! & F.CONTENT_DIR) this.deleter.deleteInDir(row, rel, x.lists.incRecurse ? list : null);
      }
      return;
    }
    // (A directory made early is there: no second mkdir to fail with EEXIST.)
    if (!realStat && !createdEarlier) {
      try {
        x.dest.mkdir(rel, w.mode & 0o7777);
        x.createdDirs.add(pathId);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code !== "EEXIST") {
          x.report.error(`rsync: [generator] recv_generator: mkdir ${this.full(rel)} failed: ${errText(err)}`, true);
          x.hadTransferError = true;
          return this.skipDirContents(row);
        }
      }
    }
    this.confirmedDirs.add(pathId);
    // A directory that was there and has not been touched since its stat has that stat (as upstream passes
    // set_file_attrs its real_sx); one made here is stat'ed now, one kept as a symlink (-K) through it (link_stat).
    const kept = realStat && !createdEarlier && !x.o.keepDirlinks ? realStat : null;
    const now = kept ?? (x.o.keepDirlinks ? x.dest.stat(rel) : null) ?? x.dest.lstat(rel);
    if (now) this.setAttrs(rel, row, now, w, false);
    // A non-root receiver needs to be able to write into the directory while filling it.
    if (!x.amRoot && (w.mode & 0o700) !== 0o700) {
      try {
        x.dest.chmod(rel, w.mode | 0o700);
        this.tweakedDirs.push({ row, mode: w.mode });
      } catch (e) {
        // (One we do not own: upstream says so and goes on; its contents fail on their own.)
        x.report.error(`rsync: [generator] failed to modify permissions on ${this.full(rel)}: ${errText(e)}`, true);
        x.hadTransferError = true;
      }
    }
    if (this.deleter.duringMode && t.flags[row]! & F.CONTENT_DIR) this.deleter.deleteInDir(row, rel, x.lists.incRecurse ? list : null);
  }

  private skipDirContents(row: number): void {
    this.x.report.error("*** Skipping any contents from this failed directory ***");
    this.skipDir(row);
  }

  /**
   * A daemon module's rules keep this name out (recv_generator): refused
   * with an error, a directory with all below it.
   */
  private refusedByModule(row: number, rel: Uint8Array, dirEntry: boolean, preview: boolean): boolean {
    const rules = this.x.o.moduleFilters;
    if (!rules || rel.length === 0) return false;
    if (rules.check(rel, dirEntry, this.x.moduleRoot) >= 0) return false;
    // Upstream lets a directory met early in its parent's list through; the refusal comes with its own list.
    if (preview) return false;
    this.x.report.error(`ERROR: daemon refused to receive ${dirEntry ? "directory" : "file"} "${this.display(rel)}"`, true);
    this.x.hadTransferError = true;
    if (dirEntry) this.skipDirContents(row);
    return true;
  }

  /** recv_generator: --max-size / --min-size leave a file alone (said under -vv: info SKIP). */
  private outsideSizeLimits(row: number, rel: Uint8Array): boolean {
    const o = this.x.o;
    const size = this.x.t.size[row]!;
    const why = o.maxSize >= 0 && size > o.maxSize ? "over max-size" : o.minSize >= 0 && size < o.minSize ? "under min-size" : null;
    if (!why) return false;
    if (this.x.out.info.get("SKIP") > 0 && !this.x.out.quiet) this.x.report.info(`${this.display(rel)} is ${why}`);
    return true;
  }

  /** Nothing below this directory is handled (upstream's skip_dir). */
  private skipDir(row: number): void {
    const t = this.x.t;
    t.flags[row] = t.flags[row]! | F.MISSING_DIR;
    const p = this.rel(row);
    if (p.length) this.skippedDirs.add(t.internDir(p));
  }

  /**
   * A symlink, device or special under -H (protocol 28+ lists them in
   * hard-link groups): a member met after its group's entry is in place is
   * linked to it (hlink.c hard_link_check); otherwise it is made in full by
   * `make` (true when in place) and becomes what later members link to
   * (finish_hard_link). Unlike a regular file it never waits: it has no data.
   */
  private linkableNonRegular(row: number, ndx: number, rel: Uint8Array, st: DestStat | null, list: FileList, make: () => boolean): void {
    const key = this.x.o.hardLinks ? this.x.t.extras.get(row)?.hlinkKey : undefined;
    if (key === undefined) {
      make();
      return;
    }
    const m = { row, ndx, list };
    const claim = this.hardLinks.claim(key, m);
    if (claim.kind === "link") return this.linkTo(row, ndx, rel, st, claim.to);
    if (claim.kind === "handle" && make()) this.linkWaiting(key, m);
  }

  /** try_dests_non settled a missing entry from a basis dir: with --link-dest it is linked in place (not so with --compare-dest). */
  private linkedFromBasis(): boolean {
    return this.x.o.altDestType === "link";
  }

  private symlink(row: number, ndx: number, rel: Uint8Array, st: DestStat | null): boolean {
    const x = this.x;
    if (!x.o.links) {
      this.nonRegular(rel);
      return false;
    }
    const target = x.t.extras.get(row)?.link ?? new Uint8Array(0);
    if (x.o.safeLinks && isUnsafeSymlink(target, x.t.path(row))) {
      if (x.o.verbose > 0) x.report.info(`ignoring unsafe symlink "${this.display(rel)}" -> "${this.display(target)}"`);
      return false;
    }
    const stored = this.storedLinkTarget(row, target);
    const w = this.attrs.wanted(row, st);
    if (st && isLink(st.mode) && Buffer.compare(x.dest.readLink(rel), stored) === 0) {
      const ok = x.o.dryRun || this.setAttrs(rel, row, st, w, false);
      const iflags = this.attrs.itemizeFlags(row, st, w, 0, !ok);
      this.itemize(row, ndx, iflags);
      this.reportAttrs(rel, iflags);
      this.confirmToSender(ndx, rel);
      return true;
    }
    const basis = this.basisForMissing(row, ndx, rel, st, w);
    if (basis === "done") return this.linkedFromBasis();
    const old = basis.st ?? (st && isLink(st.mode) ? st : null);
    if (x.o.dryRun) {
      // atomic_create under a dry run: a directory in the way is emptied in words (or fails), the backup is said, not made.
      if (st && isDir(st.mode) && !this.deleter.removeForReplacement(rel, st, "symlink")) return false;
      if (st && !isDir(st.mode)) Backups.of(x)?.make(rel, false);
      if (!basis.quiet) this.itemize(row, ndx, this.attrs.itemizeFlags(row, old, w, ITEM.LOCAL_CHANGE | ITEM.REPORT_CHANGE));
      return true;
    }
    const shownTarget = Buffer.from(stored).toString("latin1");
    if (!this.atomicCreate(rel, st, "symlink", (tmp) => x.dest.symlink(stored, tmp), (full) => `symlink ${full} -> "${shownTarget}" failed`)) return false;
    const now = x.dest.lstat(rel);
    const ok = now ? this.setAttrs(rel, row, now, w, false) : true;
    if (!basis.quiet) this.itemize(row, ndx, this.attrs.itemizeFlags(row, old, w, ITEM.LOCAL_CHANGE | ITEM.REPORT_CHANGE, !ok));
    this.confirmToSender(ndx, rel, true);
    return true;
  }

  /** The target a symlink gets here: a daemon's "munge symlinks" makes following it lead nowhere outside the module. */
  private storedLinkTarget(row: number, target: Uint8Array): Uint8Array {
    const x = this.x;
    if (x.o.mungeSymlinks) return Buffer.concat([MUNGE_PREFIX, target]);
    if (x.o.sanitizeLinks) return sanitizeLinkTarget(target, x.t.path(row).filter((b) => b === 0x2f).length);
    return target;
  }

  private special(row: number, ndx: number, rel: Uint8Array, st: DestStat | null): boolean {
    const x = this.x;
    const t = x.t;
    const mode = t.mode[row]!;
    const device = isDevice(mode);
    // --drop-D refuses to create them as --no-D would, while the list keeps their fields (generator.c).
    if (x.o.dropDevices || !((device && x.o.devices && x.amRoot) || (!device && x.o.specials))) {
      this.nonRegular(rel);
      return false;
    }
    const e = t.extras.get(row);
    const major = device ? (e?.rdevMajor ?? 0) : 0;
    const minor = device ? (e?.rdevMinor ?? 0) : 0;
    const w = this.attrs.wanted(row, st);
    let same = st !== null && (st.mode & 0o170000) === (mode & 0o170000);
    if (same && device && st) same = st.rdevMajor === major && st.rdevMinor === minor;
    if (same && st) {
      if (!x.o.dryRun) this.setAttrs(rel, row, st, w, false);
      this.itemize(row, ndx, this.attrs.itemizeFlags(row, st, w, 0));
      this.confirmToSender(ndx, rel);
      return true;
    }
    const sameType = st !== null && (st.mode & 0o170000) === (mode & 0o170000);
    const basis = this.basisForMissing(row, ndx, rel, st, w);
    if (basis === "done") return this.linkedFromBasis();
    if (this.genrDebug) debugLine(`mknod(${shownName(rel)}, 0${mode.toString(8)}, [${major},${minor}])`);
    if (x.o.dryRun || this.atomicCreate(rel, st, device ? "device" : "special", (tmp) => x.dest.mknod(tmp, (mode & 0o170000) | (w.mode & 0o7777), major, minor), (full) => `mknod ${full} failed`)) {
      const now = x.o.dryRun ? null : x.dest.lstat(rel);
      if (now) this.setAttrs(rel, row, now, w, false);
      if (!basis.quiet) this.itemize(row, ndx, this.attrs.itemizeFlags(row, basis.st ?? (sameType ? st : null), w, ITEM.LOCAL_CHANGE | ITEM.REPORT_CHANGE));
      this.confirmToSender(ndx, rel);
      return true;
    }
    return false;
  }

  /**
   * --remove-source-files: an entry in place without a transfer is confirmed
   * to the sender (generator.c return_with_success); the deprecated
   * --remove-sent-files only for what it used to remove (`sentOnly`: a new symlink).
   */
  private confirmToSender(ndx: number, rel: Uint8Array, sentOnly = false): void {
    const mode = this.x.o.removeSourceFiles;
    if (mode === 1 || (mode && sentOnly)) this.x.confirmToSender?.(ndx, rel);
  }

  /**
   * recv_generator's try_dests_non for a missing symlink or device: "done"
   * when a basis dir's entry was linked (or is enough for --compare-dest);
   * otherwise it is made here, reported against the basis entry found, or
   * not reported when the basis dir's answer was reported already.
   */
  private basisForMissing(row: number, ndx: number, rel: Uint8Array, st: DestStat | null, w: Wanted): "done" | { st: DestStat | null; quiet: boolean } {
    if (st || !this.basisDirs) return { st: null, quiet: false };
    const found = this.basisDirs.nonRegular(row, ndx, rel, w);
    if (found === "done") return this.basisDirs.isCopy ? { st: null, quiet: true } : "done";
    if (found === "create-quietly") return { st: null, quiet: true };
    return { st: found?.st ?? null, quiet: false };
  }

  private nonRegular(rel: Uint8Array): void {
    this.x.report.info(`skipping non-regular file "${this.display(rel)}"`);
  }

  /**
   * Creates an entry under a temporary name and renames it over whatever is
   * there (rsync.c atomic_create), so the old entry stays until the new one
   * exists. `failure` is upstream's text for `make` failing on a name (as
   * full_fname shows it).
   */
  private atomicCreate(rel: Uint8Array, st: DestStat | null, forWhat: MakeRoomFor, make: (path: Uint8Array) => void, failure: (full: string) => string): boolean {
    const x = this.x;
    let made = rel;
    let renaming = false;
    try {
      if (st && isDir(st.mode)) {
        if (!this.deleter.removeForReplacement(rel, st, forWhat)) return false;
        make(rel);
        return true;
      }
      if (!st) {
        make(rel);
        return true;
      }
      // With -b what is replaced is kept first (linked: the new entry then takes its name).
      if (Backups.of(x)?.make(rel, false) === BACKUP.FAILED) return false;
      const slash = rel.lastIndexOf(0x2f);
      made = Buffer.concat([rel.subarray(0, slash + 1), Buffer.from(`.rsync-tmp.${process.pid}.`), rel.subarray(slash + 1)]);
      make(made);
      renaming = true;
      x.dest.rename(made, rel);
      return true;
    } catch (e) {
      const text = renaming ? `rename ${this.full(made)} -> ${this.full(rel)} failed` : failure(this.full(made));
      x.report.error(`rsync: [generator] ${text}: ${errText(e as NodeJS.ErrnoException)}`, true);
      x.hadTransferError = true;
      if (renaming) {
        try {
          x.dest.unlink(made);
        } catch {
          // (Gone already, or not ours to remove: nothing more to say.)
        }
      }
      return false;
    }
  }

  private regular(row: number, ndx: number, rel: Uint8Array, st: DestStat | null, list: FileList, asLeader = false): void {
    const x = this.x;
    if (this.outsideSizeLimits(row, rel)) return;
    const hlinkKey = x.o.hardLinks ? x.t.extras.get(row)?.hlinkKey : undefined;
    if (hlinkKey === undefined) {
      this.regularFile(row, ndx, rel, st, list, false);
      return;
    }
    let last = true;
    if (!asLeader) {
      const claim = this.hardLinks.claim(hlinkKey, { row, ndx, list });
      if (claim.kind === "wait") return;
      if (claim.kind === "link") return this.linkTo(row, ndx, rel, st, claim.to);
      last = claim.last;
    }
    const m = { row, ndx, list };
    switch (this.regularFile(row, ndx, rel, st, list, !last)) {
      case "deferred":
        this.hardLinks.defer(hlinkKey, m);
        break;
      case "requested":
        // A dry run gets no data: the others are linked (itemized) to it right away, as upstream does.
        if (x.o.dryRun) this.linkWaiting(hlinkKey, m);
        else this.hardLinks.sending(hlinkKey, m);
        break;
      case "current":
        this.linkWaiting(hlinkKey, m);
        break;
      case "elsewhere":
        this.handleNextCandidate(hlinkKey);
        break;
      case "skipped":
        break;
    }
  }

  /** The group's file `m` is in place: link the members waiting for it. */
  private linkWaiting(key: string, m: { row: number; ndx: number; list: FileList }): void {
    for (const w of this.hardLinks.placed(key, m)) {
      const rel = this.rel(w.row);
      this.linkTo(w.row, w.ndx, rel, this.x.o.dryRun ? null : this.x.dest.lstat(rel), m.row);
    }
    this.x.wakeGenerator();
  }

  /**
   * Handles a regular file. `deferIfMissing`: a hard-link group member that
   * is not its group's last waits instead of being requested when missing.
   */
  private regularFile(
    row: number,
    ndx: number,
    rel: Uint8Array,
    st: DestStat | null,
    list: FileList,
    deferIfMissing: boolean,
  ): "skipped" | "current" | "elsewhere" | "requested" | "deferred" {
    const x = this.x;
    const o = x.o;
    const t = x.t;
    // -u: keep a destination file that is newer than the source's (within --modify-window).
    if (o.update && !this.redoPass && st && isReg(st.mode) && t.mtime[row]! - st.mtime < o.modifyWindow) return "skipped";
    let existing = st;
    // --write-devices: an existing device takes the data, as long as the device is (generator.c get_device_size).
    if (existing && o.writeDevices && isDevice(existing.mode)) existing = { ...existing, size: existing.size || openedDeviceLength(() => x.dest.openRead(rel)) };
    else if (existing && !isReg(existing.mode)) {
      // (A dry run too: what would be deleted is said, and a directory that could not go fails the same way.)
      if (!this.deleter.removeForReplacement(rel, existing, "file")) return "skipped";
      existing = null;
    }
    // --compare-dest/--copy-dest/--link-dest: the file may be settled from a basis dir, or get its delta basis there.
    let alt: AltBasis | null = null;
    if (this.basisDirs && !this.redoPass && (!existing || !this.basisDirs.isCopy)) {
      const hlinkKey = o.hardLinks ? t.extras.get(row)?.hlinkKey : undefined;
      const linked = hlinkKey === undefined ? undefined : () => this.linkWaiting(hlinkKey, { row, ndx, list });
      const found = this.basisDirs.regular(row, ndx, rel, existing, this.attrs.wanted(row, existing), linked);
      if (found === "done") {
        this.confirmToSender(ndx, rel);
        // --compare-dest leaves nothing here for the group to link to (try_dests_reg does not finish_hard_link it).
        return o.altDestType === "compare" ? "elsewhere" : "current";
      }
      if (found) alt = { ...found, reportAgainst: found.st };
    }
    // A file kept by an interrupted earlier run (--partial-dir) is the best basis there is.
    const partial = this.partialBasis(rel);
    if (!this.redoPass && existing) {
      if (this.upToDate(row, rel, existing, true)) {
        if (partial && !o.dryRun) removePartialFile(x.dest, partial.rel, o.partialDir!);
        const w = this.attrs.wanted(row, existing);
        if (!o.dryRun) this.setAttrs(rel, row, existing, w, o.checksum);
        const iflags = this.attrs.itemizeFlags(row, existing, w, 0);
        this.itemize(row, ndx, iflags);
        this.reportAttrs(rel, iflags);
        this.confirmToSender(ndx, rel);
        return "current";
      }
      if (o.append && existing.size >= t.size[row]!) return "skipped";
    }
    // -y: a missing file's basis may be a similar file nearby (not when a partial file is there).
    const fuzzy = !existing && !partial && !alt && this.fuzzy ? this.fuzzyBasis(row, rel) : null;
    if (!existing && !partial && !alt && !fuzzy && deferIfMissing) return "deferred";
    let inplaceBackup: AltBasis | null = null;
    if (o.inplace && existing && !partial && !o.dryRun && Backups.of(x)) {
      // -b --inplace: the file is copied to its backup first, and (for a delta) that copy is the basis.
      const kept = Backups.of(x)!.copyBeforeInplace(rel, o.wholeFile !== true);
      if (!kept) return "skipped";
      if (o.wholeFile !== true) inplaceBackup = { rel: kept, st: existing, type: FNAMECMP_BACKUP };
    }
    this.requestTransfer(row, ndx, rel, existing, list, partial && alt ? { ...partial, reportAgainst: alt.st } : (partial ?? alt ?? fuzzy ?? inplaceBackup));
    return "requested";
  }

  /**
   * A transfer ended. For a hard-link group's file the others are linked to
   * it now; if it could not be put in place, the next candidate is handled.
   */
  private transferEnded(row: number, ok: boolean): void {
    const x = this.x;
    const key = x.o.hardLinks ? x.t.extras.get(row)?.hlinkKey : undefined;
    const list = x.lists.listOf(row);
    if (key === undefined || !list) return;
    if (ok) return this.linkWaiting(key, { row, ndx: row, list });
    this.handleNextCandidate(key);
  }

  /** The group's candidate left nothing here to link to: the next one waiting is handled in full. */
  private handleNextCandidate(key: string): void {
    const next = this.hardLinks.failed(key);
    if (next) {
      const rel = this.rel(next.row);
      this.regular(next.row, next.ndx, rel, this.x.dest.lstat(rel), next.list, true);
    }
  }

  /** hlink.c maybe_hard_link: `row` becomes a hard link to `leader` (already one: nothing to do). */
  private linkTo(row: number, ndx: number, rel: Uint8Array, st: DestStat | null, leader: number): void {
    const x = this.x;
    const leaderRel = this.rel(leader);
    const w = this.attrs.wanted(row, st);
    const leaderSt = x.o.dryRun ? null : x.dest.lstat(leaderRel);
    if (st && leaderSt && st.dev === leaderSt.dev && st.ino === leaderSt.ino) {
      this.itemize(row, ndx, this.attrs.itemizeFlags(row, st, w, ITEM.LOCAL_CHANGE | ITEM.XNAME_FOLLOWS), new Uint8Array(0));
      this.confirmToSender(ndx, rel);
      return;
    }
    // A missing member is reported against its basis dir's file, and not at all when that is the leader's inode already.
    // (Only a regular file's group remembers which basis dir settled it: a dry run's symlink or device leader is just missing.)
    const leaderNow = leaderSt ?? (x.o.dryRun && this.basisDirs && isReg(x.t.mode[leader]!) ? this.basisDirs.dryRunLeader(leaderRel) : null);
    const alt = !st && leaderNow && this.basisDirs ? this.basisDirs.hardLinkMember(row, rel, leaderNow) : null;
    if (!x.o.dryRun && !this.atomicCreate(rel, st, "file", (tmp) => x.dest.link(leaderRel, tmp), (full) => `link ${full} => ${Buffer.from(leaderRel).toString("latin1")} failed`)) return;
    if (!alt?.quiet) this.itemize(row, ndx, this.attrs.itemizeFlags(row, alt?.st ?? st, w, ITEM.LOCAL_CHANGE | ITEM.XNAME_FOLLOWS), leaderRel);
    this.confirmToSender(ndx, rel);
  }

  /** find_fuzzy for a missing file: the similar file to use as its basis, if any. */
  private fuzzyBasis(row: number, rel: Uint8Array): AltBasis | null {
    const x = this.x;
    const m = this.fuzzy!.find(dirOf(rel), baseOf(rel), x.t.size[row]!, x.t.mtime[row]!);
    const st = m ? x.dest.lstat(m.rel) : null;
    if (!m || !st) return null;
    if (this.fuzzy!.debugLevel) debugLine(`fuzzy basis selected for ${shownName(rel)}: ${shownName(m.rel)}`);
    return { rel: m.rel, st, type: FNAMECMP_FUZZY + m.level, xname: m.name };
  }

  private partialBasis(rel: Uint8Array): { rel: Uint8Array; st: DestStat } | null {
    const dir = this.x.o.partialDir;
    if (dir === undefined) return null;
    const partialRel = partialPathFor(rel, dir, this.x.dest);
    const st = this.x.dest.lstat(partialRel);
    return st && isReg(st.mode) ? { rel: partialRel, st } : null;
  }

  /** generator.c quick_check_ok for a regular file. */
  private upToDate(row: number, rel: Uint8Array, st: DestStat, ownDest = false): boolean {
    const x = this.x;
    const o = x.o;
    if (st.size !== x.t.size[row]) return false;
    if (o.checksum) {
      return x.t.sumMatches(row, this.fileChecksum(rel, st.size, ownDest ? row : -1));
    }
    if (o.sizeOnly) return true;
    if (o.ignoreTimes) return false;
    return !this.attrs.mtimeDiffers(row, st);
  }

  /** The buffer basis files are read into (checksums, block sums), made once: a new 1 MiB one per file cost more than the hashing. */
  private readBuf: Uint8Array | null = null;

  private readBuffer(min: number): Uint8Array {
    if (!this.readBuf || this.readBuf.length < min) this.readBuf = new Uint8Array(Math.max(READ_CHUNK, min));
    return this.readBuf;
  }

  /**
   * file_checksum over the `size` bytes the stat said (a --write-devices char device such as /dev/zero never ends),
   * whole (the sender's may be cut shorter: see sameSum). `row`: the file is the entry's own destination, opened
   * through its directory's descriptor.
   */
  private fileChecksum(rel: Uint8Array, size: number, row = -1): Uint8Array {
    const x = this.x;
    // A regular file of that size (the usual case) is hashed by the core, ahead of need when it was hinted.
    const alg = x.s.sums.file.alg;
    const path = rel === this.hashedRel ? this.hashedPath! : x.dest.abs(rel);
    const coreSum = alg === null || x.dest.openNoatime ? null : core.fileSum(path, size, alg);
    if (coreSum) return coreSum;
    const hasher = fileListHasher(x.s.sums);
    const fd = this.openToRead(rel, row);
    try {
      const buf = this.readBuffer(READ_CHUNK);
      for (let left = size; left > 0; ) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, left), null);
        if (n <= 0) break;
        hasher.update(buf.subarray(0, n));
        left -= n;
      }
    } finally {
      fs.closeSync(fd);
    }
    const sum = hasher.digest();
    hasher.release?.();
    return sum;
  }

  /** Opens `rel` to read it; when it is `row`'s own destination (row >= 0), through its directory's descriptor (no walk of the whole path). */
  private openToRead(rel: Uint8Array, row: number): number {
    const at = row >= 0 ? nameInDir(this.x, row) : null;
    return at ? this.x.dest.openReadIn(at.dirKey, at.dir, at.base) : this.x.dest.openRead(rel);
  }

  /**
   * Asks the sender for a file's data: index, item flags (the report is
   * against the destination; `partial` changes only the delta basis), sum head
   * and block sums.
   */
  private requestTransfer(
    row: number,
    ndx: number,
    rel: Uint8Array,
    existing: DestStat | null,
    list: FileList,
    partial: AltBasis | null = null,
  ): void {
    const x = this.x;
    const o = x.o;
    const w = this.attrs.wanted(row, existing);
    let iflags = ITEM.TRANSFER;
    if (o.checksum) iflags |= ITEM.REPORT_CHANGE;
    if (partial && x.s.protocol >= 29) iflags |= ITEM.BASIS_TYPE_FOLLOWS;
    if (partial?.xname && x.s.protocol >= 29) iflags |= ITEM.XNAME_FOLLOWS;
    iflags = this.xattrFlags(row, this.aclFlags(row, this.attrs.itemizeFlags(row, partial?.reportAgainst ?? existing, w, iflags)));
    // (--only-write-batch's files do come, and are counted until the receiver has read them.)
    if (x.lists.incRecurse && (!o.dryRun || o.writeBatch < 0)) list.inProgress++;
    x.ndxOut.write(this.out, ndx);
    // --read-batch: the index is all the receiver needs (the data is in the batch).
    if (x.readBatch) return;
    if (x.s.protocol >= 29) {
      this.out.u16(iflags & 0xffff);
      if (iflags & ITEM.BASIS_TYPE_FOLLOWS) this.out.u8(partial?.type ?? FNAMECMP_PARTIAL_DIR);
      if (iflags & ITEM.XNAME_FOLLOWS) this.out.vstring(partial!.xname!);
      this.writeXattrRequest(row, iflags);
    }
    // --only-write-batch is a dry run whose files are still sent (into the batch): it asks with sums.
    if (o.dryRun && !(o.writeBatch < 0)) return;
    // The file being changed is no fuzzy basis for the files after it (unless it goes whole anyway).
    if (this.fuzzy && o.wholeFile !== true) this.fuzzy.markSent(dirOf(rel), baseOf(rel));
    const head = partial ? this.sumHeadFor(partial.rel, partial.st, ndx, -1) : this.sumHeadFor(rel, existing, ndx, row);
    writeSumHead(this.out, head.head, x.s.protocol);
    if (head.sums) this.out.bytes(head.sums);
  }

  /** Block sums of the basis `rel` (`row`'s own destination, or -1), or a null sum head (send it whole). */
  private sumHeadFor(rel: Uint8Array, basis: DestStat | null, ndx: number, row: number): { head: SumHead; sums?: Uint8Array } {
    const x = this.x;
    const o = x.o;
    const sums = x.s.sums;
    // --append turns whole-file off (generator.c generate_files): the receiver must say how much it has.
    const wholeFile = o.wholeFile === true && !o.append;
    if (!basis || wholeFile || sums.xfer.alg === null) return { head: NULL_SUM_HEAD };
    if (this.deltasumDebug > 1) this.sumsDebug(rel, basis.size, ndx);
    if (basis.size === 0) return { head: NULL_SUM_HEAD };
    // --append only says how much is there already (not in the redo pass, which rebuilds the file).
    if (o.append && !this.redoPass) return { head: this.sumHeadDebug(chooseSumHead(basis.size, x.s.protocol, sums.xfer.length, false, o.blockSize), basis.size) };
    const head = this.sumHeadDebug(chooseSumHead(basis.size, x.s.protocol, sums.xfer.length, this.redoPass, o.blockSize), basis.size);
    try {
      const fd = this.openToRead(rel, row);
      try {
        const table = this.blockSumsOf(fd, basis.size, head);
        // What a delta's request leaves for the collector (the sums, the pieces' sums, the receiver's file): see memory-pacer.
        noteWork(DELTA_REQUEST_WORK + 2 * table.length);
        if (this.deltasumDebug > 2) this.chunksDebug(head, table);
        return { head, sums: table };
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      x.report.error(`rsync: [generator] failed to open ${this.full(rel)}, continuing: ${errText(e as NodeJS.ErrnoException)}`);
      return { head: NULL_SUM_HEAD };
    }
  }

  /** generator.c recv_generator under --debug=deltasum2 (3: the basis's size too): the basis is read for sums. */
  private sumsDebug(rel: Uint8Array, size: number, ndx: number): void {
    if (this.deltasumDebug > 2) debugLine(`gen mapped ${shownName(rel)} of size ${size}`);
    debugLine(`generating and sending sums for ${ndx}`);
  }

  /** sum_sizes_sqroot's "count= rem= blength= s2length= flength=" (--debug=deltasum2). */
  private sumHeadDebug(head: SumHead, size: number): SumHead {
    if (this.deltasumDebug > 1 && head.count) {
      debugLine(`count=${head.count} rem=${head.remainder} blength=${head.blockLength} s2length=${head.strongLength} flength=${size}`);
    }
    return head;
  }

  /** generate_and_send_sums under --debug=deltasum3: each block's offset, length and rolling sum. */
  private chunksDebug(head: SumHead, table: Uint8Array): void {
    const stride = 4 + head.strongLength;
    const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
    for (let i = 0; i < head.count; i++) {
      const len = i === head.count - 1 && head.remainder ? head.remainder : head.blockLength;
      const sum1 = view.getUint32(i * stride, true).toString(16).padStart(8, "0");
      debugLine(`chunk[${i}] offset=${i * head.blockLength} len=${len} sum1=${sum1}`);
    }
  }

  /**
   * The basis's block sums, read a piece at a time (the basis can be larger
   * than memory): up to the size its stat gave, anything missing read as
   * zeros, as upstream's map_ptr gives it.
   */
  private blockSumsOf(fd: number, size: number, head: SumHead): Uint8Array {
    const sums = this.x.s.sums;
    const params = { blockLength: head.blockLength, strongLength: head.strongLength, alg: sums.xfer.alg!, seed: sums.seed, seedOrder: blockSeedOrder(sums) };
    const stride = 4 + head.strongLength;
    const table = new Uint8Array(head.count * stride);
    const blocksPerPiece = Math.max(1, Math.floor(READ_CHUNK / head.blockLength));
    const piece = this.readBuffer(blocksPerPiece * head.blockLength).subarray(0, blocksPerPiece * head.blockLength);
    for (let block = 0; block < head.count; block += blocksPerPiece) {
      const start = block * head.blockLength;
      const want = Math.min(piece.length, size - start);
      let got = 0;
      while (got < want) {
        const n = fs.readSync(fd, piece, got, want - got, start + got);
        if (n <= 0) break;
        got += n;
      }
      piece.fill(0, got, want);
      table.set(core.blockSums(piece.subarray(0, want), params), block * stride);
    }
    return table;
  }

  /** check_for_finished_files: finished transfers (for -H) and files to redo. */
  private handleRedo(): void {
    const x = this.x;
    while (this.ended.length > 0) {
      const { row, ok } = this.ended.shift()!;
      this.transferEnded(row, ok);
    }
    while (x.redo.length > 0) {
      const ndx = x.redo.shift()!;
      const list = x.lists.listOf(ndx);
      if (!list || ndx < list.ndxStart) throw protocolError(`invalid redo index ${ndx}`);
      const saveRedo = this.redoPass;
      this.redoPass = true;
      const rel = this.rel(ndx);
      if (this.genrDebug) debugLine(`recv_generator(${shownName(x.soloName ?? x.t.path(ndx))},${ndx})`);
      this.requestTransfer(ndx, ndx, rel, x.dest.lstat(rel), list);
      this.redoPass = saveRedo;
      list.toRedo--;
    }
  }

  /**
   * rsync.c set_file_attrs with ATTRS_REPORT: under -vv, unless the output
   * itemizes, an entry left in place is named ("NAME is uptodate", or just
   * the name when its attributes were changed).
   */
  private reportAttrs(rel: Uint8Array, iflags: number): void {
    const out = this.x.out;
    if (out.quiet || out.info.get("NAME") < 2 || out.formatHasI) return;
    const changed = iflags & (ITEM.REPORT_TIME | ITEM.REPORT_ATIME | ITEM.REPORT_PERMS | ITEM.REPORT_OWNER | ITEM.REPORT_GROUP);
    // rsync.c: FCLIENT lines, which a client's --log-file does not get.
    const line = `${this.display(rel)}${changed ? "" : " is uptodate"}`;
    if (this.x.report.client) this.x.report.client(line);
    else this.x.report.info(line);
  }

  private setAttrs(rel: Uint8Array, row: number, st: DestStat, w: Wanted, exactTime: boolean): boolean {
    const x = this.x;
    try {
      return this.attrs.apply(x.dest, rel, row, st, w, exactTime ? "exact" : "window");
    } catch (e) {
      if (!(e instanceof AttrStepError)) throw e;
      x.report.error(`rsync: [generator] ${e.text(this.full(rel))}: ${errText(e.cause)}`, true);
      x.hadTransferError = true;
      return true;
    }
  }

  /**
   * Directory times and permissions are fixed after their contents are in
   * (touch_up_dirs): `dirRow` for one directory, -1 for all at the end of a
   * non-incremental run.
   */
  private touchUpDirs(dirRow: number, dirIndex = -1): void {
    const x = this.x;
    const t = x.t;
    if (x.o.dryRun || x.o.listOnly) return;
    if (dirRow < 0) {
      for (const { row, mode } of this.tweakedDirs) {
        if (t.flags[row]! & F.MISSING_DIR) continue;
        try {
          x.dest.chmod(this.rel(row), mode);
        } catch {
          // touch_up_dirs does not check its chmod: a directory removed or replaced meanwhile is no error.
        }
      }
      if (!x.lists.incRecurse || this.deleter.mode === "delay") {
        // (Upstream's dir_flist: the whole list without incremental recursion, else the directories in list order.)
        let dirs = 0;
        for (const l of x.lists.lists) {
          for (let row = l.ndxStart; row < l.ndxStart + l.count; row++) {
            if (!isDir(t.mode[row]!)) continue;
            const index = x.lists.incRecurse ? dirs++ : row;
            if (!(t.flags[row]! & F.INACTIVE)) this.touchUpDir(row, index);
          }
        }
      }
      return;
    }
    this.touchUpDir(dirRow, dirIndex);
  }

  /** `index`: the directory's place in upstream's dir_flist, which --debug=time2 shows. */
  private touchUpDir(row: number, index: number): void {
    const x = this.x;
    const t = x.t;
    if (t.flags[row]! & F.INACTIVE) return;
    if (t.flags[row]! & F.IMPLIED_DIR && !x.o.impliedDirs) return;
    if (this.timeDebug > 1) debugLine(`touch_up_dirs: ${shownName(t.path(row))} (${index})`);
    if (t.flags[row]! & F.MISSING_DIR) return;
    const rel = this.rel(row);
    if (!this.attrs.keepsTime(t.mode[row]!)) return;
    if (x.puts) {
      // After the files queued for this directory (each creation changes its mtime); the same check, by the worker.
      x.puts.touchDir(row, { path: x.dest.abs(rel), mtime: t.mtime[row]!, nsec: t.nsec[row]!, window: this.attrs.mtimeWindow() });
      return;
    }
    // Whatever stands at the name gets the time (upstream's touch_up_dirs sets it on a file or symlink
    // --ignore-existing left where the list has a directory: on the symlink itself, never through it).
    const st = x.dest.lstat(rel);
    if (!st || !this.attrs.mtimeDiffers(row, st)) return;
    try {
      x.dest.setTimes(rel, t.mtime[row]!, t.nsec[row]!, isLink(st.mode));
    } catch {
      // touch_up_dirs does not check it: a directory we do not own (a daemon's module root) was reported when
      // recv_generator set its attributes.
    }
  }

  display(name: Uint8Array): string {
    return Buffer.from(name).toString("latin1");
  }

  /** A destination entry as messages name it (util1.c full_fname). */
  full(rel: Uint8Array): string {
    return destFullName(this.x.dest.root, rel, this.x.o.moduleName);
  }
}

