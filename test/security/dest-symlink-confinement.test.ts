/**
 * The receiver resolves names inside its destination, as upstream 3.5.0's
 * does (syscall.c secure_relative_open): with --keep-dirlinks a destination
 * symlink standing for a directory of the list is followed only when its
 * target is relative and stays inside the destination; an absolute one, or
 * one climbing out, fails ("failed to stat ...: Too many levels of symbolic
 * links (40)", code 23) and nothing is written where it points.
 * --insecure-links follows them all, as upstream's does; so does a
 * chroot-less daemon module with "insecure links = yes" (and only it: a
 * client's --insecure-links is refused). Checked against upstream on the
 * same trees: exit code, error lines, both trees.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, stopDaemons, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { snapshot } from "../helpers/tree.ts";

const KINDS = ["upstream", "ours"] as const;
let work: string;
const daemons: Partial<Record<(typeof KINDS)[number], RunningDaemon>> = {};
/** A chroot-less module's root, by daemon kind and module ("strict", or "loose": "insecure links = yes"). */
const moduleRoot = (kind: string, module: string) => join(work, `module-${kind}-${module}`);

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-dest-confine-"));
  for (const kind of KINDS) {
    const params = { "read only": "no", "use chroot": "no", uid: "0", gid: "0" };
    for (const module of ["strict", "loose"]) fs.mkdirSync(moduleRoot(kind, module));
    daemons[kind] = await startDaemon(kind, [
      { name: "strict", path: moduleRoot(kind, "strict"), params },
      { name: "loose", path: moduleRoot(kind, "loose"), params: { ...params, "insecure links": "yes" } },
    ]);
  }
});

afterAll(async () => {
  await stopDaemons(...Object.values(daemons));
  fs.rmSync(work, { recursive: true, force: true });
});

/** Where dst/sub points, by the root of the case's tree. */
const LINKS: Record<string, (root: string) => string> = {
  "absolute, outside": (root) => join(root, "outside"),
  "absolute, inside": (root) => join(root, "dst/real"),
  "relative, inside": () => "real",
  "relative, climbing out": () => "../outside",
  "relative, out and back in": () => "../dst/real",
};

async function outcome(who: "upstream" | "ours", name: string, extra: string[]) {
  const root = join(work, `${name.replace(/\W+/g, "-")}${extra.join("")}-${who}`);
  fs.mkdirSync(join(root, "src/sub"), { recursive: true });
  fs.writeFileSync(join(root, "src/sub/f"), "from the source\n");
  // With -a the directory's permissions are set: never on the directory outside.
  fs.chmodSync(join(root, "src/sub"), 0o700);
  fs.mkdirSync(join(root, "outside"));
  fs.mkdirSync(join(root, "dst/real"), { recursive: true });
  fs.symlinkSync(LINKS[name]!(root), join(root, "dst/sub"));
  const r = await (who === "upstream" ? runRsync : runOc)([...extra, `${root}/src/`, `${root}/dst/`]);
  const seen = {
    code: r.code,
    stderr: normalizeErrors(r.stderr).replaceAll("oc-rsync", "rsync"),
    outside: snapshot(join(root, "outside"), { ignoreTimes: true }),
    dst: snapshot(join(root, "dst"), { ignoreRoot: true, ignoreTimes: true }),
  };
  // Messages and absolute link targets name the case's own tree.
  return JSON.parse(JSON.stringify(seen).replaceAll(root, "ROOT"));
}

describe("--keep-dirlinks through a destination symlink", () => {
  for (const flags of ["-rK", "-aK"]) {
    for (const name of Object.keys(LINKS)) {
      test(`${flags}, ${name}`, async () => {
        const up = await outcome("upstream", name, [flags]);
        const ours = await outcome("ours", name, [flags]);
        expect(ours).toEqual(up);
        // Nothing ever lands outside the destination, nor is changed there.
        expect(ours.outside).toEqual(up.outside);
        expect(Object.keys(ours.outside)).toEqual(["."]);
      });
    }
  }

  test("--insecure-links follows an absolute symlink out, as upstream's does", async () => {
    const up = await outcome("upstream", "absolute, outside", ["-aK", "--insecure-links"]);
    const ours = await outcome("ours", "absolute, outside", ["-aK", "--insecure-links"]);
    expect(ours).toEqual(up);
    expect(Object.keys(ours.outside)).toEqual([".", "f"]);
  });
});

describe("a receiving daemon's module holding a symlink out of it", () => {
  for (const module of ["strict", "loose"]) {
    test(`-rK push into a chroot-less module (${module === "loose" ? '"insecure links = yes"' : "default"})`, async () => {
      const seen: Record<string, unknown> = {};
      for (const kind of KINDS) {
        const root = moduleRoot(kind, module);
        const outside = join(work, `outside-${kind}-${module}`);
        const src = join(work, `src-${kind}-${module}`);
        fs.mkdirSync(join(src, "sub"), { recursive: true });
        fs.writeFileSync(join(src, "sub/f"), "pushed\n");
        fs.mkdirSync(outside);
        fs.symlinkSync(outside, join(root, "sub"));
        const r = await runRsync(["-rK", `${src}/`, daemons[kind]!.url(module)]);
        seen[kind] = JSON.parse(
          JSON.stringify({ code: r.code, stderr: normalizeErrors(r.stderr), outside: snapshot(outside, { ignoreTimes: true }) })
            .replaceAll(root, "ROOT")
            .replaceAll(outside, "OUTSIDE"),
        );
      }
      expect(seen.ours).toEqual(seen.upstream);
      expect(Object.keys((seen.ours as { outside: object }).outside)).toEqual(module === "loose" ? [".", "f"] : ["."]);
    });
  }
});
