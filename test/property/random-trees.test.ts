/**
 * fast-check: random trees and random edits, pulled from an upstream
 * daemon by oc-rsync and by upstream's client, must always leave identical
 * trees and print identical itemized changes.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import fc from "fast-check";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimes } from "../../src/fs/libc.ts";
import { startUpstreamDaemon, type RunningDaemon } from "../helpers/daemon.ts";
import { runOc, runRsync } from "../helpers/run.ts";
import { snapshot } from "../helpers/tree.ts";

type Node =
  | { kind: "file"; size: number; seed: number; mode: number; mtime: number }
  | { kind: "link"; target: string }
  | { kind: "dir"; children: Record<string, Node>; mtime: number };

const nameArb = fc.constantFrom("a", "b", "c", "d.txt", "e-e", "f f", "G", "h.o", "ı", "j~", "k", "l.tar.gz");

const fileArb = fc.record({
  kind: fc.constant("file" as const),
  size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 3000, max: 200_000 })),
  seed: fc.integer({ min: 1, max: 1000 }),
  mode: fc.constantFrom(0o644, 0o755, 0o604),
  mtime: fc.integer({ min: 1_000_000_000, max: 1_700_000_000 }),
});
const linkArb = fc.record({ kind: fc.constant("link" as const), target: fc.constantFrom("a", "../x", "/etc/hostname", "b/c") });

const treeArb: fc.Arbitrary<Node> = fc.letrec<{ node: Node; dir: Node }>((tie) => ({
  node: fc.oneof({ depthSize: "small", withCrossShrink: true }, fileArb, linkArb, tie("dir")),
  dir: fc.record({
    kind: fc.constant("dir" as const),
    children: fc.dictionary(nameArb, tie("node"), { maxKeys: 5 }),
    mtime: fc.integer({ min: 1_000_000_000, max: 1_700_000_000 }),
  }),
})).dir;

function content(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function materialize(path: string, node: Node): void {
  if (node.kind === "file") {
    fs.writeFileSync(path, content(node.size, node.seed));
    fs.chmodSync(path, node.mode);
    setTimes(path, node.mtime, 0, false);
  } else if (node.kind === "link") {
    fs.symlinkSync(node.target, path);
    // A link made now would share the second of the pull (upstream compares whole seconds).
    setTimes(path, 1_300_000_000, 0, true);
  } else {
    fs.mkdirSync(path, { recursive: true });
    for (const [name, child] of Object.entries(node.children)) materialize(join(path, name), child);
    setTimes(path, node.mtime, 0, false);
  }
}

/** A random edit of the tree: content, mode, time, removal, addition. */
function edit(node: Node, seed: number): Node {
  if (node.kind !== "dir") return node;
  const children: Record<string, Node> = {};
  let i = 0;
  for (const [name, child] of Object.entries(node.children)) {
    const pick = (seed + i++ * 7) % 6;
    if (pick === 0) continue; // removed
    if (child.kind === "file" && pick === 1) children[name] = { ...child, seed: child.seed + 1 };
    else if (child.kind === "file" && pick === 2) children[name] = { ...child, mode: child.mode === 0o644 ? 0o755 : 0o644 };
    else if (child.kind === "file" && pick === 3) children[name] = { ...child, size: child.size + 5000, mtime: child.mtime + 100 };
    else children[name] = edit(child, seed + i);
  }
  if (seed % 3 === 0) children["new"] = { kind: "file", size: 1234, seed, mode: 0o644, mtime: 1_600_000_000 };
  return { ...node, children, mtime: node.mtime + 1 };
}

let work: string;
let daemon: RunningDaemon;
const src = () => join(work, "src");

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-prop-"));
  fs.mkdirSync(src());
  daemon = await startUpstreamDaemon([{ name: "mod", path: src() }]);
});

afterAll(async () => {
  await daemon.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

let run = 0;

test("random trees and edits: oc-rsync and upstream always agree", async () => {
  await fc.assert(
    fc.asyncProperty(treeArb, fc.nat(1000), fc.constantFrom(["-ai"], ["-ai", "--delete"], ["-aic", "--delete"], ["-aiH"], ["-ai", "--protocol=29", "--delete"]), async (tree, seed, args) => {
      run++;
      fs.rmSync(src(), { recursive: true, force: true });
      materialize(src(), tree);
      const ours = join(work, `r${run}-oc`);
      const theirs = join(work, `r${run}-up`);
      const pull = async () => {
        const oc = await runOc([...args, daemon.url("mod"), `${ours}/`]);
        const up = await runRsync([...args, daemon.url("mod"), `${theirs}/`]);
        expect(oc.code).toBe(up.code);
        // Upstream prints deletions from its generator process and items from its receiver: their order is timing.
        const lines = (text: string, dest: string) => {
          const l = text.replaceAll(dest, "DEST").split("\n");
          return (args as readonly string[]).includes("--delete") ? l.sort() : l;
        };
        expect(lines(oc.stdout, ours)).toEqual(lines(up.stdout, theirs));
        expect(snapshot(ours, { ignoreRoot: true })).toEqual(snapshot(theirs, { ignoreRoot: true }));
      };
      await pull();
      fs.rmSync(src(), { recursive: true, force: true });
      materialize(src(), edit(tree, seed));
      await pull();
      fs.rmSync(ours, { recursive: true, force: true });
      fs.rmSync(theirs, { recursive: true, force: true });
    }),
    { numRuns: 12 },
  );
}, 600_000);
