/**
 * What a server writes to its log besides the items (log.c with am_daemon or
 * logfile_name): "building file list" / "receiving file list", every message
 * it sends its client, and at the end (cleanup.c log_exit) "sent N bytes
 * received N bytes  total size N". A daemon writes these to its "log file";
 * a --server to the --log-file given it through the client's -M (or in its
 * argv under a remote shell), which options.c opens as a client's would, with
 * "%i %n%L" as the item format unless --log-file-format says otherwise.
 */
import type { Options } from "../cli/options.ts";
import { errText } from "../fs/errors.ts";
import { UNTRUSTED_LINK_NOTICE } from "../fs/operator-path.ts";
import type { Output } from "../io/output.ts";
import { LogFile } from "../output/log-file.ts";
import { MSG } from "../protocol/mux.ts";
import type { TransferLog } from "./server-main.ts";

/** The messages log.c's rwrite also logs: everything but FCLIENT (which a server sends as MSG_INFO too). */
const LOGGED_MESSAGES = new Set<number>([MSG.INFO, MSG.ERROR, MSG.ERROR_XFER, MSG.WARNING]);

export class ServerLog {
  /** `line` writes one log line (latin1, one char per byte); `close` ends the log after the totals. */
  constructor(
    private readonly line: (text: string) => void,
    /** The log ends (after the totals, and the error line when there is one). */
    readonly close: () => void = () => {},
  ) {}

  /**
   * A --server's --log-file (none without --log-file, and never in a daemon,
   * whose log is its own), with the transfer log of its items; a file that
   * cannot be opened is reported on stderr and skipped.
   */
  static open(o: Options): { log: ServerLog; items: TransferLog } | null {
    if (!o.logFile || o.daemon) return null;
    let file: LogFile;
    try {
      file = LogFile.open(o.logFile, o.insecureLinks);
    } catch (e) {
      // log.c logfile_open: upstream falls back to syslog; we go without.
      if ((e as { untrusted?: boolean }).untrusted) process.stderr.write(`${UNTRUSTED_LINK_NOTICE}\n`);
      process.stderr.write(`rsync: [server] failed to open log-file ${o.logFile}: ${errText(e)}\nIgnoring "log file" setting.\n`);
      return null;
    }
    const write = (text: string) => file.line(text);
    return { log: new ServerLog(write, () => file.close()), items: { format: o.logFileFormat ?? "%i %n%L", write } };
  }

  /** flist.c send_file_list / recv_file_list: the FLOG line that starts the transfer. */
  listStarts(sending: boolean): void {
    this.line(sending ? "building file list" : "receiving file list");
  }

  /** From now on every text message to the client is logged as it goes (log.c rwrite on a server). */
  logMessagesTo(output: Output): void {
    const send = output.message.bind(output);
    output.message = (code, payload) => {
      if (LOGGED_MESSAGES.has(code)) this.line(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("latin1"));
      send(code, payload);
    };
  }

  /** cleanup.c log_exit: the totals (a receiving side's only after a clean run; they are split between its processes until the end). */
  totals(code: number, sending: boolean, totals: { written: number; read: number; size: number }): void {
    if (code === 0 || sending) this.line(`sent ${totals.written} bytes  received ${totals.read} bytes  total size ${totals.size}`);
  }
}
