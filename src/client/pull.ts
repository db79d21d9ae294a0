/**
 * A pull from an rsync daemon: `oc-rsync [OPTS] rsync://host/mod/path DEST`
 * (main.c start_socket_client, client_run, do_recv). The client plays the
 * receiving side: the generator and the receiver run as two tasks of this
 * process.
 */
import type { Options } from "../cli/options.ts";
import { RERR, RsyncError, asRole, type Role } from "../errors.ts";
import { IoWatchdog } from "../io/watchdog.ts";
import { FlistDecoder, IOERR_DEL_LIMIT, IOERR_GENERAL, IOERR_VANISHED } from "../flist/decode.ts";
import { FileLists, ListReceiver, type ListReceiveOptions } from "../flist/lists.ts";
import { DestFs } from "../fs/dest-fs.ts";
import { Input } from "../io/input.ts";
import { Output } from "../io/output.ts";
import { connectTcp } from "../io/tcp-channel.ts";
import type { Channel } from "../io/channel.ts";
import { NDX_DONE, NDX_FLIST_EOF, NDX_FLIST_OFFSET, NdxDecoder, NdxEncoder } from "../protocol/ndx.ts";
import { serverArgs } from "../protocol/server-args.ts";
import { clientSetupProtocol, type Session } from "../protocol/setup.ts";
import { allowIncRecurse, serverSetupProtocol } from "../protocol/server-setup.ts";
import { MSG } from "../protocol/mux.ts";
import { memoryChannelPair } from "../io/memory-channel.ts";
import { servePull } from "../server/serve-pull.ts";
import { Generator } from "../roles/generator.ts";
import { IdMapper } from "../roles/id-map.ts";
import { Receiver } from "../roles/receiver.ts";
import { emptyStats, type TransferStats } from "../roles/stats.ts";
import type { ReceivingSide } from "../roles/context.ts";
import { daemonHandshake } from "../transport/daemon-client.ts";
import { DEFAULT_RSYNC_PORT, splitUser, type HostSpec } from "../transport/address.ts";
import { PROTOCOL_VERSION } from "../version.ts";
import { outputConfig } from "../cli/output-config.ts";
import { errorLine } from "../cli/report.ts";
import { handleServerMessage, type MessageState } from "./messages.ts";
import { resolveLocalName, type LocalDest } from "./local-name.ts";
import { ClientOutput } from "./output.ts";
import { flistWireOptions } from "../flist/wire-options.ts";
import { terminal } from "../output/terminal.ts";
import { requestedNames } from "./requested.ts";
import { Signal } from "./signal.ts";

export interface PullResult {
  exitCode: number;
  stats: TransferStats;
}

export interface PullRequest {
  o: Options;
  spec: HostSpec;
  /** Remote paths ("module/path"), the first one from `spec`. */
  paths: string[];
  /** Local destination, or undefined for a listing. */
  dest: string | undefined;
  startTime: number;
  /** A local copy: the sending side is ours, in this process, and its totals are what "sent" means. */
  local?: boolean;
}

async function connect(o: Options, host: string, port: number): Promise<Channel> {
  // -vv turns on upstream's --debug=connect.
  if (o.verbose > 1) terminal.info(Buffer.from(`opening tcp connection to ${host} port ${port}\n`));
  const connecting = connectTcp(host, port);
  if (!o.contimeout) return connecting.catch((e) => failConnect(host, port, e));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RsyncError(RERR.CONTIMEOUT, `rsync: failed to connect to ${host} (${host}): Connection timed out (110)`)), o.contimeout * 1000);
  });
  try {
    return await Promise.race([connecting.catch((e) => failConnect(host, port, e)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Socket errors as upstream names them (strerror and errno). */
const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: "Connection refused (111)",
  ETIMEDOUT: "Connection timed out (110)",
  EHOSTUNREACH: "No route to host (113)",
  ENETUNREACH: "Network is unreachable (101)",
  ECONNRESET: "Connection reset by peer (104)",
};

function failConnect(host: string, _port: number, e: unknown): never {
  const code = (e as NodeJS.ErrnoException)?.code ?? "";
  const reason = SOCKET_ERRORS[code] ?? (e instanceof Error ? e.message : String(e));
  const err = new RsyncError(RERR.SOCKETIO, `rsync: [Receiver] failed to connect to ${host} (${host}): ${reason}`);
  err.role = "Receiver";
  throw err;
}

export async function pullFromDaemon(req: PullRequest): Promise<PullResult> {
  const o = req.o;
  // --timeout, which a daemon may lower (MSG_IO_TIMEOUT).
  const timeouts = { value: o.timeout };
  const { user, host } = splitUser(req.spec.machine);
  const port = req.spec.port > 0 ? req.spec.port : DEFAULT_RSYNC_PORT;
  const listOnly = req.dest === undefined ? (o.listOnly ? 2 : 1) : o.listOnly ? 2 : 0;
  if (listOnly) o.listOnly = true;

  const channel = await connect(o, host.replace(/^\[|\]$/g, ""), port);
  const input = new Input(channel);
  const output = new Output(channel);
  // Until the transfer starts, failures (timeouts too) are the "Receiver"'s, as upstream's client names itself before it forks.
  let role: Role = "Receiver";
  const watchdog = new IoWatchdog(input, output, () => timeouts.value, () => role);
  watchdog.start();
  try {
    const protocol = o.protocol ?? PROTOCOL_VERSION;
    const args = serverArgs(o, { amSender: false, protocol, listOnly });
    const outcome = await asRole("Receiver", daemonHandshake(input, output, {
      protocol,
      paths: req.paths,
      serverArgs: args,
      user,
      passwordFile: o.passwordFile,
      showMotd: !o.noMotd,
      showArgs: o.verbose > 1,
    }));
    if (outcome.kind === "listed") return { exitCode: 0, stats: emptyStats() };
    const session = await asRole("Receiver", clientSetupProtocol(input, output, { protocol: outcome.protocol, checksumChoice: o.checksumChoice }));
    const result = await asRole(
      "Receiver",
      runPull(req, session, input, output, listOnly > 0, timeouts, () => (role = "generator")),
    );
    await output.drained();
    return result;
  } finally {
    watchdog.stop();
    // Every way out closes the connection: an open socket would keep the process alive.
    channel.close();
  }
}

/** Everything after setup_protocol: filter list, file lists, generator and receiver, statistics. */
async function runPull(
  req: PullRequest,
  s: Session,
  input: Input,
  output: Output,
  listing: boolean,
  timeouts: { value: number },
  transferStarts: () => void,
): Promise<PullResult> {
  const o = req.o;
  const stats = emptyStats();
  const lists = new FileLists(s.incRecurse, s.protocol);
  const signal = new Signal();
  // The receiving side's shared state, once the file list is in (messages may name files before).
  let x: ReceivingSide | undefined;
  const state: MessageState = {
    ioError: 0,
    hadTransferError: false,
    serverExit: null,
    get timeout() {
      return timeouts.value;
    },
    set timeout(v: number) {
      timeouts.value = v;
    },
    noSend(ndx) {
      const list = lists.listOf(ndx);
      if (list && lists.incRecurse) list.inProgress--;
      if (ndx >= 0) x?.fileDone(ndx, false);
      signal.wake();
    },
  };
  input.setMessageHandler((code, payload) => {
    try {
      handleServerMessage(code, payload, state, output, s.protocol);
    } catch (e) {
      input.fail(e);
    }
  });
  input.startMultiplex();
  if (s.protocol >= 30) output.startMultiplex();

  // The filter list (always sent on a pull; rules come with the filter issue).
  output.data.i32(0);
  output.flush();

  const wire: ListReceiveOptions = {
    ...flistWireOptions(o, s),
    id0Names: s.id0Names,
    idLists: !o.numericIds,
    isRequested: requestedNames(req.paths, o.relative),
  };
  const decoder = new FlistDecoder(lists.table, wire);
  const out = outputConfig(o);
  // flist.c recv_file_list / start_filelist_progress: the header lines of -v.
  const flistInfo = out.quiet ? 0 : out.info.get("FLIST");
  const showListProgress = flistInfo > 0 && !s.incRecurse && (o.recursive || o.dirs || o.listOnly);
  // In a local copy upstream's client is the sending side, and says so.
  if (flistInfo > 0 && s.incRecurse) terminal.info(req.local ? "sending incremental file list\n" : "receiving incremental file list\n");
  else if (showListProgress) terminal.info(req.local ? "building file list ... " : "receiving file list ... ");
  const ndxIn = new NdxDecoder(s.protocol);
  const first = new ListReceiver(lists, decoder, wire, -1);
  await input.loop((r) => !first.step(r));
  state.ioError |= first.ioError;
  if (showListProgress) terminal.info(flistInfo > 1 ? `${first.list.count} file${first.list.count === 1 ? " " : "s "}to consider\n` : "done\n");
  // A single entry: the sender follows it with one more list (or the end), so we know if it was a directory.
  if (lists.incRecurse && first.list.count === 1) {
    const ndx = await input.read((r) => ndxIn.read(r));
    if (ndx === NDX_FLIST_EOF) lists.eof = true;
    else if (ndx <= NDX_FLIST_OFFSET) {
      const extra = new ListReceiver(lists, decoder, wire, NDX_FLIST_OFFSET - ndx);
      await input.loop((r) => !extra.step(r));
    } else throw new RsyncError(RERR.PROTOCOL, `Invalid file index ${ndx} after a single-entry file list`);
  }

  const exit = (code: number) => ({ exitCode: code, stats });
  const reporter = new ClientOutput(o, out, lists, stats, s, req.local ?? false);
  if (first.list.count === 0 && (lists.eof || !lists.incRecurse)) {
    reporter.summary(req.startTime);
    return exit(finalCode(state, 0));
  }

  const dest: LocalDest = listing ? { fs: new DestFs("."), soloName: null, created: new Set() } : resolveLocalName(req.dest ?? ".", lists, o);
  const umask = process.umask(0);
  const ids = new IdMapper(o.numericIds, process.getuid?.() === 0, decoder.names.users, decoder.names.groups, !s.id0Names);
  x = {
    o,
    out,
    s,
    lists,
    t: lists.table,
    dest: dest.fs,
    input,
    output,
    ndxOut: new NdxEncoder(s.protocol),
    ndxIn,
    report: reporter,
    stats,
    ids,
    amRoot: process.getuid?.() === 0,
    umask,
    soloName: dest.soloName,
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
  };
  transferStarts();
  const generator = new Generator(x);
  const receiver = new Receiver(x, decoder, wire, generator.attrs);
  const onSignal = () => {
    receiver.abandonFile();
    terminal.error(errorLine(RERR.SIGNAL, "generator"));
    process.exit(RERR.SIGNAL);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  try {
    await Promise.all([
      asRole("generator", generator.run().then(() => x.ndxOut.write(output.data, NDX_DONE))),
      asRole("receiver", receiver.run()),
    ]);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGHUP", onSignal);
    process.umask(umask);
  }
  reporter.summary(req.startTime);
  return exit(finalCode(state, 0));
}

/** cleanup.c: with no fatal error, the I/O error bits decide (23 beats 24 beats 25). */
function finalCode(state: MessageState, code: number): number {
  if (code) return code;
  if (state.hadTransferError || state.ioError & IOERR_GENERAL) return RERR.PARTIAL;
  if (state.ioError & IOERR_VANISHED) return RERR.VANISHED;
  if (state.ioError & IOERR_DEL_LIMIT) return RERR.DEL_LIMIT;
  return 0;
}

/**
 * A local copy (`oc-rsync -a SRC... DEST`): upstream forks a server for the
 * receiving side and joins the two with a socketpair. We run the same two
 * halves of the protocol in this process over a channel pair: our sending
 * side (servePull) and the receiving side every pull uses. As upstream, a
 * local copy sends files whole unless --no-whole-file is given.
 */
export async function localCopy(req: { o: Options; sources: string[]; dest: string; startTime: number }): Promise<PullResult> {
  const o = req.o;
  o.wholeFile ??= true;
  const protocol = o.protocol ?? PROTOCOL_VERSION;
  const [clientEnd, serverEnd] = memoryChannelPair();
  const cin = new Input(clientEnd);
  const cout = new Output(clientEnd);
  const sin = new Input(serverEnd);
  const sout = new Output(serverEnd);
  // The capability letters our receiving side would announce to a server ("-e.LETTERS").
  const eArg = serverArgs(o, { amSender: false, protocol, listOnly: 0 }).find((a) => /^-[^-]*e\./.test(a)) ?? "";
  const clientInfo = eArg.slice(eArg.indexOf("e.") + 2);
  const serving = (async () => {
    try {
      const s = await serverSetupProtocol(sin, sout, {
        protocol,
        clientInfo,
        allowIncRecurse: allowIncRecurse({ recursive: o.recursive, amSender: true, clientInfo, needsWholeList: false }),
        checksumChoice: o.checksumChoice,
        checksumSeed: 0,
      });
      sout.startMultiplex();
      if (protocol >= 30) sin.startMultiplex();
      await servePull({ o, s, input: sin, output: sout, args: req.sources.map((p) => new Uint8Array(Buffer.from(p))), root: "." });
    } catch (e) {
      // The receiving side hears about it as upstream's client would from its server.
      if (e instanceof RsyncError && e.message && sout.multiplexed) sout.message(MSG.ERROR, Buffer.from(`${e.message}\n`, "latin1"));
      await sout.drained().catch(() => {});
      serverEnd.close();
      throw e;
    }
  })();
  serving.catch(() => {});
  try {
    const s = await clientSetupProtocol(cin, cout, { protocol, checksumChoice: o.checksumChoice });
    const result = await runPull(
      { o, spec: { machine: "", port: 0, path: "" }, paths: ["."], dest: req.dest, startTime: req.startTime, local: true },
      s,
      cin,
      cout,
      false,
      { value: o.timeout },
      () => {},
    );
    await cout.drained();
    await serving.catch((e) => {
      if (!result.exitCode) throw e;
    });
    return result;
  } finally {
    clientEnd.close();
    serverEnd.close();
  }
}
