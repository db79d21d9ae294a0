/**
 * What a client settles once its options are read and before anything runs
 * (options.c, after the option loop): the combinations upstream refuses,
 * what the environment decides, and options that stand for others.
 */
import { statSync } from "node:fs";
import type { Options } from "../cli/options.ts";
import { RERR, RsyncError, usageError } from "../errors.ts";
import { resolveIconvOption } from "../flist/iconv-hooks.ts";

/** Options the client settles before anything else (options.c, after the option loop). */
export function settleClientOptions(o: Options): void {
  // --old-dirs: recursion limited to the top level by a rule that follows the user's own.
  if (o.oldDirs) {
    o.filters.push({ kind: "filter", value: "- /*/*" });
    o.recursive = o.dirs = true;
  }
  // A munged link could point into a real /rsyncd-munged/ (options.c refuses then; a daemon is chrooted or checks itself).
  if (o.mungeSymlinks && isDirectory("/rsyncd-munged")) {
    throw new RsyncError(RERR.UNSUPPORTED, "Symlink munging is unsafe when a /rsyncd-munged directory exists.");
  }
  resolveArgStyle(o);
  if (o.append && o.wholeFile === true) throw usageError("rsync: --append cannot be used with --whole-file");
  resolveIconvOption(o);
  if (o.confineRoot !== undefined) {
    if (!o.confineRoot.startsWith("/")) throw usageError("rsync: --confine-root must be an absolute path");
    if (o.insecureLinks) throw usageError("rsync: --insecure-links cannot be combined with --confine-root");
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * How the server's arguments travel (options.c): --old-args (or
 * $RSYNC_OLD_ARGS when neither it nor -s was given) sends names unescaped
 * on the command line; -s (or $RSYNC_PROTECT_ARGS when unset) sends them
 * over the connection. The two exclude each other.
 */
function resolveArgStyle(o: Options): void {
  if (o.oldArgs < 0) {
    const env = process.env.RSYNC_OLD_ARGS;
    if (o.secludedArgs <= 0 && env) {
      o.secludedArgs = 0;
      o.oldArgs = Number.parseInt(env, 10) || 0;
    } else o.oldArgs = 0;
  } else if (o.oldArgs > 0) {
    if (o.secludedArgs > 0) throw usageError("rsync: --secluded-args conflicts with --old-args.");
    o.secludedArgs = 0;
  }
  if (o.secludedArgs < 0) {
    const env = process.env.RSYNC_PROTECT_ARGS;
    o.secludedArgs = env && Number.parseInt(env, 10) ? 1 : 0;
  }
}
