/**
 * A daemon's "log file" for each transfer, compared with upstream's daemon
 * on the same requests: from "rsync on/to MODULE" on, the list's start
 * ("building file list" / "receiving file list"), the messages sent to the
 * client, the items of a module with "transfer logging" (its "log format";
 * with %i, other changes than transfers too), and the totals line with the
 * total size. Timestamps, pids and byte counts (which depend on framing)
 * are masked.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ModuleConfig, type RunningDaemon, startDaemon } from "../helpers/daemon.ts";
import { runRsync } from "../helpers/run.ts";
import { ageTree } from "../helpers/tree.ts";

let work: string;
const daemons = {} as Record<"upstream" | "ours", { d: RunningDaemon; log: string }>;

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-daemon-log-"));
  const src = join(work, "src");
  fs.mkdirSync(join(src, "d"), { recursive: true });
  fs.writeFileSync(join(src, "a"), "hi\n");
  fs.writeFileSync(join(src, "d/b"), "yo\n");
  fs.writeFileSync(join(src, "big"), Buffer.alloc(50_000).map((_, i) => (i * 31) >>> 3));
  ageTree(src, 1_460_000_000);
  for (const kind of ["upstream", "ours"] as const) {
    const w = join(work, `w-${kind}`);
    fs.mkdirSync(w);
    const modules: ModuleConfig[] = [
      { name: "src", path: src, params: { uid: "0", gid: "0" } },
      { name: "w", path: w, params: { "read only": "no", uid: "0", gid: "0" } },
      { name: "logged", path: src, params: { uid: "0", gid: "0", "transfer logging": "yes", "log format": "%i %n%L" } },
      { name: "wlogged", path: w, params: { "read only": "no", uid: "0", gid: "0", "transfer logging": "yes", "log format": "%o %n %l" } },
    ];
    // The module processes write to the configured "log file" (a --log-file on the command line is the listener's).
    const log = join(work, `${kind}.log`);
    daemons[kind] = { d: await startDaemon(kind, modules, { "log file": log }), log };
  }
});

afterAll(async () => {
  for (const { d } of Object.values(daemons)) await d.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** The lines the log got after its first `from` bytes, from the "rsync on/to" line on, masked. */
function session(kind: "upstream" | "ours", from: number): string[] {
  if (!fs.existsSync(daemons[kind].log)) return ["(no log)"];
  const lines = fs
    .readFileSync(daemons[kind].log)
    .subarray(from)
    .toString("latin1")
    .split("\n")
    .filter(Boolean)
    .map((l) =>
      l
        .replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[\d+\] /, "")
        .replace(/^sent \d+ bytes {2}received \d+ bytes/, "sent N bytes  received N bytes")
        .replace(/ at \S+ \[(\w+)=[^\]]+\]$/, " at WHERE [$1=VERSION]")
        .replaceAll(`w-${kind}`, "W"),
    );
  const start = lines.findIndex((l) => /^rsync (on|to) /.test(l));
  return start < 0 ? ["(no session)"] : lines.slice(start);
}

/** The module process may log its last lines after the client is gone: wait for them (the totals, or the error line). */
async function sessionEnded(kind: "upstream" | "ours", before: number): Promise<string[]> {
  for (let i = 0; i < 400; i++) {
    const lines = session(kind, before);
    if (lines.some((l) => l.startsWith("sent N bytes") || l.startsWith("rsync error"))) return lines;
    await Bun.sleep(50);
  }
  return session(kind, before);
}

/** `shows`: a line upstream's log has in this case (the case exercises what it names). */
type Case = { name: string; run: (url: (module: string, path?: string) => string, dest: string) => string[]; shows: string };
const CASES: Case[] = [
  { name: "a pull", run: (url, dest) => ["-a", url("src"), dest], shows: "building file list" },
  { name: "a push", run: (url) => ["-a", join(work, "src/"), url("w", "push/")], shows: "receiving file list" },
  { name: "a push to a read-only module", run: (url) => ["-a", join(work, "src/"), url("src", "nope/")], shows: "ERROR: module is read only" },
  { name: "a pull with transfer logging and %i", run: (url, dest) => ["-a", url("logged"), dest], shows: "cd+++++++++ d/" },
  { name: "a dry-run pull with transfer logging", run: (url, dest) => ["-a", "-n", url("logged"), dest], shows: "building file list" },
  { name: "a push with transfer logging, deleting", run: (url) => ["-a", "--delete", join(work, "src/"), url("wlogged", "push/")], shows: "del. old 0" },
];

describe("a daemon's log file", () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const got: Record<string, { code: number; lines: string[] }> = {};
      for (const kind of ["upstream", "ours"] as const) {
        const dest = join(work, `dest-${kind}`);
        fs.rmSync(dest, { recursive: true, force: true });
        fs.mkdirSync(dest);
        fs.writeFileSync(join(dest, "extra"), "x\n");
        // A push's destination: an old file to delete.
        fs.mkdirSync(join(work, `w-${kind}`, "push"), { recursive: true });
        fs.writeFileSync(join(work, `w-${kind}`, "push", "old"), "o\n");
        const before = fs.existsSync(daemons[kind].log) ? fs.readFileSync(daemons[kind].log).length : 0;
        const r = await runRsync(c.run(daemons[kind].d.url, `${dest}/`));
        got[kind] = { code: r.code, lines: await sessionEnded(kind, before) };
      }
      expect(got.upstream!.lines).toContain(c.shows);
      // A receiving session's deletions (its generator) and items (its receiver) interleave as the load has it,
      // in upstream's two processes as in ours: between the first and the last line, lines are compared sorted.
      const shown = (r: { code: number; lines: string[] }) => ({ code: r.code, lines: [r.lines[0], ...r.lines.slice(1, -1).sort(), r.lines.at(-1)] });
      expect(shown(got.ours!)).toEqual(shown(got.upstream!));
    }, 60_000);
  }
});

describe("a daemon's log file when its client vanishes in a pull", () => {
  test("the failure, then the totals with the list's total size, then the error line: the sender's", async () => {
    const got: Record<string, string[]> = {};
    for (const kind of ["upstream", "ours"] as const) {
      const dest = join(work, `gone-${kind}`);
      fs.rmSync(dest, { recursive: true, force: true });
      const before = fs.existsSync(daemons[kind].log) ? fs.readFileSync(daemons[kind].log).length : 0;
      // Slowed down by the daemon (the client's --bwlimit goes to it), the pull is still sending "big" when its client is killed.
      const client = Bun.spawn(["rsync", "-a", "--bwlimit=10", daemons[kind].d.url("src"), `${dest}/`], { stdout: "ignore", stderr: "ignore" });
      await Bun.sleep(1000);
      client.kill(9);
      await client.exited;
      got[kind] = await sessionEnded(kind, before);
      // The module process logs the error line last.
      for (let i = 0; i < 100 && !got[kind]!.at(-1)!.startsWith("rsync error"); i++) {
        await Bun.sleep(50);
        got[kind] = session(kind, before);
      }
    }
    const ours = got.ours!;
    const theirs = got.upstream!;
    // The failure itself: the end of the connection, or a reset that upstream reads as a read (or write) error and
    // ours (Bun's sockets do not tell a reset from an end) as the end; both name the sender.
    const failure = (lines: string[]) => lines.at(-3)!.replace(/ \(\d+ bytes received so far\)/, "");
    expect(failure(ours)).toBe("rsync: connection unexpectedly closed [sender]");
    expect(failure(theirs)).toMatch(/^rsync: (connection unexpectedly closed \[sender\]|\[sender\] (read|write) error: .*)$/);
    expect(ours.at(-2)).toBe(theirs.at(-2)!);
    expect(ours.at(-2)).toMatch(/^sent N bytes {2}received N bytes {2}total size 50006$/);
    expect(ours.at(-1)).toMatch(/^rsync error: .* \(code 1[02]\) at WHERE \[sender=VERSION\]$/);
    expect(theirs.at(-1)).toMatch(/^rsync error: .* \(code 1[02]\) at WHERE \[sender=VERSION\]$/);
  }, 60_000);
});
