import type { DestFs } from "../fs/dest-fs.ts";

/**
 * --partial-dir (util1.c partial_dir_fname): a relative DIR lives in the
 * directory of each file ("sub/DIR/name"), an absolute one is shared (and
 * reached from the destination root by DestFs.route).
 */
export function partialPathFor(rel: Uint8Array, partialDir: string, dest: DestFs): Uint8Array {
  const slash = rel.lastIndexOf(0x2f);
  const base = rel.subarray(slash + 1);
  if (partialDir.startsWith("/")) return Buffer.concat([dest.route(partialDir), Buffer.from("/"), base]);
  const dir = Buffer.from(partialDir.replace(/\/+$/, ""));
  return Buffer.concat([rel.subarray(0, slash + 1), dir, Buffer.from("/"), base]);
}

/** The basis-type byte that names the --partial-dir file as the delta basis (FNAMECMP_PARTIAL_DIR). */
export const FNAMECMP_FNAME = 0x80;
export const FNAMECMP_PARTIAL_DIR = 0x81;
/** --inplace with -b: the backup copy made before the transfer is the delta basis (FNAMECMP_BACKUP). */
export const FNAMECMP_BACKUP = 0x82;
/** A fuzzy basis: FNAMECMP_FUZZY + 0 in the file's directory, + i in the same directory of the i-th basis dir. */
export const FNAMECMP_FUZZY = 0x83;

/**
 * Removes a --partial-dir file that is no longer needed, and a relative
 * partial dir when that is now empty (an absolute one is kept for the work).
 */
export function removePartialFile(dest: DestFs, rel: Uint8Array, partialDir: string): void {
  try {
    dest.unlink(rel);
  } catch {
    return; // no partial file
  }
  removePartialDirIfEmpty(dest, rel, partialDir);
}

/** handle_partial_dir(PDIR_DELETE): the relative partial dir holding `rel` goes when nothing else is in it. */
export function removePartialDirIfEmpty(dest: DestFs, rel: Uint8Array, partialDir: string): void {
  const slash = rel.lastIndexOf(0x2f);
  if (slash <= 0 || partialDir.startsWith("/")) return;
  try {
    dest.rmdir(rel.subarray(0, slash));
  } catch {
    // it still holds others
  }
}
