/**
 * Decompressed data handed out as views of reused slabs (src/compress/output-slabs.ts):
 * a piece must keep its bytes until it is given back, however much is
 * inflated after it; given-back slabs must be used again; and the file
 * writers must say when a job's data is free.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { giveBack, SLAB_SIZE } from "../../src/compress/output-slabs.ts";
import { ZlibEngine, Z_NO_FLUSH, Z_SYNC_FLUSH, ZSTD_E_CONTINUE, ZSTD_E_FLUSH } from "../../src/compress/zlib-engine.ts";
import { core, tsCore } from "../../src/native/index.ts";
import { openDir } from "../../src/fs/fd-ops.ts";
import { noise } from "../helpers/noise.ts";

/** Half noise, half runs: a few KiB of input inflate to tens of KiB. */
function fileData(i: number): Uint8Array {
  const n = 20_000 + ((i * 7919) % 60_000);
  const out = new Uint8Array(n);
  out.set(noise(n >> 1, i + 1));
  out.fill(i & 0xff, n >> 1);
  return out;
}

const KINDS = [
  { name: "zstd", compress: () => ZlibEngine.zstdCompress(3), flush: ZSTD_E_FLUSH, decompress: () => ZlibEngine.zstdDecompress(), feed: ZSTD_E_CONTINUE },
  { name: "deflate", compress: () => ZlibEngine.deflateRaw(6), flush: Z_SYNC_FLUSH, decompress: () => ZlibEngine.inflateRaw(), feed: Z_NO_FLUSH },
];

/** `files` inputs compressed as one stream, each flushed, and a decompressor for it. */
function stream(kind: (typeof KINDS)[number], files: number) {
  const c = kind.compress();
  const inputs = Array.from({ length: files }, (_, i) => fileData(i));
  const payloads = inputs.map((data) => c.write(data, kind.flush));
  return { inputs, payloads, d: kind.decompress() };
}

function drain(d: ZlibEngine): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let p = d.pump(); p !== null; p = d.pump()) pieces.push(p);
  return pieces;
}

const joined = (pieces: Uint8Array[]) => Buffer.concat(pieces);

describe("inflated pieces in slabs", () => {
  for (const kind of KINDS) {
    test(`${kind.name}: pieces kept, never given back, all keep their bytes (several slabs' worth)`, () => {
      const { inputs, payloads, d } = stream(kind, 80);
      const kept: Uint8Array[][] = [];
      for (const payload of payloads) {
        d.feed(payload, kind.feed);
        kept.push(drain(d));
      }
      expect(inputs.reduce((n, x) => n + x.length, 0)).toBeGreaterThan(2 * SLAB_SIZE);
      kept.forEach((pieces, i) => expect(joined(pieces).equals(Buffer.from(inputs[i]!))).toBe(true));
    });

    test(`${kind.name}: slabs given back are used again, and a piece still held is not overwritten`, () => {
      const { inputs, payloads, d } = stream(kind, 300);
      const slabs = new Set<ArrayBufferLike>();
      const held: { i: number; pieces: Uint8Array[] }[] = [];
      payloads.forEach((payload, i) => {
        d.feed(payload, kind.feed);
        const pieces = drain(d);
        expect(joined(pieces).equals(Buffer.from(inputs[i]!))).toBe(true);
        for (const p of pieces) slabs.add(p.buffer);
        // Two files are held to the end (as if still in the writer's queue); the rest go back at once.
        if (i === 3 || i === 150) held.push({ i, pieces });
        else giveBack(pieces);
      });
      // 300 files of ~50 KiB are ~15 MiB, fifteen slabs or more without reuse. With it: the slabs of the two
      // held files (each may straddle two), the one being cut and the one before it, whose last file is still out.
      expect(slabs.size).toBeLessThanOrEqual(6);
      for (const h of held) expect(joined(h.pieces).equals(Buffer.from(inputs[h.i]!))).toBe(true);
      for (const h of held) giveBack(h.pieces);
    });
  }

  test("arrays that did not come from a slab are ignored when given back", () => {
    const mine = Uint8Array.of(1, 2, 3);
    giveBack([mine, new Uint8Array(0)]);
    expect(Array.from(mine)).toEqual([1, 2, 3]);
  });
});

describe("file writers release a job's data once done", () => {
  const root = mkdtempSync(join(tmpdir(), "oc-slabs-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  for (const [name, writer] of [
    ["native", core.fileWriter],
    ["twin", tsCore.fileWriter],
  ] as const) {
    test(`${name}: released once the file is written`, () => {
      const dirFd = openDir(Buffer.from(root), () => root);
      const data = [Buffer.from(`${name} data`)];
      let released = 0;
      const job = { dirFd, temp: Buffer.from(`.${name}.tmp`), final: Buffer.from(name), data, createMode: 0o644, attrs: 0, uid: 0, gid: 0, mode: 0o644, mtime: 0, nsec: 0, atime: 0 };
      const seq = writer.putFile({ ...job, released: () => released++ });
      writer.kick();
      writer.wait(seq);
      writer.completed();
      expect(released).toBe(1);
      expect(readFileSync(join(root, name), "latin1")).toBe(`${name} data`);
    });
  }
});
