/**
 * What upstream's parse_arguments works out for --backup, --backup-dir and
 * --suffix once the whole command line is read (options.c): the default
 * suffix, --backup-dir implying -b, the checks on the suffix, and the
 * protect rule that keeps --delete from removing the backups themselves.
 */
import { usageError } from "../errors.ts";
import type { Options } from "./options.ts";

/** The suffix when none is given without a --backup-dir (BACKUP_SUFFIX). */
export const DEFAULT_BACKUP_SUFFIX = "~";

export function finishBackupOptions(o: Options): void {
  const suffix = (o.backupSuffix ??= o.backupDir !== undefined ? "" : DEFAULT_BACKUP_SUFFIX);
  if (suffix.includes("/")) throw usageError(`rsync: --suffix cannot contain slashes: ${suffix}`);
  let dirIsDest = false;
  if (o.backupDir !== undefined) {
    o.backup = true;
    let dir = o.backupDir;
    while (dir.startsWith("./")) dir = dir.slice(2);
    if (dir === ".") dir = "";
    // A --backup-dir that names the destination itself is no backup dir: the suffix must tell backups apart.
    if (dir === "") {
      o.backupDir = undefined;
      dirIsDest = true;
    } else o.backupDir = dir;
  }
  if (o.backupDir !== undefined) return;
  // Backups made beside the files would change their directories' times: upstream implies -O (not sent on as -O).
  if (o.backup) o.omitDirTimes = true;
  // A sending server never makes backups, so it does not mind an empty suffix.
  if (suffix === "" && !(o.server && o.sender)) {
    throw usageError(`rsync: --suffix cannot be empty ${dirIsDest ? "when --backup-dir is the same as the dest dir" : "without a --backup-dir"}`);
  }
  // options.c: the client protects "*SUFFIX" so that --delete leaves the backups alone.
  if (o.backup && o.deleteMode !== "none" && !o.deleteExcluded && !o.server) o.filters.push({ kind: "filter", value: `P *${suffix}` });
}

/** -b without --backup-dir implies -O, which upstream then never forwards (omit_dir_times = -1). */
export function backupImpliesOmitDirTimes(o: Options): boolean {
  return o.backup && o.backupDir === undefined;
}
