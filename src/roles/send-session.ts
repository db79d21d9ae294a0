/**
 * The sending side of a transfer after setup_protocol, as a server (main.c
 * do_server_sender: a pull's far end, a local copy's sending half) or as a
 * client (client_run: a push). The filter list (read by a server, sent by a
 * client to a receiver that deletes), the file lists (more sub-lists as the
 * generator works through them), the generator's requests, then the
 * statistics (a server sends them) and the goodbye.
 */
import { core } from "../native/index.ts";
import type { ByteWriter } from "../protocol/writer.ts";
import { AclSender, aclEntryWriter } from "../flist/acls.ts";
import { fakeSuperWalk } from "../fs/fake-super.ts";
import { tweakMode } from "./chmod.ts";
import type { Options } from "../cli/options.ts";
import { FlistBuilder, type FileStat, type WalkFs } from "../flist/build.ts";
import { scanningWalkFs } from "../flist/scan-walk-fs.ts";
import { FlistEncoder } from "../flist/encode.ts";
import { systemIdNames } from "../flist/id-names.ts";
import { flistWireOptions } from "../flist/wire-options.ts";
import { isLink, isReg } from "../flist/table.ts";
import { FileListSender } from "../flist/send-lists.ts";
import type { Input } from "../io/input.ts";
import type { Output } from "../io/output.ts";
import { MSG } from "../protocol/mux.ts";
import { fileListHasher } from "../protocol/checksum-choice.ts";
import { NdxDecoder, NdxEncoder } from "../protocol/ndx.ts";
import { WireOrder, withWireOrder } from "../flist/wire-order.ts";
import { filesFromConversion, senderNameCheck } from "../flist/iconv-hooks.ts";
import { CF, type Session } from "../protocol/setup.ts";
import { FNAMECMP_FNAME, FNAMECMP_PARTIAL_DIR } from "./partial-dir.ts";
import { SourceDirs } from "./source-dirs.ts";
import { fdOpsAvailable, openConfinedRoot, openDir } from "../fs/fd-ops.ts";
import { errText } from "../fs/errors.ts";
import { Sender } from "./sender.ts";
import { checkXattrProtocol, SenderXattrs, xattrOptim } from "../flist/xattrs.ts";
import { amRootLevel } from "./super-user.ts";
import { emptyStats, type TransferStats } from "./stats.ts";
import type { ItemEvent } from "./reporter.ts";
import { IOERR_DEL_LIMIT, IOERR_GENERAL, IOERR_VANISHED } from "../flist/decode.ts";
import { peerExited, RERR, RsyncError } from "../errors.ts";
import { closeSync, constants as fsConstants, lstatSync, openSync, readFileSync, statSync } from "node:fs";
import { readFilterList } from "../server/filter-list.ts";
import { addRuleDebug, sayAddedRules } from "../flist/filter-debug.ts";
import { FR, type FilterList, type FilterRule } from "../flist/filter.ts";
import { addCvsRules, addPartialDirRule, filterListFromOptions, writeFilterRules } from "../flist/filter-options.ts";
import { absolute, filterHooks } from "../flist/dir-merge.ts";
import { fullFname } from "../fs/full-name.ts";
import { readFilesFrom, readForwardedName } from "../client/files-from.ts";
import { createBlockMatcher } from "../delta/matcher.ts";
import type { FileLists } from "../flist/lists.ts";
import { terminal } from "../output/terminal.ts";
import { receiverWantsFilterList } from "./receive-session.ts";
import { SourceRemover, type ConfinedFiles } from "./source-removal.ts";
import { deviceAsFile, deviceContentLength, readLength, sourceLength } from "../fs/device-content.ts";
import { becomeCopyAsUser } from "./copy-as.ts";
import { outputConfig } from "../cli/output-config.ts";
import type { BatchRecorder } from "../batch/batch-file.ts";
import { flistDump } from "../flist/flist-dump.ts";
import { SF } from "../flist/encode.ts";

/** Upstream's MIN_FILECNT_LOOKAHEAD: files kept listed ahead of the generator (ten times that while idle). */
const LOOKAHEAD = 1000;
const IDLE_LOOKAHEAD = 10 * LOOKAHEAD;

export interface SendRequest {
  o: Options;
  s: Session;
  input: Input;
  output: Output;
  /** The paths to send, relative to `root`. */
  args: Uint8Array[];
  root: string;
  /** We are the server (our statistics go to the client), or the client of a push (we print). */
  amServer: boolean;
  /**
   * Where each item goes (a pushing client's lines, a daemon's transfer log), made once the lists exist;
   * `localPath` is this side's own path of an entry. Nothing is reported when it gives none.
   */
  report?: (lists: FileLists, stats: TransferStats, localPath: (row: number) => Uint8Array) => ((e: ItemEvent) => void) | undefined;
  /** The first list is out (a client's "building file list ... done"). */
  listSent?: (files: number) => void;
  /** The lists exist (filled as they are sent): a server's log totals them even when the run then fails. */
  listsMade?: (lists: FileLists) => void;
  /** The sending half of a local copy (its --remove-source-files confirmations name the destination's file). */
  local?: boolean;
  /** --write-batch on a pushing client: what we send after the rules is recorded, with our statistics. */
  recorder?: BatchRecorder;
}

export interface SendResult {
  stats: TransferStats;
  lists: FileLists;
  ioError: number;
  /** A server's list was empty: it ended the session without a transfer. */
  nothingSent?: boolean;
  /** Something could not be sent (the run ends with 23). */
  hadTransferError?: boolean;
}

/** The client's exit (MSG_ERROR_EXIT with its code): answered with an empty one, then the reads waiting on `input` fail with that code. */
function peerExit(code: number, payload: Uint8Array, input: Input, output: Output, protocol: number): void {
  if (code !== MSG.ERROR_EXIT) return;
  const exitCode = payload.length === 4 ? new DataView(payload.buffer, payload.byteOffset, 4).getInt32(0, true) : 0;
  if (protocol >= 31) {
    output.message(MSG.ERROR_EXIT, new Uint8Array(0));
    output.flush();
  }
  input.fail(peerExited(exitCode, RERR.PARTIAL));
}

/**
 * A local copy's sending half gets the rules through the pipe, as text; the
 * ones the user gave in files are still not to be quoted by --debug=FILTER
 * (upstream's sending half parsed the files itself).
 */
function markRulesFromFiles(filters: FilterList, o: Options): void {
  if (outputConfig(o).debug.get("FILTER") < 1 || filters.empty) return;
  // Standard input cannot be read twice.
  if (o.filters.some((f) => f.value === "-" || /^(merge|\.)\S*[ _]-$/.test(f.value))) return;
  let own: FilterList;
  try {
    own = filterListFromOptions(o);
  } catch {
    return;
  }
  const key = (r: FilterRule) => `${r.flags & FR.INCLUDE}:${Buffer.from(r.pattern).toString("latin1")}`;
  const fromFiles = new Set(own.rules.filter((r) => r.fromFile).map(key));
  const plain = new Set(own.rules.filter((r) => !r.fromFile).map(key));
  for (const r of filters.rules) if (fromFiles.has(key(r)) && !plain.has(key(r))) r.fromFile = true;
}

/**
 * A chroot-less module's --files-from names are relative to the directory the
 * client named: it must be reached inside the module, as flist.c's
 * change_dir of it is (upstream 3.5.0 refuses one whose path leads out with
 * ELOOP, as it refuses a missing one, code 3). The walk and the reads open
 * it inside the module again (fd-ops openConfinedRoot).
 */
function enterConfinedBase(base: string, module: string): void {
  if (!fdOpsAvailable) return;
  try {
    closeSync(openConfinedRoot(Buffer.from(base, "latin1"), () => base));
  } catch (e) {
    throw new RsyncError(RERR.FILESELECT, `rsync: [sender] change_dir "${base}" (in ${module}) failed: ${errText(e)}`);
  }
}

/** Messages for the user: printed by a client, sent as messages by a server. */
type Say = (kind: "info" | "warning" | "error", text: string) => void;

/**
 * The connection is read by a sender from now on: a connection that ends
 * under us is the sender's to report (io.c whine_about_eof), and a frame it
 * refuses names it (read_a_msg). Its callers say so before they demultiplex
 * the input, whose first frames may be in already.
 */
export function readAsSender(input: Input, s: Session, amServer: boolean, localCopy: boolean): void {
  input.reader.role = "sender";
  input.readerName = () => `sender${s.incRecurse ? "/inc" : ""}`;
  input.amServer = amServer;
  input.localCopy = localCopy;
}

export async function sendTransfer(request: SendRequest): Promise<SendResult> {
  let req = request;
  const { o, s, input, output } = req;
  const started = Date.now();
  readAsSender(input, s, req.amServer, req.local === true);
  checkXattrProtocol(o, s.protocol, req.local === true);
  // --copy-as: the files are read as that user (main.c do_server_sender, client_run).
  becomeCopyAsUser(o, "sender");
  // io.c read_a_msg as a sending server: a client that gives up says so (MSG_ERROR_EXIT); we answer and end too.
  if (req.amServer) input.setMessageHandler((code, payload) => peerExit(code, payload, input, output, s.protocol));
  // A server's rules come from its client; a pushing client tells a deleting receiver its own.
  let filters: FilterList;
  const ruleSide = { amSender: true, protocol: s.protocol, deleteExcluded: o.deleteExcluded };
  if (req.amServer) {
    // (A local copy's sending half is upstream's client, which parsed the rules among its options.)
    filters = await readFilterList(input, s.protocol, o.deleteExcluded, req.local ? undefined : addRuleDebug(outputConfig(o).debug.get("FILTER"), "sender"));
    if (req.local) markRulesFromFiles(filters, o);
    // -C's rules are the sending half's own, and it says so (--debug=FILTER2).
    if (req.local) sayAddedRules(filters, outputConfig(o).debug.get("FILTER"), "sender");
    if (o.cvsExclude) addCvsRules(filters, ruleSide, "received");
    // --files-from: the names are what we send, inside the one path we were given. With "-" the client's come
    // next; a file (the client's --files-from=:LIST) is ours to read (a daemon keeps it in the module). (A local
    // copy's sending half is given the list's names, from a file or stdin, with its arguments.)
    if (o.filesFrom !== undefined && !req.local) {
      const names = o.filesFrom === "-" ? await readForwardedNames(input, o) : readFilesFrom(o, 1);
      const base = req.args[0] ? Buffer.from(req.args[0]).toString("latin1") : ".";
      if (o.confinedModule !== undefined) enterConfinedBase(base, o.confinedModule);
      req = { ...req, args: names, root: req.root === "." ? base : `${req.root}/${base}` };
    }
  } else {
    filters = filterListFromOptions(o, false, true);
    addPartialDirRule(filters, o, ruleSide);
    sayAddedRules(filters, outputConfig(o).debug.get("FILTER"), "sender");
    if (o.cvsExclude) addCvsRules(filters, ruleSide, "before-sending");
    const wanted = receiverWantsFilterList(o, s.protocol);
    writeFilterRules(wanted ? output.data : null, filters, ruleSide);
    if (wanted) output.flush();
    if (o.cvsExclude) addCvsRules(filters, ruleSide, "after-sending");
    // --files-from=:LIST on a push: the receiving server reads it and forwards its names (main.c client_run).
    if (o.filesFromHost !== undefined) {
      output.flush();
      req = { ...req, args: await readForwardedNames(input, o) };
    }
  }
  // main.c client_run: start_write_batch comes after send_filter_list.
  if (req.recorder) {
    output.flush();
    output.tee = req.recorder.record;
  }
  // The walk's errors are upstream's FERROR_XFER: they make the run end with 23, wherever they are shown.
  let transferErrors = false;
  const say: Say = (kind, text) => {
    if (kind === "error") transferErrors = true;
    if (!req.amServer) return kind === "info" ? terminal.info(`${text}\n`) : terminal.error(`${text}\n`);
    output.message(kind === "info" ? MSG.INFO : kind === "warning" ? MSG.WARNING : MSG.ERROR_XFER, Buffer.from(`${text}\n`, "latin1"));
  };

  // Directories are read natively with their entries' stats, and prefetched; end() drops what is left.
  // (--open-noatime: upstream's walk opens them with O_NOATIME too.)
  core.scanNoatime(req.o.openNoatime);
  // A chroot-less module: the walk opens each directory beneath it, as the file reads do (SourceDirs).
  const scan = scanningWalkFs(req.o.confinedModule !== undefined ? Buffer.from(req.root, "latin1") : undefined);
  // --fake-super: a tree such a receiver made is sent as what it stands for.
  const walkFs = amRootLevel(req.o) < 0 ? fakeSuperWalk(scan) : scan;
  try {
    return { ...(await sendLists(req, say, started, walkFs, filters)), hadTransferError: transferErrors };
  } finally {
    walkFs.end();
  }
}

/**
 * How the sender opens files (syscall.c do_open_checklinks): never through a
 * symlink at the name unless -L or --copy-unsafe-links made symlinks files
 * in the list. A file listed as regular and swapped for a symlink before it
 * is sent fails to open (ELOOP) instead of sending what the link points at,
 * which may be outside the module (upstream's fix of CVE-2024-12747).
 * --open-noatime (or -UU) leaves access times alone.
 */
function readFlagsFor(o: Options): number {
  const noFollow = o.copyLinks || o.copyUnsafeLinks ? 0 : fsConstants.O_NOFOLLOW;
  return fsConstants.O_RDONLY | noFollow | (o.openNoatime ? (fsConstants.O_NOATIME ?? 0) : 0);
}

/** A file's whole content, opened with `flags` (O_NOATIME for --open-noatime). */
function readWhole(path: Buffer, flags: number, copyDevices = true): Buffer {
  const fd = openSync(path, flags);
  try {
    // A device (--copy-devices) is read for its length only: /dev/zero has no end.
    const length = deviceContentLength(fd, copyDevices);
    return length === undefined ? readFileSync(fd) : readLength(fd, length);
  } finally {
    closeSync(fd);
  }
}

/** file_checksum: a file's whole content under the file-list checksum (cut to its wire length). */
function contentSum(path: Uint8Array, s: Session, flags: number): Uint8Array {
  const hasher = fileListHasher(s.sums);
  try {
    hasher.update(readWhole(Buffer.from(path.buffer, path.byteOffset, path.byteLength), flags));
  } catch {
    // An unreadable file gets the sum of nothing; its transfer reports the error.
  }
  return hasher.digest().subarray(0, s.sums.file.length);
}

/** -U: an entry's access time in seconds (of the symlink itself, or of what a followed one points to). */
function accessTime(path: Uint8Array, st: FileStat): number {
  try {
    const now = (isLink(st.mode) ? lstatSync : statSync)(Buffer.from(path.buffer, path.byteOffset, path.byteLength), { bigint: true });
    return Number(now.atimeNs / 1_000_000_000n);
  } catch {
    return 0;
  }
}

async function sendLists(req: SendRequest, say: Say, started: number, walkFs: WalkFs, filters: FilterList): Promise<SendResult> {
  const { o, s, input, output } = req;
  const debug = outputConfig(o).debug;
  const filterWalk = filterHooks(filters, o, true, { level: outputConfig(o).debug.get("FILTER"), who: "sender", say: (line) => say("info", line) }, s.incRecurse);
  const builder = new FlistBuilder(
    {
      protocol: s.protocol,
      recursive: o.recursive,
      dirs: o.dirs,
      relative: o.relative,
      impliedDirs: o.impliedDirs,
      incRecurse: s.incRecurse,
      preserveLinks: o.links,
      copyLinks: o.copyLinks,
      copyUnsafeLinks: o.copyUnsafeLinks,
      copyDirlinks: o.copyDirlinks,
      oneFileSystem: o.oneFileSystem,
      ignoreMissingArgs: o.ignoreMissingArgs,
      deleteMissingArgs: o.deleteMissingArgs,
      preserveHardLinks: o.hardLinks,
      mungeSymlinks: o.mungeSymlinks,
      confinedModule: o.confinedModule,
      ignoreNonreadable: o.ignoreNonreadable,
      tweakMode: o.chmod.length ? (mode) => tweakMode(mode, o.chmod) : undefined,
      atime: o.atimes ? accessTime : undefined,
      deviceAsFile: o.copyDevices ? deviceAsFile : undefined,
      // -c: each regular file's sum goes in its entry (flist.c file_checksum).
      checksum: o.checksum ? (path) => contentSum(path, s, readFlagsFor(o)) : undefined,
      onMessage: say,
      changedDir: outputConfig(o).debug.get("CHDIR") >= 1 ? (path) => say("info", `[sender] change_dir(${absolute(Buffer.from(path).toString("latin1"))})`) : undefined,
      unconvertible: senderNameCheck(o, s),
      ...filterWalk,
      fullName: o.moduleName === undefined ? undefined : (dir: Uint8Array, name: Uint8Array) => fullFname(dir, name, o.moduleName),
      flistDebug: debug.get("FLIST"),
      sayUnsafeCopies: outputConfig(o).info.get("SYMSAFE") > 0,
    },
    req.root,
    walkFs,
  );
  req.listsMade?.(builder.lists);
  // --iconv: names differ between the sides, so indexes count entries as sent (flist.c need_unsorted_flist).
  if (o.iconv != null) builder.lists.wireOrder = new WireOrder();
  const ndxOut = withWireOrder(new NdxEncoder(s.protocol), builder.lists.wireOrder);
  const encoder = new FlistEncoder(builder.table, {
    ...flistWireOptions(o, s),
    incRecurse: s.incRecurse,
    numericIds: o.numericIds ? 1 : o.daemonNumericIds ? -1 : 0,
    id0Names: s.id0Names,
    names: o.numericIds ? undefined : systemIdNames(),
  });
  if (debug.get("HLINK")) encoder.hardLinkDebug = { level: debug.get("HLINK"), say: (text) => say("info", text) };
  const xattrs = o.xattrs
    ? new SenderXattrs(
        { amSender: true, amRoot: amRootLevel(o), level: o.xattrs },
        { links: o.links, devices: o.devices, specials: o.specials },
        builder.table,
        (row) => builder.localPath(row),
        (text) => say("error", text),
        xattrOptim(s.protocol, s.compatFlags),
      )
    : undefined;
  const lists = new FileListSender(builder, encoder, ndxOut, {
    protocol: s.protocol,
    incRecurse: s.incRecurse,
    safeFlist: s.safeFlist,
    numericIds: o.numericIds ? 1 : o.daemonNumericIds ? -1 : 0,
    preserveHardLinks: o.hardLinks,
    afterEntry: afterEntry(
      o.acls
        ? aclEntryWriter(
            new AclSender(o.numericIds ? null : (id, user) => encoder.noteId(id, user), s.incRecurse),
            (row) => builder.table.mode[row]!,
            (row) => builder.localPath(row),
            o,
            amRootLevel(o) < 0,
            (text) => say("error", text),
          )
        : undefined,
      xattrs && ((w, row) => xattrs.afterEntry(w, row)),
    ),
  });
  const first = lists.writeFirst(output.data, req.args);
  // flist.c output_flist (--debug=flist3): each list once it is sent.
  let listsDumped = 0;
  const dumpLists = () => {
    const all = builder.lists.lists;
    for (; listsDumped < all.length; listsDumped++) {
      const view = { who: "sender", human: o.humanReadable, nsec: s.protocol >= 31, root: (row: number) => builder.argDir(row), uid: o.owner ? (row: number) => builder.table.uid[row]! : undefined, gid: o.group ? (row: number) => builder.table.gid[row]! : undefined, mountDirBit: SF.MOUNT_DIR };
      for (const line of flistDump(builder.table, all[listsDumped]!, view)) say("info", line);
    }
  };
  if (debug.get("FLIST") > 2) dumpLists();
  if (debug.get("FLIST") > 1) say("info", "send_file_list done");
  // --debug=flist3: when no list is left to send; main.c client_run's "file list sent" on a sending client.
  let eofSaid = debug.get("FLIST") < 3;
  const sayEof = () => {
    // The last list is out: upstream leaves the directories it still had filters pushed for (change_local_filter_dir).
    if (lists.eof) filterWalk.endWalk?.();
    if (eofSaid || !lists.eof) return;
    eofSaid = true;
    say("info", "[sender] flist_eof=1");
  };
  sayEof();
  if (debug.get("FLIST") > 2 && (!req.amServer || req.local)) say("info", "file list sent");
  if (first.ioErrorMessage && output.multiplexed) output.messageInt(MSG.IO_ERROR, first.ioErrorMessage);
  output.flush();
  const buildMs = Date.now() - started;

  req.listSent?.(builder.lists.tally.files);
  const stats = emptyStats();
  // main.c do_server_sender: with nothing to send a server stops here (the client expects no more).
  if (req.amServer && lists.eof && (builder.lists.lists[0]?.count ?? 0) === 0) {
    await output.drained();
    return { stats, lists: builder.lists, ioError: builder.ioError, nothingSent: true };
  }
  /** send_extra_file_list: sub-lists until `atLeast` files are listed past the list of the generator's latest request. */
  const sendListsUntil = (atLeast: number): void => {
    if (lists.eof) return;
    const more = lists.writeMore(output.data, atLeast, sender?.filesReached ?? 0);
    if (debug.get("FLIST") > 2) dumpLists();
    sayEof();
    if (more.ioErrorMessage && output.multiplexed) output.messageInt(MSG.IO_ERROR, more.ioErrorMessage);
    // No flush: the lists go out with the next frame's worth, or when we wait for the generator.
  };
  const report = req.report?.(builder.lists, stats, (row) => builder.localPath(row));
  const remover = o.removeSourceFiles ? listenForConfirmations(req, say, builder) : null;
  // --open-noatime (or -UU): reading a file leaves its access time alone (syscall.c do_open).
  const readFlags = readFlagsFor(o);
  const sourceDirs = new SourceDirs(
    {
      localDirKey: (row) => builder.localDirKey(row),
      localDir: (row) => builder.localDir(row),
      rootRelativeDir: (row) => builder.rootRelativeDir(row),
      localPathNow: (row) => builder.localPathNow(row),
      baseName: (row) => builder.table.baseName(row),
    },
    readFlags,
    // A chroot-less module: no open may leave it through a symlink raced in after the listing.
    o.confinedModule !== undefined ? Buffer.from(req.root, "latin1") : undefined,
    // ... and those -L, --copy-unsafe-links and --copy-dirlinks follow stay inside it (sender.c send_files).
    o.copyLinks || o.copyUnsafeLinks || o.copyDirlinks,
  );
  let sender: Sender | null = null;
  sender = new Sender({
    s,
    lists: builder.lists,
    input,
    output,
    ndxIn: withWireOrder(new NdxDecoder(s.protocol), builder.lists.wireOrder),
    ndxOut,
    stats,
    ioError: builder.ioError,
    // upstream's do_xfers: --only-write-batch's dry run still sends the files (into the batch).
    dryRun: o.dryRun && !(o.writeBatch < 0),
    append: o.append,
    batchOnlyData: req.recorder && o.writeBatch < 0 ? req.recorder.dataSink() : undefined,
    openContent: (row) =>
      sourceDirs.open(row, () => {
        const path = builder.localPathNow(row);
        return openSync(Buffer.from(path.buffer, path.byteOffset, path.length), readFlags);
      }),
    readContent: (row, into) => sourceDirs.read(row, into),
    contentLength: (fd) => sourceLength(fd, o.copyDevices),
    displayName: (row) => builder.shownName(row),
    localPath: (row) => builder.localPath(row),
    sendMoreLists: () => sendListsUntil(LOOKAHEAD),
    sendListWhileIdle: () => {
      if (lists.eof) return false;
      const ahead = lists.fileTotal - (sender?.filesReached ?? 0);
      if (ahead >= IDLE_LOOKAHEAD) return false;
      // flist.c send_extra_file_list(f, -1): one more list than there is now.
      sendListsUntil(ahead + 1);
      return true;
    },
    warn: (kind, text) => {
      if (!req.amServer) return terminal.error(`${text}\n`);
      output.message(kind === "warning" ? MSG.WARNING : MSG.ERROR_XFER, Buffer.from(`${text}\n`, "latin1"));
    },
    deltaSumLevel: outputConfig(o).debug.get("DELTASUM"),
    sendLevel: debug.get("SEND"),
    debugPath: (row) => builder.debugPath(row),
    info: (text) => say("info", text.replace(/\n$/, "")),
    forwardDeleteStats: req.amServer,
    storeOnly: o.storeOnly,
    // The receiver asks for a delta by sending block sums (none when it wants the file whole).
    matcher: (head, sums, length, session, basisType) => createBlockMatcher(head, sums, length, session.sums, { updatingBasis: updatingBasisFile(o, session, basisType) }),
    report,
    xattrs,
  });
  try {
    await sender.run();
  } finally {
    sourceDirs.end();
  }
  if (req.amServer) await sender.sendStats(totalSize(builder), buildMs, 0);
  else {
    // main.c handle_stats: a client takes its totals before the goodbye.
    stats.totalSize = builder.lists.tally.size;
    stats.totalRead = input.bytesReceived;
    stats.totalWritten = output.bytesSent;
    // flist.c send_file_list: never 0 ms, so the summary shows the generation time line.
    stats.flistBuildTime = Math.max(1, buildMs);
  }
  if (req.recorder) {
    // main.c handle_stats: the batch gets the totals a server sender would have sent, before the goodbye.
    output.flush();
    req.recorder.stats(stats, s.protocol);
  }
  await sender.readGoodbye();
  // (No confirmation comes after the goodbye.)
  remover?.end();
  await output.drained();
  return { stats, lists: builder.lists, ioError: sender.ioError };
}

/** A chroot-less module's files, removed beneath its root (`root`, the transfer's). */
function moduleAnchored(root: string, builder: FlistBuilder): ConfinedFiles {
  const rootPath = Buffer.from(root, "latin1");
  return { anchor: () => rootPath, openAnchor: openConfinedRoot, relativeDir: (row) => builder.rootRelativeDir(row), baseName: (row) => builder.table.baseName(row) };
}

/** A local sender's files, removed beneath the directory their argument names. */
function argumentAnchored(builder: FlistBuilder): ConfinedFiles {
  return { anchor: (row) => builder.argDirPath(row), openAnchor: openDir, relativeDir: (row) => builder.table.dirName(row), baseName: (row) => builder.table.baseName(row) };
}

/** --remove-source-files: the receiving side's MSG_SUCCESS for each entry it has makes us remove ours. */
function listenForConfirmations(req: SendRequest, say: Say, builder: FlistBuilder): SourceRemover {
  const { o, s, input } = req;
  const remover = new SourceRemover({
    lists: builder.lists,
    protocol: s.protocol,
    local: req.local === true,
    copyLinks: o.copyLinks,
    sayRemoved: outputConfig(o).info.get("REMOVE") > 0,
    localPath: (row) => builder.localPath(row),
    say,
    // Each removal goes through its file's directory opened beneath the chroot-less module's root, or else
    // beneath the directory of the argument it came from.
    confined: !fdOpsAvailable ? undefined : o.confinedModule !== undefined ? moduleAnchored(req.root, builder) : argumentAnchored(builder),
  });
  input.routeMessage(MSG.SUCCESS, (payload) => {
    try {
      remover.confirmed(payload);
    } catch (e) {
      input.fail(e);
    }
  });
  return remover;
}

/**
 * sender.c updating_basis_file: the receiver writes over the very file its
 * block sums came from (--inplace, which --append and --write-devices imply,
 * into the destination's file, or a partial-dir file updated in place), so
 * the matcher may not use blocks it has already passed.
 */
function updatingBasisFile(o: Options, s: Session, basisType: number): boolean {
  if (s.compatFlags & CF.INPLACE_PARTIAL_DIR && basisType === FNAMECMP_PARTIAL_DIR) return true;
  if (!(o.inplace || o.append > 0 || o.writeDevices)) return false;
  return s.protocol >= 29 ? basisType === FNAMECMP_FNAME : !o.backup;
}

/** cleanup.c: with no fatal error the I/O error bits decide the exit code (23 beats 24 beats 25). */
export function ioErrorExitCode(ioError: number): number {
  if (ioError & IOERR_GENERAL) return RERR.PARTIAL;
  if (ioError & IOERR_VANISHED) return RERR.VANISHED;
  if (ioError & IOERR_DEL_LIMIT) return RERR.DEL_LIMIT;
  return 0;
}

/** Regular files and symlinks count their length (stats.total_size). */
function totalSize(b: FlistBuilder): number {
  const t = b.table;
  let total = 0;
  for (const l of b.lists.lists) {
    for (let row = l.ndxStart; row < l.ndxStart + l.count; row++) {
      if (isReg(t.mode[row]!) || isLink(t.mode[row]!)) total += t.size[row]!;
    }
  }
  return total;
}

/** What follows each entry, in upstream's order: its ACLs, then its extended attributes. */
function afterEntry(...parts: (((w: ByteWriter, row: number) => void) | undefined)[]): ((w: ByteWriter, row: number) => void) | undefined {
  const present = parts.filter((p) => p !== undefined);
  if (!present.length) return undefined;
  return (w, row) => {
    for (const p of present) p(w, row);
  };
}

/** --files-from names the other side forwards: NUL-ended, up to an empty one (io.c forward_filesfrom_data). */
async function readForwardedNames(input: Input, o: Options): Promise<Uint8Array[]> {
  const names: Uint8Array[] = [];
  const convert = filesFromConversion(o, true);
  for (let name = await input.read(readForwardedName); name; name = await input.read(readForwardedName)) names.push(convert ? convert(name) : name);
  return names;
}
