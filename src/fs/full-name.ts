/**
 * util1.c full_fname: how an error message names a file. A relative name is
 * shown under the whole path of the directory it was reached from; in a
 * daemon's module (whose root is the working directory) it is shown from
 * the module's root instead, with " (in MODULE)", so a client never learns
 * where the module lives. Quoted, as upstream quotes it.
 */
import { resolve } from "node:path";
import { moduleRelative } from "../flist/dir-merge.ts";

const latin1 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");

/** `name` (bytes; "." for the directory itself) reached from `dir` (a path, relative to the working directory or absolute). */
export function fullFname(dir: Uint8Array, name: Uint8Array, module: string | undefined): string {
  const shown = latin1(name);
  if (module !== undefined) {
    const from = latin1(moduleRelative(latin1(dir)));
    return `"${from ? `/${from}/` : ""}${shown}" (in ${module})`;
  }
  if (name[0] === 0x2f) return `"${shown}"`;
  const at = resolve(latin1(dir));
  return `"${at === "/" ? "" : at}/${shown}"`;
}

const DOT = Uint8Array.of(0x2e);

/** A destination entry: `rel` from the destination's root `root` (empty: the root itself, shown as "."). */
export function destFullName(root: Uint8Array, rel: Uint8Array, module: string | undefined): string {
  return fullFname(root, rel.length ? rel : DOT, module);
}
