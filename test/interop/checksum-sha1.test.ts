/**
 * Upstream's `sha1` checksum (CSUM_SHA1: 20-byte digests; a block's strong
 * sum is SHA1(seed as 4 LE bytes ‖ block), whatever the seed-order flag; the
 * whole-file and -c sums are plain SHA1), alone and paired with md5 as
 * --checksum-choice=XFER,FILE, wherever our code meets upstream's: our client
 * with upstream's daemon and server, upstream's client with our daemon and
 * server, pulling and pushing. Each transfer is compared with upstream's
 * client and server doing the same on the same files: the --stats figures
 * (literal and matched data say whether the block sums matched: a strong sum
 * seeded the wrong way matches nothing and the delta turns all literal), the
 * -i listing, and the tree left behind. Also: a side that offers only sha1
 * (RSYNC_CHECKSUM_LIST), upstream's or ours, client or server, negotiates it,
 * and --version lists it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBothDaemons, startDaemon, stopDaemons, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";
import { runOc, runRsync, sortedLines } from "../helpers/run.ts";
import { snapshot } from "../helpers/tree.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const OUR_SERVER = `${process.execPath} ${MAIN}`;

let work: string;
let src: string;
let basis: string;
let rsh: string;
const daemons: Record<Side, RunningDaemon> = {} as never;
/** The same modules served by daemons whose RSYNC_CHECKSUM_LIST is "sha1". */
const sha1Daemons: Record<Side, RunningDaemon> = {} as never;

type Side = "ours" | "upstream";

/** A reproducible stream of bytes (mulberry32). */
function bytes(seed: number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (t ^ (t >>> 14)) >>> 0;
  }
  return out;
}

const OLD = 1_450_000_000;
const NEW = 1_460_000_000;

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-sha1-"));
  src = join(work, "src");
  basis = join(work, "basis");
  fs.mkdirSync(src);
  fs.mkdirSync(basis);
  const put = (dir: string, name: string, data: Buffer, mtime: number) => {
    fs.writeFileSync(join(dir, name), data);
    fs.utimesSync(join(dir, name), mtime, mtime);
  };
  // Deltas: an insertion and a changed stretch in a large file, an appended tail.
  const old = bytes(1, 400_000);
  put(basis, "edited", old, OLD);
  put(src, "edited", Buffer.concat([old.subarray(0, 100_000), Buffer.from("INSERTED"), old.subarray(100_000, 300_000), bytes(2, 3000), old.subarray(303_000)]), NEW);
  put(basis, "grown", bytes(3, 150_000), OLD);
  put(src, "grown", Buffer.concat([bytes(3, 150_000), bytes(4, 20_000)]), NEW);
  // No basis: sent whole.
  put(src, "new", bytes(5, 100_000), NEW);
  // Same size and mtime, other bytes: only -c sees the change.
  put(basis, "same-size", bytes(6, 30_000), NEW);
  put(src, "same-size", bytes(7, 30_000), NEW);
  // Same bytes, another mtime: -c finds it up to date (only its time is set); without -c it is all matched data.
  put(basis, "time-only", bytes(8, 50_000), OLD);
  put(src, "time-only", bytes(8, 50_000), NEW);
  put(basis, "unchanged", bytes(9, 10_000), NEW);
  put(src, "unchanged", bytes(9, 10_000), NEW);
  fs.utimesSync(src, NEW, NEW);
  rsh = writeFakeRsh(join(work, "rsh"));
  fs.mkdirSync(join(work, "w"));
  const modules: ModuleConfig[] = [
    { name: "src", path: src, params: { uid: "0", gid: "0" } },
    { name: "w", path: join(work, "w"), params: { "read only": "no", uid: "0", gid: "0" } },
  ];
  ({ upstream: daemons.upstream, ours: daemons.ours } = await startBothDaemons(modules));
  const sha1Only = { RSYNC_CHECKSUM_LIST: "sha1" };
  [sha1Daemons.upstream, sha1Daemons.ours] = await Promise.all([startDaemon("upstream", modules, {}, [], sha1Only), startDaemon("ours", modules, {}, [], sha1Only)]);
});

afterAll(async () => {
  await stopDaemons(daemons.upstream, daemons.ours, sha1Daemons.upstream, sha1Daemons.ours);
  fs.rmSync(work, { recursive: true, force: true });
});

type Role = "daemon-pull" | "daemon-push" | "rsh-pull" | "rsh-push";

/** A destination under the writable module: empty, or holding the old files. */
function destination(name: string, withBasis: boolean): string {
  const dest = join(work, "w", name);
  fs.rmSync(dest, { recursive: true, force: true });
  if (withBasis) fs.cpSync(basis, dest, { recursive: true, preserveTimestamps: true });
  else fs.mkdirSync(dest);
  return dest;
}

/**
 * The command line of one transfer of `src` into `dest`, `client` talking to a `server` of the other (or the same) kind;
 * `serverEnv` goes before the remote shell's server, and a daemon run with RSYNC_CHECKSUM_LIST=sha1 is picked when it names that.
 */
function argv(role: Role, server: Side, dest: string, args: string[], serverEnv = ""): string[] {
  const d = (serverEnv.includes("RSYNC_CHECKSUM_LIST=sha1") ? sha1Daemons : daemons)[server];
  const rel = `${dest.slice(join(work, "w").length + 1)}/`;
  const rshArgs = ["-e", rsh, `--rsync-path=${serverEnv}${server === "ours" ? OUR_SERVER : "rsync"}`];
  switch (role) {
    case "daemon-pull":
      return [...args, d.url("src"), `${dest}/`];
    case "daemon-push":
      return [...args, `${src}/`, d.url("w", rel)];
    case "rsh-pull":
      return [...args, ...rshArgs, `localhost:${src}/`, `${dest}/`];
    case "rsh-push":
      return [...args, ...rshArgs, `${src}/`, `localhost:${dest}/`];
  }
}

interface Outcome {
  code: number;
  stderr: string;
  lines: string[];
  tree: ReturnType<typeof snapshot>;
  dest: string;
}

async function transfer(role: Role, client: Side, server: Side, name: string, args: string[], withBasis: boolean, env: Record<string, string> = {}, serverEnv = ""): Promise<Outcome> {
  const dest = destination(`${name}-${client}-${server}`, withBasis);
  const r = await (client === "ours" ? runOc : runRsync)(argv(role, server, dest, args, serverEnv), { env });
  return { code: r.code, stderr: r.stderr, lines: sortedLines(r.stdout, [dest]), tree: snapshot(dest, { ignoreRoot: true }), dest };
}

/**
 * The destination now holds the source's bytes (a delta that went wrong
 * would show here), but for "same-size" when it had a basis and the quick
 * check (no -c) left it alone.
 */
function expectCopied(dest: string, args: string[]): void {
  const quick = !args.some((a) => /^-[^-]*c/.test(a)) && fs.existsSync(join(dest, "same-size")) && fs.readFileSync(join(dest, "same-size")).equals(fs.readFileSync(join(basis, "same-size")));
  for (const name of fs.readdirSync(src)) {
    const want = fs.readFileSync(join(quick && name === "same-size" ? basis : src, name));
    expect({ name, same: fs.readFileSync(join(dest, name)).equals(want) }).toEqual({ name, same: true });
  }
}

/** A --stats figure ("Matched data", "Literal data") of a sortedLines listing. */
function figure(lines: string[], label: string): number {
  const line = lines.find((l) => l.startsWith(`${label}: `));
  expect(line).toBeDefined();
  return Number(line!.slice(label.length + 2).replace(/[^\d]/g, ""));
}

const CASES: { name: string; args: string[]; withBasis: boolean; check(reference: Outcome): void }[] = [
  {
    // Block sums both ways: the generator's table, the sender's matcher, then the whole-file sum of the result.
    name: "delta",
    args: ["-rt", "--no-W", "--stats", "--checksum-seed=77"],
    withBasis: true,
    check(ref) {
      // Most of the data is matched, not sent: the block sums really were compared.
      expect(figure(ref.lines, "Matched data")).toBeGreaterThan(500_000);
      expect(figure(ref.lines, "Literal data")).toBeLessThan(150_000);
    },
  },
  {
    // Every file sent whole into an empty destination: only the whole-file sums are at work.
    name: "whole",
    args: ["-rt", "-W", "--stats"],
    withBasis: false,
    check(ref) {
      expect(figure(ref.lines, "Matched data")).toBe(0);
    },
  },
  {
    // -c: the file list carries each file's sum (20 bytes for sha1) and the generator compares it with its own.
    name: "checksum",
    args: ["-rtci", "--stats"],
    withBasis: true,
    check(ref) {
      expect(ref.lines.some((l) => /^[<>]fc/.test(l) && l.endsWith(" same-size"))).toBe(true);
      expect(ref.lines.some((l) => l.endsWith(" time-only") && l.startsWith(".f..t"))).toBe(true);
      expect(ref.lines.some((l) => l.endsWith(" unchanged"))).toBe(false);
    },
  },
];

const CHOICES = ["sha1", "sha1,md5", "md5,sha1"];
/** [client, server] pairs with one of each; upstream's own pair is the reference. */
const PAIRS: [Side, Side][] = [
  ["ours", "upstream"],
  ["upstream", "ours"],
];

for (const role of ["daemon-pull", "daemon-push", "rsh-pull", "rsh-push"] as Role[]) {
  describe(`--checksum-choice with sha1: ${role}`, () => {
    for (const c of CASES) {
      for (const choice of CHOICES) {
        test(`${c.name}, --checksum-choice=${choice}`, async () => {
          const args = [...c.args, `--checksum-choice=${choice}`];
          const name = `${role}-${c.name}-${choice.replace(",", "_")}`;
          const reference = await transfer(role, "upstream", "upstream", name, args, c.withBasis);
          expect(reference.stderr).toBe("");
          expect(reference.code).toBe(0);
          expectCopied(reference.dest, args);
          c.check(reference);
          for (const [client, server] of PAIRS) {
            const got = await transfer(role, client, server, name, args, c.withBasis);
            expect({ client, server, stderr: got.stderr, code: got.code }).toEqual({ client, server, stderr: "", code: 0 });
            expect({ client, server, lines: got.lines }).toEqual({ client, server, lines: reference.lines });
            expect(got.tree).toEqual(reference.tree);
            expectCopied(got.dest, args);
          }
        }, 60_000);
      }
    }
  });
}

describe("sha1 chosen by negotiation (a peer whose RSYNC_CHECKSUM_LIST is only sha1)", () => {
  const args = ["-rt", "--no-W", "--stats", "--debug=NSTR"];

  test("our client, upstream's server offering only sha1", async () => {
    const reference = await transfer("rsh-pull", "upstream", "upstream", "nego-server", args, true, {}, "RSYNC_CHECKSUM_LIST=sha1 ");
    expect(reference.code).toBe(0);
    expect(reference.lines).toContain("Client negotiated checksum: sha1");
    expect(figure(reference.lines, "Matched data")).toBeGreaterThan(500_000);
    for (const role of ["rsh-pull", "rsh-push"] as Role[]) {
      const up = await transfer(role, "upstream", "upstream", `nego-server-${role}`, args, true, {}, "RSYNC_CHECKSUM_LIST=sha1 ");
      const got = await transfer(role, "ours", "upstream", `nego-server-${role}`, args, true, {}, "RSYNC_CHECKSUM_LIST=sha1 ");
      expect({ role, stderr: got.stderr, code: got.code }).toEqual({ role, stderr: up.stderr, code: 0 });
      expect({ role, lines: got.lines }).toEqual({ role, lines: up.lines });
      expect(got.tree).toEqual(up.tree);
      expectCopied(got.dest, args);
    }
  }, 60_000);

  test("our client offering only sha1, upstream's daemon and server", async () => {
    const env = { RSYNC_CHECKSUM_LIST: "sha1" };
    for (const role of ["daemon-pull", "daemon-push", "rsh-pull", "rsh-push"] as Role[]) {
      // (A remote shell passes the client's environment on: there both sides offer only sha1.)
      const up = await transfer(role, "upstream", "upstream", `nego-our-client-${role}`, args, true, env);
      expect(up.code).toBe(0);
      expect(up.lines).toContain("Client negotiated checksum: sha1");
      const got = await transfer(role, "ours", "upstream", `nego-our-client-${role}`, args, true, env);
      expect({ role, stderr: got.stderr, code: got.code }).toEqual({ role, stderr: up.stderr, code: 0 });
      expect({ role, lines: got.lines }).toEqual({ role, lines: up.lines });
      expect(got.tree).toEqual(up.tree);
      expectCopied(got.dest, args);
    }
  }, 60_000);

  test("our daemon and server offering only sha1, to upstream's client and ours", async () => {
    const serverEnv = "RSYNC_CHECKSUM_LIST=sha1 ";
    for (const role of ["daemon-pull", "daemon-push", "rsh-pull", "rsh-push"] as Role[]) {
      const up = await transfer(role, "upstream", "upstream", `nego-our-server-${role}`, [...args, "--debug=NSTR2"], true, {}, serverEnv);
      expect(up.code).toBe(0);
      expect(up.lines).toContain("Server checksum list (on client): sha1");
      expect(up.lines).toContain("Client negotiated checksum: sha1");
      for (const client of ["upstream", "ours"] as Side[]) {
        const got = await transfer(role, client, "ours", `nego-our-server-${role}`, [...args, "--debug=NSTR2"], true, {}, serverEnv);
        expect({ role, client, stderr: got.stderr, code: got.code }).toEqual({ role, client, stderr: up.stderr, code: 0 });
        expect({ role, client, lines: got.lines }).toEqual({ role, client, lines: up.lines });
        expect(got.tree).toEqual(up.tree);
        expectCopied(got.dest, args);
      }
    }
  }, 60_000);

  test("upstream's client offering only sha1, our daemon and server", async () => {
    const env = { RSYNC_CHECKSUM_LIST: "sha1" };
    for (const role of ["daemon-pull", "daemon-push", "rsh-pull", "rsh-push"] as Role[]) {
      const up = await transfer(role, "upstream", "upstream", `nego-client-${role}`, args, true, env);
      expect(up.code).toBe(0);
      expect(up.lines).toContain("Client negotiated checksum: sha1");
      const got = await transfer(role, "upstream", "ours", `nego-client-${role}`, args, true, env);
      expect({ role, stderr: got.stderr, code: got.code }).toEqual({ role, stderr: up.stderr, code: 0 });
      expect({ role, lines: got.lines }).toEqual({ role, lines: up.lines });
      expect(got.tree).toEqual(up.tree);
      expectCopied(got.dest, args);
    }
  }, 60_000);
});

test("--version's checksum list is upstream's", async () => {
  const list = (text: string) => text.split("\n")[text.split("\n").indexOf("Checksum list:") + 1];
  const [ours, theirs] = await Promise.all([runOc(["--version"]), runRsync(["--version"])]);
  expect(list(theirs.stdout)).toContain(" sha1 ");
  expect(list(ours.stdout)).toBe(list(theirs.stdout));
});
