/**
 * Which compression a session uses (options.c after parsing, compat.c
 * parse_compress_choice, token.c init_compression_level): what the options
 * ask for, how the client tells the server, the names each side offers for
 * negotiation, and the level each algorithm ends up with.
 */
import type { Options } from "../cli/options.ts";
import { RERR, RsyncError } from "../errors.ts";
import { offeredNames, type NameKind } from "../protocol/offered-names.ts";

/** upstream's CPRES_* numbers. */
export const enum Cpres {
  NONE = 0,
  ZLIB = 1,
  ZLIBX = 2,
  LZ4 = 3,
  ZSTD = 4,
}

const BY_NAME: Record<string, Cpres> = {
  zstd: Cpres.ZSTD,
  lz4: Cpres.LZ4,
  zlibx: Cpres.ZLIBX,
  zlib: Cpres.ZLIB,
  none: Cpres.NONE,
};

/** The names we offer, best first (compat.c valid_compressions_items; a client leaves out "none"). */
export const CLIENT_COMPRESS_LIST = ["zstd", "lz4", "zlibx", "zlib"];
export const SERVER_COMPRESS_LIST = [...CLIENT_COMPRESS_LIST, "none"];

export function compressName(alg: Cpres): string {
  return Object.keys(BY_NAME).find((n) => BY_NAME[n] === alg)!;
}

/** get_nni_by_name: names are matched case-insensitively. */
export function compressByName(name: string): Cpres {
  const alg = BY_NAME[name.toLowerCase()];
  if (alg === undefined) throw new RsyncError(RERR.UNSUPPORTED, `unknown compress name: ${name}`);
  return alg;
}

/** What the options ask for, before the session settles it. */
export interface CompressRequest {
  /** Some compression is wanted (do_compression non-zero). */
  on: boolean;
  /** An algorithm named by --compress-choice, --old/--new-compress or -zz: no negotiation then. */
  choice: Cpres | null;
  /** --compress-level, or undefined (CLVL_NOT_SPECIFIED). */
  level: number | undefined;
  /** Exactly one -z and nothing named: the only case the server learns of through the 'z' letter. */
  plainZ: boolean;
  /** The name `choice` was given as (upstream's debug line shows it as typed). */
  typed?: string;
}

export const NO_COMPRESS_REQUEST: CompressRequest = { on: false, choice: null, level: undefined, plainZ: false };

/** options.c: -z counts, -zz means zlibx, a choice of "auto" is no choice, a level alone turns compression on. */
export function compressRequest(o: Options): CompressRequest {
  let name = o.compressChoice;
  if (name === undefined && o.compress > 1) name = "zlibx";
  if (name !== undefined && name.toLowerCase() === "auto") name = undefined;
  const choice = name === undefined ? null : compressByName(name);
  const level = o.compressLevel;
  if (choice === Cpres.NONE) return { on: level !== undefined, choice: null, level, plainZ: false };
  const on = choice !== null || o.compress > 0 || level !== undefined;
  return { on, choice, level, plainZ: choice === null && o.compress === 1, typed: choice === null ? undefined : name };
}

/**
 * options.c server_options: the 'z' letter for plain zlib (also when zlib
 * was named), the long options for everything else, each where upstream
 * puts it in the argument list.
 */
export function compressServerArgs(req: CompressRequest, amSender: boolean, skipCompress: string | undefined): { letter: boolean; level: string[]; choice: string[]; skip: string[] } {
  const level = req.on && req.level !== undefined ? [`--compress-level=${req.level}`] : [];
  const choice =
    req.choice === null ? [] : req.choice === Cpres.ZLIBX ? ["--new-compress"] : req.choice === Cpres.ZLIB ? ["--old-compress"] : [`--compress-choice=${compressName(req.choice)}`];
  // Only a sending server compresses, so only it hears of the suffixes.
  const skip = !amSender && skipCompress !== undefined ? [`--skip-compress=${skipCompress}`] : [];
  return { letter: req.plainZ || req.choice === Cpres.ZLIB, level, choice, skip };
}

/** The compression names as negotiated (compat.c valid_compressions), which RSYNC_COMPRESS_LIST may replace. */
export const COMPRESS_NAME_KIND: NameKind = { what: "compress", envVar: "RSYNC_COMPRESS_LIST", names: SERVER_COMPRESS_LIST };

/** The compression names this side offers: RSYNC_COMPRESS_LIST's part for it, or the usual list (offered-names.ts). */
export function offeredCompressList(amServer: boolean, env: string | undefined = process.env.RSYNC_COMPRESS_LIST): string[] {
  return offeredNames(COMPRESS_NAME_KIND, amServer, env);
}

/** The session's compression: the algorithm and the level its sender uses. */
export interface Compression {
  alg: Cpres;
  level: number;
}

export const NO_COMPRESSION: Compression = { alg: Cpres.NONE, level: 0 };

/** zstd's ZSTD_minCLevel (-ZSTD_TARGETLENGTH_MAX) and ZSTD_maxCLevel in the libzstd Debian ships. */
const ZSTD_MIN_LEVEL = -(1 << 17);
const ZSTD_MAX_LEVEL = 22;
const ZSTD_DEFAULT_LEVEL = 3;

/**
 * token.c init_compression_level: each algorithm's default, clamp and "off"
 * level. Level 0 turns deflate off (on both sides, as the level is
 * forwarded); zstd takes 0 as its default; lz4 has no levels.
 */
export function settleCompression(alg: Cpres, level: number | undefined): Compression {
  switch (alg) {
    case Cpres.NONE:
      return NO_COMPRESSION;
    case Cpres.ZLIB:
    case Cpres.ZLIBX:
      // Z_DEFAULT_COMPRESSION (-1) is 6 too.
      if (level === undefined || level === -1) return { alg, level: 6 };
      if (level === 0) return NO_COMPRESSION;
      return { alg, level: Math.min(9, Math.max(1, level)) };
    case Cpres.ZSTD:
      if (level === undefined || level === 0) return { alg, level: ZSTD_DEFAULT_LEVEL };
      return { alg, level: Math.min(ZSTD_MAX_LEVEL, Math.max(ZSTD_MIN_LEVEL, level)) };
    case Cpres.LZ4:
      return { alg, level: 0 };
  }
}
