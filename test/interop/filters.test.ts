/**
 * Filter rules against upstream, table-driven: each set of rules (and
 * deletion options) runs through oc-rsync and through upstream on the same
 * source and the same pre-filled destination — as a local copy, as our
 * client pulling from upstream's daemon, as upstream's client pulling from
 * our daemon, and as pushes both ways — and the trees, the item lines and
 * the exit codes must be the same.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

let work: string;
const daemons: { ours: RunningDaemon | null; upstream: RunningDaemon | null } = { ours: null, upstream: null };

function buildSource(root: string): void {
  for (const d of ["sub/deep", "logs", "build/obj", "docs", "a b"]) fs.mkdirSync(join(root, d), { recursive: true });
  const files: Record<string, string> = {
    "main.c": "int main;\n",
    "main.o": "obj\n",
    core: "core dump\n",
    "README.md": "readme\n",
    "sub/util.c": "util\n",
    "sub/util.o": "obj\n",
    "sub/deep/x.txt": "x\n",
    "sub/deep/y.o": "y\n",
    "logs/today.log": "log\n",
    "logs/old.log.1": "old\n",
    "build/obj/a.o": "a\n",
    "build/Makefile": "all:\n",
    "docs/index.html": "<p>\n",
    "docs/.hidden": "h\n",
    "a b/c d.txt": "spaces\n",
    "[br].txt": "brackets\n",
  };
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(join(root, name), text);
  fs.symlinkSync("main.c", join(root, "link.c"));
  // Per-directory merge files for -F and dir-merge rules.
  fs.writeFileSync(join(root, ".rsync-filter"), "- *.o\n+ keep.log\n- *.log\n");
  fs.writeFileSync(join(root, "sub/.rsync-filter"), "- /deep/y.o\n- util.c\n");
  fs.writeFileSync(join(root, "docs/.gitignore"), "*.html\n.hidden\n");
  fs.writeFileSync(join(root, "logs/keep.log"), "kept\n");
  fs.writeFileSync(join(root, "build/.cvsignore"), "Makefile\n");
  fs.writeFileSync(join(root, "docs/index.html~"), "backup\n");
  ageTree(root, 1_450_000_000);
}

/** What the destination holds before the run: extraneous files, some of them excluded or protected. */
function prefill(root: string): void {
  for (const d of ["sub", "logs", "stale/inner", "keep"]) fs.mkdirSync(join(root, d), { recursive: true });
  for (const name of ["extra.o", "extra.txt", "sub/old.o", "sub/old.c", "logs/gone.log", "stale/inner/s.o", "stale/s.txt", "keep/k.txt", "keep/k.o", "core"]) {
    fs.writeFileSync(join(root, name), `${name}\n`);
  }
  // The receiver's own merge files protect what they exclude from deletion.
  fs.writeFileSync(join(root, "stale/.gitignore"), "s.txt\n");
  fs.writeFileSync(join(root, "keep/.rsync-filter"), "- k.txt\n");
  ageTree(root, 1_440_000_000);
}

interface Case {
  name: string;
  args: string[];
}

const CASES: Case[] = [
  { name: "--exclude a suffix", args: ["--exclude=*.o"] },
  { name: "anchored and directory-only excludes", args: ["--exclude=/core", "--exclude=deep/", "--exclude=/build/"] },
  { name: "include directories and .c, exclude the rest", args: ["--include=*/", "--include=*.c", "--exclude=*"] },
  { name: "a rule with a slash matches trailing components", args: ["--exclude=sub/*.o", "--exclude=obj/a.o"] },
  { name: "** crosses directories", args: ["--exclude=**/deep/*.txt", "--exclude=logs/**"] },
  { name: "dir/*** takes the directory and its contents", args: ["--filter=- /build/***"] },
  { name: "negated exclude", args: ["-f", "-! *.c", "--include=*/"] },
  { name: "filter prefixes and long names", args: ["-f", "+ sub/", "-f", "exclude,s *.o", "-f", "include *.txt", "-f", "- /docs"] },
  { name: "a character class and ?", args: ["--exclude=[br].txt", "--exclude=*.log.?", "--exclude=\\[br\\].txt"] },
  { name: "a clear rule drops what came before", args: ["--exclude=*.c", "-f", "!", "--exclude=*.md"] },
  { name: "--delete keeps what is excluded", args: ["--delete", "--exclude=*.o", "--exclude=stale/"] },
  { name: "--delete-excluded removes it", args: ["--delete", "--delete-excluded", "--exclude=*.o"] },
  { name: "protect and risk", args: ["--delete", "-f", "P *.txt", "-f", "R keep/k.txt", "-f", "P keep/"] },
  { name: "hide and show", args: ["--delete", "-f", "S *.c", "-f", "H *"] },
  { name: "sender- and receiver-side modifiers", args: ["--delete", "-f", "-s *.md", "-f", "-r extra.*"] },
  { name: "--delete-after with an excluded directory", args: ["--delete-after", "--exclude=logs/"] },
  { name: "-F reads .rsync-filter files", args: ["-F", "--delete"] },
  { name: "-FF also leaves them out", args: ["-FF", "--delete"] },
  { name: "a dir-merge of .gitignore with no prefixes", args: ["--delete", "-f", ":- .gitignore"] },
  { name: "dir-merge with n (not inherited) and e (the file itself excluded)", args: ["--delete", "-f", "dir-merge,ne .rsync-filter"] },
  { name: "a merge file read once, from the command line", args: ["-f", `. ${"RULES"}`] },
  { name: "-C ignores what CVS ignores, and .cvsignore files", args: ["-C", "--delete"] },
];

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-filters-"));
  buildSource(join(work, "src"));
  fs.writeFileSync(join(work, "merge-rules"), "# rules merged from a file\n- *.md\n+ /sub/\n- /sub/deep/\n");
  const modules: ModuleConfig[] = [
    { name: "src", path: join(work, "src"), params: { uid: "0", gid: "0" } },
    { name: "w", path: work, params: { "read only": "no", uid: "0", gid: "0", "munge symlinks": "no" } },
  ];
  [daemons.ours, daemons.upstream] = await Promise.all([startDaemon("ours", modules), startDaemon("upstream", modules)]);
});

afterAll(async () => {
  await Promise.all([daemons.ours?.stop(), daemons.upstream?.stop()]);
  fs.rmSync(work, { recursive: true, force: true });
});

type Mode = "local" | "pull (our client)" | "pull (our daemon)" | "push (our client)" | "push (our daemon)";
const MODES: Mode[] = ["local", "pull (our client)", "pull (our daemon)", "push (our client)", "push (our daemon)"];

/** The item lines in a stable order (deletions reach a pushing client as messages, at moments timing decides). */
const lines = (text: string) => text.split("\n").filter(Boolean).sort();

async function runMode(mode: Mode, args: string[], dest: string, ours: boolean, stdin?: string) {
  const d = ours ? daemons.ours! : daemons.upstream!;
  const base = ["-ai", ...args.map((a) => a.replace("RULES", join(work, "merge-rules")))];
  const rel = dest.slice(work.length + 1);
  const client = (args: string[]) => (ours ? runOc : runRsync)(args, { stdin });
  switch (mode) {
    case "local":
      return client([...base, `${join(work, "src")}/`, `${dest}/`]);
    case "pull (our client)":
      return client([...base, daemons.upstream!.url("src"), `${dest}/`]);
    case "pull (our daemon)":
      return runRsync([...base, d.url("src"), `${dest}/`], { stdin });
    case "push (our client)":
      return client([...base, `${join(work, "src")}/`, daemons.upstream!.url("w", `${rel}/`)]);
    case "push (our daemon)":
      return runRsync([...base, `${join(work, "src")}/`, d.url("w", `${rel}/`)], { stdin });
  }
}

describe("filter rules behave as upstream's", () => {
  CASES.forEach((c, i) => {
    MODES.forEach((mode, j) => {
      test(`${c.name}: ${mode}`, async () => {
        const ours = join(work, `case${i}-${j}-ours`);
        const theirs = join(work, `case${i}-${j}-theirs`);
        prefill(ours);
        prefill(theirs);
        const a = await runMode(mode, c.args, ours, true);
        const b = await runMode(mode, c.args, theirs, false);
        expect(normalizeErrors(a.stderr)).toBe(normalizeErrors(b.stderr));
        expect(a.code).toBe(b.code);
        expect(lines(a.stdout)).toEqual(lines(b.stdout));
        expect(snapshot(ours, { ignoreDirTimes: true })).toEqual(snapshot(theirs, { ignoreDirTimes: true }));
      });
    });
  });
});

describe("rule errors are upstream's", () => {
  for (const args of [["-f", "x foo"], ["-f", "-"], ["-f", "+q foo"], ["-f", "! extra"], ["--exclude-from=/nonexistent/list"]]) {
    test(args.join(" "), async () => {
      const a = await runOc(["-a", ...args, `${join(work, "src")}/`, join(work, "err-ours")]);
      const b = await runRsync(["-a", ...args, `${join(work, "src")}/`, join(work, "err-theirs")]);
      expect(normalizeErrors(a.stderr)).toBe(normalizeErrors(b.stderr));
      expect(a.code).toBe(b.code);
    });
  }
});

test("--exclude-from and --include-from read rules from files, comments and CRLF lines included", async () => {
  const list = join(work, "rules.txt");
  fs.writeFileSync(list, "# a comment\r\n; another\r\n\r\n*.o\r\n- *.log\n+ keep.md\n/core\n");
  const inc = join(work, "inc.txt");
  fs.writeFileSync(inc, "*.md\n");
  const args = ["-ai", `--include-from=${inc}`, `--exclude-from=${list}`, `${join(work, "src")}/`];
  const a = await runOc([...args, join(work, "from-ours")]);
  const b = await runRsync([...args, join(work, "from-theirs")]);
  expect(a.code).toBe(0);
  expect(lines(a.stdout.replace("from-ours", "DEST"))).toEqual(lines(b.stdout.replace("from-theirs", "DEST")));
  expect(snapshot(join(work, "from-ours"))).toEqual(snapshot(join(work, "from-theirs")));
});

describe("--files-from, as upstream reads it", () => {
  const lists: Record<string, string> = {
    plain: "main.c\n# a comment\nsub/deep/x.txt\n\ndocs\n/logs/../build/Makefile\n",
    nul: "main.c\0sub\0a b/c d.txt\0",
  };
  const cases: { name: string; args: string[]; stdin?: string }[] = [
    { name: "names with their parents (-R implied), comments and blank lines skipped", args: ["-a", "--files-from=LIST:plain"] },
    { name: "an explicit -r descends into listed directories", args: ["-a", "-r", "--files-from=LIST:plain"] },
    { name: "NUL-separated with --from0", args: ["-a", "--from0", "--files-from=LIST:nul"] },
    { name: "--no-relative keeps only the last component", args: ["-a", "--no-relative", "--files-from=LIST:plain"] },
    { name: "with a filter rule", args: ["-a", "-r", "--exclude=*.html", "--files-from=LIST:plain"] },
    { name: "the list on standard input", args: ["-a", "--files-from=-"], stdin: lists.plain },
  ];
  for (const mode of ["local", "push (our client)", "pull (our client)", "pull (our daemon)"] as const) {
    cases.forEach((c, i) => {
      test(`${c.name}: ${mode}`, async () => {
        const args = c.args.map((a) => a.replace(/LIST:(\w+)/, (_, k: string) => {
          const file = join(work, `files-from-${k}`);
          fs.writeFileSync(file, lists[k]!);
          return file;
        }));
        const ours = join(work, `ff${i}-${mode.length}-ours`);
        const theirs = join(work, `ff${i}-${mode.length}-theirs`);
        fs.mkdirSync(ours, { recursive: true });
        fs.mkdirSync(theirs, { recursive: true });
        const a = await runMode(mode, args, ours, true, c.stdin);
        const b = await runMode(mode, args, theirs, false, c.stdin);
        expect(normalizeErrors(a.stderr)).toBe(normalizeErrors(b.stderr));
        expect(a.code).toBe(b.code);
        expect(lines(a.stdout)).toEqual(lines(b.stdout));
        expect(snapshot(ours, { ignoreDirTimes: true })).toEqual(snapshot(theirs, { ignoreDirTimes: true }));
      });
    });
  }
});
