/**
 * --read-batch=FILE: the receiving side of a transfer, fed by a batch file
 * instead of a sender (main.c do_cmd with read_batch, compat.c
 * setup_protocol reading the header). Our generator runs as usual against
 * the destination; what it would send goes nowhere, except its choices of
 * files, which decide which of the batch's files are applied.
 */
import type { Options } from "../cli/options.ts";
import { outputConfig } from "../cli/output-config.ts";
import { RERR, RsyncError, usageError } from "../errors.ts";
import type { Channel } from "../io/channel.ts";
import { Input } from "../io/input.ts";
import { Output } from "../io/output.ts";
import { streamChannel } from "../io/stream-channel.ts";
import { Cpres, settleCompression } from "../compress/choice.ts";
import { impliedSum } from "../protocol/checksum-choice.ts";
import { CF, type Session, unwantedIncRecurse } from "../protocol/setup.ts";
import { allowIncRecurse } from "../protocol/server-args.ts";
import { receiveTransfer } from "../roles/receive-session.ts";
import { terminal } from "../output/terminal.ts";
import { checkForHostSpec } from "../transport/address.ts";
import { PROTOCOL_VERSION } from "../version.ts";
import { openBatchStream } from "./batch-file.ts";
import { applyStreamFlags } from "./stream-flags.ts";

/** Where the generator's writes go: nowhere (upstream's go to a pipe only its own receiver reads). */
const nowhere: Channel = { start() {}, write: (data) => data.length, onDrain() {}, pause() {}, resume() {}, close() {} };

export async function readBatch(o: Options, startTime: number): Promise<number> {
  // main.c: the batch is opened before the destination is looked at.
  const batch = openBatchStream(o);
  const dest = o.args[o.args.length - 1];
  if (dest === undefined) throw usageError("rsync: --read-batch needs a destination");
  if (checkForHostSpec(dest, o.port ?? 0)) throw usageError("remote destination is not allowed with --read-batch");
  // The batch is the sender's side of the connection: nothing is written back to it.
  const input = new Input(streamChannel(batch, { write: (data) => data.length, onDrain() {}, end() {} }));
  try {
    const session = await readHeader(o, input);
    const result = await receiveTransfer({
      o,
      s: session,
      input,
      output: new Output(nowhere),
      dest,
      listing: false,
      timeouts: { value: 0 },
      transferStarts: () => {},
      amServer: false,
      // Upstream's reader is a receiving client: its lines say "receiving", as a pull's do.
      local: false,
      readBatch: true,
      startTime,
    });
    return result.exitCode;
  } finally {
    batch.destroy();
  }
}

/**
 * The header: the stream flags (which set our options to match), then what
 * setup_protocol would have exchanged: protocol, compat flags, checksum seed.
 * The old-style checksum and compression are implied: a batch is written
 * without negotiating them.
 */
async function readHeader(o: Options, input: Input): Promise<Session> {
  let flags: number;
  let protocol: number;
  let compatFlags = 0;
  let seed: number;
  try {
    flags = await input.read((r) => r.i32());
    protocol = await input.read((r) => r.i32());
    if (protocol >= 30) compatFlags = await input.read((r) => r.varint());
    seed = await input.read((r) => r.i32());
  } catch (e) {
    // As upstream's reader says it (its counters never saw the batch's bytes).
    if (e instanceof RsyncError && e.code === RERR.STREAMIO) throw new RsyncError(RERR.STREAMIO, "rsync: connection unexpectedly closed (0 bytes received so far) [Receiver]");
    throw e;
  }
  const ours = o.protocol ?? PROTOCOL_VERSION;
  if (protocol > ours) throw new RsyncError(RERR.PROTOCOL, `The protocol version in the batch file is too new (${protocol} > ${ours}).`);
  if (protocol < 27) throw new RsyncError(RERR.PROTOCOL, "protocol version mismatch -- is your shell clean?\n(see the rsync manpage for an explanation)");
  const out = outputConfig(o);
  // main.c do_cmd: whether an incremental list may come is settled from the command line, before the batch's flags.
  const incRecurseAllowed = allowIncRecurse(o, false);
  applyStreamFlags(o, flags, protocol, (text) => {
    if (out.info.get("MISC") > 0) terminal.info(`${text}\n`);
  });
  const incRecurse = (compatFlags & CF.INC_RECURSE) !== 0;
  // compat.c: only a recursive receiver may take an incremental list.
  if (incRecurse && !incRecurseAllowed) throw unwantedIncRecurse("batch file");
  const sum = impliedSum(protocol);
  return {
    protocol,
    compatFlags,
    incRecurse,
    safeFlist: (compatFlags & CF.SAFE_FLIST) !== 0 || protocol >= 31,
    varintFlistFlags: (compatFlags & CF.VARINT_FLIST_FLAGS) !== 0,
    id0Names: (compatFlags & CF.ID0_NAMES) !== 0,
    symlinkTimes: (compatFlags & CF.SYMLINK_TIMES) !== 0,
    sums: { xfer: sum, file: sum, seed, properSeedOrder: (compatFlags & CF.CHKSUM_SEED_FIX) !== 0 },
    compression: o.compress > 0 ? settleCompression(Cpres.ZLIB, o.compressLevel) : settleCompression(Cpres.NONE, undefined),
  };
}
