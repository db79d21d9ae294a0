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
 *
 * Confined (a chroot-less daemon module, `confinedRoot`): each directory is
 * opened beneath the module's root as upstream's walk opens it (flist.c
 * secure_opendir: a symlink on the way is followed only while it stays
 * inside, else ELOOP), and read through that descriptor, its symlinks'
 * targets too. Opened by its path, a directory swapped for a symlink to
 * outside after its parent was listed would have the walk list what it
 * points to. Nothing is prefetched there: the workers open by path.
 */
import { core, type DirScan, type EntryStat } from "../native/index.ts";
import { systemError } from "../fs/errors.ts";
import { closeFd, fdOpsAvailable, openConfinedRoot, openDirInside, readlinkAt } from "../fs/fd-ops.ts";
import { blockInput } from "../fs/block-input.ts";
import { isDir } from "./table.ts";
import { PrefetchJudge } from "./prefetch-judge.ts";
import { nodeWalkFs, type FileStat, type WalkFs } from "./build.ts";

const SLASH = 0x2f;
const ELOOP = 40;

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

/** `path` below `root` (bytes after it and its slashes), or null when it is not inside it. */
function relativeTo(root: Uint8Array, path: Uint8Array): Uint8Array | null {
  if (path.length < root.length) return null;
  for (let i = 0; i < root.length; i++) if (path[i] !== root[i]) return null;
  let at = root.length;
  if (at < path.length && path[at] !== SLASH && root[root.length - 1] !== SLASH) return null;
  while (at < path.length && path[at] === SLASH) at++;
  return path.subarray(at);
}

/** `path`'s last component when it is an entry of `dir` (`dir` + "/" + a name without a slash), else null. */
function entryName(path: Uint8Array, dir: Uint8Array): Uint8Array | null {
  if (path.length <= dir.length + 1 || path[dir.length] !== SLASH) return null;
  for (let i = 0; i < dir.length; i++) if (path[i] !== dir[i]) return null;
  const name = path.subarray(dir.length + 1);
  return name.includes(SLASH) ? null : name;
}

interface ConfinedScanner {
  scan(path: Uint8Array): DirScan;
  /** Opens directory `path` as scan() would, and closes it (WalkFs openInside). */
  openInside(path: Uint8Array): void;
  /** The target of symlink `path`: read through the directory scanned last when it is one of its entries. */
  readlink(path: Uint8Array): Uint8Array;
  end(): void;
}

/**
 * Reads directories by opening them beneath `root` (see the module comment).
 * The directory scanned last stays open until the next: its symlinks' targets
 * are read through it (upstream's scan_readlink), not by a path that may lead
 * elsewhere by then.
 */
function confinedScanner(root: Uint8Array): ConfinedScanner {
  const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");
  let rootFd = -1;
  let dirFd = -1;
  let dirPath: Uint8Array = new Uint8Array(0);
  const closeDir = () => {
    if (dirFd >= 0) closeFd(dirFd, () => latin1(dirPath));
    dirFd = -1;
  };
  const open = (path: Uint8Array): number => {
    const rel = relativeTo(root, path);
    const shown = () => latin1(path);
    if (rel === null) throw systemError(ELOOP, "open", shown());
    if (rootFd < 0) rootFd = openConfinedRoot(root, () => latin1(root));
    return openDirInside(rootFd, rel, shown);
  };
  return {
    scan(path) {
      closeDir();
      dirFd = open(path);
      dirPath = path;
      return core.scanDirAt(dirFd, path);
    },
    openInside(path) {
      closeFd(open(path), () => latin1(path));
    },
    readlink(path) {
      const name = dirFd >= 0 ? entryName(path, dirPath) : null;
      return name === null ? nodeWalkFs.readlink(path) : readlinkAt(dirFd, name, () => latin1(path));
    },
    end() {
      closeDir();
      if (rootFd >= 0) closeFd(rootFd, () => latin1(root));
      rootFd = -1;
    },
  };
}

/** `confinedRoot`: a chroot-less daemon module's path, beneath which every directory is opened. */
export function scanningWalkFs(confinedRoot?: Uint8Array): ScanningWalkFs {
  const confined = confinedRoot !== undefined && fdOpsAvailable ? confinedScanner(confinedRoot) : null;
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

  /** A scan of `path`, timed for the judge unless it is prefetching already. */
  const judgedScan = (path: Uint8Array): DirScan => {
    if (judge.prefetching) return core.scanDir(path);
    const blocks = blockInput();
    const started = performance.now();
    const scan = core.scanDir(path);
    judge.scanned(performance.now() - started, scan.names.length, blockInput() - blocks);
    return scan;
  };

  /** Hands the subdirectories of the batch just read (of `path`) to the prefetcher. */
  const hintSubdirs = (path: Uint8Array): void => {
    const subdirs: Uint8Array[] = [];
    batch.stats.forEach((st, i) => {
      if (typeof st !== "number" && isDir(st.mode)) subdirs.push(joinPath(path, batch.names[i]!));
    });
    if (subdirs.length > 0) core.prefetchDirs(subdirs);
  };

  return {
    readDir(path) {
      batch = confined ? confined.scan(path) : judgedScan(path);
      dir = path;
      next = 0;
      // (A confined walk is never prefetched: see the module comment.)
      if (!confined && judge.prefetching) hintSubdirs(path);
      return batch.names;
    },
    lstat(path): FileStat {
      const st = fromBatch(path);
      if (st === undefined) return nodeWalkFs.lstat(path);
      if (typeof st === "number") throw systemError(st, "lstat", Buffer.from(path).toString("latin1"));
      return st;
    },
    stat: nodeWalkFs.stat,
    readlink: confined ? (path) => confined.readlink(path) : nodeWalkFs.readlink,
    openInside: confined ? (path) => confined.openInside(path) : undefined,
    end: () => {
      core.endScans();
      confined?.end();
    },
  };
}
