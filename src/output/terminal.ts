/**
 * The client's stdout and stderr, as upstream's rwrite() treats them: every
 * message is escaped for the terminal (escape.ts), informational lines are
 * dropped under -q, and a progress line left without its newline gets one
 * before anything else is printed.
 */
import { type Charset, escapeForOutput, localeCharset } from "./escape.ts";

type Text = string | Uint8Array;

/** Strings here carry bytes one per char (names are kept as latin1 strings). */
const bytesOf = (text: Text): Uint8Array => (typeof text === "string" ? Buffer.from(text, "latin1") : text);

/** Where a server's lines go instead of its stdout (which carries the protocol): messages to the client. */
export type TerminalSink = (kind: "info" | "error", text: Uint8Array) => void;

export class Terminal {
  quiet = false;
  /** --stderr=all: informational lines and progress go to stderr too. */
  allToStderr = false;
  /** Set in --server mode; the client escapes what it prints, so text goes to it raw. */
  sink: TerminalSink | null = null;
  /** --log-file: every FINFO/error message is logged too, even under -q (log.c rwrite). */
  log: ((text: Uint8Array) => void) | null = null;
  /** --iconv on a client: how a server's lines (UTF-8) are shown; null: escaped as our own. */
  peerText: ((text: Uint8Array) => Uint8Array) | null = null;
  private charset: Charset | null | undefined;
  private needsNewline = false;

  /** -8: leave high-bit bytes alone. */
  set eightBit(on: boolean) {
    this.charset = on ? null : undefined;
  }

  /** An informational line (FINFO): stdout, silent under -q. `fromPeer`: a server's line (see peerText). */
  info(text: Text, fromPeer = false): void {
    this.log?.(bytesOf(text));
    this.client(text, fromPeer);
  }

  /** A line for the user only (FCLIENT): never logged, silent under -q. */
  client(text: Text, fromPeer = false): void {
    if (this.quiet) return;
    if (this.sink) return this.sink("info", bytesOf(text));
    this.write(this.infoStream(), text, fromPeer);
  }

  /** An error or warning line: stderr, always. */
  error(text: Text, fromPeer = false): void {
    this.log?.(bytesOf(text));
    if (this.sink) return this.sink("error", bytesOf(text));
    this.write(process.stderr, text, fromPeer);
  }

  /** An error line already made fit for the terminal (escaped by its writer): stderr, always. */
  errorShown(text: Uint8Array): void {
    this.log?.(text);
    if (this.sink) return this.sink("error", text);
    if (this.needsNewline) {
      put(process.stderr, "\n");
      this.needsNewline = false;
    }
    put(process.stderr, text);
  }

  /** A progress update: starts with "\r", may end without a newline (the next line supplies it). */
  progress(text: string, finished: boolean): void {
    if (this.quiet || this.sink) return;
    this.needsNewline = false;
    put(this.infoStream(), text);
    this.needsNewline = !finished;
  }

  /**
   * The line just printed ("building file list ... ") waits for its end:
   * anything printed before that starts on a new line (log.c output_needs_newline),
   * and `lineEndFollows` says the end comes right after it.
   */
  openLine(): void {
    if (!this.quiet && !this.sink) this.needsNewline = true;
  }

  lineEndFollows(): void {
    this.needsNewline = false;
  }

  /** Ends a progress line left open, as upstream does before its summary. */
  endLine(): void {
    if (!this.needsNewline) return;
    put(this.infoStream(), "\n");
    this.needsNewline = false;
  }

  private infoStream(): NodeJS.WriteStream {
    return this.allToStderr ? process.stderr : process.stdout;
  }

  private write(stream: NodeJS.WriteStream, text: Text, fromPeer = false): void {
    if (this.needsNewline) {
      put(stream, "\n");
      this.needsNewline = false;
    }
    if (fromPeer && this.peerText) return put(stream, this.peerText(bytesOf(text)));
    if (this.charset === undefined) this.charset = localeCharset();
    put(stream, escapeForOutput(bytesOf(text), this.charset));
  }
}

/** A reader that went away (`| head`) must not crash the transfer: what it would have read is dropped. */
const guarded = new WeakSet<NodeJS.WriteStream>();

function put(stream: NodeJS.WriteStream, data: string | Uint8Array): void {
  if (!guarded.has(stream)) {
    guarded.add(stream);
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") throw e;
    });
  }
  try {
    stream.write(data);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPIPE") throw e;
  }
}

/** One per process, like upstream's stdio. */
export const terminal = new Terminal();
