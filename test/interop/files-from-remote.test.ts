/**
 * --files-from=:LIST (or HOST:LIST): the list is read on the remote side.
 * Pulling, the sending server reads it; pushing, the receiving server reads
 * it and forwards its names to the sending client. Every pairing of client
 * and server over a remote shell, and our client with both daemons, must
 * leave the tree upstream's client and server leave (our server used to
 * ignore the list, or hang the push waiting for names it never sent; our
 * client took ":LIST" for a local file name). The refusals (a remote list
 * with a local copy, another host, "-") say what upstream's say.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, stopDaemons, type RunningDaemon } from "../helpers/daemon.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";
import { normalizeErrors, runOc, runRsync, type RunResult } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const OUR_SERVER = `${process.execPath} ${MAIN}`;
type Side = "ours" | "upstream";
const SIDES: Side[] = ["upstream", "ours"];

let work: string;
let src: string;
let list: string;
let rsh: string;
const daemons: Record<string, RunningDaemon> = {};

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-files-from-remote-"));
  src = join(work, "src");
  fs.mkdirSync(join(src, "dir/sub"), { recursive: true });
  for (const name of ["a", "b", "dir/c", "dir/sub/d", "unlisted"]) fs.writeFileSync(join(src, name), `${name}\n`);
  ageTree(src, 1_500_000_000);
  list = join(src, "list");
  // (No comment: a list forwarded to a pushing client is read there as names, comments too.)
  fs.writeFileSync(list, "a\n\ndir/sub/d\n");
  rsh = writeFakeRsh(join(work, "rsh"));
  for (const kind of SIDES) daemons[kind] = await startDaemon(kind, [{ name: "src", path: src, params: { uid: "0", gid: "0" } }]);
});

afterAll(async () => {
  await stopDaemons(...Object.values(daemons));
  fs.rmSync(work, { recursive: true, force: true });
});

const run = (side: Side, args: string[]) => (side === "ours" ? runOc(args) : runRsync(args));

/** A fresh destination for one run. */
function dest(name: string): string {
  const d = join(work, name);
  fs.rmSync(d, { recursive: true, force: true });
  return d;
}

async function copied(client: Side, args: string[], to: string): Promise<Record<string, unknown>> {
  const r = await run(client, args);
  expect({ stderr: r.stderr, code: r.code }).toEqual({ stderr: "", code: 0 });
  return snapshot(to, { ignoreRoot: true });
}

describe("--files-from=:LIST over a remote shell, every pairing", () => {
  for (const direction of ["pull", "push"] as const) {
    test(direction, async () => {
      const results: Record<string, Record<string, unknown>> = {};
      for (const client of SIDES) {
        for (const server of SIDES) {
          const to = dest(`${direction}-${client}-${server}`);
          const serverPath = server === "ours" ? [`--rsync-path=${OUR_SERVER}`] : [];
          const [from, target] = direction === "pull" ? [`host:${src}/`, `${to}/`] : [`${src}/`, `host:${to}/`];
          results[`${client} client, ${server} server`] = await copied(client, ["-a", "-e", rsh, ...serverPath, `--files-from=:${list}`, from, target], to);
        }
      }
      const expected = results["upstream client, upstream server"]!;
      expect(Object.keys(expected).sort()).toEqual(["a", "dir", "dir/sub", "dir/sub/d"]);
      for (const [pairing, tree] of Object.entries(results)) expect({ [pairing]: tree }).toEqual({ [pairing]: expected });
    }, 60_000);
  }
});

test("our client pulls with --files-from=:LIST from both daemons (the list inside the module)", async () => {
  const results: Record<string, unknown>[] = [];
  for (const kind of SIDES) {
    const to = dest(`daemon-${kind}`);
    results.push(await copied("ours", ["-a", "--files-from=:/list", daemons[kind]!.url("src"), `${to}/`], to));
  }
  expect(results[1]).toEqual(results[0]!);
  expect(Object.keys(results[0]!).sort()).toEqual(["a", "dir", "dir/sub", "dir/sub/d"]);
}, 30_000);

test("a remote list with a local copy, on another host, or named '-' is refused as upstream refuses it", async () => {
  const cases = [
    ["-a", `--files-from=:${list}`, `${src}/`, join(work, "refused")],
    ["-a", "-e", rsh, `--files-from=elsewhere:${list}`, `host:${src}/`, join(work, "refused")],
    ["-a", "-e", rsh, `--files-from=elsewhere:${list}`, `${src}/`, `host:${join(work, "refused")}`],
    ["-a", "-e", rsh, "--files-from=:-", `host:${src}/`, join(work, "refused")],
  ];
  const shown = (r: RunResult) => ({ code: r.code, stderr: normalizeErrors(r.stderr).replace(/ at \S+ \[/, " at X [").replace("[client]", "[X]") });
  for (const args of cases) {
    const [up, ours] = [await runRsync(args), await runOc(args)];
    expect(up.code).toBe(1);
    expect(shown(ours)).toEqual(shown(up));
    expect(fs.existsSync(join(work, "refused"))).toBe(false);
  }
}, 30_000);
