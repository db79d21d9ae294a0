/**
 * The plain TypeScript twin of the native core: the fallback when the Zig
 * library cannot load, and the oracle the native functions are tested against.
 */
import type { Core } from "../api.ts";
import { createHasher, hash } from "./algorithms.ts";
import { blockSums } from "./block-sums.ts";
import { lz4Compress, lz4Decompress } from "./lz4.ts";
import { createMatcher, matchBlocks } from "./matcher.ts";
import { rollingChecksum } from "./rolling.ts";
import { endFileSums, fileSum, fileSumStat, prefetchFileSums } from "./file-sums.ts";
import { endScans, prefetchDirs, scanDir, scanDirAt, scanNoatime } from "./scan.ts";
import { createFileWriter } from "./file-writer.ts";
import { readSource } from "./source-read.ts";
import { createStatPrefetcher } from "./stat-prefetch.ts";

// Plain functions, no `this`: callers may spread the object (see ../index.ts).
export const tsCore: Core = {
  caps: { kind: "typescript", simd: "scalar", ioUring: false },
  rollingChecksum,
  blockSums,
  matchBlocks,
  createMatcher,
  hash,
  createHasher,
  lz4Compress,
  lz4Decompress,
  scanDir,
  scanDirAt,
  prefetchDirs,
  endScans,
  scanNoatime,
  fileSum,
  fileSumStat,
  prefetchFileSums,
  endFileSums,
  readSource,
  fileWriter: createFileWriter(),
  statPrefetcher: createStatPrefetcher(),
};
