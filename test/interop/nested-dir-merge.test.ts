/**
 * A ':' (dir-merge) rule inside a per-directory merge file: from the
 * directory whose file names it down, the named file is read in every
 * directory too (exclude.c grows its merge list while reading). Local copies,
 * pulls and pushes through upstream's daemon, compared with upstream's client.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { runOc, runRsync } from "../helpers/run.ts";
import { snapshot } from "../helpers/tree.ts";

let work: string;
let daemon: RunningDaemon;

const FILES: Record<string, string> = {
  // The top's file names another per-directory file for everything below.
  ".rsync-filter": ": .inner\n- *.tmp\n",
  "a/.inner": "- secret*\n",
  "a/secret1": "x",
  "a/keep": "x",
  "a/b/.inner": "- deep\n+ secret-ok\n",
  "a/b/secret-ok": "x",
  "a/b/secret2": "x",
  "a/b/deep": "x",
  "a/x.tmp": "x",
  // Only c's own file names .only-c: c/d inherits it, e does not read it.
  "c/.rsync-filter": ":n .only-c\n",
  "c/.only-c": "- hidden\n",
  "c/hidden": "x",
  "c/d/hidden": "x",
  "c/d/.only-c": "- other\n",
  "c/d/other": "x",
  "e/.only-c": "- hidden\n",
  "e/hidden": "x",
  "e/.inner": "- nothing-here\n",
  "e/secret3": "x",
  // The same name again inside a nested file counts once.
  "f/.rsync-filter": ": .inner\n",
  "f/.inner": "- twice\n",
  "f/twice": "x",
};

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-nested-merge-"));
  for (const [name, content] of Object.entries(FILES)) {
    fs.mkdirSync(join(work, "src", name, ".."), { recursive: true });
    fs.writeFileSync(join(work, "src", name), content);
  }
  fs.mkdirSync(join(work, "in"));
  const modules: ModuleConfig[] = [
    { name: "src", path: join(work, "src"), params: { uid: "0", gid: "0" } },
    { name: "in", path: join(work, "in"), params: { uid: "0", gid: "0", "read only": "no" } },
  ];
  daemon = await startDaemon("upstream", modules);
});

afterAll(async () => {
  await daemon.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const RULES: [string, string[]][] = [
  ["-F", ["-F"]],
  ["-FF", ["-FF"]],
  ["dir-merge with e", ["--filter=:e .rsync-filter"]],
];

describe("a dir-merge rule inside a per-directory merge file", () => {
  for (const mode of ["local", "pull", "push"] as const) {
    RULES.forEach(([name, rules], i) => {
      test(`${name}: ${mode}`, async () => {
        const dest = (who: string) => (mode === "push" ? join(work, "in", `${i}-${who}`) : join(work, `${mode}-${i}-${who}`));
        const from = mode === "pull" ? daemon.url("src", "") : `${join(work, "src")}/`;
        const to = (who: string) => (mode === "push" ? daemon.url("in", `${i}-${who}/`) : `${dest(who)}/`);
        const a = await runOc(["-ri", ...rules, from, to("ours")]);
        const b = await runRsync(["-ri", ...rules, from, to("theirs")]);
        expect(a.stderr).toBe(b.stderr);
        expect(a.code).toBe(b.code);
        const sorted = (t: string) => t.replaceAll(`${i}-ours`, "D").replaceAll(`${i}-theirs`, "D").split("\n").sort();
        expect(sorted(a.stdout)).toEqual(sorted(b.stdout));
        const opts = { ignoreTimes: true };
        expect(snapshot(dest("ours"), opts)).toEqual(snapshot(dest("theirs"), opts));
        // The nested rules did something: a/secret1 stays behind.
        expect(fs.existsSync(join(dest("ours"), "a/secret1"))).toBe(false);
        expect(fs.existsSync(join(dest("ours"), "a/keep"))).toBe(true);
      });
    });
  }
});
