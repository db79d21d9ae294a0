/**
 * Options that change which paths are sent and how links are treated:
 * -R (with and without implied dirs), -d, -L, -k, --copy-unsafe-links,
 * --safe-links, -O, -J, and --list-only listings. Each is run by oc-rsync and
 * by upstream's client against the same daemon; output, exit code and tree
 * must agree.
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

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-paths-"));
  const src = join(work, "src");
  fs.mkdirSync(join(src, "a/b/c"), { recursive: true });
  fs.mkdirSync(join(work, "outside"));
  fs.writeFileSync(join(src, "a/b/c/file"), "file\n");
  fs.writeFileSync(join(src, "a/b/sibling"), "sibling\n");
  fs.writeFileSync(join(src, "top"), "top\n");
  fs.writeFileSync(join(work, "outside/o"), "outside\n");
  fs.symlinkSync("a/b", join(src, "inner-link"));
  fs.symlinkSync("top", join(src, "file-link"));
  fs.symlinkSync("../outside", join(src, "unsafe-link"));
  fs.symlinkSync("/nonexistent/abs", join(src, "abs-link"));
  ageTree(src, 1_470_000_000);
  ageTree(join(work, "outside"), 1_470_000_000);
  daemon = await startUpstreamDaemon([{ name: "mod", path: src }]);
});

afterAll(async () => {
  await daemon.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Times that no client sets for a case (directories it makes itself, -O, -J) show each one's own clock. */
interface Case {
  name: string;
  args: string[];
  path: string;
  ignoreDirTimes?: boolean;
  ignoreLinkTimes?: boolean;
  /**
   * Upstream's generator prints "skipping non-regular file" while its
   * receiver prints the items: two processes, so under load their lines
   * interleave differently from run to run. Compare them as sets.
   */
  unordered?: boolean;
}

const CASES: Case[] = [
  { name: "-aR a/b/c/file (implied dirs sent)", args: ["-aiR"], path: "a/b/c/file" },
  { name: "-aR --no-implied-dirs (made by the receiver)", args: ["-aiR", "--no-implied-dirs"], path: "a/b/c/file", ignoreDirTimes: true },
  { name: "-aR with /./ in the path", args: ["-aiR"], path: "a/./b/c" },
  { name: "-d transfers the top directory's entries only", args: ["-id"], path: "", unordered: true },
  { name: "-aL copies what links point to", args: ["-aiL"], path: "" },
  { name: "-ak turns links to directories into directories", args: ["-aik"], path: "" },
  { name: "--copy-unsafe-links", args: ["-ai", "--copy-unsafe-links"], path: "" },
  { name: "--safe-links skips unsafe links", args: ["-ai", "--safe-links"], path: "" },
  { name: "-aO omits directory times", args: ["-aiO"], path: "", ignoreDirTimes: true },
  { name: "-aJ omits link times", args: ["-aiJ"], path: "", ignoreLinkTimes: true },
  { name: "-r without -l skips links with a message", args: ["-ri"], path: "", unordered: true },
  { name: "a single file into a directory", args: ["-ai"], path: "a/b/c/file" },
  { name: "a directory without its trailing slash", args: ["-ai"], path: "a/b" },
  { name: "--list-only -r", args: ["--list-only", "-r"], path: "" },
  { name: "-a --list-only with a destination lists and writes nothing", args: ["-a", "--list-only"], path: "" },
];

CASES.forEach((c, i) => {
  test(c.name, async () => {
    const ours = join(work, `case${i}-oc`);
    const theirs = join(work, `case${i}-up`);
    const oc = await runOc([...c.args, daemon.url("mod", c.path), `${ours}/`]);
    const up = await runRsync([...c.args, daemon.url("mod", c.path), `${theirs}/`]);
    expect(normalizeErrors(oc.stderr)).toBe(normalizeErrors(up.stderr));
    const shown = (t: string) => (c.unordered ? t.split("\n").sort().join("\n") : t);
    expect(shown(oc.stdout.replaceAll(ours, "DEST"))).toBe(shown(up.stdout.replaceAll(theirs, "DEST")));
    expect(oc.code).toBe(up.code);
    expect(fs.existsSync(ours)).toBe(fs.existsSync(theirs));
    // The destination directory itself is not in the transfer here; without -t no time is.
    const opts = {
      ignoreRoot: true,
      ignoreTimes: !c.args.some((a) => /^-[a-zA-Z]*[at]/.test(a)),
      ignoreDirTimes: c.ignoreDirTimes,
      ignoreLinkTimes: c.ignoreLinkTimes,
    };
    if (fs.existsSync(theirs)) expect(snapshot(ours, opts)).toEqual(snapshot(theirs, opts));
  });
});

test("a lone remote source lists like upstream (implied --list-only)", async () => {
  const oc = await runOc([daemon.url("mod", "a/")]);
  const up = await runRsync([daemon.url("mod", "a/")]);
  expect(oc.stdout).toBe(up.stdout);
  expect(oc.code).toBe(0);
});
