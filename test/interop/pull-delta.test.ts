/**
 * Pull, edit the source, pull again: for every protocol 27-32 and every
 * checksum choice, oc-rsync and upstream's client must leave the same tree
 * and itemize the same changes. The edits exercise the delta path
 * (insertions, appends, truncations in large files) and the metadata paths
 * (mode-only, time-only, type changes, deletions).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimes } from "../../src/fs/libc.ts";
import { startUpstreamDaemon, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

let work: string;
let daemon: RunningDaemon;
const src = () => join(work, "src");

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function buildV1(root: string): void {
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(join(root, "d/e"), { recursive: true });
  fs.mkdirSync(join(root, "becomes-file"));
  fs.writeFileSync(join(root, "becomes-file/inside"), "x");
  fs.writeFileSync(join(root, "big"), pattern(1_500_000, 1));
  fs.writeFileSync(join(root, "grows"), pattern(200_000, 2));
  fs.writeFileSync(join(root, "shrinks"), pattern(300_000, 3));
  fs.writeFileSync(join(root, "mode-only"), "same content\n");
  fs.writeFileSync(join(root, "time-only"), "same content\n");
  fs.writeFileSync(join(root, "removed"), "gone soon\n");
  fs.writeFileSync(join(root, "becomes-dir"), "a file for now\n");
  fs.writeFileSync(join(root, "d/e/small"), "small\n");
  fs.symlinkSync("big", join(root, "link"));
  ageTree(root, 1_400_000_000);
}

/** The edits between the two pulls. */
function editToV2(root: string): void {
  const big = fs.readFileSync(join(root, "big"));
  // An insertion in the middle and a changed block near the end: most blocks still match.
  fs.writeFileSync(join(root, "big"), Buffer.concat([big.subarray(0, 700_000), Buffer.from("INSERTED TEXT"), big.subarray(700_000, 1_400_000), pattern(1000, 9), big.subarray(1_401_000)]));
  fs.appendFileSync(join(root, "grows"), pattern(50_000, 4));
  fs.truncateSync(join(root, "shrinks"), 123_457);
  fs.chmodSync(join(root, "mode-only"), 0o755); // still readable by the daemon (it runs as nobody)
  fs.rmSync(join(root, "removed"));
  fs.rmSync(join(root, "becomes-dir"));
  fs.mkdirSync(join(root, "becomes-dir"));
  fs.writeFileSync(join(root, "becomes-dir/new"), "new\n");
  fs.rmSync(join(root, "becomes-file"), { recursive: true });
  fs.writeFileSync(join(root, "becomes-file"), "now a file\n");
  fs.rmSync(join(root, "link"));
  fs.symlinkSync("grows", join(root, "link"));
  ageTree(root, 1_450_000_000);
  // time-only: same content and size, a different mtime (ageTree moved all others too).
  setTimes(join(root, "time-only"), 1_455_555_555, 123, false);
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-delta-"));
  fs.mkdirSync(src());
  daemon = await startUpstreamDaemon([{ name: "mod", path: src() }]);
});

afterAll(async () => {
  await daemon.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const rename = (text: string, from: string) => text.replaceAll(from, "DEST");

/**
 * An -i listing as two sequences: the "*deleting" lines and the rest, each in
 * its order. From protocol 29 a directory's report-only item goes to the
 * sender and is printed when it comes back, while the generator prints its
 * deletions as it makes them: which comes first depends on the load, in
 * upstream's client as in ours. The order within each kind does not.
 */
function listing(text: string): { deletions: string[]; items: string[] } {
  const lines = text.split("\n").filter(Boolean);
  return { deletions: lines.filter((l) => l.startsWith("*deleting")), items: lines.filter((l) => !l.startsWith("*deleting")) };
}

async function scenario(args: string[], name: string) {
  buildV1(src());
  const ours = join(work, `${name}-oc`);
  const theirs = join(work, `${name}-up`);
  const url = daemon.url("mod");
  const first = [await runOc([...args, url, `${ours}/`]), await runRsync([...args, url, `${theirs}/`])] as const;
  editToV2(src());
  const second = [await runOc([...args, url, `${ours}/`]), await runRsync([...args, url, `${theirs}/`])] as const;
  return { ours, theirs, first, second };
}

const PROTOCOLS = [32, 31, 30, 29, 28, 27];

describe("delta pulls", () => {
  test.each(PROTOCOLS)("protocol %d: trees and itemized changes match upstream", async (protocol) => {
    const { ours, theirs, first, second } = await scenario(["-ai", "--delete", `--protocol=${protocol}`], `p${protocol}`);
    expect(first[0].stderr).toBe("");
    expect(first[0].code).toBe(0);
    expect(rename(first[0].stdout, ours)).toBe(rename(first[1].stdout, theirs));
    expect(normalizeErrors(second[0].stderr)).toBe(normalizeErrors(second[1].stderr));
    expect(second[0].code).toBe(0);
    expect(listing(rename(second[0].stdout, ours))).toEqual(listing(rename(second[1].stdout, theirs)));
    expect(snapshot(ours)).toEqual(snapshot(theirs));
  });

  test.each(["xxh128", "xxh3", "xxh64", "md5", "md4", "sha1", "sha1,md5", "md5,sha1"])("--checksum-choice=%s", async (alg) => {
    const { ours, theirs, second } = await scenario(["-ai", "--delete", `--checksum-choice=${alg}`], `cc-${alg.replace(",", "_")}`);
    expect(second[0].code).toBe(0);
    expect(listing(rename(second[0].stdout, ours))).toEqual(listing(rename(second[1].stdout, theirs)));
    expect(snapshot(ours)).toEqual(snapshot(theirs));
  });

  test("-c (checksum quick check) finds the time-only file unchanged", async () => {
    const { ours, theirs, second } = await scenario(["-aic", "--delete"], "checksum");
    expect(second[0].code).toBe(0);
    expect(listing(rename(second[0].stdout, ours))).toEqual(listing(rename(second[1].stdout, theirs)));
    expect(snapshot(ours)).toEqual(snapshot(theirs));
  });

  test("-W sends whole files and still leaves the same tree", async () => {
    const { ours, theirs, second } = await scenario(["-aiW", "--delete"], "whole");
    expect(second[0].code).toBe(0);
    expect(listing(rename(second[0].stdout, ours))).toEqual(listing(rename(second[1].stdout, theirs)));
    expect(snapshot(ours)).toEqual(snapshot(theirs));
  });
});
