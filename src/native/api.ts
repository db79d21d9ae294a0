/**
 * The contract shared by the native core (zig/, loaded by ./load.ts) and its
 * plain TypeScript twin (./ts/). Callers import `core` from ./index.ts and
 * never know which one they got.
 *
 * Byte order: every digest is returned exactly as rsync puts it on the wire.
 * MD4/MD5/SHA1 in their standard byte order; xxh64 and xxh3 as the 64-bit
 * value little-endian; xxh128 as low 64 bits LE then high 64 bits LE (the
 * reverse of xxHash's canonical form). `digestHex` gives upstream's `%C` text.
 */
import type { BigIntStats } from "node:fs";

/** Hash algorithms, numbered as upstream's CSUM_* ids (checksum.c). */
export const enum HashAlg {
  /** MD4 as protocols 21-26 computed it: no padding block when the input is a multiple of 64 bytes, 32-bit bit count. */
  MD4_BUSTED = 2,
  /** Standard MD4 (protocol 27 and later). */
  MD4 = 4,
  MD5 = 5,
  XXH64 = 6,
  XXH3_64 = 7,
  XXH3_128 = 8,
  /** SHA-1 (CSUM_SHA1): upstream offers it when built with OpenSSL. */
  SHA1 = 9,
}

/** The longest digest (SHA1's): the room a native call writing "a digest" needs (zig/hasher.zig max_digest_length). */
export const MAX_DIGEST_LENGTH = 20;

/** Digest length in bytes of each algorithm. */
export function digestLength(alg: HashAlg): number {
  switch (alg) {
    case HashAlg.XXH64:
    case HashAlg.XXH3_64:
      return 8;
    case HashAlg.SHA1:
      return 20;
    default:
      return 16;
  }
}

/** True for the xxHash family, whose wire digest is a little-endian integer and whose seed is a hash parameter. */
export function isXxh(alg: HashAlg): boolean {
  return alg === HashAlg.XXH64 || alg === HashAlg.XXH3_64 || alg === HashAlg.XXH3_128;
}

/** How the int32 checksum seed enters an MD4/MD5/SHA1 block digest (xxHash algorithms take it as their seed). */
export const enum SeedOrder {
  /** digest(block ‖ seed_le): MD4, and MD5 without CF_CHKSUM_SEED_FIX. */
  Append = 0,
  /** digest(seed_le ‖ block): MD5 with CF_CHKSUM_SEED_FIX, and SHA1 always. */
  Prepend = 1,
}

/** A streaming whole-file hash. `digest()` may be called once. */
export interface Hasher {
  update(data: Uint8Array): void;
  digest(): Uint8Array;
  /**
   * Done with it (after digest): its state may serve the next hasher made
   * (the native core keeps a few; a receiver makes one per file). Optional:
   * the TypeScript twins let the collector have theirs.
   */
  release?(): void;
}

export interface BlockSumParams {
  /** Block length in bytes (> 0). The last block may be shorter. */
  blockLength: number;
  /** Bytes of strong sum kept per block, 1..digestLength(alg). */
  strongLength: number;
  alg: HashAlg;
  /** The session's int32 checksum seed; 0 adds nothing to MD4/MD5/SHA1 digests. */
  seed: number;
  seedOrder: SeedOrder;
}

/** The receiver's sum head and the session's strong-sum settings, for the sender's matcher. */
export interface MatchParams extends BlockSumParams {
  /** Blocks in the table. */
  count: number;
  /** Length of the last block (0: a full one). */
  remainder: number;
  /** --inplace: a block behind the current offset may not be used. */
  updatingBasis: boolean;
}

/** A block matcher walking a file window by window (see Core.createMatcher). */
export interface BlockMatcher {
  /**
   * Matches on through `window`, the file's bytes from offset `base` (not past
   * pendingFrom, nor past the end of the file): the next ops, as matchBlocks's
   * pairs, covering only bytes inside the window. It walks as far as the
   * window holds two blocks ahead of it (or the end of the file); empty when
   * it needs more. Repeat with later windows until `done`.
   */
  step(window: Uint8Array, base: number): Float64Array;
  /** The file offset the next op starts at: earlier bytes are not needed again. */
  readonly pendingFrom: number;
  readonly done: boolean;
  /** What the walk has counted so far (match.c's per-file counters, shown by -vv and -vvv). */
  readonly counts: MatchCounts;
}

/** match.c's counters of one file's walk. */
export interface MatchCounts {
  /** Offsets whose rolling sum's hash slot held a chain of blocks. */
  hashHits: number;
  /** Candidates whose rolling sum matched but whose strong sum did not. */
  falseAlarms: number;
  /** Blocks matched. */
  matches: number;
}

/** An entry's lstat, split as the walker needs it. */
export interface EntryStat {
  mode: number;
  size: number;
  /** Seconds (may be negative) and nanoseconds 0..999999999 of the mtime. */
  mtime: number;
  nsec: number;
  uid: number;
  gid: number;
  /** glibc's dev_t encoding, as node's stat gives it. */
  dev: bigint;
  ino: bigint;
  nlink: number;
  rdevMajor: number;
  rdevMinor: number;
  /** Access time in whole seconds, where the stat was taken for -U (the destination's); the native scan leaves it out. */
  atime?: number;
}

const NS = 1_000_000_000n;

/** A node bigint stat split as EntryStat: the mtime by floor division (negative times keep nsec in range), rdev decoded from glibc's dev_t. */
export function entryStatOf(st: BigIntStats): EntryStat {
  let sec = st.mtimeNs / NS;
  let nsec = st.mtimeNs - sec * NS;
  if (nsec < 0n) {
    sec -= 1n;
    nsec += NS;
  }
  const rdev = st.rdev;
  return {
    mode: Number(st.mode),
    size: Number(st.size),
    mtime: Number(sec),
    nsec: Number(nsec),
    uid: Number(st.uid),
    gid: Number(st.gid),
    dev: st.dev,
    ino: st.ino,
    nlink: Number(st.nlink),
    rdevMajor: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn & 0xffffffffn)),
    rdevMinor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn & 0xffffffffn)),
  };
}

/** One directory read, every entry lstat'ed (openat + getdents64 + statx/fstatat relative to the directory fd). */
export interface DirScan {
  /** Names in the order the system returned them, "." and ".." left out. */
  names: Uint8Array[];
  /** Per name: its lstat, or the positive errno its lstat failed with (e.g. it vanished: ENOENT). */
  stats: (EntryStat | number)[];
}

export interface Capabilities {
  /** "native" when the Zig core is loaded, "typescript" otherwise. */
  kind: "native" | "typescript";
  /** e.g. "avx2", "sse2", "neon", "scalar". */
  simd: string;
  /** io_uring usable in this process (probed with a real ring). */
  ioUring: boolean;
  /** Why the native core is not loaded (kind === "typescript"). */
  reason?: string;
}

export interface Core {
  readonly caps: Capabilities;

  /** rsync's get_checksum1 over `data` (bytes taken as signed): (s1 & 0xffff) | (s2 << 16), unsigned 32-bit. */
  rollingChecksum(data: Uint8Array): number;

  /**
   * The block-signature table of `data` in wire layout: for each block, its
   * rolling checksum as int32 LE followed by the first `strongLength` bytes of
   * its strong digest. Returns count * (4 + strongLength) bytes.
   */
  blockSums(data: Uint8Array, p: BlockSumParams): Uint8Array;

  /**
   * The sender's delta of `data` against the receiver's block table `sums`
   * (wire layout, as blockSums makes it): pairs (block, length), block -1
   * for a literal run, in upstream's match.c order and choices.
   */
  matchBlocks(data: Uint8Array, sums: Uint8Array, p: MatchParams): Float64Array;

  /**
   * The same matching for a file of `length` bytes read in windows, so that
   * it never has to be in memory whole: the ops equal matchBlocks's over the
   * whole data however the file is cut.
   */
  createMatcher(sums: Uint8Array, p: MatchParams, length: number): BlockMatcher;

  /** One-shot digest, wire byte order. `seed` only affects xxHash algorithms (sign-extended int32, or a bigint). */
  hash(alg: HashAlg, data: Uint8Array, seed?: number | bigint): Uint8Array;

  /** Streaming digest; same result as `hash` over the concatenated updates. */
  createHasher(alg: HashAlg, seed?: number | bigint): Hasher;

  /**
   * `src` as one raw LZ4 block (block format only: no frame, no dictionary)
   * into `dst`: the block's length, or 0 when it does not fit. A `dst` of
   * lz4CompressBound(src.length) bytes always suffices. The native and
   * TypeScript blocks may differ byte for byte; each decodes the other's.
   */
  lz4Compress(src: Uint8Array, dst: Uint8Array): number;

  /** Decodes the raw LZ4 block `src` into `dst`: the bytes written, or -1 when the block is malformed or `dst` too small. Safe on hostile input. */
  lz4Decompress(src: Uint8Array, dst: Uint8Array): number;

  /** Reads directory `path` (raw bytes, no NUL) with the lstat of each entry; a prefetched result is taken if there is one (waiting for it if it is being made). Throws a node-style error for the directory itself: an Error with `code` ("ENOENT", "EACCES", "ENOTDIR", ...), `errno` (negative, as node's), `syscall` "scandir", message like node's ("EACCES: permission denied, scandir '<path>'"). */
  scanDir(path: Uint8Array): DirScan;

  /** scanDir of the directory open as `dirFd` (a fresh descriptor; the caller closes it), for a caller that opened it its own way (confined beneath a root); `path` only names it in errors. Entries are lstat'ed relative to it; nothing prefetched applies. */
  scanDirAt(dirFd: number, path: Uint8Array): DirScan;

  /** A hint: these directories will be scanned soon; worker threads may scan them in the background (at most a bounded number queued/held, e.g. 256 results or 64 MiB; extra hints are dropped). The TS twin ignores it. When the table is full, the oldest hints of earlier calls make room, so hints never taken (directories a filter excludes) cost some wasted scans but never stop prefetching; hinting only directories the walk will enter avoids that waste. */
  prefetchDirs(paths: Uint8Array[]): void;

  /** Drops every prefetched result not taken yet and lets queued work go (end of a walk). */
  endScans(): void;

  /** --open-noatime: from now on scanDir (and the prefetch) opens directories with O_NOATIME where the kernel allows it (the directory's owner), so reading them leaves their access times alone. */
  scanNoatime(on: boolean): void;

  /**
   * The whole-file digest (seed 0) of the regular file `path` when it is exactly `size` bytes: null when it is
   * not (missing, another type or size, unreadable, shorter when read), so that the caller's own path reports why.
   * A hinted file's digest is taken from the background work (waiting if it is being made).
   */
  fileSum(path: Uint8Array, size: number, alg: HashAlg): Uint8Array | null;

  /**
   * A hint: fileSum will be asked for these files (each of its size), in this order; worker threads may hash them ahead.
   * `paths` holds sizes.length paths, each ended by a NUL (none empty, none holding a NUL, each shorter than PATH_MAX:
   * the caller leaves such paths out). Returns how many were taken (offer the rest again later); the TS twin takes none.
   */
  prefetchFileSums(paths: Uint8Array, sizes: Float64Array, alg: HashAlg): number;

  /**
   * The lstat a hinted file's hashing began with (for the generator's own stat of it: one stat, not two): the stat,
   * the errno of the failed lstat, or undefined when the file was not hinted with this size and algorithm (stat it
   * yourself; the TS twin hints nothing). The file stays hinted for the fileSum that follows.
   */
  fileSumStat(path: Uint8Array, size: number, alg: HashAlg): EntryStat | number | undefined;

  /** Drops every hinted file sum not taken yet. */
  endFileSums(): void;

  /**
   * The sender's open of a file to send, with `flags` (O_RDONLY, maybe O_NOATIME): a regular file of at most
   * `into.length` bytes is read whole into `into` and closed (fd -1, `read` bytes); anything else is left open
   * at offset 0 (fd). Throws the open's (or fstat's) error as node's fs does (its code, e.g. ENOENT).
   * `dirFd`: a directory descriptor `path` is relative to (Linux); without it, the working directory.
   */
  readSource(path: Uint8Array, flags: number, into: Uint8Array, dirFd?: number): SourceRead;

  /** Puts received files in place: on a worker thread (native), or at once (the TS twin). See FileWriter. */
  fileWriter: FileWriter;

  /** The generator's destination lstats done ahead on a worker thread (native); the TS twin takes no jobs. See StatPrefetcher. */
  statPrefetcher: StatPrefetcher;
}

/**
 * lstats of destination entries done ahead, directory by directory, by a
 * worker thread (zig/stat_prefetch.zig). Each name of a job gets a slot
 * (numbered 0, 1, ... over the process's life, in the order given); slots are
 * done in order, and a done slot holds its record until the caller lets it go
 * (skipBelow), after which the ring reuses its memory.
 */
export interface StatPrefetcher {
  /** Records held at once: slots given and not let go never exceed it. 0 for the TS twin (it takes no jobs). */
  readonly slots: number;
  /**
   * Queues the lstat of each of the `count` names in the directory `dir`
   * (its whole path): `names` holds them one after the other, each followed
   * by a NUL (names without a slash; the caller packs them in place, without
   * a view per name), and is copied. The first name's slot, the others' after
   * it; or -1 when it is not taken (the ring or the queue is full: offer it
   * again later).
   */
  submit(dir: Uint8Array, names: Uint8Array, count: number): number;
  /** Lets the jobs given so far start now (the worker is otherwise woken once per batch). */
  kick(): void;
  /** How many slots are done (0..done-1). */
  done(): number;
  /** Slots below `slot` are not wanted any more: their memory may be reused, and the worker skips those not done yet. */
  skipBelow(slot: number): void;
  /** A done slot's record (not let go): the entry's lstat as fd-ops lstatAt gives it, or the positive errno of its lstat or of its directory's open. */
  record(slot: number): EntryStat | number;
}

/** What Core.readSource found: an open descriptor (fd >= 0), or the file read whole (fd -1); its fstat size. */
export interface SourceRead {
  fd: number;
  size: number;
  read: number;
}

/** Which attributes a FileJob sets (zig/file_writer.zig Attr). */
export const WRITE_ATTR = { uid: 1, gid: 2, mode: 4, mtime: 8, atime: 16 } as const;

/** The step of a job that failed (zig/file_writer.zig Step). */
export const WRITE_STEP = ["none", "open", "write", "fstat", "chown", "chmod", "utimes", "close", "rename", "stat_dir", "utimes_dir"] as const;
export type WriteStep = (typeof WRITE_STEP)[number];

/**
 * A received, verified file (receiver.c receive_data + finish_transfer): the
 * temp file `temp` is created exclusively in the directory `dirFd` with
 * `createMode`, gets `data`, then (through its descriptor, each only when it
 * differs) the owner, the mode and the times `attrs` names, and is renamed
 * over `final`. `data` must stay untouched until the job is done.
 */
export interface FileJob {
  dirFd: number;
  temp: Uint8Array;
  final: Uint8Array;
  data: Uint8Array[];
  createMode: number;
  attrs: number;
  uid: number;
  gid: number;
  mode: number;
  mtime: number;
  nsec: number;
  atime: number;
  /** Called once the job is done (failed or not) and `data` is no longer read: its memory may be reused. */
  released?: () => void;
}

/**
 * generator.c touch_up_dirs for one directory, by its whole path: its mtime
 * set when it differs (`window`: -1 to the nanosecond, 0 whole seconds, N
 * within N seconds); nothing when it is missing or no directory.
 */
export interface DirTimesJob {
  path: Uint8Array;
  mtime: number;
  nsec: number;
  window: number;
}

export interface WriteFailure {
  seq: number;
  /** Positive errno. */
  errno: number;
  step: WriteStep;
}

/**
 * Jobs run strictly in the order they were given, each numbered (1, 2, ...).
 * A failed job leaves no temp file behind and is reported by takeFailure;
 * the jobs after it still run.
 */
export interface FileWriter {
  putFile(job: FileJob): number;
  touchDir(job: DirTimesJob): number;
  /** Closes a directory descriptor once the jobs before this one (which may use it) are done. */
  closeLater(fd: number): number;
  /** Lets the jobs given so far start now: call before going idle (a native worker is otherwise woken once per batch). */
  kick(): void;
  /** How many jobs are done (1..completed). */
  completed(): number;
  /** Blocks until job `seq` and all before it are done. */
  wait(seq: number): void;
  takeFailure(): WriteFailure | null;
}

/** The largest LZ4 block `n` bytes of input can need (all literals, their length bytes, and margin). */
export function lz4CompressBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

/** Upstream's `%C` / `--checksum` hex text for a wire digest: xxHash values are printed most significant byte first. */
export function digestHex(alg: HashAlg, digest: Uint8Array): string {
  const bytes = isXxh(alg) ? Uint8Array.from(digest).reverse() : digest;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}
