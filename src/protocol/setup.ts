/**
 * setup_protocol (compat.c), client side: compat flags, checksum (and later
 * compression) name negotiation, checksum seed. Everything here is raw, not
 * multiplexed.
 */
import { RERR, RsyncError, protocolError } from "../errors.ts";
import type { Input } from "../io/input.ts";
import type { Output } from "../io/output.ts";
import { COMPRESS_NAME_KIND, Cpres, compressByName, compressName, offeredCompressList, settleCompression, type Compression, type CompressRequest } from "../compress/choice.ts";
import { CHECKSUM_NAME_KIND, explicitSums, impliedSum, offeredChecksumList, sumByName, type SessionSums, type SumKind } from "./checksum-choice.ts";
import { negotiationFailure, pickName, type NameKind } from "./offered-names.ts";

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
  /** The compressed token stream in use (NONE: plain tokens). */
  compression: Compression;
}

export interface ClientSetupRequest {
  protocol: number;
  checksumChoice: string | undefined;
  compress: CompressRequest;
  /** --write-batch: offer only the old-style choices, which a batch reader assumes (compat.c getenv_nstr). */
  batch?: boolean;
  /** What the options need of the protocol, checked as soon as it is known (compat.c setup_protocol: -X needs 30). */
  checkProtocol?: (protocol: number) => void;
  /** --debug=PROTO and NSTR levels, and where their lines go. */
  debug?: SetupDebug;
  /** The version the peer announced, when more than we speak (`protocol` is then ours). */
  remoteProtocol?: number;
  /** Whether our options let an incremental list come (server-args.ts allowIncRecurse); a server setting CF_INC_RECURSE otherwise is refused. */
  incRecurseAllowed?: boolean;
}

/** The client's setup lines: "(Client) Protocol versions" (PROTO), the name lists and choices (NSTR). */
export interface SetupDebug {
  proto: number;
  nstr: number;
  say(line: string): void;
}

/** What one side brings to compat.c negotiate_the_strings. */
export interface NegotiationRequest {
  protocol: number;
  /** The peer announced 'v' (CF_VARINT_FLIST_FLAGS): names are exchanged. */
  negotiate: boolean;
  amServer: boolean;
  checksumChoice: string | undefined;
  /** The checksum names to offer instead of our usual list (or RSYNC_CHECKSUM_LIST's). */
  checksumList?: string[];
  compress: CompressRequest;
  /** The compression names to offer instead of our usual list (or RSYNC_COMPRESS_LIST's). */
  compressList?: string[];
  /** --debug=NSTR lines (a server's need level 3, which -v never gives and a client never forwards). */
  debug?: SetupDebug;
}

export interface Negotiated {
  xfer: SumKind;
  file: SumKind;
  compression: Compression;
}

/**
 * compat.c negotiate_the_strings: a side that has to choose sends its list of
 * checksum names and then of compression names (both before reading, as
 * upstream does), and picks its own favourite that the peer also offers.
 * An explicit choice needs no exchange; without negotiation the protocol
 * implies the checksum and zlib is the compression.
 */
export async function negotiateStrings(input: Input, output: Output, o: NegotiationRequest): Promise<Negotiated> {
  const pickSums = o.checksumChoice === undefined;
  const pickCompress = o.compress.on && o.compress.choice === null;
  const checksumList = o.checksumList ?? offeredChecksumList(o.amServer);
  const compressList = o.compressList ?? offeredCompressList(o.amServer);
  // compat.c send_negotiate_str / recv_negotiate_str (--debug=NSTR2, a server's NSTR3): each list as sent and as read.
  const [us, peer, here] = o.amServer ? ["Server", "Client", "server"] : ["Client", "Server", "client"];
  const level = o.debug?.nstr ?? 0;
  const listsShown = level >= (o.amServer ? 3 : 2);
  const listLine = (whose: string, what: string, list: string) => {
    if (listsShown) o.debug!.say(`${whose} ${what} list (on ${here}): ${list}`);
  };
  if (pickSums) listLine(us, "checksum", checksumList.join(" "));
  if (pickCompress) listLine(us, "compress", compressList.join(" "));
  if (o.negotiate) {
    if (pickSums) output.data.vstring(Buffer.from(checksumList.join(" "), "latin1"));
    if (pickCompress) output.data.vstring(Buffer.from(compressList.join(" "), "latin1"));
    output.flush();
  }
  // compat.c recv_negotiate_str: our favourite of the peer's names (compared as main names, in any case).
  const choose = (kind: NameKind, ours: string[], list: string): string => {
    listLine(peer, kind.what, list);
    const name = pickName(kind, ours, list);
    if (name) return name;
    // A server that negotiated leaves the telling to its client, which has both lists.
    if (o.amServer && o.negotiate) throw new RsyncError(RERR.UNSUPPORTED, "", true);
    throw new RsyncError(RERR.UNSUPPORTED, negotiationFailure(kind, o.amServer, ours, list));
  };
  const readChoice = async (kind: NameKind, ours: string[]): Promise<string> =>
    choose(kind, ours, Buffer.from(await input.read((r) => r.vstring(MAX_NSTR))).toString("latin1"));

  let sums: { xfer: SumKind; file: SumKind };
  if (!pickSums) sums = explicitSums(o.checksumChoice!, o.protocol);
  else if (!o.negotiate) {
    sums = { xfer: impliedSum(o.protocol), file: impliedSum(o.protocol) };
    // Without negotiation upstream takes the protocol's implied name as the peer's list: ours must hold it.
    choose(CHECKSUM_NAME_KIND, checksumList, sums.xfer.name);
  } else {
    const kind = sumByName(await readChoice(CHECKSUM_NAME_KIND, checksumList), o.protocol);
    sums = { xfer: kind, file: kind };
  }

  let alg = Cpres.NONE;
  if (o.compress.choice !== null) alg = o.compress.choice;
  else if (pickCompress) {
    if (o.negotiate) alg = compressByName(await readChoice(COMPRESS_NAME_KIND, compressList));
    else alg = compressByName(choose(COMPRESS_NAME_KIND, compressList, "zlib"));
  }
  const compression = settleCompression(alg, o.compress.level);
  return { ...sums, compression };
}

/**
 * checksum.c parse_checksum_choice, compat.c parse_compress_choice (their
 * final calls, once the seed has gone across; --debug=NSTR, a server's
 * NSTR3): what the session uses, an explicit choice as it was typed.
 */
function showChoices(o: NegotiationRequest, n: Negotiated): void {
  if ((o.debug?.nstr ?? 0) < (o.amServer ? 3 : 1)) return;
  const us = o.amServer ? "Server" : "Client";
  const pickSums = o.checksumChoice === undefined;
  const pickCompress = o.compress.on && o.compress.choice === null;
  const negotiated = (pick: boolean) => (pick && o.negotiate ? " negotiated" : "");
  o.debug!.say(`${us}${negotiated(pickSums)} checksum: ${pickSums ? n.xfer.name : o.checksumChoice}`);
  const { alg, level } = n.compression;
  if (alg !== Cpres.NONE || o.compress.level !== undefined) {
    const name = alg !== Cpres.NONE && o.compress.choice !== null ? (o.compress.typed ?? compressName(alg)) : compressName(alg);
    o.debug!.say(`${us}${negotiated(pickCompress)} compress: ${name} (level ${level})`);
  }
}

/** compat.c setup_protocol's end on either side: the names settled, the seed sent or read, then what was chosen is shown. */
export async function negotiateAndSeed(input: Input, output: Output, o: NegotiationRequest, seed: () => Promise<number>): Promise<Negotiated & { seed: number }> {
  const n = await negotiateStrings(input, output, o);
  const value = await seed();
  showChoices(o, n);
  return { ...n, seed: value };
}

/** compat.c setup_protocol: CF_INC_RECURSE where the receiving side's options did not allow it. */
export function unwantedIncRecurse(from: "connection" | "batch file"): RsyncError {
  return new RsyncError(RERR.SYNTAX, `Incompatible options specified for inc-recursive ${from}.`);
}

export async function clientSetupProtocol(input: Input, output: Output, req: ClientSetupRequest): Promise<Session> {
  const protocol = req.protocol;
  if (protocol < MIN_PEER_PROTOCOL || protocol > MAX_PEER_PROTOCOL) {
    throw protocolError("protocol version mismatch -- is your shell clean?\n(see the rsync manpage for an explanation)");
  }
  if ((req.debug?.proto ?? 0) >= 1) req.debug!.say(`(Client) Protocol versions: remote=${req.remoteProtocol ?? protocol}, negotiated=${protocol}`);
  req.checkProtocol?.(protocol);
  let compatFlags = 0;
  if (protocol >= 30) compatFlags = await input.read((r) => r.varint());
  // compat.c setup_protocol: a server may not make the list incremental where our options need it whole (-m,
  // --delete-before/after, --delay-updates) or said no (--no-i-r); we did not offer "i" then.
  if (compatFlags & CF.INC_RECURSE && req.incRecurseAllowed === false) throw unwantedIncRecurse("connection");
  const negotiate = (compatFlags & CF.VARINT_FLIST_FLAGS) !== 0;
  const properSeedOrder = (compatFlags & CF.CHKSUM_SEED_FIX) !== 0;

  const nego: NegotiationRequest = {
    protocol,
    negotiate,
    amServer: false,
    checksumChoice: req.checksumChoice,
    checksumList: req.batch ? [protocol >= 30 ? "md5" : "md4"] : undefined,
    compress: req.compress,
    compressList: req.batch ? ["zlib"] : undefined,
    debug: req.debug,
  };
  const { xfer, file, compression, seed } = await negotiateAndSeed(input, output, nego, () => input.read((r) => r.i32()));
  return {
    protocol,
    compatFlags,
    incRecurse: (compatFlags & CF.INC_RECURSE) !== 0,
    safeFlist: (compatFlags & CF.SAFE_FLIST) !== 0 || protocol >= 31,
    varintFlistFlags: negotiate,
    id0Names: (compatFlags & CF.ID0_NAMES) !== 0,
    symlinkTimes: (compatFlags & CF.SYMLINK_TIMES) !== 0,
    sums: { xfer, file, seed, properSeedOrder },
    compression,
  };
}
