/**
 * --chmod, --chown, --usermap/--groupmap and a daemon module's incoming /
 * outgoing chmod, against upstream: local copies, our client pulling from
 * and pushing to upstream's daemon, and upstream's client against our daemon
 * (compared with the same client against upstream's daemon on the same
 * config). Trees are compared with their modes, uids and gids (tests run as
 * root, so ownership really changes).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { startDaemon, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runOc, runRsync, sortedLines } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";

const asRoot = process.getuid?.() === 0;
let work: string;
let upstream: RunningDaemon;
let ours: RunningDaemon;

/** Files with assorted modes and owners: named users, a uid and gid without names, setuid, a setgid directory. */
function makeSource(src: string): void {
  fs.mkdirSync(join(src, "sub/deeper"), { recursive: true });
  const file = (rel: string, body: string, mode: number, uid: number, gid: number) => {
    fs.writeFileSync(join(src, rel), body);
    fs.chmodSync(join(src, rel), mode);
    if (asRoot) fs.chownSync(join(src, rel), uid, gid);
  };
  file("plain", "plain\n", 0o640, 1, 4);
  file("tool", "#!/bin/sh\n", 0o755, 2, 2);
  file("setuid", "s\n", 0o4755, 0, 0);
  file("private", "p\n", 0o600, 1234, 4321);
  file("sub/shared", "shared\n", 0o664, 1000, 1000);
  file("sub/deeper/x", "x\n", 0o711, 33, 50);
  // Same mode one after another: a receiver's --chmod applies again to a mode the list says is "the same" (flist.c keeps the changed one).
  file("same1", "1\n", 0o640, 1, 4);
  file("same2", "2\n", 0o640, 1, 4);
  fs.linkSync(join(src, "same1"), join(src, "sub/hardlink"));
  // The only two entries of their directory's list: consecutive on the wire whatever order the directory is read in.
  fs.mkdirSync(join(src, "twins"));
  file("twins/a", "a\n", 0o640, 1, 4);
  file("twins/b", "b\n", 0o640, 1, 4);
  fs.symlinkSync("plain", join(src, "link"));
  fs.chmodSync(join(src, "sub"), 0o2750);
  fs.chmodSync(join(src, "sub/deeper"), 0o700);
  if (asRoot) {
    fs.lchownSync(join(src, "link"), 2, 2);
    fs.chownSync(join(src, "sub"), 1000, 1000);
    fs.chownSync(join(src, "sub/deeper"), 1, 4);
  }
  ageTree(src, 1_450_000_000);
}

const MODULES = (w: string, src: string): ModuleConfig[] => [
  { name: "src", path: src, params: { uid: "0", gid: "0" } },
  { name: "srcOut", path: src, params: { uid: "0", gid: "0", "outgoing chmod": "Fa+w,Dg-s,o-x" } },
  { name: "w", path: w, params: { "read only": "no", uid: "0", gid: "0" } },
  { name: "wIn", path: w, params: { "read only": "no", uid: "0", gid: "0", "incoming chmod": "Fo-rwx,Dg+s,u+x" } },
  { name: "wBad", path: w, params: { "read only": "no", uid: "0", gid: "0", "incoming chmod": "u+q" } },
  { name: "wNum", path: w, params: { "read only": "no", uid: "0", gid: "0", "numeric ids": "yes" } },
  { name: "srcNum", path: src, params: { uid: "0", gid: "0", "numeric ids": "yes" } },
];

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-chmod-"));
  makeSource(join(work, "src"));
  fs.mkdirSync(join(work, "w"));
  upstream = await startDaemon("upstream", MODULES(join(work, "w"), join(work, "src")));
  ours = await startDaemon("ours", MODULES(join(work, "w"), join(work, "src")));
});

afterAll(async () => {
  await upstream.stop();
  await ours.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const lines = sortedLines;

/**
 * local / pull / push: our client and upstream's, the same way (a daemon
 * role uses upstream's daemon). served-pull / served-push: upstream's client
 * with our daemon, against upstream's client with upstream's daemon.
 */
type Role = "local" | "pull" | "push" | "served-pull" | "served-push";
const ROLES: Role[] = ["local", "pull", "push", "served-pull", "served-push"];

interface Case {
  args: string[];
  /** Modules to read from / write into (default src and w). */
  from?: string;
  into?: string;
  /** Put an older copy in the destination first (its modes and owners changed by these upstream options). */
  prefill?: string[];
  /** The receiver refuses the options (exit 1). */
  fatal?: boolean;
}

let counter = 0;

async function compare(role: Role, c: Case) {
  const n = counter++;
  const viaDaemon = role !== "local";
  const pushing = role === "push" || role === "served-push";
  const base = pushing ? join(work, "w") : work;
  const destOurs = join(base, `d${n}-ours`);
  const destTheirs = join(base, `d${n}-theirs`);
  if (c.prefill) {
    for (const d of [destOurs, destTheirs]) {
      const r = await runRsync(["-a", ...c.prefill, `${join(work, "src")}/`, `${d}/`]);
      expect(r.code).toBe(0);
    }
  }
  const served = role.startsWith("served");
  const daemonOf = (side: "ours" | "theirs") => (served && side === "ours" ? ours : upstream);
  const from = (side: "ours" | "theirs") =>
    viaDaemon && !pushing ? daemonOf(side).url(c.from ?? "src", "") : `${join(work, "src")}/`;
  const to = (side: "ours" | "theirs", dest: string) => (pushing ? daemonOf(side).url(c.into ?? "w", `${basename(dest)}/`) : `${dest}/`);
  const client = (side: "ours" | "theirs") => (side === "ours" && !served ? runOc : runRsync);
  const a = await client("ours")([...c.args, from("ours"), to("ours", destOurs)]);
  const b = await client("theirs")([...c.args, from("theirs"), to("theirs", destTheirs)]);
  const dests = [destOurs, destTheirs];
  if (c.fatal && pushing) {
    // A receiving server that exits before reading the list races the client's writes: upstream's own client
    // then says 1 (the server's message arrived) or 12 (the connection was reset first).
    expect([1, 12]).toContain(a.code);
    if (a.code === 1) expect(a.stderr).toContain(b.code === 1 ? b.stderr.split("\n")[0]! : "map");
    expect(fs.existsSync(destOurs)).toBe(fs.existsSync(destTheirs));
    return;
  }
  // Upstream's own run is the reference: it must have done what the case is about.
  expect(b.code).toBe(c.fatal ? 1 : 0);
  expect(lines(normalizeErrors(a.stderr), dests)).toEqual(lines(normalizeErrors(b.stderr), dests));
  expect(a.code).toBe(b.code);
  expect(lines(a.stdout, dests)).toEqual(lines(b.stdout, dests));
  if (fs.existsSync(destTheirs)) expect(snapshot(destOurs, { ignoreDirTimes: true })).toEqual(snapshot(destTheirs, { ignoreDirTimes: true }));
  else expect(fs.existsSync(destOurs)).toBe(false);
}

const CHMOD_CASES: [string, Case][] = [
  ["letters, D/F prefixes, setgid and X, with -p", { args: ["-ai", "--chmod=Dg+s,ug+w,Fo-w,+X"] }],
  ["octal per type, without -p (new files)", { args: ["-rlti", "--chmod=D750,F640"] }],
  ["-E with u+x on an existing tree", { args: ["-rltEi", "--chmod=Fu+x"], prefill: ["--chmod=a-x"] }],
  ["repeated --chmod accumulates (copy bits too)", { args: ["-ai", "--chmod=o=u", "--chmod=g-w,a+t"] }],
  ["-p changes an existing tree's permissions", { args: ["-ai", "--chmod=go-rwx"], prefill: [] }],
  ["without -p an existing file keeps its permissions", { args: ["-rlti", "--chmod=a+rwx"], prefill: ["--chmod=Fa-w"] }],
  ["umask-limited clauses (no u/g/o/a)", { args: ["-ai", "--chmod=+w,=rX"] }],
  ["a spec that changes again when applied twice, with hard links", { args: ["-aHi", "--chmod=g=o,o=u"] }],
  ["without incremental recursion", { args: ["-ai", "--no-i-r", "--chmod=Fg=o,o=u,Dg+s"] }],
  ["an old protocol", { args: ["-ai", "--protocol=29", "--chmod=Fu-w,Do+t"] }],
];

const OWNER_CASES: [string, Case][] = [
  ["--chown USER:GROUP", { args: ["-ai", "--chown=daemon:adm"] }],
  ["--chown with a group only (implies -g)", { args: ["-rlti", "--chown=:bin"] }],
  ["--chown with a number (implies -o)", { args: ["-rlti", "--chown=33"] }],
  ["maps by number, range, name and wildcard, first match wins", { args: ["-ai", "--usermap=0:bin,1-5:daemon,cloud*:1234,*:nobody", "--groupmap=adm:root,4321:50,*:daemon"] }],
  ["a map changes owners of an existing tree", { args: ["-ai", "--usermap=bin:1234,daemon:www-data"], prefill: [] }],
  ["maps with --numeric-ids see numbers only", { args: ["-ai", "--numeric-ids", "--usermap=1234:5,0:7,*:9", "--groupmap=[a-z]*:3"] }],
  ["an unknown target name is reported and its rule dropped", { args: ["-ai", "--usermap=1:nosuchuser,*:bin", "--groupmap=*:nosuchgroup"] }],
  ["an old protocol: id 0 has no name on the wire and maps as root", { args: ["-ai", "--protocol=29", "--usermap=root:bin,1234:5,*:7", "--groupmap=*:2"] }],
  ["without incremental recursion", { args: ["-ai", "--no-i-r", "--usermap=daemon:www-data,1000-2000:1", "--groupmap=adm:0"] }],
  ["a rule without a colon", { args: ["-ai", "--usermap=abc"], fatal: true }],
  ["a bad number", { args: ["-ai", "--groupmap=1-2-3:root"], fatal: true }],
  ["a rule without a name after the colon", { args: ["-ai", "--usermap=1:bin,2:"], fatal: true }],
];

describe("--chmod, as upstream", () => {
  for (const role of ROLES) {
    for (const [name, c] of CHMOD_CASES) test(`${name}: ${role}`, () => compare(role, c));
  }
});

describe("--chown / --usermap / --groupmap, as upstream", () => {
  for (const role of ROLES) {
    for (const [name, c] of OWNER_CASES) test(`${name}: ${role}`, () => compare(role, c));
  }
});

describe("a daemon's incoming and outgoing chmod, as upstream's daemon", () => {
  const cases: [string, Role, Case][] = [
    ["incoming chmod on a push with -p", "push", { args: ["-ai"], into: "wIn" }],
    ["incoming chmod after the client's --chmod", "push", { args: ["-ai", "--chmod=o+r,Fg=u"], into: "wIn" }],
    ["incoming chmod without -p changes kept permissions too", "push", { args: ["-rlti"], into: "wIn", prefill: ["--chmod=Fa-x"] }],
    ["outgoing chmod on a pull with -p", "pull", { args: ["-ai"], from: "srcOut" }],
    ["outgoing chmod without -p", "pull", { args: ["-rlti", "--chmod=Fu-w"], from: "srcOut" }],
  ];
  for (const [name, role, c] of cases) {
    test(`${name}: upstream's client with our daemon`, () => compare(role === "push" ? "served-push" : "served-pull", c));
    test(`${name}: our client with upstream's daemon`, () => compare(role, c));
  }
  const numeric: [string, Role, Case][] = [
    ["a push into a \"numeric ids\" module", "push", { args: ["-ai"], into: "wNum" }],
    ["a push into a \"numeric ids\" module, whole list (the id lists still come)", "push", { args: ["-ai", "--no-i-r"], into: "wNum" }],
    ["a push with maps into a \"numeric ids\" module (no names to match)", "push", { args: ["-ai", "--usermap=1:7,b*:8", "--groupmap=*:9"], into: "wNum" }],
    ["a pull from a \"numeric ids\" module", "pull", { args: ["-ai"], from: "srcNum" }],
    ["a pull from a \"numeric ids\" module, whole list", "pull", { args: ["-ai", "--no-i-r", "--usermap=daemon:5"], from: "srcNum" }],
  ];
  for (const [name, role, c] of numeric) {
    test(`${name}: upstream's client with our daemon`, () => compare(role === "push" ? "served-push" : "served-pull", c));
    test(`${name}: our client with upstream's daemon`, () => compare(role, c));
  }
  // Upstream logs it (FLOG) and goes on with the client's --chmod alone.
  test("an invalid incoming chmod is left out, the transfer goes on", () => compare("served-push", { args: ["-ai", "--chmod=o-r"], into: "wBad" }));
});

describe("over a remote shell: our --server with upstream's client, our client with upstream's --server", () => {
  const OUR_SERVER = `${process.execPath} ${join(import.meta.dir, "../../src/main.ts")}`;
  const cases: [string, string[]][] = [
    ["maps with wildcards (the remote shell takes the escapes off)", ["-ai", "--usermap=[bd]*:www-data,*:1234", "--groupmap=?dm:bin"]],
    ["--chown", ["-ai", "--chown=bin:daemon"]],
    ["the server's own --chmod (-M)", ["-ai", "-M--chmod=Fo-r,Dg+s"]],
    ["both sides' --chmod", ["-ai", "--chmod=Fg-r", "-M--chmod=Fo-r"]],
  ];
  for (const [name, args] of cases) {
    for (const pushing of [false, true]) {
      for (const oursIs of ["server", "client"] as const) {
        test(`${name}: ${pushing ? "push" : "pull"}, ours the ${oursIs}`, async () => {
          const n = counter++;
          const rsh = join(work, "rsh");
          if (!fs.existsSync(rsh)) writeFakeRsh(rsh);
          const src = `${join(work, "src")}/`;
          const run = async (side: "ours" | "theirs") => {
            const dest = join(work, `rsh${n}-${side}`);
            const serverPath = side === "ours" && oursIs === "server" ? OUR_SERVER : "rsync";
            const client = side === "ours" && oursIs === "client" ? runOc : runRsync;
            const ends = pushing ? [src, `h:${dest}/`] : [`h:${src}`, `${dest}/`];
            return { dest, r: await client([...args, "-e", rsh, `--rsync-path=${serverPath}`, ...ends]) };
          };
          const a = await run("ours");
          const b = await run("theirs");
          const dests = [a.dest, b.dest];
          expect(b.r.code).toBe(0);
          expect(lines(normalizeErrors(a.r.stderr), dests)).toEqual(lines(normalizeErrors(b.r.stderr), dests));
          expect(a.r.code).toBe(b.r.code);
          expect(lines(a.r.stdout, dests)).toEqual(lines(b.r.stdout, dests));
          expect(snapshot(a.dest, { ignoreDirTimes: true })).toEqual(snapshot(b.dest, { ignoreDirTimes: true }));
        });
      }
    }
  }
});

describe("option errors, as upstream's client reports them", () => {
  const errors: string[][] = [
    ["--chmod=u+q"],
    ["--chmod=u+r,"],
    ["--chmod=ug"],
    ["--chmod=DF+x"],
    ["--chmod=u=rg"],
    ["--chmod=07777", "--chmod=17777"],
    ["--usermap=a:b", "--usermap=c:d"],
    ["--groupmap=a:b", "--groupmap=c:d"],
    ["--chown=a:b", "--usermap=c:d"],
    ["--usermap=c:d", "--chown=a:b"],
    ["--chown=a", "--chown=b"],
    ["--chown=:a", "--chown=:b"],
    ["--chown=:a", "--groupmap=c:d"],
    ["--groupmap=c:d", "--chown=:a"],
  ];
  for (const args of errors) {
    test(args.join(" "), async () => {
      const a = await runOc(["-a", ...args, `${join(work, "src")}/`, join(work, "never")]);
      const b = await runRsync(["-a", ...args, `${join(work, "src")}/`, join(work, "never")]);
      expect(normalizeErrors(a.stderr)).toBe(normalizeErrors(b.stderr));
      expect(a.code).toBe(b.code);
      expect(fs.existsSync(join(work, "never"))).toBe(false);
    });
  }
});

// receiver.c dest_mode: without -p a file that is replaced keeps the permissions of the one it replaces (a new one gets
// the source's, less the umask); -E only moves the execute bits. (Ours used to give every rebuilt file the source's.)
describe("without -p an updated file keeps its permissions, as upstream's", () => {
  for (const args of [["-rt"], ["-rt", "-E"], ["-r", "--inplace"], ["-r", "--chmod=a+x"], ["-rt", "--no-W"]]) {
    test(args.join(" "), async () => {
      const modes: Record<string, string[]> = {};
      for (const [kind, runner] of [["upstream", runRsync], ["ours", runOc]] as const) {
        const root = join(work, `keep-perms-${kind}`);
        fs.rmSync(root, { recursive: true, force: true });
        for (const dir of ["src", "dst"]) fs.mkdirSync(join(root, dir), { recursive: true });
        const file = (rel: string, body: string, mode: number) => {
          fs.writeFileSync(join(root, rel), body);
          fs.chmodSync(join(root, rel), mode);
        };
        file("src/f", "new\n", 0o600);
        file("dst/f", "old content\n", 0o644);
        file("src/g", "new g\n", 0o755);
        file("dst/g", "old g\n", 0o600);
        file("src/new", "n\n", 0o750);
        const r = await runner([...args, `${root}/src/`, `${root}/dst/`]);
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
        modes[kind] = ["f", "g", "new"].map((n) => (fs.statSync(join(root, "dst", n)).mode & 0o7777).toString(8));
      }
      expect(modes.ours).toEqual(modes.upstream!);
    });
  }
});
