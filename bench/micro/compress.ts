/**
 * Micro-benchmark of the compressors behind -z, in MB/s of uncompressed
 * data: our streaming engines over node:zlib's handles (one long-lived
 * stream, a flush per token, as the token stream needs) against Bun's
 * one-shot calls on the same chunks (the floor: the same C code with no
 * stream kept), and LZ4 native vs its TypeScript twin. Run:
 *   bun bench/micro/compress.ts [--markdown]
 */
import zlib from "node:zlib";
import { bench, do_not_optimize, run, summary } from "mitata";
import { Z_NO_FLUSH, Z_SYNC_FLUSH, ZSTD_E_CONTINUE, ZSTD_E_FLUSH, ZlibEngine } from "../../src/compress/zlib-engine.ts";

/** One literal run as the sender hands it over (upstream's CHUNK_SIZE). */
const CHUNK = 32 * 1024;
/** Each call takes the next chunk of a corpus this big, so a stream's history never holds the same bytes. */
const CORPUS = 8 << 20;
const WORDS = ["the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ", "\n", "rsync ", "delta ", "int ", "return ", "{", "}", ";"];

function xorshift(): () => number {
  let x = 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** Words in random order: compresses about 3:1, like source code. */
function textCorpus(): Uint8Array {
  const next = xorshift();
  const parts: string[] = [];
  for (let n = 0; n < CORPUS; ) {
    const w = WORDS[next() % WORDS.length]!;
    parts.push(w);
    n += w.length;
  }
  return new TextEncoder().encode(parts.join("")).subarray(0, CORPUS);
}

function randomCorpus(): Uint8Array {
  const next = xorshift();
  const out = new Uint8Array(CORPUS);
  for (let i = 0; i < CORPUS; i++) out[i] = next();
  return out;
}

/** The next CHUNK of `data`, round and round. */
function chunks(data: Uint8Array): () => Uint8Array {
  let at = 0;
  return () => {
    if (at + CHUNK > data.length) at = 0;
    const c = data.subarray(at, at + CHUNK);
    at += CHUNK;
    return c;
  };
}

const inputs = { text: textCorpus(), random: randomCorpus() };
const rows: { name: string; mbps: number }[] = [];

for (const [kind, data] of Object.entries(inputs)) {
  const deflate = ZlibEngine.deflateRaw(6);
  const zstd = ZlibEngine.zstdCompress(3);
  const next = chunks(data);
  summary(() => {
    bench(`deflate 6, streaming engine, sync flush (${kind})`, () => do_not_optimize(deflate.write(next(), Z_SYNC_FLUSH)));
    bench(`deflate 6, zlib.deflateRawSync one-shot (${kind})`, () => do_not_optimize(zlib.deflateRawSync(next(), { level: 6 })));
    bench(`zstd 3, streaming engine, ZSTD_e_flush (${kind})`, () => do_not_optimize(zstd.write(next(), ZSTD_E_FLUSH)));
    bench(`zstd 3, Bun.zstdCompressSync one-shot (${kind})`, () => do_not_optimize(Bun.zstdCompressSync(next(), { level: 3 })));
  });

  // Decompression as a receiver meets it: one long-lived stream, payload after payload.
  const deflater = ZlibEngine.deflateRaw(6);
  const zstder = ZlibEngine.zstdCompress(3);
  const source = chunks(data);
  const deflated: Uint8Array[] = [];
  const zstded: Uint8Array[] = [];
  for (let i = 0; i < CORPUS / CHUNK; i++) {
    const c = source();
    deflated.push(deflater.write(c, Z_SYNC_FLUSH));
    zstded.push(zstder.write(c, ZSTD_E_FLUSH));
  }
  let inflate = ZlibEngine.inflateRaw();
  let unzstd = ZlibEngine.zstdDecompress();
  let di = 0;
  let zi = 0;
  bench(`inflate, streaming engine (${kind})`, () => {
    if (di === deflated.length) [inflate, di] = [ZlibEngine.inflateRaw(), 0];
    do_not_optimize(inflate.write(deflated[di++]!, Z_NO_FLUSH));
  });
  bench(`zstd decompress, streaming engine (${kind})`, () => {
    if (zi === zstded.length) [unzstd, zi] = [ZlibEngine.zstdDecompress(), 0];
    do_not_optimize(unzstd.write(zstded[zi++]!, ZSTD_E_CONTINUE));
  });
}

const markdown = process.argv.includes("--markdown");
const result = await run({ format: markdown ? "quiet" : "mitata" });
for (const b of result.benchmarks) {
  for (const r of b.runs) {
    const ns = r.stats?.avg;
    if (ns) rows.push({ name: r.name, mbps: CHUNK / 1e6 / (ns / 1e9) });
  }
}
if (markdown) {
  console.log("| benchmark (32 KiB chunks) | MB/s |\n|---|---:|");
  for (const r of rows) console.log(`| ${r.name} | ${r.mbps.toFixed(0)} |`);
} else {
  for (const r of rows) console.log(`${r.name.padEnd(60)} ${r.mbps.toFixed(0).padStart(7)} MB/s`);
}
