/**
 * The sending half of a local copy (`oc-rsync -a SRC... DEST`), which runs
 * as a server would (sendTransfer) either in this process, over a memory
 * channel to the receiving half, or in a process of its own, as upstream
 * forks its other half (pipe.c local_child).
 *
 * The own process is this program again with the same arguments, told by
 * LOCAL_SENDER_FD_ENV which inherited descriptor is its end of a
 * socketpair. Each process then holds one file list instead of one holding
 * both: a kernel-tree copy peaked at 93-100 MB in its larger process against
 * 110-115 MB in one, for about 0.4 s more of a 3.2 s copy (the data crosses
 * the kernel), still well ahead of upstream's (bench/README.md).
 *
 * Where the halves share more than the protocol, the copy stays in one
 * process (see forkWanted).
 */
import { SOCK_STREAM, spawnSelfJoined } from "../boot/self-joined.ts";
import type { Options } from "../cli/options.ts";
import { DEBUG_WORDS, formatHas, outputConfig } from "../cli/output-config.ts";
import { reportFailure } from "../cli/report.ts";
import { compressRequest } from "../compress/choice.ts";
import { RERR, RsyncError } from "../errors.ts";
import type { FileLists } from "../flist/lists.ts";
import type { Channel } from "../io/channel.ts";
import { Input } from "../io/input.ts";
import { Output } from "../io/output.ts";
import { adoptSocket } from "../io/tcp-channel.ts";
import { clientLog } from "../output/client-log.ts";
import { flistInitDebug } from "../output/debug-line.ts";
import { MSG } from "../protocol/mux.ts";
import { serverArgs } from "../protocol/server-args.ts";
import { allowIncRecurse, checkServerChoices, serverSetupProtocol } from "../protocol/server-setup.ts";
import { readAsSender, sendTransfer } from "../roles/send-session.ts";
import type { TransferStats } from "../roles/stats.ts";
import { PROTOCOL_VERSION } from "../version.ts";
import { sendingArgs } from "./files-from.ts";
import { logOnlyReporter } from "./output.ts";
import { localServerProtoLine, localServerSetupDebug } from "./setup-debug.ts";

/** Set in the sending half's environment: the descriptor of its end of the socketpair. */
export const LOCAL_SENDER_FD_ENV = "OC_RSYNC_LOCAL_SENDER_FD";

/**
 * The sending half's part of a local copy, on its side of the channel:
 * upstream's server setup, then the files. `onPaths` hears of the function
 * that gives each row's path on this side (for the receiving half's %f).
 * A failure goes to the receiving half as a message, then is thrown.
 */
export async function runSendingHalf(o: Options, sources: string[], input: Input, output: Output, onPaths?: (localPath: (row: number) => Uint8Array) => void): Promise<void> {
  const protocol = o.protocol ?? PROTOCOL_VERSION;
  // The capability letters our receiving side would announce to a server ("-e.LETTERS").
  const eArg = serverArgs(o, { amSender: false, protocol, listOnly: 0 }).find((a) => /^-[^-]*e\./.test(a)) ?? "";
  const clientInfo = eArg.slice(eArg.indexOf("e.") + 2);
  try {
    localServerProtoLine(o, protocol);
    const s = await serverSetupProtocol(input, output, {
      protocol,
      clientInfo,
      allowIncRecurse: allowIncRecurse({ recursive: o.recursive, amSender: true, clientInfo, needsWholeList: false }),
      checksumChoice: o.checksumChoice,
      checksumSeed: o.checksumSeed,
      compress: compressRequest(o),
      // Upstream's other half has the client's levels; not multiplexed yet, it says so on stderr.
      debug: localServerSetupDebug(o),
    });
    // Upstream's other half (a server that parsed no options of its own: pipe.c local_child) checks an explicit
    // choice against its part of the environment's lists once its setup is done (its seed sent), and ends there.
    try {
      checkServerChoices(o, protocol);
    } catch (e) {
      reportFailure(e, "Receiver");
      throw e instanceof RsyncError ? new RsyncError(e.code, "", true) : e;
    }
    flistInitDebug(outputConfig(o).debug.get("FLIST"), true);
    output.startMultiplex();
    readAsSender(input, s, true, true);
    if (protocol >= 30 || o.removeSourceFiles) input.startMultiplex();
    // Upstream's log file is written by the sending half of a local copy; its paths are what the items show as %f.
    const report = (lists: FileLists, stats: TransferStats, localPath: (row: number) => Uint8Array) => {
      onPaths?.(localPath);
      return clientLog.active ? logOnlyReporter(o, s, lists, stats) : undefined;
    };
    await sendTransfer({ o, s, input, output, ...sendingArgs(o, sources), amServer: true, local: true, report });
  } catch (e) {
    // The receiving side hears about it as upstream's client would from its server.
    if (e instanceof RsyncError && e.message && output.multiplexed) output.message(MSG.ERROR, Buffer.from(`${e.message}\n`, "latin1"));
    await output.drained().catch(() => {});
    throw e;
  }
}

/**
 * Whether this copy's sending half may run in a process of its own: not
 * where the halves share more than the protocol in this program, which is
 * where the receiving half shows the sending half's paths (%f), a --log-file
 * (written by the sending half), a batch being written, --files-from=-,
 * --iconv (each half's own exit lines), --copy-as, --stop-at/--stop-after
 * (one watchdog for both), any --debug output (its lines interleave with
 * the other half's in one order). A listing forks too: its two halves
 * hold a file list each, as a copy's do. OC_RSYNC_LOCAL_FORK=0 keeps every
 * copy in one process.
 */
export function forkWanted(o: Options, writingBatch: boolean): boolean {
  if (process.env.OC_RSYNC_LOCAL_FORK === "0" || process.platform !== "linux") return false;
  if (writingBatch) return false;
  if (o.logFile || o.filesFrom === "-" || o.copyAs !== undefined || o.stopAt) return false;
  if (o.iconv || (o.iconv === undefined && process.env.RSYNC_ICONV)) return false;
  const out = outputConfig(o);
  if (formatHas(out.stdoutFormat, "f")) return false;
  return DEBUG_WORDS.every((word) => out.debug.get(word) === 0);
}

/**
 * Starts the sending half: its end of the channel here, and its exit (a
 * failure's code thrown, already reported). Throws when the process cannot
 * be started (the caller then runs the half itself).
 */
export async function forkSendingHalf(): Promise<{ channel: Channel; exited: Promise<void> }> {
  const { child, fd } = spawnSelfJoined(process.argv.slice(2), { type: SOCK_STREAM, fdEnv: LOCAL_SENDER_FD_ENV, env: process.env, stdio: "inherit" });
  const channel = await adoptSocket(fd);
  const exited = child.exited.then((code) => {
    if (child.signalCode) throw new RsyncError(RERR.TERMINATED, "", true);
    if (code !== 0) throw new RsyncError(code, "", true);
  });
  return { channel, exited };
}

/** This process is a local copy's sending half (LOCAL_SENDER_FD_ENV): runs it and answers its exit code, having said nothing itself. */
export async function runForkedSendingHalf(o: Options, sources: string[]): Promise<number> {
  const channel = await adoptSocket(Number(process.env[LOCAL_SENDER_FD_ENV]));
  const input = new Input(channel);
  const output = new Output(channel, input);
  output.limitBandwidth(o.bwlimit);
  try {
    await runSendingHalf(o, sources, input, output);
    await output.drained();
    return 0;
  } catch (e) {
    // Said to the receiving half already (or the connection is gone, and that half says so).
    return e instanceof RsyncError ? e.code : RERR.STREAMIO;
  } finally {
    channel.close();
  }
}
