/**
 * The daemon's log (log.c logit): "YYYY/MM/DD HH:MM:SS [pid] message" lines
 * appended to the log file. Without one upstream uses syslog; we keep quiet.
 */
import { openSync, writeSync } from "node:fs";

export class DaemonLog {
  /** Opened once, before any chroot or change of user, as upstream keeps its log open. */
  private readonly fd: number | null;

  constructor(readonly file: string | null) {
    let fd: number | null = null;
    if (file) {
      try {
        fd = openSync(file, "a", 0o644);
      } catch {
        // A log that cannot be opened must not stop the daemon (upstream falls back to syslog).
      }
    }
    this.fd = fd;
  }

  line(text: string): void {
    if (this.fd === null) return;
    try {
      writeSync(this.fd, `${timestamp(new Date())} [${process.pid}] ${text.replace(/\n$/, "")}\n`);
    } catch {
      // Nor must a full disk.
    }
  }
}

const pad = (n: number) => String(n).padStart(2, "0");

function timestamp(d: Date): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
