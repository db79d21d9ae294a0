/**
 * A daemon module's own rules ("exclude", "include", "filter", "exclude
 * from"): upstream's client against our daemon and against upstream's with
 * the same configuration — what a pull lists, what a request for a hidden
 * name gets, what a push may not write, what --delete may not touch.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

let work: string;
const daemons: { ours: RunningDaemon | null; upstream: RunningDaemon | null } = { ours: null, upstream: null };

function write(root: string, files: string[]): void {
  for (const f of files) {
    fs.mkdirSync(join(root, f, ".."), { recursive: true });
    fs.writeFileSync(join(root, f), `${f}\n`);
  }
  ageTree(root, 1_450_000_000);
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-dfilters-"));
  write(join(work, "src"), ["a.txt", "b.o", "secret.key", "sub/c.txt", "sub/d.o", "sub/priv/p.txt", "logs/x.log", "logs/keep.log"]);
  fs.writeFileSync(join(work, "exclude.list"), "# the operator's list\n- *.log\n");
  for (const side of ["ours", "upstream"]) fs.mkdirSync(join(work, `w-${side}`), { recursive: true });
  const modules = (side: string): ModuleConfig[] => [
    {
      name: "m",
      path: join(work, "src"),
      params: { exclude: "*.o secret.key", "exclude from": join(work, "exclude.list"), include: "keep.log", filter: "- /sub/priv/" },
    },
    { name: "w", path: join(work, `w-${side}`), params: { "read only": "no", uid: "0", gid: "0", exclude: "*.o /top.txt sub/priv/" } },
  ];
  [daemons.ours, daemons.upstream] = await Promise.all([startDaemon("ours", modules("ours")), startDaemon("upstream", modules("upstream"))]);
});

afterAll(async () => {
  await Promise.all([daemons.ours?.stop(), daemons.upstream?.stop()]);
  fs.rmSync(work, { recursive: true, force: true });
});

const sorted = (text: string) => text.split("\n").filter(Boolean).sort();

async function both(args: (d: RunningDaemon, side: string) => string[]) {
  const a = await runRsync(args(daemons.ours!, "ours"));
  const b = await runRsync(args(daemons.upstream!, "upstream"));
  return { a, b };
}

describe("a module's rules, as upstream's daemon applies them", () => {
  for (const [name, extra] of [
    ["a pull lists only what they let through", ["-ai"]],
    ["a pull with --delete leaves hidden destination files alone", ["-ai", "--delete"]],
  ] as const) {
    test(name, async () => {
      const { a, b } = await both((d, side) => {
        const dest = join(work, `pull-${name.length}-${side}`);
        fs.mkdirSync(dest, { recursive: true });
        fs.writeFileSync(join(dest, "stray.o"), "stray\n");
        fs.writeFileSync(join(dest, "stray.txt"), "stray\n");
        ageTree(dest, 1_440_000_000);
        return [...extra, d.url("m"), `${dest}/`];
      });
      expect(a.code).toBe(b.code);
      expect(normalizeErrors(a.stderr)).toBe(normalizeErrors(b.stderr));
      expect(sorted(a.stdout)).toEqual(sorted(b.stdout));
      const n = name.length;
      expect(snapshot(join(work, `pull-${n}-ours`))).toEqual(snapshot(join(work, `pull-${n}-upstream`)));
    });
  }

  for (const path of ["secret.key", "sub/priv", "sub/d.o", "logs/x.log"]) {
    test(`asking for a hidden name (${path}) gets "not found", exit 23`, async () => {
      const { a, b } = await both((d, side) => ["-a", d.url("m", path), join(work, `hidden-${side}/`)]);
      expect(a.code).toBe(23);
      expect(a.code).toBe(b.code);
      expect(normalizeErrors(a.stderr)).toBe(normalizeErrors(b.stderr));
    });
  }

  test("a push: refused names are reported, the rest arrives, exit 23", async () => {
    const src = join(work, "push-src");
    write(src, ["top.txt", "k.o", "n.txt", "sub/priv/q", "sub/ok.txt"]);
    const { a, b } = await both((d) => ["-ai", `${src}/`, d.url("w")]);
    expect(a.code).toBe(23);
    expect(a.code).toBe(b.code);
    expect(sorted(a.stdout + a.stderr)).toEqual(sorted(b.stdout + b.stderr));
    expect(snapshot(join(work, "w-ours"), { ignoreDirTimes: true })).toEqual(snapshot(join(work, "w-upstream"), { ignoreDirTimes: true }));
  });
});
