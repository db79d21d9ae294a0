/**
 * The client's Reporter: itemized lines, names for -v, deletions, listing
 * lines and the end summary, on stdout as upstream prints them.
 */
import type { Options } from "../cli/options.ts";
import type { FileTable } from "../flist/table.ts";
import type { Session } from "../protocol/setup.ts";
import type { Reporter } from "../roles/reporter.ts";
import type { TransferStats } from "../roles/stats.ts";
import { ClientOutput } from "./output.ts";

export function createReporter(o: Options, t: FileTable, stats: TransferStats, s: Session): Reporter & { summary(start: number): void } {
  return new ClientOutput(o, t, stats, s);
}
