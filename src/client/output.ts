/**
 * What the client prints during and after a pull, as upstream's client
 * prints it: items through the --out-format machinery (log.c log_item,
 * maybe_log_item, log_delete), progress lines, --list-only lines and the
 * end summary. Formatting lives in src/output/; this decides what to show.
 */
import { localCopyNameShown } from "../flist/iconv-hooks.ts";
import type { Options } from "../cli/options.ts";
import { type OutputConfig, outputConfig } from "../cli/output-config.ts";
import type { FileList, FileLists } from "../flist/lists.ts";
import { isDir, isLink, isReg } from "../flist/table.ts";
import { digestHex } from "../native/index.ts";
import { CF, type Session } from "../protocol/setup.ts";
import { ITEM, SIGNIFICANT_ITEM_FLAGS } from "../roles/attrs.ts";
import type { ItemEvent, Reporter } from "../roles/reporter.ts";
import type { TransferStats } from "../roles/stats.ts";
import { listLine, timestring } from "../output/list-line.ts";
import { clientLog } from "../output/client-log.ts";
import { formatItem, type LogFormatContext, type LoggedItem } from "../output/log-format.ts";
import { bigNum } from "../output/numbers.ts";
import { Progress } from "../output/progress.ts";
import { summaryLines } from "../output/summary.ts";
import { terminal } from "../output/terminal.ts";

const latin1 = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString("latin1") : "");

export class ClientOutput implements Reporter {
  private readonly cx: LogFormatContext;
  /** A local copy's receiving half: the sending half's own path of an entry, which that half's %f shows. */
  senderPathOf?: (row: number) => Uint8Array | undefined;
  private readonly progressLine: Progress | null;
  private transfers = 0;
  private currentIndex = 0;
  /** The list of the last file transferred (upstream's cur_flist, for the index progress shows). */
  private currentList: FileList | null = null;

  constructor(
    private readonly o: Options,
    private readonly out: OutputConfig,
    private readonly lists: FileLists,
    private readonly stats: TransferStats,
    private readonly s: Session,
    /**
     * "local": a local copy's receiving half, where we are the sender too, so
     * "sent" is what the sending side wrote; "local-send": its sending half,
     * which writes the items to --log-file as upstream's sending client does.
     * "push": we are the sender and print what it logs.
     */
    private readonly mode: "pull" | "local" | "local-send" | "push" = "pull",
    /** A daemon's transfer log: the module and the client, for %m %h %a %u %P. */
    daemon?: { module: string; host: string; addr: string; user: string; modulePath: string },
  ) {
    this.cx = {
      op: mode === "push" ? "send" : "recv",
      // A local copy's items are its sending half's (upstream's client is that half): %f, %b and %c are the sender's.
      amSender: mode !== "pull",
      preserveMtimes: o.times,
      // A receiver that cannot set symlink times (as upstream assumes before protocol 29) shows 'T'.
      // A sender knows the receiver can from the compat flags (protocol 30+; compat.c). A local copy's
      // items are formatted by its sending half too (upstream's generator passes the flags to it).
      receiverSymlinkTimes: mode === "push" || mode === "local" ? s.protocol >= 30 && (s.compatFlags & CF.SYMLINK_TIMES) !== 0 : s.protocol >= 29,
      preserveUid: o.owner,
      preserveGid: o.group,
      checksumWidth: 2 * (o.checksum ? s.sums.file.length : s.sums.xfer.length),
      moduleName: daemon?.module ?? "",
      daemon,
      pid: process.pid,
      timestring,
      now: () => Math.floor(Date.now() / 1000),
    };
    const progress = out.quiet ? 0 : out.info.get("PROGRESS");
    this.progressLine = progress > 0 ? new Progress(terminal, progress > 1, o.humanReadable, () => this.progressTotals()) : null;
  }

  /**
   * maybe_log_item for report-only items, log_item for transfers: the line
   * for the user (FCLIENT) and, with --log-file, the --log-file-format line,
   * which a dry run's transfers do not get.
   */
  item(e: ItemEvent): void {
    const format = this.out.stdoutFormat;
    let toLog = !this.o.dryRun && this.o.writeBatch >= 0;
    if (!(e.iflags & ITEM.TRANSFER)) {
      // Before protocol 29 a local copy's generator is upstream's server: its item lines never reach the user.
      if (this.mode.startsWith("local") && this.s.protocol < 29) return;
      const significant = e.iflags & SIGNIFICANT_ITEM_FLAGS;
      const hasI = this.out.formatHasI;
      const hlink = (e.xname?.length ?? 0) > 0;
      const seeItem = hasI > 0 && (significant !== 0 || hlink || hasI > 1 || (this.out.info.get("NAME") >= 2 && hasI > 0));
      const localChange = (e.iflags & ITEM.LOCAL_CHANGE) !== 0 && significant !== 0;
      if (!(seeItem || localChange || hlink || (isDir(this.lists.table.mode[e.row]!) && significant))) return;
      toLog = significant !== 0 || clientLog.formatHasI;
      // Before protocol 29 a pull's generator logs its items itself (generator.c itemize), and only when itemizing.
      if (this.mode === "pull" && this.s.protocol < 29) toLog = hasI > 0 && clientLog.formatHasI;
    }
    // A local copy's items go to the user from the receiving half and to the log from the sending half.
    if (format !== null && this.mode !== "local-send") terminal.client(formatItem(format, this.logged(e), this.cx));
    if (toLog && this.mode !== "local" && clientLog.active && clientLog.format !== "") clientLog.line(formatItem(clientLog.format, this.logged(e), this.cx));
  }

  /** One item in any format (a daemon's transfer log uses its own). */
  formatted(format: string, e: ItemEvent): string {
    return formatItem(format, this.logged(e), this.cx);
  }

  /** A deletion in any format (log_delete's "del." item). */
  formattedDeletion(format: string, name: Uint8Array, dir: boolean): string {
    return formatItem(format, this.deletedItem(name, dir), this.cx);
  }

  /** log_delete: "deleting NAME", or the format itself when it has %i or %o; in the log file too, but in a dry run. */
  deleted(name: Uint8Array, dir: boolean): void {
    const format = this.out.stdoutFormat;
    // Before protocol 29 a local copy's deletions are said by upstream's generator child: its line reaches
    // the client as a message, which the client logs as it is (and the child logs nothing itself).
    const saidByChild = this.mode === "local" && this.s.protocol < 29;
    if (this.out.info.get("DEL") >= 1 || format !== null) {
      const useFormat = format !== null && (this.out.formatHasI > 0 || /%[-'0-9]*o/.test(format.replaceAll("%%", "")));
      const line = formatItem(useFormat ? format! : "deleting %n", this.deletedItem(name, dir), this.cx);
      if (saidByChild) terminal.info(line);
      else terminal.client(line);
    }
    if (!clientLog.active || this.o.dryRun || saidByChild) return;
    clientLog.line(formatItem(clientLog.formatHasOorI ? clientLog.format : "deleting %n", this.deletedItem(name, dir), this.cx));
  }

  private deletedItem(name: Uint8Array, dir: boolean): LoggedItem {
    return { ...this.blankItem(), op: "del.", mode: dir ? 0o040000 : 0o100000, name: latin1(name), nameGiven: true, iflags: ITEM.DELETED };
  }

  info(text: string): void {
    terminal.info(`${text}\n`);
  }

  /** An FCLIENT line. A local copy's generator is upstream's child, whose lines reach the parent as messages, and get logged. */
  client(text: string): void {
    if (this.mode === "local") terminal.info(`${text}\n`);
    else terminal.client(`${text}\n`);
  }

  error(text: string): void {
    terminal.error(`${text}\n`);
  }

  listEntry(row: number): void {
    const t = this.lists.table;
    const mode = t.mode[row]!;
    const link = isLink(mode) && this.o.links ? latin1(t.extras.get(row)?.link) : null;
    const atime = !this.o.atimes ? undefined : isDir(mode) ? null : (t.extras.get(row)?.atime ?? 0);
    terminal.info(listLine({ mode, size: t.size[row]!, mtime: t.mtime[row]!, name: latin1(t.path(row)), link, atime }, this.o.humanReadable, timestring));
  }

  indexRead(ndx: number): void {
    this.currentList = this.lists.listOf(ndx) ?? this.currentList;
  }

  /** recv_files before receive_data: the bare name when progress follows and the item line comes later. */
  transferStarting(row: number, ndx: number, name: Uint8Array, dataFollows = true): void {
    this.transfers++;
    this.currentList = this.lists.listOf(ndx) ?? null;
    this.currentIndex = ndx - this.listNumber();
    void row;
    if (dataFollows && !this.out.logBeforeTransfer && this.out.info.get("NAME") >= 1 && this.out.info.get("PROGRESS") === 1) {
      terminal.client(`${latin1(name)}\n`);
    }
  }

  progress(offset: number, size: number): void {
    this.progressLine?.update(offset, size);
  }

  transferDataDone(size: number): void {
    this.progressLine?.finish(size);
  }

  /**
   * receiver.c at NDX_DONE: progress2 repeats the totals, indexed at the end
   * of the current list. Upstream's cur_flist is the list of the last index
   * read, or, once that list is freed (or before any index came), the first
   * one still held: also in a dry run or a run that transfers nothing.
   */
  doneMarker(firstHeld: FileList | null): void {
    const lists = this.lists.lists;
    const current = this.currentList;
    const list = current && firstHeld && lists.indexOf(current) >= lists.indexOf(firstHeld) ? current : firstHeld;
    this.currentList = list;
    if (!list || this.out.info.get("PROGRESS") < 2) return;
    this.currentIndex = list.ndxStart + list.count - 1 - this.listNumber();
    this.progressLine?.finish(0);
  }

  /** upstream's flist_num: lists count from 1 with incremental recursion, else the one list is 0. */
  private listNumber(): number {
    const list = this.currentList;
    if (!list) return 0;
    return this.lists.lists.indexOf(list) + (this.lists.incRecurse ? 1 : 0);
  }

  /** The end of the run: the last progress2 line, then -v's and --stats' summary. */
  summary(startTime: number): void {
    const st = this.stats;
    const tally = this.lists.tally;
    st.numFiles = tally.files;
    st.numDirs = tally.dirs;
    st.numSymlinks = tally.symlinks;
    st.numDevices = tally.devices;
    st.numSpecials = tally.specials;
    // A batch reader counts no list bytes (upstream's flist_size comes from its socket counters).
    st.flistSize = this.o.readBatch ? 0 : tally.bytes;
    if (this.mode === "local") [st.totalRead, st.totalWritten] = [st.totalWritten, st.totalRead];
    terminal.endLine();
    if (clientLog.active) {
      const totals = `sent ${bigNum(st.totalWritten, 0)} bytes  received ${bigNum(st.totalRead, 0)} bytes  total size ${bigNum(st.totalSize, 0)}`;
      clientLog.setTotals(totals, this.mode !== "pull", this.out.info.get("STATS") >= 1);
    }
    const level = this.out.quiet ? 0 : this.out.info.get("STATS");
    if (level === 0) return;
    const lines = summaryLines(st, {
        level,
        protocol: this.s.protocol,
        human: this.o.humanReadable,
        dryRun: this.o.dryRun,
        batchOnly: this.o.writeBatch < 0,
        startSec: Math.floor(startTime / 1000),
        endSec: Math.floor(Date.now() / 1000),
    });
    // The blank lines are the user's only (FCLIENT).
    for (const line of lines) line === "\n" ? terminal.client(line) : terminal.info(line);
  }

  private progressTotals() {
    const st = this.stats;
    return {
      transferred: this.transfers,
      files: this.lists.tally.files,
      current: this.currentIndex,
      listsDone: this.lists.eof,
      transferredSize: st.totalTransferredSize,
      totalSize: this.lists.tally.size,
    };
  }

  private blankItem(): LoggedItem {
    return { op: "recv", mode: 0, size: 0, mtime: 0, uid: 0, gid: 0, name: "", nameGiven: false, link: "", hlink: "", iflags: 0, bytesIn: 0, bytesOut: 0, checksumHex: null };
  }

  private logged(e: ItemEvent): LoggedItem {
    const t = this.lists.table;
    const row = e.row;
    const mode = t.mode[row]!;
    const extras = t.extras.get(row);
    let checksumHex: string | null = null;
    if (isReg(mode)) {
      const sum = this.o.checksum ? t.sum(row) : undefined;
      if (sum) checksumHex = digestHex(this.s.sums.file.alg!, sum);
      else if (e.iflags & ITEM.TRANSFER && e.checksum) checksumHex = digestHex(this.s.sums.xfer.alg!, e.checksum);
    }
    // The file list's name (f_name), also when the file lands under another name (a single-file DEST).
    const shown = this.mode === "local" ? localCopyNameShown(this.o) : null;
    let name = latin1(shown ? shown(t.path(row)) : t.path(row));
    if (isDir(mode) && name.endsWith("/")) name = name.slice(0, -1);
    const sending = this.mode !== "pull";
    const senderPath = this.mode === "local" ? this.senderPathOf?.(row) : e.path;
    return {
      // A local copy's itemizing shows '>' (log.c: local_server), its %o still "send".
      op: this.mode.startsWith("local") ? "send" : this.cx.op,
      mode,
      size: t.size[row]!,
      mtime: t.mtime[row]!,
      uid: t.uid[row]!,
      gid: t.gid[row]!,
      name: name === "" ? "." : name,
      nameGiven: false,
      link: latin1(shown && extras?.link ? shown(extras.link) : extras?.link),
      hlink: latin1(e.xname),
      iflags: e.iflags,
      // A sender's %b counts the index and attributes it wrote before the data, its %c the sums it read.
      bytesIn: sending ? (e.sumsBytes ?? 0) : (e.wireBytes ?? 0),
      bytesOut: sending ? (e.requestBytes ?? 0) + (e.wireBytes ?? 0) : 0,
      // A daemon's sender names files within its module (its own %f rule); a client's, as it found them.
      senderPath: sending && senderPath && !this.cx.daemon ? latin1(senderPath) : undefined,
      checksumHex,
    };
  }
}

/** A local copy's sending half: its items go to --log-file only, as upstream's sending client logs them. */
export function logOnlyReporter(o: Options, s: Session, lists: FileLists, stats: TransferStats): (e: ItemEvent) => void {
  const r = new ClientOutput(o, outputConfig(o), lists, stats, s, "local-send");
  return (e) => r.item(e);
}
