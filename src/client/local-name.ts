/**
 * Where received files go (main.c get_local_name): into DEST when it is (or
 * must become) a directory, else DEST names the single file being received.
 */
import * as fs from "node:fs";
import { basename, dirname } from "node:path";
import { outputConfig } from "../cli/output-config.ts";
import type { Options } from "../cli/options.ts";
import { RERR, receiverError } from "../errors.ts";
import type { FileLists } from "../flist/lists.ts";
import { F, isDir } from "../flist/table.ts";
import { DestFs } from "../fs/dest-fs.ts";
import { errText } from "../fs/errors.ts";
import { terminal } from "../output/terminal.ts";

/** main.c get_local_name runs in upstream's receiving process before it forks: its failures are the "Receiver"'s. */
export interface LocalDest {
  fs: DestFs;
  /** Set when DEST is the name of the one file received. */
  soloName: Uint8Array | null;
  /** Directory-name ids known to be empty because we just created them. */
  created: Set<number>;
}

export function resolveLocalName(destArg: string, lists: FileLists, o: Options): LocalDest {
  const t = lists.table;
  const total = lists.lists.reduce((n, l) => n + l.count, 0);
  const trailingSlash = destArg.endsWith("/");
  const path = destArg === "" ? "." : destArg;
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
      throw receiverError(RERR.FILESELECT, `rsync: [Receiver] ERROR: cannot stat destination ${shownPath(path, o)}: ${errText(e)}`);
    }
  }
  // --mkpath: the missing directories on the way to DEST first (the whole of it when it must be a directory).
  if (o.mkpath && !st && (path.includes("/") || total > 1)) st = makeDestPath(path, total > 1 && !trailingSlash, o);
  if (st?.isDirectory()) return { fs: new DestFs(path), soloName: null, created: new Set() };
  if (st) {
    if (total > 1) throw receiverError(RERR.FILESELECT, "ERROR: destination must be a directory when copying more than 1 file");
    const first = lists.lists[0];
    if (total === 1 && first && isDir(t.mode[first.ndxStart]!)) {
      throw receiverError(RERR.FILESELECT, "ERROR: cannot overwrite non-directory with a directory");
    }
  }
  if (total > 1 || trailingSlash) {
    const dir = trailingSlash ? path.replace(/\/+$/, "") || "/" : path;
    if (st) throw receiverError(RERR.SYNTAX, "ERROR: destination path is not a directory");
    if (!o.dryRun) {
      try {
        fs.mkdirSync(dir, { mode: 0o777 });
      } catch (e) {
        throw receiverError(RERR.FILEIO, `rsync: [Receiver] mkdir ${shownPath(dir, o)} failed: ${errText(e)}`);
      }
    }
    // Everything inside the new directory is known to be absent, and "." is itemized as created.
    const first = lists.lists[0];
    if (first && first.count > 0 && t.dirId[first.ndxStart] === 0 && t.nameLen[first.ndxStart] === 1 && t.baseName(first.ndxStart)[0] === 0x2e) {
      t.flags[first.ndxStart] = t.flags[first.ndxStart]! | F.CREATED_DIR;
    }
    // main.c get_local_name: INFO_GTE(NAME, 1) || stdout_format_has_i (a server knows the latter from --log-format=%i).
    const out = outputConfig(o);
    if (out.info.get("NAME") >= 1 || out.formatHasI > 0) terminal.info(Buffer.from(`created directory ${dir}\n`));
    return { fs: new DestFs(dir), soloName: null, created: new Set([0]) };
  }
  // A single file, written as DEST itself, from within its directory (which upstream changes into: it must be there).
  const parent = dirname(path);
  try {
    fs.statSync(parent);
  } catch (e) {
    throw receiverError(RERR.FILESELECT, `rsync: [Receiver] change_dir#3 ${shownPath(parent, o)} failed: ${errText(e)}`);
  }
  return { fs: new DestFs(parent), soloName: Buffer.from(basename(path)), created: new Set() };
}

/**
 * util1.c make_path, as get_local_name calls it for --mkpath: creates the
 * directories of `path` that are missing (all of it, or without its last
 * name), says how many under -v or -i, and returns DEST's new stat.
 */
function makeDestPath(path: string, whole: boolean, o: Options): fs.Stats | undefined {
  const trimmed = path.replace(/^(\.\/)+/, "");
  const target = whole ? trimmed.replace(/\/+$/, "") : trimmed.slice(0, Math.max(0, trimmed.lastIndexOf("/")));
  if (!target) return undefined;
  const parts = target.split("/");
  let created = 0;
  for (let i = 1; i <= parts.length; i++) {
    const dir = parts.slice(0, i).join("/");
    if (!dir) continue;
    if (o.dryRun) {
      if (!fs.existsSync(dir)) created++;
      continue;
    }
    try {
      fs.mkdirSync(dir, { mode: 0o777 });
      created++;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw receiverError(RERR.FILESELECT, `rsync: [Receiver] mkdir ${shownPath(dir, o)} failed: ${errText(e)}`);
    }
  }
  const out = outputConfig(o);
  if (created && (out.info.get("NAME") >= 1 || out.formatHasI > 0)) {
    terminal.info(Buffer.from(`created ${created} director${created === 1 ? "y" : "ies"} for ${target}\n`));
  }
  try {
    return fs.statSync(path);
  } catch {
    return undefined;
  }
}

/** A path in a message as util1.c full_fname shows it: a relative one under the current directory (a daemon's are left as they are). */
function shownPath(path: string, o: Options): string {
  return o.moduleName !== undefined || path.startsWith("/") ? `"${path}"` : `"${process.cwd()}/${path}"`;
}
