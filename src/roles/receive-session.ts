/**
 * The receiving side of a transfer after setup_protocol, as a client (a pull,
 * a local copy) or as a server (a push's far end): the filter list, the file
 * lists, the generator and the receiver, then the statistics (client only).
 * Upstream splits this between client_run, do_server_recv and do_recv.
 */
import { AclReceiver } from "../flist/acls.ts";
import { fakeSuperDest } from "../fs/fake-super.ts";
import { checkXattrProtocol, XattrReceiver, xattrOptim } from "../flist/xattrs.ts";
import { amRootLevel } from "./super-user.ts";
import type { Options } from "../cli/options.ts";
import { RERR, RsyncError, asRole } from "../errors.ts";
import { FlistDecoder, IOERR_GENERAL } from "../flist/decode.ts";
import { ioErrorExitCode } from "./send-session.ts";
import { FileLists, ListReceiver, type FileList, type ListReceiveOptions } from "../flist/lists.ts";
import { flistWireOptions } from "../flist/wire-options.ts";
import { DestFs } from "../fs/dest-fs.ts";
import type { Input } from "../io/input.ts";
import type { Output } from "../io/output.ts";
import { NDX_DONE, NDX_FLIST_EOF, NDX_FLIST_OFFSET, NdxDecoder, NdxEncoder } from "../protocol/ndx.ts";
import { WireOrder, withWireOrder } from "../flist/wire-order.ts";
import { filesFromConversion, utf8TextShown } from "../flist/iconv-hooks.ts";
import { nameConverterFor } from "../flist/iconv.ts";
import type { Session } from "../protocol/setup.ts";
import { outputConfig } from "../cli/output-config.ts";
import { errorLine } from "../cli/report.ts";
import { terminal } from "../output/terminal.ts";
import { ListHeader } from "../output/list-header.ts";
import { listenForMessages, newMessageState, type MessageState } from "../client/messages.ts";
import { resolveLocalName, type LocalDest } from "../client/local-name.ts";
import { ClientOutput } from "../client/output.ts";
import { Signal } from "../client/signal.ts";
import type { ReceivingSide } from "./context.ts";
import { Generator } from "./generator.ts";
import { Backups } from "./backup.ts";
import { tempDirRoute } from "./temp-dir.ts";
import { checkBasisDirProtocol } from "./basis-dirs.ts";
import { useDelayUpdatesDir } from "./delayed-updates.ts";
import { IdMapper } from "./id-map.ts";
import { tweakMode } from "./chmod.ts";
import { becomeCopyAsUser } from "./copy-as.ts";
import { Receiver } from "./receiver.ts";
import type { Reporter } from "./reporter.ts";
import { ServerReporter } from "./server-reporter.ts";
import { emptyStats, type TransferStats } from "./stats.ts";
import { readFilterList } from "../server/filter-list.ts";
import { addRuleDebug, sayAddedRules } from "../flist/filter-debug.ts";
import { FilterList } from "../flist/filter.ts";
import { absolute, moduleRelative } from "../flist/dir-merge.ts";
import { addCvsRules, addPartialDirRule, filterListFromOptions, writeFilterRules } from "../flist/filter-options.ts";
import type { TransferLog } from "../server/server-main.ts";
import { deletionFormat, loggedItem } from "../server/log-items.ts";
import { GeneratorRequests, noBatchedUpdate } from "../batch/generator-requests.ts";
import { MSG } from "../protocol/mux.ts";
import { statSync } from "node:fs";
import { successPayload } from "./source-removal.ts";
import { pruneEmptyDirs } from "../flist/prune.ts";
import { debugLine } from "../output/debug-line.ts";
import type { DumpView } from "../flist/flist-dump.ts";
import type { FileTable } from "../flist/table.ts";

export interface ReceiveResult {
  exitCode: number;
  stats: TransferStats;
  /** The sender's list was empty: nothing followed it (a serving side has ended already). */
  emptyList?: boolean;
  /** --iconv: names this side could not convert were dropped (a local copy's receiving half then exits with its own error line). */
  namesUnconverted?: boolean;
}

export interface ReceiveRequest {
  o: Options;
  s: Session;
  input: Input;
  output: Output;
  /** Local destination ("." for a listing). */
  dest: string;
  /** --list-only (or a lone remote source): print the list, change nothing. */
  listing: boolean;
  /** A client's check on the names a server sends (exclude.c add_implied_include). */
  isRequested?: (name: Uint8Array, isDir: boolean) => boolean;
  /** --timeout, which a daemon may lower (MSG_IO_TIMEOUT). */
  timeouts: { value: number };
  /** The file list is in: from here, failures are the generator's. */
  transferStarts(): void;
  /** We are the server of a push (messages go to the client; no filter list to send, no statistics to read). */
  amServer: boolean;
  /** A local copy: the sending side is ours, in this process, and its totals are what "sent" means. */
  local: boolean;
  /** A local copy: the sending half's own path of an entry (its %f), once that half has its lists. */
  senderPath?: (row: number) => Uint8Array | undefined;
  startTime: number;
  /** A daemon module's transfer log (server only). */
  transferLog?: TransferLog;
  /** A pulling client's --files-from names, forwarded to the sender. */
  filesFrom?: Uint8Array[];
  /** --read-batch: the input is a batch file's stream (not multiplexed), and nothing we write is read. */
  readBatch?: boolean;
  /** What --debug=recv's get_local_name line names when it is not `dest` (a pull without a destination: its source). */
  shownDest?: string;
}

export async function receiveTransfer(req: ReceiveRequest): Promise<ReceiveResult> {
  const { o, s, input, output } = req;
  useDelayUpdatesDir(o);
  // compat.c setup_protocol: a fuzzy basis needs the basis type on the wire.
  if (o.fuzzy && s.protocol < 29) throw new RsyncError(RERR.PROTOCOL, `--fuzzy requires protocol 29 or higher (negotiated ${s.protocol}).`);
  checkXattrProtocol(o, s.protocol, req.local === true);
  checkBasisDirProtocol(o, s.protocol);
  // --copy-as: the destination is made and written as that user (main.c do_server_recv, client_run).
  becomeCopyAsUser(o, "Receiver");
  const stats = emptyStats();
  const lists = new FileLists(s.incRecurse, s.protocol);
  // --iconv: names differ between the sides, so indexes count entries as sent (flist.c need_unsorted_flist).
  if (o.iconv != null) lists.wireOrder = new WireOrder();
  const signal = new Signal();
  // Upstream's receiving process forks once the first list is in: later lists are the "receiver"'s (who_am_i).
  let listsAfterFork = false;
  const receivingProcess = () => (listsAfterFork ? "receiver" : "Receiver");
  // What comes over the connection is read by that process (io.c read_a_msg names it when it refuses a frame).
  input.readerName = () => `${receivingProcess()}${s.incRecurse ? "/inc" : ""}`;
  input.amServer = req.amServer;
  input.localCopy = req.local === true;
  // The receiving side's shared state, once the file list is in (messages may name files before).
  let x: ReceivingSide | undefined;
  const out = outputConfig(o);
  const log = req.transferLog;
  const formatter = new ClientOutput(o, out, lists, stats, s, req.local ? "local" : "pull", log?.daemon);
  formatter.senderPathOf = req.senderPath;
  const clientOutput = req.amServer ? null : formatter;
  const state = newMessageState(req.timeouts, {
    // What the peer reports deleted, a client says as upstream's log_delete does (a server has no one to tell).
    deleted: clientOutput ? (name, isDir) => clientOutput.deleted(name, isDir) : undefined,
    noSend(sent) {
      // --iconv: the index as transmitted.
      const ndx = sent >= 0 && lists.wireOrder ? lists.wireOrder.toRow(sent) : sent;
      const list = lists.listOf(ndx);
      if (list && lists.incRecurse) list.inProgress--;
      if (ndx >= 0) x?.fileDone(ndx, false);
      signal.wake();
    },
  }, out.info.get("MISC"));
  listenForMessages(input, output, state, s.protocol);
  // A client's own rules; a server's come from its client.
  let filters = req.amServer ? new FilterList() : filterListFromOptions(o, false, true);
  const ruleSide = { amSender: false, protocol: s.protocol, deleteExcluded: o.deleteExcluded };
  if (!req.amServer) addPartialDirRule(filters, o, ruleSide);
  if (req.amServer) {
    // start_server multiplexed our output already; a push's sender multiplexes from protocol 30.
    if (s.protocol >= 30) input.startMultiplex();
    // exclude.c recv_filter_list: a sender sends its rules only to a receiver that deletes.
    if (receiverWantsFilterList(o, s.protocol)) filters = await readFilterList(input, s.protocol, o.deleteExcluded, addRuleDebug(outputConfig(o).debug.get("FILTER"), "Receiver"));
    if (o.cvsExclude) addCvsRules(filters, ruleSide, "received");
    // The client's --files-from=:LIST is ours to read: its names go to the sending client (start_filesfrom_forwarding).
    if (req.filesFrom) {
      writeForwardedNames(output, req.filesFrom, o);
      output.flush();
    }
  } else if (req.readBatch) {
    // main.c client_run: send_filter_list(-1) only sorts the rules by side.
    writeFilterRules(null, filters, ruleSide);
  } else {
    // main.c client_run: before protocol 30, only to tell the sender what to remove (need_messages_from_generator).
    if (s.protocol >= 30 || o.removeSourceFiles) output.startMultiplex();
    // The filter list, always sent on a pull: the sender leaves out what it excludes.
    writeFilterRules(output.data, filters, ruleSide);
    // --files-from: the names follow the rules.
    if (req.filesFrom) writeForwardedNames(output, req.filesFrom, o);
    output.flush();
    sayAddedRules(filters, outputConfig(o).debug.get("FILTER"), "Receiver");
    if (o.cvsExclude) addCvsRules(filters, ruleSide, "after-sending");
    // A local copy's receiving half sorts its rules by side once more with the CVS ones in (recv_filter_list's
    // send_rules(-1) for a local server): under --delete-excluded they are then the sender's alone.
    if (o.cvsExclude && req.local) writeFilterRules(null, filters, ruleSide);
  }

  let namesUnconverted = false;
  const receiverIconv = nameConverterFor(o.iconv, o.server || req.local === true);
  const wire: ListReceiveOptions = {
    // The receiving half of a local copy is upstream's server: it takes --iconv's REMOTE charset.
    ...flistWireOptions(o, s, o.server || req.local === true),
    onUnconvertible: (text, utf8) => {
      state.ioError |= IOERR_GENERAL;
      namesUnconverted = true;
      const line = Buffer.from(`[${receivingProcess()}] cannot convert ${text}\n`, "latin1");
      if (req.amServer) output.message(s.protocol < 30 ? MSG.ERROR_XFER : MSG.ERROR, line);
      // A UTF-8 line is shown in this side's charset (for a local copy's receiving half, REMOTE), as rwrite does.
      else if (utf8 && receiverIconv) terminal.errorShown(utf8TextShown(receiverIconv)(line));
      else terminal.error(line);
    },
    id0Names: s.id0Names,
    idLists: !o.numericIds,
    // pipe.c: the sending half of a local copy has applied --chmod already.
    tweakMode: o.chmod.length && !req.local ? (mode) => tweakMode(mode, o.chmod) : undefined,
    isRequested: req.isRequested,
    // options.c trust_sender_filter: a server and a local copy and a batch trust the sender's filtering; a client checks it.
    isExcluded: filters.empty || req.amServer || req.local || req.readBatch ? undefined : (name, dir) => filters.excludesFromSender(name, dir),
  };
  const decoder = new FlistDecoder(lists.table, wire);
  if (o.acls) decoder.acls = new AclReceiver(amRootLevel(o));
  if (o.xattrs) decoder.xattrs = new XattrReceiver({ amSender: false, amRoot: amRootLevel(o), level: o.xattrs }, xattrOptim(s.protocol, s.compatFlags));
  const amRoot = amRootLevel(o) !== 0;
  const ids = new IdMapper(o.numericIds || o.daemonNumericIds, amRoot, decoder.names.users, decoder.names.groups, !s.id0Names);
  // The -v header lines (a server prints none); in a local copy upstream's client is the sending side, and says so.
  // recv_file_list says them before it reads anything: the maps, and whatever the peer said first, come after.
  const header = req.amServer ? null : new ListHeader(out, s.incRecurse, o.recursive || o.dirs || o.listOnly, req.local);
  header?.start();
  // A client demultiplexes its input from here (upstream's reads nothing before), so the peer's first messages
  // follow the header and the rules it sent, as upstream's do.
  if (!req.amServer && !req.readBatch) input.startMultiplex();
  // Read before the list arrives, by the receiving process before it forks: upstream's "Receiver".
  await asRole(
    "Receiver",
    (async () =>
      ids.useMaps(o.usermap, o.groupmap, (text) =>
        req.amServer ? output.message(s.protocol < 30 ? MSG.ERROR_XFER : MSG.ERROR, Buffer.from(`${text}\n`, "latin1")) : terminal.error(`${text}\n`),
      ))(),
  );
  const ndxIn = new NdxDecoder(s.protocol);
  ndxIn.order = lists.wireOrder;
  const flistDebug = out.debug.get("FLIST");
  const idsSaid = out.debug.get("OWN") > 1 ? idMapDebug(o, lists, decoder, wire, ids, amRoot) : null;
  const first = new ListReceiver(lists, decoder, wire, -1);
  // (Before upstream's receiving process forks, who_am_i() says "Receiver".)
  const hlinkDebug = out.debug.get("HLINK");
  const listLines = (l: ListReceiver) => l.debugLines?.map((line) => line.replace("%s", "Receiver")) ?? [];
  const dump = receivedListDump({ o, t: lists.table, ids, amRoot }, s.protocol, wire.preserveUid, wire.preserveGid);
  sayListLines(first, flistDebug, hlinkDebug, dump);
  if (out.debug.get("DUP") >= 1) lists.duplicateLines = [];
  await input.loop((r) => !first.step(r));
  for (const line of listLines(first)) debugLine(line);
  for (const line of lists.duplicateLines?.splice(0) ?? []) debugLine(line);
  if (flistDebug > 2 && !lists.incRecurse) debugLine("[Receiver] flist_eof=1");
  idsSaid?.afterIdLists(first.list);
  state.ioError |= first.ioError;
  // -m: we asked for the whole list at once (no incremental recursion), so it holds the entire tree.
  if (o.pruneEmptyDirs) pruneEmptyDirs(lists.table, first.list, (name) => filters.check(name, true) < 0);
  header?.done(first.list.count);
  // A single entry: the sender follows it with one more list (or the end), so we know if it was a directory.
  if (lists.incRecurse && first.list.count === 1) {
    const ndx = await input.read((r) => ndxIn.read(r));
    if (ndx === NDX_FLIST_EOF) {
      lists.eof = true;
      if (flistDebug > 2) debugLine("[Receiver] flist_eof=1");
    } else if (ndx <= NDX_FLIST_OFFSET) {
      const extra = new ListReceiver(lists, decoder, wire, NDX_FLIST_OFFSET - ndx);
      // flist.c recv_additional_file_list, still before upstream's receiving process forks.
      if (flistDebug > 2) debugLine(`[Receiver] receiving flist for dir ${NDX_FLIST_OFFSET - ndx}`);
      sayListLines(extra, flistDebug, hlinkDebug, dump);
      await input.loop((r) => !extra.step(r));
      for (const line of listLines(extra)) debugLine(line);
      for (const line of lists.duplicateLines?.splice(0) ?? []) debugLine(line);
    } else throw new RsyncError(RERR.PROTOCOL, `Invalid file index ${ndx} after a single-entry file list`);
  }
  listsAfterFork = true;
  idsSaid?.forked();
  // main.c get_local_name (a client's only with a list that is not empty).
  if (out.debug.get("RECV") && (req.amServer || first.list.count > 0)) {
    debugLine(`get_local_name count=${lists.lists.reduce((n, l) => n + l.count, 0)} ${req.shownDest ?? req.dest}`);
  }

  const exit = (code: number) => {
    // A server's own total of the lists it got (its log's "total size"); a client takes the sender's.
    if (req.amServer) stats.totalSize = lists.tally.size;
    return { exitCode: code, stats, namesUnconverted };
  };
  const reporter: Reporter =
    clientOutput ??
    new ServerReporter(
      output,
      s.protocol,
      { deleted: (name, isDir) => formatter.deleted(name, isDir), listEntry: (row) => formatter.listEntry(row) },
      log && {
        item: (e) => {
          if (loggedItem(e, log.format, o, out)) log.write(formatter.formatted(log.format, e));
        },
        deleted: (name, isDir) => {
          const format = deletionFormat(log.format, o);
          if (format !== null) log.write(formatter.formattedDeletion(format, name, isDir));
        },
      },
    );
  // main.c client_run: an empty first list means nothing to receive (no sub-list can follow it either).
  if (first.list.count === 0 && !req.amServer) {
    // A local copy's receiving half is upstream's server: it still settles the destination (get_local_name makes a
    // missing directory) and enters it (--debug=CHDIR).
    if (req.local && !req.listing) {
      const dest = resolveLocalName(req.dest, lists, o);
      if (out.debug.get("CHDIR") >= 1) debugLine(`[Receiver] change_dir(${absolute(Buffer.from(dest.fs.abs(new Uint8Array(0))).toString("latin1"))})`);
    }
    clientOutput?.summary(req.startTime);
    return { ...exit(finalCode(state, 0)), emptyList: true };
  }

  const dest: LocalDest = req.listing ? { fs: new DestFs("."), soloName: null, created: new Set() } : resolveLocalName(req.dest, lists, o);
  // main.c get_local_name changes into the destination (or a lone file's directory) (--debug=CHDIR).
  if (!req.listing && out.debug.get("CHDIR") >= 1) debugLine(`[Receiver] change_dir(${absolute(Buffer.from(dest.fs.abs(new Uint8Array(0))).toString("latin1"))})`);
  dest.fs.openNoatime = o.openNoatime;
  // Names resolve inside the destination (syscall.c secure_relpath_active): for a daemon in a chroot-less
  // module unless it says "insecure links = yes", for any other receiver unless --insecure-links. A chroot
  // confines a module already. (Before --fake-super's wrapper, whose calls go on to this object.)
  dest.fs.confined = o.moduleName !== undefined ? o.confinedModule !== undefined && !o.moduleInsecureLinks : !o.insecureLinks;
  if (amRootLevel(o) < 0) dest.fs = fakeSuperDest(dest.fs);
  // Descriptor-relative operations (fs/fd-ops.ts) only where every change to a directory goes through DestFs:
  // not under --fake-super (its own stat and chmod) nor with backups (backup.ts renames by path).
  if (amRootLevel(o) < 0 || o.backup) dest.fs.fdOps = false;
  const umask = process.umask(0);
  // --read-batch: the generator's choices decide which of the batch's files are applied.
  const batchRequests = req.readBatch ? new GeneratorRequests(lists.incRecurse, (ndx) => noBatchedUpdate(x!, ndx)) : undefined;
  x = {
    o,
    amServer: req.amServer,
    out,
    s,
    lists,
    t: lists.table,
    dest: dest.fs,
    localCopy: req.local,
    tempDir: null,
    input,
    output,
    ndxOut: batchRequests?.encoder ?? withWireOrder(new NdxEncoder(s.protocol), lists.wireOrder),
    readBatch: batchRequests,
    ndxIn,
    report: reporter,
    stats,
    ids,
    amRoot,
    umask,
    soloName: dest.soloName,
    filters,
    moduleRoot: o.moduleFilters ? moduleRelative(Buffer.from(dest.fs.root).toString("latin1")) : new Uint8Array(0),
    get ioError() {
      return state.ioError;
    },
    set ioError(v: number) {
      state.ioError = v;
    },
    get hadTransferError() {
      return state.hadTransferError;
    },
    set hadTransferError(v: boolean) {
      state.hadTransferError = v;
    },
    createdDirs: dest.created,
    redo: [] as number[],
    doneMarkers: 0,
    fileDone: (_row: number, _ok: boolean) => {},
    wakeGenerator: () => signal.wake(),
    waitForReceiver: () => signal.wait(),
    listFor: (ndx: number) => lists.listOf(ndx),
    xattrs: decoder.xattrs ?? undefined,
    acls: decoder.acls ?? undefined,
    confirmToSender: confirmationsFor(o, output, req.local, dest.fs, lists.wireOrder),
  };
  // main.c do_recv, before the generator starts: where the backups go (a --backup-dir that is no directory ends the run).
  if (!req.listing) {
    Backups.of(x)?.announce();
    x.tempDir = tempDirRoute(o, dest.fs);
  }
  req.transferStarts();
  const side = x;
  const generator = new Generator(side);
  const receiver = new Receiver(side, decoder, wire, generator.attrs);
  const onSignal = () => {
    // Files already verified are finished, as upstream's receiver had them in place.
    side.puts?.drain();
    receiver.abandonFile();
    terminal.error(errorLine(RERR.SIGNAL, "generator"));
    process.exit(RERR.SIGNAL);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  try {
    await Promise.all([
      asRole("generator", generator.run().then(() => side.ndxOut.write(output.data, NDX_DONE))),
      asRole("receiver", receiver.run()),
    ]);
  } finally {
    // (A run cut short too: what was verified is put in place; the umask below must not change under the writer.)
    side.puts?.drain();
    dest.fs.closeDirs();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGHUP", onSignal);
    process.umask(umask);
  }
  clientOutput?.summary(req.startTime);
  return exit(finalCode(state, 0));
}

/** What a list being received collects for the debug output: its names (--debug=flist2), its hard links (--debug=hlink). */
export function sayListLines(l: ListReceiver, flistDebug: number, hlinkDebug: number, dump?: DumpView): void {
  if (flistDebug < 2 && hlinkDebug < 1) return;
  l.debugLines = [];
  l.sayNames = flistDebug > 1;
  l.sayHardLinks = hlinkDebug > 0;
  if (flistDebug > 2 && dump) l.dump = dump;
}

/** output_flist on the receiving side: each entry's depth, and its ids as mapped here (the uid only as root). */
export function receivedListDump(x: { o: Options; t: FileTable; ids: IdMapper; amRoot: boolean }, protocol: number, preserveUid: boolean, preserveGid: boolean): DumpView {
  return {
    who: "%s",
    human: x.o.humanReadable,
    nsec: protocol >= 31,
    uid: x.amRoot && preserveUid ? (row) => x.ids.uid(x.t.uid[row]!) : undefined,
    gid: preserveGid ? (row) => x.ids.gid(x.t.gid[row]!) : undefined,
  };
}

/**
 * uidlist.c recv_add_id under --debug=own2: "uid N(NAME) maps to M" for each
 * id the sender names, and for each other id as it is first matched (in a
 * list as it arrives with incremental recursion, else after the id lists).
 */
function idMapDebug(o: Options, lists: FileLists, decoder: FlistDecoder, wire: ListReceiveOptions, ids: IdMapper, amRoot: boolean) {
  const seen = [new Set<number>(), new Set<number>()] as const;
  // Upstream's receiver and generator each read the sub-lists (after the fork): each says an id new there.
  let times = 1;
  const matched = (user: boolean) => (user ? amRoot && wire.preserveUid && (!o.numericIds || o.usermap !== undefined) : wire.preserveGid && (!amRoot || !o.numericIds || o.groupmap !== undefined));
  const say = (user: boolean, id: number, name: Uint8Array | undefined) => {
    seen[user ? 0 : 1].add(id);
    const line = `${user ? "u" : "g"}id ${id}(${name ? Buffer.from(name).toString("latin1") : ""}) maps to ${user ? ids.uid(id) : ids.gid(id)}`;
    for (let i = 0; i < times; i++) debugLine(line);
  };
  const match = (user: boolean, id: number) => {
    if (!seen[user ? 0 : 1].has(id)) say(user, id, undefined);
  };
  decoder.onId = (user, id, name) => {
    if (name) say(user, id, name);
    else if (lists.incRecurse && matched(user)) match(user, id);
  };
  return {
    forked(): void {
      times = 2;
    },
    /** recv_id_list: the names of a list that is not incremental, then the ids of its entries. */
    afterIdLists(list: FileList): void {
      if (lists.incRecurse) return;
      for (const [id, name] of decoder.names.users) say(true, id, name);
      for (const [id, name] of decoder.names.groups) say(false, id, name);
      const t = lists.table;
      for (const user of [true, false]) {
        if (!matched(user)) continue;
        for (let row = list.ndxStart; row < list.ndxStart + list.count; row++) match(user, user ? t.uid[row]! : t.gid[row]!);
      }
    },
  };
}

/**
 * --remove-source-files: MSG_SUCCESS to the sender for each entry now in
 * place (none in a dry run). A local copy's also names the destination's
 * file, which the sender must not remove when it is its own.
 */
function confirmationsFor(o: Options, output: Output, local: boolean, dest: DestFs, wireOrder: WireOrder | null): ReceivingSide["confirmToSender"] {
  if (!o.removeSourceFiles || o.dryRun) return undefined;
  return (ndx, rel) => {
    if (!output.multiplexed) return;
    output.message(MSG.SUCCESS, successPayload(wireOrder?.toWire(ndx) ?? ndx, local, () => destIdentity(dest, rel)));
  };
}

/** What the name leads to now (stat, as upstream's send_msg_success), or null. */
function destIdentity(dest: DestFs, rel: Uint8Array): { dev: bigint; ino: bigint } | null {
  try {
    const st = statSync(dest.abs(rel), { bigint: true });
    return { dev: st.dev, ino: st.ino };
  } catch {
    return null;
  }
}

/** Whether the sending side sends its filter rules to the receiving side (exclude.c receiver_wants_list). */
export function receiverWantsFilterList(o: Options, protocol: number): boolean {
  // A pruning receiver keeps the directories its rules exclude, so it needs them too.
  return o.pruneEmptyDirs || (o.deleteMode !== "none" && (!o.deleteExcluded || protocol >= 29));
}

/** cleanup.c: with no fatal error, the I/O error bits decide (23 beats 24 beats 25); a transfer error counts as 23. */
export function finalCode(state: MessageState, code: number): number {
  if (code) return code;
  if (state.hadTransferError) return RERR.PARTIAL;
  return ioErrorExitCode(state.ioError);
}

/** io.c forward_filesfrom_data: --files-from names for the sending side, each NUL-ended, then an empty one. */
function writeForwardedNames(output: Output, names: Uint8Array[], o: Options): void {
  const convert = filesFromConversion(o, false);
  for (const name of names) output.data.bytes(convert ? convert(name) : name).u8(0);
  output.data.u8(0);
}
