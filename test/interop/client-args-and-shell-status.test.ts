/**
 * The client's checks of its arguments before it connects (main.c
 * start_client), and the exit status of a remote shell that ends the run
 * (cleanup.c _exit_cleanup: a failing client takes the shell's status when
 * it is higher, so ssh's 255 reaches the scripts that test for it), against
 * upstream's client given the same command lines.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { normalizeErrors, runOc, runRsync, type RunResult } from "../helpers/run.ts";

let work: string;

beforeAll(() => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-client-args-"));
  fs.mkdirSync(join(work, "src"));
  fs.writeFileSync(join(work, "src", "a"), "a\n");
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** Both clients run in `work`; their exit codes and stderr (error lines without file and version) must be the same. */
async function same(args: string[]): Promise<RunResult> {
  const [ours, theirs] = [await runOc(args, { cwd: work }), await runRsync(args, { cwd: work })];
  expect(normalizeErrors(ours.stderr)).toBe(normalizeErrors(theirs.stderr));
  expect(ours.code).toBe(theirs.code);
  return ours;
}

/** Each [name, args, what stderr says]: refused by both clients alike (code 1), nothing made. */
function refusedCases(cases: [string, string[], string][]): void {
  for (const [name, args, said] of cases) {
    test(name, async () => {
      const r = await same(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(said);
      expect(fs.existsSync(join(work, "dest"))).toBe(false);
    });
  }
}

describe("arguments refused before connecting, as upstream", () => {
  const cases: [string, string[], string][] = [
    ["a remote arg among local sources", ["-a", "src/", "host:path", "dest"], "Unexpected remote arg: host:path"],
    ["a daemon arg among local sources", ["-a", "src/", "host::mod", "dest"], "Unexpected remote arg: host::mod"],
    ["an rsync:// URL among local sources", ["-a", "src/", "rsync://host/mod", "dest"], "Unexpected remote arg: rsync://host/mod"],
    ["a remote arg among the sources of a push", ["-a", "src/", "host:path", "other:dest"], "Unexpected remote arg: host:path"],
    ["an empty first source", ["-a", "", "src/", "dest"], "Empty source arg specified."],
    ["an empty later source", ["-a", "src/", "", "dest"], "Empty source arg specified."],
    ["a local arg among remote sources", ["-a", "host:path", "src/", "dest"], "Unexpected local arg: src/"],
    ["remote source and destination", ["-a", "host:path", "other:dest"], "The source and destination cannot both be remote."],
    ["remote sources on two machines", ["-a", "host:a", "other:b", "dest"], "All source args must come from the same machine."],
    ["a shell source and a daemon source", ["-a", "host:a", "rsync://host/mod", "dest"], "All source args must use the same hostspec format."],
    ["daemon sources on two ports", ["-a", "rsync://host:1234/mod/a", "rsync://host:99/mod/b", "dest"], "All source args must use the same port number."],
  ];
  refusedCases(cases);
});

/**
 * Upstream only looks whether its shell has ended (waitpid WNOHANG) and loses
 * that race now and then, ending with its own 12; and whether it first
 * notices the end reading or writing is timing too ("connection unexpectedly
 * closed" or "safe_write failed"). So: its code is ours or 12, its error line
 * names the same role as ours; ours waits for the shell briefly and says
 * what upstream says when it reads the end.
 */
async function likeUpstream(args: string[], code: number, role: string): Promise<void> {
  const [ours, theirs] = [await runOc(args, { cwd: work }), await runRsync(args, { cwd: work })];
  expect(ours.code).toBe(code);
  expect([code, 12]).toContain(theirs.code);
  const what = code === 12 ? "error in rsync protocol data stream" : "unexplained error";
  expect(normalizeErrors(ours.stderr)).toBe(`rsync: connection unexpectedly closed (0 bytes received so far) [${role}]\nrsync error: ${what} (code ${code}) at X [${role}]\n`);
  expect(normalizeErrors(theirs.stderr).trimEnd().split("\n").at(-1)).toMatch(new RegExp(`^rsync error: .* \\(code ${theirs.code}\\) at X \\[${role}\\]$`));
}

describe("a remote shell's exit status ends a failed run, as upstream", () => {
  const shells: [string, number][] = [
    ["sh -c 'exit 255'", 255],
    ["sh -c 'sleep 0.2; exit 255'", 255],
    ["sh -c 'exit 200'", 200],
    // Below the protocol error's 12, or ended by a signal: the client's own code.
    ["sh -c 'exit 3'", 12],
    ["sh -c 'kill -9 $$'", 12],
  ];
  for (const [shell, code] of shells) {
    test(`push, ${shell}`, () => likeUpstream(["-a", "-e", shell, "src/", "host:dest"], code, "sender"));
    test(`pull, ${shell}`, () => likeUpstream(["-a", "-e", shell, "host:src", "dest"], code, "Receiver"));
  }
});

test("--sender outside a server is a usage error, as upstream's (nothing is copied nor removed)", async () => {
  const args = ["-a", "--remove-source-files", "--sender", "src/", "dest"];
  const [ours, theirs] = [await runOc(args, { cwd: work }), await runRsync(args, { cwd: work })];
  expect(ours.code).toBe(1);
  expect(ours.code).toBe(theirs.code);
  const lastLine = (r: RunResult) => normalizeErrors(r.stderr).trimEnd().split("\n").at(-1);
  expect(lastLine(ours)).toBe(lastLine(theirs)!);
  // The usage goes with it (ours is our own help text).
  expect(ours.stderr).toContain("Usage: ");
  expect(fs.readdirSync(join(work, "src"))).toEqual(["a"]);
  expect(fs.existsSync(join(work, "dest"))).toBe(false);
});

describe("daemon-mode option parsing, as upstream's (options.c OPT_DAEMON)", () => {
  const cases: [string, string[], string][] = [
    ["a daemon option on a client's command line", ["--config=/nonexistent", "src/", "dest"], "Daemon option(s) used without --daemon."],
    ["--detach on a client's command line", ["--detach", "src/", "dest"], "Daemon option(s) used without --daemon."],
    ["a client option with --daemon", ["-a", "--daemon", "--config=/nonexistent"], "rsync: -a: unknown option (in daemon mode)"],
    ["an unknown option with --daemon", ["--daemon", "--bogus"], "rsync: --bogus: unknown option (in daemon mode)"],
    ["a negation daemon mode does not have", ["--daemon", "--no-address"], "rsync: --no-address: unknown option (in daemon mode)"],
    ["--dparam without '='", ["--dparam=motdfile", "--daemon"], "--dparam value is missing an '=': motdfile"],
    ["--dparam naming no parameter", ["--dparam=bogus=1", "src/", "dest"], 'Unknown parameter "bogus"'],
    ["-M before --daemon is a client's --remote-option", ["-M", "motdfile=/x", "--daemon"], "rsync: Remote option must start with a dash: motdfile=/x"],
    ["a config file that is not there", ["--daemon", "--no-detach", "--config=/nonexistent"], "Failed to parse config file: /nonexistent"],
    ["a config file that is not there, under a remote shell", ["--server", "--daemon", "--config=/nonexistent", "."], "rsync error: syntax or usage error (code 1)"],
  ];
  refusedCases(cases);

  test("--daemon --help is daemon mode's usage, on stdout", async () => {
    const [ours, theirs] = [await runOc(["--daemon", "--help"], { cwd: work }), await runRsync(["--daemon", "--help"], { cwd: work })];
    expect(ours.code).toBe(0);
    expect(ours.code).toBe(theirs.code);
    const optionLines = (text: string) => text.split("\n").filter((l) => l.startsWith("--"));
    expect(optionLines(ours.stdout)).toEqual(optionLines(theirs.stdout));
    expect(ours.stdout).toContain("--daemon [OPTION]...");
  });
});
