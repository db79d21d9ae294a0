/**
 * --list-only with a remote destination: the push goes ahead, and the
 * receiving side lists what it is sent (as MSG_INFO lines) and changes
 * nothing. Every pairing of our client and server with upstream's.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { runOc, runRsync } from "../helpers/run.ts";
import { ageTree } from "../helpers/tree.ts";

const OUR_SERVER = `${process.execPath} ${join(import.meta.dir, "../../src/main.ts")}`;
let work: string;
let rsh: string;
const daemons: Partial<Record<"ours" | "upstream", RunningDaemon>> = {};

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-push-list-"));
  fs.mkdirSync(join(work, "src/d"), { recursive: true });
  fs.writeFileSync(join(work, "src/f"), "hello\n");
  fs.writeFileSync(join(work, "src/d/g"), "g\n");
  fs.symlinkSync("f", join(work, "src/link"));
  ageTree(join(work, "src"), 1_450_000_000);
  fs.mkdirSync(join(work, "in"));
  rsh = join(work, "rsh");
  fs.writeFileSync(rsh, '#!/bin/sh\nshift\nexec sh -c "$*"\n', { mode: 0o755 });
  const modules: ModuleConfig[] = [{ name: "in", path: join(work, "in"), params: { uid: "0", gid: "0", "read only": "no" } }];
  daemons.ours = await startDaemon("ours", modules);
  daemons.upstream = await startDaemon("upstream", modules);
});

afterAll(async () => {
  await daemons.ours?.stop();
  await daemons.upstream?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

describe("a push with --list-only lists on the receiving side", () => {
  for (const server of ["upstream", "ours"] as const) {
    for (const via of ["daemon", "rsh"] as const) {
      for (const flags of [["-r"], ["-rl", "--no-i-r"], ["-d"]]) {
        test(`${via}, ${server} server, ${flags.join(" ")}`, async () => {
          const to =
            via === "daemon"
              ? daemons[server]!.url("in", "made/")
              : `h:${join(work, "in", "made")}/`;
          const extra = via === "rsh" ? ["-e", rsh, ...(server === "ours" ? [`--rsync-path=${OUR_SERVER}`] : [])] : [];
          const args = ["--list-only", ...flags, ...extra, `${join(work, "src")}/`, to];
          const a = await runOc(args);
          const b = await runRsync(args);
          expect(a.stderr).toBe(b.stderr);
          expect(a.code).toBe(b.code);
          expect(a.stdout.split("\n").sort()).toEqual(b.stdout.split("\n").sort());
          expect(a.stdout).toContain(" f\n");
          expect(fs.readdirSync(join(work, "in"))).toEqual([]);
        });
      }
    }
  }
});
