/**
 * The daemon's log (log.c logit): "YYYY/MM/DD HH:MM:SS [pid] message" lines
 * appended to the log file. Without one upstream uses syslog; we keep quiet.
 */
import { appendFileSync } from "node:fs";

export class DaemonLog {
  constructor(private readonly file: string | null) {}

  line(text: string): void {
    if (!this.file) return;
    try {
      appendFileSync(this.file, `${timestamp(new Date())} [${process.pid}] ${text.replace(/\n$/, "")}\n`);
    } catch {
      // A log that cannot be written must not stop a transfer (upstream falls back to syslog).
    }
  }
}

const pad = (n: number) => String(n).padStart(2, "0");

function timestamp(d: Date): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
