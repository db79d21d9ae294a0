/**
 * The client's top level (main.c start_client): decides from the arguments
 * which transfer this is, and runs it.
 */
import { openClientLog } from "./log-file.ts";
import type { Options } from "../cli/options.ts";
import { RERR, RsyncError, asRole, receiverError, usageError, type Role } from "../errors.ts";
import { validateChecksumChoice } from "../protocol/checksum-choice.ts";
import { compressRequest } from "../compress/choice.ts";
import { checkForHostSpec, type HostSpec } from "../transport/address.ts";
import { localCopy, pullFromRemote } from "./pull.ts";
import { LOCAL_SENDER_FD_ENV, runForkedSendingHalf } from "./local-sender.ts";
import { pushToRemote } from "./push.ts";
import { applyFilesFromImplications, checkFilesFromHost, settleFilesFrom } from "./files-from.ts";
import { settleClientOptions } from "./settle-options.ts";
import { BatchRecorder } from "../batch/batch-file.ts";
import { readBatch } from "../batch/read-batch.ts";
import { checkBatchOptions } from "../batch/batch-options.ts";
import { core } from "../native/index.ts";
import { terminal } from "../output/terminal.ts";
import { waitingDebugLine } from "./exit-debug.ts";

/** How the run ended, and which part of upstream's client would say so ("sender" when the client sends). */
export interface ClientExit {
  code: number;
  role: Role;
  /** Upstream's client exits without its cleanup (a daemon's module list): no --debug=EXIT lines. */
  plainExit?: boolean;
  /** Nothing more to say at the end: a local copy's forked sending half, whose failures reached the receiving half. */
  silent?: boolean;
}

export async function runClient(o: Options): Promise<ClientExit> {
  const startTime = Date.now();
  const args = o.args;
  terminal.quiet = o.quiet > 0;
  terminal.eightBit = o.eightBitOutput;
  terminal.allToStderr = o.msgs2stderr === 1;
  // options.c opens it once the output options are known (-q silences its "Ignoring" line).
  openClientLog(o);
  // The native core failing to load is worth a word under -v (unless it was switched off on purpose).
  if (o.verbose > 0 && core.caps.kind !== "native" && process.env.OC_RSYNC_NATIVE !== "0" && !process.env[LOCAL_SENDER_FD_ENV]) {
    process.stderr.write(`oc-rsync: native core not loaded (${core.caps.reason}); using the TypeScript implementation\n`);
  }
  applyFilesFromImplications(o);
  settleClientOptions(o);
  if (o.checksumChoice) validateChecksumChoice(o.checksumChoice);
  // An unknown --compress-choice fails before connecting, as upstream's option parsing does.
  compressRequest(o);
  if (o.protocol !== undefined && (o.protocol < 27 || o.protocol > 32)) {
    throw new RsyncError(RERR.PROTOCOL, `--protocol must be between 27 and 32 (oc-rsync supports 27 to 32).`);
  }
  checkBatchOptions(o);
  settleFilesFrom(o);
  // A batch reader is a receiving client: its final error line is the generator's, as a pull's is.
  if (o.readBatch) return { code: await asRole("Receiver", readBatch(o, startTime)), role: "generator" };
  // --write-batch: the files are opened (and the stream flags written) before connecting, as main.c does.
  const recorder = o.writeBatch ? new BatchRecorder(o) : undefined;
  const source = args[0] === undefined ? null : checkForHostSpec(args[0], o.port ?? 0);
  if (!source) {
    const last = args[args.length - 1]!;
    const dest = args.length >= 2 ? checkForHostSpec(last, o.port ?? 0) : null;
    checkFilesFromHost(o, dest?.machine ?? null, "sender");
    checkLocalSources(args.length === 1 ? args : args.slice(0, -1), o);
    if (dest) return { code: await pushToRemote({ o, sources: args.slice(0, -1), spec: dest, startTime, recorder }), role: "sender" };
    // A lone local source lists, as does --list-only with a local destination (which is left alone).
    const listing = args.length === 1 || o.listOnly;
    if (listing) {
      o.listOnly = true;
      if (!o.recursive && !o.noDirs) o.dirs = true;
    }
    const sources = args.length === 1 ? args : args.slice(0, -1);
    // main.c: a local copy sends files whole, but not when writing a batch, whose reader may have the old files to
    // build on (settled here for both halves: the forked sending half comes this way too).
    if (!recorder) o.wholeFile ??= true;
    // A local copy's sending half in a process of its own (local-sender.ts): its ending is said by the other half.
    if (process.env[LOCAL_SENDER_FD_ENV]) return { code: await runForkedSendingHalf(o, sources), role: "sender", silent: true };
    const result = await localCopy({ o, sources, dest: listing ? "." : last, listing, startTime, recorder });
    // Upstream's client waits for its forked receiving half; ours is a task of this process.
    waitingDebugLine(o, process.pid);
    // Upstream's client is the sending half of a local copy.
    return { code: result.exitCode, role: "sender" };
  }
  // A lone remote source (or one followed by ":..." names) lists instead of copying.
  const last = args[args.length - 1]!;
  const hasDest = args.length > 1 && !last.startsWith(":");
  // Said by upstream's client as the "Receiver" it is about to be (main.c start_client).
  if (hasDest && checkForHostSpec(last, o.port ?? 0)) throw receiverError(RERR.SYNTAX, "The source and destination cannot both be remote.");
  checkFilesFromHost(o, source.machine, "Receiver");
  const remote = hasDest ? args.slice(0, -1) : args;
  const paths = remote.map((arg, i) => (i === 0 ? source.path : extraSource(arg, source)));
  const result = await pullFromRemote({ o, spec: source, paths, dest: hasDest ? last : undefined, startTime, recorder });
  // With an empty list upstream's client ends before it forks, still the "Receiver".
  return { code: result.exitCode, role: result.emptyList ? "Receiver" : "generator", plainExit: result.listedModules };
}

/**
 * main.c start_client: with a local first source, every source must be
 * local and none empty (the sending client says so, before connecting).
 */
function checkLocalSources(sources: string[], o: Options): void {
  for (const [i, arg] of sources.entries()) {
    const e = arg === "" ? usageError("Empty source arg specified.") : i > 0 && checkForHostSpec(arg, o.port ?? 0) ? usageError(`Unexpected remote arg: ${arg}`) : null;
    if (!e) continue;
    e.role = "sender";
    throw e;
  }
}

/** Extra remote sources must name the same host (or none: ":path") and the same kind of connection. */
function extraSource(arg: string, first: HostSpec): string {
  if (arg.startsWith("::")) return arg.slice(2);
  if (arg.startsWith(":")) return arg.slice(1);
  // The first source's port is the default of the others' (main.c start_client), so a URL without one matches any.
  const spec = checkForHostSpec(arg, first.port);
  if (!spec) {
    throw receiverError(RERR.SYNTAX, `Unexpected local arg: ${arg}\nIf arg is a remote file/dir, prefix it with a colon (:).`);
  }
  if (spec.machine && spec.machine !== first.machine) throw receiverError(RERR.SYNTAX, "All source args must come from the same machine.");
  if (spec.port !== first.port) {
    throw receiverError(RERR.SYNTAX, first.port && spec.port ? "All source args must use the same port number." : "All source args must use the same hostspec format.");
  }
  return spec.path;
}
