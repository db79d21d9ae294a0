/**
 * fd-ops openDirBeneath (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) and its
 * fallback walk: a directory beneath a root, never through a symlink and
 * never above the root, with the same answers either way.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, constants } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDirBeneath, openDirWalkingBeneath } from "../../src/fs/fd-ops.ts";

let work: string;
let rootFd: number;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "oc-beneath-"));
  const root = join(work, "root");
  mkdirSync(join(root, "a", "b"), { recursive: true });
  writeFileSync(join(root, "a", "b", "f"), "deep");
  writeFileSync(join(root, "top"), "top");
  mkdirSync(join(work, "outside"));
  writeFileSync(join(work, "outside", "f"), "SECRET");
  symlinkSync(join(work, "outside"), join(root, "abs"));
  symlinkSync("a", join(root, "rel"));
  symlinkSync("../outside", join(root, "a", "up"));
  rootFd = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY);
});

afterAll(() => {
  closeSync(rootFd);
  rmSync(work, { recursive: true, force: true });
});

/** The file `name` read in the directory opened beneath the root, or the open's error code. */
function readIn(open: typeof openDirBeneath, dir: string, name: string): string {
  let fd: number;
  try {
    fd = open(rootFd, new Uint8Array(Buffer.from(dir)), () => dir);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? "?";
  }
  try {
    return readFileSync(`/proc/self/fd/${fd}/${name}`, "latin1");
  } finally {
    closeSync(fd);
  }
}

for (const [how, open] of [
  ["openat2", openDirBeneath],
  ["walk", openDirWalkingBeneath],
] as const) {
  describe(how, () => {
    test("real directories open, the root itself with an empty path", () => {
      expect(readIn(open, "a/b", "f")).toBe("deep");
      expect(readIn(open, "a//b/", "f")).toBe("deep");
      expect(readIn(open, "", "top")).toBe("top");
    });

    test("a symlink on the way is refused wherever it points", () => {
      expect(readIn(open, "abs", "f")).toBe("ELOOP");
      expect(readIn(open, "rel/b", "f")).toBe("ELOOP");
      expect(readIn(open, "a/up", "f")).toBe("ELOOP");
    });

    test("nothing above the root, and what is missing is missing", () => {
      expect(readIn(open, "../outside", "f")).toBe("EXDEV");
      expect(readIn(open, "a/missing", "f")).toBe("ENOENT");
      expect(readIn(open, "top", "f")).toBe("ENOTDIR");
    });
  });
}
