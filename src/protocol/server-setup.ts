/**
 * setup_protocol (compat.c), server side: we pick the compat flags from the
 * capability letters the client put after "-e." in its server options, send
 * them, exchange checksum lists when the client negotiates, and send the
 * checksum seed. The client's half is in setup.ts.
 */
import type { Input } from "../io/input.ts";
import type { Output } from "../io/output.ts";
import type { Options } from "../cli/options.ts";
import { RERR, RsyncError } from "../errors.ts";
import { COMPRESS_NAME_KIND, compressByName, compressName, type CompressRequest } from "../compress/choice.ts";
import { CHECKSUM_NAME_KIND, explicitSums } from "./checksum-choice.ts";
import { refusedByEnv } from "./offered-names.ts";
import { CF, negotiateAndSeed, type Session, type SetupDebug } from "./setup.ts";

/** Which capability letter turns on which flag (the server only offers what the client announced). */
const LETTER_FLAGS: [letter: string, flag: number][] = [
  ["f", CF.SAFE_FLIST],
  ["x", CF.AVOID_XATTR_OPTIM],
  ["C", CF.CHKSUM_SEED_FIX],
  ["I", CF.INPLACE_PARTIAL_DIR],
  ["u", CF.ID0_NAMES],
  ["v", CF.VARINT_FLIST_FLAGS],
];

/**
 * The flags a server sends. Symlink times and symlink iconv are always
 * offered, as upstream's Linux build does.
 */
export function serverCompatFlags(clientInfo: string, allowIncRecurse: boolean): number {
  let flags = CF.SYMLINK_TIMES | CF.SYMLINK_ICONV;
  if (allowIncRecurse) flags |= CF.INC_RECURSE;
  for (const [letter, flag] of LETTER_FLAGS) if (clientInfo.includes(letter)) flags |= flag;
  return flags;
}

/**
 * compat.c set_allow_inc_recurse: incremental lists need -r, a client that
 * announced 'i', and (when we receive) no option that needs the whole list first.
 */
export function allowIncRecurse(o: { recursive: boolean; amSender: boolean; clientInfo: string; needsWholeList: boolean }): boolean {
  if (!o.recursive) return false;
  if (!o.amSender && o.needsWholeList) return false;
  return o.clientInfo.includes("i");
}

/**
 * What a server makes of an explicit --checksum-choice or --compress-choice
 * (-zz, --new-compress: zlibx) while it parses its options, before any
 * setup (checksum.c parse_checksum_choice, compat.c parse_compress_choice):
 * the names must be known, and when the server's own RSYNC_CHECKSUM_LIST or
 * RSYNC_COMPRESS_LIST has a part for it, that must hold each name chosen
 * (validate_choice_vs_env; our "md4" is also the old MD4 variants'). Throws
 * upstream's error otherwise, which a server prints on its stderr before it
 * exits (its client sees the connection close).
 */
export function checkServerChoices(o: Options, protocol: number): void {
  if (o.checksumChoice !== undefined) {
    const { xfer, file } = explicitSums(o.checksumChoice, protocol);
    if (refusedByEnv(CHECKSUM_NAME_KIND, [xfer.name, file.name])) throw choiceRefused("checksum", o.checksumChoice);
  }
  const compressChoice = o.compressChoice ?? (o.compress > 1 ? "zlibx" : undefined);
  if (compressChoice !== undefined && compressChoice.toLowerCase() !== "auto") {
    if (refusedByEnv(COMPRESS_NAME_KIND, [compressName(compressByName(compressChoice))])) throw choiceRefused("compress", compressChoice);
  }
}

const choiceRefused = (what: string, value: string) => new RsyncError(RERR.UNSUPPORTED, `Your --${what}-choice value (${value}) was refused by the server.`);

export interface ServerSetupRequest {
  protocol: number;
  clientInfo: string;
  allowIncRecurse: boolean;
  checksumChoice: string | undefined;
  /** --checksum-seed, or 0 for a fresh one. */
  checksumSeed: number;
  compress: CompressRequest;
  /** --debug=NSTR (a server's lines need level 3: only a local copy's other half, with the client's levels, prints them). */
  debug?: SetupDebug;
}

export async function serverSetupProtocol(input: Input, output: Output, req: ServerSetupRequest): Promise<Session> {
  const protocol = req.protocol;
  const compatFlags = protocol >= 30 ? serverCompatFlags(req.clientInfo, req.allowIncRecurse) : 0;
  if (protocol >= 30) output.data.varint(compatFlags);
  const negotiate = (compatFlags & CF.VARINT_FLIST_FLAGS) !== 0;

  const { xfer, file, compression, seed } = await negotiateAndSeed(
    input,
    output,
    { protocol, negotiate, amServer: true, checksumChoice: req.checksumChoice, compress: req.compress, debug: req.debug },
    async () => {
      // Upstream's default seed: time ^ (pid << 6), as an int32.
      const seed = req.checksumSeed || (Math.floor(Date.now() / 1000) ^ (process.pid << 6)) | 0;
      output.data.i32(seed);
      output.flush();
      return seed;
    },
  );
  return {
    protocol,
    compatFlags,
    incRecurse: (compatFlags & CF.INC_RECURSE) !== 0,
    safeFlist: (compatFlags & CF.SAFE_FLIST) !== 0 || protocol >= 31,
    varintFlistFlags: negotiate,
    id0Names: (compatFlags & CF.ID0_NAMES) !== 0,
    symlinkTimes: true,
    sums: { xfer, file, seed, properSeedOrder: (compatFlags & CF.CHKSUM_SEED_FIX) !== 0 },
    compression,
  };
}
