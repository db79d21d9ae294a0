/**
 * -m/--prune-empty-dirs on the receiving side (flist.c flist_sort_and_clean):
 * a directory that holds, all the way down, nothing but other directories is
 * left out of the sorted list, so it is never created. The top directory
 * (".") stays, and so does a directory our own rules exclude, with the
 * directories above it. The receiver asks for a whole list when pruning, so
 * one list holds the entire tree.
 */
import type { FileList } from "./lists.ts";
import { F, type FileTable, isDir } from "./table.ts";

/** A directory's F_DEPTH: the components of its name, "." ones not counted (the top directory's is 0). */
export function nameDepth(name: Uint8Array): number {
  let count = 0;
  for (const part of Buffer.from(name).toString("latin1").split("/")) if (part !== "" && part !== ".") count++;
  return count;
}

export function pruneEmptyDirs(t: FileTable, list: FileList, excludedDir: (name: Uint8Array) => boolean): void {
  // The directories above the current entry, innermost last; `kept` once something below them stays.
  const chain: { row: number; depth: number; kept: boolean }[] = [];
  const keepChain = () => {
    for (let i = chain.length - 1; i >= 0 && !chain[i]!.kept; i--) chain[i]!.kept = true;
  };
  const leave = (depth: number) => {
    while (chain.length > 0 && chain[chain.length - 1]!.depth >= depth) {
      const d = chain.pop()!;
      if (!d.kept) t.flags[d.row] = t.flags[d.row]! | F.INACTIVE;
    }
  };
  const end = list.ndxStart + list.count;
  for (let row = list.ndxStart; row < end; row++) {
    if (t.flags[row]! & F.INACTIVE) continue;
    const name = t.path(row);
    const depth = isDir(t.mode[row]!) ? nameDepth(name) : 0;
    if (depth === 0) {
      // A file (or the top directory): everything above it stays.
      keepChain();
      continue;
    }
    leave(depth);
    const excluded = excludedDir(name);
    if (excluded) keepChain();
    chain.push({ row, depth, kept: excluded });
  }
  leave(0);
}
