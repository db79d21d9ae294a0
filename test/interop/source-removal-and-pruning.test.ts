/**
 * --remove-source-files, -m/--prune-empty-dirs and --delete-missing-args
 * against upstream: local copies, our client pulling from and pushing to
 * upstream's daemon, and upstream's client against our daemon, each compared
 * with upstream doing the same on the same input (trees on both ends,
 * output, exit codes).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { maskFigures, normalizeErrors, runOc, runRsync, type RunResult } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";

let work: string;
/** Upstream's daemon and ours, each serving the same two directories. */
let upstream: RunningDaemon;
let ours: RunningDaemon;

const modules = (): ModuleConfig[] => [
  { name: "rw", path: join(work, "rw"), params: { "read only": "no", uid: "0", gid: "0" } },
  { name: "ro", path: join(work, "rw"), params: { uid: "0", gid: "0" } },
];

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-removal-"));
  rsh = join(work, "rsh");
  writeFakeRsh(rsh);
  fs.mkdirSync(join(work, "rw"));
  upstream = await startDaemon("upstream", modules());
  ours = await startDaemon("ours", modules());
});

afterAll(async () => {
  await upstream.stop();
  await ours.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Files, a symlink, a fifo, a nested empty chain, a directory of excluded files only. */
function makeSource(root: string): void {
  fs.mkdirSync(join(root, "a/b/c"), { recursive: true });
  fs.mkdirSync(join(root, "empty/chain/deep"), { recursive: true });
  fs.mkdirSync(join(root, "objs"));
  fs.mkdirSync(join(root, "keep/sub"), { recursive: true });
  fs.writeFileSync(join(root, "a/b/c/deep.txt"), "deep\n");
  fs.writeFileSync(join(root, "a/one.txt"), "one\n");
  fs.writeFileSync(join(root, "top.txt"), "top\n");
  fs.writeFileSync(join(root, "uptodate.txt"), "same on both ends\n");
  fs.writeFileSync(join(root, "objs/x.o"), "object\n");
  fs.writeFileSync(join(root, "keep/sub/y.o"), "object\n");
  fs.writeFileSync(join(root, "keep/z.txt"), "z\n");
  fs.symlinkSync("top.txt", join(root, "link"));
  Bun.spawnSync(["mkfifo", join(root, "fifo")]);
  ageTree(root, 1_400_000_000);
}

/** A destination that already holds one file exactly as the source has it. */
function makeDest(root: string, source: string): void {
  fs.mkdirSync(root, { recursive: true });
  fs.copyFileSync(join(source, "uptodate.txt"), join(root, "uptodate.txt"));
  const st = fs.statSync(join(source, "uptodate.txt"));
  fs.utimesSync(join(root, "uptodate.txt"), st.atime, st.mtime);
}

/** Each side's names carry "-ours-" or "-theirs-". */
const sideless = (text: string) => text.replace(/-(ours|theirs)-/g, "-SIDE-");

const lines = (r: RunResult, ...names: string[]) => {
  let text = maskFigures(r.stdout);
  for (const n of names) text = text.replaceAll(n, "X");
  text = sideless(text);
  return text.split("\n").filter(Boolean).sort();
};

/** "upstream-shell": upstream's client with our --server (or upstream's) behind a remote shell. */
type Mode = "local" | "pull" | "push" | "upstream-client" | "upstream-shell";

const MAIN = join(import.meta.dir, "../../src/main.ts");
/** A remote shell that runs the command here. */
let rsh: string;

/**
 * Runs `args` from a fresh source to a fresh destination with our client
 * and with upstream's. "pull"/"push": our client against upstream's daemon
 * (and upstream's client against it too); "upstream-client": upstream's
 * client pulling from (or pushing to, `push`) our daemon, against upstream's.
 */
async function compare(mode: Mode, name: string, args: string[], opts: { sources?: string[]; pushToServer?: boolean; withDest?: boolean; prepareDest?: (dest: string) => void } = {}) {
  const sources = opts.sources ?? [""];
  const results: { r: RunResult; src: string; dest: string }[] = [];
  for (const side of ["ours", "theirs"] as const) {
    const tag = `${name}-${mode}-${side}`;
    // What a daemon serves lives in its module; the other end in the work directory.
    const sourceInModule = mode === "pull" || (mode === "upstream-client" && !opts.pushToServer);
    const destInModule = mode === "push" || (mode === "upstream-client" && !!opts.pushToServer);
    const src = join(work, sourceInModule ? "rw" : "", `${tag}-src`);
    const dest = join(work, destInModule ? "rw" : "", `${tag}-dest`);
    makeSource(src);
    if (opts.withDest !== false) makeDest(dest, src);
    opts.prepareDest?.(dest);
    const daemon = mode === "upstream-client" ? (side === "ours" ? ours : upstream) : upstream;
    const shell = mode === "upstream-shell";
    const host = (path: string, remote: boolean) => (shell && remote ? `h:${path}` : path);
    const from = (s: string) => (sourceInModule ? daemon.url("rw", `${tag}-src/${s}`) : host(`${src}/${s}`, !opts.pushToServer));
    const to = destInModule ? daemon.url("rw", `${tag}-dest/`) : host(`${dest}/`, !!opts.pushToServer);
    const client = mode === "upstream-client" || shell || side === "theirs" ? runRsync : runOc;
    const shellArgs = shell ? ["-e", rsh, "--rsync-path", side === "ours" ? `${process.execPath} ${MAIN}` : "rsync"] : [];
    const r = await client([...shellArgs, ...args, ...sources.map(from), to]);
    results.push({ r, src, dest });
  }
  const [a, b] = results as [(typeof results)[0], (typeof results)[0]];
  const names = (x: (typeof results)[0]) => [x.src, x.dest, x.src.slice(work.length), x.dest.slice(work.length)];
  expect(sideless(normalizeErrors(a.r.stderr).replaceAll(a.src, "S").replaceAll(a.dest, "D")).split("\n").sort()).toEqual(
    sideless(normalizeErrors(b.r.stderr).replaceAll(b.src, "S").replaceAll(b.dest, "D")).split("\n").sort(),
  );
  expect(a.r.code).toBe(b.r.code);
  expect(lines(a.r, ...names(a))).toEqual(lines(b.r, ...names(b)));
  const exists = (p: string) => fs.existsSync(p);
  expect(exists(a.src)).toBe(exists(b.src));
  if (exists(b.src)) expect(snapshot(a.src, { ignoreDirTimes: true })).toEqual(snapshot(b.src, { ignoreDirTimes: true }));
  expect(exists(a.dest)).toBe(exists(b.dest));
  if (exists(b.dest)) expect(snapshot(a.dest, { ignoreDirTimes: true })).toEqual(snapshot(b.dest, { ignoreDirTimes: true }));
  return { ours: a, theirs: b };
}

describe("--remove-source-files, as upstream", () => {
  for (const mode of ["local", "pull", "push"] as const) {
    test(`sent and up-to-date files, symlinks and fifos go, directories stay: ${mode}`, async () => {
      const { ours: a } = await compare(mode, "rsf", ["-ai", "--remove-source-files"]);
      // Not vacuous: the files really left the source.
      expect(fs.existsSync(join(a.src, "top.txt"))).toBe(false);
      expect(fs.existsSync(join(a.src, "uptodate.txt"))).toBe(false);
      expect(fs.existsSync(join(a.src, "a/b/c"))).toBe(true);
    });
    test(`--info=remove: the sender says what it removed: ${mode}`, () => compare(mode, "rsfinfo", ["-ai", "--info=remove", "--remove-source-files"]));
    test(`a dry run removes nothing: ${mode}`, () => compare(mode, "rsfn", ["-ain", "--remove-source-files"]));
    test(`the deprecated --remove-sent-files leaves up-to-date files: ${mode}`, () => compare(mode, "rsent", ["-ai", "--remove-sent-files"]));
  }
  test("upstream's client pulling from our daemon removes the module's files", async () => {
    const { ours: a } = await compare("upstream-client", "rsfd", ["-ai", "--remove-source-files"]);
    expect(fs.existsSync(join(a.src, "a/one.txt"))).toBe(false);
  });
  test("upstream's client pushing to our daemon (our receiving server confirms each file)", () =>
    compare("upstream-client", "rsfdp", ["-ai", "--remove-source-files"], { pushToServer: true }));
  test("upstream's client pulling from our --server over a remote shell", async () => {
    const { ours: a } = await compare("upstream-shell", "rsfsh", ["-ai", "--remove-source-files"]);
    expect(fs.existsSync(join(a.src, "top.txt"))).toBe(false);
  });
  test("upstream's client pushing to our --server over a remote shell", () =>
    compare("upstream-shell", "rsfshp", ["-ai", "--remove-source-files"], { pushToServer: true }));
  // Before protocol 30 only this option makes the receiving client multiplex its output (main.c need_messages_from_generator).
  for (const mode of ["local", "pull", "push", "upstream-client", "upstream-shell"] as const) {
    test(`protocol 29: ${mode}`, async () => {
      const { ours: a } = await compare(mode, "rsf29", ["-ai", "--protocol=29", "--remove-source-files"]);
      expect(fs.existsSync(join(a.src, "a/one.txt"))).toBe(false);
    });
  }

  test("a read-only module refuses it (our daemon as upstream's)", async () => {
    const src = join(work, "rw", "ro-src");
    makeSource(src);
    const results: RunResult[] = [];
    for (const d of [ours, upstream]) {
      const dest = join(work, `ro-dest-${d === ours ? "ours" : "theirs"}`);
      results.push(await runRsync(["-a", "--remove-source-files", d.url("ro", "ro-src/"), `${dest}/`]));
    }
    const [a, b] = results as [RunResult, RunResult];
    expect(a.code).toBe(b.code);
    expect(a.code).not.toBe(0);
    expect(normalizeErrors(a.stderr)).toBe(normalizeErrors(b.stderr));
    expect(fs.existsSync(join(src, "top.txt"))).toBe(true);
  });

  test("a module refusing 'delete' refuses it for a pull, and --delete-missing-args either way (our daemon as upstream's)", async () => {
    const src = join(work, "rw", "refuse-src");
    makeSource(src);
    const refusing = (kind: "upstream" | "ours") =>
      startDaemon(kind, [{ name: "m", path: join(work, "rw"), params: { "read only": "no", uid: "0", gid: "0", "refuse options": "delete" } }]);
    const runs: Record<string, RunResult[]> = { upstream: [], ours: [] };
    for (const kind of ["upstream", "ours"] as const) {
      const d = await refusing(kind);
      try {
        runs[kind]!.push(await runRsync(["-a", "--remove-source-files", d.url("m", "refuse-src/"), join(work, `refuse-out-${kind}/`)]));
        runs[kind]!.push(await runRsync(["-a", "--delete-missing-args", d.url("m", "refuse-src/nothing"), join(work, `refuse-out2-${kind}/`)]));
        runs[kind]!.push(await runRsync(["-a", "--delete-missing-args", join(src, "nothing"), d.url("m", `refuse-push-${kind}/`)]));
      } finally {
        await d.stop();
      }
    }
    runs.ours!.forEach((a, i) => {
      const b = runs.upstream![i]!;
      // Upstream's exit code for a refused pull depends on how the connection ends (10 or 4): the refusal itself is what counts.
      expect(a.code).not.toBe(0);
      expect(b.code).not.toBe(0);
      expect(a.stderr.split("\n")[0]).toBe(b.stderr.split("\n")[0]!);
    });
    expect(fs.existsSync(join(src, "top.txt"))).toBe(true);
  });

  test("a copy onto itself removes nothing and says so (exit 23)", async () => {
    const results: { r: RunResult; root: string }[] = [];
    for (const client of [runOc, runRsync]) {
      const root = join(work, `self-${results.length}`);
      makeSource(root);
      results.push({ r: await client(["-a", "--remove-source-files", `${root}/`, `${root}/`]), root });
    }
    const [a, b] = results as [(typeof results)[0], (typeof results)[0]];
    expect(a.r.code).toBe(23);
    expect(a.r.code).toBe(b.r.code);
    expect(normalizeErrors(a.r.stderr).split("\n").sort()).toEqual(normalizeErrors(b.r.stderr).split("\n").sort());
    expect(snapshot(a.root)).toEqual(snapshot(a.root));
    expect(fs.existsSync(join(a.root, "top.txt"))).toBe(true);
  });
});

describe("-m/--prune-empty-dirs, as upstream", () => {
  const cases: { name: string; args: string[] }[] = [
    { name: "empty chains", args: ["-ai", "-m"] },
    { name: "dirs holding only excluded files", args: ["-ai", "-m", "--exclude=*.o"] },
    { name: "only *.txt, the usual include/exclude idiom", args: ["-ai", "-m", "--include=*/", "--include=*.txt", "--exclude=*"] },
    { name: "a receiver-side exclude keeps its directory", args: ["-ai", "-m", "--filter=-r objs/"] },
    { name: "without incremental recursion asked for", args: ["-ai", "-m", "--no-inc-recursive", "--exclude=*.o"] },
  ];
  for (const mode of ["local", "pull", "push"] as const) {
    cases.forEach((c, i) => {
      test(`${c.name}: ${mode}`, async () => {
        const { ours: a } = await compare(mode, `prune${i}`, c.args, { withDest: false });
        expect(fs.existsSync(join(a.dest, "empty"))).toBe(false);
      });
    });
  }
  for (const mode of ["local", "pull", "push"] as const) {
    test(`with --delete, what the pruned list lacks goes, empty directories included: ${mode}`, async () => {
      const prepare = (dest: string) => ["empty/chain/deep", "other/empty"].forEach((d) => fs.mkdirSync(join(dest, d), { recursive: true }));
      const { ours: a } = await compare(mode, "prunedel", ["-ai", "-m", "--delete"], { prepareDest: prepare });
      expect(fs.existsSync(join(a.dest, "other"))).toBe(false);
    });
  }
  test("upstream's client pushing to our --server over a remote shell: it prunes", () =>
    compare("upstream-shell", "pruneshell", ["-ai", "-m", "--exclude=*.o"], { pushToServer: true, withDest: false }));
  test("upstream's client pushing to our daemon: our receiving server prunes", async () => {
    const { ours: a } = await compare("upstream-client", "prunesrv", ["-ai", "-m", "--exclude=*.o"], { pushToServer: true, withDest: false });
    expect(fs.existsSync(join(a.dest, "objs"))).toBe(false);
    expect(fs.existsSync(join(a.dest, "keep/z.txt"))).toBe(true);
  });
});

describe("--delete-missing-args, as upstream", () => {
  const sources = ["top.txt", "gone-file", "gone-dir", "gone-empty", "not-anywhere"];
  /** The destination has what the missing arguments name. */
  const prepare = (dest: string) => {
    fs.mkdirSync(join(dest, "gone-dir"), { recursive: true });
    fs.mkdirSync(join(dest, "gone-empty"));
    fs.writeFileSync(join(dest, "gone-dir/inside"), "x");
    fs.writeFileSync(join(dest, "gone-file"), "x");
  };
  const argSets: { name: string; args: string[]; sources?: string[] }[] = [
    { name: "plain", args: ["-ai", "--delete-missing-args"] },
    // -R: a missing name below an implied directory waits for that directory's list (MISSING_NAME).
    { name: "-R, missing names below implied directories", args: ["-aiR", "--delete-missing-args"], sources: ["./a/one.txt", "./gone-dir/inside", "./a/gone-in-a", "./nowhere/x"] },
    { name: "with --force (a directory goes with its contents)", args: ["-ai", "--delete-missing-args", "--force"] },
    { name: "dry run", args: ["-ain", "--delete-missing-args"] },
    { name: "-v", args: ["-av", "--delete-missing-args"] },
  ];
  for (const mode of ["local", "pull", "push", "upstream-client"] as const) {
    argSets.forEach((c, i) => {
      test(`${c.name}: ${mode}`, async () => {
        const results: { r: RunResult; dest: string }[] = [];
        for (const side of ["ours", "theirs"] as const) {
          const tag = `dma${i}-${mode}-${side}`;
          const src = join(work, mode === "pull" || mode === "upstream-client" ? "rw" : "", `${tag}-src`);
          const dest = join(work, mode === "push" ? "rw" : "", `${tag}-dest`);
          makeSource(src);
          prepare(dest);
          fs.mkdirSync(join(dest, "a"), { recursive: true });
          fs.writeFileSync(join(dest, "a/gone-in-a"), "x");
          const daemon = mode === "upstream-client" && side === "ours" ? ours : upstream;
          // Concatenated, not joined: -R's "/./" must stay.
          const from = (s: string) => (mode === "pull" || mode === "upstream-client" ? daemon.url("rw", `${tag}-src/${s}`) : `${src}/${s}`);
          const to = mode === "push" ? daemon.url("rw", `${tag}-dest/`) : `${dest}/`;
          const client = mode === "upstream-client" || side === "theirs" ? runRsync : runOc;
          results.push({ r: await client([...c.args, ...(c.sources ?? sources).map(from), to]), dest });
        }
        const [a, b] = results as [(typeof results)[0], (typeof results)[0]];
        expect(sideless(normalizeErrors(a.r.stderr))).toBe(sideless(normalizeErrors(b.r.stderr)));
        expect(a.r.code).toBe(b.r.code);
        expect(lines(a.r)).toEqual(lines(b.r));
        // What the test put there has this run's times on each side.
        expect(snapshot(a.dest, { ignoreTimes: true })).toEqual(snapshot(b.dest, { ignoreTimes: true }));
        if (!c.args.includes("-ain")) expect(fs.existsSync(join(a.dest, c.sources ? "a/gone-in-a" : "gone-file"))).toBe(false);
      });
    });
  }
});
