/**
 * The roles' --debug lines (FLIST, GENR, RECV, SEND, DELTASUM, FUZZY, TIME,
 * and main.c's server_recv / server_sender / get_local_name) against
 * upstream's: a local copy, our client pulling from and pushing to upstream's
 * daemon, upstream's client pulling from and pushing to our daemon (whose
 * "max verbosity" lets its -vvv through), and our client with our --server
 * over a remote shell. Only those lines are compared, with pids, temp-file
 * names and destinations masked; as a sorted set (upstream's sender,
 * generator and receiver are three processes printing interleaved), and
 * each role's lines in their order.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { startDaemon, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { runOc, runRsync, type RunResult } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";
import { setXattr } from "../../src/fs/xattr.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const OUR_SERVER = `${process.execPath} ${MAIN}`;

let work: string;
let rsh: string;
let upstream: RunningDaemon;
let ours: RunningDaemon;

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-debug-roles-"));
  const src = join(work, "src");
  fs.mkdirSync(join(src, "sub/deeper"), { recursive: true });
  fs.writeFileSync(join(src, "a"), "the first file\n");
  fs.writeFileSync(join(src, "big"), Array.from({ length: 3000 }, (_, i) => `line ${i}\n`).join(""));
  fs.writeFileSync(join(src, "notes.txt"), "some notes, longer than a few bytes\n".repeat(40));
  fs.writeFileSync(join(src, "sub/b"), "bee\n");
  fs.writeFileSync(join(src, "sub/deeper/c"), "sea\n".repeat(500));
  // Hard links within a list and across lists (--debug=hlink's abbreviated and unabbreviated references).
  fs.writeFileSync(join(src, "h1"), "linked\n");
  fs.linkSync(join(src, "h1"), join(src, "h2"));
  fs.linkSync(join(src, "h1"), join(src, "sub/h3"));
  // Owned by someone else: the receiver (root) gives the files to that uid and gid (--debug=own).
  fs.chownSync(join(src, "sub/b"), 1234, 1234);
  fs.chownSync(join(src, "a"), 0, 1234);
  ageTree(src, 1_460_000_000);
  // What a destination held before: older versions (delta bases) and a similar name for --fuzzy.
  const old = join(work, "old");
  fs.mkdirSync(join(old, "sub/deeper"), { recursive: true });
  fs.writeFileSync(join(old, "a"), "the old first file\n");
  fs.writeFileSync(join(old, "big"), Array.from({ length: 3000 }, (_, i) => (i % 700 === 5 ? "changed\n" : `line ${i}\n`)).join(""));
  fs.writeFileSync(join(old, "notes-old.txt"), "some notes, longer than a few bytes\n".repeat(39));
  fs.writeFileSync(join(old, "sub/b"), "bee\n");
  fs.writeFileSync(join(old, "sub/deeper/c"), "sea\n".repeat(499));
  ageTree(old, 1_450_000_000);
  fs.mkdirSync(join(work, "w"));
  rsh = join(work, "rsh");
  writeFakeRsh(rsh);
  const modules: ModuleConfig[] = [
    { name: "src", path: src, params: { uid: "0", gid: "0", "max verbosity": "5" } },
    { name: "w", path: join(work, "w"), params: { "read only": "no", uid: "0", gid: "0", "max verbosity": "5" } },
  ];
  [upstream, ours] = await Promise.all([startDaemon("upstream", modules), startDaemon("ours", modules)]);
});

afterAll(async () => {
  await Promise.all([upstream?.stop(), ours?.stop()]);
  fs.rmSync(work, { recursive: true, force: true });
});

/** The lines of this helper's categories (not the matcher's counters, nor output_flist's dumps). */
const MINE = new RegExp(
  [
    String.raw`^\[(sender|receiver|generator|Receiver)\] (make_file\(|receiving flist for dir|flist_eof=1|flist start=|i=\d+ )`,
    String.raw`^(send_file_list done|file list sent|received \d+ names|recv_file_list done)$|^recv_file_name\(`,
    String.raw`^(generator starting pid=|recv_generator\(|generate_files |mknod\()`,
    String.raw`^(recv_files|renaming |finishing |server_recv\(|server_sender starting|get_local_name count=|recv mapped |got file_sum$|data recv |chunk\[)`,
    String.raw`^(send_files|send files finished$|sender finished |calling match_sums |sending file_sum$|built hash table$|hash search |done hash search$|sum=[0-9a-f]{8} k=)`,
    String.raw`^(count=\d+ |generating and sending sums for |gen mapped |delta-transmission |match at \d+ last_match=)`,
    String.raw`^(fuzzy |touch_up_dirs: |FILE_STRUCT_LEN=)`,
    String.raw`^\[(sender|receiver|generator|Receiver)\] (#\d+ hard-links #\d+ \((un)?abbrev\)|dev:inode for #\d+ is \d+:\d+$|created hashtable for dev \d+$)`,
    String.raw`^(set [ug]id of |[ug]id \d+\(.*\) maps to \d+$|make_backup: |got ACL-based default perms )`,
  ].join("|"),
);

/** Each role's own lines, whose order is that role's (one process of upstream's three). */
const ROLES = [/^(generator starting|recv_generator\(|generate_files |mknod\()/, /^recv_files/, /^(send_files|sender finished |send files finished)/];

function debugLines(r: RunResult, dests: string[]): string[] {
  let text = r.stdout;
  for (const d of dests) text = text.replaceAll(d, "DEST").replaceAll(basename(d), "DEST");
  return text
    .split("\n")
    .filter((l) => MINE.test(l))
    .map((l) => l.replace(/pid=\d+/, "pid=P").replace(/(^|[/ ])\.([^/ ]+)\.[A-Za-z0-9]{6}( |$)/g, "$1.$2.TMP$3"));
}

/** Other categories' role-tagged lines (a local receiver's filter rules go to stderr) are another test's business. */
const stderrShown = (text: string) => text.split("\n").filter((l) => !/^\[\w+\] /.test(l));

function compareLines(a: RunResult, b: RunResult, dests: string[], expectSome = true): void {
  expect(stderrShown(a.stderr)).toEqual(stderrShown(b.stderr));
  expect(a.code).toBe(b.code);
  const mine = debugLines(a, dests);
  const theirs = debugLines(b, dests);
  // A run that prints none of them would prove little (unless none is the point: the words are the client's own).
  if (expectSome) expect(theirs.length).toBeGreaterThan(0);
  expect([...mine].sort()).toEqual([...theirs].sort());
  for (const role of ROLES) expect(mine.filter((l) => role.test(l))).toEqual(theirs.filter((l) => role.test(l)));
}

interface Case {
  name: string;
  args: string[];
  /** The destination starts as the old tree (deltas, a fuzzy basis). */
  seeded?: boolean;
  /** Roles where upstream prints none of these lines (the client's --debug words are not forwarded). */
  silent?: Role[];
  /** The destination exists with a default ACL (u::rwx,g::r-x,o::---): without -p new files take its permissions. */
  aclDefault?: boolean;
}

/** A default ACL in the kernel's xattr form: version 2, then (tag, perm, id) for user_obj, group_obj and other. */
function defaultAcl(): Uint8Array {
  const b = Buffer.alloc(4 + 3 * 8);
  b.writeUInt32LE(2, 0);
  [
    [0x01, 7],
    [0x04, 5],
    [0x20, 0],
  ].forEach(([tag, perm], i) => {
    b.writeUInt16LE(tag!, 4 + i * 8);
    b.writeUInt16LE(perm!, 6 + i * 8);
    b.writeUInt32LE(0xffffffff, 8 + i * 8);
  });
  return b;
}

const CASES: Case[] = [
  { name: "-avvv into a new destination", args: ["-avvv"] },
  { name: "-avvv --no-W --delete over older files (deltas)", args: ["-avvv", "--no-W", "--delete"], seeded: true },
  { name: "-avvv --no-i-r --inplace", args: ["-avvv", "--no-i-r", "--inplace", "--no-W"], seeded: true },
  { name: "-av with the client's --debug words at their top levels", args: ["-av", "--no-W", "--debug=deltasum3,flist3,genr,recv,send,time2"], seeded: true },
  { name: "-avvv -y --debug=fuzzy2,flist3 --delay-updates", args: ["-avvv", "-y", "--no-W", "--debug=fuzzy2,flist3", "--delay-updates"], seeded: true },
  { name: "-avvvv -b --delete (backups, id maps)", args: ["-avvvv", "-b", "--no-W", "--delete"], seeded: true },
  { name: "-aH --debug=hlink3,flist2", args: ["-aH", "--debug=hlink3,flist2"] },
  { name: "--debug=flist4", args: ["-a", "--debug=flist4"] },
  { name: "-rtvvv into a directory with a default ACL (--debug=acl)", args: ["-rtvvv"], aclDefault: true },
  { name: "-aH --no-i-r --debug=hlink", args: ["-aH", "--no-i-r", "--debug=hlink"] },
  {
    name: "--no-i-r -b --backup-dir --debug=own2,backup",
    args: ["-a", "--no-i-r", "-b", "--backup-dir=bak", "--delete", "--debug=own2,backup"],
    seeded: true,
    silent: ["push", "daemon push", "shell push"],
  },
];

type Role = "local" | "pull" | "push" | "daemon pull" | "daemon push" | "shell pull" | "shell push";
const ROLE_NAMES: Role[] = ["local", "pull", "push", "daemon pull", "daemon push", "shell pull", "shell push"];

/** Our run and upstream's of `c` in `role`: [ours, theirs, destinations]. */
async function runBoth(c: Case, role: Role, id: string): Promise<[RunResult, RunResult, string[]]> {
  const inModule = role.includes("push") && !role.startsWith("shell");
  const dests = ["ours", "theirs"].map((who) => join(work, inModule ? "w" : "", `${id}-${who}`));
  if (c.seeded) for (const d of dests) fs.cpSync(join(work, "old"), d, { recursive: true, preserveTimestamps: true });
  if (c.aclDefault) {
    for (const d of dests) {
      fs.mkdirSync(d, { recursive: true });
      setXattr(d, "system.posix_acl_default", defaultAcl());
    }
  }
  const src = `${join(work, "src")}/`;
  const moduleDest = (d: RunningDaemon, dest: string) => d.url("w", `${basename(dest)}/`);
  const [o, t] = dests as [string, string];
  switch (role) {
    case "local":
      return [await runOc([...c.args, src, `${o}/`]), await runRsync([...c.args, src, `${t}/`]), dests];
    case "pull":
      return [await runOc([...c.args, upstream.url("src", ""), `${o}/`]), await runRsync([...c.args, upstream.url("src", ""), `${t}/`]), dests];
    case "push":
      return [await runOc([...c.args, src, moduleDest(upstream, o)]), await runRsync([...c.args, src, moduleDest(upstream, t)]), dests];
    case "daemon pull":
      return [await runRsync([...c.args, ours.url("src", ""), `${o}/`]), await runRsync([...c.args, upstream.url("src", ""), `${t}/`]), dests];
    case "daemon push":
      return [await runRsync([...c.args, src, moduleDest(ours, o)]), await runRsync([...c.args, src, moduleDest(upstream, t)]), dests];
    case "shell pull":
      return [
        await runOc([...c.args, "-e", rsh, `--rsync-path=${OUR_SERVER}`, `host:${src}`, `${o}/`]),
        await runRsync([...c.args, "-e", rsh, `host:${src}`, `${t}/`]),
        dests,
      ];
    case "shell push":
      return [
        await runOc([...c.args, "-e", rsh, `--rsync-path=${OUR_SERVER}`, src, `host:${o}/`]),
        await runRsync([...c.args, "-e", rsh, src, `host:${t}/`]),
        dests,
      ];
  }
}

CASES.forEach((c, i) => {
  describe(c.name, () => {
    ROLE_NAMES.forEach((role, j) => {
      test(role, async () => {
        let [a, b, dests] = await runBoth(c, role, `c${i}-r${j}`);
        // Upstream's own shell pull at -vvvv once ended in its sender's "write error: Broken pipe" (code 10): a race of
        // the oracle's, not a behaviour to match. Such a run is asked for again, in fresh destinations, up to three
        // times (it has come twice in a row on a loaded machine).
        for (let again = 1; again <= 3 && b.code === 10 && a.code !== b.code; again++) [a, b, dests] = await runBoth(c, role, `c${i}-r${j}-again${again}`);
        compareLines(a, b, dests, !c.silent?.includes(role));
        // (Backups made by renaming change their directories' times after the touch-up, when upstream's timing has it so.)
        const opts = { ignoreDirTimes: c.args.includes("-b") };
        expect(snapshot(dests[0]!, opts)).toEqual(snapshot(dests[1]!, opts));
      });
    });
  });
});

describe("a single file", () => {
  test("local copy to a new name: the local name in recv_generator, recv_files and get_local_name", async () => {
    const dests = ["ours", "theirs"].map((who) => join(work, `single-${who}`));
    for (const d of dests) fs.mkdirSync(d);
    const args = ["-avvv", "--debug=deltasum2"];
    const a = await runOc([...args, join(work, "src/big"), join(dests[0]!, "copy")]);
    const b = await runRsync([...args, join(work, "src/big"), join(dests[1]!, "copy")]);
    compareLines(a, b, dests);
    expect(debugLines(b, dests)).toContain("recv_generator(copy,1)");
  });
});
