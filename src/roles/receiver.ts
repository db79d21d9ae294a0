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
import * as fs from "node:fs";
import { protocolError } from "../errors.ts";
import { FlistDecoder } from "../flist/decode.ts";
import { ListReceiver, type ListReceiveOptions } from "../flist/lists.ts";
import { F, isDevice, isDir, isLink, isReg } from "../flist/table.ts";
import { tempNameFor } from "../fs/dest-fs.ts";
import { errText } from "../fs/errors.ts";
import type { Hasher } from "../native/index.ts";
import { wholeFileHasher } from "../protocol/checksum-choice.ts";
import { NDX_DEL_STATS, NDX_DONE, NDX_FLIST_EOF, NDX_FLIST_OFFSET } from "../protocol/ndx.ts";
import type { ChunkReader } from "../protocol/reader.ts";
import { readSumHead, type SumHead } from "../delta/sum-head.ts";
import { ITEM } from "./attrs.ts";
import type { AttrRules } from "./attrs.ts";
import type { ReceivingSide } from "./context.ts";

/** Upstream never sends a literal run longer than CHUNK_SIZE; 3.4.4+ refuses longer ones. */
const MAX_LITERAL = 32 * 1024;
/** Files up to this size are kept in memory and written in one go. */
const SMALL_FILE = 1 << 20;
const MAX_XNAME = 4095;

/** The file being received. */
interface Incoming {
  row: number;
  ndx: number;
  iflags: number;
  rel: Uint8Array;
  temp: Uint8Array;
  head: SumHead;
  basisFd: number;
  hasher: Hasher;
  /** Data not yet written (small files: all of it). */
  chunks: Uint8Array[];
  pending: number;
  fd: number;
  written: number;
  literal: number;
  matched: number;
  redo: boolean;
}

export class Receiver {
  private phase = 0;
  private readonly maxPhase: number;
  private sublist: ListReceiver | null = null;
  private file: Incoming | null = null;
  /** Lists received and not yet ended by the sender's NDX_DONE (incremental mode). */
  private listsHeld = 0;

  constructor(
    private readonly x: ReceivingSide,
    private readonly decoder: FlistDecoder,
    private readonly listOptions: ListReceiveOptions,
    private readonly attrs: AttrRules,
  ) {
    this.maxPhase = x.s.protocol >= 29 ? 2 : 1;
    this.listsHeld = x.lists.lists.length;
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
    try {
      await x.input.loop((r) => this.step(r));
    } catch (e) {
      this.abandonFile();
      throw e;
    }
    await this.readStats();
    this.markDone();
    if (x.s.protocol >= 31) {
      const goodbye = await x.input.read((r) => x.ndxIn.read(r));
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
        this.sublist = null;
        this.listsHeld++;
        this.x.wakeGenerator();
      }
      return true;
    }
    if (this.file) return this.fileStep(r);
    return this.itemStep(r);
  }

  /** An index (with attributes) or a marker. */
  private itemStep(r: ChunkReader): boolean {
    const x = this.x;
    const ndx = x.ndxIn.read(r);
    if (ndx === NDX_DONE) return this.doneMarker();
    if (ndx < 0) return this.negativeIndex(r, ndx);

    // Without item flags on the wire (protocol < 29) all we know is that data comes.
    let iflags = ITEM.TRANSFER | ITEM.MISSING_DATA;
    if (x.s.protocol >= 29) {
      iflags = r.u16();
      if (iflags & ITEM.BASIS_TYPE_FOLLOWS) {
        const type = r.u8();
        if (type !== 0x80) throw protocolError(`invalid basis type ${type} (no alternate basis directories are in use)`);
      }
      if (iflags & ITEM.XNAME_FOLLOWS) r.vstring(MAX_XNAME);
    }
    const list = x.lists.listOf(ndx);
    if (!list) throw protocolError(`File-list index ${ndx} not in any list`);
    const row = ndx >= list.ndxStart ? ndx : list.parentDir >= 0 ? x.lists.dirList[list.parentDir]! : -1;
    if (row < 0) throw protocolError(`File-list index ${ndx} has no parent directory`);
    if (x.t.flags[row]! & F.INACTIVE) throw protocolError(`refusing transfer of cleared file index ${ndx}`);

    if (!(iflags & ITEM.TRANSFER)) {
      this.reportOnly(row, iflags);
      return true;
    }
    if (!isReg(x.t.mode[row]!)) throw protocolError("received request to transfer non-regular file");
    if (this.phase === 2) throw protocolError("got transfer request in phase 2 [receiver]");
    const head = readSumHead(r, x.s.protocol, x.s.sums.xfer.length);
    if (!x.o.dryRun) this.startFile(row, ndx, iflags, head);
    else this.finishDryRun(row, iflags);
    return true;
  }

  private doneMarker(): boolean {
    const x = this.x;
    if (x.lists.incRecurse && this.listsHeld > 0) {
      this.listsHeld--;
      if (this.listsHeld > 0) return true;
    }
    if (++this.phase > this.maxPhase) return false;
    this.markDone();
    return true;
  }

  private negativeIndex(r: ChunkReader, ndx: number): boolean {
    const x = this.x;
    if (ndx === NDX_DEL_STATS && x.s.protocol >= 31) {
      for (let i = 0; i < 5; i++) r.varint();
      return true;
    }
    if (!x.lists.incRecurse) throw protocolError(`Invalid file index ${ndx} received`);
    if (ndx === NDX_FLIST_EOF) {
      x.lists.eof = true;
      x.wakeGenerator();
      return true;
    }
    if (ndx > NDX_FLIST_OFFSET) throw protocolError(`Invalid file index ${ndx} received`);
    if (x.lists.eof) throw protocolError("received a file list after the end of the lists");
    this.sublist = new ListReceiver(x.lists, this.decoder, this.listOptions, NDX_FLIST_OFFSET - ndx);
    return true;
  }

  private reportOnly(row: number, iflags: number): void {
    const x = this.x;
    x.report.item({ row, name: this.rel(row), iflags });
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

  private countTransfer(row: number, iflags: number): void {
    const s = this.x.stats;
    s.transferredFiles++;
    s.totalTransferredSize += this.x.t.size[row]!;
    if (iflags & ITEM.IS_NEW) s.createdFiles++;
  }

  private startFile(row: number, ndx: number, iflags: number, head: SumHead): void {
    const x = this.x;
    const rel = this.rel(row);
    const redo = (x.t.flags[row]! & F.FILE_SENT) !== 0;
    x.t.flags[row] = x.t.flags[row]! | F.FILE_SENT;
    let basisFd = -1;
    if (head.count > 0) {
      try {
        basisFd = x.dest.openRead(rel);
      } catch {
        basisFd = -1; // blocks will be reported as a failed verification
      }
    }
    this.file = {
      row,
      ndx,
      iflags,
      rel,
      temp: tempNameFor(rel),
      head,
      basisFd,
      hasher: wholeFileHasher(x.s.sums),
      chunks: [],
      pending: 0,
      fd: -1,
      written: 0,
      literal: 0,
      matched: 0,
      redo,
    };
  }

  /** One token of the file's data, or its checksum after the end token. */
  private fileStep(r: ChunkReader): boolean {
    const f = this.file!;
    const x = this.x;
    const token = r.i32();
    if (token > 0) {
      if (token > MAX_LITERAL) throw protocolError(`Invalid literal data length ${token}`);
      const data = r.bytes(token);
      f.hasher.update(data);
      this.append(f, data);
      f.literal += token;
      return true;
    }
    if (token < 0) {
      const block = -(token + 1);
      if (block >= f.head.count) throw protocolError(`Invalid block number ${block} (of ${f.head.count})`);
      const len = block === f.head.count - 1 && f.head.remainder ? f.head.remainder : f.head.blockLength;
      const data = this.readBlock(f, block, len);
      f.hasher.update(data);
      this.append(f, data);
      f.matched += len;
      return true;
    }
    // End of data: the sender's whole-file checksum follows.
    const theirs = r.bytes(x.s.sums.xfer.length);
    this.finishFile(f, Buffer.compare(f.hasher.digest(), theirs) === 0);
    return true;
  }

  private readBlock(f: Incoming, block: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    if (f.basisFd < 0) return out;
    const n = fs.readSync(f.basisFd, out, 0, len, block * f.head.blockLength);
    return n === len ? out : out.subarray(0, n);
  }

  private append(f: Incoming, data: Uint8Array): void {
    f.chunks.push(data);
    f.pending += data.length;
    if (f.pending >= SMALL_FILE) this.flushChunks(f);
  }

  /** Large files are written as they arrive. */
  private flushChunks(f: Incoming): void {
    if (f.fd < 0) f.fd = this.x.dest.createExclusive(f.temp, this.createMode(f.row));
    fs.writevSync(f.fd, f.chunks);
    f.written += f.pending;
    f.chunks = [];
    f.pending = 0;
  }

  private createMode(row: number): number {
    const w = this.attrs.wanted(row, null);
    // Our own file until it is renamed into place: keep it writable by us.
    return (w.mode & 0o7777) | 0o200;
  }

  private finishFile(f: Incoming, verified: boolean): void {
    const x = this.x;
    this.file = null;
    if (f.basisFd >= 0) fs.closeSync(f.basisFd);
    const list = x.lists.listOf(f.ndx);
    try {
      if (!verified) {
        this.discard(f);
        if (!f.redo) {
          x.report.error(`WARNING: ${this.display(f.rel)} failed verification -- update discarded (will try again).`);
          x.redo.push(f.ndx);
          if (list) list.toRedo++;
        } else {
          x.report.error(`ERROR: ${this.display(f.rel)} failed verification -- update discarded.`);
          x.hadTransferError = true;
        }
        return;
      }
      this.flushChunks(f);
      fs.closeSync(f.fd);
      f.fd = -1;
      this.install(f);
      this.countTransfer(f.row, f.iflags);
      x.stats.literalData += f.literal;
      x.stats.matchedData += f.matched;
      x.report.item({ row: f.row, name: f.rel, iflags: f.iflags, literal: f.literal, matched: f.matched });
    } catch (e) {
      this.discard(f);
      x.report.error(`rsync: [receiver] failed to write "${this.display(f.rel)}": ${errText(e)}`);
      x.hadTransferError = true;
    } finally {
      if (list && x.lists.incRecurse) list.inProgress--;
      x.wakeGenerator();
    }
  }

  /** Attributes on the temp file, then the rename into place (receiver.c finish_transfer). */
  private install(f: Incoming): void {
    const x = this.x;
    const st = x.dest.lstat(f.temp);
    if (st) this.attrs.apply(x.dest, f.temp, f.row, st, this.attrs.wanted(f.row, null), true);
    x.dest.rename(f.temp, f.rel);
  }

  private discard(f: Incoming): void {
    if (f.fd >= 0) {
      fs.closeSync(f.fd);
      f.fd = -1;
    }
    try {
      this.x.dest.unlink(f.temp);
    } catch {
      // never created
    }
  }

  /**
   * The run is being cut short (error, signal). The file in progress is
   * removed, or with --partial kept in place of the destination file.
   */
  abandonFile(): void {
    const f = this.file;
    if (!f) return;
    this.file = null;
    if (f.basisFd >= 0) fs.closeSync(f.basisFd);
    const x = this.x;
    if (x.o.partial && f.written + f.pending > 0) {
      try {
        this.flushChunks(f);
        fs.closeSync(f.fd);
        x.dest.rename(f.temp, f.rel);
        return;
      } catch {
        // fall through to removing it
      }
    }
    this.discard(f);
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

  private display(name: Uint8Array): string {
    return Buffer.from(name).toString("latin1");
  }
}

