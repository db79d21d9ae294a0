/**
 * The --chmod parser and mode changer (roles/chmod.ts) against upstream:
 * each spec is applied by upstream's `rsync -rp --chmod=SPEC` to real files
 * and directories of assorted modes, and tweakMode must give the modes
 * upstream left. A few rows also state the expected result outright.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseChmod, tweakMode } from "../../src/roles/chmod.ts";

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const START_MODES = [0o644, 0o600, 0o755, 0o711, 0o4750, 0o2711, 0o1777, 0o000, 0o070];
const UMASK = 0o022;

let work: string;
let oldUmask: number;

beforeAll(() => {
  oldUmask = process.umask(UMASK);
  work = fs.mkdtempSync(join(tmpdir(), "oc-chmod-unit-"));
  const src = join(work, "src");
  fs.mkdirSync(src);
  for (const m of START_MODES) {
    fs.writeFileSync(join(src, `f${m.toString(8)}`), "");
    fs.chmodSync(join(src, `f${m.toString(8)}`), m);
    fs.mkdirSync(join(src, `d${m.toString(8)}`));
    fs.chmodSync(join(src, `d${m.toString(8)}`), m);
  }
});

afterAll(() => {
  process.umask(oldUmask);
  fs.rmSync(work, { recursive: true, force: true });
});

/** Specs with, for some, the mode a 0644 file and a 0755 directory get (umask 022). */
const VALID: [string, number?, number?][] = [
  ["u+x", 0o744, 0o755],
  ["go-rwx", 0o600, 0o700],
  ["a=r", 0o444, 0o444],
  ["=r", 0o444, 0o444],
  ["+w", 0o644, 0o755],
  ["a+w", 0o666, 0o777],
  ["644", 0o644, 0o644],
  ["D750,F640", 0o640, 0o750],
  ["Du=rwx,Fa-x", 0o644, 0o755],
  ["a+X", 0o644, 0o755],
  ["u+s", 0o4644, 0o4755],
  ["+s", 0o4644, 0o4755],
  ["a+s", 0o6644, 0o6755],
  ["g+s,o+t", 0o3644, 0o3755],
  ["g=u", 0o664, 0o775],
  ["o=u,g-o", 0o606, 0o707],
  ["u-o", 0o244, 0o255],
  ["a=,u+rX", 0o400, 0o500],
  ["D2775", 0o644, 0o2775],
  ["1777", 0o1777, 0o1777],
  ["0", 0o000, 0o000],
  ["Fu+x,Fu-x"],
  ["-x"],
  ["D+X,F-X"],
  ["u=rwx,g=u,o=g"],
  ["a-s,ug+s"],
  ["ug=s"],
  ["o=t"],
  ["F=X"],
  ["g=o,u=g"],
  ["07777"],
];

const INVALID = ["", "u", "bad", "u+q", "u+r,", ",u+r", "u+r,,g+w", "DF+x", "FD-w", "u=rg", "u=gr", "u=go", "u+s-x", "17777", "u644", "64x", "8", "+ug+", "X+r", "go=u-w"];

/** What upstream's -rp --chmod made of each start mode: name -> mode, or null when it refused the spec. */
function upstreamModes(spec: string): Map<string, number> | null {
  const dest = join(work, `out-${Buffer.from(spec).toString("hex") || "empty"}`);
  const r = spawnSync("rsync", ["-rp", `--chmod=${spec}`, `${join(work, "src")}/`, `${dest}/`]);
  if (r.status !== 0) return null;
  const modes = new Map<string, number>();
  for (const name of fs.readdirSync(dest)) modes.set(name, fs.statSync(join(dest, name)).mode & 0o7777);
  return modes;
}

describe("valid specs change modes as upstream's -rp --chmod does", () => {
  for (const [spec, file644, dir755] of VALID) {
    test(spec, () => {
      const rules = parseChmod(spec, UMASK);
      expect(rules).not.toBeNull();
      const theirs = upstreamModes(spec);
      expect(theirs).not.toBeNull();
      for (const m of START_MODES) {
        expect([`f${m.toString(8)}`, (tweakMode(S_IFREG | m, rules!) & 0o7777).toString(8)]).toEqual([`f${m.toString(8)}`, theirs!.get(`f${m.toString(8)}`)!.toString(8)]);
        expect([`d${m.toString(8)}`, (tweakMode(S_IFDIR | m, rules!) & 0o7777).toString(8)]).toEqual([`d${m.toString(8)}`, theirs!.get(`d${m.toString(8)}`)!.toString(8)]);
      }
      // The file type stays.
      expect(tweakMode(S_IFREG | 0o644, rules!) & ~0o7777).toBe(S_IFREG);
      if (file644 !== undefined) expect((tweakMode(S_IFREG | 0o644, rules!) & 0o7777).toString(8)).toBe(file644.toString(8));
      if (dir755 !== undefined) expect((tweakMode(S_IFDIR | 0o755, rules!) & 0o7777).toString(8)).toBe(dir755.toString(8));
    });
  }
});

describe("invalid specs are refused, as upstream refuses them", () => {
  for (const spec of INVALID) {
    test(JSON.stringify(spec), () => {
      expect(parseChmod(spec, UMASK)).toBeNull();
      expect(upstreamModes(spec)).toBeNull();
    });
  }
});

test("a clause without u/g/o/a is limited by the umask it was parsed with", () => {
  expect((tweakMode(S_IFREG | 0o600, parseChmod("+rw", 0o077)!) & 0o7777).toString(8)).toBe("600");
  expect((tweakMode(S_IFREG | 0o600, parseChmod("+rw", 0o002)!) & 0o7777).toString(8)).toBe("664");
  expect((tweakMode(S_IFREG | 0o600, parseChmod("a+rw", 0o077)!) & 0o7777).toString(8)).toBe("666");
});
