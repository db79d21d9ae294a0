/**
 * --delay-updates (receiver.c handle_delayed_updates): each finished file
 * waits, complete and with its attributes, in the partial dir of its
 * directory; when the sender's second phase ends all of them are renamed
 * into place, so the tree changes at once at the end of the transfer.
 */
import type { Options } from "../cli/options.ts";
import type { DestFs } from "../fs/dest-fs.ts";
import { removePartialDirIfEmpty } from "./partial-dir.ts";

/** Upstream's partial dir for --delay-updates when no --partial-dir was given (options.c tmp_partialdir). */
export const DELAY_UPDATES_DIR = ".~tmp~";

/**
 * options.c: --delay-updates without --partial-dir uses ".~tmp~", and like
 * any partial dir it keeps partial files. A receiving side calls this once
 * before it starts (the client has already said --delay-updates to its server).
 */
export function useDelayUpdatesDir(o: Options): void {
  if (!o.delayUpdates || o.inplace || o.append) return;
  if (o.partialDir === undefined) o.partialDir = DELAY_UPDATES_DIR;
  o.partial = true;
}

export interface DelayedFile {
  row: number;
  ndx: number;
  /** Where it waits, and where it goes. */
  from: Uint8Array;
  to: Uint8Array;
}

export class DelayedUpdates {
  private readonly waiting: DelayedFile[] = [];
  private done = false;

  /** `partialDir`: where the files wait (--partial-dir, or ".~tmp~"). */
  constructor(private readonly partialDir: string) {}

  add(f: DelayedFile): void {
    this.waiting.push(f);
  }

  /**
   * Renames every waiting file into place, in file-list order as upstream
   * walks its bit bag, and removes each partial dir once it is empty.
   * `placed` hears of each file put in place (hard links wait for it).
   */
  finish(
    dest: DestFs,
    onError: (f: DelayedFile, e: unknown) => void,
    placed: (f: DelayedFile) => void,
    /** Before each rename (-b: the file it replaces is backed up); false leaves the file waiting where it is. */
    beforeRename: (f: DelayedFile) => boolean = () => true,
  ): void {
    if (this.done) return;
    this.done = true;
    const files = this.waiting.splice(0).sort((a, b) => a.ndx - b.ndx);
    for (const f of files) {
      if (!beforeRename(f)) continue;
      try {
        dest.rename(f.from, f.to);
      } catch (e) {
        onError(f, e);
        continue;
      }
      placed(f);
      removePartialDirIfEmpty(dest, f.from, this.partialDir);
    }
  }
}
