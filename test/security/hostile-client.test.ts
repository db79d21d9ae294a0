/**
 * A client asking a chroot-less daemon module for paths outside it, through
 * options that name directories or files on the daemon's side: a
 * --partial-dir that climbs out or is absolute (its partial files are
 * looked for, used as a basis and removed there), a --temp-dir elsewhere, a
 * per-directory merge file or a --files-from list elsewhere (whose lines
 * come back quoted in errors). Neither daemon may touch or quote anything
 * outside the module; upstream's is run the same way, and where its answer
 * is an error, ours must give the same one.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, stopDaemons, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runRsync, type RunResult } from "../helpers/run.ts";

const SECRET = "root:SECRET-HASH:19000";
const KINDS = ["upstream", "ours"] as const;

let work: string;
let outside: string;
let src: string;
const modules: Record<string, string> = {};
const daemons: Record<string, RunningDaemon> = {};

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-hostile-client-"));
  outside = join(work, "outside");
  src = join(work, "src");
  fs.mkdirSync(src);
  fs.writeFileSync(join(src, "f"), "new content\n");
  for (const kind of KINDS) {
    modules[kind] = join(work, `module-${kind}`);
    fs.mkdirSync(modules[kind]!);
    daemons[kind] = await startDaemon(kind, [{ name: "mod", path: modules[kind]!, params: { "read only": "no", "use chroot": "no", uid: "0", gid: "0" } }]);
  }
});

afterAll(async () => {
  await stopDaemons(...Object.values(daemons));
  fs.rmSync(work, { recursive: true, force: true });
});

/** The outside directory afresh: a file named as the one pushed (a partial file to find), and a secret. */
function resetOutside(): void {
  fs.rmSync(outside, { recursive: true, force: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(join(outside, "f"), "outside, not to be touched\n");
  fs.writeFileSync(join(outside, "secret"), `${SECRET}\n`);
}

function outsideUntouched(): void {
  expect(fs.readdirSync(outside).sort()).toEqual(["f", "secret"]);
  expect(fs.readFileSync(join(outside, "f"), "latin1")).toBe("outside, not to be touched\n");
}

/** Each daemon's answer to the same client command (`url` gives the module's URL). */
async function both(args: (url: string) => string[]): Promise<Record<(typeof KINDS)[number], RunResult>> {
  const out = {} as Record<(typeof KINDS)[number], RunResult>;
  for (const kind of KINDS) {
    resetOutside();
    fs.rmSync(join(work, "pulled"), { recursive: true, force: true });
    out[kind] = await runRsync(args(daemons[kind]!.url("mod")));
    outsideUntouched();
    expect(out[kind].stdout + out[kind].stderr).not.toContain("SECRET-HASH");
  }
  return out;
}

describe("a chroot-less module keeps the client's paths inside it", () => {
  test("--partial-dir climbing out of the destination", async () => {
    const r = await both((url) => ["-a", "--partial-dir=../outside", "--no-whole-file", `${src}/`, url]);
    expect(r.ours.code).toBe(r.upstream.code);
    for (const kind of KINDS) expect(fs.readFileSync(join(modules[kind]!, "f"), "latin1")).toBe("new content\n");
  });

  test("an absolute --partial-dir", async () => {
    const r = await both((url) => ["-a", `--partial-dir=${outside}`, "--no-whole-file", `${src}/`, url]);
    expect(r.ours.code).toBe(r.upstream.code);
  });

  test("an absolute --temp-dir: under the module's directory, where it is missing", async () => {
    const r = await both((url) => ["-a", `--temp-dir=${outside}`, `${src}/`, url]);
    expect(r.upstream.code).not.toBe(0);
    expect(r.ours.code).toBe(r.upstream.code);
    const said = (x: RunResult) => x.stderr.split("\n").find((l) => l.includes("temp-dir"));
    expect(said(r.ours)?.replace(modules.ours!, "MODULE")).toBe(said(r.upstream)!.replace(modules.upstream!, "MODULE"));
  });

  test("a per-directory merge file named by an absolute path", async () => {
    // In the module's parent directory: a dir-merge rule's file is read in each directory from the one it names down
    // to the transfer's. Upstream looks for it under the module's directory and fails; ours reads none outside it.
    fs.writeFileSync(join(work, "rules"), `${SECRET}\n`);
    await both((url) => ["-a", `--filter=dir-merge ${join(work, "rules")}`, url, join(work, "pulled")]);
  });

  test("a --files-from list the daemon is to read outside the module", async () => {
    const r = await both((url) => ["-a", `--files-from=:${join(outside, "secret")}`, url, join(work, "pulled")]);
    expect(r.upstream.code).not.toBe(0);
    const said = (x: RunResult, module: string) => normalizeErrors(x.stderr).split("\n")[0]!.replace(module, "MODULE");
    expect(said(r.ours, modules.ours!)).toBe(said(r.upstream, modules.upstream!));
  });

  test("a --files-from list inside the module is read, as upstream's daemon reads it", async () => {
    const got: Record<string, string[]> = {};
    for (const kind of KINDS) {
      fs.writeFileSync(join(modules[kind]!, "f"), "in the module\n");
      fs.writeFileSync(join(modules[kind]!, "g"), "not listed\n");
      fs.writeFileSync(join(modules[kind]!, "list"), "f\n# a comment\n");
      const dest = join(work, `listed-${kind}`);
      const r = await runRsync(["-a", "--files-from=:/list", daemons[kind]!.url("mod"), `${dest}/`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      got[kind] = fs.readdirSync(dest).sort();
    }
    expect(got.ours).toEqual(got.upstream!);
    expect(got.ours).toEqual(["f"]);
  });
});
