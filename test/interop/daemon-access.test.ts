/**
 * Talking to an upstream daemon before any transfer: module listing, MOTD,
 * unknown modules, authentication. Output and exit codes are compared with
 * upstream's client against the same daemon.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startUpstreamDaemon, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

let work: string;
let daemon: RunningDaemon;

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-access-"));
  const data = join(work, "data");
  fs.mkdirSync(join(data, "sub"), { recursive: true });
  fs.writeFileSync(join(data, "file"), "content\n");
  fs.writeFileSync(join(data, "sub/inner"), "inner\n");
  ageTree(data);
  fs.writeFileSync(join(work, "motd"), "Welcome to the test daemon\nSecond line\n");
  fs.writeFileSync(join(work, "secrets"), "alice:wonderland\n@staff:groupsecret\n");
  fs.chmodSync(join(work, "secrets"), 0o600);
  daemon = await startUpstreamDaemon(
    [
      { name: "public", path: data, params: { comment: "Public files" } },
      { name: "hidden", path: data, params: { list: "no" } },
      { name: "private", path: data, params: { comment: "needs a password", "auth users": "alice", "secrets file": join(work, "secrets") } },
    ],
    { "motd file": join(work, "motd") },
  );
});

afterAll(async () => {
  await daemon.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const base = () => `rsync://127.0.0.1:${daemon.port}`;

async function both(args: string[], env?: Record<string, string>) {
  return [await runOc(args, { env }), await runRsync(args, { env })] as const;
}

describe("module listing and MOTD", () => {
  test("rsync://host/ lists the modules after the MOTD, exit 0", async () => {
    const [oc, up] = await both([`${base()}/`]);
    expect(up.stdout).toContain("public         \tPublic files\n");
    expect(oc.stdout).toBe(up.stdout);
    expect(oc.code).toBe(0);
  });

  test("--no-motd hides the MOTD (and, as upstream, the listing lines too)", async () => {
    const [oc, up] = await both(["--no-motd", `${base()}/`]);
    expect(oc.stdout).toBe(up.stdout);
    expect(oc.code).toBe(up.code);
  });

  test("host::module syntax with --port lists a module's contents", async () => {
    const [oc, up] = await both([`--port=${daemon.port}`, "127.0.0.1::public"]);
    expect(oc.code).toBe(0);
    expect(oc.stdout).toBe(up.stdout);
  });

  test("an unknown module: @ERROR line, exit 5", async () => {
    const [oc, up] = await both(["-a", `${base()}/nosuch/`, join(work, "never")]);
    expect(up.code).toBe(5);
    expect(oc.code).toBe(5);
    expect(normalizeErrors(oc.stderr)).toBe(normalizeErrors(up.stderr));
    expect(fs.existsSync(join(work, "never"))).toBe(false);
  });

  test("an unlisted module is still reachable by name", async () => {
    const [oc, up] = await both([`${base()}/hidden/`]);
    expect(oc.code).toBe(0);
    expect(oc.stdout).toBe(up.stdout);
  });
});

describe("authentication", () => {
  test("the right password (RSYNC_PASSWORD) is accepted", async () => {
    const dest = join(work, "auth-ok");
    const oc = await runOc(["-a", `rsync://alice@127.0.0.1:${daemon.port}/private/`, `${dest}/`], { env: { RSYNC_PASSWORD: "wonderland" } });
    expect(oc.stderr).toBe("");
    expect(oc.code).toBe(0);
    expect(snapshot(dest, { ignoreRoot: true })).toEqual(snapshot(join(work, "data"), { ignoreRoot: true }));
  });

  test("--password-file is read (first line) and must not be other-readable", async () => {
    const pw = join(work, "pw");
    fs.writeFileSync(pw, "wonderland\nignored second line\n");
    fs.chmodSync(pw, 0o600);
    const dest = join(work, "auth-file");
    const ok = await runOc(["-a", `--password-file=${pw}`, `rsync://alice@127.0.0.1:${daemon.port}/private/`, `${dest}/`]);
    expect(ok.code).toBe(0);
    expect(fs.readFileSync(join(dest, "file"), "utf8")).toBe("content\n");

    fs.chmodSync(pw, 0o644);
    const [oc, up] = await both(["-a", `--password-file=${pw}`, `rsync://alice@127.0.0.1:${daemon.port}/private/`, join(work, "auth-file2")]);
    expect(up.code).toBe(1);
    expect(oc.code).toBe(1);
    expect(normalizeErrors(oc.stderr).split("\n")[0]).toBe(normalizeErrors(up.stderr).split("\n")[0]);
  });

  test("a wrong password is refused: @ERROR auth failed, exit 5, nothing written", async () => {
    const args = ["-a", `rsync://alice@127.0.0.1:${daemon.port}/private/`, join(work, "auth-bad")];
    const [oc, up] = await both(args, { RSYNC_PASSWORD: "guess" });
    expect(up.code).toBe(5);
    expect(oc.code).toBe(5);
    expect(oc.stderr.split("\n")[0]).toBe("@ERROR: auth failed on module private");
    expect(oc.stderr.split("\n")[0]).toBe(up.stderr.split("\n")[0]);
    expect(fs.existsSync(join(work, "auth-bad"))).toBe(false);
  });

  test("protocol 29 and 30 clients authenticate without a digest list (MD4 with seed, MD5)", async () => {
    for (const protocol of [29, 30]) {
      const dest = join(work, `auth-p${protocol}`);
      const oc = await runOc(["-a", `--protocol=${protocol}`, `rsync://alice@127.0.0.1:${daemon.port}/private/`, `${dest}/`], { env: { RSYNC_PASSWORD: "wonderland" } });
      expect(oc.stderr).toBe("");
      expect(oc.code).toBe(0);
    }
  });
});
