/**
 * Transfers over a remote shell, in every pairing of client and server:
 * upstream's client with our `--server` (pull and push), our client with
 * upstream's `--server`, and ours with ours. Each is compared with upstream's
 * client and server doing the same transfer: the trees must be identical and
 * the client's output the same (framing-dependent figures masked).
 *
 * The remote shell is a script that drops "-l USER" and the host name and
 * runs the rest through `sh -c`, as ssh's remote end would.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { maskFigures, normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
/** The remote program line for our server ("--rsync-path"); the remote shell splits it. */
const OUR_SERVER = `${process.execPath} ${MAIN}`;

let work: string;
let rsh: string;

function buildSource(root: string): void {
  fs.mkdirSync(join(root, "dir/deeper"), { recursive: true });
  fs.mkdirSync(join(root, "empty-dir"));
  fs.writeFileSync(join(root, "small"), "hello\n");
  fs.writeFileSync(join(root, "empty"), "");
  fs.writeFileSync(join(root, "big"), Buffer.from(Array.from({ length: 40_000 }, (_, i) => `line ${i}\n`).join("")));
  fs.writeFileSync(join(root, "dir/a"), "a\n");
  fs.writeFileSync(join(root, "dir/deeper/b"), "b\n");
  fs.writeFileSync(join(root, "name with spaces & $x"), "quoted\n");
  fs.chmodSync(join(root, "dir/a"), 0o600);
  fs.symlinkSync("small", join(root, "link"));
  fs.linkSync(join(root, "small"), join(root, "hard"));
  for (let i = 0; i < 30; i++) fs.writeFileSync(join(root, "dir", `f${String(i).padStart(2, "0")}`), `file ${i}\n`);
  ageTree(root, 1_450_000_000);
}

/** Edits for a second run: a changed big file (a delta), a removed directory, a new file. */
function editSource(root: string): void {
  const big = fs.readFileSync(join(root, "big"), "utf8");
  fs.writeFileSync(join(root, "big"), big.replace("line 20000\n", "LINE 20000 CHANGED\n") + "tail\n");
  fs.writeFileSync(join(root, "small"), "changed!\n");
  fs.rmSync(join(root, "dir/deeper"), { recursive: true });
  fs.writeFileSync(join(root, "new-file"), "new\n");
  ageTree(root, 1_460_000_000);
}

beforeAll(() => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-rsh-"));
  rsh = join(work, "rsh");
  writeFakeRsh(rsh);
});

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});


/** Deletions reach a pushing client as messages: their place among the item lines is timing. */
const sorted = (text: string) => text.split("\n").sort().join("\n");

type Side = "ours" | "upstream";

interface Transfer {
  client: Side;
  server: Side;
  direction: "pull" | "push";
  args: string[];
  source: string;
  dest: string;
}

async function transfer(t: Transfer) {
  const serverPath = t.server === "ours" ? [`--rsync-path=${OUR_SERVER}`] : [];
  const args = [...t.args, "-e", rsh, ...serverPath];
  const [from, to] = t.direction === "pull" ? [`host:${t.source}`, t.dest] : [t.source, `host:${t.dest}`];
  const run = t.client === "ours" ? runOc : runRsync;
  return run([...args, from, to]);
}

interface Case {
  name: string;
  args: string[];
  /** A second run after editing the source (and adding a stray file to each destination). */
  resync?: boolean;
}

const CASES: Case[] = [
  { name: "-ai", args: ["-ai"] },
  { name: "-aiH --delete, then a delta resync", args: ["-aiH", "--delete"], resync: true },
  { name: "-av --stats", args: ["-av", "--stats"] },
  // A sender's %b counts the index and attributes it wrote, its %c the sums it read; a receiver's %b the data it read.
  { name: "--out-format with %f %b %c, then a delta resync", args: ["-a", "--delete", "--no-W", "--out-format=%o|%f|%n|%b|%c|%l"], resync: true },
  ...[27, 29, 30, 31].map((p) => ({ name: `-aiH at protocol ${p}, then a resync`, args: ["-aiH", "--delete", `--protocol=${p}`], resync: true })),
];

const PAIRINGS: [client: Side, server: Side][] = [
  ["upstream", "ours"],
  ["ours", "upstream"],
  ["ours", "ours"],
];

for (const direction of ["pull", "push"] as const) {
  describe(`${direction} over a remote shell matches upstream with upstream`, () => {
    CASES.forEach((c, i) => {
      PAIRINGS.forEach(([client, server], j) => {
        test(`${c.name}: ${client} client, ${server} server`, async () => {
          const base = join(work, `${direction}-${i}-${j}`);
          const src = join(base, "src");
          buildSource(src);
          const ours = join(base, "ours");
          const theirs = join(base, "theirs");
          const once = async () => {
            const a = await transfer({ client, server, direction, args: c.args, source: `${src}/`, dest: `${ours}/` });
            const b = await transfer({ client: "upstream", server: "upstream", direction, args: c.args, source: `${src}/`, dest: `${theirs}/` });
            expect(normalizeErrors(a.stderr)).toBe(normalizeErrors(b.stderr));
            expect(a.code).toBe(b.code);
            expect(sorted(maskFigures(a.stdout.replaceAll(ours, "DEST")))).toBe(sorted(maskFigures(b.stdout.replaceAll(theirs, "DEST"))));
            if (direction === "pull" || client === "upstream") {
              // The client prints as it goes: the order must match too, except for deletions and hard-link
              // followers, which upstream's client prints when its other process gets to them.
              const noDeletes = (t: string) => maskFigures(t).split("\n").filter((l) => !l.startsWith("*deleting") && !l.startsWith("del.") && !l.includes(" => ")).join("\n");
              expect(noDeletes(a.stdout.replaceAll(ours, "DEST"))).toBe(noDeletes(b.stdout.replaceAll(theirs, "DEST")));
            }
            expect(snapshot(ours)).toEqual(snapshot(theirs));
          };
          await once();
          if (c.resync) {
            editSource(src);
            fs.writeFileSync(join(ours, "stray"), "not in the source\n");
            fs.writeFileSync(join(theirs, "stray"), "not in the source\n");
            await once();
            expect(fs.existsSync(join(ours, "stray"))).toBe(false);
            expect(fs.readFileSync(join(ours, "big"), "utf8")).toContain("LINE 20000 CHANGED");
          }
        });
      });
    });
  });
}

describe("remote-shell command line", () => {
  test("-e with a user, quoted words and $RSYNC_RSH", async () => {
    const src = join(work, "cmd-src");
    buildSource(src);
    const logged = join(work, "cmd-args");
    // A shell that records its arguments, one per line, then behaves like the test shell.
    const recorder = join(work, "recording-rsh");
    fs.writeFileSync(recorder, `#!/bin/sh\nprintf '%s\\n' "$@" > ${logged}\nshift 2\nexec ${rsh} "$@"\n`, { mode: 0o755 });
    const dest = join(work, "cmd-dest");
    const r = await runOc(["-aH", "-e", `${recorder} -o 'Opt=a b'`, `someone@host:${src}/`, `${dest}/`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const argv = fs.readFileSync(logged, "utf8").split("\n");
    expect(argv.slice(0, 5)).toEqual(["-o", "Opt=a b", "-l", "someone", "host"]);
    expect(argv[5]).toBe("rsync");
    expect(argv.slice(-3)).toEqual([".", `${src}/`, ""]);
    expect(snapshot(dest)).toEqual(snapshot(src));

    // Without -e, $RSYNC_RSH names the shell.
    const dest2 = join(work, "cmd-dest2");
    const r2 = await runOc(["-aH", `host:${src}/`, `${dest2}/`], { env: { RSYNC_RSH: rsh } });
    expect(r2.code).toBe(0);
    expect(snapshot(dest2)).toEqual(snapshot(src));
  });

  test("a remote shell that cannot start fails as upstream's client does", async () => {
    const a = await runOc(["-a", "-e", join(work, "no-such-shell"), "host:/x/", join(work, "nowhere")]);
    const b = await runRsync(["-a", "-e", join(work, "no-such-shell"), "host:/x/", join(work, "nowhere")]);
    // Upstream exits 14 (its exec failed) or 12 (the pipe closed), whichever its two processes report first.
    expect([12, 14]).toContain(b.code);
    expect(a.code).toBe(14);
    expect(a.stderr).toContain(`Failed to exec ${join(work, "no-such-shell")}: No such file or directory (2)`);
  });
});
