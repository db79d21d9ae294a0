/**
 * The batch options' rules (options.c): what cannot go together, what
 * --dry-run does to a batch being written, and what a server makes of them.
 */
import type { Options } from "../cli/options.ts";
import { usageError } from "../errors.ts";
import { checkBatchName } from "./batch-file.ts";

/** options.c: the combinations upstream refuses, and what --dry-run does to --write-batch. */
export function checkBatchOptions(o: Options): void {
  if (o.batchName === undefined) return;
  if (o.writeBatch && o.readBatch) throw usageError("rsync: --write-batch and --read-batch can not be used together");
  // A dry run writes no batch (it would hold no data).
  if (o.writeBatch && o.dryRun) o.writeBatch = 0;
  if (o.readBatch && o.filesFrom !== undefined) throw usageError("rsync: --read-batch cannot be used with --files-from");
  if (o.readBatch && o.removeSourceFiles) throw usageError(`rsync: --read-batch cannot be used with --remove-${o.removeSourceFiles === 2 ? "sent" : "source"}-files`);
  checkBatchName(o.batchName);
  // main.c: nothing changes here, but files are still asked for (unlike -n, whose requests get no data).
  if (o.writeBatch < 0) o.dryRun = true;
}

/**
 * options.c for a server: --write-batch and --read-batch are ignored (said
 * to the client), --only-write-batch makes the receiving side change nothing
 * and expect no file data (its client's sender writes that to its batch).
 */
export function serverBatchOptions(o: Options, say: (text: string) => void): void {
  if (o.writeBatch > 0 || o.readBatch) {
    say(`ignoring --${o.writeBatch ? "write" : "read"}-batch option sent to server`);
    o.writeBatch = 0;
    o.readBatch = false;
    o.batchName = undefined;
  }
  if (o.writeBatch < 0) o.dryRun = true;
}
