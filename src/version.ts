/**
 * What `--version` says. Lists only what oc-rsync really implements: each
 * capability, checksum and compressor is added here when its issue lands.
 */
import pkg from "../package.json" with { type: "json" };
import { core } from "./native/index.ts";
import { AUTH_DIGESTS } from "./protocol/daemon-auth.ts";
import { CLIENT_COMPRESS_LIST } from "./compress/choice.ts";
import { CLIENT_CHECKSUM_LIST } from "./protocol/checksum-choice.ts";

export const VERSION: string = pkg.version;
export const PROTOCOL_VERSION = 32;
export const MIN_PROTOCOL_VERSION = 27;

/**
 * Upstream's words for what a build can do, in its order, for what we do too (scripts grep for
 * "xattrs" or "ACLs"); "socketpairs" and "ACL-at" name upstream's own internals and are left out.
 */
const CAPABILITIES = [
  "64-bit files",
  "64-bit inums",
  "64-bit timestamps",
  "64-bit long ints",
  "symlinks",
  "symtimes",
  "hardlinks",
  "hardlink-specials",
  "hardlink-symlinks",
  "IPv6",
  "atimes",
  "batchfiles",
  "inplace",
  "append",
  "ACLs",
  "xattrs",
  "optional secluded-args",
  "iconv",
  "prealloc",
  "stop-at",
  "no crtimes",
];
/**
 * Upstream's "Checksum list" line: the names in its order, an alias in
 * parentheses after the name it stands for (as usage.c prints them), and
 * "none" (which only a server offers) last.
 */
export const CHECKSUM_NAMES = CLIENT_CHECKSUM_LIST.flatMap((n) => (n === "xxh64" ? [n, "(xxhash)"] : [n]));
export const COMPRESS_NAMES: readonly string[] = CLIENT_COMPRESS_LIST;
export const DAEMON_AUTH_NAMES: readonly string[] = AUTH_DIGESTS;

/** Wraps a comma list the way upstream does: 4-space indent, lines under 80 columns. */
function wrapList(items: string[], sep: string): string {
  const lines: string[] = [];
  let line = "   ";
  items.forEach((item, i) => {
    const piece = ` ${item}${i < items.length - 1 ? sep : ""}`;
    if (line.length + piece.length > 76) {
      lines.push(line);
      line = "   ";
    }
    line += piece;
  });
  lines.push(line);
  return lines.join("\n");
}

export function nativeCoreLine(): string {
  const caps = core.caps;
  if (caps.kind !== "native") return `native core: not loaded (${caps.reason ?? "unknown reason"})`;
  return `native core: loaded (simd ${caps.simd}, io_uring ${caps.ioUring ? "yes" : "no"})`;
}

export function versionText(): string {
  const simd = core.caps.kind === "native" ? `SIMD-roll (${core.caps.simd})` : "no SIMD-roll";
  return [
    `oc-rsync  version ${VERSION}  protocol version ${PROTOCOL_VERSION}`,
    "A wire-compatible rsync: speaks protocols 27 to 32 with rsync 3.x.",
    "Capabilities:",
    wrapList(CAPABILITIES, ","),
    "Optimizations:",
    `    ${simd}, ${core.caps.kind === "native" ? "native-hashes" : "no native-hashes"}`,
    "Checksum list:",
    `    ${CHECKSUM_NAMES.join(" ")} none`,
    "Compress list:",
    `    ${[...COMPRESS_NAMES, "none"].join(" ")}`,
    "Daemon auth list:",
    `    ${DAEMON_AUTH_NAMES.join(" ")}`,
    nativeCoreLine(),
    "",
  ].join("\n");
}
