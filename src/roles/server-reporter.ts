/**
 * What a receiving server tells its client (log.c rwrite and log_delete with
 * am_server): text becomes MSG_INFO / MSG_ERROR, deletions MSG_DELETED. Items
 * are not printed here: the generator's item flags reach the client's sender,
 * which prints them.
 */
import type { Output } from "../io/output.ts";
import { MSG } from "../protocol/mux.ts";
import type { ItemEvent, Reporter } from "./reporter.ts";

export class ServerReporter implements Reporter {
  constructor(
    private readonly output: Output,
    private readonly protocol: number,
    /**
     * Lines formatted as a client would print them (our terminal forwards them as MSG_INFO): a deletion
     * before protocol 29, and a --list-only entry (a push with --list-only lists on the receiving side).
     */
    private readonly asText: { deleted(name: Uint8Array, isDir: boolean): void; listEntry(row: number): void },
    /** A daemon's transfer log (or a --server's --log-file): every item and deletion, which it picks from. */
    private readonly transferLog?: { item(e: ItemEvent): void; deleted(name: Uint8Array, isDir: boolean): void },
  ) {}

  item(e: ItemEvent): void {
    this.transferLog?.item(e);
  }

  deleted(name: Uint8Array, isDir: boolean): void {
    this.transferLog?.deleted(name, isDir);
    if (this.protocol < 29) return this.asText.deleted(name, isDir);
    // A directory's name carries its terminating NUL, which is how the client knows to add "/".
    const payload = new Uint8Array(name.length + (isDir ? 1 : 0));
    payload.set(name);
    this.output.messageAhead(MSG.DELETED, payload);
  }

  /** Lines come without their newline, as the Reporter gets them. */
  info(text: string): void {
    this.output.message(MSG.INFO, Buffer.from(`${text}\n`, "latin1"));
  }

  error(text: string, xfer = false): void {
    // A transfer error travels as MSG_ERROR_XFER (the client's exit code becomes 23); so does any error
    // before protocol 30, which has no MSG_ERROR from a server's receiver.
    this.output.message(xfer || this.protocol < 30 ? MSG.ERROR_XFER : MSG.ERROR, Buffer.from(`${text}\n`, "latin1"));
  }

  listEntry(row: number): void {
    this.asText.listEntry(row);
  }
}
