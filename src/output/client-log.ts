/**
 * The client's --log-file (log.c with logfile_name set outside a daemon):
 * every message the client prints but its FCLIENT ones, upstream's FLOG
 * lines, and one line per item in --log-file-format. One per process, like
 * the terminal it listens to.
 */
import { formatHas } from "../cli/output-config.ts";
import { LogFile } from "./log-file.ts";
import { terminal } from "./terminal.ts";


export class ClientLog {
  private file: LogFile | null = null;
  /** The item format: "%i %n%L" unless --log-file-format says otherwise. */
  format = "";
  formatHasI = false;
  formatHasOorI = false;
  dryRun = false;

  get active(): boolean {
    return this.file !== null;
  }

  /**
   * options.c with --log-file, then log.c logfile_open: a file that cannot be
   * opened is reported and ignored (upstream falls back to syslog).
   */
  open(name: string, format: string | undefined, dryRun: boolean, insecureLinks: boolean, failed: (e: unknown) => void): void {
    this.format = format ?? "%i %n%L";
    this.formatHasI = format === undefined || formatHas(format, "i");
    this.formatHasOorI = this.formatHasI || formatHas(this.format, "o");
    this.dryRun = dryRun;
    try {
      this.file = LogFile.open(name, insecureLinks);
    } catch (e) {
      failed(e);
      terminal.info('Ignoring "log file" setting.\n');
      return;
    }
    terminal.log = (text) => this.file?.line(text);
  }

  /** An FLOG line: the log only. */
  line(text: string): void {
    this.file?.line(text);
  }

  private totals: { line: string; sender: boolean; statsShown: boolean } | null = null;

  /** The run's totals, for the log's last line (written at exit: only then is the exit code known). */
  setTotals(line: string, sender: boolean, statsShown: boolean): void {
    this.totals = { line, sender, statsShown };
  }

  /**
   * cleanup.c/log.c log_exit: the totals when -v's summary did not show them
   * or the run failed, and then only from a sender or a run that went well.
   */
  exit(code: number): void {
    const t = this.totals;
    this.totals = null;
    if (!t || !this.file || (code === 0 && t.statsShown)) return;
    if (code === 0 || t.sender) this.file.line(t.line);
  }
}

export const clientLog = new ClientLog();
