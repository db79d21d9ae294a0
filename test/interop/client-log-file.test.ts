/**
 * The client's --log-file and --log-file-format against upstream's: the
 * same transfers (a local copy, a pull from and a push to upstream's daemon)
 * logged by both clients, compared line by line with timestamps and pids
 * masked. A pull's lines come from upstream's generator and receiver
 * processes, whose order is timing, so every log is compared sorted.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBothDaemons, stopDaemons, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { maskFigures, normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";

let work: string;
let src: string;
let upstream: RunningDaemon;
let ours: RunningDaemon;
let counter = 0;
/** A remote shell that runs the command here (upstream's rsync as the server). */
let rsh: string;

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-logfile-"));
  src = join(work, "src");
  fs.mkdirSync(join(src, "sub"), { recursive: true });
  fs.writeFileSync(join(src, "a"), "hello\n");
  fs.writeFileSync(join(src, "sub/b"), Buffer.alloc(3000, 7));
  // Names the log escapes (log.c filtered_fwrite): a control byte, a C1 byte (in UTF-8), a literal "\#ooo".
  fs.writeFileSync(join(src, "ctl\tname\x01"), "x");
  fs.writeFileSync(join(src, "c1-\u0085"), "y");
  fs.writeFileSync(join(src, "back\\#123slash"), "z");
  fs.symlinkSync("a", join(src, "l"));
  fs.linkSync(join(src, "sub/b"), join(src, "sub/b-hard"));
  ageTree(src, 1_500_000_000);
  fs.mkdirSync(join(work, "w"));
  rsh = join(work, "rsh");
  writeFakeRsh(rsh);
  const modules: ModuleConfig[] = [
    { name: "src", path: src, params: { uid: "0", gid: "0" } },
    { name: "w", path: join(work, "w"), params: { "read only": "no", uid: "0", gid: "0" } },
  ];
  ({ upstream, ours } = await startBothDaemons(modules));
});

afterAll(async () => {
  await stopDaemons(upstream, ours);
  fs.rmSync(work, { recursive: true, force: true });
});

/** A log's lines without "YYYY/MM/DD HH:MM:SS [pid] ", the rsync error's location, and the protocol totals (framing differs). */
function logLines(file: string, names: string[]): string[] {
  if (!fs.existsSync(file)) return ["(no log file)"];
  let text = normalizeErrors(fs.readFileSync(file, "latin1"));
  for (const n of names) text = text.replaceAll(n, "DEST");
  const lines = text.split("\n");
  expect(lines.pop()).toBe("");
  return lines
    .map((l) => {
      const m = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[\d+\] (.*)$/s.exec(l);
      expect(m).not.toBeNull();
      return maskFigures(m![1]!)
        .replace(/^sent \d+ bytes {2}received \d+ bytes {2}total size/, "sent N bytes  received N bytes  total size")
        .replace(/^sent \S+ bytes {2}received \S+ bytes {2}\S+ bytes\/sec$/, "sent N")
        .replace(/ {2}speedup is [\d.,]+/, "  speedup is N");
    })
    // -vv's match statistics (match.c match_report) are not ours to print yet.
    .filter((l) => !l.startsWith("total: matches="))
    .sort();
}

/** pull and push: with upstream's daemon; rsh-pull and rsh-push: with upstream's server over a remote shell. */
function runSync(argv: string[]): void {
  expect(spawnSync(argv[0]!, argv.slice(1)).status).toBe(0);
}

type Mode = "local" | "pull" | "push" | "rsh-pull" | "rsh-push";

interface Case {
  args: string[];
  /** A destination that already holds an extra file (for --delete). */
  extra?: boolean;
  /** A destination already up to date (upstream's copy of the source). */
  prefilled?: boolean;
  /** Only in these modes. */
  modes?: Mode[];
  sources?: string[];
}

async function compare(mode: Mode, c: Case): Promise<string[]> {
  const id = `${mode}${++counter}`;
  const base = join(work, mode === "push" ? "w" : "");
  const destOurs = join(base, `${id}-ours`);
  const destTheirs = join(base, `${id}-theirs`);
  for (const d of [destOurs, destTheirs]) {
    fs.mkdirSync(d);
    if (c.prefilled) runSync(["rsync", "-a", `${src}/`, `${d}/`]);
    if (c.extra) {
      fs.writeFileSync(join(d, "zz-extra"), "old");
      fs.utimesSync(join(d, "zz-extra"), 1_400_000_000, 1_400_000_000);
    }
  }
  const logOurs = join(work, `${id}-ours.log`);
  const logTheirs = join(work, `${id}-theirs.log`);
  const sources = c.sources ?? ["src/"];
  const from = (s: string) => (mode === "pull" ? upstream.url("src", s.replace(/^src\/?/, "")) : mode === "rsh-pull" ? `host:${join(work, s)}` : join(work, s));
  const to = (d: string) => (mode === "push" ? upstream.url("w", `${d.slice(base.length + 1)}/`) : mode === "rsh-push" ? `host:${d}/` : `${d}/`);
  const shell = mode.startsWith("rsh") ? ["-e", rsh] : [];
  const a = await runOc([...c.args, ...shell, `--log-file=${logOurs}`, ...sources.map(from), to(destOurs)]);
  const b = await runRsync([...c.args, ...shell, `--log-file=${logTheirs}`, ...sources.map(from), to(destTheirs)]);
  expect(a.code).toBe(b.code);
  expect(normalizeErrors(a.stderr).replaceAll(destOurs, "DEST")).toBe(normalizeErrors(b.stderr).replaceAll(destTheirs, "DEST"));
  expect(snapshot(destOurs, { ignoreDirTimes: true })).toEqual(snapshot(destTheirs, { ignoreDirTimes: true }));
  const ourLines = logLines(logOurs, [destOurs, `${id}-ours`]);
  expect(ourLines).toEqual(logLines(logTheirs, [destTheirs, `${id}-theirs`]));
  return ourLines;
}

const cases: [string, Case][] = [
  ["plain -a", { args: ["-a"] }],
  ["-v (the summary lines are logged)", { args: ["-av"] }],
  ["-i", { args: ["-ai"] }],
  ["-H (a hard link's ' => ' line)", { args: ["-aH"] }],
  // (A push with --list-only only lists, upstream's way; ours still pushes: not compared here.)
  ["--list-only (its listing lines are logged)", { args: ["-a", "--list-only"], modes: ["local", "pull", "rsh-pull"] }],
  ["--stats (its lines are logged, not its blank ones)", { args: ["-a", "--stats"] }],
  // Upstream's local copy logs them (its generator child passes them to the client as messages).
  ["-vv on an up-to-date copy ('is uptodate' is the user's only)", { args: ["-avv"], prefilled: true }],
  ["-q still logs", { args: ["-aq"] }],
  ["-n logs no transfers", { args: ["-ain"] }],
  ["--delete", { args: ["-a", "--delete"], extra: true }],
  ["--delete -i at protocol 28", { args: ["-ai", "--delete", "--protocol=28"], extra: true }],
  ["--delete at protocol 28", { args: ["-a", "--delete", "--protocol=28"], extra: true }],
  ["-i with a format without %i at protocol 28", { args: ["-ai", "--log-file-format=%o %n", "--protocol=28"] }],
  ["--delete -n logs no deletion", { args: ["-a", "--delete", "-n"], extra: true }],
  ["--delete with a format without %i", { args: ["-a", "--delete", "--log-file-format=%o %n"], extra: true }],
  ["a format with %o %f %b %l %M %n %i", { args: ["-a", "--log-file-format=[%o] %f %b %l %M %n%L %i"] }],
  ["a format without %i logs only transfers and significant items", { args: ["-a", "--log-file-format=%n"] }],
];

describe("--log-file as upstream's client writes it", () => {
  for (const mode of ["local", "pull", "push", "rsh-pull", "rsh-push"] as const) {
    for (const [title, c] of cases.filter(([, c]) => !c.modes || c.modes.includes(mode))) test(`${title}: ${mode}`, () => compare(mode, c));
  }

  test("a pull's %f and %b (the receiver's names and bytes)", async () => {
    const lines = await compare("pull", { args: ["-a", "--log-file-format=%o %f %b %i"] });
    // 3000 bytes of data in one literal token, the sum head, the end token and the checksum; a name's control byte escaped.
    expect(lines).toContain("recv sub/b 3040 >f+++++++++");
    expect(lines).toContain("recv ctl\tname\\#001 41 >f+++++++++");
  });

  test("the items a local copy logs say 'send', as upstream's sending client logs them", async () => {
    const lines = await compare("local", { args: ["-a", "--log-file-format=%o %n"] });
    expect(lines).toContain("send sub/b");
    expect(lines).toContain("send back\\#134#123slash");
    expect(lines).toContain("send c1-\xc2\\#205");
    expect(lines).toContain("building file list");
  });

  // A pull that fails logs no totals (log.c log_exit: only a sender's or a clean run's).
  // A failed run logs the totals even after -v's summary, when the client is the sender (log_exit).
  for (const mode of ["local", "push", "rsh-push", "rsh-pull"] as const) {
    for (const args of [["-a"], ["-av"]]) {
      test(`a failing source, ${args.join(" ")}: ${mode}`, async () => {
        const lines = await compare(mode, { args, sources: ["src/no-such", "src/a"] });
        // A remote sender's complaint comes on its stderr, which the client does not log.
        if (mode !== "rsh-pull") expect(lines.some((l) => l.includes("link_stat") && l.includes("no-such"))).toBe(true);
        expect(lines.some((l) => l.startsWith("rsync error: some files/attrs were not transferred"))).toBe(true);
        expect(lines.some((l) => l.startsWith("sent N bytes  received N bytes  total size"))).toBe(mode !== "rsh-pull");
      });
    }
  }
});

for (const quiet of [[], ["-q"]]) {
  test(`a log file that cannot be opened is reported and ignored, as upstream ${quiet.join("")}`, async () => {
    const bad = join(work, "no-dir", "x.log");
    const tag = quiet.length ? "q" : "";
    const a = await runOc(["-a", ...quiet, `--log-file=${bad}`, "src/", `open-fail${tag}-ours/`], { cwd: work });
    const b = await runRsync(["-a", ...quiet, `--log-file=${bad}`, "src/", `open-fail${tag}-theirs/`], { cwd: work });
    expect(a.stderr).toBe(b.stderr);
    expect(b.stderr).toContain("failed to open log-file");
    expect(a.stdout).toBe(b.stdout);
    expect(a.code).toBe(b.code);
    expect(snapshot(join(work, `open-fail${tag}-ours`))).toEqual(snapshot(join(work, `open-fail${tag}-theirs`)));
  });
}

test("--log-file-format alone writes no log", async () => {
  const a = await runOc(["-a", "--log-file-format=%n", "src/", "fmt-alone/"], { cwd: work });
  expect(a.code).toBe(0);
  expect(fs.readdirSync(work).filter((n) => n.endsWith(".log") && n.startsWith("fmt"))).toEqual([]);
  expect(a.stdout).toBe("");
});

test("the log is appended to, not replaced", async () => {
  const log = join(work, "append.log");
  fs.writeFileSync(log, "earlier line\n");
  await runOc(["-a", `--log-file=${log}`, "src/", "append-dest/"], { cwd: work });
  const text = fs.readFileSync(log, "latin1");
  expect(text.startsWith("earlier line\n")).toBe(true);
  expect(text).toContain("] building file list\n");
});

test("a daemon refuses a client's --log-file, ours as upstream's", async () => {
  const results = [];
  for (const d of [upstream, ours]) {
    const dest = join(work, `refuse-${results.length}`);
    const r = await runRsync(["-a", `-M--log-file=${join(work, "refused.log")}`, d.url("src", ""), `${dest}/`]);
    // Upstream's own exit code here depends on whether its daemon's close reaches the client as a reset (timing).
    results.push({ failed: r.code !== 0, refused: r.stderr.includes("The server is configured to refuse --log-file") });
  }
  expect(results[1]).toEqual(results[0]!);
  expect(results[0]!.refused).toBe(true);
  expect(fs.existsSync(join(work, "refused.log"))).toBe(false);
});

test("--log-file and --log-file-format stay on the client (options.c server_options), as upstream's", async () => {
  const recorded: string[] = [];
  for (const run of [runOc, runRsync]) {
    const argsFile = join(work, `server-args-${recorded.length}`);
    const recorder = join(work, `recorder-${recorded.length}`);
    fs.writeFileSync(recorder, `#!/bin/sh\nprintf '%s\\n' "$@" > ${argsFile}\nexec ${rsh} "$@"\n`, { mode: 0o755 });
    const r = await run(["-a", "-e", recorder, `--log-file=${join(work, `fwd-${recorded.length}.log`)}`, "--log-file-format=%n", `host:${src}/`, join(work, `fwd-${recorded.length}/`)]);
    expect(r.code).toBe(0);
    recorded.push(fs.readFileSync(argsFile, "latin1"));
  }
  expect(recorded[0]).toBe(recorded[1]!.replace(/\n-[^\n]*e\.[^\n]*\n/, (m) => m));
  for (const args of recorded) expect(args).not.toContain("log-file");
});

test("a log path through someone else's symlink is refused (open_no_attacker_symlinks), --insecure-links follows it, as upstream", async () => {
  // Needs root to give the link to another user.
  if (process.getuid?.() !== 0) return;
  const results = [];
  for (const [run, who] of [[runOc, "ours"], [runRsync, "theirs"]] as const) {
    for (const insecure of [[], ["--insecure-links"]]) {
      const tag = `${who}${insecure.length}`;
      const target = join(work, `link-target-${tag}`);
      const link = join(work, `evil-${tag}`);
      fs.symlinkSync(target, link);
      expect(spawnSync("chown", ["-h", "nobody", link]).status).toBe(0);
      const r = await run(["-a", ...insecure, `--log-file=${link}`, "src/", `link-dest-${tag}/`], { cwd: work });
      results.push({ insecure: insecure.length, code: r.code, stderr: r.stderr.replaceAll(tag, "X"), stdout: r.stdout, logged: fs.existsSync(target) });
    }
  }
  expect(results.slice(0, 2)).toEqual(results.slice(2));
  expect(results[2]!.stderr).toContain("refusing to follow a symlink owned by an untrusted user");
  expect(results[2]!.logged).toBe(false);
  expect(results[3]!.logged).toBe(true);
});
