/**
 * Micro-benchmark of the native core (hashes, block sums, the block matcher, LZ4),
 * native vs TypeScript twin, in MB/s, and of the directory scan in ms per scan
 * (mitata measures; we convert its mean time per call). Run:
 *   npm run bench:micro            (or: bun bench/micro/hashes.ts --markdown)
 */
import { bench, do_not_optimize, run } from "mitata";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HashAlg, SeedOrder, core, lz4CompressBound, tsCore, type Core } from "../../src/native/index.ts";

if (core.caps.kind !== "native") {
  console.error(`native core not loaded (${core.caps.reason}); build it first (npm run build)`);
  process.exit(1);
}

const MiB = 1 << 20;
const big = new Uint8Array(MiB);
for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
const block = big.subarray(0, 700);

const matchParams = { blockLength: 700, strongLength: 2, alg: HashAlg.XXH3_128, seed: 12345, seedOrder: SeedOrder.Append, updatingBasis: false };
const editedSums = core.blockSums(big, matchParams);
const edited = new Uint8Array(MiB);
edited.set(big.subarray(0, 1000));
edited.set([1, 2, 3, 4, 5, 6, 7], 1000);
edited.set(big.subarray(1000, MiB - 7), 1007);

// LZ4 works on chunks of at most 16383 bytes in our use; this text compresses about 3:1, xorshift bytes not at all.
const CHUNK = 16 * 1024;
const WORDS = ["the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ", "\n", "rsync ", "delta "];
let text = "";
for (let i = 0; text.length < CHUNK; i++) text += WORDS[((i * 2654435761) >>> 20) % WORDS.length];
const textChunk = new TextEncoder().encode(text.slice(0, CHUNK));
const randomChunk = new Uint8Array(CHUNK);
for (let i = 0, x = 1; i < CHUNK; i++) {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  randomChunk[i] = x;
}
const lz4Out = new Uint8Array(lz4CompressBound(CHUNK));
const lz4Back = new Uint8Array(CHUNK);
const lz4Block = (chunk: Uint8Array) => lz4Out.slice(0, core.lz4Compress(chunk, lz4Out));
const textBlock = lz4Block(textChunk);
const randomBlock = lz4Block(randomChunk);

interface Case {
  name: string;
  bytes: number;
  fn: (c: Core) => unknown;
}

const cases: Case[] = [
  { name: "rolling checksum, 700 B block", bytes: 700, fn: (c) => c.rollingChecksum(block) },
  { name: "rolling checksum, 1 MiB", bytes: MiB, fn: (c) => c.rollingChecksum(big) },
  { name: "md4, 1 MiB", bytes: MiB, fn: (c) => c.hash(HashAlg.MD4, big) },
  { name: "md5, 1 MiB", bytes: MiB, fn: (c) => c.hash(HashAlg.MD5, big) },
  { name: "xxh64, 1 MiB", bytes: MiB, fn: (c) => c.hash(HashAlg.XXH64, big) },
  { name: "xxh3-64, 1 MiB", bytes: MiB, fn: (c) => c.hash(HashAlg.XXH3_64, big) },
  { name: "xxh3-128, 1 MiB", bytes: MiB, fn: (c) => c.hash(HashAlg.XXH3_128, big) },
  {
    name: "block sums md5, 1 MiB in 700 B blocks",
    bytes: MiB,
    fn: (c) => c.blockSums(big, { blockLength: 700, strongLength: 2, alg: HashAlg.MD5, seed: 12345, seedOrder: SeedOrder.Prepend }),
  },
  {
    name: "block sums xxh128, 1 MiB in 700 B blocks",
    bytes: MiB,
    fn: (c) => c.blockSums(big, { blockLength: 700, strongLength: 2, alg: HashAlg.XXH3_128, seed: 12345, seedOrder: SeedOrder.Append }),
  },
  // The sender's matcher on a 1 MiB file against its older self: an insertion near the start, so
  // every later block is found at a shifted offset (hash lookups, strong-sum checks, rolling).
  {
    name: "block matching xxh128, 1 MiB, shifted by an insertion",
    bytes: MiB,
    fn: (c) => c.matchBlocks(edited, editedSums, { ...matchParams, count: Math.ceil(MiB / 700), remainder: MiB % 700 }),
  },
  { name: "lz4 compress, 16 KiB of text", bytes: CHUNK, fn: (c) => c.lz4Compress(textChunk, lz4Out) },
  { name: "lz4 decompress, 16 KiB of text", bytes: CHUNK, fn: (c) => c.lz4Decompress(textBlock, lz4Back) },
  { name: "lz4 compress, 16 KiB incompressible", bytes: CHUNK, fn: (c) => c.lz4Compress(randomChunk, lz4Out) },
  { name: "lz4 decompress, 16 KiB incompressible", bytes: CHUNK, fn: (c) => c.lz4Decompress(randomBlock, lz4Back) },
];

// The sender's walk reads each directory and lstats every entry: 10k empty files (distinct inodes), page cache warm.
const SCAN_ENTRIES = 10_000;
const scanDirPath = mkdtempSync(join(tmpdir(), "oc-bench-scan-"));
for (let i = 0; i < SCAN_ENTRIES; i++) writeFileSync(join(scanDirPath, `file-${i}.txt`), "");
const scanPath = new Uint8Array(Buffer.from(scanDirPath));
const scanCases = [{ name: `scan a ${SCAN_ENTRIES / 1000}k-entry directory (readdir + lstat each)`, fn: (c: Core) => c.scanDir(scanPath) }];

for (const c of [...cases, ...scanCases]) {
  bench(`${c.name} | native`, () => do_not_optimize(c.fn(core)));
  bench(`${c.name} | typescript`, () => do_not_optimize(c.fn(tsCore)));
}

const { benchmarks } = await run({ format: "quiet" });
rmSync(scanDirPath, { recursive: true, force: true });
const meanNs = new Map<string, number>();
for (const b of benchmarks) {
  const stats = b.runs[0]?.stats;
  if (stats) meanNs.set(b.alias, stats.avg);
}
const mbps = (name: string, bytes: number) => bytes / 1e6 / ((meanNs.get(name) ?? NaN) / 1e9);

const rows = cases.map((c) => {
  const native = mbps(`${c.name} | native`, c.bytes);
  const ts = mbps(`${c.name} | typescript`, c.bytes);
  return [c.name, native.toFixed(0), ts.toFixed(0), `${(native / ts).toFixed(1)}x`];
});
const header = ["operation", "native MB/s", "TypeScript MB/s", "native / TS"];
console.log(`| ${header.join(" | ")} |`);
console.log(`|${header.map(() => "---").join("|")}|`);
for (const r of rows) console.log(`| ${r.join(" | ")} |`);

const ms = (name: string) => (meanNs.get(name) ?? NaN) / 1e6;
const scanHeader = ["operation", "native ms", "TypeScript ms", "TS / native"];
console.log(`\n| ${scanHeader.join(" | ")} |`);
console.log(`|${scanHeader.map(() => "---").join("|")}|`);
for (const c of scanCases) {
  const native = ms(`${c.name} | native`);
  const ts = ms(`${c.name} | typescript`);
  console.log(`| ${[c.name, native.toFixed(2), ts.toFixed(2), `${(ts / native).toFixed(1)}x`].join(" | ")} |`);
}
console.log(`\n(${core.caps.simd} build, ${process.platform}-${process.arch}, Bun ${Bun.version})`);
