/**
 * The daemon's log (log.c logit): lines appended to its "log file" through
 * the shared writer (output/log-file.ts). Without one upstream uses syslog;
 * we keep quiet.
 */
import { LogFile } from "../output/log-file.ts";

export class DaemonLog {
  /** Opened once, before any chroot or change of user, as upstream keeps its log open. */
  private readonly log: LogFile | null;

  constructor(readonly file: string | null) {
    let log: LogFile | null = null;
    if (file) {
      try {
        log = LogFile.open(file);
      } catch {
        // A log that cannot be opened must not stop the daemon (upstream falls back to syslog).
      }
    }
    this.log = log;
  }

  line(text: string): void {
    this.log?.line(text);
  }
}
