/**
 * Batch mode against upstream: --write-batch (local copy, pull from and push
 * to upstream's daemon) gives the same batch bytes and script as upstream's
 * with the same checksum seed, and the same destination; --read-batch applies
 * upstream's batches as upstream does, and upstream applies ours; a broken
 * or hostile batch fails without touching anything outside the destination.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, type RunningDaemon } from "../helpers/daemon.ts";
import { maskFigures, normalizeErrors, run, runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";

let work: string;
let daemon: RunningDaemon;

/** Deterministic bytes that delta transfer can match blocks of. */
function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-batch-"));
  const src = join(work, "src");
  fs.mkdirSync(join(src, "sub/deeper"), { recursive: true });
  const big = noise(200_000, 7);
  fs.writeFileSync(join(src, "big"), big);
  fs.writeFileSync(join(src, "same"), "unchanged\n");
  fs.writeFileSync(join(src, "new"), "a new file\n");
  fs.writeFileSync(join(src, "sub/changed"), "version two\n");
  fs.writeFileSync(join(src, "sub/deeper/leaf"), noise(3000, 9));
  fs.symlinkSync("sub/changed", join(src, "link"));
  ageTree(src, 1_500_000_000);
  // The old tree both sides start from: "big" differs in the middle (a delta), "sub/changed" whole, "gone" is extra.
  const base = join(work, "base");
  fs.mkdirSync(join(base, "sub"), { recursive: true });
  const old = Buffer.from(big);
  old.fill(1, 90_000, 91_000);
  fs.writeFileSync(join(base, "big"), old);
  fs.writeFileSync(join(base, "same"), "unchanged\n");
  fs.writeFileSync(join(base, "sub/changed"), "version one\n");
  fs.writeFileSync(join(base, "gone"), "deleted by --delete\n");
  ageTree(base, 1_400_000_000);
  // "same" is up to date: nothing of it is in a batch.
  expect(spawnSync("touch", ["-r", join(src, "same"), join(base, "same")]).status).toBe(0);
  fs.mkdirSync(join(work, "w"));
  daemon = await startDaemon("upstream", [
    { name: "src", path: src, params: { uid: "0", gid: "0" } },
    { name: "w", path: join(work, "w"), params: { "read only": "no", uid: "0", gid: "0" } },
  ]);
});

afterAll(async () => {
  await daemon.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** A fresh copy of the old tree (times and modes kept). */
function baseCopy(dest: string): string {
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(join(dest, ".."), { recursive: true });
  expect(spawnSync("cp", ["-a", join(work, "base"), dest]).status).toBe(0);
  return dest;
}

const tree = (root: string) => snapshot(root, { ignoreDirTimes: true });

/** The script with the program and the names that differ between the two runs taken out. */
function scriptWords(text: string, names: Record<string, string>): string {
  let s = text.replace(/^'[^']*(rsync|bun[^']*' '[^']*main\.ts)' /, "PROG ");
  for (const [from, to] of Object.entries(names)) s = s.replaceAll(from, to);
  return s;
}

type Mode = "local" | "pull" | "push";

/**
 * Both clients write a batch of the same transfer; returns the paths. The
 * stats at the end differ (byte counts and timings): all before them is compared.
 */
async function writeBoth(mode: Mode, args: string[], tag: string, batchOption = "--write-batch") {
  const dir = join(work, `${mode}-${tag}`);
  fs.mkdirSync(dir, { recursive: true });
  const dest = (who: string) => (mode === "push" ? join(work, "w", `${tag}-${who}`) : join(dir, `dest-${who}`));
  const destArg = (who: string) => (mode === "push" ? daemon.url("w", `${tag}-${who}/`) : `${dest(who)}/`);
  const source = mode === "pull" ? daemon.url("src", "") : `${join(work, "src")}/`;
  const run = async (who: "ours" | "theirs") => {
    baseCopy(dest(who));
    const batch = join(dir, `batch-${who}`);
    const r = await (who === "ours" ? runOc : runRsync)([...args, "--checksum-seed=7", `${batchOption}=${batch}`, source, destArg(who)]);
    return { ...r, batch, dest: dest(who) };
  };
  const ours = await run("ours");
  const theirs = await run("theirs");
  return { ours, theirs, dir };
}

/** How many leading bytes two batches share. */
function commonPrefix(a: Buffer, b: Buffer): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

describe("--write-batch, as upstream", () => {
  for (const mode of ["local", "pull", "push"] as const) {
    // Byte for byte without incremental recursion: with it, where a finished list's NDX_DONE falls
    // between two files depends on the generator's timing (upstream's own batches differ there).
    test(`${mode}: same destination, same batch stream, same script`, async () => {
      const { ours, theirs } = await writeBoth(mode, ["-a", "--delete", "--no-whole-file", "--no-inc-recursive"], "plain");
      expect(ours.stderr).toBe(theirs.stderr);
      expect(ours.code).toBe(theirs.code);
      expect(ours.code).toBe(0);
      expect(tree(ours.dest)).toEqual(tree(theirs.dest));
      // (The daemon's module munges symlinks: a push's link differs from the source's.)
      if (mode !== "push") expect(tree(ours.dest)).toEqual(tree(join(work, "src")));
      const a = fs.readFileSync(ours.batch);
      const b = fs.readFileSync(theirs.batch);
      // A delta: the changed kilobyte and the new files, not the whole of "big".
      expect(a.length).toBeGreaterThan(1000);
      expect(a.length).toBeLessThan(50_000);
      // Only the statistics at the end differ (five varlongs of byte counts and timings, then the goodbye).
      // Only the statistics at the end differ (five varlongs of byte counts and timings, then the goodbye).
      const shared = commonPrefix(a, b);
      expect(Math.max(a.length, b.length) - shared).toBeLessThanOrEqual(5 * 9 + 1);
      const script = (p: string, who: string) =>
        scriptWords(fs.readFileSync(`${p}.sh`, "latin1"), { [p]: "BATCH", [`${ours.dest}/`]: "DEST/", [`${theirs.dest}/`]: "DEST/", [`${who}/`]: "DEST/" });
      expect(script(ours.batch, "ours")).toBe(script(theirs.batch, "theirs"));
      expect(fs.statSync(ours.batch).mode & 0o777).toBe(0o600);
      expect(fs.statSync(`${ours.batch}.sh`).mode & 0o777).toBe(0o700);
    });
  }

  test("filter rules go into the script as a here-document, quoted args stay literal", async () => {
    const { ours, theirs } = await writeBoth("local", ["-a", "--exclude=*.tmp", "--filter=- /new", "--info=name0", "--out-format=it's %n"], "rules");
    expect(ours.code).toBe(theirs.code);
    const script = (p: string, d: string) => scriptWords(fs.readFileSync(`${p}.sh`, "latin1"), { [p]: "BATCH", [`${d}/`]: "DEST/" });
    expect(script(ours.batch, ours.dest)).toBe(script(theirs.batch, theirs.dest));
    expect(fs.readFileSync(`${ours.batch}.sh`, "latin1")).toContain("<<'#E#'\n- *.tmp\n- /new\n#E#\n");
    expect(tree(ours.dest)).toEqual(tree(theirs.dest));
  });
});

test("upstream's client pulling from our daemon records the same batch as from upstream's daemon", async () => {
  const dir = join(work, "from-our-daemon");
  fs.mkdirSync(dir, { recursive: true });
  const ourDaemon = await startDaemon("ours", [{ name: "src", path: join(work, "src"), params: { uid: "0", gid: "0" } }]);
  const args = ["-a", "--delete", "--no-whole-file", "--no-inc-recursive", "--checksum-seed=7"];
  try {
    for (const [d, who] of [
      [ourDaemon, "ours"],
      [daemon, "theirs"],
    ] as const) {
      const r = await runRsync([...args, `--write-batch=${join(dir, `batch-${who}`)}`, d.url("src", ""), `${baseCopy(join(dir, `dest-${who}`))}/`]);
      expect({ who, code: r.code, err: r.stderr }).toEqual({ who, code: 0, err: "" });
    }
  } finally {
    await ourDaemon.stop();
  }
  expect(tree(join(dir, "dest-ours"))).toEqual(tree(join(work, "src")));
  const a = fs.readFileSync(join(dir, "batch-ours"));
  const b = fs.readFileSync(join(dir, "batch-theirs"));
  expect(Math.max(a.length, b.length) - commonPrefix(a, b)).toBeLessThanOrEqual(5 * 9 + 1);
  // And our reader applies it as upstream's does.
  const applied = baseCopy(join(dir, "applied"));
  expect((await runOc(["-a", "--delete", `--read-batch=${join(dir, "batch-ours")}`, applied])).code).toBe(0);
  expect(tree(applied)).toEqual(tree(join(work, "src")));
});

describe("--only-write-batch, as upstream", () => {
  for (const mode of ["local", "pull", "push"] as const) {
    test(`${mode}: the destination is left alone, the batch is the same, and applies`, async () => {
      const { ours, theirs, dir } = await writeBoth(mode, ["-a", "-v", "--delete", "--no-whole-file"], "only", "--only-write-batch");
      expect({ code: ours.code, err: ours.stderr }).toEqual({ code: theirs.code, err: theirs.stderr });
      expect(ours.code).toBe(0);
      expect(maskFigures(ours.stdout).split("\n").sort()).toEqual(maskFigures(theirs.stdout).split("\n").sort());
      expect(ours.stdout).toContain("(BATCH ONLY)");
      // Nothing changed: still the old tree.
      expect(tree(ours.dest)).toEqual(tree(join(work, "base")));
      expect(tree(theirs.dest)).toEqual(tree(join(work, "base")));
      const a = fs.readFileSync(ours.batch);
      const b = fs.readFileSync(theirs.batch);
      // Incremental: the header and the first list are the same, and as many bytes follow (see above).
      expect(commonPrefix(a, b)).toBeGreaterThan(200);
      expect(Math.abs(a.length - b.length)).toBeLessThanOrEqual(10);
      // The batch brings the old tree to the new one, read by either.
      const ra = await runOc(["-a", "--delete", `--read-batch=${ours.batch}`, baseCopy(join(dir, "apply-ours"))]);
      const rb = await runRsync(["-a", "--delete", `--read-batch=${ours.batch}`, baseCopy(join(dir, "apply-theirs"))]);
      expect(ra.code).toBe(0);
      expect(rb.code).toBe(0);
      expect(tree(join(dir, "apply-ours"))).toEqual(tree(join(dir, "apply-theirs")));
      if (mode !== "push") expect(tree(join(dir, "apply-ours"))).toEqual(tree(join(work, "src")));
    });
  }

  test("upstream's client pushing to our daemon with --only-write-batch: our receiver changes nothing", async () => {
    const dir = join(work, "only-ours-daemon");
    fs.mkdirSync(dir, { recursive: true });
    const dest = baseCopy(join(dir, "dest"));
    const ourDaemon = await startDaemon("ours", [{ name: "w", path: dir, params: { "read only": "no", uid: "0", gid: "0" } }]);
    try {
      const r = await runRsync(["-a", "--delete", "--checksum-seed=7", `--only-write-batch=${join(dir, "batch")}`, `${join(work, "src")}/`, ourDaemon.url("w", "dest/")]);
      expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
    } finally {
      await ourDaemon.stop();
    }
    expect(tree(dest)).toEqual(tree(join(work, "base")));
    const applied = baseCopy(join(dir, "applied"));
    expect((await runRsync(["-a", "--delete", `--read-batch=${join(dir, "batch")}`, applied])).code).toBe(0);
    expect(tree(applied)).toEqual(tree(join(work, "src")));
  });
});

test("upstream's client with our --server over a remote shell: a pull's batch and an --only-write-batch push", async () => {
  const dir = join(work, "rsh");
  fs.mkdirSync(dir, { recursive: true });
  const rsh = join(dir, "rsh");
  writeFakeRsh(rsh);
  const ours = `--rsync-path=${process.execPath} ${join(import.meta.dir, "../../src/main.ts")}`;
  const args = ["-a", "--delete", "--no-whole-file", "--no-inc-recursive", "--checksum-seed=7", "-e", rsh];
  // A pull from our server and from upstream's record the same stream.
  for (const who of ["ours", "theirs"]) {
    const server = who === "ours" ? [ours] : [];
    const r = await runRsync([...args, ...server, `--write-batch=${join(dir, `pull-${who}`)}`, `h:${join(work, "src")}/`, `${baseCopy(join(dir, `pulled-${who}`))}/`]);
    expect({ who, code: r.code, err: r.stderr }).toEqual({ who, code: 0, err: "" });
  }
  const a = fs.readFileSync(join(dir, "pull-ours"));
  const b = fs.readFileSync(join(dir, "pull-theirs"));
  expect(Math.max(a.length, b.length) - commonPrefix(a, b)).toBeLessThanOrEqual(5 * 9 + 1);
  // A push with --only-write-batch: our receiving server leaves the destination alone; the batch applies.
  const dest = baseCopy(join(dir, "pushed"));
  const r = await runRsync([...args, ours, `--only-write-batch=${join(dir, "push")}`, `${join(work, "src")}/`, `h:${dest}/`]);
  expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
  expect(tree(dest)).toEqual(tree(join(work, "base")));
  const applied = baseCopy(join(dir, "applied"));
  expect((await runOc(["-a", "--delete", `--read-batch=${join(dir, "push")}`, applied])).code).toBe(0);
  expect(tree(applied)).toEqual(tree(join(work, "src")));
});

describe("--read-batch, both ways", () => {
  for (const mode of ["local", "pull", "push"] as const) {
    test(`${mode}: each applies the other's batch as upstream applies it`, async () => {
      const { ours, theirs, dir } = await writeBoth(mode, ["-a", "--delete", "--no-whole-file"], "cross");
      expect(ours.code).toBe(0);
      expect(theirs.code).toBe(0);
      for (const [batch, label] of [
        [theirs.batch, "upstream's batch"],
        [ours.batch, "our batch"],
      ] as const) {
        const a = baseCopy(join(dir, `read-${label.length}-ours`));
        const b = baseCopy(join(dir, `read-${label.length}-theirs`));
        const ra = await runOc(["-a", "--delete", "-i", `--read-batch=${batch}`, a]);
        const rb = await runRsync(["-a", "--delete", "-i", `--read-batch=${batch}`, b]);
        expect({ label, code: ra.code, err: ra.stderr }).toEqual({ label, code: rb.code, err: rb.stderr });
        // The receiver's items (read from the batch) and the generator's deletions interleave by timing.
        expect(ra.stdout.split("\n").sort()).toEqual(rb.stdout.split("\n").sort());
        expect(ra.stdout).toContain("*deleting   gone");
        expect(tree(a)).toEqual(tree(b));
        if (mode !== "push") expect(tree(a)).toEqual(tree(join(work, "src")));
      }
    });
  }

  test("the batch read from stdin, and -v says the options it had to set", async () => {
    const { theirs, dir } = await writeBoth("local", ["-a", "-c", "--no-inc-recursive"], "stdin");
    const a = baseCopy(join(dir, "stdin-ours"));
    const b = baseCopy(join(dir, "stdin-theirs"));
    // Without -a: the batch's -r, -l, -o, -g, -D, -c are set to match it.
    const fromStdin = (cmd: string[]) => run(["sh", "-c", '"$@" < "$0"', theirs.batch, ...cmd]);
    const ra = await fromStdin([process.execPath, join(import.meta.dir, "../../src/main.ts"), "-v", "-pt", "--read-batch=-", a]);
    const rb = await fromStdin(["rsync", "-v", "-pt", "--read-batch=-", b]);
    expect(ra.code).toBe(rb.code);
    expect(ra.stderr).toBe(rb.stderr);
    expect(maskFigures(ra.stdout)).toBe(maskFigures(rb.stdout));
    expect(ra.stdout).toContain("Setting the --recurse (-r) option to match the batchfile.");
    expect(ra.stdout).toContain("Setting the --dirs (-d) option to match the batchfile.");
    expect(tree(a)).toEqual(tree(b));
  });

  test("-n reads the batch and changes nothing; --stats shows the writer's totals", async () => {
    const { theirs, dir } = await writeBoth("local", ["-a", "--delete"], "dry");
    for (const extra of [["-n", "-v"], ["-v", "--stats"]]) {
      const a = baseCopy(join(dir, `ours${extra.join("")}`));
      const b = baseCopy(join(dir, `theirs${extra.join("")}`));
      const ra = await runOc(["-a", "--delete", ...extra, `--read-batch=${theirs.batch}`, a]);
      const rb = await runRsync(["-a", "--delete", ...extra, `--read-batch=${theirs.batch}`, b]);
      expect({ code: ra.code, err: ra.stderr }).toEqual({ code: rb.code, err: rb.stderr });
      // Deletions (the generator's) and items (read from the batch) interleave by timing; the rates too.
      const lines = (t: string) => maskFigures(t).split("\n").filter((l) => !/^(File list generation time|sent )/.test(l)).sort();
      expect(lines(ra.stdout)).toEqual(lines(rb.stdout));
      expect(tree(a)).toEqual(tree(b));
      if (extra[0] === "-n") expect(tree(a)).toEqual(tree(join(work, "base")));
    }
  });

  test("an incremental batch needs -r on the reader's command line", async () => {
    const { theirs, dir } = await writeBoth("local", ["-a"], "needs-r");
    const a = baseCopy(join(dir, "ours"));
    const b = baseCopy(join(dir, "theirs"));
    const ra = await runOc(["-pt", `--read-batch=${theirs.batch}`, a]);
    const rb = await runRsync(["-pt", `--read-batch=${theirs.batch}`, b]);
    expect({ code: ra.code, out: ra.stdout, err: normalizeErrors(ra.stderr) }).toEqual({ code: rb.code, out: rb.stdout, err: normalizeErrors(rb.stderr) });
    expect(ra.stderr).toContain("Incompatible options specified for inc-recursive batch file.");
    expect(tree(a)).toEqual(tree(join(work, "base")));
  });

  test("a file already up to date is skipped; one the batch lacks is reported", async () => {
    // Not incremental: upstream's reader hangs when an incremental batch lacks a file its generator wants.
    const { theirs, dir } = await writeBoth("local", ["-a", "--no-inc-recursive"], "skip");
    const prepare = (d: string) => {
      baseCopy(d);
      // "new" is already there as it should be; "same" now differs, and the batch has nothing for it.
      expect(spawnSync("cp", ["-a", join(work, "src/new"), join(d, "new")]).status).toBe(0);
      fs.writeFileSync(join(d, "same"), "edited here\n");
      fs.utimesSync(join(d, "same"), 1_600_000_000, 1_600_000_000);
      return d;
    };
    const a = prepare(join(dir, "skip-ours"));
    const b = prepare(join(dir, "skip-theirs"));
    const ra = await runOc(["-a", `--read-batch=${theirs.batch}`, a]);
    const rb = await runRsync(["-a", `--read-batch=${theirs.batch}`, b]);
    expect(ra.stdout).toBe(rb.stdout);
    expect(ra.stdout).toContain('(Skipping batched update for "new")');
    expect(ra.stderr).toContain('(No batched update for "same")');
    expect(normalizeErrors(ra.stderr)).toBe(normalizeErrors(rb.stderr));
    expect(ra.code).toBe(rb.code);
    expect(tree(a)).toEqual(tree(b));
  });
});

describe("hostile and broken batches", () => {
  // (Upstream's reader can hang on a cut batch, its receiver waiting on its generator: only ours is run.)
  test("a truncated batch fails with an error and a non-zero exit", async () => {
    const { theirs, dir } = await writeBoth("local", ["-a"], "trunc");
    const whole = fs.readFileSync(theirs.batch);
    for (const cut of [6, 40, Math.floor(whole.length / 2), whole.length - 30]) {
      const cutFile = join(dir, `cut-${cut}`);
      fs.writeFileSync(cutFile, whole.subarray(0, cut));
      const a = baseCopy(join(dir, `cut-ours-${cut}`));
      const ra = await runOc(["-a", `--read-batch=${cutFile}`, a]);
      expect({ cut, code: ra.code }).toEqual({ cut, code: 12 });
      expect(ra.stderr).toContain("connection unexpectedly closed");
      // A cut header: upstream ends at once, and says the same.
      if (cut < 20) {
        const rb = await runRsync(["-a", `--read-batch=${cutFile}`, baseCopy(join(dir, `cut-theirs-${cut}`))]);
        expect({ code: ra.code, err: normalizeErrors(ra.stderr) }).toEqual({ code: rb.code, err: normalizeErrors(rb.stderr) });
      }
      // The file being rebuilt when the batch ended is not left half-made.
      expect(fs.readdirSync(a).filter((n) => n.startsWith("."))).toEqual([]);
    }
  });

  test("a name climbing out of the destination is refused, nothing outside is written", async () => {
    // A batch of a one-file copy, its name rewritten to "../evil" (same length: the rest still parses).
    const dir = join(work, "evil");
    fs.mkdirSync(join(dir, "src"), { recursive: true });
    fs.writeFileSync(join(dir, "src", "xxxevil"), "payload\n");
    fs.mkdirSync(join(dir, "d0"));
    const batch = join(dir, "batch");
    expect((await runRsync(["-r", "--checksum-seed=7", `--write-batch=${batch}`, `${join(dir, "src")}/`, `${join(dir, "d0")}/`])).code).toBe(0);
    const bytes = fs.readFileSync(batch);
    const at = bytes.indexOf("xxxevil");
    expect(at).toBeGreaterThan(0);
    bytes.write("../evil", at, "latin1");
    fs.writeFileSync(batch, bytes);
    const results = [];
    for (const runner of [runOc, runRsync]) {
      const dest = join(dir, "inner", "dest");
      fs.rmSync(join(dir, "inner"), { recursive: true, force: true });
      fs.mkdirSync(dest, { recursive: true });
      const r = await runner(["-r", `--read-batch=${batch}`, dest]);
      expect(fs.readdirSync(join(dir, "inner"))).toEqual(["dest"]);
      expect(fs.readdirSync(dest)).toEqual([]);
      results.push({ code: r.code, stderr: normalizeErrors(r.stderr) });
    }
    expect(results[0]).toEqual(results[1]!);
    expect(results[0]!.stderr).toContain("ABORTING due to unsafe pathname from sender: ../evil");
  });

  test("options upstream refuses with batches are refused the same way", async () => {
    for (const args of [
      ["--write-batch=x", "--read-batch=y", "d"],
      ["--read-batch=y", "--files-from=z", "d"],
      ["--read-batch=y", "host:d"],
      ["--write-batch=/nonexistent/x", "src/", "d"],
    ]) {
      const a = await runOc(args, { cwd: work });
      const b = await runRsync(args, { cwd: work });
      expect(a.code).toBe(b.code);
      expect(normalizeErrors(a.stderr)).toBe(normalizeErrors(b.stderr));
    }
    // With a batch to read, a remote destination is what is refused.
    const { theirs } = await writeBoth("local", ["-a"], "remote");
    const a = await runOc([`--read-batch=${theirs.batch}`, "host:d"]);
    const b = await runRsync([`--read-batch=${theirs.batch}`, "host:d"]);
    expect({ code: a.code, err: normalizeErrors(a.stderr) }).toEqual({ code: b.code, err: normalizeErrors(b.stderr) });
  });

  test("a dry run writes no batch at all", async () => {
    const dir = join(work, "dry-write");
    fs.mkdirSync(dir, { recursive: true });
    for (const [runner, who] of [
      [runOc, "ours"],
      [runRsync, "theirs"],
    ] as const) {
      for (const opt of ["--write-batch", "--only-write-batch"]) {
        const r = await runner(["-an", `${opt}=${join(dir, `${who}${opt}`)}`, `${join(work, "src")}/`, join(dir, `d-${who}`)]);
        expect(r.code).toBe(0);
      }
    }
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test("a batch name through someone else's symlink is refused; our own symlink is followed", async () => {
    // Needs root to give a link to another user.
    if (process.getuid?.() !== 0) return;
    const dir = join(work, "links");
    fs.mkdirSync(join(dir, "real"), { recursive: true });
    fs.writeFileSync(join(dir, "victim"), "keep me\n");
    fs.symlinkSync("victim", join(dir, "planted"));
    fs.symlinkSync("real", join(dir, "theirdir"));
    fs.symlinkSync("real", join(dir, "ourdir"));
    for (const link of ["planted", "theirdir"]) expect(spawnSync("chown", ["-h", "nobody", join(dir, link)]).status).toBe(0);
    const cases = [
      ["-a", `--write-batch=${join(dir, "planted")}`, `${join(work, "src")}/`, join(dir, "d1")],
      ["-a", `--read-batch=${join(dir, "theirdir", "x")}`, join(dir, "d2")],
      ["-a", `--write-batch=${join(dir, "theirdir", "x")}`, `${join(work, "src")}/`, join(dir, "d3")],
    ];
    for (const args of cases) {
      const a = await runOc(args);
      const b = await runRsync(args);
      expect({ code: a.code, err: normalizeErrors(a.stderr) }).toEqual({ code: b.code, err: normalizeErrors(b.stderr) });
      expect(a.stderr).toContain("refusing to follow a symlink owned by an untrusted user");
    }
    expect(fs.readFileSync(join(dir, "victim"), "latin1")).toBe("keep me\n");
    expect(fs.readdirSync(join(dir, "real"))).toEqual([]);
    // Through our own link the batch is written where it points.
    const r = await runOc(["-a", `--write-batch=${join(dir, "ourdir", "b")}`, `${join(work, "src")}/`, join(dir, "d4")]);
    expect(r.code).toBe(0);
    expect(fs.readdirSync(join(dir, "real")).sort()).toEqual(["b", "b.sh"]);
  });

  test("a batch name that is not a regular file is refused", async () => {
    const a = await runOc(["-a", `--read-batch=${work}`, join(work, "nowhere")]);
    const b = await runRsync(["-a", `--read-batch=${work}`, join(work, "nowhere")]);
    expect(a.code).toBe(b.code);
    expect(normalizeErrors(a.stderr)).toBe(normalizeErrors(b.stderr));
  });
});
