/**
 * A log file as log.c's logit writes one (the daemon's "log file" and the
 * client's --log-file): "YYYY/MM/DD HH:MM:SS [pid] message" lines appended,
 * control characters in the message escaped as "\#ooo" so that a file name
 * cannot forge lines or send escapes to whoever reads the log later.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { checkOperatorPath } from "../fs/operator-path.ts";

type Text = string | Uint8Array;

export class LogFile {
  private constructor(
    readonly file: string,
    private readonly fd: number,
  ) {}

  /**
   * Opens `file` for appending (created 0644 under a umask of at least 022),
   * walking its path as open_no_attacker_symlinks does (unless `insecureLinks`).
   * Throws the open's error (ELOOP with `untrusted` set for a refused symlink).
   */
  static open(file: string, insecureLinks = false): LogFile {
    if (!insecureLinks) checkOperatorPath(file);
    const old = process.umask(process.umask() | 0o022);
    try {
      return new LogFile(file, openSync(file, "a", 0o644));
    } finally {
      process.umask(old);
    }
  }

  /** One message (a trailing newline is its own; one is added when missing). */
  line(text: Text): void {
    const bytes = typeof text === "string" ? Buffer.from(text, "latin1") : Buffer.from(text);
    const last = bytes.length ? bytes[bytes.length - 1]! : 0;
    const end = last === 0x0a || last === 0x0d ? bytes.length - 1 : bytes.length;
    const head = `${timestamp(new Date())} [${process.pid}] `;
    const body = escapeLogText(bytes.subarray(0, end));
    try {
      writeSync(this.fd, Buffer.from(`${head}${body}${end < bytes.length ? String.fromCharCode(last) : "\n"}`, "latin1"));
    } catch {
      // A full disk must not stop the transfer.
    }
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {}
  }
}

/**
 * log.c filtered_fwrite for the log: bytes below space (but tab) and C1
 * controls become "\#ooo", as does a backslash that would otherwise read as
 * such an escape. Returns a latin1 string (one char per byte).
 */
function escapeLogText(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const looksEscaped = b === 0x5c && i < bytes.length - 4 && bytes[i + 1] === 0x23 && isDigit(bytes[i + 2]!) && isDigit(bytes[i + 3]!) && isDigit(bytes[i + 4]!);
    if (looksEscaped || (b !== 0x09 && (b < 0x20 || (b >= 0x80 && b <= 0x9f)))) out += `\\#${b.toString(8).padStart(3, "0")}`;
    else out += String.fromCharCode(b);
  }
  return out;
}

const isDigit = (b: number) => b >= 0x30 && b <= 0x39;

const pad = (n: number) => String(n).padStart(2, "0");

function timestamp(d: Date): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
