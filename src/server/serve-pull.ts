/**
 * The sending side of a transfer after setup_protocol (main.c
 * do_server_sender): read the client's filter list, send the file lists
 * (more sub-lists as the generator works through them), answer the
 * generator's requests, then the statistics and the goodbye. A local copy
 * runs it in-process against our own receiving side; a remote shell's
 * `--server --sender` and a daemon's module pull run it against a client.
 */
import type { Options } from "../cli/options.ts";
import { RERR, RsyncError } from "../errors.ts";
import { FlistBuilder } from "../flist/build.ts";
import { FlistEncoder } from "../flist/encode.ts";
import { systemIdNames } from "../flist/id-names.ts";
import { flistWireOptions } from "../flist/wire-options.ts";
import { isLink, isReg } from "../flist/table.ts";
import { FileListSender } from "../flist/send-lists.ts";
import type { Input } from "../io/input.ts";
import type { Output } from "../io/output.ts";
import { MSG } from "../protocol/mux.ts";
import { NdxDecoder, NdxEncoder } from "../protocol/ndx.ts";
import type { Session } from "../protocol/setup.ts";
import { Sender } from "../roles/sender.ts";
import { emptyStats } from "../roles/stats.ts";
import { readFileSync } from "node:fs";

/** Upstream's MIN_FILECNT_LOOKAHEAD: files kept listed ahead of the generator (ten times that while idle). */
const LOOKAHEAD = 1000;
const IDLE_LOOKAHEAD = 10 * LOOKAHEAD;

export interface ServePullRequest {
  o: Options;
  s: Session;
  input: Input;
  output: Output;
  /** The paths to send, relative to `root`. */
  args: Uint8Array[];
  root: string;
}

export async function servePull(req: ServePullRequest): Promise<void> {
  const { o, s, input, output } = req;
  const started = Date.now();
  await readFilterList(input);

  const builder = new FlistBuilder(
    {
      protocol: s.protocol,
      recursive: o.recursive,
      dirs: o.dirs,
      relative: o.relative,
      impliedDirs: o.impliedDirs,
      incRecurse: s.incRecurse,
      preserveLinks: o.links,
      copyLinks: o.copyLinks,
      copyUnsafeLinks: o.copyUnsafeLinks,
      copyDirlinks: o.copyDirlinks,
      oneFileSystem: 0,
      preserveHardLinks: o.hardLinks,
      onMessage: (kind, text) => output.message(kind === "info" ? MSG.INFO : kind === "warning" ? MSG.WARNING : MSG.ERROR, Buffer.from(`${text}\n`, "latin1")),
    },
    req.root,
  );
  const ndxOut = new NdxEncoder(s.protocol);
  const encoder = new FlistEncoder(builder.table, {
    ...flistWireOptions(o, s),
    incRecurse: s.incRecurse,
    numericIds: o.numericIds ? 1 : 0,
    id0Names: s.id0Names,
    names: o.numericIds ? undefined : systemIdNames(),
  });
  const lists = new FileListSender(builder, encoder, ndxOut, {
    protocol: s.protocol,
    incRecurse: s.incRecurse,
    safeFlist: s.safeFlist,
    numericIds: o.numericIds ? 1 : 0,
    preserveHardLinks: o.hardLinks,
  });
  const first = lists.writeFirst(output.data, req.args);
  if (first.ioErrorMessage) output.messageInt(MSG.IO_ERROR, first.ioErrorMessage);
  output.flush();
  const buildMs = Date.now() - started;

  const stats = emptyStats();
  let sender: Sender | null = null;
  sender = new Sender({
    s,
    lists: builder.lists,
    input,
    output,
    ndxIn: new NdxDecoder(s.protocol),
    ndxOut,
    stats,
    ioError: builder.ioError,
    dryRun: o.dryRun,
    readContent: (row) => readFileSync(Buffer.from(builder.localPath(row))),
    displayName: (row) => `"${Buffer.from(builder.localPath(row)).toString("latin1")}"`,
    sendMoreLists: (idle) => {
      if (lists.eof) return;
      const more = lists.writeMore(output.data, idle ? IDLE_LOOKAHEAD : LOOKAHEAD, sender?.finishedFiles ?? 0);
      if (more.ioErrorMessage) output.messageInt(MSG.IO_ERROR, more.ioErrorMessage);
      output.flush();
    },
    warn: (kind, text) => output.message(kind === "warning" ? MSG.WARNING : MSG.ERROR_XFER, Buffer.from(`${text}\n`, "latin1")),
  });
  await sender.run();
  await sender.finishAsServer(totalSize(builder), buildMs, 0);
  await output.drained();
}

/** Regular files and symlinks count their length (stats.total_size). */
function totalSize(b: FlistBuilder): number {
  const t = b.table;
  let total = 0;
  for (const l of b.lists.lists) {
    for (let row = l.ndxStart; row < l.ndxStart + l.count; row++) {
      if (isReg(t.mode[row]!) || isLink(t.mode[row]!)) total += t.size[row]!;
    }
  }
  return total;
}

/** The client's filter rules (exclude.c recv_filter_list): none are supported yet. */
async function readFilterList(input: Input): Promise<void> {
  const len = await input.read((r) => r.i32());
  if (len !== 0) throw new RsyncError(RERR.UNSUPPORTED, "rsync: filter rules are not supported by oc-rsync yet");
}
