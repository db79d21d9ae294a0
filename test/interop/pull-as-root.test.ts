/**
 * What a root receiver preserves: owners and groups (mapped by name, or by
 * number with --numeric-ids), devices and specials (-D), setuid/setgid and
 * sticky bits. These tests need root (CI runs as root); elsewhere they are
 * skipped, and say so.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mknod } from "../../src/fs/libc.ts";
import { startUpstreamDaemon, type RunningDaemon } from "../helpers/daemon.ts";
import { runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

const isRoot = process.getuid?.() === 0;
let work: string;
let daemon: RunningDaemon;

beforeAll(async () => {
  if (!isRoot) return;
  work = fs.mkdtempSync(join(tmpdir(), "oc-root-"));
  const src = join(work, "src");
  fs.mkdirSync(join(src, "dir"), { recursive: true });
  const file = (name: string, uid: number, gid: number, mode: number) => {
    fs.writeFileSync(join(src, name), `${name}\n`);
    fs.chownSync(join(src, name), uid, gid);
    fs.chmodSync(join(src, name), mode);
  };
  file("root-file", 0, 0, 0o644);
  file("daemon-owned", 1, 1, 0o640);
  file("www", 33, 33, 0o600);
  file("nobody", 65534, 65534, 0o644);
  file("unnamed-ids", 4242, 4343, 0o644);
  file("setuid", 0, 0, 0o4755);
  file("setgid", 0, 50, 0o2755);
  fs.chownSync(join(src, "dir"), 1000, 100);
  fs.chmodSync(join(src, "dir"), 0o1777);
  fs.symlinkSync("root-file", join(src, "link"));
  fs.lchownSync(join(src, "link"), 33, 33);
  mknod(join(src, "fifo"), 0o010644, 0, 0);
  mknod(join(src, "null-dev"), 0o020666, 1, 3);
  mknod(join(src, "block-dev"), 0o060600, 7, 200);
  ageTree(src, 1_420_000_000);
  daemon = await startUpstreamDaemon([{ name: "mod", path: src, params: { uid: "root", gid: "root" } }]);
});

afterAll(async () => {
  if (!isRoot) return;
  await daemon.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

async function pullBoth(args: string[], name: string) {
  const ours = join(work, `${name}-oc`);
  const theirs = join(work, `${name}-up`);
  const oc = await runOc([...args, daemon.url("mod"), `${ours}/`]);
  const up = await runRsync([...args, daemon.url("mod"), `${theirs}/`]);
  return { ours, theirs, oc, up };
}

describe.skipIf(!isRoot)("as root", () => {
  test.each([32, 30, 29, 27])("-a keeps owners, groups, devices, specials and special bits (protocol %d)", async (protocol) => {
    const { ours, theirs, oc, up } = await pullBoth(["-ai", `--protocol=${protocol}`], `a${protocol}`);
    expect(oc.stderr).toBe(up.stderr);
    expect(oc.code).toBe(0);
    expect(oc.stdout.replaceAll(ours, "DEST")).toBe(up.stdout.replaceAll(theirs, "DEST"));
    const snap = snapshot(ours);
    expect(snap).toEqual(snapshot(theirs));
    expect(snap["www"]).toMatchObject({ uid: 33, gid: 33, mode: "600" });
    expect(snap["null-dev"]!.type).toBe("char");
    expect(snap["fifo"]!.type).toBe("fifo");
  });

  test("--numeric-ids keeps the numbers", async () => {
    const { ours, theirs, oc } = await pullBoth(["-a", "--numeric-ids"], "numeric");
    expect(oc.code).toBe(0);
    expect(snapshot(ours)).toEqual(snapshot(theirs));
  });

  test("a second pull after changing owners, groups and modes here fixes them, itemized as upstream", async () => {
    const { ours, theirs } = await pullBoth(["-a"], "fix");
    for (const d of [ours, theirs]) {
      fs.chownSync(join(d, "www"), 0, 0);
      fs.chmodSync(join(d, "setuid"), 0o755);
      fs.lchownSync(join(d, "link"), 0, 0);
      fs.chownSync(join(d, "dir"), 0, 0);
    }
    const oc = await runOc(["-ai", daemon.url("mod"), `${ours}/`]);
    const up = await runRsync(["-ai", daemon.url("mod"), `${theirs}/`]);
    expect(oc.code).toBe(0);
    expect(oc.stdout).toBe(up.stdout);
    expect(snapshot(ours)).toEqual(snapshot(theirs));
  });

  test("without -D devices and specials are skipped with upstream's message", async () => {
    const { ours, theirs, oc, up } = await pullBoth(["-rlptgo"], "no-devices");
    expect(oc.stdout.replaceAll(ours, "DEST")).toBe(up.stdout.replaceAll(theirs, "DEST"));
    expect(snapshot(ours)).toEqual(snapshot(theirs));
  });
});
