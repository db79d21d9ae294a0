/**
 * setup_protocol (compat.c), client side: compat flags, checksum (and later
 * compression) name negotiation, checksum seed. Everything here is raw, not
 * multiplexed.
 */
import { RERR, RsyncError, protocolError } from "../errors.ts";
import type { Input } from "../io/input.ts";
import type { Output } from "../io/output.ts";
import {
  CLIENT_CHECKSUM_LIST,
  explicitSums,
  impliedSum,
  sumByName,
  type SessionSums,
  type SumKind,
} from "./checksum-choice.ts";

export const CF = {
  INC_RECURSE: 0x001,
  SYMLINK_TIMES: 0x002,
  SYMLINK_ICONV: 0x004,
  SAFE_FLIST: 0x008,
  AVOID_XATTR_OPTIM: 0x010,
  CHKSUM_SEED_FIX: 0x020,
  INPLACE_PARTIAL_DIR: 0x040,
  VARINT_FLIST_FLAGS: 0x080,
  ID0_NAMES: 0x100,
} as const;

/** Upstream accepts peers announcing 20..40; we speak 27..32. */
const MIN_PEER_PROTOCOL = 20;
const MAX_PEER_PROTOCOL = 40;
/** A negotiation string is at most this long (MAX_NSTR_STRLEN). */
const MAX_NSTR = 256;

export interface Session {
  protocol: number;
  compatFlags: number;
  incRecurse: boolean;
  /** The flist end marker may carry an I/O error (CF_SAFE_FLIST or protocol 31+). */
  safeFlist: boolean;
  varintFlistFlags: boolean;
  id0Names: boolean;
  /** The server can set symlink times (itemize output only). */
  symlinkTimes: boolean;
  sums: SessionSums;
}

export interface ClientSetupRequest {
  protocol: number;
  checksumChoice: string | undefined;
}

/**
 * compat.c negotiate_the_strings for checksums: an explicit --checksum-choice
 * needs no exchange; with negotiation each side sends its list and picks its
 * own favourite that the peer offers; otherwise the protocol implies one.
 */
export async function negotiateSums(
  input: Input,
  output: Output,
  o: { protocol: number; checksumChoice: string | undefined; negotiate: boolean; ours: string[]; amServer: boolean },
): Promise<{ xfer: SumKind; file: SumKind }> {
  if (o.checksumChoice !== undefined) return explicitSums(o.checksumChoice, o.protocol);
  if (!o.negotiate) {
    const kind = impliedSum(o.protocol);
    return { xfer: kind, file: kind };
  }
  output.data.vstring(Buffer.from(o.ours.join(" ")));
  output.flush();
  const list = Buffer.from(await input.read((r) => r.vstring(MAX_NSTR))).toString("latin1");
  const offered = new Set(list.split(/\s+/).filter(Boolean));
  const name = o.ours.find((n) => offered.has(n));
  if (!name) {
    const [server, client] = o.amServer ? [o.ours.join(" "), list] : [list, o.ours.join(" ")];
    throw new RsyncError(RERR.UNSUPPORTED, `Failed to negotiate a checksum choice.\nrsync: Server list: ${server}\nrsync: Client list: ${client}`);
  }
  const kind = sumByName(name, o.protocol);
  return { xfer: kind, file: kind };
}

export async function clientSetupProtocol(input: Input, output: Output, req: ClientSetupRequest): Promise<Session> {
  const protocol = req.protocol;
  if (protocol < MIN_PEER_PROTOCOL || protocol > MAX_PEER_PROTOCOL) {
    throw protocolError("protocol version mismatch -- is your shell clean?\n(see the rsync manpage for an explanation)");
  }
  let compatFlags = 0;
  if (protocol >= 30) compatFlags = await input.read((r) => r.varint());
  const negotiate = (compatFlags & CF.VARINT_FLIST_FLAGS) !== 0;
  const properSeedOrder = (compatFlags & CF.CHKSUM_SEED_FIX) !== 0;

  const { xfer, file } = await negotiateSums(input, output, {
    protocol,
    checksumChoice: req.checksumChoice,
    negotiate,
    ours: CLIENT_CHECKSUM_LIST,
    amServer: false,
  });

  const seed = await input.read((r) => r.i32());
  return {
    protocol,
    compatFlags,
    incRecurse: (compatFlags & CF.INC_RECURSE) !== 0,
    safeFlist: (compatFlags & CF.SAFE_FLIST) !== 0 || protocol >= 31,
    varintFlistFlags: negotiate,
    id0Names: (compatFlags & CF.ID0_NAMES) !== 0,
    symlinkTimes: (compatFlags & CF.SYMLINK_TIMES) !== 0,
    sums: { xfer, file, seed, properSeedOrder },
  };
}
