/**
 * Transfers where the client receives: a pull from a daemon
 * (`oc-rsync rsync://host/mod/path DEST`), over a remote shell
 * (`oc-rsync -e ssh host:path DEST`), and a local copy (main.c
 * start_socket_client, do_cmd, client_run). The generator and the receiver
 * run as two tasks of this process (roles/receive-session.ts).
 */
import { checkXattrProtocol } from "../flist/xattrs.ts";
import type { Options } from "../cli/options.ts";
import { RERR, RsyncError, asRole, type Role } from "../errors.ts";
import { allowIncRecurse } from "../protocol/server-args.ts";
import { IoWatchdog } from "../io/watchdog.ts";
import { Input } from "../io/input.ts";
import { Output } from "../io/output.ts";
import type { Channel } from "../io/channel.ts";
import { memoryChannelPair } from "../io/memory-channel.ts";
import { forkSendingHalf, forkWanted, runSendingHalf } from "./local-sender.ts";
import { clientSetupProtocol, type Session } from "../protocol/setup.ts";
import { forwardedNames } from "./files-from.ts";
import { compressRequest } from "../compress/choice.ts";
import { receiveTransfer } from "../roles/receive-session.ts";
import { emptyStats, type TransferStats } from "../roles/stats.ts";
import type { HostSpec } from "../transport/address.ts";
import { connectToRemote, raisedByShell } from "./connection.ts";
import { PROTOCOL_VERSION } from "../version.ts";
import { requestedNames } from "./requested.ts";
import type { BatchRecorder } from "../batch/batch-file.ts";
import { checkLocalCopyAs } from "../roles/copy-as.ts";
import { errorLine, reportFailure } from "../cli/report.ts";
import { terminal } from "../output/terminal.ts";
import { debugLine, flistInitDebug } from "../output/debug-line.ts";
import { outputConfig } from "../cli/output-config.ts";
import { charsetDebugLines, commandDebugLines, serverCharsetLine, setupDebug } from "./setup-debug.ts";

export interface PullResult {
  exitCode: number;
  stats: TransferStats;
  /** A daemon listed its modules (or ended the session): no transfer, and upstream's client just exits. */
  listedModules?: boolean;
  /** The file list was empty: upstream's client never forked its generator. */
  emptyList?: boolean;
}

export interface PullRequest {
  o: Options;
  spec: HostSpec;
  /** Remote paths ("module/path" for a daemon), the first one from `spec`. */
  paths: string[];
  /** Local destination, or undefined for a listing. */
  dest: string | undefined;
  startTime: number;
  /** --write-batch: what we receive is recorded. */
  recorder?: BatchRecorder;
}

/** A pull from a daemon or over a remote shell. */
export async function pullFromRemote(req: PullRequest): Promise<PullResult> {
  const listOnly = listingMode(req);
  const shell = req.spec.port === 0;
  const conn = await connectToRemote({ o: req.o, spec: req.spec, paths: req.paths, amSender: false, listOnly });
  // Names the server sends are checked against what was asked for; a daemon's paths start with the module.
  const asked = shell ? { ...req, paths: req.paths.map((p) => `shell/${p.replace(/^\/+/, "")}`) } : req;
  const result = await runConnected(asked, conn.channel, (input, output) => conn.start(input, output)).catch(async (e) => {
    throw await raisedByShell(e, conn);
  });
  // After a module listing upstream's client exits at once (clientserver.c, "@RSYNCD: EXIT"): a daemon a remote
  // shell ran is not waited for (upstream's exits with 255 then).
  if (result.listedModules) return result;
  return { ...result, exitCode: Math.max(result.exitCode, await conn.exited()) };
}

/** 0 = a transfer; 1 = a lone remote source (listing implied); 2 = --list-only. */
function listingMode(req: PullRequest): number {
  const listOnly = req.dest === undefined ? (req.o.listOnly ? 2 : 1) : req.o.listOnly ? 2 : 0;
  if (listOnly) req.o.listOnly = true;
  return listOnly;
}

/**
 * The pull after the connection is made: `start` does what comes before
 * setup_protocol (the daemon handshake or the version exchange) and returns
 * the protocol, or null when nothing more follows (a module listing).
 */
async function runConnected(
  req: PullRequest,
  channel: Channel,
  start: (input: Input, output: Output) => Promise<number | null>,
): Promise<PullResult> {
  const o = req.o;
  // --timeout, which a daemon may lower (MSG_IO_TIMEOUT).
  const timeouts = { value: o.timeout };
  const input = new Input(channel);
  const output = new Output(channel, input);
  output.limitBandwidth(o.bwlimit);
  // Until the transfer starts, failures (timeouts too) are the "Receiver"'s, as upstream's client names itself before it forks.
  let role: Role = "Receiver";
  const watchdog = new IoWatchdog(input, output, () => timeouts.value, () => role, o.stopAt);
  watchdog.start();
  try {
    const protocol = await asRole("Receiver", start(input, output));
    if (protocol === null) return { exitCode: 0, stats: emptyStats(), listedModules: true };
    const session = await asRole("Receiver", clientSetupProtocol(input, output, { protocol, checksumChoice: o.checksumChoice, compress: compressRequest(o), batch: !!req.recorder, checkProtocol: (p) => checkXattrProtocol(o, p, false), debug: setupDebug(o), incRecurseAllowed: allowIncRecurse(o, false) }));
    flistInitDebug(outputConfig(o).debug.get("FLIST"), false);
    recordFrom(req.recorder, session, input);
    // (A list on the remote side is the server's to read: then the sender's list is trusted, options.c trust_sender_args.)
    const filesFrom = o.filesFrom === undefined || o.filesFromHost !== undefined ? undefined : forwardedNames(o);
    if (filesFrom && session.protocol < 31) throw new RsyncError(RERR.UNSUPPORTED, "rsync: --files-from with a remote source needs protocol 31 or later in oc-rsync");
    const result = await asRole(
      "Receiver",
      receiveTransfer({
        o,
        s: session,
        input,
        output,
        dest: req.dest ?? ".",
        listing: req.dest === undefined || o.listOnly,
        // With --files-from the listed names are what was asked for (add_implied_include as they are forwarded).
        isRequested: filesFrom
          ? requestedNames(filesFrom.map((n) => `./${Buffer.from(n).toString("latin1")}`), o.relative, "latin1")
          : o.filesFromHost !== undefined
            ? undefined
            : requestedNames(req.paths, o.relative),
        filesFrom,
        timeouts,
        transferStarts: () => (role = "generator"),
        amServer: false,
        local: false,
        startTime: req.startTime,
        // main.c get_local_name names a daemon pull's source when there is no destination.
        shownDest: req.dest === undefined && req.spec.port !== 0 ? req.paths[0] : undefined,
      }),
    );
    await output.drained();
    return result;
  } finally {
    watchdog.stop();
    // Every way out closes the connection: an open socket would keep the process alive.
    channel.close();
  }
}

/**
 * A local copy (`oc-rsync -a SRC... DEST`): upstream forks a server for the
 * receiving side and joins the two with a socketpair. We run the same two
 * halves of the protocol: our sending side (local-sender.ts, in a process
 * of its own or as a task of this one) and here the receiving side every
 * pull uses. Its options are settled for both halves by runClient (files
 * sent whole unless --no-whole-file is given, as upstream).
 */
export async function localCopy(req: { o: Options; sources: string[]; dest: string; listing: boolean; startTime: number; recorder?: BatchRecorder }): Promise<PullResult> {
  const o = req.o;
  checkLocalCopyAs(o, (e) => reportFailure(e, "Receiver"));
  const protocol = o.protocol ?? PROTOCOL_VERSION;
  // do_cmd for a local copy: no remote shell, the destination as the "path", and the local server's arguments.
  if (!req.listing) commandDebugLines(o, { path: req.dest }, [".", req.dest]);
  charsetDebugLines(o, "sender");
  serverCharsetLine(o, "Receiver");
  // The sending half in a process of its own where nothing but the protocol joins the halves, else in this one.
  const forked = forkWanted(o, !!req.recorder) ? await forkSendingHalf().catch(() => null) : null;
  const [clientEnd, serverEnd] = forked ? [forked.channel, null] : memoryChannelPair();
  const cin = new Input(clientEnd);
  const cout = new Output(clientEnd, cin);
  // Upstream limits both processes' writes, the sender's data and the generator's checksums.
  cout.limitBandwidth(o.bwlimit);
  // Nothing to time out between two halves of one process, but --stop-after/--stop-at still apply.
  const watchdog = new IoWatchdog(cin, cout, () => 0, () => "sender", o.stopAt);
  watchdog.start();
  const senderPaths: { of?: (row: number) => Uint8Array } = {};
  const serving = serverEnd ? sendInProcess(o, req.sources, serverEnd, (localPath) => (senderPaths.of = localPath)) : forked!.exited;
  serving.catch(() => {});
  try {
    const s = await clientSetupProtocol(cin, cout, { protocol, checksumChoice: o.checksumChoice, compress: compressRequest(o), batch: !!req.recorder, debug: setupDebug(o) });
    flistInitDebug(outputConfig(o).debug.get("FLIST"), false);
    recordFrom(req.recorder, s, cin);
    // main.c do_server_recv in upstream's receiving child ("." and the destination).
    if (outputConfig(o).debug.get("RECV")) debugLine(`server_recv(2) starting pid=${process.pid}`);
    const result = await receiveTransfer({
      // Upstream's receiving child leaves --munge-links to the sending side (pipe.c local_child).
      o: receivingOptions(o),
      s,
      input: cin,
      output: cout,
      dest: req.dest,
      listing: req.listing,
      timeouts: { value: o.timeout },
      transferStarts: () => {},
      amServer: false,
      local: true,
      senderPath: (row) => senderPaths.of?.(row),
      startTime: req.startTime,
    });
    // After an empty list the sending side ends without waiting for us to read on (do_server_sender).
    if (result.emptyList) {
      clientEnd.close();
      serverEnd?.close();
    }
    await cout.drained();
    await serving.catch((e) => {
      if (!result.exitCode && !result.emptyList) throw e;
    });
    // Upstream's receiving child ends with its own error line when it dropped names it could not convert (--iconv).
    if (result.namesUnconverted && result.exitCode) terminal.error(errorLine(result.exitCode, "generator"));
    return result;
  } finally {
    watchdog.stop();
    clientEnd.close();
    serverEnd?.close();
  }
}

/** The sending half as a task of this process, on `end` of the memory channel pair. */
async function sendInProcess(o: Options, sources: string[], end: Channel, onPaths: (localPath: (row: number) => Uint8Array) => void): Promise<void> {
  const input = new Input(end);
  const output = new Output(end, input);
  output.limitBandwidth(o.bwlimit);
  try {
    await runSendingHalf(o, sources, input, output, onPaths);
  } catch (e) {
    end.close();
    throw e;
  }
}

/** --write-batch on a receiving client: the header, then everything the sender sends from here (main.c client_run start_write_batch). */
function recordFrom(recorder: BatchRecorder | undefined, s: Session, input: Input): void {
  if (!recorder) return;
  recorder.start(s);
  input.tee = recorder.record;
}

/** The options the receiving half of a local copy works with: each side of a local copy needs its own --munge-links. */
function receivingOptions(o: Options): Options {
  return o.mungeSymlinks ? { ...o, mungeSymlinks: false } : o;
}
