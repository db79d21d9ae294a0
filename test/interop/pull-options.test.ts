/**
 * Option by option: a first pull, then changes on both sides, then a second
 * pull with the option under test. oc-rsync and upstream's client start from
 * identical trees and must end with identical trees, the same -i output and
 * the same exit code.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimes } from "../../src/fs/libc.ts";
import { startUpstreamDaemon, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

let work: string;
let daemon: RunningDaemon;
const src = () => join(work, "src");

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function buildSource(): void {
  const root = src();
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(join(root, "sub"), { recursive: true });
  fs.writeFileSync(join(root, "big"), bytes(400_000, 1));
  fs.writeFileSync(join(root, "log"), bytes(50_000, 2));
  fs.writeFileSync(join(root, "same-size"), "AAAA\n");
  fs.writeFileSync(join(root, "sub/a"), "a\n");
  fs.writeFileSync(join(root, "sub/b"), "b\n");
  fs.writeFileSync(join(root, "sub/c"), "c\n");
  ageTree(root, 1_400_000_000);
}

interface Case {
  name: string;
  args: string[];
  /**
   * Deletions during the transfer are printed by the generator while items
   * come back from the sender: upstream runs the two as separate processes,
   * so how those lines interleave depends on timing. Compare them as a set.
   */
  unordered?: boolean;
  /** Changes to the source after the first pull. */
  editSource?: (root: string) => void;
  /** Changes to each destination after the first pull. */
  editDest?: (dest: string) => void;
}

const CASES: Case[] = [
  {
    name: "--inplace rewrites changed blocks of the destination file itself",
    args: ["--inplace"],
    editSource: (r) => {
      const b = fs.readFileSync(join(r, "big"));
      b.write("CHANGED", 200_000);
      fs.writeFileSync(join(r, "big"), b);
      fs.truncateSync(join(r, "log"), 20_000);
      ageTree(r, 1_410_000_000);
    },
  },
  {
    name: "--append adds what is missing at the end",
    args: ["--append"],
    editSource: (r) => {
      fs.appendFileSync(join(r, "log"), bytes(30_000, 3));
      ageTree(r, 1_410_000_000);
    },
  },
  {
    name: "--append-verify includes the existing part in the checksum (mismatch -> redo)",
    args: ["--append-verify"],
    editSource: (r) => {
      const b = fs.readFileSync(join(r, "log"));
      b.write("EARLIER PART CHANGED", 100);
      fs.writeFileSync(join(r, "log"), Buffer.concat([b, bytes(30_000, 3)]));
      ageTree(r, 1_410_000_000);
    },
  },
  {
    name: "-u keeps files that are newer here",
    args: ["-u"],
    editSource: (r) => {
      fs.writeFileSync(join(r, "sub/a"), "a2\n");
      fs.writeFileSync(join(r, "sub/b"), "b2\n");
      ageTree(r, 1_410_000_000);
    },
    editDest: (d) => setTimes(join(d, "sub/a"), 1_900_000_000, 0, false),
  },
  {
    name: "--existing creates nothing new",
    args: ["--existing"],
    editSource: (r) => {
      fs.writeFileSync(join(r, "new-file"), "new\n");
      fs.mkdirSync(join(r, "new-dir"));
      fs.writeFileSync(join(r, "new-dir/x"), "x\n");
      fs.writeFileSync(join(r, "sub/c"), "c2\n");
      ageTree(r, 1_410_000_000);
    },
  },
  {
    name: "--ignore-existing only adds new files",
    args: ["--ignore-existing"],
    editSource: (r) => {
      fs.writeFileSync(join(r, "new-file"), "new\n");
      fs.writeFileSync(join(r, "sub/c"), "c2\n");
      ageTree(r, 1_410_000_000);
    },
  },
  {
    name: "--size-only ignores a changed mtime and same-size content",
    args: ["--size-only"],
    editSource: (r) => {
      fs.writeFileSync(join(r, "same-size"), "BBBB\n");
      ageTree(r, 1_410_000_000);
    },
  },
  {
    name: "-I transfers even files that look up to date",
    args: ["-I"],
  },
  {
    name: "--modify-window tolerates small time differences",
    args: ["--modify-window=5"],
    editDest: (d) => setTimes(join(d, "sub/a"), Math.floor(fs.statSync(join(d, "sub/a")).mtimeMs / 1000) + 3, 0, false),
  },
  {
    name: "-n changes nothing and reports what it would do",
    args: ["-n"],
    editSource: (r) => {
      fs.writeFileSync(join(r, "sub/c"), "c2\n");
      fs.writeFileSync(join(r, "new-file"), "new\n");
      ageTree(r, 1_410_000_000);
    },
  },
  {
    name: "--delete-before removes extraneous files first",
    args: ["--delete-before"],
    editDest: (d) => fs.writeFileSync(join(d, "sub/extra"), "x"),
    editSource: (r) => {
      fs.writeFileSync(join(r, "sub/c"), "c2\n");
      ageTree(r, 1_410_000_000);
    },
  },
  {
    name: "--delete-after removes extraneous files last",
    args: ["--delete-after"],
    editDest: (d) => {
      fs.writeFileSync(join(d, "sub/extra"), "x");
      fs.mkdirSync(join(d, "olddir/deeper"), { recursive: true });
      fs.writeFileSync(join(d, "olddir/deeper/f"), "f");
    },
  },
  {
    name: "--delete-delay finds during, deletes after",
    args: ["--delete-delay"],
    unordered: true,
    editDest: (d) => fs.writeFileSync(join(d, "sub/extra"), "x"),
  },
  {
    name: "--del (during) deletes per directory",
    args: ["--del"],
    unordered: true,
    editDest: (d) => {
      fs.writeFileSync(join(d, "extra1"), "x");
      fs.writeFileSync(join(d, "sub/extra2"), "x");
    },
  },
  {
    name: "--max-delete stops deleting at the limit (exit 25)",
    args: ["--delete", "--max-delete=1"],
    unordered: true,
    editDest: (d) => {
      // Fixed times: the extras the limit leaves in place are compared between the two destinations.
      for (const name of ["extra1", "extra2", "sub/extra3"]) {
        fs.writeFileSync(join(d, name), "x");
        fs.utimesSync(join(d, name), 1_400_000_000, 1_400_000_000);
      }
    },
  },
  // delete_dir_contents goes on to each subdirectory's own delete_item after its contents: the limit counts it,
  // its rmdir fails again (a dry run's "succeeds"), and the directory holding it stays either way.
  ...[
    { name: "--max-delete=0 counts a nested directory it could not empty", args: ["--delete", "--max-delete=0"], kept: "f" },
    { name: "a protected file keeps its directories, the nested one said twice", args: ["--delete", "--filter=P kept"], kept: "kept" },
    { name: "the same dry run deletes the nested directory", args: ["-n", "--delete", "--filter=P kept"], kept: "kept" },
  ].map(({ name, args, kept }) => ({
    name,
    args,
    unordered: true,
    editDest: (d: string) => {
      fs.mkdirSync(join(d, "gone/deeper"), { recursive: true });
      fs.writeFileSync(join(d, "gone/deeper", kept), "x");
      if (kept === "f") fs.writeFileSync(join(d, "gone/g"), "x");
      // (The destination's own time too: a dry run leaves it as this edit made it, in both destinations.)
      for (const name of ["gone/deeper", "gone", "."]) fs.utimesSync(join(d, name), 1_400_000_000, 1_400_000_000);
      for (const name of ["gone/deeper/" + kept, "gone/g"]) if (fs.existsSync(join(d, name))) fs.utimesSync(join(d, name), 1_400_000_000, 1_400_000_000);
    },
  })),
  {
    name: "--delete --force replaces a non-empty directory with a file",
    args: ["--delete", "--force"],
    editSource: (r) => {
      fs.rmSync(join(r, "sub"), { recursive: true });
      fs.writeFileSync(join(r, "sub"), "now a file\n");
      ageTree(r, 1_410_000_000);
    },
  },
  {
    name: "without --force a non-empty directory in the way is an error (exit 23)",
    args: [],
    editSource: (r) => {
      fs.rmSync(join(r, "sub"), { recursive: true });
      fs.writeFileSync(join(r, "sub"), "now a file\n");
      ageTree(r, 1_410_000_000);
    },
  },
];

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-opts-"));
  fs.mkdirSync(src());
  daemon = await startUpstreamDaemon([{ name: "mod", path: src() }]);
});

afterAll(async () => {
  await daemon.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

describe("options on a second pull", () => {
  CASES.forEach((c, i) => {
    test(c.name, async () => {
      buildSource();
      const ours = join(work, `c${i}-oc`);
      const theirs = join(work, `c${i}-up`);
      const url = daemon.url("mod");
      expect((await runOc(["-a", url, `${ours}/`])).code).toBe(0);
      expect((await runRsync(["-a", url, `${theirs}/`])).code).toBe(0);
      c.editDest?.(ours);
      c.editDest?.(theirs);
      c.editSource?.(src());
      const args = ["-ai", ...c.args, url];
      const oc = await runOc([...args, `${ours}/`]);
      const up = await runRsync([...args, `${theirs}/`]);
      expect(normalizeErrors(oc.stderr)).toBe(normalizeErrors(up.stderr));
      const lines = (text: string, dest: string) => {
        const l = text.replaceAll(dest, "DEST").split("\n");
        return c.unordered ? l.sort() : l;
      };
      expect(lines(oc.stdout, ours)).toEqual(lines(up.stdout, theirs));
      expect(oc.code).toBe(up.code);
      expect(snapshot(ours)).toEqual(snapshot(theirs));
    });
  });
});
