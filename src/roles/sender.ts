/**
 * The sender (sender.c send_files): answers the generator's requests. For
 * each index it reads the item flags (and, for a transfer, the basis
 * signatures), then echoes the index and flags and, for a transfer, sends the
 * sum head, the file's tokens and its whole-file checksum. NDX_DONE markers
 * are echoed per list (incremental recursion) and per phase.
 *
 * What it needs from its surroundings (the lists it sent, how to read an
 * entry's content, how to match against a basis) comes in a SendingSide, so
 * the same loop serves a client push, a server pull and a local copy.
 */
import { RsyncError, protocolError } from "../errors.ts";
import { errText } from "../fs/errors.ts";
import { type FileLists, invalidFileIndex } from "../flist/lists.ts";
import { F, isDevice, isDir, isLink, isReg } from "../flist/table.ts";
import { IOERR_GENERAL, IOERR_VANISHED } from "../flist/decode.ts";
import { type Input, NOT_BUFFERED } from "../io/input.ts";
import type { Output } from "../io/output.ts";
import { ENTRY_WORK, noteWork } from "../io/memory-pacer.ts";
import { wholeFileHasher, wholeFileSum } from "../protocol/checksum-choice.ts";
import { MSG } from "../protocol/mux.ts";
import { NDX_DEL_STATS, NDX_DONE, type NdxDecoder, type NdxEncoder } from "../protocol/ndx.ts";
import { UNDERFLOW, type ChunkReader } from "../protocol/reader.ts";
import type { Session } from "../protocol/setup.ts";
import type { ByteWriter } from "../protocol/writer.ts";
import { blockSumsBytes, readSumHead, type SumHead, writeSumHead } from "../delta/sum-head.ts";
import { type DeltaTotals, READ_SIZE, type TokenSink, writeAppended, writeWholeData, writeWholeFile } from "../delta/send-tokens.ts";
import { writeDeltaFile } from "../delta/send-delta.ts";
import type { BlockMatcher, MatchCounts, SourceRead } from "../native/index.ts";
import { type TokenWriter, tokenWriterFor } from "../delta/token-writer.ts";
import { closeSync, fstatSync, readSync } from "node:fs";
import { rollingChecksum } from "../native/ts/rolling.ts";
import { ITEM } from "./attrs.ts";
import type { TransferStats } from "./stats.ts";
import type { ItemEvent } from "./reporter.ts";
import type { SenderXattrs } from "../flist/xattrs.ts";

const MAX_XNAME = 4095;

/**
 * Finds the blocks of the basis in a file of `length` bytes fed to it window
 * by window; without one, everything goes literally. `basisType` is the
 * generator's FNAMECMP_* byte (FNAMECMP_FNAME when it sent none).
 */
export type Matcher = (head: SumHead, sums: Uint8Array, length: number, s: Session, basisType: number) => BlockMatcher;

/** The basis-type byte for the destination's own file, which the generator leaves unsaid (FNAMECMP_FNAME). */
const FNAMECMP_FNAME = 0x80;

export interface SendingSide {
  s: Session;
  lists: FileLists;
  input: Input;
  output: Output;
  ndxIn: NdxDecoder;
  ndxOut: NdxEncoder;
  stats: TransferStats;
  /** IOERR_* bits of this side (sent as MSG_IO_ERROR at the end, protocol 30+). */
  ioError: number;
  dryRun: boolean;
  /** --append (1) / --append-verify (2): a first request names the receiver's length instead of sending sums. */
  append?: number;
  /** An entry opened for reading (a descriptor the sender closes); throws the open error (ENOENT: the file vanished). */
  openContent(row: number): number;
  /** openContent for a file sent whole: a small regular file comes back read into `into` and closed (Core.readSource). */
  readContent?(row: number, into: Uint8Array): SourceRead;
  /** How much of an opened entry to send: a device's length (--copy-devices; throws without it), else the file's size (fstat); without it, fstat's size. */
  contentLength?(fd: number): number;
  /** A readable name for messages. */
  displayName(row: number): string;
  /** The entry's path on this side, for a sending side's %f (log.c: the sender's F_PATHNAME joined to the name). */
  localPath?(row: number): Uint8Array;
  /**
   * Incremental recursion: sends further lists until the receiver knows
   * enough files ahead of those it finished (before each request is read).
   */
  sendMoreLists?(): void;
  /**
   * Incremental recursion, while no request has come: sends one more list if
   * the receiver is not yet far ahead; false when none was sent.
   */
  sendListWhileIdle?(): boolean;
  /** Warnings and errors for the user (sent as messages by a server, printed by a client). */
  warn(code: "error" | "warning", text: string): void;
  /** --debug=DELTASUM level: 1 prints the session's match totals (-vv), 2 each file's counters too (-vvv). */
  deltaSumLevel?: number;
  /** An informational line for the user (MSG_INFO from a server, stdout on a client), newline included. */
  info?(text: string): void;
  /** --debug=SEND level: send_files says what it does with each request. */
  sendLevel?: number;
  /** How sender.c's debug lines name an entry (its argument's directory, then its name). */
  debugPath?(row: number): string;
  matcher?: Matcher;
  /** A server passes the generator's deletion counts on to its client. */
  forwardDeleteStats?: boolean;
  /** A client's item line (log_item / maybe_log_item): `totals` for a transfer. */
  report?(e: ItemEvent): void;
  /** A daemon module's "dont compress" lists "*": deflate stores only. */
  storeOnly?: boolean;
  /** -X: the attributes sent with the lists, and the values the generator asks for. */
  xattrs?: SenderXattrs;
  /** --only-write-batch: file data goes here (the batch) instead of to the receiver (sender.c f_xfer). */
  batchOnlyData?: { writer(): ByteWriter; flush(): void };
}

interface Request {
  ndx: number;
  iflags: number;
  basisType: number | null;
  xname: Uint8Array | null;
  head: SumHead | null;
  sums: Uint8Array | null;
  /** -X: the abbreviated values the generator asks for (their numbers). */
  xattrNums: number[] | null;
  /** --append: how much the receiver already has (what is sent starts there). */
  appendFrom: number | null;
}

export class Sender {
  private phase = 0;
  private readonly maxPhase: number;
  /** Incremental lists the generator has finished with (upstream frees them one by one). */
  private finishedLists = 0;
  /** flist.c cur_flist: the list of the generator's latest request (or the first still open), an index into x.lists.lists. */
  private currentList = 0;
  /** Lists counted into reachedFiles so far, and their entries. */
  private listsReached = 0;
  private reachedFiles = 0;
  /** Where files sent whole are read, one piece at a time (the writer copies what it is given). */
  private readonly readBuffer = new Uint8Array(READ_SIZE);
  /** One for the whole session: a compressed stream may span files. */
  private readonly tokens: TokenWriter;
  /** match.c's session totals (total_matches, total_hash_hits, total_false_alarms). */
  private readonly matchTotals: MatchCounts = { hashHits: 0, falseAlarms: 0, matches: 0 };

  /** --debug levels, read once (see SendingSide). */
  private readonly sendDebug: number;
  private readonly deltasumDebug: number;

  constructor(private readonly x: SendingSide) {
    this.sendDebug = x.info ? (x.sendLevel ?? 0) : 0;
    this.deltasumDebug = x.info ? (x.deltaSumLevel ?? 0) : 0;
    this.maxPhase = x.s.protocol >= 29 ? 2 : 1;
    this.tokens = tokenWriterFor(x.s.compression, { protocol: x.s.protocol, storeOnly: x.storeOnly });
  }

  async run(): Promise<void> {
    const x = this.x;
    const ioErrorAtStart = x.ioError;
    if (this.sendDebug) this.say("send_files starting");
    for (;;) {
      x.sendMoreLists?.();
      let buffered = x.input.tryRead(this.readRequestStep);
      // io.c perform_io: while the generator has nothing for us, one more list at a time, each followed by a
      // look for its request. Building all the idle lookahead first kept the very first request waiting for
      // 10,000 entries to be listed (a cold start's 100-200 ms before the first file left).
      while (buffered === NOT_BUFFERED && x.output.writableNow() && x.sendListWhileIdle?.()) {
        await nextTurn();
        buffered = x.input.tryRead(this.readRequestStep);
      }
      const req = buffered !== NOT_BUFFERED ? buffered : await x.input.read(this.readRequestStep);
      if (req.ndx === NDX_DEL_STATS) continue;
      if (req.ndx === NDX_DONE) {
        if (!this.doneMarker()) break;
        continue;
      }
      this.reach(req.ndx);
      x.sendMoreLists?.();
      // Most requests are answered without a wait (a small file read whole); awaiting nothing costs a turn each.
      const rest = this.answer(req);
      if (rest) await rest;
      if (!x.output.writableNow()) await x.output.waitWritable();
    }
    if (x.ioError !== ioErrorAtStart && x.s.protocol >= 30) x.output.messageInt(MSG.IO_ERROR, x.ioError);
    if (this.sendDebug) this.say("send files finished");
    this.matchReport();
    x.ndxOut.write(x.output.data, NDX_DONE);
    x.output.flush();
  }

  /** A --debug line (through `info`, which the levels are only set with). */
  private say(text: string): void {
    this.x.info!(`${text}\n`);
  }

  /** sender.c receive_sums under --debug=deltasum3: the sum head, then each block's offset, length and rolling sum. */
  private sumsDebug(req: Request): void {
    const head = req.head!;
    this.say(`count=${head.count} n=${head.blockLength} rem=${head.remainder}`);
    const sums = req.sums;
    if (!sums) return;
    const stride = 4 + head.strongLength;
    const view = new DataView(sums.buffer, sums.byteOffset, sums.byteLength);
    for (let i = 0; i < head.count; i++) {
      const len = i === head.count - 1 && head.remainder ? head.remainder : head.blockLength;
      this.say(`chunk[${i}] len=${len} offset=${i * head.blockLength} sum1=${view.getUint32(i * stride, true).toString(16).padStart(8, "0")}`);
    }
  }

  /** match.c hash_search under --debug=deltasum3: the rolling sum of the first window, then the search's bounds. */
  private searchStartDebug(fd: number, length: number, head: SumHead): void {
    const k = Math.min(length, head.blockLength);
    const first = new Uint8Array(k);
    readSync(fd, first, 0, k, 0);
    this.say(`sum=${rollingChecksum(first).toString(16).padStart(8, "0")} k=${k}`);
    this.say(`hash search s->blength=${head.blockLength} len=${length} count=${head.count}`);
  }

  /** match.c match_report: the session's match totals at -vv (the literal bytes are stats.literal_data). */
  private matchReport(): void {
    const x = this.x;
    if ((x.deltaSumLevel ?? 0) < 1) return;
    const t = this.matchTotals;
    x.info?.(`total: matches=${t.matches}  hash_hits=${t.hashHits}  false_alarms=${t.falseAlarms} data=${x.stats.literalData}\n`);
  }

  /** match.c match_sums: a file's counters, added to the totals, and shown at -vvv once its checksum is out. */
  private countMatches(counts: MatchCounts): void {
    const x = this.x;
    const t = this.matchTotals;
    t.hashHits += counts.hashHits;
    t.falseAlarms += counts.falseAlarms;
    t.matches += counts.matches;
    if ((x.deltaSumLevel ?? 0) >= 2) x.info?.(`false_alarms=${counts.falseAlarms} hash_hits=${counts.hashHits} matches=${counts.matches}\n`);
  }

  /** IOERR_* bits of this side (the exit code of a pushing client). */
  get ioError(): number {
    return this.x.ioError;
  }

  /** A server sender's statistics, which its client prints (main.c handle_stats). */
  async sendStats(totalSize: number, flistBuildMs: number, flistXferMs: number): Promise<void> {
    const x = this.x;
    const p = x.s.protocol;
    const w = x.output.data;
    const long30 = (v: number) => (p >= 30 ? w.varlong(v, 3) : w.longint(v));
    // Counted as the bytes cross the connection, as upstream's stats.total_read/written are.
    long30(x.input.bytesReceived);
    long30(x.output.bytesSent);
    long30(totalSize);
    if (p >= 29) {
      long30(flistBuildMs);
      long30(flistXferMs);
    }
    x.output.flush();
  }

  /**
   * main.c read_final_goodbye, as the sender: the generator's NDX_DONE,
   * echoed (protocol 31+), then its last one.
   */
  async readGoodbye(): Promise<void> {
    const x = this.x;
    const p = x.s.protocol;
    if (p < 24) return;
    const readDone = () =>
      x.input.read((r) => {
        if (p < 29) return r.i32();
        let ndx = x.ndxIn.read(r);
        while (ndx === NDX_DEL_STATS && p >= 31) {
          this.readDeleteStats(r);
          ndx = x.ndxIn.read(r);
        }
        return ndx;
      });
    let ndx = await readDone();
    if (p >= 31 && ndx === NDX_DONE) {
      x.ndxOut.write(x.output.data, NDX_DONE);
      x.output.flush();
      ndx = await readDone();
    }
    if (ndx !== NDX_DONE) throw protocolError(`Invalid packet at end of run (${ndx}) [sender]`);
  }

  /**
   * An NDX_DONE from the generator, echoed. With incremental recursion it
   * first ends the oldest list still open; only when none is left does it
   * end a phase. False once the last phase is over.
   */
  private doneMarker(): boolean {
    const x = this.x;
    if (x.lists.incRecurse && this.finishedLists < x.lists.lists.length) {
      this.finishedLists++;
      if (this.finishedLists < x.lists.lists.length) {
        x.ndxOut.write(x.output.data, NDX_DONE);
        return true;
      }
    }
    if (++this.phase > this.maxPhase) return false;
    if (this.sendDebug) this.say(`send_files phase=${this.phase}`);
    x.ndxOut.write(x.output.data, NDX_DONE);
    return true;
  }

  /**
   * Entries in the lists up to the current one (upstream's file_old_total
   * plus the lists already freed): the lists are kept ahead of this. Counting
   * only the lists the generator finished with held back the next list while
   * a directory of more than 10,000 entries was open, and the generator,
   * through with it, waited for that list: a push or a served pull hung.
   */
  get filesReached(): number {
    const lists = this.x.lists.lists;
    const through = Math.min(Math.max(this.currentList, this.finishedLists) + 1, lists.length);
    while (this.listsReached < through) this.reachedFiles += lists[this.listsReached++]!.count;
    return this.reachedFiles;
  }

  /** rsync.c read_ndx_and_attrs: a request moves the current list on to its own (requests come in list order). */
  private reach(ndx: number): void {
    const lists = this.x.lists.lists;
    let i = this.currentList;
    while (i + 1 < lists.length && ndx >= lists[i]!.ndxStart + lists[i]!.count) i++;
    this.currentList = i;
  }

  private readonly readRequestStep = (r: ChunkReader): Request => this.readRequestRewinding(r);

  private readRequestRewinding(r: ChunkReader): Request {
    const saved = this.x.ndxIn.save();
    try {
      return this.readRequest(r);
    } catch (e) {
      if (e === UNDERFLOW) this.x.ndxIn.restore(saved);
      throw e;
    }
  }

  /** read_ndx_and_attrs plus, for a transfer, receive_sums: one whole request. */
  private readRequest(r: ChunkReader): Request {
    const x = this.x;
    const ndx = x.ndxIn.read(r);
    const req: Request = { ndx, iflags: 0, basisType: null, xname: null, head: null, sums: null, xattrNums: null, appendFrom: null };
    if (ndx === NDX_DONE) return req;
    if (ndx === NDX_DEL_STATS && x.s.protocol >= 31) {
      this.readDeleteStats(r);
      return req;
    }
    if (ndx < 0) throw invalidFileIndex(ndx, x.lists, "sender");
    req.iflags = x.s.protocol >= 29 ? r.u16() : ITEM.TRANSFER | ITEM.MISSING_DATA;
    if (req.iflags & ITEM.BASIS_TYPE_FOLLOWS) req.basisType = r.u8();
    if (req.iflags & ITEM.XNAME_FOLLOWS) req.xname = r.vstring(MAX_XNAME).slice();
    if (x.xattrs && !x.dryRun) req.xattrNums = x.xattrs.readRequest(r, req.iflags);
    if (req.iflags & ITEM.TRANSFER && !x.dryRun) {
      const head = readSumHead(r, x.s.protocol, x.s.sums.xfer.length, "sender");
      req.head = head;
      // --append: a first request comes without sums, its head sizing what the receiver has; a redo of a
      // file already sent is a normal delta (sender.c receive_sums and its append_mode flip).
      if (x.append && !(x.lists.table.flags[this.rowOf(ndx)]! & F.FILE_SENT)) req.appendFrom = appendedLength(head);
      else req.sums = r.bytes(head.count * (4 + head.strongLength)).slice();
    }
    return req;
  }

  /**
   * rsync.c read_ndx_and_attrs: the generator's deletion counts (protocol
   * 31+), which a server passes on to its client and a client prints.
   */
  private readDeleteStats(r: ChunkReader): void {
    const x = this.x;
    const counts = [r.varint(), r.varint(), r.varint(), r.varint(), r.varint()];
    if (counts.some((n) => n < 0)) throw protocolError("invalid deletion statistics from the generator");
    const [files, dirs, symlinks, devices, specials] = counts as [number, number, number, number, number];
    const st = x.stats;
    st.deletedDirs = dirs;
    st.deletedSymlinks = symlinks;
    st.deletedDevices = devices;
    st.deletedSpecials = specials;
    st.deletedFiles = files + dirs + symlinks + devices + specials;
    if (x.forwardDeleteStats) {
      x.ndxOut.write(x.output.data, NDX_DEL_STATS);
      for (const n of counts) x.output.data.varint(n);
    }
  }

  /** The item as the client's output (or a daemon's transfer log) sees it. */
  private report(row: number, req: Request, totals: DeltaTotals | null, wireBytes?: number): void {
    const x = this.x;
    if (!x.report) return;
    // A transfer's xname names its fuzzy basis, which upstream's log_item does not show.
    const xname = req.iflags & ITEM.TRANSFER ? undefined : (req.xname ?? undefined);
    const table = x.lists.table;
    // The names are built only if a line or log shows the item (most runs print nothing per file).
    x.report({
      row,
      get name() {
        return table.path(row);
      },
      iflags: req.iflags,
      xname,
      literal: totals?.literal,
      matched: totals?.matched,
      wireBytes,
      sumsBytes: wireBytes !== undefined && req.head ? blockSumsBytes(req.head, x.s.protocol) : undefined,
      get path() {
        return x.localPath?.(row);
      },
    });
  }

  private rowOf(ndx: number): number {
    const lists = this.x.lists;
    const list = lists.listOf(ndx);
    if (!list) throw protocolError(`File-list index ${ndx} not in any list`);
    const row = ndx >= list.ndxStart ? ndx : list.parentDir >= 0 ? lists.dirList[list.parentDir]! : -1;
    if (row < 0) throw protocolError(`File-list index ${ndx} has no parent directory`);
    if (lists.table.flags[row]! & F.INACTIVE) throw protocolError(`refusing transfer of cleared file index ${ndx}`);
    return row;
  }

  private echo(req: Request): void {
    const x = this.x;
    const w = x.output.data;
    x.ndxOut.write(w, req.ndx);
    if (x.s.protocol < 29) return;
    w.u16(req.iflags);
    if (req.basisType !== null) w.u8(req.basisType);
    if (req.xname !== null) w.vstring(req.xname);
    if (x.xattrs && !x.dryRun) x.xattrs.writeValues(w, this.rowOf(req.ndx), req.iflags);
  }

  /** Where a file's data goes: the output, or with --only-write-batch the batch alone. */
  private dataWriter(): ByteWriter {
    const batchOnly = this.x.batchOnlyData;
    return batchOnly ? batchOnly.writer() : this.x.output.data;
  }

  /** Answers one request; a promise when it has more to do (a large file, a delta), else undefined. */
  private answer(req: Request): Promise<void> | undefined {
    const x = this.x;
    const row = this.rowOf(req.ndx);
    const t = x.lists.table;
    const shown = this.sendDebug || this.deltasumDebug > 1 ? (x.debugPath?.(row) ?? x.displayName(row)) : "";
    if (this.sendDebug) this.say(`send_files(${req.ndx}, ${shown})`);
    if (req.xattrNums) x.xattrs!.markRequested(row, req.xattrNums);
    if (!(req.iflags & ITEM.TRANSFER)) {
      this.report(row, req, null);
      this.echo(req);
      if (req.iflags & ITEM.IS_NEW) countCreated(x.stats, t.mode[row]!);
      return;
    }
    if (this.phase === 2) throw protocolError("got transfer request in phase 2 [sender]");
    if (!isReg(t.mode[row]!)) throw protocolError(`received request to transfer non-regular file: ${req.ndx} [sender]`);
    // The redo pass asks again for files already sent: they were counted the first time.
    if (req.iflags & ITEM.IS_NEW && !(t.flags[row]! & F.FILE_SENT)) x.stats.createdFiles++;
    x.stats.transferredFiles++;
    x.stats.totalTransferredSize += t.size[row]!;
    if (x.dryRun) {
      this.report(row, req, { literal: 0, matched: 0 });
      this.echo(req);
      return;
    }
    const head = req.head!;
    if (this.deltasumDebug > 2) this.sumsDebug(req);
    // Read as it goes out: in pieces when the receiver wants the file whole (or its end, with --append), through a sliding window for a delta.
    const whole = head.count === 0 || !x.matcher || req.appendFrom !== null;
    let source: Source;
    try {
      source = openSource(x, row, whole && req.appendFrom === null ? this.readBuffer : null);
    } catch (e) {
      // A device without --copy-devices ends the transfer (sender.c), it is no open failure.
      if (e instanceof RsyncError) throw e;
      const err = e as NodeJS.ErrnoException;
      if (err.code === "ENOENT") {
        x.ioError |= IOERR_VANISHED;
        x.warn("warning", `file has vanished: ${x.displayName(row)}`);
      } else {
        x.ioError |= IOERR_GENERAL;
        x.warn("error", `rsync: [sender] send_files failed to open ${x.displayName(row)}: ${errText(err)}`);
      }
      // --iconv: messages carry the index as transmitted, as the index codec does.
      if (x.s.protocol >= 30) x.output.messageInt(MSG.NO_SEND, x.lists.wireOrder?.toWire(req.ndx) ?? req.ndx);
      return;
    }
    if (this.deltasumDebug > 1) this.say(`send_files mapped ${shown} of size ${whole && source.fd >= 0 ? fstatSync(source.fd).size : source.length}`);
    // %b counts from here, the echoed item included (sender.c remember_initial_stats).
    const dataStart = x.output.dataWritten;
    this.echo(req);
    const batchOnly = x.batchOnlyData;
    // The item goes to both (it is recorded as it leaves), then the data to the batch alone.
    if (batchOnly) x.output.flush();
    writeSumHead(this.dataWriter(), head, x.s.protocol);
    if (this.deltasumDebug > 1) this.say(`calling match_sums ${shown}`);
    if (source.data) {
      // Read whole already: it goes out now, and the caller waits for the output if it must.
      const totals = writeWholeData(this.dataWriter(), this.tokens, source.data, wholeFileSum(x.s.sums, source.data));
      this.answered({ row, req, whole, source, dataStart, shown }, totals, NO_MATCHES);
      return undefined;
    }
    return this.answerStreaming({ row, req, whole, source, dataStart, shown });
  }

  /** The rest of answer() for a file read as it goes out: in pieces, or through a delta's sliding window. */
  private async answerStreaming(a: Answering): Promise<void> {
    const x = this.x;
    const { row, req, whole, source } = a;
    const head = req.head!;
    const batchOnly = x.batchOnlyData;
    const sink: TokenSink = { writer: () => this.dataWriter(), writable: batchOnly ? async () => batchOnly.flush() : () => x.output.waitWritable() };
    let totals: DeltaTotals;
    // The whole-file and --append paths match nothing: their counters stay zero, as upstream's do.
    let counts: MatchCounts = NO_MATCHES;
    try {
      if (req.appendFrom !== null) {
        totals = await writeAppended(sink, this.tokens, source.fd, wholeFileHasher(x.s.sums), this.readBuffer, req.appendFrom, x.append === 2);
      } else if (whole) {
        totals = await writeWholeFile(sink, this.tokens, source.fd, wholeFileHasher(x.s.sums), this.readBuffer, source.length);
      } else {
        const matcher = x.matcher!(head, req.sums!, source.length, x.s, req.basisType ?? FNAMECMP_FNAME);
        // match.c match_sums: the hash search runs on a file that is not empty.
        const searching = this.deltasumDebug > 1 && source.length > 0;
        if (searching) {
          this.say("built hash table");
          this.say(`hash search b=${head.blockLength} len=${source.length}`);
          if (this.deltasumDebug > 2) this.searchStartDebug(source.fd, source.length, head);
        }
        const walk = searching ? matchesSaid(matcher, (text: string) => this.say(text)) : matcher;
        const sent = await writeDeltaFile(sink, this.tokens, source.fd, source.length, walk, wholeFileHasher(x.s.sums), head.blockLength);
        if (searching) this.say("done hash search");
        totals = sent;
        counts = matcher.counts;
        // The file shrank (or a read failed) while it was read: zeros went out for the rest, and the receiver's checksum of it fails (sender.c send_files).
        if (sent.readError !== undefined) {
          x.ioError |= IOERR_GENERAL;
          x.warn("error", `rsync: [sender] read errors mapping ${x.displayName(row)}: ${sent.readError}`);
        }
      }
    } finally {
      if (source.fd >= 0) closeSync(source.fd);
    }
    this.answered(a, totals, counts);
  }

  /** A file's data is out: the totals, its report and the sent flag. */
  private answered({ row, req, whole, source, dataStart, shown }: Answering, totals: DeltaTotals, counts: MatchCounts): void {
    const x = this.x;
    const t = x.lists.table;
    const batchOnly = x.batchOnlyData;
    // What a file costs the heap (its request and answer; a delta's window), for the GC pacer.
    noteWork(whole ? ANSWER_WORK : ANSWER_WORK + source.length);
    x.stats.literalData += totals.literal;
    x.stats.matchedData += totals.matched;
    t.flags[row] = t.flags[row]! | F.FILE_SENT;
    this.report(row, req, totals, x.output.dataWritten - dataStart);
    // After the item's name (upstream logs it before match_sums, for the usual formats without %b).
    if (this.deltasumDebug > 1) this.say("sending file_sum");
    this.countMatches(counts);
    if (this.sendDebug) this.say(`sender finished ${shown}`);
    batchOnly?.flush();
    // No flush here: the output goes in large pieces, and by itself once we wait for the generator.
  }
}

/** A file to send: open (fd), or already read whole into `data` and closed (fd -1, when `into` was given). */
type Source = { fd: number; length: number; data?: Uint8Array };

/** A transfer request being answered, as answer() found it before the data goes out. */
interface Answering {
  row: number;
  req: Request;
  /** Sent whole (no basis), or from --append's offset. */
  whole: boolean;
  source: Source;
  /** x.output.dataWritten before the item was echoed (%b counts from there). */
  dataStart: number;
  /** The name for --debug lines ("" without them). */
  shown: string;
}

/**
 * What answering one file sent whole allocates, in the GC pacer's units: the
 * request, the answer's record, the totals, a few hundred bytes in all (a
 * quarter of a list entry's ENTRY_WORK; it was a whole one while each file
 * also went through three async functions).
 */
const ANSWER_WORK = ENTRY_WORK / 4;

/** The match counters of a file matched against nothing (sent whole, or appended). */
const NO_MATCHES: Readonly<MatchCounts> = Object.freeze({ hashHits: 0, falseAlarms: 0, matches: 0 });

/**
 * A file to send, opened, and how much of it to send: a device's length with
 * --copy-devices, else its size as fstat gives it when opened (sender.c sends
 * st_size bytes; knowing it, a small file takes one read, without a second
 * one to find its end). A file sent whole that fits `into` is read at once.
 */
function openSource(x: SendingSide, row: number, into: Uint8Array | null): Source {
  let fd: number;
  /** The size an fstat gave already (readContent's). */
  let size: number | undefined;
  if (into && x.readContent) {
    const r = x.readContent(row, into);
    if (r.fd < 0) return { fd: -1, length: r.size, data: into.subarray(0, r.read) };
    fd = r.fd;
    size = r.size;
  } else fd = x.openContent(row);
  try {
    return { fd, length: x.contentLength?.(fd) ?? size ?? fstatSync(fd).size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** stats.created_*: a new entry the generator reported without a transfer (sender.c send_files). */
function countCreated(st: TransferStats, mode: number): void {
  st.createdFiles++;
  if (isReg(mode)) return;
  if (isDir(mode)) st.createdDirs++;
  else if (isLink(mode)) st.createdSymlinks++;
  else if (isDevice(mode)) st.createdDevices++;
  else st.createdSpecials++;
}

/** The length an --append head stands for: its blocks, the last one cut to the remainder (sender.c receive_sums). */
function appendedLength(head: SumHead): number {
  return head.count * head.blockLength - (head.remainder ? head.blockLength - head.remainder : 0);
}

/**
 * match.c matched() under --debug=deltasum2: each block found, where, and the
 * literal bytes before it ("match at OFFSET last_match=START j=BLOCK len=LEN n=LITERAL").
 * A literal op right before a block op is that match's own (a flush of a long
 * literal run is always followed by more literal before the next match).
 */
function matchesSaid(m: BlockMatcher, say: (text: string) => void): BlockMatcher {
  let pos = 0;
  let literal = 0;
  return {
    step(window, base) {
      const ops = m.step(window, base);
      for (let i = 0; i < ops.length; i += 2) {
        const block = ops[i]!;
        const n = ops[i + 1]!;
        if (block < 0) literal = n;
        else {
          say(`match at ${pos} last_match=${pos - literal} j=${block} len=${n} n=${literal}`);
          literal = 0;
        }
        pos += n;
      }
      return ops;
    },
    get pendingFrom() {
      return m.pendingFrom;
    },
    get done() {
      return m.done;
    },
    get counts() {
      return m.counts;
    },
  };
}

/** Lets the event loop run once: what has come in on the connection is read, and what waits to go out is sent. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
