/**
 * --temp-dir (-T) on the receiving side. main.c do_recv checks DIR before
 * anything is received: missing or no directory ends the run. A relative DIR
 * is found from the destination directory, which upstream's receiver has
 * changed into; an absolute one may be anywhere (DestFs.route).
 */
import * as fs from "node:fs";
import type { Options } from "../cli/options.ts";
import { RERR, receiverError } from "../errors.ts";
import type { DestFs } from "../fs/dest-fs.ts";
import { errText } from "../fs/errors.ts";

/** DIR as a name relative to the destination root, or null without --temp-dir. */
export function tempDirRoute(o: Options, dest: DestFs): Uint8Array | null {
  const dir = o.tempDir;
  if (dir === undefined) return null;
  const route = dest.route(dir);
  let st: fs.Stats;
  try {
    st = fs.statSync(dest.abs(route));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT") throw receiverError(RERR.SYNTAX, `The temp-dir does not exist: ${dir}`);
    throw receiverError(RERR.FILEIO, `Failed to stat temp-dir ${dir}: ${errText(err).replace(/ \(\d+\)$/, "")}`);
  }
  if (!st.isDirectory()) throw receiverError(RERR.SYNTAX, `The temp-dir is not a directory: ${dir}`);
  return route;
}
