/**
 * Opens the client's --log-file (options.c: only with --log-file, and
 * never in a daemon, whose log is its own); --log-file-format alone does
 * nothing, as upstream.
 */
import type { Options } from "../cli/options.ts";
import { errText } from "../fs/errors.ts";
import { UNTRUSTED_LINK_NOTICE } from "../fs/operator-path.ts";
import { clientLog } from "../output/client-log.ts";
import { terminal } from "../output/terminal.ts";

export function openClientLog(o: Options): void {
  if (!o.logFile || o.daemon) return;
  clientLog.open(o.logFile, o.logFileFormat, o.dryRun, o.insecureLinks, (e) => {
    if ((e as { untrusted?: boolean }).untrusted) terminal.error(`${UNTRUSTED_LINK_NOTICE}\n`);
    terminal.error(`rsync: [client] failed to open log-file ${o.logFile}: ${errText(e)}\n`);
  });
}
