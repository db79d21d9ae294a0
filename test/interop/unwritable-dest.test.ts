/**
 * A receiver that may not write where it is asked to (a destination owned by
 * someone else, a module whose uid cannot write its path): each failure is
 * reported as upstream reports it (util1.c full_fname names the file: the
 * whole path, or from the module's root with "(in MODULE)"; the message
 * names the step: mkstemp, symlink, mkdir, "failed to set times on", ...),
 * the rest goes on, and the run ends with code 23. Both sides run as an
 * unprivileged user (the module's uid, or setpriv for a local copy), so
 * these tests need root to set that up; elsewhere they are skipped.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBothDaemons, stopDaemons, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, run, runRsync } from "../helpers/run.ts";

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const OLD = new Date("2021-01-01T00:00:00Z");
const MAIN = join(import.meta.dir, "../../src/main.ts");

let work: string;
let src: string;
let daemons: { upstream: RunningDaemon; ours: RunningDaemon };

/** A destination nobody may not write in: root's, mode 555, its times older than the source's. */
function lockedDest(path: string): void {
  fs.rmSync(path, { recursive: true, force: true });
  fs.mkdirSync(join(path, "sub"), { recursive: true });
  for (const d of [join(path, "sub"), path]) {
    fs.utimesSync(d, OLD, OLD);
    fs.chmodSync(d, 0o555);
  }
}

/** A destination nobody owns and may write in, holding root's copy of "g" (same data and time, another mode) and root's "sub". */
function foreignEntriesDest(path: string): void {
  fs.rmSync(path, { recursive: true, force: true });
  fs.mkdirSync(join(path, "sub"), { recursive: true });
  fs.copyFileSync(join(src, "g"), join(path, "g"));
  fs.chmodSync(join(path, "g"), 0o600);
  fs.utimesSync(join(path, "g"), OLD, OLD);
  fs.chmodSync(join(path, "sub"), 0o700);
  fs.chownSync(path, NOBODY, NOBODY);
}

/** A destination nobody owns holding another "g" (its backup is due into BK, which nobody may not write). */
function backupDueDest(path: string): void {
  foreignEntriesDest(path);
  fs.writeFileSync(join(path, "g"), "an older gee\n");
  fs.chownSync(join(path, "g"), NOBODY, NOBODY);
}

/** stderr as compared: temp names' random part masked (and, where asked, the errno), "at FILE(LINE)" normalized, sorted. */
function errorLines(stderr: string, maskErrno = false): string[] {
  let text = normalizeErrors(stderr).replace(/\.[A-Za-z0-9]{6}"/g, '.XXXXXX"');
  if (maskErrno) text = text.replace(/: [A-Z][^:]* \(\d+\)$/gm, ": ERRNO");
  return text.split("\n").filter(Boolean).sort();
}

beforeAll(async () => {
  if (!isRoot) return;
  work = fs.mkdtempSync(join(tmpdir(), "oc-unwritable-"));
  fs.chmodSync(work, 0o755);
  src = join(work, "src");
  fs.mkdirSync(join(src, "sub"), { recursive: true });
  fs.writeFileSync(join(src, "g"), "gee\n");
  fs.writeFileSync(join(src, "sub/f"), "eff\n");
  // Past the receiver's write batch: its temp file is made while its data comes (not by a queued job).
  fs.writeFileSync(join(src, "big"), Buffer.alloc(3 << 20, 7));
  fs.symlinkSync("g", join(src, "l"));
  fs.utimesSync(join(src, "g"), OLD, OLD);
  fs.chmodSync(join(src, "g"), 0o644);
  for (const d of [join(src, "sub"), src]) fs.utimesSync(d, new Date("2022-02-02T00:00:00Z"), new Date("2022-02-02T00:00:00Z"));
  for (const side of ["upstream", "ours"]) fs.mkdirSync(join(work, side));
  // BK: a --backup-dir or --temp-dir nobody may not write in.
  fs.mkdirSync(join(work, "bk"), { mode: 0o555 });
  daemons = await startBothDaemons(
    (["upstream", "ours"] as const).map((side) => ({ name: `up-${side}`, path: join(work, side), params: { "read only": "no", uid: `${NOBODY}`, gid: `${NOBODY}` } })),
  );
});

afterAll(async () => {
  if (!isRoot) return;
  await stopDaemons(daemons?.upstream, daemons?.ours);
  fs.rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!isRoot)("an upstream client pushing into a module its uid cannot write", () => {
  const cases: Array<[string, string[], { sub?: string; maskErrno?: boolean; prepare?: (dest: string) => void }]> = [
    ["-rlt: times, symlink, mkstemp", ["-rlt"], {}],
    ["-a: the same, and mkdir", ["-a"], {}],
    ["-a into a subdirectory: named from the module's root", ["-a"], { sub: "sub/" }],
    // (Upstream 3.5.0 says ENOENT here where the open's real error is EACCES: the wording is compared, not the errno.)
    ["-a --inplace: open", ["-a", "--inplace"], { maskErrno: true }],
    ["-a over root's entries in a directory it may write: permissions, times", ["-a"], { prepare: foreignEntriesDest }],
  ];
  for (const [name, args, { sub = "", maskErrno = false, prepare = lockedDest }] of cases) {
    test(name, async () => {
      const results = [];
      for (const side of ["upstream", "ours"] as const) {
        prepare(join(work, side));
        const r = await runRsync([...args, `${src}/`, daemons[side].url(`up-${side}`, sub)]);
        results.push({ code: r.code, errors: errorLines(r.stderr.replaceAll(`up-${side}`, "MODULE"), maskErrno) });
      }
      const [upstream, ours] = results;
      expect(upstream!.code).toBe(23);
      expect(upstream!.errors.length).toBeGreaterThan(2);
      expect(ours).toEqual(upstream!);
    });
  }
});

describe.skipIf(!isRoot)("a local copy by a user who cannot write the destination", () => {
  const asNobody = (cmd: string[]) => run(["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", ...cmd], { cwd: work });
  const cases: Array<[string, string[], (dest: string) => void]> = [
    ["-rlt", ["-rlt"], lockedDest],
    ["-a", ["-a"], lockedDest],
    ["-a over root's entries", ["-a"], foreignEntriesDest],
    // finish_transfer: a backup that cannot be made ends the run (code 11), after copy_file's and keep_backup's messages.
    ["-a --backup-dir it cannot write", ["-a", "--backup", "--backup-dir=BK"], backupDueDest],
    // (A file all in memory is made only when it is finished: the same mkstemp message, no descriptor used.)
    ["-a --delay-updates", ["-a", "--delay-updates"], lockedDest],
    ["-a --temp-dir it cannot write (absolute: named by that path)", ["-a", "--temp-dir=BK"], lockedDest],
  ];
  for (const [name, args, prepare] of cases) {
    test(name, async () => {
      const results = [];
      for (const [side, program] of [
        ["upstream", ["rsync"]],
        ["ours", [process.execPath, MAIN]],
      ] as const) {
        const dest = join(work, `local-${side}`);
        prepare(dest);
        const r = await asNobody([...program, ...args.map((a) => a.replace("BK", join(work, "bk"))), "src/", `local-${side}/`]);
        results.push({ code: r.code, errors: errorLines(r.stderr.replaceAll(dest, "DEST")) });
      }
      const [upstream, ours] = results;
      expect(upstream!.code).toBe(args.includes("--backup") ? 11 : 23);
      expect(ours).toEqual(upstream!);
    });
  }
});
