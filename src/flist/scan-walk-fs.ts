/**
 * The walker's file system over the native directory scan: a directory's
 * names arrive with every entry's lstat in one call, and the walker's lstat
 * of each of those names is answered from that batch instead of a syscall
 * and a node stat object per entry. Once scans are seen waiting for the
 * disk (PrefetchJudge), the subdirectories found are handed to the core's
 * prefetcher, so worker threads read them while this thread encodes the
 * list (the parallel part of the walk).
 *
 * Anything the batch does not cover (arguments, -L's stat, readlink) goes to
 * node:fs as before, so the walker sees exactly what it saw without it.
 */
import { core, type DirScan, type EntryStat } from "../native/index.ts";
import { systemError } from "../fs/errors.ts";
import { blockInput } from "../fs/block-input.ts";
import { isDir } from "./table.ts";
import { PrefetchJudge } from "./prefetch-judge.ts";
import { nodeWalkFs, type FileStat, type WalkFs } from "./build.ts";

const SLASH = 0x2f;

/** `path` is `dir` + "/" + `name`. */
function isEntryOf(path: Uint8Array, dir: Uint8Array, name: Uint8Array): boolean {
  if (path.length !== dir.length + 1 + name.length || path[dir.length] !== SLASH) return false;
  for (let i = name.length - 1; i >= 0; i--) if (path[dir.length + 1 + i] !== name[i]) return false;
  for (let i = dir.length - 1; i >= 0; i--) if (path[i] !== dir[i]) return false;
  return true;
}

function joinPath(dir: Uint8Array, name: Uint8Array): Uint8Array {
  const out = new Uint8Array(dir.length + 1 + name.length);
  out.set(dir);
  out[dir.length] = SLASH;
  out.set(name, dir.length + 1);
  return out;
}

export interface ScanningWalkFs extends WalkFs {
  /** The walk is over: prefetched directories nobody took are dropped. */
  end(): void;
}

export function scanningWalkFs(): ScanningWalkFs {
  let dir: Uint8Array = new Uint8Array(0);
  let batch: DirScan = { names: [], stats: [] };
  /** Where the next lstat is expected: the walker asks in the order readDir gave. */
  let next = 0;

  /** The batch's entry for `path`, searched from where the walker left off (names it skipped are passed over). */
  const fromBatch = (path: Uint8Array): EntryStat | number | undefined => {
    for (let i = next; i < batch.names.length; i++) {
      if (isEntryOf(path, dir, batch.names[i]!)) {
        next = i + 1;
        return batch.stats[i];
      }
    }
    return undefined;
  };

  const judge = new PrefetchJudge();

  return {
    readDir(path) {
      if (judge.prefetching) batch = core.scanDir(path);
      else {
        const blocks = blockInput();
        const started = performance.now();
        batch = core.scanDir(path);
        judge.scanned(performance.now() - started, batch.names.length, blockInput() - blocks);
      }
      dir = path;
      next = 0;
      if (!judge.prefetching) return batch.names;
      const subdirs: Uint8Array[] = [];
      batch.stats.forEach((st, i) => {
        if (typeof st !== "number" && isDir(st.mode)) subdirs.push(joinPath(path, batch.names[i]!));
      });
      if (subdirs.length > 0) core.prefetchDirs(subdirs);
      return batch.names;
    },
    lstat(path): FileStat {
      const st = fromBatch(path);
      if (st === undefined) return nodeWalkFs.lstat(path);
      if (typeof st === "number") throw systemError(st, "lstat", Buffer.from(path).toString("latin1"));
      return st;
    },
    stat: nodeWalkFs.stat,
    readlink: nodeWalkFs.readlink,
    end: () => core.endScans(),
  };
}
