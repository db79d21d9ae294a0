/**
 * A push: `oc-rsync [OPTS] SRC... rsync://host/mod/path` or `host:path`
 * (main.c client_run with am_sender). We build and send the file lists and
 * answer the far generator's requests; the far side reports deletions, and
 * we print items from the flags its generator sends with each request.
 */
import { flistInitDebug } from "../output/debug-line.ts";
import { checkXattrProtocol } from "../flist/xattrs.ts";
import type { Options } from "../cli/options.ts";
import { outputConfig } from "../cli/output-config.ts";
import { asRole, type Role } from "../errors.ts";
import { allowIncRecurse } from "../protocol/server-args.ts";
import { Input } from "../io/input.ts";
import { Output } from "../io/output.ts";
import { IoWatchdog } from "../io/watchdog.ts";
import { ListHeader } from "../output/list-header.ts";
import { clientSetupProtocol } from "../protocol/setup.ts";
import { checkListForwarding, sendingArgs } from "./files-from.ts";
import { compressRequest } from "../compress/choice.ts";
import { finalCode } from "../roles/receive-session.ts";
import { readAsSender, sendTransfer } from "../roles/send-session.ts";
import type { HostSpec } from "../transport/address.ts";
import { connectToRemote, raisedByShell } from "./connection.ts";
import { listenForMessages, newMessageState } from "./messages.ts";
import { ClientOutput } from "./output.ts";
import { waitingDebugLine } from "./exit-debug.ts";
import { setupDebug } from "./setup-debug.ts";
import type { BatchRecorder } from "../batch/batch-file.ts";

export interface PushRequest {
  o: Options;
  sources: string[];
  /** The destination: its path part is "module/path" for a daemon. */
  spec: HostSpec;
  startTime: number;
  /** --write-batch: what we send is recorded. */
  recorder?: BatchRecorder;
}

export async function pushToRemote(req: PushRequest): Promise<number> {
  const o = req.o;
  const timeouts = { value: o.timeout };
  const conn = await connectToRemote({ o, spec: req.spec, paths: [req.spec.path], amSender: true, listOnly: o.listOnly ? 2 : 0 });
  const input = new Input(conn.channel);
  const output = new Output(conn.channel, input);
  output.limitBandwidth(o.bwlimit);
  const role: Role = "sender";
  const watchdog = new IoWatchdog(input, output, () => timeouts.value, () => role, o.stopAt);
  watchdog.start();
  let code: number;
  try {
    const protocol = await asRole(role, conn.start(input, output));
    if (protocol === null) return 0;
    const s = await asRole(role, clientSetupProtocol(input, output, { protocol, checksumChoice: o.checksumChoice, compress: compressRequest(o), batch: !!req.recorder, checkProtocol: (p) => checkXattrProtocol(o, p, false), debug: setupDebug(o), incRecurseAllowed: allowIncRecurse(o, true) }));
    flistInitDebug(outputConfig(o).debug.get("FLIST"), false);
    req.recorder?.start(s);
    const setupRead = input.bytesReceived;
    const setupWritten = output.bytesSent;
    if (s.protocol >= 30) output.startMultiplex();
    // Listening first: what the server said right after setup is already buffered, and comes out as multiplexing starts.
    let reporter: ClientOutput | null = null;
    const state = newMessageState(timeouts, { noSend() {}, deleted: (name, isDir) => reporter?.deleted(name, isDir) }, outputConfig(o).info.get("MISC"));
    listenForMessages(input, output, state, s.protocol);
    readAsSender(input, s, false, false);
    input.startMultiplex();

    if (o.filesFromHost !== undefined) checkListForwarding(s.protocol);
    const out = outputConfig(o);
    const header = new ListHeader(out, s.incRecurse, o.recursive || o.dirs, true);
    header.start();

    const sent = await asRole(
      role,
      sendTransfer({
        o,
        s,
        input,
        output,
        ...sendingArgs(o, req.sources),
        amServer: false,
        recorder: req.recorder,
        listSent: (files) => header.done(files),
        report: (lists, stats) => {
          const r = new ClientOutput(o, out, lists, stats, s, "push");
          reporter = r;
          return (e) => r.item(e);
        },
      }),
    );
    // Upstream counts from the end of setup_protocol (its reads and writes before that bypass the counters).
    sent.stats.totalRead -= setupRead;
    sent.stats.totalWritten -= setupWritten;
    (reporter as ClientOutput | null)?.summary(req.startTime);
    if (conn.pid !== undefined) waitingDebugLine(o, conn.pid);
    await output.drained();
    state.ioError |= sent.ioError;
    if (sent.hadTransferError) state.hadTransferError = true;
    code = finalCode(state, 0);
  } catch (e) {
    throw await raisedByShell(e, conn);
  } finally {
    watchdog.stop();
    conn.channel.close();
  }
  return Math.max(code, await conn.exited());
}
