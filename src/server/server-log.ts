/**
 * A --server's own --log-file (given through the client's -M/--remote-option,
 * or in the server's argv under a remote shell): options.c opens it as a
 * client's would, with "%i %n%L" as the item format unless --log-file-format
 * says otherwise, and log.c then writes to it what a daemon writes to its
 * log: "building file list" / "receiving file list", every message the
 * server sends its client, one line per item (transfers always, other
 * changes when the format has %i), deletions, and at the end (cleanup.c
 * log_exit) "sent N bytes  received N bytes  total size N".
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
  readonly transferLog: TransferLog;

  private constructor(private readonly file: LogFile, format: string) {
    this.transferLog = { format, write: (line) => file.line(line) };
  }

  /** The log of `o` (none without --log-file, and never in a daemon, whose log is its own); a file that cannot be opened is reported on stderr and skipped. */
  static open(o: Options): ServerLog | null {
    if (!o.logFile || o.daemon) return null;
    try {
      return new ServerLog(LogFile.open(o.logFile, o.insecureLinks), o.logFileFormat ?? "%i %n%L");
    } catch (e) {
      // log.c logfile_open: upstream falls back to syslog; we go without.
      if ((e as { untrusted?: boolean }).untrusted) process.stderr.write(`${UNTRUSTED_LINK_NOTICE}\n`);
      process.stderr.write(`rsync: failed to open log-file ${o.logFile}: ${errText(e)}\nIgnoring "log file" setting.\n`);
      return null;
    }
  }

  /** flist.c send_file_list / recv_file_list: the FLOG line that starts the transfer. */
  listStarts(sending: boolean): void {
    this.file.line(sending ? "building file list" : "receiving file list");
  }

  /** From now on every text message to the client is logged as it goes (log.c rwrite on a server). */
  logMessagesTo(output: Output): void {
    const send = output.message.bind(output);
    output.message = (code, payload) => {
      if (LOGGED_MESSAGES.has(code)) this.file.line(payload);
      send(code, payload);
    };
  }

  /** cleanup.c log_exit: the totals (a receiving side's only after a clean run; they are split between its processes until the end). */
  exit(code: number, sending: boolean, totals: { written: number; read: number; size: number }): void {
    if (code === 0 || sending) this.file.line(`sent ${totals.written} bytes  received ${totals.read} bytes  total size ${totals.size}`);
    this.file.close();
  }
}
