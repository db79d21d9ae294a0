/**
 * setup_protocol (compat.c), client side: compat flags, checksum (and later
 * compression) name negotiation, checksum seed. Everything here is raw, not
 * multiplexed.
 */
import { RERR, RsyncError, protocolError } from "../errors.ts";
import type { Input } from "../io/input.ts";
import type { Output } from "../io/output.ts";
import { Cpres, compressByName, compressName, offeredCompressList, settleCompression, type Compression, type CompressRequest } from "../compress/choice.ts";
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
  checksumList: string[];
  compress: CompressRequest;
  /** The compression names to offer instead of our usual list. */
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
  const compressList = o.compressList ?? offeredCompressList(o.amServer);
  // compat.c send_negotiate_str / recv_negotiate_str (--debug=NSTR2, a server's NSTR3): each list as sent and as read.
  const [us, peer, here] = o.amServer ? ["Server", "Client", "server"] : ["Client", "Server", "client"];
  const level = o.debug?.nstr ?? 0;
  const listsShown = level >= (o.amServer ? 3 : 2);
  const choiceShown = level >= (o.amServer ? 3 : 1);
  const listLine = (whose: string, what: string, list: string) => {
    if (listsShown) o.debug!.say(`${whose} ${what} list (on ${here}): ${list}`);
  };
  if (pickSums) listLine(us, "checksum", o.checksumList.join(" "));
  if (pickCompress) listLine(us, "compress", compressList.join(" "));
  if (o.negotiate) {
    if (pickSums) output.data.vstring(Buffer.from(o.checksumList.join(" ")));
    if (pickCompress) output.data.vstring(Buffer.from(compressList.join(" ")));
    output.flush();
  }
  const readChoice = async (ours: string[], what: string): Promise<string> => {
    const list = Buffer.from(await input.read((r) => r.vstring(MAX_NSTR))).toString("latin1");
    listLine(peer, what, list);
    const offered = new Set(list.toLowerCase().split(/\s+/).filter(Boolean));
    const name = ours.find((n) => offered.has(n));
    if (name) return name;
    const [server, client] = o.amServer ? [ours.join(" "), list] : [list, ours.join(" ")];
    throw new RsyncError(RERR.UNSUPPORTED, `Failed to negotiate a ${what} choice.\nrsync: Server list: ${server}\nrsync: Client list: ${client}`);
  };

  let sums: { xfer: SumKind; file: SumKind };
  if (!pickSums) sums = explicitSums(o.checksumChoice!, o.protocol);
  else if (!o.negotiate) {
    sums = { xfer: impliedSum(o.protocol), file: impliedSum(o.protocol) };
    // Without negotiation upstream reads the protocol's implied name as the server's list.
    listLine(peer, "checksum", sums.xfer.name);
  } else {
    const kind = sumByName(await readChoice(o.checksumList, "checksum"), o.protocol);
    sums = { xfer: kind, file: kind };
  }

  let alg = Cpres.NONE;
  if (o.compress.choice !== null) alg = o.compress.choice;
  else if (pickCompress) {
    if (o.negotiate) alg = compressByName(await readChoice(compressList, "compress"));
    else {
      alg = Cpres.ZLIB;
      listLine(peer, "compress", "zlib");
    }
  }
  const compression = settleCompression(alg, o.compress.level);
  // checksum.c parse_checksum_choice, compat.c parse_compress_choice (final call, --debug=NSTR).
  if (choiceShown) {
    const negotiated = (pick: boolean) => (pick && o.negotiate ? " negotiated" : "");
    o.debug!.say(`${us}${negotiated(pickSums)} checksum: ${sums.xfer.name}`);
    if (compression.alg !== Cpres.NONE || o.compress.level !== undefined) {
      o.debug!.say(`${us}${negotiated(pickCompress)} compress: ${compressName(compression.alg)} (level ${compression.level})`);
    }
  }
  return { ...sums, compression };
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
  const negotiate = (compatFlags & CF.VARINT_FLIST_FLAGS) !== 0;
  const properSeedOrder = (compatFlags & CF.CHKSUM_SEED_FIX) !== 0;

  const { xfer, file, compression } = await negotiateStrings(input, output, {
    protocol,
    negotiate,
    amServer: false,
    checksumChoice: req.checksumChoice,
    checksumList: req.batch ? [protocol >= 30 ? "md5" : "md4"] : CLIENT_CHECKSUM_LIST,
    compress: req.compress,
    compressList: req.batch ? ["zlib"] : undefined,
    debug: req.debug,
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
    compression,
  };
}
