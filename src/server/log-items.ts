/**
 * What a server writes to its log about items (log.c log_item,
 * maybe_log_item and log_delete with am_server): a daemon's transfer log
 * and a --server's --log-file alike. Transfers are logged; other items only
 * when the log's format has %i and the item is worth showing; nothing in a
 * dry run.
 */
import type { Options } from "../cli/options.ts";
import { formatHas, type OutputConfig } from "../cli/output-config.ts";
import { ITEM, SIGNIFICANT_ITEM_FLAGS } from "../roles/attrs.ts";
import type { ItemEvent } from "../roles/reporter.ts";

export function loggedItem(e: ItemEvent, format: string, o: Options, out: OutputConfig): boolean {
  // A dry run's items are FCLIENT lines: the user's only.
  if (o.dryRun) return false;
  if (e.iflags & ITEM.TRANSFER) return true;
  // maybe_log_item: a server itemizes for its log only when the log's format has %i (logfile_format_has_i).
  if (!formatHas(format, "i")) return false;
  const significant = (e.iflags & SIGNIFICANT_ITEM_FLAGS) !== 0;
  return significant || (e.xname?.length ?? 0) > 0 || out.formatHasI > 1 || (out.info.get("NAME") >= 2 && out.formatHasI > 0);
}

/** log_delete: the item format when it has %o or %i, else "deleting %n"; null in a dry run (nothing is logged). */
export function deletionFormat(format: string, o: Options): string | null {
  if (o.dryRun || format === "") return null;
  return formatHas(format, "i") || formatHas(format, "o") ? format : "deleting %n";
}
