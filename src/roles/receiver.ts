/**
 * The receiver (receiver.c recv_files, receive_data): reads the sender's
 * stream (echoed items, incremental sub-lists, file data, phase markers),
 * rebuilds each file from literal data and blocks of the basis into a temp
 * file, checks the whole-file checksum, then puts it in place.
 *
 * `step` reads one item of the stream (an index with its attributes, one
 * token, one checksum) and acts on it only once it is complete, so it can be
 * retried after UNDERFLOW (Input.loop).
 */
import { RERR, RsyncError, protocolError } from "../errors.ts";
import { FlistDecoder } from "../flist/decode.ts";
import { invalidFileIndex, ListReceiver, type ListReceiveOptions } from "../flist/lists.ts";
import { F, isDevice, isDir, isLink, isReg } from "../flist/table.ts";
import { errText } from "../fs/errors.ts";
import { wholeFileHasher } from "../protocol/checksum-choice.ts";
import { Cpres } from "../compress/choice.ts";
import { NDX_DEL_STATS, NDX_DONE, NDX_FLIST_EOF, NDX_FLIST_OFFSET } from "../protocol/ndx.ts";
import { UNDERFLOW, type ChunkReader } from "../protocol/reader.ts";
import { WaitFor } from "../io/input.ts";
import { listNumber } from "../batch/generator-requests.ts";
import { blockSumsBytes, readSumHead, sumHeadBytes, type SumHead } from "../delta/sum-head.ts";
import { TOKEN_END, TOKEN_PIECES, type TokenReader, tokenReaderFor } from "../delta/token-reader.ts";
import { AttrStepError, ITEM } from "./attrs.ts";
import { xattrRequestFollows } from "../flist/xattrs.ts";
import { IncomingFile, SpareWindow, type IncomingSpec } from "./incoming-file.ts";
import { fstatFd } from "../fs/fd-ops.ts";
import { BACKUP, Backups } from "./backup.ts";
import { basisDirFileRel } from "./basis-dirs.ts";
import { DelayedUpdates } from "./delayed-updates.ts";
import { fuzzyBasisRel, isFuzzyType } from "./fuzzy-basis.ts";
import { FNAMECMP_BACKUP, FNAMECMP_FNAME, FNAMECMP_PARTIAL_DIR, partialPathFor, removePartialDirIfEmpty, removePartialFile } from "./partial-dir.ts";
import type { AttrRules, Wanted } from "./attrs.ts";
import type { DestFs, DestStat } from "../fs/dest-fs.ts";
import { nameInDir, type ReceivingSide } from "./context.ts";
import { debugLine, shownName } from "../output/debug-line.ts";
import { receivedListDump, sayListLines } from "./receive-session.ts";
import { JOB_FILE, PutQueue, type FailedJob } from "./put-queue.ts";
import { destFullName, fullFname } from "../fs/full-name.ts";
import type { WriteStep } from "../native/api.ts";
import { core } from "../native/index.ts";
import { systemError } from "../fs/errors.ts";

interface ReceivingFile {
  row: number;
  ndx: number;
  iflags: number;
  redo: boolean;
  data: IncomingFile;
  partialRel: Uint8Array | null;
  /** The mode and owner it is to have. */
  wanted: Wanted;
  /** Bytes of the file rebuilt so far, and protocol bytes its data took (sum head included). */
  offset: number;
  wireBytes: number;
  /** Its index and attributes on the wire, and the sums the generator sent for it: with wireBytes, the sender's %b and %c. */
  requestBytes: number;
  sumsBytes: number;
  /** The end token came; the whole-file checksum is next. */
  awaitingChecksum: boolean;
}

const MAX_XNAME = 4095;

export class Receiver {
  private phase = 0;
  private readonly maxPhase: number;
  private sublist: ListReceiver | null = null;
  private file: ReceivingFile | null = null;
  /** --progress is on: report each token's position. */
  private readonly showProgress: boolean;
  /** Lists received and not yet ended by the sender's NDX_DONE (incremental mode). */
  private listsHeld = 0;
  /** --read-batch: a file's data read and dropped (receiver.c discard_receive_data); its sum head once read. */
  private skipping: { head: SumHead | null; ended: boolean; done?: number } | null = null;
  /** One for the whole session: a compressed stream may span files. */
  private readonly tokens: TokenReader;
  /** The basis window buffer files pass on to each other (see SpareWindow). */
  private readonly spareWindow = new SpareWindow();
  /** A literal token's pieces (see TokenReader.read), reused. */
  private readonly pieces: Uint8Array[] = [];
  /** --delay-updates: finished files waiting in their partial dirs. */
  private readonly delayed: DelayedUpdates | null;
  /** --debug levels, read once: RECV (recv_files and its files), DELTASUM (basis and checksum), FLIST (sub-lists). */
  private readonly recvDebug: number;
  private readonly deltasumDebug: number;
  private readonly flistDebug: number;
  private readonly hlinkDebug: number;
  /** The directory whose default permissions were last looked up (receiver.c parent_dirname). */
  private permsDir = -2;

  constructor(
    private readonly x: ReceivingSide,
    private readonly decoder: FlistDecoder,
    private readonly listOptions: ListReceiveOptions,
    private readonly attrs: AttrRules,
  ) {
    this.maxPhase = x.s.protocol >= 29 ? 2 : 1;
    this.tokens = tokenReaderFor(x.s.compression, { protocol: x.s.protocol });
    this.showProgress = !x.out.quiet && x.out.info.get("PROGRESS") > 0;
    this.listsHeld = x.lists.lists.length;
    this.delayed = x.o.delayUpdates && x.o.partialDir !== undefined ? new DelayedUpdates(x.o.partialDir) : null;
    this.recvDebug = x.out.debug.get("RECV");
    this.deltasumDebug = x.out.debug.get("DELTASUM");
    this.flistDebug = x.out.debug.get("FLIST");
    this.hlinkDebug = x.out.debug.get("HLINK");
    if (this.writesBehind()) {
      const puts = new PutQueue(core.fileWriter, (job) => this.jobFailed(job));
      x.puts = puts;
      // A directory descriptor let go of is closed after the queued jobs that still use it.
      x.dest.closeDir = (fd) => puts.closeLater(fd);
    }
  }

  /**
   * Whether finished files may be put in place behind us (PutQueue): only
   * where that is create, write, set attributes through the descriptor and
   * rename, nothing later in the run reads them back (hard links, fuzzy
   * bases, --delay-updates, --remove-source-files) and no debug line follows
   * their steps.
   */
  private writesBehind(): boolean {
    const x = this.x;
    const o = x.o;
    return (
      x.dest.fdOps &&
      !x.soloName &&
      !o.dryRun &&
      !o.inplace &&
      !o.append &&
      !o.sparse &&
      !o.preallocate &&
      !o.fsync &&
      !o.hardLinks &&
      !o.fuzzy &&
      !o.delayUpdates &&
      !o.backup &&
      !x.xattrs &&
      !x.acls &&
      !x.confirmToSender &&
      !this.recvDebug &&
      !this.attrs.ownDebug
    );
  }

  /** A file's job that failed behind us, reported as upstream reports the step (the run goes on; exit code 23). */
  private jobFailed(job: FailedJob): void {
    const x = this.x;
    const rel = this.rel(job.row);
    const { errno, step } = job.failure;
    // touch_up_dirs does not check a directory's times (recv_generator reported what it could not set).
    if (job.kind !== JOB_FILE) return;
    const err = errText(systemError(errno, step, ""));
    x.report.error(`rsync: [receiver] ${fileStepText(step, this.full(rel), this.full(siblingOf(rel, job.temp ?? rel)), this.display(rel))}: ${err}`, true);
    x.hadTransferError = true;
  }

  /** The finished file handed to the PutQueue when it can be; false: it is put in place here. */
  private queued(f: ReceivingFile): boolean {
    const puts = this.x.puts;
    if (!puts || f.partialRel) return false;
    const job = f.data.takeForJob();
    if (!job) return false;
    this.attrs.setFileJobAttrs(job, f.row, f.wanted);
    puts.putFile(f.row, job, job.bytes);
    return true;
  }

  /** handle_delayed_updates: every waiting file into place, told to whoever waits for it (hard links, --remove-source-files). */
  private finishDelayed(): void {
    const x = this.x;
    this.delayed?.finish(
      x.dest,
      (f, e) => {
        x.report.error(`rsync: [receiver] rename failed for ${this.full(f.to)} (from ${this.display(f.from)}): ${errText(e)}`, true);
        x.hadTransferError = true;
      },
      (f) => {
        x.fileDone(f.row, true);
        x.confirmToSender?.(f.ndx, f.to);
      },
      (f) => {
        if (Backups.of(x)?.make(f.to, false, "receiver") === BACKUP.FAILED) return false;
        if (this.recvDebug) debugLine(`renaming ${shownName(f.from)} to ${shownName(f.to)}`);
        return true;
      },
    );
  }

  /** receiver.c before protocol 29 (no basis type on the wire): a missing file's basis is tried in the one basis dir. */
  private basisBefore29(rel: Uint8Array): Uint8Array {
    const o = this.x.o;
    if (this.x.s.protocol >= 29 || o.basisDirs.length === 0 || this.x.dest.lstat(rel)) return rel;
    return basisDirFileRel(o, this.x.dest.root, 0, rel);
  }

  /** rsync.c finish_transfer: with -b the file about to be replaced is kept first (in place, the generator kept a copy). */
  private backUpReplaced(rel: Uint8Array, inplace: boolean): void {
    const backups = Backups.of(this.x);
    if (!backups || inplace) return;
    // finish_transfer: a backup that could not be made ends the run (what failed was said).
    if (backups.make(rel, false, "receiver") === BACKUP.FAILED) throw new RsyncError(RERR.FILEIO, `backup of ${this.display(rel)} failed`, true);
  }

  /**
   * A daemon module's rules keep the entry out: our generator asked for
   * nothing of it, so a sender that sends it anyway is lying, and nothing of
   * it may be written (receiver.c recv_files).
   */
  private refuseModuleExcluded(row: number): void {
    const rules = this.x.o.moduleFilters;
    if (!rules) return;
    const rel = this.rel(row);
    if (rel.length === 0 || rules.check(rel, isDir(this.x.t.mode[row]!), this.x.moduleRoot) >= 0) return;
    throw protocolError(`ERROR: rejecting file transfer request for daemon excluded file: ${this.display(rel)}`);
  }

  /** The destination path of an entry (the local name for a single-file transfer). */
  private rel(row: number): Uint8Array {
    const x = this.x;
    if (x.soloName) return x.soloName;
    const p = x.t.path(row);
    return p.length === 1 && p[0] === 0x2e ? new Uint8Array(0) : p;
  }

  /** Reads the sender's stream until the end of the last phase, then the statistics and goodbye. */
  async run(): Promise<void> {
    const x = this.x;
    if (this.recvDebug) debugLine(`recv_files(${x.lists.lists[0]?.count ?? 0}) starting`);
    try {
      await x.input.loop((r) => this.step(r));
    } catch (e) {
      this.abandonFile();
      throw e;
    }
    // Before protocol 29 there is no second phase: delayed files go into place when the data ends.
    this.finishDelayed();
    if (this.recvDebug) debugLine("recv_files finished");
    // Only a client hears the sender's statistics (main.c handle_stats).
    if (!x.amServer) await this.readStats();
    this.markDone();
    if (x.s.protocol >= 31) {
      const saved = x.ndxIn.save();
      const goodbye = await x.input.read((r) => {
        // A partial read is retried from the start: the index decoder must start over too.
        x.ndxIn.restore(saved);
        let ndx = x.ndxIn.read(r);
        // The deletion counts our generator sent come back through the sender (they may come last).
        while (ndx === NDX_DEL_STATS) {
          for (let i = 0; i < 5; i++) r.varint();
          ndx = x.ndxIn.read(r);
        }
        return ndx;
      });
      if (goodbye !== NDX_DONE) throw protocolError(`Invalid packet at end of run (${goodbye}) [receiver]`);
      this.markDone();
    }
  }

  private markDone(): void {
    this.x.doneMarkers++;
    this.x.wakeGenerator();
  }

  step(r: ChunkReader): boolean {
    if (this.sublist) {
      if (this.sublist.step(r)) {
        this.x.ioError |= this.sublist.ioError;
        if (this.sublist.debugLines) this.sublistDebug(this.sublist.debugLines);
        // --debug=DUP: upstream's receiver and its generator each clean the sub-list, and both say so.
        const duplicates = this.x.lists.duplicateLines?.splice(0) ?? [];
        for (const line of [...duplicates, ...duplicates]) debugLine(line);
        this.sublist = null;
        this.listsHeld++;
        this.x.wakeGenerator();
      }
      return true;
    }
    if (this.skipping) return this.skipStep(r);
    if (this.file) return this.file.awaitingChecksum ? this.checksumStep(r) : this.fileStep(r);
    return this.itemStep(r);
  }

  /** An index (with attributes) or a marker; the index decoder is rewound with the reader when the item is incomplete. */
  private itemStep(r: ChunkReader): boolean {
    const saved = this.x.ndxIn.save();
    try {
      return this.item(r);
    } catch (e) {
      if (e === UNDERFLOW || e instanceof WaitFor) this.x.ndxIn.restore(saved);
      throw e;
    }
  }

  private item(r: ChunkReader): boolean {
    const x = this.x;
    const itemStart = r.consumed;
    const ndx = x.ndxIn.read(r);
    if (ndx === NDX_DONE) return this.doneMarker();
    if (ndx < 0) return this.negativeIndex(r, ndx);

    // Without item flags on the wire (protocol < 29) all we know is that data comes.
    let iflags = ITEM.TRANSFER | ITEM.MISSING_DATA;
    let basisType = FNAMECMP_FNAME;
    let xname: Uint8Array | undefined;
    if (x.s.protocol >= 29) {
      iflags = r.u16();
      if (iflags & ITEM.BASIS_TYPE_FOLLOWS) {
        basisType = r.u8();
        // A basis directory is named by its index (FNAMECMP_BASIS_DIR_LOW..HIGH).
        if (basisType < FNAMECMP_FNAME && basisType >= x.o.basisDirs.length) throw protocolError(`invalid basis_dir index: ${basisType}.`);
        const allowed =
          basisType < FNAMECMP_FNAME ||
          basisType === FNAMECMP_FNAME ||
          (basisType === FNAMECMP_PARTIAL_DIR && x.o.partialDir !== undefined) ||
          (basisType === FNAMECMP_BACKUP && x.o.inplace && x.o.backup) ||
          isFuzzyType(x.o, basisType);
        if (!allowed) throw protocolError(`invalid basis type ${basisType} (no alternate basis directories are in use)`);
      }
      if (iflags & ITEM.XNAME_FOLLOWS) xname = r.vstring(MAX_XNAME).slice();
    }
    // -X: the full values the generator asked for come with the item (kept aside until the item is whole).
    const xattrValues = x.xattrs && !x.o.dryRun && xattrRequestFollows(iflags, x.xattrs.optim) ? x.xattrs.readValues(r) : null;
    const list = x.lists.listOf(ndx);
    if (!list) throw protocolError(`File-list index ${ndx} not in any list`);
    const row = ndx >= list.ndxStart ? ndx : list.parentDir >= 0 ? x.lists.dirList[list.parentDir]! : -1;
    if (row < 0) throw protocolError(`File-list index ${ndx} has no parent directory`);
    if (x.t.flags[row]! & F.INACTIVE) throw protocolError(`refusing transfer of cleared file index ${ndx}`);
    this.refuseModuleExcluded(row);
    // (Said once the item is whole: a transfer's sum head may not have come yet, and the item is then read again.)
    const said = () => this.recvDebug && debugLine(`recv_files(${shownName(x.soloName ?? x.t.path(row))})`);
    if (this.showProgress) x.report.indexRead?.(ndx);

    if (!(iflags & ITEM.TRANSFER)) {
      said();
      if (xattrValues) x.xattrs!.storeValues(x.t.extras.get(row)?.xattr, xattrValues, this.display(this.rel(row)));
      this.reportOnly(row, iflags, xname);
      // An entry left in place whose attributes differ gets them now (receiver.c recv_files → set_file_attrs).
      const both = ITEM.XNAME_FOLLOWS | ITEM.LOCAL_CHANGE;
      if (x.xattrs && iflags & ITEM.REPORT_XATTR && !x.o.dryRun && (iflags & both) !== both && this.applyXattrs(row, this.rel(row), this.rel(row))) {
        // A changed attribute makes set_file_attrs set the mtime again, as the list has it (at protocol 30: whole seconds).
        const mode = x.t.mode[row]!;
        if (this.attrs.keepsTime(mode)) x.dest.setTimes(this.rel(row), x.t.mtime[row]!, x.t.nsec[row]!, isLink(mode));
      }
      return true;
    }
    if (!isReg(x.t.mode[row]!)) throw protocolError(`received request to transfer non-regular file: ${ndx} [receiver]`);
    if (this.phase === 2) throw protocolError("got transfer request in phase 2 [receiver]");
    // --read-batch: a file our generator did not ask for is passed over (receiver.c recv_files).
    if (x.readBatch && !(this.phase === 0 && x.readBatch.wants(ndx, listNumber(x, list)))) {
      said();
      x.report.info(`(Skipping batched update for${this.phase ? " resend of" : ""} "${this.display(x.t.path(row))}")`);
      this.skipping = { head: null, ended: false };
      return true;
    }
    // A dry run logs the request and gets no data (no sum head was sent either; a batch has it all).
    if (x.o.dryRun) {
      said();
      // (receiver.c counts it and makes it the current file before it sees there is no data.)
      x.report.transferStarting?.(row, ndx, this.rel(row), false);
      this.finishDryRun(row, iflags);
      // receiver.c: a batch reader, and a client writing only a batch, read the data and drop it.
      if (x.readBatch) this.skipping = { head: null, ended: false };
      // --only-write-batch: its generator counts the file until it is read (receiver.c send_msg_success).
      // (A server gets no data: its client's sender wrote it to the batch alone.)
      else if (x.o.writeBatch < 0 && !x.amServer) this.skipping = { head: null, ended: false, done: ndx };
      else if (x.o.writeBatch < 0) this.skippedFileRead(ndx);
      return true;
    }
    const head = readSumHead(r, x.s.protocol, x.s.sums.xfer.length, "receiver");
    said();
    if (xattrValues) x.xattrs!.storeValues(x.t.extras.get(row)?.xattr, xattrValues, this.display(this.rel(row)));
    // Formats without byte counts are printed when the data starts (upstream's log_before_transfer, never on a server, whose log gets the item once it is in).
    if (x.out.logBeforeTransfer && !x.amServer) x.report.item({ row, name: this.rel(row), iflags });
    x.report.transferStarting?.(row, ndx, this.rel(row));
    this.startFile(row, ndx, iflags, head, basisType, xname, r.consumed - itemStart - sumHeadBytes(x.s.protocol));
    return true;
  }

  private doneMarker(): boolean {
    const x = this.x;
    // --read-batch: the generator's requests up to the end of the list the marker ends, unmatched, are said now.
    if (x.readBatch) {
      const first = x.lists.incRecurse ? (this.listsHeld > 0 ? x.lists.lists[x.lists.lists.length - this.listsHeld] : undefined) : x.lists.lists[0];
      if (first) x.readBatch.wants(first.ndxStart + first.count, listNumber(x, first));
    }
    // Upstream's cur_flist is gone once the last incremental list is freed: phase markers then show nothing.
    if (this.showProgress && (!x.lists.incRecurse || this.listsHeld > 0)) {
      const lists = x.lists.lists;
      x.report.doneMarker?.((x.lists.incRecurse ? lists[lists.length - this.listsHeld] : lists[0]) ?? null);
    }
    if (x.lists.incRecurse && this.listsHeld > 0) {
      this.listsHeld--;
      if (this.listsHeld > 0) return true;
    }
    if (++this.phase > this.maxPhase) return false;
    if (this.recvDebug) debugLine(`recv_files phase=${this.phase}`);
    if (this.phase === 2) this.finishDelayed();
    this.markDone();
    return true;
  }

  private negativeIndex(r: ChunkReader, ndx: number): boolean {
    const x = this.x;
    if (ndx === NDX_DEL_STATS && x.s.protocol >= 31) {
      for (let i = 0; i < 5; i++) r.varint();
      return true;
    }
    if (!x.lists.incRecurse) throw invalidFileIndex(ndx, x.lists, "receiver");
    if (ndx === NDX_FLIST_EOF) {
      x.lists.eof = true;
      // (Upstream's receiver passes the end on to its generator: both say so.)
      if (this.flistDebug > 2) {
        debugLine("[receiver] flist_eof=1");
        debugLine("[generator] flist_eof=1");
      }
      x.wakeGenerator();
      return true;
    }
    // Between NDX_FLIST_EOF and NDX_FLIST_OFFSET: a directory index below 0, which claimDirList refuses and names.
    if (ndx > NDX_FLIST_OFFSET) x.lists.claimDirList(NDX_FLIST_OFFSET - ndx);
    if (x.lists.eof) throw protocolError("received a file list after the end of the lists");
    this.sublist = new ListReceiver(x.lists, this.decoder, this.listOptions, NDX_FLIST_OFFSET - ndx);
    sayListLines(this.sublist, this.flistDebug, this.hlinkDebug, this.flistDebug > 2 ? receivedListDump(x, x.s.protocol, this.listOptions.preserveUid, this.listOptions.preserveGid) : undefined);
    this.sublistDir = NDX_FLIST_OFFSET - ndx;
    return true;
  }

  /** The sub-list's directory (as the sender numbers it), for --debug=flist2. */
  private sublistDir = -1;

  /**
   * --debug=flist2: upstream's receiver reads each sub-list and forwards it to
   * the generator, which reads it again; both say so, with the same names.
   */
  private sublistDebug(lines: string[]): void {
    for (const who of ["receiver", "generator"]) {
      if (this.flistDebug > 1) debugLine(`[${who}] receiving flist for dir ${this.sublistDir}`);
      for (const line of lines) debugLine(line.replace("%s", who));
    }
  }

  private reportOnly(row: number, iflags: number, xname?: Uint8Array): void {
    const x = this.x;
    x.report.item({ row, name: this.rel(row), iflags, xname });
    if (iflags & ITEM.IS_NEW) {
      const mode = x.t.mode[row]!;
      const s = x.stats;
      s.createdFiles++;
      if (isDir(mode)) s.createdDirs++;
      else if (isLink(mode)) s.createdSymlinks++;
      else if (isDevice(mode)) s.createdDevices++;
      else if (!isReg(mode)) s.createdSpecials++;
    }
  }

  private finishDryRun(row: number, iflags: number): void {
    const x = this.x;
    x.report.item({ row, name: this.rel(row), iflags });
    this.countTransfer(row, iflags);
  }

  /** Counted when the data starts, as upstream does (a redo counts again, a new file once). */
  private countTransfer(row: number, iflags: number, redo = false): void {
    const s = this.x.stats;
    s.transferredFiles++;
    s.totalTransferredSize += this.x.t.size[row]!;
    if (iflags & ITEM.IS_NEW && !redo) s.createdFiles++;
  }

  private startFile(row: number, ndx: number, iflags: number, head: SumHead, basisType: number, xname: Uint8Array | undefined, requestBytes: number): void {
    const x = this.x;
    const o = x.o;
    const rel = this.rel(row);
    // receiver.c without -p looks up the default permissions of each new parent directory too (--debug=acl says it again).
    if (this.attrs.defaultPermsSaid) {
      const dir = x.soloName ? -1 : x.t.dirId[row]!;
      if (dir !== this.permsDir) {
        this.permsDir = dir;
        this.attrs.defaultPermsSaid(row);
      }
    }
    // A file received a second time is the redo pass: no appending then, the whole file is rebuilt.
    const redo = (x.t.flags[row]! & F.FILE_SENT) !== 0;
    x.t.flags[row] = x.t.flags[row]! | F.FILE_SENT;
    const partialRel = o.partialDir !== undefined ? partialPathFor(rel, o.partialDir, x.dest) : null;
    const append = redo || !o.append ? 0 : o.append === 2 || x.s.protocol < 30 ? 2 : 1;
    const basisOf = () =>
      basisType === FNAMECMP_PARTIAL_DIR
        ? partialRel
        : isFuzzyType(o, basisType)
          ? fuzzyBasisRel(o, x.dest.root, rel, basisType, xname)
          : basisType === FNAMECMP_BACKUP
            ? Backups.of(x)!.basisRel(rel)
            : basisType < FNAMECMP_FNAME
              ? basisDirFileRel(o, x.dest.root, basisType, rel)
              : this.basisBefore29(rel);
    // (Upstream opens the basis even for a file sent whole; we only read it for a delta, but --debug=deltasum2 names it.)
    const basisRel = head.count === 0 && this.deltasumDebug < 2 ? null : basisOf();
    if (this.deltasumDebug > 1 && basisRel) this.mappedDebug(basisRel);
    // receiver.c recv_files (dest_mode): without -p a file that exists keeps its permissions, those of the basis it opens.
    const wanted = this.attrs.wanted(row, o.perms ? null : regularFile(x.dest, basisRel ?? basisOf()));
    const inplace = o.inplace || o.append > 0;
    const data = new IncomingFile(
      x.dest,
      {
        rel,
        at: inplace || x.tempDir ? null : nameInDir(x, row),
        tempDir: x.tempDir,
        head,
        basisRel: head.count === 0 ? null : basisRel,
        inplace,
        // (Before protocol 29 an in-place receiver with -b always takes the backup.)
        backupBasis: basisType === FNAMECMP_BACKUP || (x.s.protocol < 29 && o.inplace && o.backup),
        append,
        createMode: createMode(wanted),
        fsync: o.fsync,
        // receiver.c turns sparse writing off for the redo pass of an --append run.
        sparse: o.sparse && !(redo && o.append),
        preallocate: o.preallocate ? x.t.size[row]! : 0,
      },
      wholeFileHasher(x.s.sums),
      // Inflated data (-z) is in reused slabs already (compress/output-slabs.ts): a copy would only cost.
      x.s.compression.alg === Cpres.NONE ? (x.puts?.staging ?? null) : null,
      (name) => this.full(name),
      this.spareWindow,
    );
    this.countTransfer(row, iflags, redo);
    // The appended-to part counts as done already (receive_data starts at the basis length).
    const offset = append ? Math.max(0, head.count * head.blockLength - (head.remainder ? head.blockLength - head.remainder : 0)) : 0;
    this.file = { row, ndx, iflags, redo, data, partialRel, wanted, offset, wireBytes: sumHeadBytes(x.s.protocol), requestBytes, sumsBytes: blockSumsBytes(head, x.s.protocol), awaitingChecksum: false };
  }

  /** receive_data under --debug=deltasum3: a matched block, where it is in the basis and where it goes ("(seek)": in place, where it is). */
  private blockDebug(f: ReceivingFile, token: number): void {
    const head = f.data.spec.head;
    const basis = f.data.spec.basisRel;
    if (!basis) return;
    const len = token === head.count - 1 && head.remainder ? head.remainder : head.blockLength;
    const from = token * head.blockLength;
    const inPlace = f.data.spec.inplace && Buffer.compare(basis, f.data.spec.rel) === 0;
    debugLine(`chunk[${token}] of size ${len} at ${from} offset=${f.offset}${inPlace && from === f.offset ? " (seek)" : ""}`);
  }

  /** receive_data under --debug=deltasum2: the basis that is there (not empty) is mapped. */
  private mappedDebug(basisRel: Uint8Array): void {
    const st = this.x.dest.stat(basisRel);
    if (st && isReg(st.mode) && st.size > 0) debugLine(`recv mapped ${shownName(basisRel)} of size ${st.size}`);
  }

  /** A passed-over file's sum head, tokens and checksum, one item per call (no basis: matched blocks are not looked at). */
  private skipStep(r: ChunkReader): boolean {
    const skip = this.skipping!;
    if (!skip.head) skip.head = readSumHead(r, this.x.s.protocol, this.x.s.sums.xfer.length, "receiver");
    else if (!skip.ended) skip.ended = this.tokens.read(r) === TOKEN_END;
    else {
      r.bytes(this.x.s.sums.xfer.length);
      this.skipping = null;
      if (skip.done !== undefined) this.skippedFileRead(skip.done);
    }
    return true;
  }

  private skippedFileRead(ndx: number): void {
    const x = this.x;
    const list = x.lists.listOf(ndx);
    if (list && x.lists.incRecurse) list.inProgress--;
    x.fileDone(ndx, true);
    x.wakeGenerator();
  }

  /** One token of the file's data, or its checksum after the end token. */
  private fileStep(r: ChunkReader): boolean {
    const f = this.file!;
    const head = f.data.spec.head;
    const pieces = this.pieces;
    pieces.length = 0;
    const token = this.tokens.read(r, pieces);
    f.wireBytes += this.tokens.wireBytes;
    if (token === TOKEN_PIECES) {
      // Literal data as it arrived (no copy), one piece per frame it came in.
      let length = 0;
      for (const piece of pieces) length += piece.byteLength;
      if (this.showProgress) this.progressAt(f, length);
      if (this.deltasumDebug > 2) debugLine(`data recv ${length} at ${f.offset}`);
      for (const piece of pieces) f.data.literalData(piece);
      f.offset += length;
      return true;
    }
    if (typeof token !== "number") {
      if (this.showProgress) this.progressAt(f, token.byteLength);
      if (this.deltasumDebug > 2) debugLine(`data recv ${token.byteLength} at ${f.offset}`);
      f.data.literalData(token);
      f.offset += token.byteLength;
      return true;
    }
    if (token !== TOKEN_END) {
      if (token >= head.count) throw protocolError(`Invalid block index ${token} (count=${head.count}) [receiver]`);
      const length = token === head.count - 1 && head.remainder ? head.remainder : head.blockLength;
      if (this.showProgress) this.progressAt(f, length);
      if (this.deltasumDebug > 2) this.blockDebug(f, token);
      const block = f.data.block(token, this.tokens.seesBlocks);
      if (block) this.tokens.seeBlock(block);
      f.offset += length;
      return true;
    }
    // End of data: the sender's whole-file checksum follows.
    f.awaitingChecksum = true;
    return true;
  }

  /**
   * show_progress for a token of `length` bytes: upstream's receiver shows
   * where the file was before it (receive_data); a local copy's progress is
   * its sending half's, shown after each token is sent (match.c matched).
   */
  private progressAt(f: ReceivingFile, length: number): void {
    this.x.report.progress?.(this.x.localCopy ? f.offset + length : f.offset, this.x.t.size[f.row]!);
  }

  /** The sender's whole-file checksum, after the end token. */
  private checksumStep(r: ChunkReader): boolean {
    const f = this.file!;
    const sumLength = this.x.s.sums.xfer.length;
    const theirs = r.bytes(sumLength);
    f.wireBytes += sumLength;
    if (this.deltasumDebug > 1) debugLine("got file_sum");
    if (this.showProgress) this.x.report.transferDataDone?.(this.x.t.size[f.row]!);
    this.finishFile(f, f.data.verify(theirs), theirs);
    return true;
  }

  /** finish_transfer here, on the JS thread: attributes, then the rename (or --delay-updates' wait). */
  private putInPlace(f: ReceivingFile, rel: Uint8Array): void {
    const x = this.x;
    // Attributes on the rebuilt file before it takes the destination's place (finish_transfer):
    // through its descriptor before it is closed when we made it, else by name.
    const built = f.data.close(
      f.data.byDescriptor ? (fd, temp) => this.attrs.apply(x.dest, temp, f.row, fstatFd(fd, () => x.dest.shown(temp)), f.wanted, "exact", fd) : undefined,
    );
    if (f.data.truncateFailure) {
      x.report.error(f.data.truncateFailure, true);
      x.hadTransferError = true;
    }
    this.finishAttributes(f, built, !f.data.byDescriptor);
    if (this.delayed && f.partialRel) {
      // --delay-updates: the finished file waits in its partial dir until the end (recv_ok 2: nothing is told yet).
      x.dest.mkdirParentOf(f.partialRel, 0o700);
      if (this.recvDebug) debugLine(`renaming ${shownName(built)} to ${shownName(f.partialRel)}`);
      this.install(f, f.partialRel);
      this.delayed.add({ row: f.row, ndx: f.ndx, from: f.partialRel, to: rel });
    } else {
      this.backUpReplaced(rel, f.data.spec.inplace);
      if (this.recvDebug) debugLine(f.data.spec.inplace ? `finishing ${shownName(rel)}` : `renaming ${shownName(built)} to ${shownName(rel)}`);
      this.install(f, rel);
      if (f.partialRel) removePartialFile(x.dest, f.partialRel, x.o.partialDir!);
      x.fileDone(f.row, true);
      x.confirmToSender?.(f.ndx, rel);
    }
  }

  /**
   * A rebuilt file's attributes at `at`: `byName` those not set through its
   * descriptor, and its xattrs, the whole set (values known only by checksum
   * come from the basis).
   */
  private finishAttributes(f: ReceivingFile, at: Uint8Array, byName: boolean): void {
    const x = this.x;
    if (byName) {
      const st = x.dest.lstat(at);
      if (st) this.attrs.apply(x.dest, at, f.row, st, f.wanted, "exact");
    }
    if (x.xattrs) this.applyXattrs(f.row, at, f.data.spec.basisRel ?? f.data.name);
  }

  /**
   * The finished file to `to` (finish_transfer's robust_rename). A --temp-dir
   * on another filesystem makes that a copy, which gets the attributes
   * again; copied towards the destination itself, it goes by way of a
   * relative --partial-dir when there is one, so the destination is never
   * seen half written.
   */
  private install(f: ReceivingFile, to: Uint8Array): void {
    const o = this.x.o;
    const via = f.partialRel && to !== f.partialRel && !o.partialDir!.startsWith("/") ? f.partialRel : null;
    const copy = f.data.install(to, via);
    if (!copy) return;
    this.finishAttributes(f, copy, true);
    if (copy === to) return;
    this.x.dest.rename(copy, to);
    removePartialDirIfEmpty(this.x.dest, copy, o.partialDir!);
  }

  private finishFile(f: ReceivingFile, verified: boolean, checksum: Uint8Array): void {
    const x = this.x;
    this.file = null;
    const list = x.lists.listOf(f.ndx);
    const rel = f.data.name;
    try {
      if (f.data.createFailure) return this.notCreated(f);
      if (!verified) {
        // The data came all the same (receive_data counts tokens as they arrive).
        x.stats.literalData += f.data.literal;
        x.stats.matchedData += f.data.matched;
        this.failedVerification(f);
        if (!f.redo) {
          x.redo.push(f.ndx);
          if (list) list.toRedo++;
        } else {
          x.hadTransferError = true;
          x.fileDone(f.row, false);
        }
        return;
      }
      if (this.queued(f)) x.fileDone(f.row, true);
      else this.putInPlace(f, rel);
      x.stats.literalData += f.data.literal;
      x.stats.matchedData += f.data.matched;
      if (!x.out.logBeforeTransfer || x.amServer) {
        x.report.item({ row: f.row, name: rel, iflags: f.iflags, literal: f.data.literal, matched: f.data.matched, checksum, wireBytes: f.wireBytes, requestBytes: f.requestBytes, sumsBytes: f.sumsBytes });
      }
    } catch (e) {
      if (f.data.createFailure) return this.notCreated(f);
      f.data.discard();
      if (e instanceof RsyncError) throw e;
      const text = e instanceof AttrStepError ? e.text(this.full(f.data.temp ?? rel)) : `failed to write ${this.full(rel)}`;
      x.report.error(`rsync: [receiver] ${text}: ${errText(e instanceof AttrStepError ? e.cause : e)}`, true);
      x.hadTransferError = true;
    } finally {
      if (list && x.lists.incRecurse) list.inProgress--;
      x.wakeGenerator();
    }
  }

  /**
   * A rebuilt file whose checksum does not match (receiver.c recv_files):
   * with --partial it is kept (in place, or in the --partial-dir), else it
   * goes; the redo pass asks for it again. The warning shows only with -v
   * or -i; a second failure is always an error.
   */
  private failedVerification(f: ReceivingFile): void {
    const x = this.x;
    const o = x.o;
    const keep = o.partial && !f.data.spec.inplace;
    const kept = !keep && !f.data.spec.inplace ? "discarded" : o.partialDir !== undefined && keep ? "put into partial-dir" : "retained";
    if (keep) {
      // Kept like an interrupted file, with its attributes but not its time (finish_transfer, recv_ok 0).
      const at = f.data.abandon(true, f.partialRel);
      const st = at ? x.dest.lstat(at) : null;
      if (at && st) this.attrs.apply(x.dest, at, f.row, st, f.wanted, "skip");
    } else {
      f.data.discard();
    }
    if (f.redo || x.out.info.get("NAME") > 0 || x.out.formatHasI) {
      const what = f.redo ? "ERROR" : "WARNING";
      x.report.error(`${what}: ${this.display(f.data.name)} failed verification -- update ${kept}${f.redo ? "" : " (will try again)"}.`);
    }
  }

  /**
   * The run is being cut short (error, signal). The file in progress is
   * removed, or with --partial kept in place of the destination file (or in
   * the --partial-dir).
   */
  abandonFile(): void {
    const f = this.file;
    if (!f) return;
    this.file = null;
    const x = this.x;
    const kept = f.data.abandon(x.o.partial, f.partialRel);
    if (!kept) return;
    // cleanup.c: a partial file kept in place gets mtime 0, so nothing takes it for finished.
    const st = x.dest.lstat(kept);
    if (st) this.attrs.apply(x.dest, kept, f.row, st, f.wanted, f.partialRel ? "skip" : { mtime: 0 });
  }

  private async readStats(): Promise<void> {
    const x = this.x;
    const p = x.s.protocol;
    const s = x.stats;
    await x.input.read((r) => {
      const read = p >= 30 ? r.varlong(3) : r.longint();
      const written = p >= 30 ? r.varlong(3) : r.longint();
      const size = p >= 30 ? r.varlong(3) : r.longint();
      let buildTime = 0;
      let xferTime = 0;
      if (p >= 29) {
        buildTime = p >= 30 ? r.varlong(3) : r.longint();
        xferTime = p >= 30 ? r.varlong(3) : r.longint();
      }
      // The server's "read" is what we wrote and the other way round.
      s.totalWritten = read;
      s.totalRead = written;
      s.totalSize = size;
      s.flistBuildTime = buildTime;
      s.flistXferTime = xferTime;
    });
  }

  /** -X: xattrs.c set_xattr on `rel`, its errors reported as transfer errors. True when something was changed. */
  private applyXattrs(row: number, rel: Uint8Array, basisRel: Uint8Array): boolean {
    const x = this.x;
    const { errors, changed } = x.xattrs!.apply(x.dest.abs(rel), x.t.extras.get(row)?.xattr, x.dest.abs(basisRel), `"${this.display(rel)}"`);
    for (const text of errors) x.report.error(text, true);
    if (errors.length) x.hadTransferError = true;
    return changed;
  }

  private display(name: Uint8Array): string {
    return Buffer.from(name).toString("latin1");
  }

  /**
   * A file whose temp file (or, in place, itself) could not be made: its data
   * was read and dropped (receiver.c: "mkstemp ... failed", discard_receive_data).
   */
  private notCreated(f: ReceivingFile): void {
    const x = this.x;
    const { name, inplace, cause } = f.data.createFailure!;
    x.stats.literalData += f.data.literal;
    x.stats.matchedData += f.data.matched;
    f.data.discard();
    x.report.error(`rsync: [receiver] ${inplace ? "open" : "mkstemp"} ${this.full(name)} failed: ${errText(cause)}`, true);
    x.hadTransferError = true;
    x.fileDone(f.row, false);
  }

  /** A destination entry as messages name it (util1.c full_fname); a temp file in an absolute --temp-dir by that path. */
  private full(rel: Uint8Array): string {
    const x = this.x;
    const tempDir = x.o.tempDir;
    if (tempDir?.startsWith("/") && x.tempDir && rel.length > x.tempDir.length && rel[x.tempDir.length] === 0x2f && Buffer.from(x.tempDir).equals(rel.subarray(0, x.tempDir.length))) {
      return fullFname(new Uint8Array(0), Buffer.concat([Buffer.from(tempDir.replace(/\/+$/, "")), rel.subarray(x.tempDir.length)]), x.o.moduleName);
    }
    return destFullName(x.dest.root, rel, x.o.moduleName);
  }
}

/** `name` (a base name) in the directory of `rel`. */
function siblingOf(rel: Uint8Array, name: Uint8Array): Uint8Array {
  const slash = rel.lastIndexOf(0x2f);
  return slash < 0 ? name : Buffer.concat([rel.subarray(0, slash + 1), name]);
}

/**
 * Upstream's text for a step of receiving a file that failed (receiver.c,
 * rsync.c finish_transfer and set_file_attrs): most name the temp file
 * (`temp`), a write the file (`full`), a rename both (`shown`: as given).
 */
function fileStepText(step: WriteStep, full: string, temp: string, shown: string): string {
  switch (step) {
    case "open":
      return `mkstemp ${temp} failed`;
    case "write":
      return `write failed on ${full}`;
    case "fstat":
      return `fstat ${temp} failed`;
    case "chown":
      return `chown ${temp} failed`;
    case "chmod":
      return `failed to set permissions on ${temp}`;
    case "utimes":
      return `failed to set times on ${temp}`;
    case "close":
      return `close failed on ${temp}`;
    case "rename":
      return `rename ${temp} -> "${shown}"`;
    default:
      return `failed to write ${full}`;
  }
}

/** A sum head on the wire: count, block length, checksum length (protocol 27+) and remainder. */

/** A new file's mode: what it is to have, kept writable by us while it is our own (until it is renamed into place). */
function createMode(w: Wanted): number {
  return (w.mode & 0o7777) | 0o200;
}

/** The stat of `rel` when it is a regular file (a basis the receiver would open), else null. */
function regularFile(dest: DestFs, rel: Uint8Array | null): DestStat | null {
  if (!rel) return null;
  const st = dest.lstat(rel);
  return st && isReg(st.mode) ? st : null;
}
