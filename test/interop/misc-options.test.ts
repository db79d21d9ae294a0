/**
 * The smaller options, each compared with upstream's client on the same
 * tree: --info=help/--debug=help and word checks, --stderr, --outbuf,
 * --max-alloc, --stop-after/--stop-at (their values; the stop itself is
 * below), --drop-D, --old-dirs, --no-i-r, --no-W, --ignore-non-existing, -N (refused
 * here as upstream refuses it on Linux), --confine-root/--insecure-links
 * checks, --munge-links on a local copy, and what the help lists.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { maskFigures, normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";
import { parseStopAt } from "../../src/cli/stop-time.ts";

let work: string;

beforeAll(() => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-misc-"));
  const src = join(work, "src");
  fs.mkdirSync(join(src, "d/e"), { recursive: true });
  fs.writeFileSync(join(src, "f"), "hello\n");
  fs.writeFileSync(join(src, "d/g"), "g\n");
  fs.writeFileSync(join(src, "d/e/h"), "h\n");
  fs.symlinkSync("f", join(src, "link"));
  fs.symlinkSync("/rsyncd-munged/f", join(src, "munged"));
  Bun.spawnSync(["mkfifo", join(src, "d/fifo")]);
  ageTree(src, 1_450_000_000);
});

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

/** Runs both clients with `args` (DEST replaced by a fresh destination each) and compares everything they print. */
async function compare(name: string, args: string[]): Promise<{ ours: string; theirs: string; code: number }> {
  const ours = join(work, `${name}-ours`);
  const theirs = join(work, `${name}-theirs`);
  const a = await runOc(args.map((x) => x.replace("DEST", ours)), { cwd: work });
  const b = await runRsync(args.map((x) => x.replace("DEST", theirs)), { cwd: work });
  // Upstream prints some lines (skipped non-regular files) from its other process: their place is timing.
  const lines = (t: string) => t.split("\n").sort();
  expect(lines(maskFigures(normalizeErrors(a.stderr)).replaceAll(ours, "DEST"))).toEqual(lines(maskFigures(normalizeErrors(b.stderr)).replaceAll(theirs, "DEST")));
  expect(lines(a.stdout.replaceAll(ours, "DEST"))).toEqual(lines(b.stdout.replaceAll(theirs, "DEST")));
  expect(a.code).toBe(b.code);
  const opts = { ignoreTimes: !args.some((x) => /^-[^-]*[at]/.test(x)) };
  if (fs.existsSync(theirs) || fs.existsSync(ours)) expect(snapshot(ours, opts)).toEqual(snapshot(theirs, opts));
  return { ours, theirs, code: a.code };
}

const CASES: [string, string[]][] = [
  ["info-help", ["--info=help"]],
  ["debug-help", ["--debug=help"]],
  ["debug-words-then-help", ["--debug=all3,FLIST2,help,bogus"]],
  ["debug-unknown", ["--debug=bogus2", "src/", "DEST/"]],
  ["info-unknown", ["--info=name,Bogus3", "src/", "DEST/"]],
  ["stderr-bad", ["--stderr=x", "src/", "DEST/"]],
  ["stderr-all", ["-r", "--stderr=all", "-v", "--out-format=%n", "src/", "DEST/"]],
  ["stderr-errors-prefix", ["-r", "--stderr=e", "-i", "src/", "DEST/"]],
  ["outbuf-bad", ["--outbuf=Q", "src/", "DEST/"]],
  ["outbuf-line", ["-r", "--outbuf=Line", "-i", "src/", "DEST/"]],
  ["max-alloc-small", ["--max-alloc=10", "src/", "DEST/"]],
  ["max-alloc", ["-r", "--max-alloc=2G", "src/", "DEST/"]],
  ["stop-after-bad", ["--stop-after=x", "src/", "DEST/"]],
  ["stop-after-zero", ["--stop-after=0", "src/", "DEST/"]],
  ["stop-after", ["-r", "--stop-after=5", "src/", "DEST/"]],
  ["time-limit", ["-r", "--time-limit=5", "src/", "DEST/"]],
  ["stop-at-past", ["--stop-at=2000-01-01T00:00", "src/", "DEST/"]],
  ["stop-at-garbage", ["--stop-at=12-31x", "src/", "DEST/"]],
  ["stop-at-lone-time", ["--stop-at=T12", "src/", "DEST/"]],
  ["stop-at-minute", ["-r", "--stop-at=:30", "src/", "DEST/"]],
  ["stop-at-full", ["-r", "--stop-at=2099/12/31T23:59", "src/", "DEST/"]],
  ["crtimes", ["-N", "src/", "DEST/"]],
  ["confine-relative", ["--confine-root=rel", "src/", "DEST/"]],
  ["confine-insecure", ["--confine-root=/tmp", "--insecure-links", "src/", "DEST/"]],
  ["secluded-old-args", ["-s", "--old-args", "src/", "DEST/"]],
  ["old-dirs", ["-i", "--old-dirs", "src/", "DEST/"]],
  ["no-i-r", ["-ri", "--no-i-r", "src/", "DEST/"]],
  ["no-W", ["-ri", "--no-W", "src/", "DEST/"]],
  ["ignore-non-existing", ["-ri", "--ignore-non-existing", "src/", "DEST/"]],
  ["munge-links", ["-ai", "--munge-links", "src/", "DEST/"]],
  ["drop-D", ["-ai", "--drop-D", "src/", "DEST/"]],
  ["drop-D-undone", ["-ai", "--drop-D", "--no-drop-D", "src/", "DEST/"]],
  ["blocking-io", ["-ri", "--blocking-io", "--sockopts=SO_SNDBUF=65536", "--trust-sender", "src/", "DEST/"]],
];

describe("small options match upstream's client", () => {
  CASES.forEach(([name, args]) => {
    test(`${name}: ${args.join(" ")}`, async () => {
      await compare(name, args);
    });
  });
});

test("--stderr=all moves the item lines to stderr", async () => {
  const a = await runOc(["-r", "--stderr=all", "--out-format=%n", "src/", join(work, "stderr-moved/")], { cwd: work });
  expect(a.stdout).toBe("");
  expect(a.stderr).toContain("d/e/h\n");
});

test("--munge-links on a local copy leaves links as they are (the receiving half does not munge)", async () => {
  const { ours } = await compare("munge-check", ["-a", "--munge-links", "src/", "DEST/"]);
  expect(fs.readlinkSync(join(ours, "link"))).toBe("f");
  // The sending half strips the prefix.
  expect(fs.readlinkSync(join(ours, "munged"))).toBe("f");
});

describe("--stop-at values (local time, here UTC)", () => {
  // 2026-03-15 10:20:30 UTC
  const now = Date.UTC(2026, 2, 15, 10, 20, 30) / 1000;
  const at = (...p: number[]) => Date.UTC(p[0]!, p[1]! - 1, p[2]!, p[3]!, p[4]!) / 1000;
  const CASES: [string, number | null][] = [
    ["2026-12-31T23:59", at(2026, 12, 31, 23, 59)],
    ["2026/03/16", at(2026, 3, 16, 0, 0)],
    ["27-01-02T03:04", at(2027, 1, 2, 3, 4)],
    // A date without a year is the next one to come.
    ["03-15", at(2027, 3, 15, 0, 0)],
    ["03-15T11:00", at(2026, 3, 15, 11, 0)],
    // A time alone is today's, or else tomorrow's.
    ["T11:00", at(2026, 3, 15, 11, 0)],
    ["10:00", at(2026, 3, 16, 10, 0)],
    // Minutes alone: the next hour at that minute.
    [":10", at(2026, 3, 15, 11, 10)],
    [":30", at(2026, 3, 15, 10, 30)],
    // February 29th waits for a leap year.
    ["02-29", at(2028, 2, 29, 0, 0)],
    // A day the month lacks moves on to the next month that has it.
    ["31", at(2026, 3, 31, 0, 0)],
    ["T12", null],
    ["2026-13-01", null],
    ["25:00", null],
    ["2026-01-01-01", null],
    ["", null],
    ["x", null],
    ["2026-03-15T10:61", null],
  ];
  CASES.forEach(([arg, want]) => {
    test(JSON.stringify(arg), () => {
      expect(parseStopAt(arg, now)).toBe(want);
    });
  });
});
