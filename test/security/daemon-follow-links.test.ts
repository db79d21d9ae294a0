/**
 * A client's -L, --copy-dirlinks and --copy-unsafe-links against a chroot-less
 * daemon module ("use chroot = no"). Upstream 3.5.0 honours them there,
 * confined to the module: the list's stats follow the links as a local
 * transfer's do, a directory is walked only inside the module (flist.c
 * secure_opendir: `opendir "od" (in mod) failed: Too many levels of symbolic
 * links (40)` for one leading out), and a file's content is opened inside it,
 * symlinks that stay in the module followed and those leading out refused
 * (sender.c sender_open_copylinks_confined: `send_files failed to open "o"
 * (in mod): Too many levels of symbolic links (40)`, code 23). A client's path
 * through a symlink is followed the same way (change_dir, -R's link_stat).
 *
 * Upstream's client pulls the same module from upstream's daemon and ours:
 * exit code, error lines and resulting tree must agree, and nothing from
 * outside the module may reach the client. A push with -L is the client's
 * business: both daemons store what it sent alike.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, stopDaemons, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runRsync, type RunResult } from "../helpers/run.ts";

const KINDS = ["upstream", "ours"] as const;
type Kind = (typeof KINDS)[number];

let work: string;
let module: string;
const daemons: Partial<Record<Kind, RunningDaemon>> = {};
/** The writable modules pushes go to, one per daemon. */
const pushModule = (kind: Kind) => join(work, `push-${kind}`);

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-daemon-follow-"));
  module = join(work, "mod");
  const out = join(work, "out");
  fs.mkdirSync(join(module, "sub"), { recursive: true });
  fs.mkdirSync(join(module, "x"));
  fs.mkdirSync(join(out, "sd"), { recursive: true });
  fs.writeFileSync(join(module, "f"), "f\n");
  fs.writeFileSync(join(module, "sub", "x"), "x\n");
  fs.writeFileSync(join(out, "s"), "SECRET-FILE\n");
  fs.writeFileSync(join(out, "sd", "y"), "SECRET-DIR\n");
  fs.symlinkSync("f", join(module, "l")); // a file inside
  fs.symlinkSync("sub", join(module, "dl")); // a directory inside
  fs.symlinkSync("../sub/x", join(module, "sub", "up")); // inside, by way of ".."
  fs.symlinkSync("../sub", join(module, "x", "dl2")); // a directory inside, by way of ".."
  fs.symlinkSync(join(out, "s"), join(module, "o")); // a file outside, absolute
  fs.symlinkSync(join(out, "sd"), join(module, "od")); // a directory outside, absolute
  fs.symlinkSync("../out/s", join(module, "ro")); // a file outside, relative
  fs.symlinkSync("../out/sd", join(module, "rod")); // a directory outside, relative
  fs.symlinkSync("../mod/f", join(module, "ul")); // back inside, but by way of outside
  fs.symlinkSync("nothing", join(module, "dang")); // dangling
  fs.symlinkSync("../out/gone", join(module, "god")); // dangling, outside
  for (const kind of KINDS) {
    fs.mkdirSync(pushModule(kind));
    const params = { "use chroot": "no", uid: "0", gid: "0" };
    daemons[kind] = await startDaemon(kind, [
      { name: "mod", path: module, params: { ...params, "read only": "yes" } },
      { name: "push", path: pushModule(kind), params: { ...params, "read only": "no" } },
    ]);
  }
});

afterAll(async () => {
  await stopDaemons(...Object.values(daemons));
  fs.rmSync(work, { recursive: true, force: true });
});

/** `dir`'s entries as "type path" lines: a file with its text, a symlink with its target. */
function tree(dir: string): string[] {
  const lines: string[] = [];
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(join(dir, path));
      if (st.isSymbolicLink()) lines.push(`l ${path} -> ${fs.readlinkSync(join(dir, path))}`);
      else if (st.isDirectory()) {
        lines.push(`d ${path}`);
        walk(path);
      } else lines.push(`f ${path} ${fs.readFileSync(join(dir, path), "latin1").trimEnd()}`);
    }
  };
  if (fs.existsSync(dir)) walk("");
  return lines;
}

/**
 * Exit code, error lines (sorted: upstream's come from two processes) and
 * tree. Upstream's daemon ends a transfer it refused at the start by closing
 * the socket, which its client may notice first ("read error: Connection
 * reset by peer"): a matter of timing, left out.
 */
function outcome(r: RunResult, dest: string) {
  const errors = normalizeErrors(r.stderr.replaceAll(dest, "DEST"))
    .split("\n")
    .filter((l) => l && !l.includes("Connection reset by peer"))
    .sort();
  return { code: r.code, errors, tree: tree(dest) };
}

async function pullFrom(kind: Kind, args: string[], path: string) {
  const dest = join(work, `dest-${kind}`);
  fs.rmSync(dest, { recursive: true, force: true });
  const r = await runRsync([...args, daemons[kind]!.url("mod", path), `${dest}/`]);
  expect(r.stdout + r.stderr).not.toContain("SECRET");
  expect(tree(dest).join("\n")).not.toContain("SECRET");
  return outcome(r, dest);
}

async function bothPull(args: string[], path: string) {
  const upstream = await pullFrom("upstream", args, path);
  const ours = await pullFrom("ours", args, path);
  expect(ours).toEqual(upstream);
  return upstream;
}

describe("a whole chroot-less module pulled", () => {
  test("-L: links inside followed, those leading out refused at their open or walk (code 23)", async () => {
    const r = await bothPull(["-aL"], "");
    expect(r.code).toBe(23);
    // (What upstream gives, as the brief of this test has it.)
    expect(r.tree).toEqual(["d dl", "f dl/up x", "f dl/x x", "f f f", "f l f", "d od", "d rod", "d sub", "f sub/up x", "f sub/x x", "d x", "d x/dl2", "f x/dl2/up x", "f x/dl2/x x"]);
    expect(r.errors).toContain('rsync: [sender] send_files failed to open "o" (in mod): Too many levels of symbolic links (40)');
    expect(r.errors).toContain('rsync: [sender] send_files failed to open "ul" (in mod): Too many levels of symbolic links (40)');
    expect(r.errors).toContain('rsync: [sender] opendir "od" (in mod) failed: Too many levels of symbolic links (40)');
  });

  test("--copy-unsafe-links: the unsafe ones followed, and refused where they leave the module", async () => {
    const r = await bothPull(["-a", "--copy-unsafe-links"], "");
    expect(r.code).toBe(23);
    expect(r.tree).toContain("l l -> f");
    expect(r.errors).toContain('rsync: [sender] send_files failed to open "ro" (in mod): Too many levels of symbolic links (40)');
  });

  test("--copy-dirlinks: directories inside followed, one leading out refused at its walk", async () => {
    const r = await bothPull(["-a", "--copy-dirlinks"], "");
    expect(r.code).toBe(23);
    expect(r.tree).toContain("f dl/x x");
    expect(r.tree).toContain(`l o -> ${join(work, "out", "s")}`);
  });

  test("-a: links sent as links", async () => {
    const r = await bothPull(["-a"], "");
    expect(r.code).toBe(0);
    expect(r.tree).toContain("l dl -> sub");
  });

  test("-L with -R and --no-inc-recursive: the same", async () => {
    await bothPull(["-aLR", "--no-inc-recursive"], "./");
  });
});

describe("a client's path to a link or through one", () => {
  const CASES: [string[], string][] = [
    [["-aL"], "l"],
    [["-aL"], "o"],
    [["-aL"], "dl"],
    [["-aL"], "od"],
    [["-aL"], "rod/"],
    [["-aL"], "dl/"],
    [["-aL"], "dl/x"],
    [["-aL"], "sub/up"],
    [["-aL"], "x/dl2/x"],
    [["-a", "--copy-unsafe-links"], "ro"],
    [["-a", "--copy-unsafe-links"], "ul"],
    [["-a", "--copy-dirlinks"], "dl"],
    [["-a", "--copy-dirlinks"], "od"],
    [["-a"], "dl/x"],
    [["-a"], "dl/"],
    [["-a"], "od/"],
    [["-a"], "od/y"],
    [["-a"], "god/"],
    [["-a"], "gone/x"],
    [["-aL"], "god"],
    [["-aR"], "dl/x"],
    [["-aR"], "od/y"],
    [["-aR"], "god/y"],
    [["-aLR"], "dl/x"],
    [["-aLR"], "ro"],
    [["-aLR"], "od"],
  ];
  for (const [args, path] of CASES) {
    test(`${args.join(" ")} mod/${path}`, async () => {
      await bothPull(args, path);
    });
  }
});

describe("--files-from relative to a directory of the module", () => {
  test("one whose path leads out of the module is refused (change_dir, code 3)", async () => {
    const list = join(work, "list");
    fs.writeFileSync(list, "y\n");
    const r = await bothPull(["-a", `--files-from=${list}`], "od/");
    expect(r.code).toBe(3);
  });
});

describe("a push with -L into a chroot-less module", () => {
  test("the client followed the links: both daemons store what it sent alike", async () => {
    const src = join(work, "push-src");
    fs.mkdirSync(join(src, "d"), { recursive: true });
    fs.writeFileSync(join(src, "d", "file"), "pushed\n");
    fs.symlinkSync("d/file", join(src, "inside"));
    fs.symlinkSync(join(work, "out", "s"), join(src, "outside"));
    fs.symlinkSync(join(work, "out", "sd"), join(src, "outside-dir"));
    const got: Partial<Record<Kind, unknown>> = {};
    for (const kind of KINDS) {
      const r = await runRsync(["-aL", `${src}/`, daemons[kind]!.url("push", "dest/")]);
      const l = await runRsync(["-a", `${src}/`, daemons[kind]!.url("push", "links/")]);
      got[kind] = { code: r.code, linksCode: l.code, stderr: normalizeErrors(r.stderr + l.stderr), tree: tree(pushModule(kind)) };
    }
    expect(got.ours).toEqual(got.upstream);
    expect(tree(pushModule("ours"))).toContain("f dest/outside SECRET-FILE");
  });
});
