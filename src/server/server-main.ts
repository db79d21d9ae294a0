/**
 * `oc-rsync --server ...`: the far end of a remote shell (main.c
 * start_server). stdin and stdout carry the protocol; the client's options
 * arrived on the command line, followed by "." and the paths. After the
 * version exchange and setup_protocol we send (`--sender`: a pull) or
 * receive (a push), and everything we would print goes to the client as
 * messages. A daemon's session (src/daemon/session.ts) runs the same
 * serveTransfer once its handshake is done.
 */
import { secludedPathBytes, serverTextSent } from "../flist/iconv-hooks.ts";
import type { Options } from "../cli/options.ts";
import { parseArgv } from "../cli/option-spec.ts";
import { serverBatchOptions } from "../batch/batch-options.ts";
import { modeTable, optionTable } from "../cli/option-table.ts";
import { readSecludedArgs } from "../protocol/secluded-args.ts";
import { errorLine } from "../cli/report.ts";
import { RERR, RsyncError, asRole, type Role } from "../errors.ts";
import type { Channel } from "../io/channel.ts";
import { Input } from "../io/input.ts";
import { Output } from "../io/output.ts";
import { stdioChannel } from "../io/stream-channel.ts";
import { IoWatchdog } from "../io/watchdog.ts";
import { MSG } from "../protocol/mux.ts";
import { allowIncRecurse, checkServerChoices, serverSetupProtocol } from "../protocol/server-setup.ts";
import { checkBasisDirProtocol } from "../roles/basis-dirs.ts";
import { compressRequest } from "../compress/choice.ts";
import { applyFilesFromImplications, checkListForwarding, forwardedNames } from "../client/files-from.ts";
import { exchangeVersions } from "../protocol/version-exchange.ts";
import { receiveTransfer } from "../roles/receive-session.ts";
import { debugLine } from "../output/debug-line.ts";
import { terminal } from "../output/terminal.ts";
import { PROTOCOL_VERSION } from "../version.ts";
import type { Session } from "../protocol/setup.ts";
import { ClientOutput } from "../client/output.ts";
import { outputConfig } from "../cli/output-config.ts";
import { ioErrorExitCode, readAsSender, sendTransfer } from "../roles/send-session.ts";
import type { FileLists } from "../flist/lists.ts";
import type { TransferStats } from "../roles/stats.ts";
import type { ItemEvent } from "../roles/reporter.ts";
import { loggedItem } from "./log-items.ts";
import { ServerLog } from "./server-log.ts";
import { serverCharsetLine } from "../client/setup-debug.ts";

export async function runServer(o: Options, channel: Channel = stdioChannel()): Promise<number> {
  const input = new Input(channel);
  const output = new Output(channel, input);
  try {
    // -s: the options after the cluster, ".", and the paths come on stdin first (main.c).
    if (o.secludedArgs > 0) parseArgv(await readSecludedArgs(input), [...optionTable, ...modeTable], o);
    // An explicit checksum or compression choice is checked as upstream parses its options, before the version exchange.
    try {
      checkServerChoices(o, o.protocol ?? PROTOCOL_VERSION);
    } catch (e) {
      if (e instanceof RsyncError) e.role = "server";
      throw e;
    }
    const log = ServerLog.open(o);
    return await serveTransfer(o, input, output, {
      start: async () => {
        serverCharsetLine(o, o.sender ? "sender" : "Receiver");
        const protocol = await exchangeVersions(input, output, o.protocol ?? PROTOCOL_VERSION);
        // compat.c setup_protocol (--debug=PROTO, from -vvvv): before multiplexing a server's line goes to stderr.
        if (outputConfig(o).debug.get("PROTO") >= 1) process.stderr.write(`(Server) Protocol versions: remote=${protocol}, negotiated=${protocol}\n`);
        return protocol;
      },
      paths: o.args.slice(1),
      transferLog: log?.items,
      serverLog: log?.log,
    });
  } finally {
    channel.close();
  }
}

export interface ServeRequest {
  /** What comes before setup_protocol (the version exchange; a daemon has done its handshake): the protocol. */
  start(): Promise<number>;
  /** The paths after the "." every client puts first: what to send, or the destination. */
  paths: string[];
  /** A daemon's checks once the session is set up and multiplexed (read-only module, a lower timeout). */
  beforeTransfer?(s: Session, output: Output): void;
  /** The daemon's "timeout", lowering the client's --timeout. */
  timeout?: number;
  /** A daemon module's "transfer logging" (or a --server's --log-file): each file sent, received or deleted, in the log's format. */
  transferLog?: TransferLog;
  /** The server's log (a daemon's, a --server's --log-file): the start of the list, every message to the client, and the totals at the end. */
  serverLog?: ServerLog;
  /** A daemon on a socket: a failure before the messages to the client start is told to no one (upstream has no stderr for it). */
  unmultiplexedDropped?: boolean;
}

export interface TransferLog {
  format: string;
  /** A daemon's module and client, for %m %h %a %u %P (a --server has none). */
  daemon?: { module: string; host: string; addr: string; user: string; modulePath: string };
  write(line: string): void;
}

/**
 * main.c start_server: setup_protocol, multiplexed output, then the sending
 * or the receiving side. Failures are reported to the client; the exit code
 * is returned.
 */
export async function serveTransfer(o: Options, input: Input, output: Output, req: ServeRequest): Promise<number> {
  // options.c: --files-from implies -d on the server too (the client sends no 'd' for it).
  applyFilesFromImplications(o);
  // (Upstream tells the client it ignores --write-batch/--read-batch; only old clients send them.)
  serverBatchOptions(o, () => {});
  const timeouts = { value: req.timeout && (!o.timeout || req.timeout < o.timeout) ? req.timeout : o.timeout };
  output.limitBandwidth(o.bwlimit);
  // Before it forks, upstream's receiving server calls itself "Receiver".
  let role: Role = o.sender ? "sender" : "Receiver";
  const watchdog = new IoWatchdog(input, output, () => timeouts.value, () => role, o.stopAt);
  watchdog.start();
  let protocol = o.protocol ?? PROTOCOL_VERSION;
  const serverLog = req.serverLog;
  // cleanup.c log_exit's "total size" (the list's regular files and symlinks): a sender's lists so far, a receiver's at the end.
  let totalSize = 0;
  let sentLists: FileLists | null = null;
  const logTotals = (code: number) =>
    serverLog?.totals(code, o.sender, { written: output.bytesSent, read: input.bytesReceived, size: sentLists?.tally.size ?? totalSize });
  const logged = (code: number) => {
    logTotals(code);
    serverLog?.close();
    return code;
  };
  try {
    protocol = await req.start();
    // The client's capability letters come in its "-e.LETTERS" option, which our parser keeps as --rsh.
    const clientInfo = o.rsh?.startsWith(".") ? o.rsh.slice(1) : "";
    const needsWholeList = o.deleteMode === "before" || o.deleteMode === "after" || o.pruneEmptyDirs || o.delayUpdates;
    const s = await serverSetupProtocol(input, output, {
      protocol,
      clientInfo,
      allowIncRecurse: allowIncRecurse({ recursive: o.recursive, amSender: o.sender, clientInfo, needsWholeList }),
      checksumChoice: o.checksumChoice,
      checksumSeed: o.checksumSeed,
      compress: compressRequest(o),
    });
    // compat.c setup_protocol checks a receiving server's basis dirs against the protocol before anything else.
    if (!o.sender) checkBasisDirProtocol(o, s.protocol);
    // Upstream counts only the bytes that pass through its buffered I/O, which starts after setup_protocol:
    // the totals a server reports (its statistics, its log) leave out the handshake and the setup.
    output.bytesSent = 0;
    input.bytesReceived = 0;
    output.startMultiplex();
    serverLog?.logMessagesTo(output);
    // --iconv: our lines go to the client in UTF-8 (io.c send_msg converting).
    const toUtf8 = serverTextSent(o);
    terminal.sink = (kind, text) => output.message(kind === "info" ? MSG.INFO : s.protocol >= 30 ? MSG.ERROR : MSG.ERROR_XFER, toUtf8 ? toUtf8(text) : text);
    if (req.timeout && s.protocol >= 31) output.messageInt(MSG.IO_TIMEOUT, req.timeout);
    req.beforeTransfer?.(s, output);
    const paths = req.paths;
    // main.c do_server_sender / do_server_recv (--debug=send / recv; argc counts the "." before the paths).
    const debug = outputConfig(o).debug;
    if (o.sender ? debug.get("SEND") : debug.get("RECV")) debugLine(`server_${o.sender ? "sender" : `recv(${paths.length + 1})`} starting pid=${process.pid}`);
    serverLog?.listStarts(o.sender);
    if (o.sender) {
      // Before protocol 30 only --remove-source-files makes the client multiplex (its MSG_SUCCESS messages).
      readAsSender(input, s, true, false);
      if (s.protocol >= 30 || o.removeSourceFiles) input.startMultiplex();
      const log = req.transferLog;
      const sent = await asRole(
        "sender",
        sendTransfer({
          o,
          s,
          input,
          output,
          args: secludedPathBytes(o, paths),
          root: ".",
          amServer: true,
          report: log ? sentFilesLog(log, o, s) : undefined,
          listsMade: (lists) => (sentLists = lists),
        }),
      );
      await output.drained();
      // cleanup.c: the exit code is what the errors give. An empty list ends the session at once, and
      // upstream's exit_cleanup(0) then tells the client the code without an "rsync error" line of its own.
      const code = ioErrorExitCode(sent.ioError);
      if (code && sent.nothingSent) return logged(await reportToClient(new RsyncError(code, "", true), output, input, s.protocol, "sender", { noErrorLine: true }));
      return logged(code);
    }
    const result = await asRole(
      "receiver",
      receiveTransfer({
        o,
        s,
        input,
        output,
        dest: paths[0] ?? ".",
        // A push with --list-only: the receiving side lists what it is sent and changes nothing.
        listing: o.listOnly,
        timeouts,
        transferStarts: () => (role = "generator"),
        amServer: true,
        local: false,
        startTime: Date.now(),
        transferLog: req.transferLog,
        // A pushing client's --files-from=:LIST: the list is here, and its names go to the client.
        filesFrom: o.filesFrom !== undefined && o.filesFrom !== "-" ? forwardedListFor(o, s.protocol) : undefined,
      }),
    );
    await output.drained();
    totalSize = result.stats.totalSize;
    return logged(result.exitCode);
  } catch (e) {
    // The client ended the session itself: nothing is left to tell it.
    if (e instanceof RsyncError && (e as { peerExited?: boolean }).peerExited) return logged(e.code);
    // log.c log_exit: the totals go to the log after the failure's own message, before the "rsync error" line.
    const code = await reportToClient(e, output, input, protocol, role, {
      unmultiplexedDropped: req.unmultiplexedDropped,
      beforeErrorLine: () => logTotals(e instanceof RsyncError ? e.code : RERR.CRASHED),
    });
    serverLog?.close();
    return code;
  } finally {
    watchdog.stop();
    terminal.sink = null;
  }
}

/** A server's log on the sending side: one line per file sent, and with %i per other change (log.c log_item, maybe_log_item). */
function sentFilesLog(log: TransferLog, o: Options, s: Session) {
  return (lists: FileLists, stats: TransferStats) => {
    const fmt = new ClientOutput(o, outputConfig(o), lists, stats, s, "push", log.daemon);
    const out = outputConfig(o);
    return (e: ItemEvent) => {
      if (loggedItem(e, log.format, o, out)) log.write(fmt.formatted(log.format, e));
    };
  };
}

/**
 * cleanup.c _exit_cleanup on a server: the error and its "rsync error" line
 * go to the client, then (protocol 31+) MSG_ERROR_EXIT with the code; the
 * client closes the connection when it has taken them in.
 */
export async function reportToClient(
  e: unknown,
  output: Output,
  input: Input,
  protocol: number,
  role: Role,
  opts: { noErrorLine?: boolean; unmultiplexedDropped?: boolean; beforeErrorLine?: () => void } = {},
): Promise<number> {
  const code = e instanceof RsyncError ? e.code : RERR.CRASHED;
  const text = e instanceof RsyncError ? e.message : `rsync: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
  const who = (e instanceof RsyncError && e.role) || role;
  if (!output.multiplexed) {
    // log.c rwrite: a socket daemon's message that cannot go to its client is dropped.
    if (opts.unmultiplexedDropped) {
      opts.beforeErrorLine?.();
      return code;
    }
    // Before multiplexing the only way to the user is our stderr (the remote shell passes it on).
    if (text && !(e instanceof RsyncError && e.quiet)) process.stderr.write(`${text}\n`);
    opts.beforeErrorLine?.();
    process.stderr.write(errorLine(code, who));
    return code;
  }
  // rwrite on a server: errors become messages (MSG_ERROR_XFER before protocol 30, which has no MSG_ERROR for them).
  const tell = (line: string) => output.message(protocol >= 30 ? MSG.ERROR : MSG.ERROR_XFER, Buffer.from(line, "latin1"));
  // One message per line, as upstream's rwrite gets them (a newline inside a message would be escaped by the client).
  if (text && !(e instanceof RsyncError && e.quiet)) for (const line of text.replace(/\n$/, "").split("\n")) tell(`${line}\n`);
  opts.beforeErrorLine?.();
  if (!opts.noErrorLine) tell(errorLine(code, who));
  const peerGone = code === RERR.SOCKETIO || code === RERR.STREAMIO || code === RERR.TIMEOUT;
  if (!peerGone && protocol >= 31) output.messageInt(MSG.ERROR_EXIT, code);
  await output.drained().catch(() => {});
  // Give the client a moment to read what we sent before the pipe closes (upstream sleeps 100 ms).
  await Promise.race([input.closed().catch(() => {}), Bun.sleep(500)]);
  return code;
}

/** The names of a --files-from list a receiving server reads for its client. */
function forwardedListFor(o: Options, protocol: number): Uint8Array[] {
  checkListForwarding(protocol);
  return forwardedNames(o);
}
