/**
 * fd-ops openDirBeneath (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) and its
 * fallback walk: a directory beneath a root, never through a symlink and
 * never above the root, with the same answers either way; and openDirInside
 * (RESOLVE_BENEATH) and its walk, which follow a symlink whose relative
 * target stays inside the root, as upstream 3.5.0's receiver does; openInside
 * and its walk, which open a file so, its own symlink followed too (the
 * sending daemon's content open under -L in a chroot-less module).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, constants } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDirBeneath, openDirInside, openDirWalkingBeneath, openDirWalkingInside, openInside, openWalkingInside } from "../../src/fs/fd-ops.ts";

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
  symlinkSync(join(root, "a"), join(root, "absInside"));
  symlinkSync("../a/b", join(root, "a", "sib"));
  symlinkSync("a/loop2", join(root, "loop1"));
  symlinkSync("../loop1", join(root, "a", "loop2"));
  symlinkSync("rel/../rel/b", join(root, "viaDotDot"));
  symlinkSync("../../outside", join(root, "a", "out"));
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

const OPENERS = [
  ["openat2", openDirBeneath, "beneath"],
  ["walk", openDirWalkingBeneath, "beneath"],
  ["openat2 (inside)", openDirInside, "inside"],
  ["walk (inside)", openDirWalkingInside, "inside"],
] as const;

for (const [how, open, kind] of OPENERS) {
  describe(how, () => {
    test("real directories open, the root itself with an empty path", () => {
      expect(readIn(open, "a/b", "f")).toBe("deep");
      expect(readIn(open, "a//b/", "f")).toBe("deep");
      expect(readIn(open, "", "top")).toBe("top");
    });

    test("what is missing is missing, a file is not a directory", () => {
      expect(readIn(open, "a/missing", "f")).toBe("ENOENT");
      expect(readIn(open, "top", "f")).toBe("ENOTDIR");
    });

    if (kind === "beneath") {
      test("a symlink on the way is refused wherever it points, and nothing is above the root", () => {
        expect(readIn(open, "abs", "f")).toBe("ELOOP");
        expect(readIn(open, "rel/b", "f")).toBe("ELOOP");
        expect(readIn(open, "a/up", "f")).toBe("ELOOP");
        expect(readIn(open, "../outside", "f")).toBe("EXDEV");
      });
    } else {
      test("a symlink whose relative target stays inside is followed, '..' in it too", () => {
        expect(readIn(open, "rel/b", "f")).toBe("deep");
        expect(readIn(open, "a/sib", "f")).toBe("deep");
        expect(readIn(open, "viaDotDot", "f")).toBe("deep");
      });

      test("an absolute symlink, one leading out and a loop are refused with ELOOP", () => {
        expect(readIn(open, "abs", "f")).toBe("ELOOP");
        expect(readIn(open, "absInside/b", "f")).toBe("ELOOP");
        expect(readIn(open, "a/out", "f")).toBe("ELOOP");
        expect(readIn(open, "../outside", "f")).toBe("ELOOP");
        expect(readIn(open, "loop1", "f")).toBe("ELOOP");
        // (Its target is "outside" in the root, which is not there.)
        expect(readIn(open, "a/up", "f")).toBe("ENOENT");
      });
    }
  });
}

/** The file `rel` opened inside the root with `flags` and read, or the open's error code. */
function readFile(open: typeof openInside, rel: string, flags = constants.O_RDONLY): string {
  let fd: number;
  try {
    fd = open(rootFd, new Uint8Array(Buffer.from(rel)), flags, () => rel);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? "?";
  }
  try {
    return readFileSync(fd, "latin1");
  } finally {
    closeSync(fd);
  }
}

describe.each([
  ["openat2 (a file inside)", openInside],
  ["walk (a file inside)", openWalkingInside],
] as const)("%s", (_how, open) => {
  test("a file, and one reached through symlinks that stay inside (its own symlink too, O_NOFOLLOW or not)", () => {
    symlinkSync("b/f", join(work, "root", "a", "fileLink"));
    symlinkSync("../fileLink", join(work, "root", "a", "b", "chain"));
    try {
      expect(readFile(open, "top")).toBe("top");
      expect(readFile(open, "a/b/f")).toBe("deep");
      expect(readFile(open, "rel/b/f")).toBe("deep");
      expect(readFile(open, "a/fileLink")).toBe("deep");
      expect(readFile(open, "a/fileLink", constants.O_RDONLY | constants.O_NOFOLLOW)).toBe("deep");
      expect(readFile(open, "a/b/chain")).toBe("deep");
      expect(readFile(open, "viaDotDot/f")).toBe("deep");
    } finally {
      rmSync(join(work, "root", "a", "fileLink"));
      rmSync(join(work, "root", "a", "b", "chain"));
    }
  });

  test("a file whose symlink is absolute, leads out, or comes back in by way of outside: ELOOP", () => {
    symlinkSync(join(work, "outside", "f"), join(work, "root", "absFile"));
    symlinkSync("../outside/f", join(work, "root", "outFile"));
    symlinkSync("../root/top", join(work, "root", "backIn"));
    symlinkSync(join(work, "root", "top"), join(work, "root", "absInsideFile"));
    try {
      expect(readFile(open, "absFile")).toBe("ELOOP");
      expect(readFile(open, "outFile")).toBe("ELOOP");
      expect(readFile(open, "backIn")).toBe("ELOOP");
      expect(readFile(open, "absInsideFile")).toBe("ELOOP");
      expect(readFile(open, "abs/f")).toBe("ELOOP");
      expect(readFile(open, "a/out/f")).toBe("ELOOP");
      expect(readFile(open, "../outside/f")).toBe("ELOOP");
      expect(readFile(open, "loop1")).toBe("ELOOP");
      expect(readFile(open, "a/missing")).toBe("ENOENT");
    } finally {
      for (const name of ["absFile", "outFile", "backIn", "absInsideFile"]) rmSync(join(work, "root", name));
    }
  });
});

describe("openat2 while renames happen elsewhere", () => {
  // RESOLVE_BENEATH makes the kernel answer EAGAIN when any rename on the system races with its resolution of a
  // ".." (openat2(2)); a daemon's content open through such a symlink failed so ("Resource temporarily
  // unavailable") while other transfers renamed their temp files. The opens retry, then walk.
  test("a name through a '..' symlink opens every time", async () => {
    const spin = join(work, "spin");
    mkdirSync(spin);
    writeFileSync(join(spin, "x"), "");
    const renamer = Bun.spawn(["bash", "-c", 'cd "$1" && while :; do mv x y; mv y x; done', "renamer", spin], { stdout: "ignore", stderr: "ignore" });
    try {
      await Bun.sleep(50);
      const failures = new Map<string, number>();
      for (let i = 0; i < 50000; i++) {
        const got = readFile(openInside, "viaDotDot/f");
        if (got !== "deep") failures.set(got, (failures.get(got) ?? 0) + 1);
      }
      expect(Object.fromEntries(failures)).toEqual({});
    } finally {
      renamer.kill();
      await renamer.exited;
    }
  });
});
