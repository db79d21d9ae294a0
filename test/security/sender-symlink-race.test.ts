/**
 * A file listed as regular that is swapped for a symlink before the sender
 * opens it (CVE-2024-12747's race): the sender must not send what the link
 * points at, which may be outside the transfer's root or a daemon's module.
 * Upstream opens with O_NOFOLLOW (syscall.c do_open_checklinks) unless -L or
 * --copy-unsafe-links made symlinks files in the list, and reports the open's
 * ELOOP; ours must do the same, as a local copy's sender and as a daemon's.
 *
 * The swap needs the list sent and the file not yet opened: --bwlimit keeps
 * the sender on the large file listed before it, and the
 * swap is made as soon as the receiver has made its destination directory
 * (it has the list then).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FFIType } from "bun:ffi";
import { openLibcWith } from "../../src/fs/libc.ts";
import { startDaemon, stopDaemons, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runOc, runRsync, type RunResult } from "../helpers/run.ts";

const SECRET = "SECRET-OUTSIDE\n";
/**
 * Sent first, at BWLIMIT KiB/s: a second or more before the swapped file is
 * opened (our sending side queues up to 1 MiB past the limit, upstream's
 * sleeps in its writes).
 */
const LARGE = 2560 * 1024;
const BWLIMIT = "1024";

let work: string;
let outside: string;
let secret: string;

beforeAll(() => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-symlink-race-"));
  outside = join(work, "outside");
  fs.mkdirSync(outside);
  secret = join(outside, "b");
  fs.writeFileSync(secret, SECRET);
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A source whose "a" is large and "b" small and regular (names sorted so "a" goes first), and "d/b" the same. */
function makeSource(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(join(dir, "d"), { recursive: true });
  fs.writeFileSync(join(dir, "a"), Buffer.alloc(LARGE, 7));
  fs.writeFileSync(join(dir, "b"), "regular\n");
  fs.writeFileSync(join(dir, "d", "b"), "regular\n");
}

/**
 * The swaps: "b" becomes a symlink to the secret, or to "d/b" in the tree ("inside"), or "d" a symlink to the
 * secret's directory (which has a "b" too).
 */
type Swap = "file" | "inside" | "dir";
function swap(source: string, what: Swap): void {
  if (what !== "dir") {
    fs.rmSync(join(source, "b"));
    fs.symlinkSync(what === "file" ? secret : "d/b", join(source, "b"));
  } else {
    // In one step (RENAME_EXCHANGE): a rename out then a symlink in would leave a moment with no "d", which a
    // walk reaching it then reports as "directory has vanished" (code 24), an outcome of the test, not of the sender.
    fs.symlinkSync(outside, join(source, "d.new"));
    exchange(join(source, "d.new"), join(source, "d"));
  }
}

const RENAME_EXCHANGE = 2;
const libc = openLibcWith({ renameat2: { args: [FFIType.i32, FFIType.cstring, FFIType.i32, FFIType.cstring, FFIType.u32], returns: FFIType.i32 } });
/** Swaps two names atomically (renameat2 RENAME_EXCHANGE). */
function exchange(a: string, b: string): void {
  const AT_FDCWD = -100;
  const rc = libc.symbols.renameat2(AT_FDCWD, Buffer.from(`${a}\0`), AT_FDCWD, Buffer.from(`${b}\0`), RENAME_EXCHANGE);
  if (rc !== 0) throw new Error(`renameat2 ${a} <-> ${b}: errno ${libc.errno()}`);
}

/** Runs `start`; once `dest` exists (the list is through), makes the swap in `source`. */
async function withSwap(source: string, dest: string, what: Swap, start: () => Promise<RunResult>): Promise<{ r: RunResult; swapped: boolean }> {
  let swapped = false;
  let done = false;
  const running = start().finally(() => (done = true));
  while (!done) {
    if (fs.existsSync(dest)) {
      swap(source, what);
      swapped = true;
      break;
    }
    await Bun.sleep(5);
  }
  return { r: await running, swapped };
}

/** What a run left: the exit code, the error lines, and `name` in the destination (null when missing). */
function outcome(r: RunResult, dest: string, source: string, name = "b") {
  const b = join(dest, name);
  return {
    code: r.code,
    errors: normalizeErrors(r.stderr).replaceAll(source, "SRC").split("\n").filter(Boolean),
    [name]: fs.existsSync(b) ? fs.readFileSync(b, "latin1") : null,
    a: fs.statSync(join(dest, "a")).size,
  };
}

describe("a regular file swapped for a symlink after it was listed", () => {
  for (const kind of ["upstream", "ours"] as const) {
    const runner = kind === "ours" ? runOc : runRsync;

    test(`local copy: the sender refuses to open it (${kind})`, async () => {
      const source = join(work, `local-${kind}`, "src");
      const dest = join(work, `local-${kind}`, "dst");
      makeSource(source);
      const { r, swapped } = await withSwap(source, dest, "file", () => runner(["-a", `--bwlimit=${BWLIMIT}`, `${source}/`, `${dest}/`]));
      expect(swapped).toBe(true);
      expect(outcome(r, dest, source)).toEqual({
        code: 23,
        errors: [
          `rsync: [sender] send_files failed to open "SRC/b": Too many levels of symbolic links (40)`,
          `rsync error: some files/attrs were not transferred (see previous errors) (code 23) at X [sender]`,
        ],
        b: null,
        a: LARGE,
      });
    });

    test(`local copy with -L: the symlink is followed, as the list's files are (${kind})`, async () => {
      const source = join(work, `follow-${kind}`, "src");
      const dest = join(work, `follow-${kind}`, "dst");
      makeSource(source);
      const { r, swapped } = await withSwap(source, dest, "file", () => runner(["-aL", `--bwlimit=${BWLIMIT}`, `${source}/`, `${dest}/`]));
      expect(swapped).toBe(true);
      expect(outcome(r, dest, source)).toEqual({ code: 0, errors: [], b: SECRET, a: LARGE });
    });
  }
});

describe("a chroot-less daemon module's file swapped for a symlink to outside it", () => {
  const daemons: Partial<Record<"upstream" | "ours", RunningDaemon>> = {};
  const modulePath = (kind: string) => join(work, `module-${kind}`);

  beforeAll(async () => {
    for (const kind of ["upstream", "ours"] as const) {
      makeSource(modulePath(kind));
      daemons[kind] = await startDaemon(kind, [{ name: "mod", path: modulePath(kind), params: { "read only": "yes", "use chroot": "no", uid: "0", gid: "0" } }]);
    }
  });

  afterAll(() => stopDaemons(...Object.values(daemons)));

  for (const kind of ["upstream", "ours"] as const) {
    test(`a pull gets an error for it, never the outside file (${kind}'s daemon)`, async () => {
      makeSource(modulePath(kind));
      const dest = join(work, `pulled-${kind}`);
      const { r, swapped } = await withSwap(modulePath(kind), dest, "file", () => runRsync(["-a", `--bwlimit=${BWLIMIT}`, `${daemons[kind]!.url("mod")}/`, `${dest}/`]));
      expect(swapped).toBe(true);
      expect(r.stdout + r.stderr).not.toContain("SECRET");
      expect(outcome(r, dest, modulePath(kind))).toEqual({
        code: 23,
        errors: [
          `rsync: [sender] send_files failed to open "b" (in mod): Too many levels of symbolic links (40)`,
          `rsync error: some files/attrs were not transferred (see previous errors) (code 23) at X [generator]`,
        ],
        b: null,
        a: LARGE,
      });
    });

    test(`with -L: the swapped-in symlink out of the module is refused all the same (${kind}'s daemon)`, async () => {
      makeSource(modulePath(kind));
      const dest = join(work, `pulled-L-${kind}`);
      const { r, swapped } = await withSwap(modulePath(kind), dest, "file", () => runRsync(["-aL", `--bwlimit=${BWLIMIT}`, `${daemons[kind]!.url("mod")}/`, `${dest}/`]));
      expect(swapped).toBe(true);
      expect(r.stdout + r.stderr).not.toContain("SECRET");
      expect(outcome(r, dest, modulePath(kind))).toEqual({
        code: 23,
        errors: [
          `rsync: [sender] send_files failed to open "b" (in mod): Too many levels of symbolic links (40)`,
          `rsync error: some files/attrs were not transferred (see previous errors) (code 23) at X [generator]`,
        ],
        b: null,
        a: LARGE,
      });
    });

    test(`a symlink to a file in the module swapped in: refused by -a, followed by -L (${kind}'s daemon)`, async () => {
      const cases: [string, ReturnType<typeof outcome>][] = [
        ["-a", { code: 23, errors: [`rsync: [sender] send_files failed to open "b" (in mod): Too many levels of symbolic links (40)`, `rsync error: some files/attrs were not transferred (see previous errors) (code 23) at X [generator]`], b: null, a: LARGE }],
        ["-aL", { code: 0, errors: [], b: "regular\n", a: LARGE }],
      ];
      for (const [flags, want] of cases) {
        makeSource(modulePath(kind));
        const dest = join(work, `pulled-inside${flags}-${kind}`);
        const { r, swapped } = await withSwap(modulePath(kind), dest, "inside", () => runRsync([flags, `--bwlimit=${BWLIMIT}`, `${daemons[kind]!.url("mod")}/`, `${dest}/`]));
        expect(swapped).toBe(true);
        expect(outcome(r, dest, modulePath(kind))).toEqual(want);
      }
    });

    test(`a directory swapped for a symlink out of the module is not followed either (${kind}'s daemon)`, async () => {
      makeSource(modulePath(kind));
      const dest = join(work, `pulled-dir-${kind}`);
      const { r, swapped } = await withSwap(modulePath(kind), dest, "dir", () => runRsync(["-a", `--bwlimit=${BWLIMIT}`, `${daemons[kind]!.url("mod")}/`, `${dest}/`]));
      expect(swapped).toBe(true);
      expect(r.stdout + r.stderr).not.toContain("SECRET");
      // Usually "d"'s sub-list went before the swap and its "b" is refused at the open; when the sender had not
      // listed "d" yet (incremental recursion lists it when it gets there: a busy machine), its walk opens "d"
      // beneath the module and is refused there (flist.c secure_opendir). Either way nothing of the link is sent.
      const refusedAtOpen = {
        code: 23,
        errors: [
          `rsync: [sender] send_files failed to open "d/b" (in mod): Too many levels of symbolic links (40)`,
          `rsync error: some files/attrs were not transferred (see previous errors) (code 23) at X [generator]`,
        ],
        "d/b": null,
        a: LARGE,
      };
      const refusedByTheWalk = {
        code: 23,
        errors: [
          `rsync: [sender] opendir "d" (in mod) failed: Too many levels of symbolic links (40)`,
          `rsync error: some files/attrs were not transferred (see previous errors) (code 23) at X [generator]`,
        ],
        "d/b": null,
        a: LARGE,
      };
      const got = outcome(r, dest, modulePath(kind), "d/b");
      expect(got).toEqual(got.errors[0]?.includes("opendir") ? refusedByTheWalk : refusedAtOpen);
    });
  }
});

/**
 * The walk's side of the race: a directory listed in its parent's list is
 * swapped for a symlink out of the module before the sender walks it for its
 * own sub-list. Incremental recursion walks a sub-list when the transfer gets
 * near it (about a thousand files ahead, ten thousand while idle): the last of
 * DIRS directories, FILES files each, is far enough behind a large first file
 * sent at BWLIMIT. Upstream opens the directory beneath the module (flist.c
 * secure_opendir) and refuses it; a walk by path would list the outside
 * directory's names and attributes (its files' content is refused later).
 */
describe("a chroot-less daemon module's directory swapped for a symlink out of it before the walk reaches it", () => {
  const DIRS = 5000;
  const FILES = 4;
  const last = `d${DIRS - 1}`;
  const daemons: Partial<Record<"upstream" | "ours", RunningDaemon>> = {};
  // Tens of thousands of files: on tmpfs where there is one (a disk's file system makes them 50 times slower).
  let trees: string;
  const modulePath = (kind: string) => join(trees, `module-${kind}`);

  function makeTree(root: string): void {
    fs.rmSync(root, { recursive: true, force: true });
    fs.mkdirSync(root);
    for (let i = 0; i < DIRS; i++) {
      const dir = join(root, `d${String(i).padStart(4, "0")}`);
      fs.mkdirSync(dir);
      if (i === 0) fs.writeFileSync(join(dir, "a"), Buffer.alloc(LARGE, 7));
      for (let f = 0; f < FILES; f++) fs.writeFileSync(join(dir, `f${f}`), "in the module\n");
    }
  }

  beforeAll(async () => {
    trees = fs.mkdtempSync(join(fs.existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "oc-walk-race-"));
    for (const kind of ["upstream", "ours"] as const) {
      makeTree(modulePath(kind));
      daemons[kind] = await startDaemon(kind, [{ name: "mod", path: modulePath(kind), params: { "read only": "yes", "use chroot": "no", uid: "0", gid: "0" } }]);
    }
  });

  afterAll(async () => {
    await stopDaemons(...Object.values(daemons));
    fs.rmSync(trees, { recursive: true, force: true });
  });

  for (const kind of ["upstream", "ours"] as const) {
    test(`the walk refuses it and lists nothing of outside (${kind}'s daemon)`, async () => {
      const source = modulePath(kind);
      const dest = join(trees, `dest-${kind}`);
      let swapped = false;
      let done = false;
      const running = runRsync(["-a", `--bwlimit=${BWLIMIT}`, `${daemons[kind]!.url("mod")}/`, `${dest}/`]).finally(() => (done = true));
      while (!done) {
        if (fs.existsSync(join(dest, "d0000"))) {
          fs.renameSync(join(source, last), join(source, `${last}.old`));
          fs.symlinkSync(outside, join(source, last));
          swapped = true;
          break;
        }
        await Bun.sleep(5);
      }
      const r = await running;
      expect(swapped).toBe(true);
      expect(r.stdout + r.stderr).not.toContain("SECRET");
      expect({
        code: r.code,
        errors: normalizeErrors(r.stderr).split("\n").filter(Boolean),
        lastDir: fs.readdirSync(join(dest, last)),
        first: fs.statSync(join(dest, "d0000", "a")).size,
      }).toEqual({
        code: 23,
        errors: [
          `rsync: [sender] opendir "${last}" (in mod) failed: Too many levels of symbolic links (40)`,
          `rsync error: some files/attrs were not transferred (see previous errors) (code 23) at X [generator]`,
        ],
        lastDir: [],
        first: LARGE,
      });
    });
  }
});
