/**
 * --files-from (options.c, flist.c send_file_list with filesfrom_fd): the
 * names to send come from a file, one per line (or NUL-ended with
 * --from0), relative to the one source directory. It implies -R and -d, and
 * -a's -r no longer applies (an explicit -r does).
 */
import { closeSync, openSync, readFileSync } from "node:fs";
import type { Options } from "../cli/options.ts";
import { RERR, RsyncError, usageError, type Role } from "../errors.ts";
import { errText } from "../fs/errors.ts";
import type { ChunkReader } from "../protocol/reader.ts";
import { checkForHostSpec } from "../transport/address.ts";

/** options.c: what --files-from changes in the other options. */
export function applyFilesFromImplications(o: Options): void {
  if (o.filesFrom === undefined) return;
  if (o.recursiveFromArchive) o.recursive = false;
  if (!o.noDirs) o.dirs = true;
  if (!o.noRelative) o.relative = true;
}

/**
 * options.c, a client's: --files-from=[HOST]:PATH names a list the remote
 * side reads (filesfrom_host), and a local list must open now, before
 * anything starts.
 */
export function settleFilesFrom(o: Options): void {
  if (o.filesFrom === undefined || o.filesFrom === "-") return;
  const spec = checkForHostSpec(o.filesFrom, o.port ?? 0);
  if (spec) {
    if (spec.path === "-") throw usageError("rsync: Invalid --files-from remote filename");
    o.filesFrom = spec.path;
    o.filesFromHost = spec.machine;
    return;
  }
  closeSync(openList(o.filesFrom));
}

/**
 * A list read on the receiving side has its names forwarded to the sender.
 * Before protocol 31 they come before the receiving side multiplexes (main.c
 * client_run), which our connections do not do: refused there.
 */
export function checkListForwarding(protocol: number): void {
  if (protocol < 31) throw new RsyncError(RERR.UNSUPPORTED, "rsync: --files-from on the receiving side needs protocol 31 or later in oc-rsync");
}

/**
 * main.c: a remote list must be on the transfer's remote host (`machine`,
 * null for a local copy). Upstream knows its role by then (`role`).
 */
export function checkFilesFromHost(o: Options, machine: string | null, role: Role): void {
  if (o.filesFromHost === undefined) return;
  let message: string | null = null;
  if (machine === null) message = "--files-from cannot be remote when the transfer is local";
  else if (o.filesFromHost && o.filesFromHost !== machine) message = "--files-from hostname is not the same as the transfer hostname";
  if (message === null) return;
  const e = usageError(message);
  e.role = role;
  throw e;
}

/**
 * The names in the list: read_line with comments dropped (a local list),
 * each made safe as sanitize_path(SP_KEEP_DOT_DIRS) makes it: no leading
 * '/', no way above the source directory, "." components kept (they mark
 * where -R's path starts).
 */
export function readFilesFrom(o: Options, sourceCount: number): Uint8Array[] {
  if (sourceCount !== 1) throw usageError("rsync: --files-from takes exactly one source and one destination");
  const content = filesFromContent(o);
  const names: Uint8Array[] = [];
  let start = 0;
  const take = (end: number) => {
    const line = content.subarray(start, end);
    start = end + 1;
    // Empty lines and (reading lines) '#' or ';' comments carry no name.
    if (line.length === 0 || (!o.from0 && (line[0] === 0x23 || line[0] === 0x3b))) return;
    names.push(sanitizeName(line));
  };
  for (let i = 0; i < content.length; i++) {
    const b = content[i];
    if (o.from0 ? b === 0 : b === 0x0a || b === 0x0d) take(i);
  }
  if (start < content.length) take(content.length);
  return names;
}

function filesFromContent(o: Options): Buffer {
  if (o.filesFrom === "-") return readFileSync(0);
  const fd = openList(o.filesFrom!);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The list file, open for reading; upstream's message when it cannot be. */
function openList(file: string): number {
  try {
    return openSync(file, "r");
  } catch (e) {
    throw new RsyncError(RERR.SYNTAX, `rsync: failed to open files-from file ${file}: ${errText(e).replace(/ \(\d+\)$/, "")}`);
  }
}

/**
 * io.c forward_filesfrom_data: a pulling client hands its list to the
 * sending server as NUL-ended names (line ends become NULs, empty names are
 * dropped; comments are not: the server reads them as names), then an empty
 * one.
 */
export function forwardedNames(o: Options): Uint8Array[] {
  const content = filesFromContent(o);
  const names: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= content.length; i++) {
    const end = i === content.length || (o.from0 ? content[i] === 0 : content[i] === 0x0a || content[i] === 0x0d);
    if (!end) continue;
    if (i > start) names.push(new Uint8Array(content.subarray(start, i)));
    start = i + 1;
  }
  return names;
}

/** A sending server's list from its client: NUL-ended names up to an empty one (read_line with RL_EOL_NULLS). */
export function readForwardedName(r: ChunkReader): Uint8Array | null {
  const bytes: number[] = [];
  for (;;) {
    const b = r.u8();
    if (b === 0) return bytes.length === 0 ? null : sanitizeName(Uint8Array.from(bytes));
    if (bytes.length >= MAXPATHLEN) throw new RsyncError(RERR.PROTOCOL, "rsync: files-from name too long from the client");
    bytes.push(b);
  }
}

const MAXPATHLEN = 4096;

/** sanitize_path(dest, p, "", 0, SP_KEEP_DOT_DIRS) for a name relative to the source. */
export function sanitizeName(name: Uint8Array): Uint8Array {
  const parts = Buffer.from(name).toString("latin1").split("/");
  const out: string[] = [];
  parts.forEach((part, i) => {
    if (part === "") return;
    if (part === "..") {
      // Never above where the list starts.
      if (out.length && out[out.length - 1] !== ".") out.pop();
      return;
    }
    if (part === "." && i === parts.length - 1 && out.length) return;
    out.push(part);
  });
  const trailing = name.length > 1 && name[name.length - 1] === 0x2f && out.length > 0;
  const text = out.join("/") + (trailing ? "/" : "");
  return new Uint8Array(Buffer.from(text || ".", "latin1"));
}

/** What a sending client walks: its source arguments, or with --files-from the listed names inside the one source. */
export function sendingArgs(o: Options, sources: string[]): { args: Uint8Array[]; root: string } {
  if (o.filesFrom === undefined) return { args: sources.map((p) => new Uint8Array(Buffer.from(p))), root: "." };
  // A list on the receiving side: its names come over the connection (send-session).
  if (o.filesFromHost !== undefined) {
    if (sources.length !== 1) throw usageError("rsync: --files-from takes exactly one source and one destination");
    return { args: [], root: sources[0]! };
  }
  return { args: readFilesFrom(o, sources.length), root: sources[0]! };
}
