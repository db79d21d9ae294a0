/**
 * --debug output of the filter, deletion, connection and process categories
 * (FILTER, DEL, CMD, CONNECT, EXIT, PROTO, NSTR, DUP) against upstream: the
 * lines of these categories compared with upstream's on the same input, in
 * a local copy, our client pulling from and pushing to upstream's daemon,
 * upstream's client against our daemon and against our --server over a
 * remote shell; and -vv output as a whole.
 *
 * Upstream prints some lines from its other process, so their order is
 * timing: lines are compared sorted. Pids, ports, temporary paths and the
 * C file and line _exit_cleanup names are masked.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBothDaemons, stopDaemons, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { maskFigures, runOc, runRsync, type RunResult } from "../helpers/run.ts";
import { snapshot } from "../helpers/tree.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const OUR_SERVER = `${process.execPath} ${MAIN}`;

let work: string;
let rsh: string;
let upstream: RunningDaemon;
let ours: RunningDaemon;

function makeSource(root: string) {
  fs.mkdirSync(join(root, "sub/deeper"), { recursive: true });
  fs.writeFileSync(join(root, "a.c"), "a\n");
  fs.writeFileSync(join(root, "b.o"), "b\n");
  fs.writeFileSync(join(root, "keep.txt"), "k\n");
  fs.writeFileSync(join(root, "sub/x.o"), "x\n");
  fs.writeFileSync(join(root, "sub/y.txt"), "y\n");
  fs.writeFileSync(join(root, "sub/deeper/z.c"), "z\n");
  fs.writeFileSync(join(root, "sub/.rules"), "- *.txt\n");
}

/** A destination with what the source lacks: extraneous files and directories, protected and excluded names. */
function makeDest(root: string) {
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(join(root, "sub/gone/deep"), { recursive: true });
  fs.mkdirSync(join(root, "old/er"), { recursive: true });
  fs.writeFileSync(join(root, "zz"), "protected\n");
  fs.writeFileSync(join(root, "a.c"), "old a\n");
  fs.writeFileSync(join(root, "stale"), "s\n");
  fs.writeFileSync(join(root, "old/er/f"), "f\n");
  fs.writeFileSync(join(root, "sub/q.o"), "q\n");
  fs.writeFileSync(join(root, "sub/gone/deep/f"), "f\n");
  fs.symlinkSync("nowhere", join(root, "link"));
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-debug-"));
  makeSource(join(work, "src"));
  fs.writeFileSync(join(work, "rules-file"), "- b.o\n+ keep.txt\n");
  fs.mkdirSync(join(work, "w"));
  rsh = join(work, "rsh");
  writeFakeRsh(rsh);
  fs.writeFileSync(join(work, "secrets"), "u:pw\n", { mode: 0o600 });
  fs.writeFileSync(join(work, "password"), "pw\n", { mode: 0o600 });
  const modules: ModuleConfig[] = [
    { name: "auth", path: join(work, "src"), params: { uid: "0", gid: "0", "auth users": "u", "secrets file": join(work, "secrets") } },
    { name: "src", path: join(work, "src"), params: { uid: "0", gid: "0", "max verbosity": "4" } },
    { name: "w", path: join(work, "w"), params: { "read only": "no", uid: "0", gid: "0", "max verbosity": "4" } },
  ];
  ({ upstream, ours } = await startBothDaemons(modules));
});

afterAll(async () => {
  await stopDaemons(upstream, ours);
  fs.rmSync(work, { recursive: true, force: true });
});

/** The lines of this file's categories. */
const MINE = [
  /^\[\w+\] (hid|show|protect|risk)ing (file|directory) /,
  /^delete_(in_dir|item|dir_contents)\(/,
  /^deleting in /,
  /^opening (tcp )?connection /,
  /^sending daemon args: /,
  /^protected args: /,
  /^Connected to /,
  /_exit_cleanup\(/,
  /^client_run waiting on /,
  /^\((Client|Server)\) Protocol versions/,
  /^(Client|Server) (negotiated )?[\w ]*(checksum|compress)/,
  /^cmd=/,
  /^cmd\[/,
  /^removing duplicate name /,
  /^msg checking charset: /,
  /^\[\w+\] change_dir\(/,
  /^\[\w+\] charset: /,
  /^\[\w+\] add_rule\(/,
  /^\[\w+\] (pushing|popping) local filters/,
  /^\[\w+\] (pushing|popping|activating) mergelist /,
  /^\[\w+\] parse_filter_file\(/,
];


/** Masks what differs from run to run: destinations, ports, pids, the C source position of _exit_cleanup. */
function normalize(text: string, dest: string): string {
  return maskFigures(text)
    .replaceAll(`"${OUR_SERVER}"`, "rsync")
    .replaceAll(dest, "DEST")
    .replaceAll(dest.slice(dest.lastIndexOf("/") + 1), "DEST")
    .replaceAll(/port \d+/g, "port PORT")
    .replaceAll(/:\d+\//g, ":PORT/")
    .replaceAll(/waiting on \d+/g, "waiting on PID")
    .replaceAll(/file=[^,]+, line=\d+/g, "file=F, line=L");
}

/**
 * We offer no sha1 checksum (upstream 3.5.0 lists it after md4): the lists
 * show what each side offers (in a local copy both are ours), the rest of
 * the NSTR lines must agree.
 */
const withoutSha1 = (line: string) => (/^(Client|Server) checksum list \(on (client|server)\): /.test(line) ? line.replace(/ sha1\b/, "") : line);

const mine = (r: RunResult, dest: string) =>
  normalize(r.stdout, dest)
    .split("\n")
    .filter((l) => MINE.some((re) => re.test(l)))
    .map(withoutSha1)
    .sort();

/** Lines other categories print at -vv and -vvv (the roles' per-file lines belong to other tests). */
const OTHERS = [/^total: matches=/, /^(false_alarms|hash_hits|matches)=/];

const wholeOutput = (r: RunResult, dest: string) =>
  normalize(r.stdout, dest)
    .split("\n")
    .filter((l) => l && !OTHERS.some((re) => re.test(l)))
    .sort();

type Mode = "local" | "pull" | "push" | "upstream-client-ours-daemon-pull" | "upstream-client-ours-daemon-push" | "rsh-pull" | "rsh-push";

interface Pair {
  ours: RunResult;
  theirs: RunResult;
  ourDest: string;
  theirDest: string;
}

let counter = 0;

/**
 * Runs the same transfer twice, into two fresh destinations: in "local",
 * "pull" and "push" our client against upstream's; in the others upstream's
 * client against our server against upstream's.
 */
async function both(mode: Mode, args: string[], source = "src/"): Promise<Pair> {
  const n = counter++;
  const push = mode === "push" || mode === "upstream-client-ours-daemon-push" || mode === "rsh-push";
  const destOf = (side: string) => join(work, push ? "w" : "", `d${n}-${side}`);
  const ourDest = destOf("ours");
  const theirDest = destOf("theirs");
  makeDest(ourDest);
  makeDest(theirDest);
  const rel = (d: string) => d.slice(join(work, "w").length + 1);
  const localSource = join(work, source);
  const run = async (side: "ours" | "theirs", dest: string) => {
    const ourSide = side === "ours";
    switch (mode) {
      case "local":
        return (ourSide ? runOc : runRsync)([...args, localSource, `${dest}/`]);
      case "pull":
        return (ourSide ? runOc : runRsync)([...args, upstream.url("src", source.replace(/^src\/?/, "")), `${dest}/`]);
      case "push":
        return (ourSide ? runOc : runRsync)([...args, localSource, upstream.url("w", `${rel(dest)}/`)]);
      case "upstream-client-ours-daemon-pull":
        return runRsync([...args, (ourSide ? ours : upstream).url("src", source.replace(/^src\/?/, "")), `${dest}/`]);
      case "upstream-client-ours-daemon-push":
        return runRsync([...args, localSource, (ourSide ? ours : upstream).url("w", `${rel(dest)}/`)]);
      case "rsh-pull":
        return runRsync([...args, "-e", rsh, ...(ourSide ? [`--rsync-path=${OUR_SERVER}`] : []), `host:${localSource}`, `${dest}/`]);
      case "rsh-push":
        return runRsync([...args, "-e", rsh, ...(ourSide ? [`--rsync-path=${OUR_SERVER}`] : []), localSource, `host:${dest}/`]);
    }
  };
  const theirs = await run("theirs", theirDest);
  const oursResult = await run("ours", ourDest);
  return { ours: oursResult, theirs, ourDest, theirDest };
}

/** The trees, without times (the runs copy without -t, a moment apart). */
function expectSameTrees(p: Pair) {
  const timeless = (dir: string) => JSON.stringify(snapshot(dir, { ignoreDirTimes: true }), (k, v) => (k === "mtimeNs" ? undefined : v));
  expect(timeless(p.ourDest)).toEqual(timeless(p.theirDest));
}

async function compareMine(mode: Mode, args: string[], source?: string) {
  const p = await both(mode, args, source);
  if (p.ours.code !== p.theirs.code) console.error(`ours: ${p.ours.stderr}\nupstream: ${p.theirs.stderr}`);
  expect(p.ours.code).toBe(p.theirs.code);
  const ours = mine(p.ours, p.ourDest);
  expect(ours).toEqual(mine(p.theirs, p.theirDest));
  expectSameTrees(p);
  return ours;
}

const FILTERS = ["-f", "P zz", "-f", "- *.o", "-f", "+ a.c", "-f", ": .rules", `--exclude-from=${"RULES"}`];
const withRules = (args: string[]) => args.map((a) => a.replace("RULES", join(work, "rules-file")));

describe("--debug=FILTER: which rule hid, showed, protected or risked a name", () => {
  for (const mode of ["local", "pull", "push"] as const) {
    test(`our client: ${mode}`, async () => {
      const lines = await compareMine(mode, withRules(["-r", "--delete", "--debug=FILTER", ...FILTERS]));
      // The lines are really there (not two empty outputs).
      if (mode !== "pull") expect(lines).toContain("[sender] showing file keep.txt because of pattern <rule from a file read earlier>");
      if (mode !== "push") expect(lines).toContain("[generator] protecting file zz because of pattern zz");
    });
  }
  for (const mode of ["upstream-client-ours-daemon-pull", "upstream-client-ours-daemon-push", "rsh-pull", "rsh-push"] as const) {
    test(`our server: ${mode}`, async () => {
      const lines = await compareMine(mode, withRules(["-vv", "-r", "--delete", ...FILTERS]));
      expect(lines.length).toBeGreaterThan(2);
    });
  }
  for (const mode of ["local", "pull", "push"] as const) {
    test(`FILTER2: rules added, local filters pushed and popped, per-directory merge files: ${mode}`, async () => {
      const lines = await compareMine(mode, withRules(["-r", "--delete", "--debug=FILTER2", ...FILTERS]));
      if (mode !== "pull") expect(lines).toContain("[sender] add_rule(<rule from DEST/../src/sub/.rules line 1>) [per-dir .rules]".replace("DEST/../", `${work}/`));
      if (mode !== "push") expect(lines.some((l) => l.startsWith("[generator] pushing local filters for "))).toBe(true);
    });
  }
  for (const mode of ["rsh-pull", "rsh-push", "upstream-client-ours-daemon-pull"] as const) {
    test(`FILTER2 from -vvv on our server: ${mode}`, async () => {
      const lines = await compareMine(mode, withRules(["-vvv", "-r", "--delete", ...FILTERS, "-f", "- trailing "]));
      expect(lines.some((l) => / add_rule\(- trailing \) -- CAUTION: trailing whitespace!$/.test(l))).toBe(true);
    });
  }
  for (const mode of ["local", "pull", "push", "rsh-pull", "rsh-push"] as const) {
    test(`FILTER2: -C's rules as each side adds them: ${mode}`, async () => {
      const ours = mode.startsWith("rsh");
      const lines = await compareMine(mode, ["-r", "--delete", "-C", ours ? "-vvv" : "--debug=FILTER2"]);
      expect(lines.some((l) => l.endsWith("add_rule(-p *.o) [global CVS]"))).toBe(true);
    });
  }
  test("the client's own rules, said as it parses them: only after a --debug that asks", async () => {
    // Upstream applies --debug as it parses the options (-v only after them all).
    const lines = await compareMine("local", withRules(["-r", "-f", "- *.o", "--debug=FILTER2", "-f", ". RULES", "--exclude-from=RULES", "-f", ":n- .rules", "-f", "- x "]));
    expect(lines).not.toContain("[client] add_rule(- *.o)");
    expect(lines).toContain(`[client] parse_filter_file(${join(work, "rules-file")},0,3)`);
    expect(lines).toContain("[client] activating mergelist #0 [per-dir .rules]");
    await compareMine("local", ["-r", "--debug=FILTER1", "-f", "- x ", "-vv", "-f", "- y "]);
  });
  test("FILTER2 without incremental recursion, and the delete-before/after passes", async () => {
    await compareMine("local", withRules(["-r", "--delete", "--no-inc-recursive", "--debug=FILTER2", ...FILTERS]));
    await compareMine("local", ["-r", "--delete-after", "--debug=FILTER2", "-f", "- *.o"]);
    await compareMine("local", ["-r", "--delete-before", "--debug=FILTER2,DEL3", "-f", "P zz"]);
  });
  test("directory rules, --delete-excluded and -C name their list", () =>
    compareMine("local", ["-r", "--delete", "--delete-excluded", "-C", "--debug=FILTER", "-f", "- sub/gone/", "-f", "- old/", "-f", "P zz"]));
});

describe("--debug=DEL: what deletion goes through", () => {
  for (const mode of ["local", "pull", "rsh-push", "upstream-client-ours-daemon-push"] as const) {
    test(`--delete, --delete-after: ${mode}`, async () => {
      const args = mode.startsWith("upstream") || mode.startsWith("rsh") ? ["-vvv"] : ["--debug=DEL3"];
      const lines = await compareMine(mode, ["-r", "--delete", ...args]);
      expect(lines).toContain("delete_item(old) mode=40755 flags=2");
      await compareMine(mode, ["-r", "--delete-after", ...args]);
    });
  }
  test("making room for a file where a directory is, and --delete-missing-args", async () => {
    fs.mkdirSync(join(work, "room"), { recursive: true });
    fs.writeFileSync(join(work, "room/old"), "now a file\n");
    await compareMine("local", ["-r", "--debug=DEL3", "--force"], "room/");
    await compareMine("local", ["-r", "--debug=DEL3", "--delete-missing-args"], "room/nothing-here");
  });
});

describe("--debug=CMD, CONNECT, EXIT, PROTO and NSTR: how the run starts and ends", () => {
  const words = "--debug=CMD2,CONNECT2,EXIT2,PROTO,NSTR2,CHDIR";
  for (const mode of ["local", "pull", "push"] as const) {
    test(`our client: ${mode}`, async () => {
      const lines = await compareMine(mode, ["-r", words]);
      expect(lines.some((l) => l.includes("_exit_cleanup("))).toBe(true);
    });
  }
  for (const mode of ["pull", "push"] as const) {
    test(`-s: the protected arguments are shown apart: ${mode}`, async () => {
      const lines = await compareMine(mode, ["-r", "-s", "--debug=CMD"]);
      expect(lines.some((l) => l.startsWith("protected args: . "))).toBe(true);
    });
  }
  test("-s over a remote shell", async () => {
    const dest = join(work, "rsh-secluded");
    const args = ["-r", "-s", "--debug=CMD", "-e", rsh, "--rsync-path=rsync", `host:${join(work, "src")}/`];
    const a = await runOc([...args, `${dest}-ours/`]);
    const b = await runRsync([...args, `${dest}-theirs/`]);
    expect(mine(a, `${dest}-ours`)).toEqual(mine(b, `${dest}-theirs`));
    expect(mine(a, `${dest}-ours`)).toContain(`protected args: . ${join(work, "src")}/  (2 args)`);
  });
  test("NSTR3: a local copy's other half says its side on stderr", async () => {
    const dest = join(work, "nstr3");
    const args = ["-r", "-z", "--debug=NSTR3,PROTO", `${join(work, "src")}/`];
    const a = await runOc([...args, `${dest}-ours/`]);
    const b = await runRsync([...args, `${dest}-theirs/`]);
    const serverSide = (r: RunResult) => r.stderr.split("\n").filter((l) => /\(on server\)|^Server (negotiated )?\w+: |^\(Server\)/.test(l)).map(withoutSha1).sort();
    expect(serverSide(a)).toEqual(serverSide(b));
    expect(serverSide(a)).toContain("Server negotiated compress: zstd (level 3)");
    expect(mine(a, `${dest}-ours`)).toEqual(mine(b, `${dest}-theirs`));
  });
  test("NSTR with daemon authentication", async () => {
    const dest = join(work, "authed");
    for (const extra of [["--debug=NSTR2"], ["--debug=NSTR", "--protocol=29"]]) {
      const args = ["-r", ...extra, `--password-file=${join(work, "password")}`, upstream.url("auth").replace("rsync://", "rsync://u@")];
      const a = await runOc([...args, `${dest}-ours/`]);
      const b = await runRsync([...args, `${dest}-theirs/`]);
      expect(a.code).toBe(0);
      expect(mine(a, `${dest}-ours`)).toEqual(mine(b, `${dest}-theirs`));
      expect(mine(a, `${dest}-ours`)).toContain("Client negotiated daemon auth checksum: sha512");
    }
  });
  test("a pull whose list is empty ends as the Receiver", async () => {
    const dest = join(work, "empty-pull");
    const a = await runOc(["-r", "--debug=EXIT2", upstream.url("src", "no-such"), `${dest}-ours/`]);
    const b = await runRsync(["-r", "--debug=EXIT2", upstream.url("src", "no-such"), `${dest}-theirs/`]);
    expect(a.code).toBe(b.code);
    expect(mine(a, `${dest}-ours`)).toEqual(mine(b, `${dest}-theirs`));
    expect(mine(a, `${dest}-ours`)).toContain("[Receiver] _exit_cleanup(code=0, file=F, line=L): about to call exit(23)");
    const errorLine = (text: string) => text.split("\n").find((l) => l.startsWith("rsync error:"))?.replace(/ at \S+ \[(\w+)=[^\]]+\]/, " [$1]");
    expect(errorLine(a.stderr)).toBe(errorLine(b.stderr));
  });
  test("a daemon's module list ends without the cleanup lines", async () => {
    const a = await runOc(["--debug=EXIT2,CONNECT", upstream.url("").replace(/\/+$/, "/")]);
    const b = await runRsync(["--debug=EXIT2,CONNECT", upstream.url("").replace(/\/+$/, "/")]);
    expect(mine(a, "/none")).toEqual(mine(b, "/none"));
    expect(mine(a, "/none").some((l) => l.includes("_exit_cleanup"))).toBe(false);
  });
  test("CHDIR: -R, a lone file to a new name", async () => {
    const lines = await compareMine("local", ["-rR", "--debug=CHDIR"], "src/./sub");
    expect(lines).toContain("[Receiver] change_dir(DEST)");
    await compareMine("local", ["-r", "--debug=CHDIR"], "src/a.c");
  });
  test("our client over a remote shell, and a failing run", async () => {
    const dest = join(work, "rsh-client");
    const a = await runOc(["-r", words, "-e", rsh, "--rsync-path=rsync", `host:${join(work, "src")}/`, `${dest}-ours/`]);
    const b = await runRsync(["-r", words, "-e", rsh, "--rsync-path=rsync", `host:${join(work, "src")}/`, `${dest}-theirs/`]);
    expect(mine(a, `${dest}-ours`)).toEqual(mine(b, `${dest}-theirs`));
    expect(mine(a, `${dest}-ours`)).toContain(`opening connection using: ${rsh} host rsync --server --sender -re.iLsfxCIvu . ${join(work, "src")}/  (8 args)`);
    const c = await runOc(["-r", words, join(work, "no-such"), `${dest}-ours`]);
    const d = await runRsync(["-r", words, join(work, "no-such"), `${dest}-theirs`]);
    expect(c.code).toBe(d.code);
    expect(mine(c, `${dest}-ours`)).toEqual(mine(d, `${dest}-theirs`));
  });
});

describe("--debug=ICONV: the charsets in use", () => {
  /** A server's (or a local copy's receiving half's) line goes to stderr, the client's to stdout. */
  const charsetLines = (r: RunResult) => [...r.stdout.split("\n"), ...r.stderr.split("\n")].filter((l) => /charset/.test(l)).sort();
  test("local copy, our client pulling over a remote shell, upstream's client with our --server", async () => {
    const dest = join(work, "iconv");
    const src = `${join(work, "src")}/`;
    const runs: [string[], string[]][] = [
      [["-r", "-vv", "--iconv=."], [src]],
      [["-r", "-vv", "--iconv=utf8,latin1", "-e", rsh, "--rsync-path=rsync"], [`host:${src}`]],
      [["-r", "-vvvv"], [upstream.url("src")]],
    ];
    for (const [args, from] of runs) {
      const a = await runOc([...args, ...from, `${dest}-ours/`]);
      const b = await runRsync([...args, ...from, `${dest}-theirs/`]);
      expect(charsetLines(a)).toEqual(charsetLines(b));
      expect(charsetLines(a).length).toBeGreaterThan(0);
    }
    const served = ["-r", "-vv", "--iconv=utf8,latin1", "-e", rsh];
    const c = await runRsync([...served, `--rsync-path=${OUR_SERVER}`, `host:${src}`, `${dest}-served-ours/`]);
    const d = await runRsync([...served, `host:${src}`, `${dest}-served-theirs/`]);
    expect(charsetLines(c)).toEqual(charsetLines(d));
    expect(charsetLines(c)).toContain("[sender] charset: latin1");
  });
});

describe("--debug=DUP: names given twice", () => {
  test("local copy and pull", async () => {
    const dest = join(work, "dup");
    const local = ["src/a.c", "src/a.c", "src/sub", "src/./sub"].map((p) => join(work, p));
    const remote = ["a.c", "a.c", "sub", "sub"].map((p) => upstream.url("src", p));
    for (const [sources, args] of [
      [local, ["-r", "--debug=DUP"]],
      [remote, ["-r", "-vv"]],
    ] as const) {
      const a = await runOc([...args, ...sources, `${dest}-ours/`]);
      const b = await runRsync([...args, ...sources, `${dest}-theirs/`]);
      expect(a.code).toBe(b.code);
      const ours = mine(a, `${dest}-ours`).filter((l) => l.startsWith("removing"));
      expect(ours).toEqual(mine(b, `${dest}-theirs`).filter((l) => l.startsWith("removing")));
      expect(ours).toContain("removing duplicate name a.c from file list (2)");
    }
  });
});

describe("-vv output as a whole", () => {
  for (const mode of ["local", "pull", "push", "rsh-pull", "rsh-push", "upstream-client-ours-daemon-pull", "upstream-client-ours-daemon-push"] as const) {
    test(`filters and --delete: ${mode}`, async () => {
      const p = await both(mode, withRules(["-vv", "-r", "--delete", ...FILTERS]));
      expect(p.ours.code).toBe(p.theirs.code);
      expect(wholeOutput(p.ours, p.ourDest)).toEqual(wholeOutput(p.theirs, p.theirDest));
      expectSameTrees(p);
    });
  }
});
