/**
 * RSYNC_CHECKSUM_LIST and RSYNC_COMPRESS_LIST (compat.c getenv_nstr,
 * parse_nni_str, validate_choice_vs_env) on our side, client or server,
 * over a daemon and over a remote shell, each outcome compared with
 * upstream's client and server in the same roles with the same
 * environments: the --debug=NSTR2 lines (the lists each side offers, the
 * names it settles on), the messages and exit codes, a daemon's own stderr
 * and the tree left behind.
 *
 * - a list replaces the one a side offers (client: before '&', server: after
 *   it); unknown names and repeats are dropped, "xxhash" is sent as xxh64, a
 *   name keeps the case it was given in;
 * - a list of nothing known is "INVALID": the negotiation fails (exit 4);
 * - without negotiation (protocol 29) the protocol's name must be in it;
 * - a server whose list leaves out an explicit --checksum-choice or
 *   --compress-choice refuses it as it parses its options, before any
 *   exchange: its message goes to its stderr (a remote shell passes that to
 *   the user; a daemon's stays with the daemon) and the client sees the
 *   connection close (exit 12; the server's own code is 4).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, stopDaemons, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";
import { normalizeErrors, runOc, runRsync, sortedLines } from "../helpers/run.ts";
import { snapshot } from "../helpers/tree.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");

type Side = "ours" | "upstream";
type Role = "daemon-pull" | "daemon-push" | "rsh-pull" | "rsh-push";
const ROLES: Role[] = ["daemon-pull", "daemon-push", "rsh-pull", "rsh-push"];
const SERVER_PROGRAM: Record<Side, string> = { ours: `${process.execPath} ${MAIN}`, upstream: "rsync" };
/** [client, server]: upstream's own pair is the reference for the others. */
const PAIRS: [Side, Side][] = [
  ["ours", "upstream"],
  ["upstream", "ours"],
  ["ours", "ours"],
];

/** One environment's two lists (unset is the same as empty: the usual list). */
interface Lists {
  sums?: string;
  compress?: string;
}
/** Both variables always set, so that a remote shell passes no client's list on to its server. */
const envOf = (l: Lists): Record<string, string> => ({ RSYNC_CHECKSUM_LIST: l.sums ?? "", RSYNC_COMPRESS_LIST: l.compress ?? "" });

/** The servers' environments (a daemon is started with each). */
const SERVER_LISTS = {
  none: {},
  // The server's parts: checksums "md4 sha1", compression "zlib" (the client's parts are for clients).
  narrow: { sums: "md5&md4 sha1", compress: "zstd&zlib" },
  invalid: { sums: "md5&bogus" },
} satisfies Record<string, Lists>;
type ServerLists = keyof typeof SERVER_LISTS;

let work: string;
let src: string;
let rsh: string;
const daemons = {} as Record<ServerLists, Record<Side, RunningDaemon>>;

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-nstr-env-"));
  src = join(work, "src");
  fs.mkdirSync(join(src, "sub"), { recursive: true });
  fs.writeFileSync(join(src, "a"), "alpha\n".repeat(2000));
  fs.writeFileSync(join(src, "sub", "b"), "beta\n".repeat(50));
  for (const p of [join(src, "a"), join(src, "sub", "b"), join(src, "sub"), src]) fs.utimesSync(p, 1_500_000_000, 1_500_000_000);
  fs.mkdirSync(join(work, "w"));
  rsh = writeFakeRsh(join(work, "rsh"));
  const modules: ModuleConfig[] = [
    { name: "src", path: src, params: { uid: "0", gid: "0" } },
    { name: "w", path: join(work, "w"), params: { "read only": "no", uid: "0", gid: "0" } },
  ];
  for (const [name, lists] of Object.entries(SERVER_LISTS) as [ServerLists, Lists][]) {
    const [upstream, ours] = await Promise.all([startDaemon("upstream", modules, {}, [], envOf(lists)), startDaemon("ours", modules, {}, [], envOf(lists))]);
    daemons[name] = { upstream, ours };
  }
});

afterAll(async () => {
  for (const pair of Object.values(daemons)) await stopDaemons(pair.upstream, pair.ours);
  fs.rmSync(work, { recursive: true, force: true });
});

interface Outcome {
  code: number;
  stdout: string[];
  stderr: string[];
  /** What a daemon printed on its own stderr during the run. */
  daemonStderr: string[];
  tree: ReturnType<typeof snapshot>;
}

/** A daemon's stderr once it has stopped growing (its child writes there as the client goes). */
async function daemonStderrSince(d: RunningDaemon, from: number): Promise<string> {
  let last = d.stderr();
  for (let quiet = 0; quiet < 3; ) {
    await Bun.sleep(50);
    const now = d.stderr();
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
  return last.slice(from);
}

/**
 * Lines compared as a set (a server's stderr and its client's interleave),
 * errors without their file and version. Our client's line for a connection
 * that closes after the versions were exchanged (after a daemon's greeting,
 * or when a server fails its setup) counts the bytes it read before and
 * names itself "receiver" (upstream: 0 bytes, "sender" or "Receiver"): a
 * difference of the client's end-of-file report, not of these lists, so the
 * count and the role of that line are masked.
 */
function lines(text: string, dest: string): string[] {
  const t = normalizeErrors(text).replace(/connection unexpectedly closed \(\d+ bytes received so far\) \[\w+\]/g, "connection unexpectedly closed (N bytes received so far) [ROLE]");
  return sortedLines(t, [dest]);
}

async function transfer(role: Role, client: Side, server: Side, serverLists: ServerLists, args: string[], clientLists: Lists, name: string): Promise<Outcome> {
  const dest = join(work, "w", `${name}-${client}-${server}`);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest);
  const d = daemons[serverLists][server];
  const serverEnv = Object.entries(envOf(SERVER_LISTS[serverLists]))
    .map(([k, v]) => `${k}='${v}'`)
    .join(" ");
  const rshArgs = ["-e", rsh, `--rsync-path=${serverEnv} ${SERVER_PROGRAM[server]}`];
  const argv = {
    "daemon-pull": [...args, d.url("src"), `${dest}/`],
    "daemon-push": [...args, `${src}/`, d.url("w", `${dest.slice(join(work, "w").length + 1)}/`)],
    "rsh-pull": [...args, ...rshArgs, `localhost:${src}/`, `${dest}/`],
    "rsh-push": [...args, ...rshArgs, `${src}/`, `localhost:${dest}/`],
  }[role];
  const from = d.stderr().length;
  const r = await (client === "ours" ? runOc : runRsync)(argv, { env: envOf(clientLists) });
  const daemonStderr = role.startsWith("daemon") ? await daemonStderrSince(d, from) : "";
  return {
    code: r.code,
    stdout: lines(r.stdout, dest),
    stderr: lines(r.stderr, dest),
    daemonStderr: lines(daemonStderr, dest),
    tree: snapshot(dest, { ignoreRoot: true }),
  };
}

/** Every pair's outcome is the reference's (upstream with upstream), but for the stderr lines `ignored` leaves out; returns the reference. */
async function compare(role: Role, serverLists: ServerLists, args: string[], clientLists: Lists, name: string, ignored?: RegExp): Promise<Outcome> {
  const kept = (o: Outcome): Outcome => (ignored ? { ...o, stderr: o.stderr.filter((l) => !ignored.test(l)) } : o);
  const reference = kept(await transfer(role, "upstream", "upstream", serverLists, args, clientLists, name));
  for (const [client, server] of PAIRS) {
    const got = kept(await transfer(role, client, server, serverLists, args, clientLists, name));
    expect({ client, server, ...got }).toEqual({ client, server, ...reference });
  }
  return reference;
}

const NSTR = ["-rt", "--debug=NSTR2"];

describe("a list on our side replaces the one it offers", () => {
  for (const role of ROLES) {
    test(`the client's: ${role}`, async () => {
      // Client parts: "xxh64 MD5" and "LZ4 zlib" (the parts after '&' are a server's).
      const ref = await compare(role, "none", [...NSTR, "-z"], { sums: "xxhash MD5 bogus md5&sha1", compress: "LZ4 zlib lz4&zstd" }, `client-${role}`);
      expect(ref.code).toBe(0);
      expect(ref.stdout).toContain("Client checksum list (on client): xxh64 MD5");
      expect(ref.stdout).toContain("Client compress list (on client): LZ4 zlib");
      expect(ref.stdout).toContain("Client negotiated checksum: xxh64");
      expect(ref.stdout).toContain("Client negotiated compress: lz4 (level 0)");
      expect(ref.tree).toEqual(snapshot(src, { ignoreRoot: true }));
    }, 60_000);

    test(`the server's: ${role}`, async () => {
      const ref = await compare(role, "narrow", [...NSTR, "-z"], {}, `server-${role}`);
      expect(ref.code).toBe(0);
      expect(ref.stdout).toContain("Server checksum list (on client): md4 sha1");
      expect(ref.stdout).toContain("Server compress list (on client): zlib");
      expect(ref.stdout).toContain("Client negotiated checksum: md4");
      expect(ref.stdout).toContain("Client negotiated compress: zlib (level 6)");
      expect(ref.tree).toEqual(snapshot(src, { ignoreRoot: true }));
    }, 60_000);
  }
});

describe("a list of nothing known is INVALID, and nothing is shared", () => {
  for (const role of ROLES) {
    test(`the client's, the server's: ${role}`, async () => {
      const client = await compare(role, "none", NSTR, { sums: "bogus&md5" }, `invalid-client-${role}`);
      expect(client.code).toBe(4);
      expect(client.stderr).toEqual(expect.arrayContaining(["Failed to negotiate a checksum choice.", "Client list: INVALID"]));
      const server = await compare(role, "invalid", NSTR, {}, `invalid-server-${role}`);
      expect(server.code).toBe(4);
      expect(server.stdout).toContain("Server checksum list (on client): INVALID");
      expect(server.stderr).toContain("Server list: INVALID");
      const compress = await compare(role, "none", [...NSTR, "-z"], { compress: "gzip" }, `invalid-compress-${role}`);
      expect(compress.code).toBe(4);
      expect(compress.stderr).toEqual(expect.arrayContaining(["Failed to negotiate a compress choice.", "Client list: INVALID"]));
    }, 60_000);
  }
});

describe("without negotiation (protocol 29) the protocol's names must be in the list", () => {
  for (const role of ROLES) {
    test(role, async () => {
      // md4 and zlib are in the server's part: the transfer goes ahead.
      const ok = await compare(role, "narrow", [...NSTR, "-z", "--protocol=29"], {}, `p29-ok-${role}`);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain("Client checksum: md4");
      // The client's list without md4, or the server's of nothing known: whichever side finds it says so.
      // (Upstream's server then finds its client gone, reading or writing, and says so on its stderr, which a remote
      // shell passes on; ours says nothing of a client that went away. Those lines are no part of the lists: left out.)
      const serverSawClientGo = /^rsync: connection unexpectedly closed|^rsync: \[\w+\] safe_write failed|^rsync error: error in (rsync protocol data stream|socket IO) \(code 1[02]\)/;
      const client = await compare(role, "none", [...NSTR, "--protocol=29"], { sums: "md5" }, `p29-client-${role}`, serverSawClientGo);
      expect(client.code).toBe(4);
      expect(client.stderr).toEqual(expect.arrayContaining(["Server list: md4", "Client list: md5"]));
      const server = await compare(role, "invalid", [...NSTR, "--protocol=29"], {}, `p29-server-${role}`);
      expect(server.code).toBe(12);
      // A server's lines before its messages start: on its stderr over a remote shell, nowhere from a daemon.
      if (role.startsWith("rsh")) expect(server.stderr).toEqual(expect.arrayContaining(["Client list: md4", "Server list: INVALID"]));
      else expect(server.daemonStderr).toEqual([]);
    }, 60_000);
  }
});

describe("an explicit choice the server's own list leaves out is refused", () => {
  const REFUSED: [string[], string][] = [
    [["--checksum-choice=xxh128"], "Your --checksum-choice value (xxh128) was refused by the server."],
    [["--checksum-choice=sha1,xxh3"], "Your --checksum-choice value (sha1,xxh3) was refused by the server."],
    [["--compress-choice=zstd"], "Your --compress-choice value (zstd) was refused by the server."],
    [["-zz"], "Your --compress-choice value (zlibx) was refused by the server."],
  ];
  // Named in the server's list (in any case; its md4 is the old MD4 too), or no choice at all.
  const ACCEPTED: string[][] = [["--checksum-choice=SHA1", "-z"], ["--compress-choice=zlib"], ["--checksum-choice=md4", "--protocol=29"], ["--checksum-choice=auto"]];
  for (const role of ROLES) {
    test(role, async () => {
      for (const [i, [args, message]] of REFUSED.entries()) {
        const ref = await compare(role, "narrow", [...NSTR, ...args], {}, `refused${i}-${role}`);
        // The server's code is 4; its client sees the connection close.
        expect({ args, code: ref.code }).toEqual({ args, code: 12 });
        const serverSide = role.startsWith("daemon") ? ref.daemonStderr : ref.stderr;
        expect(serverSide).toContain(message);
        expect(serverSide.some((l) => l.startsWith("rsync error: requested action not supported (code 4)"))).toBe(true);
      }
      for (const [i, args] of ACCEPTED.entries()) {
        const ref = await compare(role, "narrow", [...NSTR, ...args], {}, `accepted${i}-${role}`);
        expect({ args, code: ref.code, stderr: ref.stderr }).toEqual({ args, code: 0, stderr: [] });
      }
    }, 120_000);
  }
});

describe("a local copy's receiving half is a server with the same environment", () => {
  /**
   * Upstream's client is the sending half and says so when the connection
   * closes; ours is the receiving half and names itself "client" there: that
   * "(code 12)" line is checked apart.
   */
  async function local(client: Side, args: string[], lists: Lists, name: string) {
    const dest = join(work, `local-${name}-${client}`);
    fs.rmSync(dest, { recursive: true, force: true });
    const r = await (client === "ours" ? runOc : runRsync)([...NSTR, ...args, `${src}/`, `${dest}/`], { env: envOf(lists) });
    const stderr = lines(r.stderr, dest);
    const closed = stderr.filter((l) => l.startsWith("rsync error: error in rsync protocol data stream (code 12)"));
    return { code: r.code, stdout: lines(r.stdout, dest), stderr: stderr.filter((l) => !closed.includes(l)), closedLines: closed.length };
  }

  test("it refuses a choice its part leaves out (once its setup is done), and negotiates from its part", async () => {
    const cases: [string[], Lists][] = [
      [["--checksum-choice=md5"], { sums: "md5&sha1" }],
      [["--compress-choice=zlib"], { compress: "zlib&zstd" }],
      [["-z"], { sums: "md5 sha1&md5", compress: "zlib&lz4 zlib" }],
    ];
    for (const [i, [args, lists]] of cases.entries()) {
      const reference = await local("upstream", args, lists, String(i));
      const got = await local("ours", args, lists, String(i));
      expect({ args, ...got }).toEqual({ args, ...reference });
      if (i < 2) {
        expect(reference.code).toBe(12);
        expect(reference.stderr).toContain(`Your --${i === 0 ? "checksum" : "compress"}-choice value (${args[0]!.split("=")[1]}) was refused by the server.`);
      } else expect(reference.stdout).toEqual(expect.arrayContaining(["Client negotiated checksum: md5", "Client negotiated compress: zlib (level 6)"]));
    }
  }, 60_000);
});
