/**
 * A server that refuses a push ends with MSG_ERROR_EXIT after its own
 * "rsync error" line: the client then exits with that code and adds no line
 * of its own, as upstream's client does (cleanup.c: no duplicate after
 * MSG_ERROR_EXIT). Checked against upstream's client, with upstream's daemon
 * and ours.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runOc, runRsync } from "../helpers/run.ts";

let work: string;
const daemons: Partial<Record<"ours" | "upstream", RunningDaemon>> = {};

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-srvexit-"));
  fs.mkdirSync(join(work, "src"));
  fs.writeFileSync(join(work, "src/f"), "f\n");
  fs.mkdirSync(join(work, "rw"));
  const modules: ModuleConfig[] = [
    { name: "ro", path: join(work, "src"), params: { uid: "0", gid: "0" } },
    { name: "rw", path: join(work, "rw"), params: { uid: "0", gid: "0", "read only": "no", "refuse options": "delete" } },
  ];
  daemons.ours = await startDaemon("ours", modules);
  daemons.upstream = await startDaemon("upstream", modules);
});

afterAll(async () => {
  await daemons.ours?.stop();
  await daemons.upstream?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const CASES: [string, (d: RunningDaemon) => string[]][] = [
  ["a push to a read-only module", (d) => ["-r", `${join(work, "src")}/`, d.url("ro", "x/")]],
  ["a refused --delete", (d) => ["-r", "--delete", `${join(work, "src")}/`, d.url("rw", "x/")]],
  ["a --usermap the server cannot parse", (d) => ["-r", "--usermap=1-x:2", `${join(work, "src")}/`, d.url("rw", "y/")]],
];

describe("after the server's own error exit the client adds nothing", () => {
  for (const daemon of ["upstream", "ours"] as const) {
    CASES.forEach(([name, args]) => {
      test(`${name} (${daemon} daemon)`, async () => {
        const a = await runOc(args(daemons[daemon]!));
        const b = await runRsync(args(daemons[daemon]!));
        // Upstream's client may also see the connection reset as the server goes: that line is timing.
        const lines = (t: string) => normalizeErrors(t).split("\n").filter((l) => l && !l.includes("Connection reset by peer"));
        expect(lines(a.stderr)).toEqual(lines(b.stderr));
        expect(lines(a.stderr).filter((l) => l.startsWith("rsync error:")).length).toBe(1);
        expect(a.code).toBe(b.code);
        expect(a.code).not.toBe(0);
      });
    });
  }
});
