/**
 * Every protocol item split at every point: the daemon's stream reaches our
 * client through a proxy in 1-7 byte pieces, so each decoder is interrupted
 * part-way and must resume exactly (a decoder that kept state from a
 * half-read item once misread file indexes on large pulls).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startUpstreamDaemon, type RunningDaemon } from "../helpers/daemon.ts";
import { startRechunkProxy, type Rechunker } from "../helpers/rechunk-proxy.ts";
import { runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

let work: string;
let daemon: RunningDaemon;
let proxy: Rechunker;

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-rechunk-"));
  const src = join(work, "src");
  for (let d = 0; d < 12; d++) {
    fs.mkdirSync(join(src, `dir${d}/sub`), { recursive: true });
    for (let f = 0; f < 15; f++) fs.writeFileSync(join(src, `dir${d}/f${f}`), `file ${d}/${f}\n`.repeat(f * 37));
    fs.writeFileSync(join(src, `dir${d}/sub/big`), Buffer.alloc(90_000 + d, d));
    fs.symlinkSync(`f${d}`, join(src, `dir${d}/link`));
  }
  fs.linkSync(join(src, "dir0/f3"), join(src, "dir5/hard"));
  ageTree(src, 1_480_000_000);
  daemon = await startUpstreamDaemon([{ name: "mod", path: src }]);
  proxy = await startRechunkProxy(daemon.port);
});

afterAll(async () => {
  proxy.stop();
  await daemon.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

test.each([32, 29, 27])("protocol %d: a pull through 1-7 byte pieces equals a direct upstream pull", async (protocol) => {
  const ours = join(work, `p${protocol}-oc`);
  const theirs = join(work, `p${protocol}-up`);
  const args = ["-aiH", `--protocol=${protocol}`];
  const oc = await runOc([...args, `rsync://127.0.0.1:${proxy.port}/mod/`, `${ours}/`]);
  const up = await runRsync([...args, daemon.url("mod"), `${theirs}/`]);
  expect(oc.stderr).toBe("");
  expect(oc.code).toBe(0);
  // Below protocol 29 the generator prints report-only lines and the receiver the transfers:
  // how the two interleave depends on timing (in upstream too), which the proxy changes.
  const lines = (text: string, dest: string) => {
    const l = text.replaceAll(dest, "DEST").split("\n");
    return protocol < 29 ? l.sort() : l;
  };
  expect(lines(oc.stdout, ours)).toEqual(lines(up.stdout, theirs));
  expect(snapshot(ours)).toEqual(snapshot(theirs));
}, 120_000);
