/**
 * --remove-source-files from a writable chroot-less daemon module: after a
 * file was sent, its directory is swapped for a symlink to a directory
 * outside the module holding a file of the same name, size and time. The
 * sending daemon must not remove that outside file when the receiver
 * confirms the transfer: upstream opens the file's directory beneath the
 * module (sender.c secure_sender_parent_fd) and refuses the symlink,
 * `sender failed to secure-open-parent d/f: Too many levels of symbolic
 * links (40)`, code 23.
 *
 * The window: with --delay-updates the receiver confirms its files only at
 * the end, after the large file e/z that follows d/f at BWLIMIT; the swap is
 * made as soon as d/f waits in the destination's staging directory.
 *
 * A local copy's sender does the same beneath the directory its argument
 * names (upstream anchors at the transfer's root): the same race, and
 * symlinks followed by -L or --copy-dirlinks, one leading out of the tree
 * refused at the removal, one staying inside followed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, stopDaemons, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runOc, runRsync, type RunResult } from "../helpers/run.ts";

const LARGE = 2560 * 1024;
const BWLIMIT = "1024";
const VICTIM = "victim\n";
/** The same time for the module's file and the outside one, so only the directory tells them apart. */
const STAMP = new Date("2020-01-01T00:00:00Z");

let work: string;
const daemons: Partial<Record<"upstream" | "ours", RunningDaemon>> = {};
const modulePath = (kind: string) => join(work, `module-${kind}`);
const outsidePath = (kind: string) => join(work, `outside-${kind}`);

function makeTrees(kind: string): void {
  const mod = modulePath(kind);
  const outside = outsidePath(kind);
  for (const dir of [mod, outside]) fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(join(mod, "d"), { recursive: true });
  fs.mkdirSync(join(mod, "e"));
  fs.mkdirSync(outside);
  for (const f of [join(mod, "d", "f"), join(outside, "f")]) {
    fs.writeFileSync(f, VICTIM);
    fs.utimesSync(f, STAMP, STAMP);
  }
  fs.writeFileSync(join(mod, "e", "z"), Buffer.alloc(LARGE, 7));
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-removal-race-"));
  for (const kind of ["upstream", "ours"] as const) {
    makeTrees(kind);
    daemons[kind] = await startDaemon(kind, [{ name: "mod", path: modulePath(kind), params: { "read only": "no", "use chroot": "no", uid: "0", gid: "0" } }]);
  }
});

afterAll(async () => {
  await stopDaemons(...Object.values(daemons));
  fs.rmSync(work, { recursive: true, force: true });
});

/** Runs `start`; once d/f waits in `dest`'s staging directory, swaps the tree's d for a symlink to the outside directory. */
async function withSwap(tree: string, outside: string, dest: string, start: () => Promise<RunResult>): Promise<{ r: RunResult; swapped: boolean }> {
  let swapped = false;
  let done = false;
  const running = start().finally(() => (done = true));
  while (!done) {
    if (fs.existsSync(join(dest, "d", ".~tmp~", "f"))) {
      fs.renameSync(join(tree, "d"), join(tree, "d.old"));
      fs.symlinkSync(outside, join(tree, "d"));
      swapped = true;
      break;
    }
    await Bun.sleep(5);
  }
  return { r: await running, swapped };
}

const RACE_ARGS = ["-a", "--remove-source-files", "--delay-updates", `--bwlimit=${BWLIMIT}`];

describe("--remove-source-files: a sent file's directory swapped for a symlink out of the module before the removal", () => {
  for (const kind of ["upstream", "ours"] as const) {
    test(`the file outside is left alone (${kind}'s daemon)`, async () => {
      makeTrees(kind);
      const mod = modulePath(kind);
      const dest = join(work, `dest-${kind}`);
      const { r, swapped } = await withSwap(mod, outsidePath(kind), dest, () => runRsync([...RACE_ARGS, `${daemons[kind]!.url("mod")}/`, `${dest}/`]));
      expect(swapped).toBe(true);
      expect({
        code: r.code,
        errors: normalizeErrors(r.stderr).split("\n").filter(Boolean),
        outside: fs.readdirSync(outsidePath(kind)),
        moduleFile: fs.readFileSync(join(mod, "d.old", "f"), "latin1"),
        // The large file was confirmed and removed; the received files are all there.
        large: fs.existsSync(join(mod, "e", "z")),
        received: [fs.readFileSync(join(dest, "d", "f"), "latin1"), fs.statSync(join(dest, "e", "z")).size],
      }).toEqual({
        code: 23,
        errors: [
          "rsync: [sender] sender failed to secure-open-parent d/f: Too many levels of symbolic links (40)",
          "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at X [generator]",
        ],
        outside: ["f"],
        moduleFile: VICTIM,
        large: false,
        received: [VICTIM, LARGE],
      });
    });
  }
});

describe("--remove-source-files in a local copy", () => {
  for (const kind of ["upstream", "ours"] as const) {
    const runner = kind === "ours" ? runOc : runRsync;

    test(`a sent file's directory swapped for a symlink out of the tree: the file outside is left alone (${kind})`, async () => {
      const tree = modulePath(`local-${kind}`);
      const outside = outsidePath(`local-${kind}`);
      makeTrees(`local-${kind}`);
      const dest = join(work, `local-dest-${kind}`);
      const { r, swapped } = await withSwap(tree, outside, dest, () => runner([...RACE_ARGS, `${tree}/`, `${dest}/`]));
      expect(swapped).toBe(true);
      expect({ code: r.code, errors: normalizeErrors(r.stderr).split("\n").filter(Boolean), outside: fs.readdirSync(outside), large: fs.existsSync(join(tree, "e", "z")) }).toEqual({
        code: 23,
        errors: [
          "rsync: [sender] sender failed to secure-open-parent d/f: Too many levels of symbolic links (40)",
          "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at X [sender]",
        ],
        outside: ["f"],
        large: false,
      });
    });

    for (const option of ["-L", "--copy-dirlinks"]) {
      test(`${option}: a directory link out of the tree is refused at the removal, one inside followed (${kind})`, () => {
        const base = join(work, `follow-${kind}${option}`);
        fs.rmSync(base, { recursive: true, force: true });
        const src = join(base, "src");
        const elsewhere = join(base, "elsewhere");
        fs.mkdirSync(join(src, "sub"), { recursive: true });
        fs.mkdirSync(elsewhere);
        fs.writeFileSync(join(elsewhere, "g"), "g\n");
        fs.writeFileSync(join(src, "sub", "s"), "s\n");
        fs.symlinkSync(elsewhere, join(src, "ld"));
        fs.symlinkSync("sub", join(src, "ls"));
        return runner(["-a", option, "--remove-source-files", `${src}/`, `${join(base, "dest")}/`]).then((r) => {
          expect({
            code: r.code,
            lines: normalizeErrors(r.stderr + r.stdout)
              .split("\n")
              .filter(Boolean)
              .sort(),
            elsewhere: fs.readdirSync(elsewhere),
            src: fs.readdirSync(src).sort(),
            sub: fs.readdirSync(join(src, "sub")),
          }).toEqual({
            code: 23,
            lines: [
              "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at X [sender]",
              "rsync: [sender] sender failed to secure-open-parent ld/g: Too many levels of symbolic links (40)",
              "sender file already removed: sub/s",
            ],
            elsewhere: ["g"],
            src: ["ld", "ls", "sub"],
            sub: [],
          });
        });
      });
    }
  }
});
