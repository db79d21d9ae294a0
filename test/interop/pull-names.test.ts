/**
 * Awkward names end to end: spaces, newlines, tabs, UTF-8 and invalid
 * UTF-8 bytes, leading dashes, glob characters and 255-byte names, in file
 * and directory names. The tree must come out byte for byte as upstream's.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startUpstreamDaemon, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

let work: string;
let daemon: RunningDaemon;

const NAMES: Buffer[] = [
  Buffer.from("with space"),
  Buffer.from("new\nline"),
  Buffer.from("tab\there"),
  Buffer.from("-leading-dash"),
  Buffer.from("--double-dash"),
  Buffer.from("café-ünïcödé-日本語"),
  Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x2d, 0x75, 0x74, 0x66, 0x38]), // bad\xff\xfe-utf8
  Buffer.from("star*question?[brackets]"),
  Buffer.from("back\\slash"),
  Buffer.from("x".repeat(255)),
  Buffer.from(`${"é".repeat(127)}x`), // 255 bytes of UTF-8
  Buffer.from(".hidden"),
  Buffer.from("..double-dot-prefix"),
  Buffer.from("trailing-space "),
  Buffer.from("#hash%percent"),
];

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-names-"));
  const src = Buffer.from(join(work, "src"));
  fs.mkdirSync(src);
  for (const name of NAMES) {
    const file = Buffer.concat([src, Buffer.from("/"), name]);
    fs.writeFileSync(file, name);
    const dir = Buffer.concat([src, Buffer.from("/dir-"), name.subarray(0, 250)]);
    fs.mkdirSync(dir);
    fs.writeFileSync(Buffer.concat([dir, Buffer.from("/inner")]), name);
  }
  fs.symlinkSync(Buffer.from("new\nline"), Buffer.concat([src, Buffer.from("/link to newline")]));
  ageTree(join(work, "src"), 1_430_000_000);
  daemon = await startUpstreamDaemon([{ name: "mod", path: join(work, "src") }]);
});

afterAll(async () => {
  await daemon.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

test.each([32, 29, 27])("protocol %d: every name arrives byte for byte", async (protocol) => {
  const ours = join(work, `p${protocol}-oc`);
  const theirs = join(work, `p${protocol}-up`);
  const oc = await runOc(["-a", `--protocol=${protocol}`, daemon.url("mod"), `${ours}/`]);
  const up = await runRsync(["-a", `--protocol=${protocol}`, daemon.url("mod"), `${theirs}/`]);
  expect(oc.stderr).toBe(up.stderr);
  expect(oc.code).toBe(0);
  const snap = snapshot(ours);
  expect(snap).toEqual(snapshot(theirs));
  for (const name of NAMES) expect(snap[name.toString("latin1")]?.type).toBe("file");
});

test("a path argument starting with a dash goes to the daemon as ./-NAME, with upstream's outcome", async () => {
  const dest = join(work, "single");
  const oc = await runOc(["-a", daemon.url("mod", "-leading-dash"), `${dest}/`]);
  const up = await runRsync(["-a", daemon.url("mod", "-leading-dash"), `${dest}-up/`]);
  expect(oc.code).toBe(up.code);
  expect(normalizeErrors(oc.stderr)).toBe(normalizeErrors(up.stderr));
});

test("a path with a space followed by the module name is not split by the daemon", async () => {
  const dest = join(work, "spaced");
  const oc = await runOc(["-a", daemon.url("mod", "with space"), `${dest}/`]);
  const up = await runRsync(["-a", daemon.url("mod", "with space"), `${dest}-up/`]);
  expect(oc.code).toBe(up.code);
  expect(snapshot(dest, { ignoreRoot: true })).toEqual(snapshot(`${dest}-up`, { ignoreRoot: true }));
});
