/**
 * Incremental recursion on the sending side: the generator's first request
 * is answered while directories are still being listed, as upstream does
 * (io.c perform_io sends one more sub-list at a time while no request has
 * come, sender.c send_files keeps only MIN_FILECNT_LOOKAHEAD files ahead
 * before reading each request). Before the first request both list 1,000
 * files past the first list; a sender that listed its whole idle lookahead
 * (10,000 files) first kept the first file waiting for all of this tree's
 * 3,000 directories to be scanned.
 *
 * Seen from a pushing client at -v --debug=FLIST3: the name of a file in the
 * first list is printed as it is sent, "[sender] flist_eof=1" once the last
 * sub-list is out. Upstream's client lists a directory in a few
 * microseconds and often finishes before the daemon's first request comes,
 * so only the transfer itself is compared with it; ours yields to the event
 * loop after each directory listed while idle, which gives the request
 * (a loopback round trip away) hundreds of chances to be read first.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, startUpstreamDaemon, stopDaemons, type RunningDaemon } from "../helpers/daemon.ts";
import { type RunResult, runOc, runRsync } from "../helpers/run.ts";
import { snapshot } from "../helpers/tree.ts";

const DIRS = 3000;
/** A directory with more entries than the idle lookahead (10,000), listed before other directories. */
const BIG = 10_500;
let work: string;
let daemon: RunningDaemon;
let oursDaemon: RunningDaemon;

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-lookahead-"));
  const src = join(work, "src");
  fs.mkdirSync(src);
  fs.writeFileSync(join(src, "top0"), "first\n");
  for (let d = 0; d < DIRS; d++) {
    fs.mkdirSync(join(src, `d${d}`));
    fs.writeFileSync(join(src, `d${d}`, "f"), `${d}\n`);
  }
  fs.mkdirSync(join(work, "in"));
  const big = join(work, "big");
  fs.mkdirSync(join(big, "a"), { recursive: true });
  for (let i = 0; i < BIG; i++) fs.writeFileSync(join(big, "a", `f${i}`), "");
  for (const d of ["b", "c"]) {
    fs.mkdirSync(join(big, d, "sub"), { recursive: true });
    fs.writeFileSync(join(big, d, "f"), `${d}\n`);
    fs.writeFileSync(join(big, d, "sub", "g"), `${d}\n`);
  }
  const served = { name: "big", path: big, params: { uid: "0", gid: "0" } };
  daemon = await startUpstreamDaemon([{ name: "in", path: join(work, "in"), params: { uid: "0", gid: "0", "read only": "no" } }, served]);
  oursDaemon = await startDaemon("ours", [served]);
});

afterAll(async () => {
  await stopDaemons(daemon, oursDaemon);
  fs.rmSync(work, { recursive: true, force: true });
});

/** A pushing client's -v --debug=FLIST3 run into a new directory of the module: its output lines. */
async function push(run: typeof runOc): Promise<string[]> {
  const dest = join(work, "in", "made");
  fs.rmSync(dest, { recursive: true, force: true });
  const r = await run(["-rv", "--debug=FLIST3", `${join(work, "src")}/`, daemon.url("in", "made/")]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(fs.readFileSync(join(dest, "top0"), "utf8")).toBe("first\n");
  expect(fs.readdirSync(dest).length).toBe(DIRS + 1);
  return r.stdout.split("\n");
}

/** The names sent and the lists made, without the order they came in. */
const sorted = (lines: string[]) => lines.filter((l) => !l.startsWith("sent ") && !l.startsWith("total size")).sort();

test("a pushing sender answers the first request before it has listed every directory", async () => {
  const upstream = await push(runRsync);
  const ours = await push(runOc);
  expect(sorted(ours)).toEqual(sorted(upstream));
  const firstFile = ours.indexOf("top0");
  const eof = ours.indexOf("[sender] flist_eof=1");
  expect(firstFile).toBeGreaterThan(0);
  expect(eof).toBeGreaterThan(firstFile);
});

// flist.c keeps the lists ahead of the list of the generator's latest request (file_old_total), not of the lists
// the generator has finished with: the directory of 10,500 entries stays open until the generator has moved on to
// the next list, which it waits for. Counting the open directory as "ahead" held that list back: a push and a
// served pull hung, a local copy stopped with code 15. --timeout turns a hang into a failure. Each run is compared
// with upstream's doing the same.
describe("a directory of more entries than the lookahead, then more directories", () => {
  const src = () => `${join(work, "big")}/`;

  /** Both runs succeeded quietly and left the same tree, the source's. */
  function expectSame(ours: RunResult, theirs: RunResult, oursDest: string, theirsDest: string): void {
    for (const r of [ours, theirs]) {
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
    const made = snapshot(oursDest);
    expect(made).toEqual(snapshot(theirsDest));
    expect(made).toEqual(snapshot(join(work, "big")));
  }

  test("push to upstream's daemon", async () => {
    const ours = await runOc(["-a", "--timeout=20", src(), daemon.url("in", "big-ours/")]);
    const theirs = await runRsync(["-a", "--timeout=20", src(), daemon.url("in", "big-theirs/")]);
    expectSame(ours, theirs, join(work, "in", "big-ours"), join(work, "in", "big-theirs"));
  });

  test("upstream's client pulling from our daemon and from upstream's", async () => {
    const [o, t] = [join(work, "pulled-ours"), join(work, "pulled-theirs")];
    const ours = await runRsync(["-a", "--timeout=20", oursDaemon.url("big", ""), `${o}/`]);
    const theirs = await runRsync(["-a", "--timeout=20", daemon.url("big", ""), `${t}/`]);
    expectSame(ours, theirs, o, t);
  });

  test("local copy", async () => {
    const [o, t] = [join(work, "copied-ours"), join(work, "copied-theirs")];
    const ours = await runOc(["-a", "--timeout=20", src(), `${o}/`]);
    const theirs = await runRsync(["-a", "--timeout=20", src(), `${t}/`]);
    expectSame(ours, theirs, o, t);
  });
});
