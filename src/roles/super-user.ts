/**
 * Upstream's am_root: 1 when running as root, 0 otherwise, unless --super
 * (2: try what root may, whoever we are), --no-super (0) or --fake-super
 * (-1: keep ownership, special modes and devices in the "user.rsync.%stat"
 * xattr instead) says otherwise.
 */
import type { Options } from "../cli/options.ts";
import { usageError } from "../errors.ts";

export function amRootLevel(o: Options): number {
  return o.superUser ?? (process.getuid?.() === 0 ? 1 : 0);
}

/**
 * clientserver.c rsync_module: a module with "fake super = yes" makes the
 * daemon fake it (and -XX drops to -X); a client's --fake-super is taken
 * as --super there, as the daemon does not fake for the client's asking.
 */
export function applyModuleFakeSuper(o: Options, fakeSuper: boolean): void {
  if (fakeSuper) {
    if (o.xattrs > 1) o.xattrs = 1;
    o.superUser = -1;
  } else if ((o.superUser ?? 0) < 0) o.superUser = 2;
}

/** options.c: what --fake-super cannot be combined with. */
export function checkSuperOptions(o: Options): void {
  if ((o.superUser ?? 0) < 0 && o.xattrs > 1) throw usageError("rsync: --fake-super conflicts with -XX");
}
