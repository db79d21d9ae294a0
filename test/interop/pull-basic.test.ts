import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startUpstreamDaemon, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runOc, runRsync, stableOutput } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

let work: string;
let src: string;
let daemon: RunningDaemon;

/** A small tree with every entry type a non-root pull handles. */
function buildTree(root: string): void {
  fs.mkdirSync(join(root, "dir/sub"), { recursive: true });
  fs.mkdirSync(join(root, "empty"));
  fs.writeFileSync(join(root, "hello.txt"), "hello\n");
  fs.writeFileSync(join(root, "dir/a.bin"), Buffer.alloc(70_000, 7));
  fs.writeFileSync(join(root, "dir/sub/deep.txt"), "deep\n");
  fs.writeFileSync(join(root, "zero"), "");
  fs.writeFileSync(join(root, "exec.sh"), "#!/bin/sh\n");
  fs.chmodSync(join(root, "exec.sh"), 0o755);
  fs.writeFileSync(join(root, "private"), "secret");
  fs.chmodSync(join(root, "private"), 0o604);
  fs.symlinkSync("hello.txt", join(root, "link"));
  fs.symlinkSync("/nonexistent/target", join(root, "dangling"));
  const big = Buffer.alloc(3_000_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  fs.writeFileSync(join(root, "dir/big.dat"), big);
  ageTree(root);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "oc-pull-"));
  src = join(work, "src");
  fs.mkdirSync(src);
  buildTree(src);
  daemon = await startUpstreamDaemon([{ name: "mod", path: src }]);
});

afterAll(async () => {
  await daemon.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Pulls with both clients into fresh directories and returns both results. */
async function pullBoth(args: string[], path = "", name = "t") {
  const ours = join(work, `${name}-oc`);
  const theirs = join(work, `${name}-up`);
  const oc = await runOc([...args, daemon.url("mod", path), `${ours}/`]);
  const up = await runRsync([...args, daemon.url("mod", path), `${theirs}/`]);
  return { ours, theirs, oc, up };
}

describe("pull from an upstream daemon", () => {
  test("initial copy with -a leaves the same tree as upstream", async () => {
    const { ours, theirs, oc, up } = await pullBoth(["-a"], "", "init");
    expect(normalizeErrors(oc.stderr)).toBe(normalizeErrors(up.stderr));
    expect(oc.code).toBe(0);
    expect(snapshot(ours)).toEqual(snapshot(theirs));
  });

  test("-i itemizes like upstream", async () => {
    const { oc, up } = await pullBoth(["-ai"], "", "itemize");
    expect(oc.code).toBe(up.code);
    expect(oc.stdout.replaceAll("itemize-oc", "DEST")).toBe(up.stdout.replaceAll("itemize-up", "DEST"));
  });

  test("-v prints like upstream", async () => {
    const { oc, up } = await pullBoth(["-av"], "", "verbose");
    expect(stableOutput(oc.stdout).replaceAll(join(work, "verbose-oc"), "DEST")).toBe(
      stableOutput(up.stdout).replaceAll(join(work, "verbose-up"), "DEST"),
    );
  });

  test("a no-op resync transfers nothing and prints nothing with -i", async () => {
    const { ours, theirs, oc, up } = await pullBoth(["-ai"], "", "noop");
    const again = await runOc(["-ai", daemon.url("mod"), `${ours}/`]);
    const againUp = await runRsync(["-ai", daemon.url("mod"), `${theirs}/`]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe("");
    expect(againUp.stdout).toBe("");
    expect(oc.code).toBe(up.code);
  });

  test("a file the daemon cannot read: exit 23 and the same messages as upstream", async () => {
    const unreadable = join(src, "unreadable");
    fs.writeFileSync(unreadable, "x");
    fs.chmodSync(unreadable, 0o600); // the daemon runs as nobody
    ageTree(src);
    try {
      const { ours, theirs, oc, up } = await pullBoth(["-a"], "", "unreadable");
      expect(up.code).toBe(23);
      expect(oc.code).toBe(23);
      expect(normalizeErrors(oc.stderr)).toBe(normalizeErrors(up.stderr));
      expect(snapshot(ours)).toEqual(snapshot(theirs));
    } finally {
      fs.rmSync(unreadable);
    }
  });
});
