/**
 * -H: hard-link groups within a directory and across directories (which
 * incremental recursion delivers in separate lists), on a first pull and
 * after a change; which member is transferred and how the others are
 * linked ("hf... a => b") must be what upstream's client does.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startUpstreamDaemon, type RunningDaemon } from "../helpers/daemon.ts";
import { runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

let work: string;
let daemon: RunningDaemon;
const src = () => join(work, "src");

function build(): void {
  const r = src();
  fs.rmSync(r, { recursive: true, force: true });
  fs.mkdirSync(join(r, "d/e"), { recursive: true });
  fs.writeFileSync(join(r, "a"), "group one\n");
  fs.linkSync(join(r, "a"), join(r, "b"));
  fs.linkSync(join(r, "a"), join(r, "d/c"));
  fs.linkSync(join(r, "a"), join(r, "d/e/f"));
  fs.writeFileSync(join(r, "x"), "group two\n");
  fs.linkSync(join(r, "x"), join(r, "y"));
  fs.writeFileSync(join(r, "solo"), "alone\n");
  fs.writeFileSync(join(r, "d/e/g"), "group three\n");
  fs.linkSync(join(r, "d/e/g"), join(r, "d/h"));
  ageTree(r, 1_450_000_000);
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-hlink-"));
  fs.mkdirSync(src());
  daemon = await startUpstreamDaemon([{ name: "mod", path: src() }]);
});

afterAll(async () => {
  await daemon.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

test.each([32, 31, 30, 29, 28, 27])("protocol %d: first pull and a changed group", async (protocol) => {
  build();
  const ours = join(work, `p${protocol}-oc`);
  const theirs = join(work, `p${protocol}-up`);
  const args = ["-aiH", `--protocol=${protocol}`, daemon.url("mod")];
  const o1 = await runOc([...args, `${ours}/`]);
  const u1 = await runRsync([...args, `${theirs}/`]);
  expect(o1.code).toBe(0);
  expect(o1.stdout.replaceAll(ours, "DEST")).toBe(u1.stdout.replaceAll(theirs, "DEST"));
  expect(snapshot(ours)).toEqual(snapshot(theirs));

  // One member of a group changes: every link sees it; a new link joins group two.
  fs.writeFileSync(join(src(), "d/c"), "group one, changed\n");
  fs.linkSync(join(src(), "x"), join(src(), "d/e/z"));
  ageTree(src(), 1_460_000_000);
  const o2 = await runOc([...args, `${ours}/`]);
  const u2 = await runRsync([...args, `${theirs}/`]);
  expect(o2.code).toBe(0);
  expect(o2.stdout.replaceAll(ours, "DEST")).toBe(u2.stdout.replaceAll(theirs, "DEST"));
  expect(snapshot(ours)).toEqual(snapshot(theirs));
});
