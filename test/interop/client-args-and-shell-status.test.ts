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
  for (const [name, args, said] of cases) {
    test(name, async () => {
      const r = await same(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(said);
      expect(fs.existsSync(join(work, "dest"))).toBe(false);
    });
  }
});

/**
 * Upstream only looks whether its shell has ended (waitpid WNOHANG) and loses
 * that race now and then, ending with its own 12: its code must be ours or
 * that, its lines ours but for the code. Ours waits for the shell briefly.
 */
async function likeUpstream(args: string[], code: number): Promise<void> {
  const [ours, theirs] = [await runOc(args, { cwd: work }), await runRsync(args, { cwd: work })];
  expect(ours.code).toBe(code);
  expect([code, 12]).toContain(theirs.code);
  const asOurs = normalizeErrors(theirs.stderr).replace(/\(code \d+\)/, `(code ${code})`).replace("error in rsync protocol data stream", ours.code === 12 ? "$&" : "unexplained error");
  expect(normalizeErrors(ours.stderr)).toBe(asOurs);
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
    test(`push, ${shell}`, () => likeUpstream(["-a", "-e", shell, "src/", "host:dest"], code));
    test(`pull, ${shell}`, () => likeUpstream(["-a", "-e", shell, "host:src", "dest"], code));
  }
});
