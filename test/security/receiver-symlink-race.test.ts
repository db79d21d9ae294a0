/**
 * A push into a chroot-less daemon module during which a directory of the
 * module is swapped for a symlink to outside it: the receiving daemon must
 * not write the file meant for that directory outside the module. Upstream's
 * receiver opens the directory confined and fails the temp file's creation
 * ('mkstemp ... failed: Too many levels of symbolic links (40)'), or writes
 * into the directory it still held open from before the swap, or (its
 * generator late to the directory) refuses it there already; ours must do
 * one of these, with the same words.
 *
 * The swap is made once the large file sent first has its temp file in the
 * module (the receiver is busy with it, paced by --bwlimit); by then the
 * generator has gone through the 100 directories, so the directory the
 * receiver later writes into is opened again after the swap (more than the
 * descriptors DestFs keeps open).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, stopDaemons, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runRsync, type RunResult } from "../helpers/run.ts";

const KINDS = ["upstream", "ours"] as const;
const DIRS = 100;
const SWAPPED = "d050";

let work: string;
let src: string;
const daemons: Partial<Record<(typeof KINDS)[number], RunningDaemon>> = {};
const modulePath = (kind: string) => join(work, `module-${kind}`);
const outsidePath = (kind: string) => join(work, `outside-${kind}`);
const dirName = (i: number) => `d${String(i).padStart(3, "0")}`;

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-receiver-race-"));
  src = join(work, "src");
  fs.mkdirSync(src);
  fs.writeFileSync(join(src, "a"), Buffer.alloc(2560 * 1024, 7));
  for (let i = 0; i < DIRS; i++) {
    fs.mkdirSync(join(src, dirName(i)));
    fs.writeFileSync(join(src, dirName(i), "f"), "pushed\n");
  }
  for (const kind of KINDS) {
    fs.mkdirSync(modulePath(kind));
    daemons[kind] = await startDaemon(kind, [{ name: "mod", path: modulePath(kind), params: { "read only": "no", "use chroot": "no", uid: "0", gid: "0" } }]);
  }
});

afterAll(async () => {
  await stopDaemons(...Object.values(daemons));
  fs.rmSync(work, { recursive: true, force: true });
});

/** Pushes `src` into the module of `kind`'s daemon, swapping SWAPPED for a symlink out once the large file is being received. */
async function pushWithSwap(kind: (typeof KINDS)[number]): Promise<{ r: RunResult; swapped: boolean }> {
  const module = modulePath(kind);
  const outside = outsidePath(kind);
  fs.rmSync(module, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(join(outside, "keep"), "outside\n");
  for (let i = 0; i < DIRS; i++) fs.mkdirSync(join(module, dirName(i)), { recursive: true });
  let done = false;
  let swapped = false;
  const running = runRsync(["-a", "--bwlimit=1024", `${src}/`, daemons[kind]!.url("mod")]).finally(() => (done = true));
  while (!done) {
    if (fs.readdirSync(module).some((n) => n.startsWith(".a."))) {
      fs.renameSync(join(module, SWAPPED), join(module, `${SWAPPED}.old`));
      fs.symlinkSync(outside, join(module, SWAPPED));
      swapped = true;
      break;
    }
    await Bun.sleep(5);
  }
  return { r: await running, swapped };
}

for (const kind of KINDS) {
  test(`a module directory swapped for a symlink mid-push is not written through (${kind}'s daemon)`, async () => {
    const { r, swapped } = await pushWithSwap(kind);
    expect(swapped).toBe(true);
    expect(fs.readdirSync(outsidePath(kind))).toEqual(["keep"]);
    const outcome = {
      code: r.code,
      errors: normalizeErrors(r.stderr)
        .replace(/\.[A-Za-z0-9]{6}"/g, '.XXXXXX"')
        .split("\n")
        .filter(Boolean),
    };
    // Either the directory was still held open from before the swap (the file went into it, under its new name),
    // or the generator reached it only after the swap and, as upstream's does, replaced the symlink by a new
    // directory (the file went there), or it is opened again and refused, by the receiver or (when the generator
    // came to it late) by the generator already; which, is timing (upstream's daemon gives each).
    if (outcome.code === 0) {
      expect(outcome.errors).toEqual([]);
      const swappedDir = join(modulePath(kind), SWAPPED);
      const intoNewDir = fs.lstatSync(swappedDir).isDirectory();
      const landed = intoNewDir ? swappedDir : join(modulePath(kind), `${SWAPPED}.old`);
      expect(fs.readFileSync(join(landed, "f"), "latin1")).toBe("pushed\n");
    } else {
      const refusedByReceiver = [`rsync: [receiver] mkstemp "${SWAPPED}/.f.XXXXXX" (in mod) failed: Too many levels of symbolic links (40)`];
      const refusedByGenerator = [
        `rsync: [generator] failed to set permissions on "${SWAPPED}" (in mod): Too many levels of symbolic links (40)`,
        `rsync: [generator] recv_generator: failed to stat "${SWAPPED}/f" (in mod): Too many levels of symbolic links (40)`,
      ];
      const refusal = outcome.errors.slice(0, -1);
      expect([refusedByReceiver, refusedByGenerator]).toContainEqual(refusal);
      expect(outcome).toEqual({
        code: 23,
        errors: [...refusal, "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at X [sender]"],
      });
    }
    // Every other directory got its file.
    for (let i = 0; i < DIRS; i++) if (dirName(i) !== SWAPPED) expect(fs.readFileSync(join(modulePath(kind), dirName(i), "f"), "latin1")).toBe("pushed\n");
  });
}
