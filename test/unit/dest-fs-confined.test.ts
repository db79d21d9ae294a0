/**
 * DestFs confined to its root (every receiver's destination, unless
 * --insecure-links): its calls by name reach a file through its directory
 * opened inside the root, so a directory that is a symlink leading out of
 * it (absolute, or climbing above the root) is never gone through, while
 * one whose relative target stays inside is, as upstream 3.5.0's receiver
 * does; everything else works as unconfined.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DestFs } from "../../src/fs/dest-fs.ts";

const b = (s: string) => new Uint8Array(Buffer.from(s));
let work: string;
let root: string;
let outside: string;

beforeEach(() => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-dest-confined-"));
  root = join(work, "root");
  outside = join(work, "outside");
  fs.mkdirSync(join(root, "real", "deeper"), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(join(outside, "victim"), "outside\n");
  fs.writeFileSync(join(root, "real", "file"), "inside\n");
  fs.symlinkSync(outside, join(root, "out"));
  fs.symlinkSync("real", join(root, "in"));
  fs.symlinkSync("../outside", join(root, "up"));
});

afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function code(f: () => unknown): string {
  try {
    f();
    return "ok";
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? "?";
  }
}

test("nothing is made, changed or removed through a symlink leading out of the root", () => {
  const dest = new DestFs(root);
  dest.confined = true;
  for (const dir of ["out", "up"]) {
    expect(code(() => dest.mkdir(b(`${dir}/new`), 0o755))).toBe("ELOOP");
    expect(code(() => dest.symlink(b("x"), b(`${dir}/link`)))).toBe("ELOOP");
    expect(code(() => dest.unlink(b(`${dir}/victim`)))).toBe("ELOOP");
    expect(code(() => dest.chmod(b(`${dir}/victim`), 0o777))).toBe("ELOOP");
    expect(code(() => dest.lstat(b(`${dir}/victim`)))).toBe("ELOOP");
    expect(code(() => dest.createExclusive(b(`${dir}/made`), 0o600))).toBe("ELOOP");
    expect(code(() => dest.rename(b("real/file"), b(`${dir}/moved`)))).toBe("ELOOP");
  }
  // Nor is what such a symlink stands for changed or read through it (--keep-dirlinks keeps one for a directory).
  const outsideMode = fs.statSync(outside).mode & 0o7777;
  expect(code(() => dest.chmod(b("out"), 0o700))).toBe("ELOOP");
  expect(code(() => dest.setTimes(b("up"), 1_000_000_000, 0, false))).toBe("ELOOP");
  expect(code(() => dest.listDir(b("out")))).toBe("ELOOP");
  expect(fs.statSync(outside).mode & 0o7777).toBe(outsideMode);
  expect(fs.readdirSync(outside)).toEqual(["victim"]);
  expect(fs.statSync(join(outside, "victim")).mode & 0o777).toBe(0o644);
  expect(fs.readdirSync(join(root, "real")).sort()).toEqual(["deeper", "file"]);
  dest.closeDirs();
});

test("a symlink whose relative target stays inside is gone through", () => {
  const dest = new DestFs(root);
  dest.confined = true;
  dest.mkdir(b("in/new"), 0o755);
  dest.chmod(b("in/new"), 0o700);
  expect(fs.statSync(join(root, "real", "new")).mode & 0o777).toBe(0o700);
  // A chmod never goes through a symlink at the name itself, wherever it leads (upstream's neither).
  expect(code(() => dest.chmod(b("in"), 0o700))).toBe("ELOOP");
  expect(fs.statSync(join(root, "real")).mode & 0o777).toBe(0o755);
  expect(dest.listDir(b("in")).map(String).sort()).toEqual(["deeper", "file", "new"]);
  dest.closeDirs();
});

test("in real directories the calls work as unconfined ones do", () => {
  const dest = new DestFs(root);
  dest.confined = true;
  expect(dest.lstat(b("real/file"))?.size).toBe(7);
  expect(dest.lstat(b("real/missing"))).toBeNull();
  expect(dest.lstat(b("missing/file"))).toBeNull();
  dest.mkdir(b("real/deeper/made"), 0o755);
  dest.symlink(b("../file"), b("real/deeper/link"));
  dest.rename(b("real/file"), b("real/deeper/file"));
  // (More directories than the descriptors kept: the earlier ones are opened again.)
  for (let i = 0; i < 12; i++) dest.mkdir(b(`real/deeper/made/${i}`), 0o755);
  dest.link(b("real/deeper/file"), b("real/hard"));
  dest.unlink(b("real/deeper/link"));
  expect(fs.readFileSync(join(root, "real", "hard"), "latin1")).toBe("inside\n");
  expect(fs.readdirSync(join(root, "real", "deeper")).sort()).toEqual(["file", "made"]);
  expect(fs.readdirSync(join(root, "real", "deeper", "made")).length).toBe(12);
  // A basis directory beside the destination (--link-dest=../x: the module's option checks keep it inside) is reached by path.
  expect(dest.lstat(b("../outside/victim"))?.size).toBe(8);
  expect(dest.lstat(b("out"))?.mode! & 0o170000).toBe(0o120000);
  dest.unlink(b("out"));
  expect(fs.existsSync(join(root, "out"))).toBe(false);
  dest.closeDirs();
});
