/**
 * The -v lines around the first file list (flist.c start_filelist_progress,
 * finish_filelist_progress and the incremental notice): "sending (or
 * receiving) incremental file list", or "building (receiving) file list ..."
 * then "done" or, at -vv, "N files to consider".
 */
import type { OutputConfig } from "../cli/output-config.ts";
import { clientLog } from "./client-log.ts";
import { terminal } from "./terminal.ts";

export class ListHeader {
  private readonly level: number;
  private readonly progress: boolean;

  /**
   * `sending`: the side that builds the list says so (a push, and a local
   * copy, whose client upstream makes the sender); `listsFiles`: -r, -d or
   * a listing, without which no progress is shown.
   */
  constructor(
    out: OutputConfig,
    private readonly incRecurse: boolean,
    listsFiles: boolean,
    private readonly sending: boolean,
  ) {
    this.level = out.quiet ? 0 : out.info.get("FLIST");
    this.progress = this.level > 0 && !incRecurse && listsFiles;
  }

  /** The user's lines (FCLIENT); the log file gets its own (FLOG). */
  start(): void {
    clientLog.line(this.sending ? "building file list" : "receiving file list");
    if (this.level > 0 && this.incRecurse) terminal.client(this.sending ? "sending incremental file list\n" : "receiving incremental file list\n");
    else if (this.progress) {
      terminal.client(this.sending ? "building file list ... " : "receiving file list ... ");
      terminal.openLine();
    }
  }

  /** FINFO: in the log too. */
  done(files: number): void {
    if (!this.progress) return;
    terminal.lineEndFollows();
    terminal.info(this.level > 1 ? `${files} file${files === 1 ? " " : "s "}to consider\n` : "done\n");
  }
}
