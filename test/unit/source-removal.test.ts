/**
 * The sender's side of --remove-source-files (SourceRemover, after
 * sender.c successful_send) on cases an interop run cannot stage on
 * purpose: a file changed after it was listed, one already gone, and a
 * local copy's confirmation naming the source itself. The messages are
 * upstream's wording. Also -m's pruning of a sorted list (flist/prune.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileLists } from "../../src/flist/lists.ts";
import { F, S_IFDIR, S_IFREG } from "../../src/flist/table.ts";
import { nameDepth, pruneEmptyDirs } from "../../src/flist/prune.ts";
import { SourceRemover, successPayload } from "../../src/roles/source-removal.ts";
import { openConfinedRoot } from "../../src/fs/fd-ops.ts";
import { setTimes } from "../../src/fs/libc.ts";

let root: string;

beforeAll(() => {
  root = fs.mkdtempSync(join(tmpdir(), "oc-rsf-unit-"));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A one-list FileLists holding `names` (regular files, or directories when they end in "/"), as listed now. */
function listOf(names: string[], statOf?: (name: string) => fs.Stats) {
  const lists = new FileLists(false, 31);
  const t = lists.table;
  t.ensure(names.length);
  names.forEach((name, row) => {
    const dir = name.endsWith("/");
    t.setName(row, Buffer.from(dir ? name.slice(0, -1) : name));
    t.mode[row] = (dir ? S_IFDIR : S_IFREG) | 0o644;
    const st = statOf?.(name);
    if (st) {
      t.size[row] = st.size;
      t.mtime[row] = Math.floor(st.mtimeMs / 1000);
      t.nsec[row] = Number(BigInt(fs.statSync(join(root, name), { bigint: true }).mtimeNs) % 1_000_000_000n);
    }
  });
  lists.lists.push({ ndxStart: 0, count: names.length, parentDir: -1, inProgress: 0, toRedo: 0 });
  return lists;
}

function remover(lists: FileLists, local = false) {
  const said: string[] = [];
  const r = new SourceRemover({
    lists,
    protocol: 31,
    local,
    copyLinks: false,
    sayRemoved: true,
    localPath: (row) => Buffer.from(join(root, Buffer.from(lists.table.path(row)).toString("latin1"))),
    say: (kind, text) => said.push(`${kind}: ${text}`),
  });
  return { r, said };
}

describe("SourceRemover (successful_send)", () => {
  test("an unchanged file is removed and, under --info=remove, named", () => {
    fs.writeFileSync(join(root, "same"), "same\n");
    const lists = listOf(["same"], (n) => fs.statSync(join(root, n)));
    const { r, said } = remover(lists);
    r.confirmed(successPayload(0, false, () => null));
    expect(fs.existsSync(join(root, "same"))).toBe(false);
    expect(said).toEqual(["info: sender removed same"]);
  });

  test("a file of a time before 1970 with a fraction of a second is unchanged, and removed (seconds rounded down, as listed)", () => {
    const path = join(root, "old");
    fs.writeFileSync(path, "old\n");
    // 1.5 s before the epoch: listed (as upstream's stat gives it) as second -2 and 500000000 ns.
    setTimes(Buffer.from(path), -2, 500_000_000, false);
    const lists = listOf(["old"]);
    lists.table.size[0] = 4;
    lists.table.mtime[0] = -2;
    lists.table.nsec[0] = 500_000_000;
    const { r, said } = remover(lists);
    r.confirmed(successPayload(0, false, () => null));
    expect(said).toEqual(["info: sender removed old"]);
    expect(fs.existsSync(path)).toBe(false);
  });

  test("a file changed since it was listed stays (size or mtime)", () => {
    fs.writeFileSync(join(root, "grown"), "a\n");
    fs.writeFileSync(join(root, "touched"), "a\n");
    const lists = listOf(["grown", "touched"], (n) => fs.statSync(join(root, n)));
    fs.appendFileSync(join(root, "grown"), "more\n");
    fs.utimesSync(join(root, "touched"), 1_000_000_000, 1_000_000_000);
    const { r, said } = remover(lists);
    r.confirmed(successPayload(0, false, () => null));
    r.confirmed(successPayload(1, false, () => null));
    expect(fs.existsSync(join(root, "grown"))).toBe(true);
    expect(fs.existsSync(join(root, "touched"))).toBe(true);
    expect(said).toEqual(["error: ERROR: Skipping sender remove for changed file: grown", "error: ERROR: Skipping sender remove for changed file: touched"]);
  });

  test("a file already gone is only noted", () => {
    fs.writeFileSync(join(root, "gone"), "x");
    const lists = listOf(["gone"], (n) => fs.statSync(join(root, n)));
    fs.rmSync(join(root, "gone"));
    const { r, said } = remover(lists);
    r.confirmed(successPayload(0, false, () => null));
    expect(said).toEqual(["info: sender file already removed: gone"]);
  });

  test("a local copy's confirmation naming the source itself removes nothing", () => {
    fs.writeFileSync(join(root, "self"), "x");
    const lists = listOf(["self"], (n) => fs.statSync(join(root, n)));
    const st = fs.statSync(join(root, "self"), { bigint: true });
    const { r, said } = remover(lists, true);
    r.confirmed(successPayload(0, true, () => ({ dev: st.dev, ino: st.ino })));
    expect(fs.existsSync(join(root, "self"))).toBe(true);
    expect(said).toEqual(["error: ERROR: Skipping sender remove of destination file: self"]);
  });

  test("confined to a module whose relative root (a --files-from base) became a symlink out of it: the file outside stays", () => {
    // The daemon works in its module (root), and its --files-from base "base" was listed as a directory of it.
    const mod = join(root, "mod");
    const outside = join(root, "outside");
    fs.mkdirSync(join(mod, "base"), { recursive: true });
    fs.mkdirSync(outside);
    for (const dir of [join(mod, "base"), outside]) {
      fs.writeFileSync(join(dir, "f"), "same\n");
      fs.utimesSync(join(dir, "f"), 1_500_000_000, 1_500_000_000);
    }
    const lists = listOf([], undefined);
    const t = lists.table;
    t.ensure(1);
    t.setName(0, Buffer.from("f"));
    t.mode[0] = S_IFREG | 0o644;
    t.size[0] = 5;
    t.mtime[0] = 1_500_000_000;
    lists.lists[0]!.count = 1;
    fs.renameSync(join(mod, "base"), join(mod, "base.old"));
    fs.symlinkSync(outside, join(mod, "base"));
    const said: string[] = [];
    const cwd = process.cwd();
    process.chdir(mod);
    try {
      const r = new SourceRemover({
        lists,
        protocol: 31,
        local: false,
        copyLinks: false,
        sayRemoved: true,
        localPath: () => Buffer.from("base/f"),
        say: (kind, text) => said.push(`${kind}: ${text}`),
        confined: { anchor: () => Buffer.from("base"), openAnchor: openConfinedRoot, relativeDir: () => new Uint8Array(0), baseName: () => Buffer.from("f") },
      });
      r.confirmed(successPayload(0, false, () => null));
      r.end();
    } finally {
      process.chdir(cwd);
    }
    expect(fs.readdirSync(outside)).toEqual(["f"]);
    expect(said).toEqual(["error: rsync: [sender] sender failed to secure-open-parent f: Too many levels of symbolic links (40)"]);
  });

  test("a message of the wrong length or index is a protocol error", () => {
    const lists = listOf(["x"]);
    const { r } = remover(lists, true);
    expect(() => r.confirmed(successPayload(0, false, () => null))).toThrow(/invalid multi-message/);
    const { r: remote } = remover(lists);
    expect(() => remote.confirmed(successPayload(7, false, () => null))).toThrow(/invalid file index/);
  });
});

describe("-m: pruneEmptyDirs", () => {
  const kept = (names: string[], excluded: string[] = []) => {
    const lists = listOf(names);
    pruneEmptyDirs(lists.table, lists.lists[0]!, (name) => excluded.includes(Buffer.from(name).toString("latin1")));
    return names.filter((_, row) => !(lists.table.flags[row]! & F.INACTIVE));
  };

  test("nested empty chains go, a chain leading to a file stays, the top directory stays", () => {
    // Sorted as the list is: a directory's files before its subdirectories.
    expect(kept(["./", "z", "a/", "a/b/", "a/b/f", "e/", "e/c/", "e/c/d/"])).toEqual(["./", "z", "a/", "a/b/", "a/b/f"]);
  });
  test("a directory the rules exclude stays, with the directories above it", () => {
    expect(kept(["./", "p/", "p/q/", "p/q/r/", "s/"], ["p/q"])).toEqual(["./", "p/", "p/q/"]);
  });
  test("depth counts components, not '.' ones", () => {
    expect([".", "a", "a/b", "./a/b"].map((n) => nameDepth(Buffer.from(n)))).toEqual([0, 1, 2, 2]);
  });
});
