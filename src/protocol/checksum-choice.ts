/**
 * Which checksum a session uses and how it is seeded (checksum.c
 * parse_csum_name, parse_checksum_choice, get_checksum2, sum_init).
 */
import { RERR, RsyncError } from "../errors.ts";
import { HashAlg, SeedOrder, core, type Hasher } from "../native/index.ts";
import { offeredNames, type NameKind } from "./offered-names.ts";

export interface SumKind {
  /** The name upstream uses (printed by -vv / debug; "md4" also for the legacy variant). */
  name: string;
  /** null for "none". */
  alg: HashAlg | null;
  /** Digest bytes on the wire. */
  length: number;
  /** Protocol 27-29 MD4 (CSUM_MD4_OLD): the whole-file sum is MD4(seed ‖ data), seed always included. */
  legacy: boolean;
}

const KINDS: Record<string, SumKind> = {
  xxh128: { name: "xxh128", alg: HashAlg.XXH3_128, length: 16, legacy: false },
  xxh3: { name: "xxh3", alg: HashAlg.XXH3_64, length: 8, legacy: false },
  xxh64: { name: "xxh64", alg: HashAlg.XXH64, length: 8, legacy: false },
  md5: { name: "md5", alg: HashAlg.MD5, length: 16, legacy: false },
  md4: { name: "md4", alg: HashAlg.MD4, length: 16, legacy: false },
  sha1: { name: "sha1", alg: HashAlg.SHA1, length: 20, legacy: false },
  none: { name: "none", alg: null, length: 1, legacy: false },
};
const ALIASES: Record<string, string> = { xxhash: "xxh64" };

/** Names a client offers, in preference order (its negotiation list): upstream's, as built with OpenSSL. */
export const CLIENT_CHECKSUM_LIST = ["xxh128", "xxh3", "xxh64", "md5", "md4", "sha1"];
/** A server also offers "none". */
export const SERVER_CHECKSUM_LIST = [...CLIENT_CHECKSUM_LIST, "none"];

/** The checksum names as negotiated (checksum.c valid_checksums), which RSYNC_CHECKSUM_LIST may replace. */
export const CHECKSUM_NAME_KIND: NameKind = { what: "checksum", envVar: "RSYNC_CHECKSUM_LIST", names: SERVER_CHECKSUM_LIST, aliases: ALIASES };

/** The checksum names this side offers: RSYNC_CHECKSUM_LIST's part for it, or the usual list (offered-names.ts). */
export function offeredChecksumList(amServer: boolean, env: string | undefined = process.env.RSYNC_CHECKSUM_LIST): string[] {
  return offeredNames(CHECKSUM_NAME_KIND, amServer, env);
}

/** The implied checksum of a protocol without negotiation ("auto"). */
export function impliedSum(protocol: number): SumKind {
  if (protocol >= 30) return KINDS.md5!;
  return { name: "md4", alg: HashAlg.MD4, length: 16, legacy: true };
}

/** Looks up a checksum name as upstream's parse_csum_name does (case-insensitive; "auto"). */
export function sumByName(name: string, protocol: number): SumKind {
  const key = name.toLowerCase();
  if (key === "auto") return impliedSum(protocol);
  const kind = KINDS[ALIASES[key] ?? key];
  if (!kind) throw new RsyncError(RERR.UNSUPPORTED, `unknown checksum name: ${name}`);
  return kind;
}

/** Checks a --checksum-choice value before connecting (upstream fails early with exit 4). */
export function validateChecksumChoice(choice: string): void {
  for (const part of choice.split(",")) sumByName(part, 32);
}

/** Splits --checksum-choice=XFER[,FILE]. */
export function explicitSums(choice: string, protocol: number): { xfer: SumKind; file: SumKind } {
  const comma = choice.indexOf(",");
  if (comma < 0) {
    const kind = sumByName(choice, protocol);
    return { xfer: kind, file: kind };
  }
  return { xfer: sumByName(choice.slice(0, comma), protocol), file: sumByName(choice.slice(comma + 1), protocol) };
}

export interface SessionSums {
  xfer: SumKind;
  file: SumKind;
  seed: number;
  /** CF_CHKSUM_SEED_FIX: MD5 block sums prefix the seed (SHA1's always do). */
  properSeedOrder: boolean;
}

const seedBytes = (seed: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, seed, true);
  return b;
};

/** A whole-file (transfer) checksum in progress, as sum_init(xfer_sum, seed) sets it up. */
export function wholeFileHasher(s: SessionSums): Hasher {
  const kind = s.xfer;
  if (kind.alg === null) {
    return { update() {}, digest: () => new Uint8Array(1) };
  }
  const hasher = core.createHasher(kind.alg, 0);
  if (kind.legacy) hasher.update(seedBytes(s.seed));
  return hasher;
}

/** What wholeFileHasher gives for `data` held whole, in one native call where no seed goes first. */
export function wholeFileSum(s: SessionSums, data: Uint8Array): Uint8Array {
  const kind = s.xfer;
  if (kind.alg === null || kind.legacy) {
    const hasher = wholeFileHasher(s);
    hasher.update(data);
    return hasher.digest();
  }
  return core.hash(kind.alg, data, 0);
}

/** The --checksum sum of a file's content (always unseeded). */
export function fileListHasher(s: SessionSums): Hasher {
  const kind = s.file;
  if (kind.alg === null) return { update() {}, digest: () => new Uint8Array(1) };
  return core.createHasher(kind.alg, 0);
}

/**
 * How block strong sums are seeded for this session (get_checksum2): MD5
 * prefixes the seed only with CF_CHKSUM_SEED_FIX; SHA1, which upstream
 * computes only through OpenSSL's EVP, always prefixes it.
 */
export function blockSeedOrder(s: SessionSums): SeedOrder {
  if (s.xfer.alg === HashAlg.SHA1) return SeedOrder.Prepend;
  return s.xfer.alg === HashAlg.MD5 && s.properSeedOrder ? SeedOrder.Prepend : SeedOrder.Append;
}
