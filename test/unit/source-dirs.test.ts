/**
 * SourceDirs: the sender's files read relative to their directory, which is
 * kept open from one file to the next; a directory that cannot be opened
 * leaves its files to their whole paths (and those paths' errors). Confined
 * to a root (a chroot-less daemon module), a symlink on the way is followed
 * only while it stays inside, and the file itself is opened O_NOFOLLOW, or
 * (links followed: -L, --copy-unsafe-links, --copy-dirlinks) followed while
 * it stays inside too.
 */
import { expect, test } from "bun:test";
import { closeSync, constants, mkdirSync, mkdtempSync, readSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { SourceDirs, type SourceLocations } from "../../src/roles/source-dirs.ts";

const bytes = (s: string) => new Uint8Array(Buffer.from(s));

/** Rows as [directory key, directory, base name] under `root`; a key of -1 goes by the whole path. */
function locations(root: string, rows: [number, string, string][]): SourceLocations {
  return {
    localDirKey: (row) => rows[row]![0],
    localDir: (row) => bytes(join(root, rows[row]![1])),
    rootRelativeDir: (row) => bytes(rows[row]![1]),
    localPathNow: (row) => bytes(join(root, rows[row]![1], rows[row]![2])),
    baseName: (row) => bytes(rows[row]![2]),
  };
}

/** What reading a row gives: its text, or the error's code. */
function readRow(dirs: SourceDirs, row: number): string {
  const into = new Uint8Array(64);
  try {
    const r = dirs.read(row, into);
    if (r.fd < 0) return Buffer.from(into.subarray(0, r.read)).toString();
    // (A followed symlink is left to be read through its descriptor.)
    try {
      return Buffer.from(into.subarray(0, readSync(r.fd, into))).toString();
    } finally {
      closeSync(r.fd);
    }
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? "?";
  }
}

test("files of one directory are read through the directory opened for the first of them", () => {
  const root = mkdtempSync(join(tmpdir(), "oc-source-dirs-"));
  try {
    mkdirSync(join(root, "a"));
    mkdirSync(join(root, "b"));
    writeFileSync(join(root, "a", "1"), "a1");
    writeFileSync(join(root, "a", "2"), "a2");
    writeFileSync(join(root, "b", "1"), "b1");
    const dirs = new SourceDirs(
      locations(root, [
        [1, "a", "1"],
        [1, "a", "2"],
        [2, "b", "1"],
        [-1, "b", "1"],
      ]),
      constants.O_RDONLY,
    );
    expect(readRow(dirs, 0)).toBe("a1");
    // "a" moves away while it is held open: its next file is still found, through the open directory.
    renameSync(join(root, "a"), join(root, "a-moved"));
    expect(readRow(dirs, 1)).toBe("a2");
    expect(readRow(dirs, 2)).toBe("b1");
    expect(readRow(dirs, 3)).toBe("b1");
    // Back to "a": opened again by its path, which is gone now; its files go by their whole paths.
    expect(readRow(dirs, 0)).toBe("ENOENT");
    dirs.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a directory that cannot be opened leaves its files to their whole paths' errors", () => {
  const root = mkdtempSync(join(tmpdir(), "oc-source-dirs-"));
  try {
    writeFileSync(join(root, "plain"), "not a directory");
    const dirs = new SourceDirs(locations(root, [[1, "plain", "x"]]), constants.O_RDONLY);
    expect(readRow(dirs, 0)).toBe("ENOTDIR");
    dirs.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("confined to a root: a directory that became a symlink out of it is not followed, an in-tree one is", () => {
  const root = mkdtempSync(join(tmpdir(), "oc-source-dirs-"));
  const outside = mkdtempSync(join(tmpdir(), "oc-source-dirs-outside-"));
  try {
    const module = join(root, "module");
    mkdirSync(join(module, "d", "e"), { recursive: true });
    mkdirSync(join(module, "real"));
    writeFileSync(join(module, "top"), "top");
    writeFileSync(join(module, "d", "e", "f"), "inside");
    writeFileSync(join(module, "real", "f"), "real");
    writeFileSync(join(outside, "f"), "SECRET");
    symlinkSync(outside, join(module, "out"));
    symlinkSync("real", join(module, "rel"));
    const rows: [number, string, string][] = [
      [1, "", "top"],
      [2, "d/e", "f"],
      [3, "out", "f"],
      [4, "rel", "f"],
      [5, "missing", "f"],
    ];
    const flags = constants.O_RDONLY | constants.O_NOFOLLOW;
    const dirs = new SourceDirs(locations(module, rows), flags, bytes(module));
    expect(readRow(dirs, 0)).toBe("top");
    expect(readRow(dirs, 1)).toBe("inside");
    expect(readRow(dirs, 2)).toBe("ELOOP");
    expect(readRow(dirs, 3)).toBe("real");
    expect(readRow(dirs, 4)).toBe("ENOENT");
    // Opened for streaming too (a file too large to read whole): the same directory, the same refusal.
    const fd = dirs.open(1, () => -1);
    const into = new Uint8Array(16);
    expect(Buffer.from(into.subarray(0, readSync(fd, into))).toString()).toBe("inside");
    closeSync(fd);
    expect(() => dirs.open(2, () => -1)).toThrow(expect.objectContaining({ code: "ELOOP" }));
    // A leaf symlink is refused, even by flags that would follow it (a module's sender never does so).
    symlinkSync(join(outside, "f"), join(module, "d", "e", "g"));
    symlinkSync("f", join(module, "d", "e", "h"));
    expect(readRow(new SourceDirs(locations(module, [[2, "d/e", "g"]]), flags, bytes(module)), 0)).toBe("ELOOP");
    expect(readRow(new SourceDirs(locations(module, [[2, "d/e", "h"]]), constants.O_RDONLY, bytes(module)), 0)).toBe("ELOOP");
    dirs.end();
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});

test("confined, links followed: a file's symlink is followed while it stays inside the root, refused (ELOOP) where it leaves", () => {
  const root = mkdtempSync(join(tmpdir(), "oc-source-dirs-"));
  const outside = mkdtempSync(join(tmpdir(), "oc-source-dirs-outside-"));
  try {
    const module = join(root, "module");
    mkdirSync(join(module, "d"), { recursive: true });
    writeFileSync(join(module, "top"), "top");
    writeFileSync(join(module, "d", "f"), "inside");
    writeFileSync(join(outside, "f"), "SECRET");
    symlinkSync("top", join(module, "l"));
    symlinkSync("../top", join(module, "d", "up"));
    symlinkSync("d", join(module, "dl"));
    symlinkSync(join(outside, "f"), join(module, "abs"));
    symlinkSync("../module/top", join(module, "viaOutside"));
    symlinkSync(relative(join(module, "d"), join(outside, "f")), join(module, "d", "rel-out"));
    const rows: [number, string, string][] = [
      [1, "", "top"],
      [1, "", "l"],
      [2, "d", "up"],
      [3, "dl", "f"],
      [3, "dl", "up"],
      [1, "", "abs"],
      [1, "", "viaOutside"],
      [2, "d", "rel-out"],
    ];
    // O_NOFOLLOW or not, as -L leaves the flags: the leaf is resolved inside the root either way.
    for (const flags of [constants.O_RDONLY, constants.O_RDONLY | constants.O_NOFOLLOW]) {
      const dirs = new SourceDirs(locations(module, rows), flags, bytes(module), true);
      expect(rows.map((_, i) => readRow(dirs, i))).toEqual(["top", "top", "top", "inside", "top", "ELOOP", "ELOOP", "ELOOP"]);
      // Opened for streaming: the same.
      const fd = dirs.open(1, () => -1);
      const into = new Uint8Array(16);
      expect(Buffer.from(into.subarray(0, readSync(fd, into))).toString()).toBe("top");
      closeSync(fd);
      expect(() => dirs.open(5, () => -1)).toThrow(expect.objectContaining({ code: "ELOOP" }));
      dirs.end();
    }
    // Without links followed, the file's own symlink is refused however it points.
    const plain = new SourceDirs(locations(module, rows), constants.O_RDONLY | constants.O_NOFOLLOW, bytes(module));
    expect(rows.map((_, i) => readRow(plain, i))).toEqual(["top", "ELOOP", "ELOOP", "inside", "ELOOP", "ELOOP", "ELOOP", "ELOOP"]);
    plain.end();
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});
