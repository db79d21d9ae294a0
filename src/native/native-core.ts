/**
 * The Core contract implemented over the Zig library. Typed arrays are passed
 * straight through (bun:ffi hands native a pointer to their bytes, no copy).
 */
import { systemError } from "../fs/errors.ts";
import type { BlockMatcher, BlockSumParams, Capabilities, Core, DirScan, EntryStat, HashAlg, Hasher, MatchParams } from "./api.ts";
import { MAX_DIGEST_LENGTH, digestLength } from "./api.ts";
import type { NativeLibrary } from "./load.ts";
import { fileSum as twinFileSum } from "./ts/file-sums.ts";
import { CHUNK_SIZE } from "./ts/matcher.ts";
import { scanDir as twinScanDir, scanDirAt as twinScanDirAt, scanNoatime as twinScanNoatime } from "./ts/scan.ts";
import { readSource as twinReadSource } from "./ts/source-read.ts";
import { AT_FDCWD } from "../fs/fd-ops.ts";
import { createFileWriter as twinFileWriter } from "./ts/file-writer.ts";
import { createNativeWriter } from "./native-writer.ts";
import { REC, createNativeStatPrefetcher, statOfRecord } from "./native-stat-prefetch.ts";
import { createStatPrefetcher as twinStatPrefetcher } from "./ts/stat-prefetch.ts";

const SIMD_NAMES = ["scalar", "sse2", "avx2", "neon"];

/** bun:ffi turns an empty typed array into a null pointer; native signatures take non-null ones. */
const EMPTY = new Uint8Array(1);
const bytesOf = (data: Uint8Array) => (data.byteLength === 0 ? EMPTY : data);

/** Released hasher states kept for reuse. */
const SPARE_STATES = 4;

function toSeed(seed: number | bigint | undefined): number | bigint {
  if (seed === undefined) return 0;
  // An int32 seed is sign-extended, as rsync does when it passes its seed to xxHash. (A number goes to the
  // i64 argument as it is: no BigInt, a heap cell, per file hashed.)
  return typeof seed === "bigint" ? BigInt.asIntN(64, seed) : seed | 0;
}

function check(result: number, what: string): number {
  if (result < 0) throw new RangeError(`native ${what} failed (errno ${-result})`);
  return result;
}

/** zig/scan.zig's result layout: a header (u32 entry count), fixed records, then every name. */
const SCAN_HEADER = 8;
const SCAN_RECORD = 72;
const ENOSPC = 28;
const ENOSYS = 38;
/** The kernel's PATH_MAX, NUL included: a longer path is never a directory. */
const PATH_MAX = 4096;
/** The scan buffer's usual size; one grown past it for a huge directory is let go at the end of the walk. */
const SCAN_BUFFER = 256 * 1024;

/** matcher.zig Params: eight 32-bit fields. */
function matchParams(p: MatchParams): Uint32Array {
  return new Uint32Array([p.count, p.blockLength, p.remainder, p.strongLength, p.alg, p.seed | 0, p.seedOrder, p.updatingBasis ? 1 : 0]);
}

/**
 * f64 slots (two per op) for the ops of `n` bytes, as matcher.zig capacity:
 * a block op and the literal run before it for each block (a block after
 * every literal byte makes two ops per block), a flush per CHUNK_SIZE of
 * literal bytes, the last run, and room for the walk's last turn.
 */
function opsCapacity(n: number, blockLength: number): number {
  return 2 * (2 * Math.floor(n / Math.max(blockLength, 1)) + Math.floor(n / CHUNK_SIZE) + 8);
}

/** Byte offsets in matcher.zig's State (after Params' 32 bytes): base, last_match, phase (its comptime asserts keep them). */
const STATE_BASE = 40;
const STATE_LAST_MATCH = 56;
const STATE_PHASE = 88;
/** ... and its counters: hash_hits, false_alarms, matches (u64 each). */
const STATE_HASH_HITS = 96;
const STATE_FALSE_ALARMS = 104;
const STATE_MATCHES = 112;
const PHASE_DONE = 4;

/** Node refuses an empty path or one with a NUL before any system call; for those the twin throws node's own error. */
const nativePath = (p: Uint8Array) => p.length > 0 && p.indexOf(0) < 0;

/** The error node's readdirSync throws for the directory itself (node shows the path as UTF-8). */
function scanError(errno: number, path: Uint8Array): Error {
  return systemError(errno, "scandir", Buffer.from(path.buffer, path.byteOffset, path.byteLength).toString());
}

/** The stat in the record at `at` (its layout: zig/scan.zig Record). 64-bit numbers come as halves: a bigint read is slow. */
function recordStat(v: DataView, at: number): EntryStat {
  return {
    mode: v.getUint32(at + 8, true),
    size: v.getUint32(at + 48, true) + v.getUint32(at + 52, true) * 2 ** 32,
    mtime: v.getUint32(at + 40, true) + v.getInt32(at + 44, true) * 2 ** 32,
    nsec: v.getUint32(at + 32, true),
    uid: v.getUint32(at + 12, true),
    gid: v.getUint32(at + 16, true),
    dev: v.getBigUint64(at + 64, true),
    ino: v.getBigUint64(at + 56, true),
    nlink: v.getUint32(at + 20, true),
    rdevMajor: v.getUint32(at + 24, true),
    rdevMinor: v.getUint32(at + 28, true),
  };
}

function decodeScan(bytes: Uint8Array, v: DataView, length: number): DirScan {
  const count = v.getUint32(0, true);
  // One copy holds every name; each name is a view of it (the buffer is reused by the next scan).
  const allNames = bytes.slice(SCAN_HEADER + count * SCAN_RECORD, length);
  const names: Uint8Array[] = [];
  const stats: (EntryStat | number)[] = [];
  for (let i = 0, at = SCAN_HEADER, nameAt = 0; i < count; i++, at += SCAN_RECORD) {
    const nameLength = v.getUint32(at, true);
    names.push(allNames.subarray(nameAt, nameAt + nameLength));
    nameAt += nameLength;
    const errno = v.getUint32(at + 4, true);
    stats.push(errno === 0 ? recordStat(v, at) : errno);
  }
  return { names, stats };
}

/** NUL-separated, as oc_scan_prefetch takes them; paths native would refuse are left out. */
function pathList(paths: Uint8Array[]): Uint8Array {
  const usable = paths.filter((p) => nativePath(p) && p.length < PATH_MAX);
  const list = new Uint8Array(usable.reduce((n, p) => n + p.length + 1, 0));
  let at = 0;
  for (const p of usable) {
    list.set(p, at);
    at += p.length + 1;
  }
  return list;
}

function createScanner(s: NativeLibrary["symbols"]): Pick<Core, "scanDir" | "scanDirAt" | "prefetchDirs" | "endScans" | "scanNoatime"> {
  // Reused by every scan (JS runs one at a time); grown when native asks for more.
  let out = new Uint8Array(SCAN_BUFFER);
  let view = new DataView(out.buffer);
  const resize = (size: number) => {
    out = new Uint8Array(size);
    view = new DataView(out.buffer);
  };
  return {
    scanDir(path) {
      if (!nativePath(path)) return twinScanDir(path);
      for (;;) {
        const n = Number(s.oc_scan_dir(path, path.length, out, out.length));
        if (n >= 0) return decodeScan(out, view, n);
        // Native keeps the result for the retry.
        if (n === -ENOSPC) resize(Math.max(Number(view.getBigUint64(0, true)), 2 * out.length));
        else if (n === -ENOSYS) return twinScanDir(path);
        else throw scanError(-n, path);
      }
    },

    scanDirAt(dirFd, path) {
      for (;;) {
        const n = Number(s.oc_scan_fd(dirFd, out, out.length));
        if (n >= 0) return decodeScan(out, view, n);
        if (n === -ENOSPC) resize(Math.max(Number(view.getBigUint64(0, true)), 2 * out.length));
        else if (n === -ENOSYS) return twinScanDirAt(dirFd, path);
        else throw scanError(-n, path);
      }
    },

    prefetchDirs(paths) {
      const list = pathList(paths);
      if (list.length > 0) s.oc_scan_prefetch(list, list.length);
    },

    endScans() {
      s.oc_scan_end();
      if (out.length > SCAN_BUFFER) resize(SCAN_BUFFER);
    },

    scanNoatime(on) {
      s.oc_scan_noatime(on);
      // (Paths native will not take are read by the twin.)
      twinScanNoatime(on);
    },
  };
}

function createFileSums(s: NativeLibrary["symbols"]): Pick<Core, "fileSum" | "fileSumStat" | "prefetchFileSums" | "endFileSums"> {
  const digest = new Uint8Array(MAX_DIGEST_LENGTH);
  const rec = new Float64Array(REC);
  return {
    fileSumStat(path, size, alg) {
      if (!nativePath(path) || path.length >= PATH_MAX) return undefined;
      return s.oc_file_sum_stat(path, path.length, size, alg, rec) > 0 ? statOfRecord(rec, 0) : undefined;
    },

    fileSum(path, size, alg) {
      if (!nativePath(path) || path.length >= PATH_MAX) return twinFileSum(path, size, alg);
      const n = s.oc_file_sum(path, path.length, size, alg, digest);
      if (n === -ENOSYS) return twinFileSum(path, size, alg);
      return n > 0 ? digest.slice(0, n) : null;
    },

    prefetchFileSums(paths, sizes, alg) {
      return sizes.length === 0 ? 0 : Math.max(0, s.oc_file_sums_prefetch(paths, paths.length, sizes, sizes.length, alg));
    },

    endFileSums() {
      s.oc_file_sums_end();
    },
  };
}

/** Core.readSource in one native call (open, fstat, read, close); names native cannot take go through the twin. */
function createSourceReader(s: NativeLibrary["symbols"]): Core["readSource"] {
  const out = new Float64Array(3);
  return (path, flags, into, dirFd = AT_FDCWD) => {
    if (!nativePath(path) || path.length >= PATH_MAX) return twinReadSource(path, flags, into, dirFd);
    const rc = s.oc_read_source(dirFd, path, path.length, flags, into, into.length, out);
    if (rc === -ENOSYS) return twinReadSource(path, flags, into, dirFd);
    if (rc < 0) throw systemError(-rc, "open", Buffer.from(path).toString("latin1"));
    return { fd: out[0]!, size: out[1]!, read: out[2]! };
  };
}

export function createNativeCore(lib: NativeLibrary): Core {
  const s = lib.symbols;
  const uring = s.oc_io_uring_probe();
  const caps: Capabilities = {
    kind: "native",
    simd: SIMD_NAMES[s.oc_simd_level()] ?? "unknown",
    ioUring: uring === 1,
  };
  const stateSize = s.oc_hash_state_size();
  /** Released hasher states, for the next createHasher (one per received file would otherwise be a new buffer). */
  const spareStates: Uint8Array[] = [];

  return {
    caps,
    ...createScanner(s),
    ...createFileSums(s),
    readSource: createSourceReader(s),
    // (The worker is Linux only, as is every caller: jobs need directory descriptors.)
    fileWriter: process.platform === "linux" ? createNativeWriter(s) : twinFileWriter(),
    statPrefetcher: process.platform === "linux" ? createNativeStatPrefetcher(s) : twinStatPrefetcher(),

    rollingChecksum(data) {
      return s.oc_rolling_checksum(bytesOf(data), data.byteLength);
    },

    blockSums(data: Uint8Array, p: BlockSumParams) {
      const { blockLength, strongLength } = p;
      if (!(blockLength > 0) || strongLength < 1 || strongLength > digestLength(p.alg)) {
        throw new RangeError(`bad block-sum parameters ${blockLength}/${strongLength}`);
      }
      const count = Math.ceil(data.byteLength / blockLength);
      const out = new Uint8Array(count * (4 + strongLength));
      if (count === 0) return out;
      check(
        Number(s.oc_block_sums(data, data.byteLength, blockLength, strongLength, p.alg, p.seed | 0, p.seedOrder, out)),
        "block sums",
      );
      return out;
    },

    matchBlocks(data: Uint8Array, sums: Uint8Array, p: MatchParams) {
      const out = new Float64Array(opsCapacity(data.byteLength, p.blockLength));
      const n = check(Number(s.oc_match_blocks(matchParams(p), bytesOf(data), data.byteLength, bytesOf(sums), out, out.length)), "block matching");
      return out.subarray(0, n);
    },

    createMatcher(sums: Uint8Array, p: MatchParams, length: number): BlockMatcher {
      const params = matchParams(p);
      // The state (matcher.zig State, then the hash table and chains) is ours: nothing to free on the native side.
      const state = new Uint8Array(Number(s.oc_match_state_size(params)));
      check(Number(s.oc_match_init(params, bytesOf(sums), length, state, state.byteLength)), "matcher setup");
      const fields = new DataView(state.buffer);
      let out = new Float64Array(0);
      return {
        step(window: Uint8Array, base: number) {
          fields.setBigUint64(STATE_BASE, BigInt(base), true);
          const need = opsCapacity(window.byteLength, p.blockLength);
          if (out.length < need) out = new Float64Array(need);
          const n = check(Number(s.oc_match_step(state, state.byteLength, bytesOf(sums), bytesOf(window), window.byteLength, out, out.length)), "block matching");
          return out.slice(0, n);
        },
        get pendingFrom() {
          return Number(fields.getBigUint64(STATE_LAST_MATCH, true));
        },
        get done() {
          return fields.getUint32(STATE_PHASE, true) === PHASE_DONE;
        },
        get counts() {
          return {
            hashHits: Number(fields.getBigUint64(STATE_HASH_HITS, true)),
            falseAlarms: Number(fields.getBigUint64(STATE_FALSE_ALARMS, true)),
            matches: Number(fields.getBigUint64(STATE_MATCHES, true)),
          };
        },
      };
    },

    lz4Compress(src: Uint8Array, dst: Uint8Array) {
      return Number(s.oc_lz4_compress(bytesOf(src), src.byteLength, bytesOf(dst), dst.byteLength));
    },

    lz4Decompress(src: Uint8Array, dst: Uint8Array) {
      const n = Number(s.oc_lz4_decompress(bytesOf(src), src.byteLength, bytesOf(dst), dst.byteLength));
      return n < 0 ? -1 : n;
    },

    hash(alg: HashAlg, data: Uint8Array, seed?: number | bigint) {
      const out = new Uint8Array(digestLength(alg));
      check(s.oc_hash(alg, bytesOf(data), data.byteLength, toSeed(seed), out), "hash");
      return out;
    },

    createHasher(alg: HashAlg, seed?: number | bigint): Hasher {
      // A fresh ArrayBuffer is at least 8-byte aligned, which the state needs.
      let state: Uint8Array | null = spareStates.pop() ?? new Uint8Array(stateSize);
      check(s.oc_hash_init(state, alg, toSeed(seed)), "hash init");
      return {
        update(data) {
          if (!state) throw new Error("hasher used after release");
          if (data.byteLength > 0) s.oc_hash_update(state, data, data.byteLength);
        },
        digest() {
          if (!state) throw new Error("hasher used after release");
          const out = new Uint8Array(digestLength(alg));
          check(s.oc_hash_final(state, out), "hash final");
          return out;
        },
        release() {
          if (state && spareStates.length < SPARE_STATES) spareStates.push(state);
          state = null;
        },
      };
    },
  };
}
