/**
 * -s / --secluded-args and --old-args: how the server's arguments travel.
 * Every pairing of our client and upstream's, over a remote shell and with
 * a daemon, pulling and pushing names a shell would split or expand; each
 * compared with upstream's client and server doing the same.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { startDaemon, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { maskFigures, normalizeErrors, runOc, runRsync, type RunResult } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const OUR_SERVER = `${process.execPath} ${MAIN}`;
const NAMES = ["plain", "two words", "star*", "dollar $HOME", "tilde~", "é-utf8"];

let work: string;
let rsh: string;
let daemons: Record<"ours" | "upstream", RunningDaemon>;

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-secluded-"));
  const src = join(work, "src");
  fs.mkdirSync(src);
  NAMES.forEach((n, i) => fs.writeFileSync(join(src, n), `${n} ${i}\n`));
  ageTree(src, 1_450_000_000);
  fs.mkdirSync(join(work, "in"));
  rsh = join(work, "rsh");
  // Like ssh's far end: the words are joined and run by a shell.
  fs.writeFileSync(rsh, '#!/bin/sh\nshift\nexec sh -c "$*"\n', { mode: 0o755 });
  const modules: ModuleConfig[] = [
    { name: "src", path: src, params: { uid: "0", gid: "0" } },
    { name: "in", path: join(work, "in"), params: { "read only": "no", uid: "0", gid: "0" } },
  ];
  daemons = { ours: await startDaemon("ours", modules), upstream: await startDaemon("upstream", modules) };
});

afterAll(async () => {
  await daemons.ours.stop();
  await daemons.upstream.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

type Client = "ours" | "upstream";
const runClient = (who: Client, args: string[], env?: Record<string, string>): Promise<RunResult> =>
  who === "ours" ? runOc(args, { env }) : runRsync(args, { env });

/** The arguments of one transfer; `dest` is the destination directory (local or, for a push, in the module/remote dir). */
interface Transfer {
  name: string;
  args: (server: Client, dest: string) => string[];
  /** The pushed-to directory lives under work/in (a daemon module or a remote-shell path). */
  push?: boolean;
  env?: Record<string, string>;
}

const rshPull = (flags: string[], names: string[]) => (server: Client, dest: string) => [
  ...flags,
  "-e",
  rsh,
  ...(server === "ours" ? [`--rsync-path=${OUR_SERVER}`] : []),
  ...names.map((n, i) => (i === 0 ? `h:${join(work, "src", n)}` : `:${join(work, "src", n)}`)),
  `${dest}/`,
];
const rshPush = (flags: string[]) => (server: Client, dest: string) => [
  ...flags,
  "-e",
  rsh,
  ...(server === "ours" ? [`--rsync-path=${OUR_SERVER}`] : []),
  `${join(work, "src")}/`,
  `h:${dest}/`,
];
const daemonPull = (flags: string[], names: string[]) => (server: Client, dest: string) => [
  ...flags,
  ...names.map((n) => daemons[server].url("src", n)),
  `${dest}/`,
];
const daemonPush = (flags: string[]) => (server: Client, dest: string) => [
  ...flags,
  `${join(work, "src")}/`,
  daemons[server].url("in", `${dest.slice(join(work, "in").length + 1)}/`),
];

const TRANSFERS: Transfer[] = [
  { name: "-s pull over a remote shell", args: rshPull(["-ai", "-s"], NAMES) },
  { name: "-s push over a remote shell (into a directory with a space)", args: rshPush(["-ai", "-s"]), push: true },
  { name: "RSYNC_PROTECT_ARGS=1 pull over a remote shell", args: rshPull(["-ai"], NAMES), env: { RSYNC_PROTECT_ARGS: "1" } },
  { name: "-s pull from a daemon", args: daemonPull(["-ai", "-s"], NAMES) },
  { name: "-s push to a daemon", args: daemonPush(["-ai", "-s", "--backup-dir=b k", "-b"]), push: true },
  { name: "--old-args pull over a remote shell (the shell splits the name)", args: rshPull(["-ai", "--old-args"], ["two words"]) },
  { name: "RSYNC_OLD_ARGS=1 pull over a remote shell", args: rshPull(["-ai"], ["plain", "two words"]), env: { RSYNC_OLD_ARGS: "1" } },
  { name: "--old-args pull from a daemon", args: daemonPull(["-ai", "--old-args"], ["plain", "two words"]) },
];

describe("secluded and old-style arguments match upstream", () => {
  for (const server of ["upstream", "ours"] as const) {
    for (const client of ["ours", "upstream"] as const) {
      TRANSFERS.forEach((t, i) => {
        test(`${t.name}: ${client} client, ${server} server`, async () => {
          const base = t.push ? join(work, "in") : work;
          const ours = join(base, `t${i} ${client}-${server} ours`);
          const theirs = join(base, `t${i} ${client}-${server} theirs`);
          const a = await runClient(client, t.args(server, ours), t.env);
          const b = await runRsync(t.args("upstream", theirs), { env: t.env });
          const show = (r: RunResult, dest: string) =>
            maskFigures(normalizeErrors(r.stdout + r.stderr))
              // A server that fails its arguments races the client's writes: upstream's client may also
              // see a broken pipe, and which of its processes ends the run varies.
              .replace(/^.*Broken pipe.*\n/m, "")
              .replace(/ at X \[(Receiver|generator)\]/, " at X [client]")
              .replaceAll(dest, "DEST")
              .replaceAll(basename(dest), "DEST")
              .replaceAll(OUR_SERVER, "SERVER")
              .split("\n")
              .sort();
          expect(show(a, ours)).toEqual(show(b, theirs));
          expect(a.code).toBe(b.code);
          // The destination directory itself is made by the run (its time is the run's).
          expect(fs.existsSync(ours)).toBe(fs.existsSync(theirs));
          if (fs.existsSync(theirs)) expect(snapshot(ours, { ignoreRoot: true })).toEqual(snapshot(theirs, { ignoreRoot: true }));
          if (b.code === 0) expect(fs.readdirSync(ours).length).toBeGreaterThan(0);
        });
      });
    }
  }
});
