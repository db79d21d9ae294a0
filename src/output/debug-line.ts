/**
 * The roles' --debug lines (upstream's rprintf(FINFO) under DEBUG_GTE): on a
 * client they go to stdout like any informational line; a server's terminal
 * turns them into MSG_INFO for its client, as upstream's rwrite does.
 *
 * Callers read their levels once per session (outputConfig(o).debug.get) and
 * compare an integer before building a line, so a hot path pays one compare.
 */
import { terminal } from "./terminal.ts";

export function debugLine(text: string): void {
  terminal.info(`${text}\n`);
}

/**
 * flist.c init_flist at --debug=flist4, as setup_protocol ends: upstream's
 * own structure sizes (its build's file_struct and extra slot), which it
 * prints as they are; `beforeMultiplex`: a server side, whose line goes to stderr.
 */
export function flistInitDebug(level: number, beforeMultiplex: boolean): void {
  if (level < 4) return;
  const line = "FILE_STRUCT_LEN=24, EXTRA_LEN=4\n";
  if (beforeMultiplex) terminal.error(line);
  else terminal.info(line);
}

/** A name as upstream's %s prints it: its bytes (names are kept as latin1 strings). */
export function shownName(name: Uint8Array): string {
  return Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString("latin1");
}

/** util2.c big_num without separators (rprintf's %s of big_num in debug lines prints digits only). */
export function bigNum(n: number): string {
  return String(n);
}
