/**
 * SourceDirs: the sender's files read relative to their directory, which is
 * kept open from one file to the next; a directory that cannot be opened
 * leaves its files to their whole paths (and those paths' errors).
 */
import { expect, test } from "bun:test";
import { constants, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SourceDirs, type SourceLocations } from "../../src/roles/source-dirs.ts";

const bytes = (s: string) => new Uint8Array(Buffer.from(s));

/** Rows as [directory key, directory, base name] under `root`; a key of -1 goes by the whole path. */
function locations(root: string, rows: [number, string, string][]): SourceLocations {
  return {
    localDirKey: (row) => rows[row]![0],
    localDir: (row) => bytes(join(root, rows[row]![1])),
    localPathNow: (row) => bytes(join(root, rows[row]![1], rows[row]![2])),
    baseName: (row) => bytes(rows[row]![2]),
  };
}

/** What reading a row gives: its text, or the error's code. */
function readRow(dirs: SourceDirs, row: number): string {
  const into = new Uint8Array(64);
  try {
    const r = dirs.read(row, into);
    expect(r.fd).toBe(-1);
    return Buffer.from(into.subarray(0, r.read)).toString();
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
