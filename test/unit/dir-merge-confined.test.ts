/**
 * Per-directory merge files in a chroot-less module (DirScopes with
 * confinedModule): each is opened inside the module, from the working
 * directory (the module's root, as the daemon works there), in the one open
 * that reads it. A symlink on the way is followed while it stays inside the
 * module; one leading out, absolute or climbing, leaves the file unread (as
 * a missing one: no rules), so no outside file's lines become rules whose
 * text could come back in errors.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { filterHooks } from "../../src/flist/dir-merge.ts";
import { FilterList } from "../../src/flist/filter.ts";

const bytes = (s: string) => new Uint8Array(Buffer.from(s));

let work: string;
let mod: string;
let outside: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "oc-dir-merge-"));
  mod = join(work, "mod");
  outside = join(work, "outside");
  mkdirSync(outside);
  writeFileSync(join(outside, ".rules"), "- x\n");
  writeFileSync(join(outside, "rules"), "- x\n");
  for (const d of ["plain", "inlink", "abslink", "uplink", "deep/er"]) mkdirSync(join(mod, d), { recursive: true });
  writeFileSync(join(mod, "plain", ".rules"), "- x\n");
  writeFileSync(join(mod, "shared-rules"), "- x\n");
  symlinkSync("../shared-rules", join(mod, "inlink", ".rules"));
  symlinkSync(join(outside, "rules"), join(mod, "abslink", ".rules"));
  symlinkSync("../../outside/rules", join(mod, "uplink", ".rules"));
  // Directories that lead out: their .rules is the outside one, reached through the link.
  symlinkSync(outside, join(mod, "absdir"));
  symlinkSync("../../../outside", join(mod, "deep", "er", "updir"));
  // One that stays inside: its .rules is plain/.rules.
  symlinkSync("../plain", join(mod, "deep", "indir"));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Whether `x` in directory `dir` (module-relative) is excluded by a dir-merge of `.rules`, confined or not. */
function excluded(dir: string, confined: boolean): boolean {
  const list = new FilterList();
  list.parse("dir-merge .rules", { deleteExcluded: false });
  const was = process.cwd();
  process.chdir(mod);
  try {
    const hooks = filterHooks(list, { deleteExcluded: false, confinedModule: confined ? "mod" : undefined }, true);
    hooks.enterDir!(bytes(dir));
    return !hooks.include!(bytes("x"), false, bytes(`${dir}/x`));
  } finally {
    process.chdir(was);
  }
}

test("a merge file in the module, or reached by a symlink that stays in it, is read", () => {
  expect(excluded("plain", true)).toBe(true);
  expect(excluded("inlink", true)).toBe(true);
  expect(excluded("deep/indir", true)).toBe(true);
});

test("a merge file that is a symlink out of the module is not read", () => {
  expect(excluded("abslink", true)).toBe(false);
  expect(excluded("uplink", true)).toBe(false);
});

test("a merge file in a directory reached through a symlink out of the module is not read", () => {
  expect(excluded("absdir", true)).toBe(false);
  expect(excluded("deep/er/updir", true)).toBe(false);
});

test("outside a module the same files are all read, the links followed wherever they go", () => {
  for (const dir of ["plain", "inlink", "deep/indir", "abslink", "uplink", "absdir", "deep/er/updir"]) expect(excluded(dir, false)).toBe(true);
});
