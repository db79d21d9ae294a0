/**
 * The walker's file system confined to a chroot-less module's root
 * (scanningWalkFs with a root): directories are opened beneath the root, a
 * symlink on the way followed only while it stays inside (upstream's
 * secure_opendir), and what the walk reads of a directory's entries (their
 * lstat, a symlink's target) comes through the directory it opened, never
 * by a path swapped meanwhile. A relative root is opened inside the working
 * directory (the daemon's module) the same way.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scanningWalkFs } from "../../src/flist/scan-walk-fs.ts";

const bytes = (s: string) => new Uint8Array(Buffer.from(s));
const text = (b: Uint8Array) => Buffer.from(b).toString();

let work: string;
let root: string;
let outside: string;
let cwd: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "oc-walk-fs-"));
  root = join(work, "mod");
  outside = join(work, "outside");
  mkdirSync(join(root, "d"), { recursive: true });
  mkdirSync(join(root, "e"));
  mkdirSync(outside);
  writeFileSync(join(root, "d", "f"), "in");
  symlinkSync("target-inside", join(root, "d", "link"));
  writeFileSync(join(outside, "secret"), "out");
  symlinkSync("target-outside", join(outside, "link"));
  symlinkSync(outside, join(root, "out"));
  symlinkSync("d", join(root, "in"));
  cwd = process.cwd();
});

afterAll(() => {
  process.chdir(cwd);
  rmSync(work, { recursive: true, force: true });
});

/** The names readDir gives, or the error's code. */
function names(read: () => Uint8Array[]): string[] | string {
  try {
    return read().map(text).sort();
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? "?";
  }
}

/** How the root is named: whole, or "." from inside it (a daemon works in its module); `at` names a path in it. */
const ROOTS = [
  { how: "an absolute root", inModule: false, rootArg: () => root, at: (rel: string) => join(root, rel) },
  { how: 'the daemon\'s root "."', inModule: true, rootArg: () => ".", at: (rel: string) => `./${rel}` },
];

for (const { how, inModule, rootArg, at } of ROOTS) {
  test(`directories beneath ${how}: in-module symlinks followed, one out of it refused`, () => {
    if (inModule) process.chdir(root);
    const walk = scanningWalkFs(bytes(rootArg()));
    try {
      expect(names(() => walk.readDir(bytes(at("d"))))).toEqual(["f", "link"]);
      expect(names(() => walk.readDir(bytes(at("in"))))).toEqual(["f", "link"]);
      expect(names(() => walk.readDir(bytes(at("out"))))).toBe("ELOOP");
      expect(names(() => walk.readDir(bytes(at("d/f"))))).toBe("ENOTDIR");
      expect(names(() => walk.readDir(bytes(at("gone"))))).toBe("ENOENT");
      expect(names(() => walk.readDir(bytes(rootArg())))).toEqual(["d", "e", "in", "out"]);
    } finally {
      walk.end();
      process.chdir(cwd);
    }
  });
}

test("a relative root (the directory a daemon's --files-from names are in) is opened inside the working directory, the module", () => {
  process.chdir(root);
  try {
    const cases: [string, string[] | string][] = [
      ["in", ["f", "link"]],
      ["out", "ELOOP"],
    ];
    for (const [base, want] of cases) {
      const walk = scanningWalkFs(bytes(base));
      try {
        expect(names(() => walk.readDir(bytes(base)))).toEqual(want);
      } finally {
        walk.end();
      }
    }
  } finally {
    process.chdir(cwd);
  }
});

test("openInside: a directory opened as readDir opens it, and closed; what that meets thrown", () => {
  const walk = scanningWalkFs(bytes(root));
  const outcome = (rel: string) => {
    try {
      walk.openInside!(bytes(join(root, rel)));
      return "opened";
    } catch (e) {
      return (e as NodeJS.ErrnoException).code;
    }
  };
  try {
    expect([outcome("d"), outcome("in"), outcome("out"), outcome("gone")]).toEqual(["opened", "opened", "ELOOP", "ENOENT"]);
    expect(scanningWalkFs().openInside).toBeUndefined();
  } finally {
    walk.end();
  }
});

test("a path outside the root is refused", () => {
  const walk = scanningWalkFs(bytes(root));
  try {
    expect(names(() => walk.readDir(bytes(outside)))).toBe("ELOOP");
    expect(names(() => walk.readDir(bytes(`${root}-sibling`)))).toBe("ELOOP");
  } finally {
    walk.end();
  }
});

test("a directory swapped for a symlink out of the root after it was read: its entries' stat and link target are still its own", () => {
  const walk = scanningWalkFs(bytes(root));
  const d = join(root, "d");
  try {
    expect(names(() => walk.readDir(bytes(d)))).toEqual(["f", "link"]);
    renameSync(d, `${d}.old`);
    symlinkSync(outside, d);
    expect(walk.lstat(bytes(join(d, "f"))).size).toBe(2);
    expect(text(walk.readlink(bytes(join(d, "link"))))).toBe("target-inside");
  } finally {
    walk.end();
    rmSync(d);
    renameSync(`${d}.old`, d);
  }
});

test("without a root the walk goes by path (what a plain sender does)", () => {
  const walk = scanningWalkFs();
  try {
    expect(names(() => walk.readDir(bytes(join(root, "out"))))).toEqual(["link", "secret"]);
  } finally {
    walk.end();
  }
});
