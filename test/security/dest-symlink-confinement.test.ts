/**
 * The receiver resolves names inside its destination, as upstream 3.5.0's
 * does (syscall.c secure_relative_open): with --keep-dirlinks a destination
 * symlink standing for a directory of the list is followed only when its
 * target is relative and stays inside the destination; an absolute one, or
 * one climbing out, fails ("failed to stat ...: Too many levels of symbolic
 * links (40)", code 23) and nothing is written where it points.
 * --insecure-links follows them all, as upstream's does. Checked against
 * upstream on the same trees: exit code, error lines, both trees.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { snapshot } from "../helpers/tree.ts";

let work: string;

beforeAll(() => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-dest-confine-"));
});

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

/** Where dst/sub points, by the root of the case's tree. */
const LINKS: Record<string, (root: string) => string> = {
  "absolute, outside": (root) => join(root, "outside"),
  "absolute, inside": (root) => join(root, "dst/real"),
  "relative, inside": () => "real",
  "relative, climbing out": () => "../outside",
  "relative, out and back in": () => "../dst/real",
};

async function outcome(who: "upstream" | "ours", name: string, extra: string[]) {
  const root = join(work, `${name.replace(/\W+/g, "-")}${extra.join("")}-${who}`);
  fs.mkdirSync(join(root, "src/sub"), { recursive: true });
  fs.writeFileSync(join(root, "src/sub/f"), "from the source\n");
  // With -a the directory's permissions are set: never on the directory outside.
  fs.chmodSync(join(root, "src/sub"), 0o700);
  fs.mkdirSync(join(root, "outside"));
  fs.mkdirSync(join(root, "dst/real"), { recursive: true });
  fs.symlinkSync(LINKS[name]!(root), join(root, "dst/sub"));
  const r = await (who === "upstream" ? runRsync : runOc)([...extra, `${root}/src/`, `${root}/dst/`]);
  const seen = {
    code: r.code,
    stderr: normalizeErrors(r.stderr).replaceAll("oc-rsync", "rsync"),
    outside: snapshot(join(root, "outside"), { ignoreTimes: true }),
    dst: snapshot(join(root, "dst"), { ignoreRoot: true, ignoreTimes: true }),
  };
  // Messages and absolute link targets name the case's own tree.
  return JSON.parse(JSON.stringify(seen).replaceAll(root, "ROOT"));
}

describe("--keep-dirlinks through a destination symlink", () => {
  for (const flags of ["-rK", "-aK"]) {
    for (const name of Object.keys(LINKS)) {
      test(`${flags}, ${name}`, async () => {
        const up = await outcome("upstream", name, [flags]);
        const ours = await outcome("ours", name, [flags]);
        expect(ours).toEqual(up);
        // Nothing ever lands outside the destination, nor is changed there.
        expect(ours.outside).toEqual(up.outside);
        expect(Object.keys(ours.outside)).toEqual(["."]);
      });
    }
  }

  test("--insecure-links follows an absolute symlink out, as upstream's does", async () => {
    const up = await outcome("upstream", "absolute, outside", ["-aK", "--insecure-links"]);
    const ours = await outcome("ours", "absolute, outside", ["-aK", "--insecure-links"]);
    expect(ours).toEqual(up);
    expect(Object.keys(ours.outside)).toEqual([".", "f"]);
  });
});
