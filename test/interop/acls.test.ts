/**
 * -A/--acls against upstream: the ACLs (system.posix_acl_access/default, as
 * the kernel keeps them) and modes a copy leaves, its -i lines and exit
 * code, compared with upstream's client doing the same, in a local copy, a
 * pull and a push through upstream's daemon, and upstream's client pulling
 * from and pushing to our daemon. The trees have named users and groups
 * (one with a name here, others without), masks, default ACLs, and a
 * destination whose ACLs partly differ. ACLs are set and read in their
 * binary attribute form with Python (tests run as root).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { startBothDaemons, stopDaemons, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { maskFigures, normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";

let work: string;
let upstream: RunningDaemon;
let ours: RunningDaemon;

/** Python with `acl(path, kind, entries)`: entries as (tag, perm, id) in the kernel's form (tags 1 user_obj, 2 user, 4 group_obj, 8 group, 16 mask, 32 other). */
function py(root: string, code: string): string {
  const prelude = `import os, struct
U = 0xffffffff
def acl(path, kind, entries):
    data = struct.pack('<I', 2) + b''.join(struct.pack('<HHI', t, p, i) for t, p, i in entries)
    os.setxattr(path, 'system.posix_acl_' + kind, data)
`;
  const r = spawnSync("python3", ["-c", `${prelude}${code}`], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

/** Every entry's mode and ACL attributes (hex), without following symlinks. */
function acls(root: string): string[] {
  const out = py(
    root,
    `
for dp, dns, fns in os.walk('.'):
    for n in ['.'] + dns + fns:
        p = dp if n == '.' else os.path.join(dp, n)
        if n != '.' and os.path.isdir(p) and not os.path.islink(p): continue
        line = [os.path.normpath(p), oct(os.lstat(p).st_mode)]
        for x in ['system.posix_acl_access', 'system.posix_acl_default', 'user.rsync.%aacl', 'user.rsync.%dacl']:
            try: line.append(x + '=' + os.getxattr(p, x, follow_symlinks=False).hex())
            except OSError: pass
        print(' '.join(line))
`,
  );
  return out.split("\n").filter(Boolean).sort();
}

/** uid 1000 has a name here (the test image's first user); 1234/5678 have none. */
function makeSource(src: string): void {
  fs.mkdirSync(join(src, "dir/sub"), { recursive: true });
  fs.mkdirSync(join(src, "plaindir"));
  for (const name of ["named", "masked", "plain", "same1", "same2", "dir/inner", "dir/sub/deep"]) fs.writeFileSync(join(src, name), `${name}\n`);
  fs.chmodSync(join(src, "masked"), 0o740);
  fs.symlinkSync("plain", join(src, "link"));
  py(
    src,
    `
acl('named', 'access', [(1, 6, U), (2, 6, 1000), (2, 4, 1234), (4, 4, U), (8, 5, 5678), (16, 6, U), (32, 4, U)])
acl('masked', 'access', [(1, 7, U), (2, 4, 1234), (4, 0, U), (16, 4, U), (32, 0, U)])
for f in ['same1', 'same2', 'dir/sub/deep']:
    acl(f, 'access', [(1, 6, U), (2, 7, 1234), (4, 4, U), (16, 7, U), (32, 4, U)])
acl('dir', 'access', [(1, 7, U), (4, 5, U), (8, 7, 5678), (16, 7, U), (32, 5, U)])
acl('dir', 'default', [(1, 7, U), (2, 5, 1000), (4, 5, U), (16, 5, U), (32, 5, U)])
acl('dir/sub', 'default', [(1, 7, U), (4, 0, U), (32, 0, U)])
`,
  );
  ageTree(src, 1_500_000_000);
}

/** The same files (data, times) with ACLs partly the same, partly other, partly missing or extra. */
function makeOldDest(src: string, dest: string): void {
  expect(spawnSync("rsync", ["-a", `${src}/`, `${dest}/`]).status).toBe(0);
  py(
    dest,
    `
acl('named', 'access', [(1, 6, U), (2, 6, 1000), (2, 4, 1234), (4, 4, U), (8, 5, 5678), (16, 6, U), (32, 4, U)])
acl('masked', 'access', [(1, 7, U), (2, 7, 1234), (4, 0, U), (16, 7, U), (32, 0, U)])
acl('plain', 'access', [(1, 6, U), (2, 7, 99), (4, 4, U), (16, 7, U), (32, 4, U)])
acl('same2', 'access', [(1, 6, U), (2, 7, 1234), (4, 4, U), (16, 7, U), (32, 4, U)])
acl('dir', 'default', [(1, 7, U), (4, 5, U), (32, 5, U)])
acl('plaindir', 'default', [(1, 7, U), (4, 5, U), (32, 5, U)])
os.chmod('plain', 0o600)
`,
  );
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-acls-"));
  makeSource(join(work, "src"));
  fs.mkdirSync(join(work, "w"));
  fs.mkdirSync(join(work, "fw"));
  const modules: ModuleConfig[] = [
    { name: "src", path: join(work, "src"), params: { uid: "0", gid: "0" } },
    { name: "w", path: join(work, "w"), params: { "read only": "no", uid: "0", gid: "0" } },
    { name: "fw", path: join(work, "fw"), params: { "read only": "no", uid: "0", gid: "0", "fake super": "yes" } },
    { name: "faked", path: join(work, "fw"), params: { uid: "0", gid: "0", "fake super": "yes" } },
  ];
  ({ upstream, ours } = await startBothDaemons(modules));
});

afterAll(async () => {
  await stopDaemons(upstream, ours);
  fs.rmSync(work, { recursive: true, force: true });
});

const lines = (text: string, dest: string) =>
  maskFigures(text).replaceAll(dest, "DEST").replaceAll(basename(dest), "DEST").split("\n").filter(Boolean).sort();

type Mode = "local" | "pull" | "push" | "daemon-pull" | "daemon-push";
const MODES: Mode[] = ["local", "pull", "push", "daemon-pull", "daemon-push"];
let serial = 0;

async function compare(mode: Mode, args: string[], opts: { prepare?: (dest: string) => void; module?: string; source?: string } = {}) {
  const pushing = mode === "push" || mode === "daemon-push";
  const module = opts.module ?? "w";
  const base = pushing ? join(work, module) : work;
  const name = `${mode}-${serial++}`;
  const mine = join(base, `${name}-ours`);
  const theirs = join(base, `${name}-theirs`);
  opts.prepare?.(mine);
  opts.prepare?.(theirs);
  const src = join(work, "src");
  const runMine = mode === "local" || mode === "pull" || mode === "push" ? runOc : runRsync;
  const mineDaemon = mode.startsWith("daemon") ? ours : upstream;
  const from = (d: RunningDaemon) => (mode === "pull" || mode === "daemon-pull" ? d.url(opts.source ?? "src", "") : `${src}/`);
  const to = (d: RunningDaemon, dest: string) => (pushing ? d.url(module, `${basename(dest)}/`) : `${dest}/`);
  const a = await runMine([...args, from(mineDaemon), to(mineDaemon, mine)]);
  const b = await runRsync([...args, from(upstream), to(upstream, theirs)]);
  expect(normalizeErrors(a.stderr).replaceAll(mine, "DEST")).toBe(normalizeErrors(b.stderr).replaceAll(theirs, "DEST"));
  expect(a.code).toBe(b.code);
  expect(lines(a.stdout, mine)).toEqual(lines(b.stdout, theirs));
  const got = acls(mine);
  expect(got).toEqual(acls(theirs));
  expect(snapshot(mine, { ignoreDirTimes: true })).toEqual(snapshot(theirs, { ignoreDirTimes: true }));
  return { got, stdout: a.stdout };
}

const has = (got: string[], name: string, attr: string) => got.some((l) => l.startsWith(`${name} `) && l.includes(`${attr}=`));

describe("-A copies ACLs as upstream does", () => {
  for (const mode of MODES) {
    test(`a new tree: ${mode}`, async () => {
      const { got } = await compare(mode, ["-aAi"]);
      expect(has(got, "named", "system.posix_acl_access")).toBe(true);
      expect(has(got, "dir", "system.posix_acl_default")).toBe(true);
      expect(has(got, "dir/sub/deep", "system.posix_acl_access")).toBe(true);
      expect(has(got, "plain", "system.posix_acl_access")).toBe(false);
    });
    test(`a destination with partly different ACLs (a in the item lines): ${mode}`, async () => {
      const { got, stdout } = await compare(mode, ["-aAi"], { prepare: (d) => makeOldDest(join(work, "src"), d) });
      expect(stdout).toContain("a. masked");
      expect(has(got, "plain", "system.posix_acl_access")).toBe(false);
      expect(has(got, "plaindir", "system.posix_acl_default")).toBe(false);
    });
  }
  for (const mode of MODES) {
    test(`-A without -o and -g: the id lists still carry the ACLs' names (uidlist.c send_id_lists): ${mode}`, async () => {
      await compare(mode, ["-rtAi", "--no-i-r"], { prepare: (d) => makeOldDest(join(work, "src"), d) });
      await compare(mode, ["-rtAi"]);
    });
  }
  for (const mode of ["local", "pull", "push"] as const) {
    test(`--numeric-ids, no incremental recursion (names in the id lists), a dry run: ${mode}`, async () => {
      await compare(mode, ["-aAi", "--numeric-ids"], { prepare: (d) => makeOldDest(join(work, "src"), d) });
      await compare(mode, ["-aAi", "--no-i-r"], { prepare: (d) => makeOldDest(join(work, "src"), d) });
      await compare(mode, ["-aAni"], { prepare: (d) => makeOldDest(join(work, "src"), d) });
    });
    test(`-A with -X (ACLs are not copied as xattrs too): ${mode}`, async () => {
      await compare(mode, ["-aAXi"], { prepare: (d) => makeOldDest(join(work, "src"), d) });
    });
  }
  for (const mode of ["local", "push", "daemon-push"] as const) {
    test(`--fake-super (or a "fake super" module) keeps ACLs in user.rsync.%aacl/%dacl: ${mode}`, async () => {
      const { got } = await compare(mode, mode === "local" ? ["-aAi", "--fake-super"] : ["-aAi"], { module: "fw" });
      // A local copy fakes on the sending side too: it reads ACLs from those attributes, which the source lacks.
      expect(has(got, "named", "user.rsync.%aacl")).toBe(mode !== "local");
      expect(has(got, "named", "system.posix_acl_access")).toBe(false);
    });
  }
  for (const mode of ["pull", "daemon-pull"] as const) {
    test(`a "fake super" module sends the ACLs it keeps in those attributes: ${mode}`, async () => {
      const { got } = await compare(mode, ["-aAi"], { source: "faked" });
      expect(got.some((l) => /theirs\/named .*system\.posix_acl_access=/.test(l))).toBe(true);
    });
  }
  for (const mode of MODES) {
    test(`without -p a new file's permissions come from its directory's default ACL, not the umask (even without -A): ${mode}`, async () => {
      const prepare = (dest: string) => {
        fs.mkdirSync(join(dest, "dir"), { recursive: true });
        py(dest, "acl('.', 'default', [(1, 7, U), (4, 0, U), (32, 0, U)])\nacl('dir', 'default', [(1, 6, U), (2, 7, 1234), (4, 5, U), (16, 5, U), (32, 4, U)])");
      };
      const { got } = await compare(mode, ["-rti"], { prepare });
      expect(got).toContain("plain 0o100600");
    });
  }
  for (const direction of ["pull", "push"] as const) {
    test(`upstream's client with our --server over a remote shell: ${direction}`, async () => {
      const rsh = join(work, "rsh");
      if (!fs.existsSync(rsh)) writeFakeRsh(rsh);
      const src = join(work, "src");
      const mine = join(work, `rsh-${direction}-ours`);
      const theirs = join(work, `rsh-${direction}-theirs`);
      makeOldDest(src, mine);
      makeOldDest(src, theirs);
      const main = join(import.meta.dir, "../../src/main.ts");
      const at = (p: string) => `localhost:${p}/`;
      const a = await runRsync(["-aAi", "-e", rsh, `--rsync-path=${process.execPath} ${main}`, direction === "pull" ? at(src) : `${src}/`, direction === "pull" ? `${mine}/` : at(mine)]);
      const b = await runRsync(["-aAi", "-e", rsh, direction === "pull" ? at(src) : `${src}/`, direction === "pull" ? `${theirs}/` : at(theirs)]);
      expect(a.stderr).toBe(b.stderr);
      expect(a.code).toBe(b.code);
      expect(lines(a.stdout, mine)).toEqual(lines(b.stdout, theirs));
      expect(acls(mine)).toEqual(acls(theirs));
    });
  }
  test("a remote transfer below protocol 30 is refused", async () => {
    const a = await runOc(["-aA", "--protocol=29", `${join(work, "src")}/`, upstream.url("w", "p29/")]);
    const b = await runRsync(["-aA", "--protocol=29", `${join(work, "src")}/`, upstream.url("w", "p29/")]);
    expect(a.code).toBe(b.code);
    expect(a.stderr).toContain("--acls requires protocol 30 or higher");
  });
});
