/**
 * --delay-updates, -y/--fuzzy, -U/--atimes (-UU, --open-noatime) and --fsync
 * against upstream, in every role: a local copy, our client pulling from and
 * pushing to upstream's daemon, and upstream's client pushing to and pulling
 * from our daemon. Each run is compared with upstream doing the same on a
 * fresh copy of the same destination: trees, item lines (and the --stats
 * literal/matched totals, which show which delta basis was used), exit codes,
 * and for -U the access times of the destination and of the source after the
 * run (reading a file moves its atime unless it is opened with O_NOATIME).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { setTimes } from "../../src/fs/libc.ts";
import { nameDistance } from "../../src/roles/fuzzy-basis.ts";
import { startBothDaemons, stopDaemons, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { maskFigures, normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";
import { noise } from "../helpers/noise.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";

let work: string;
let upstream: RunningDaemon;
let ours: RunningDaemon;

type Mode = "local" | "pull" | "push" | "upstream-push-to-ours" | "upstream-pull-from-ours" | "upstream-push-to-our-server" | "upstream-pull-from-our-server";
const MODES: Mode[] = ["local", "pull", "push", "upstream-push-to-ours", "upstream-pull-from-ours"];
/** Upstream's client with our --server over a remote shell: the server's side of each option (pulls test our sender, pushes our receiver). */
const SHELL_MODES: Mode[] = ["upstream-push-to-our-server", "upstream-pull-from-our-server"];

const write = (path: string, data: string | Uint8Array) => {
  fs.mkdirSync(join(path, ".."), { recursive: true });
  fs.writeFileSync(path, data);
};

/** The atimes the tests set are all older than this: a later one was moved by a read ("now", whatever second that was). */
const MOVED = 1_600_000_000;

/** Every non-directory, non-symlink entry of a tree with its access time (seconds), -1 for one a read has moved. */
function atimes(root: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(join(root, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(join(root, path), { bigint: true });
      if (st.isDirectory()) walk(path);
      else if (!st.isSymbolicLink()) {
        const seconds = Number(st.atimeNs / 1_000_000_000n);
        out[path] = seconds > MOVED ? -1 : seconds;
      }
    }
  };
  walk("");
  return out;
}

/** Gives the files of a tree fixed access times (their mtimes stay). */
function setAtimes(root: string, base: number): void {
  let n = 0;
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = fs.lstatSync(path, { bigint: true });
      if (st.isDirectory()) walk(path);
      else if (!st.isSymbolicLink()) {
        n++;
        setTimes(path, Number(st.mtimeNs / 1_000_000_000n), Number(st.mtimeNs % 1_000_000_000n), false, base + n * 86_400);
      }
    }
  };
  walk(root);
}

/** A scenario: a source (work/NAME/src, served as src/NAME/src) and the destination every run starts from. */
interface Scenario {
  name: string;
  source: (root: string) => void;
  dest: (root: string) => void;
}

const delayScenario: Scenario = {
  name: "delay",
  source: (root) => {
    write(join(root, "changed"), Buffer.concat([Buffer.from(noise(30_000, 1)), Buffer.from("new tail\n")]));
    write(join(root, "new"), Buffer.from(noise(9_000, 2)));
    write(join(root, "sub/same"), Buffer.from(noise(4_000, 3)));
    write(join(root, "sub/resumed"), Buffer.from(noise(20_000, 4)));
    write(join(root, "sub/deeper/more"), Buffer.from(noise(1_000, 5)));
    ageTree(root, 1_450_000_000);
  },
  dest: (root) => {
    write(join(root, "changed"), Buffer.from(noise(30_000, 1)));
    write(join(root, "sub/extra"), "not in the source\n");
    // An earlier run left part of a file in the partial dir: it is the basis, and goes.
    write(join(root, "sub/.~tmp~/resumed"), Buffer.from(noise(12_000, 4)));
  },
};

/** Names chosen to exercise upstream's suffix rules and distance weights; each candidate is a different prefix of the target. */
const FUZZY_CASES: [string, string[]][] = [
  ["report-2021.txt", ["report-2020.txt", "report-2021.txt.bak", "report.txt", "other.doc"]],
  ["data.tar.gz", ["data.tar.bz2", "data.tgz", "data.tar.gz~", "data.tar.gz.1"]],
  ["photo_001.jpg", ["photo_002.jpg", "photo_001.png", "photo.jpg"]],
  ["Makefile", ["makefile", "Makefile.old", "Makefile~"]],
  [".bashrc", [".bashrc.orig", ".profile", "bashrc"]],
  ["x", ["y", "xx", "abcdefghijklmnopqrstuvwxyz0123456789"]],
  ["aaa3", ["aaa1", "aaa2"]],
  ["file.1.2.3", ["file.1.2.4", "file.1"]],
  ["lib.so.6", ["lib.so.5", "lib.so"]],
  ["notes.md~", ["notes.md.~1~", "notes.txt"]],
  ["a.b.c.bak", ["a.b.c", "a.b.d.bak"]],
  ["v10.tar", ["v9.tar", "v11.tar", "v1.tar"]],
];

const fuzzyScenario: Scenario = {
  name: "fuzzy",
  source: (root) => {
    FUZZY_CASES.forEach(([target], i) => write(join(root, `d${i}`, target), Buffer.from(noise(700 * 12, 100 + i))));
    // A file of the same size and mtime wins whatever its name.
    write(join(root, "same/new-name.bin"), Buffer.from(noise(5_000, 200)));
    // A file being updated is no basis for a missing file after it (once the directory has been looked at).
    write(join(root, "upd/a-new.txt"), Buffer.from(noise(7_000, 300)));
    write(join(root, "upd/b-upd.txt"), Buffer.from(noise(7_000, 301)));
    write(join(root, "upd/c-new.txt"), Buffer.from(noise(7_000, 303)));
    ageTree(root, 1_450_000_000);
  },
  dest: (root) => {
    FUZZY_CASES.forEach(([, candidates], i) => {
      candidates.forEach((c, j) => write(join(root, `d${i}`, c), Buffer.from(noise(700 * 12, 100 + i)).subarray(0, 700 * (j + 1))));
    });
    write(join(root, "same/new-name.bim"), Buffer.from(noise(100, 200)));
    write(join(root, "same/zzz.unrelated"), Buffer.from(noise(5_000, 200)));
    write(join(root, "upd/b-upd.txt"), Buffer.from(noise(7_000, 300)));
    write(join(root, "upd/zz-old.txt"), Buffer.from(noise(3_500, 303)));
    ageTree(root, 1_460_000_000);
    // The size+mtime match needs the source's mtime (ageTree numbers entries the same way in both trees).
    const src = fs.lstatSync(join(work, "fuzzy/src/same/new-name.bin"), { bigint: true });
    setTimes(join(root, "same/zzz.unrelated"), Number(src.mtimeNs / 1_000_000_000n), 0, false);
  },
};

const atimeScenario: Scenario = {
  name: "atimes",
  source: (root) => {
    write(join(root, "a"), Buffer.from(noise(3_000, 10)));
    write(join(root, "b"), Buffer.from(noise(3_000, 11)));
    write(join(root, "sub/c"), Buffer.from(noise(3_000, 12)));
    write(join(root, "sub/d"), Buffer.from(noise(50_000, 13)));
    fs.symlinkSync("a", join(root, "link"));
    ageTree(root, 1_450_000_000);
  },
  dest: (root) => {
    // b is up to date but for its atime; sub/c differs in mtime; sub/d in content.
    fs.cpSync(join(work, "atimes/src/b"), join(root, "b"), { preserveTimestamps: true });
    write(join(root, "sub/c"), Buffer.from(noise(3_000, 12)));
    write(join(root, "sub/d"), Buffer.from(noise(40_000, 13)));
    setAtimes(root, 1_300_000_000);
  },
};

const SCENARIOS = [delayScenario, fuzzyScenario, atimeScenario];

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-delay-fuzzy-"));
  for (const s of SCENARIOS) {
    s.source(join(work, s.name, "src"));
    fs.mkdirSync(join(work, s.name, "d0"), { recursive: true });
    s.dest(join(work, s.name, "d0"));
  }
  fs.mkdirSync(join(work, "w"));
  // A remote shell that drops "-l USER" and the host, as ssh's far end would.
  writeFakeRsh(join(work, "rsh"));
  // A --compare-dest dir beside every destination ("../cmp" from work/NAME and from work/w/NAME): -yy looks there too.
  // Its report-2022.txt ties with the destination's report-2020.txt, and the later (the basis dir's) wins.
  for (const cmp of [join(work, "cmp"), join(work, "w/cmp")]) {
    write(join(cmp, "d0/report-2022.txt"), Buffer.from(noise(700 * 12, 100)).subarray(0, 700 * 10));
    ageTree(cmp, 1_470_000_000);
  }
  const modules: ModuleConfig[] = [
    { name: "src", path: work, params: { uid: "0", gid: "0" } },
    { name: "src-noatime", path: work, params: { uid: "0", gid: "0", "open noatime": "yes" } },
    { name: "w", path: join(work, "w"), params: { "read only": "no", uid: "0", gid: "0" } },
  ];
  ({ upstream, ours } = await startBothDaemons(modules));
});

afterAll(async () => {
  await stopDaemons(upstream, ours);
  fs.rmSync(work, { recursive: true, force: true });
});

const masked = (text: string, dest: string) =>
  maskFigures(text)
    .replaceAll(dest, "DEST")
    .replaceAll(basename(dest), "DEST")
    .split("\n")
    .filter(Boolean)
    .sort();

interface RunOutcome {
  code: number;
  stdout: string[];
  stderr: string;
  dest: string;
  /** Access times of the destination's files and of the source's, right after the run. */
  destAtimes: Record<string, number>;
  sourceAtimes: Record<string, number>;
}

let runCount = 0;

/** One run of `args` in `mode`, by our side ("ours") or upstream's ("theirs"), from a fresh copy of the scenario's destination. */
async function runOnce(mode: Mode, s: Scenario, args: string[], who: "ours" | "theirs"): Promise<RunOutcome> {
  const name = `${s.name}-${mode}-${++runCount}-${who}`;
  const dest = join(work, mode === "push" || mode === "upstream-push-to-ours" ? "w" : "", name);
  fs.cpSync(join(work, s.name, "d0"), dest, { recursive: true, preserveTimestamps: true });
  const src = join(work, s.name, "src");
  // Reading a file moves its atime: every run starts from the same ones.
  setAtimes(src, 1_400_000_000);
  setAtimes(dest, 1_300_000_000);
  const daemon = who === "theirs" ? upstream : mode.endsWith("ours") ? ours : upstream;
  const pulling = mode.includes("pull");
  let from = pulling ? daemon.url("src", `${s.name}/src/`) : `${src}/`;
  let to = mode === "local" || pulling ? `${dest}/` : daemon.url("w", `${name}/`);
  const client = who === "ours" && (mode === "local" || mode === "pull" || mode === "push") ? runOc : runRsync;
  // Over a remote shell: upstream's client with our --server (or, for the reference run, upstream's).
  const shell: string[] = [];
  if (mode.includes("server")) {
    shell.push("-e", join(work, "rsh"));
    if (who === "ours") shell.push(`--rsync-path=${process.execPath} ${join(import.meta.dir, "../../src/main.ts")}`);
    if (mode.includes("pull")) from = `localhost:${src}/`;
    else to = `localhost:${dest}/`;
  }
  const r = await client([...shell, ...args, from, to]);
  return {
    code: r.code,
    stdout: masked(r.stdout, dest),
    stderr: normalizeErrors(r.stderr).replaceAll(dest, "DEST").replaceAll(basename(dest), "DEST"),
    dest,
    destAtimes: atimes(dest),
    sourceAtimes: atimes(src),
  };
}

async function compare(mode: Mode, s: Scenario, args: string[], opts: { atimes?: boolean } = {}) {
  const a = await runOnce(mode, s, args, "ours");
  const b = await runOnce(mode, s, args, "theirs");
  expect(a.stderr).toBe(b.stderr);
  expect(a.code).toBe(b.code);
  // Upstream succeeded (24: a basis it named vanished, see -yy), so this compares real transfers.
  expect([0, 24]).toContain(b.code);
  expect(a.stdout).toEqual(b.stdout);
  if (opts.atimes) {
    expect(a.destAtimes).toEqual(b.destAtimes);
    expect(a.sourceAtimes).toEqual(b.sourceAtimes);
  }
  expect(snapshot(a.dest, { ignoreDirTimes: true })).toEqual(snapshot(b.dest, { ignoreDirTimes: true }));
  return { ours: a, theirs: b };
}

/** A TCP proxy that passes `limit` bytes from the server, then cuts the connection. */
function cuttingProxy(targetPort: number, limit: number): Promise<{ port: number; close(): void }> {
  return new Promise((resolve) => {
    const server = net.createServer((client) => {
      const target = net.connect(targetPort, "127.0.0.1");
      let passed = 0;
      client.on("data", (d: Buffer) => target.write(d));
      target.on("data", (d: Buffer) => {
        if (passed >= limit) return;
        const room = limit - passed;
        passed += d.length;
        if (d.length < room) return void client.write(d);
        // What passed is delivered, then the client sees the end.
        client.end(d.subarray(0, room));
        target.destroy();
      });
      for (const s of [client, target]) {
        s.on("error", () => {});
        s.on("close", () => (s === client ? target : client).end());
      }
    });
    server.listen(0, "127.0.0.1", () => resolve({ port: (server.address() as net.AddressInfo).port, close: () => server.close() }));
  });
}

/** Every partial dir left anywhere in a tree. */
function leftoverPartialDirs(root: string, name: string): string[] {
  const found: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.name === name) found.push(path);
      if (e.isDirectory()) walk(path);
    }
  };
  walk("");
  return found;
}

describe("--delay-updates as upstream", () => {
  for (const mode of MODES) {
    test(`with --delete and a partial file left by an earlier run: ${mode}`, async () => {
      const { ours: a } = await compare(mode, delayScenario, ["-a", "-i", "--no-W", "--delay-updates", "--delete", "--stats"]);
      expect(leftoverPartialDirs(a.dest, ".~tmp~")).toEqual([]);
      // The earlier run's part was the basis of sub/resumed (12,000 bytes of it, beside changed's 29,400).
      expect(a.stdout).toContain("Matched data: 41,300 bytes");
      expect(fs.readFileSync(join(a.dest, "changed")).toString("latin1")).toEndWith("new tail\n");
    });
    test(`into a --partial-dir of its own: ${mode}`, async () => {
      const { ours: a } = await compare(mode, delayScenario, ["-a", "-i", "--delay-updates", "--partial-dir=.pd"]);
      expect(leftoverPartialDirs(a.dest, ".pd")).toEqual([]);
    });
  }

  /**
   * A pull cut in the middle of the third file: the two files that came
   * whole are waiting in .~tmp~, none is in place (without --delay-updates
   * they would be). Only pulls: a receiving daemon would still be finishing
   * when its client has gone, and upstream's logs nothing to wait for.
   */
  const cutCases: { name: string; mode: Mode; args: string[] }[] = [
    { name: "our client pulling from upstream's daemon", mode: "pull", args: ["-a", "--delay-updates"] },
    { name: "without --delay-updates the finished files are in place (control)", mode: "pull", args: ["-a"] },
  ];
  for (const c of cutCases) {
    test(`a transfer cut short leaves everything in the partial dir: ${c.name}`, async () => {
      const src = join(work, "cut/src");
      if (!fs.existsSync(src)) for (let i = 1; i <= 5; i++) write(join(src, `f${i}`), Buffer.from(noise(200_000, 40 + i)));
      const outcome = async (who: "ours" | "theirs") => {
        const proxy = await cuttingProxy(upstream.port, 500_000);
        const name = `cut-${c.mode}-${c.args.length}-${who}`;
        const dest = join(work, name);
        const r = await (who === "ours" ? runOc : runRsync)([...c.args, `rsync://127.0.0.1:${proxy.port}/src/cut/src/`, `${dest}/`]);
        proxy.close();
        const whole = (dir: string) =>
          fs.existsSync(dir)
            ? fs
                .readdirSync(dir)
                .filter((n) => fs.statSync(join(dir, n)).isFile() && fs.statSync(join(dir, n)).size === 200_000)
                .sort()
            : [];
        return { code: r.code, placed: whole(dest), waiting: whole(join(dest, ".~tmp~")) };
      };
      const a = await outcome("ours");
      const b = await outcome("theirs");
      expect(a).toEqual(b);
      expect(a.code).not.toBe(0);
      if (c.args.includes("--delay-updates")) {
        expect(a.placed).toEqual([]);
        expect(a.waiting).toEqual(["f1", "f2"]);
      } else expect(a.placed).toEqual(["f1", "f2"]);
    });
  }

  for (const args of [["--inplace", "--delay-updates"], ["--append", "--delay-updates"], ["--inplace", "--partial-dir=x"], ["--append-verify", "--partial-dir=x", "--delay-updates"]]) {
    test(`${args.join(" ")} is refused as upstream refuses it`, async () => {
      const a = await runOc(["-a", ...args, `${join(work, "delay/src")}/`, join(work, "refused-ours")]);
      const b = await runRsync(["-a", ...args, `${join(work, "delay/src")}/`, join(work, "refused-theirs")]);
      expect(a.code).toBe(b.code);
      expect(normalizeErrors(a.stderr)).toBe(normalizeErrors(b.stderr));
      expect(fs.existsSync(join(work, "refused-ours"))).toBe(false);
    });
  }

  test("with -H, the link to a delayed file is made once it is in place, as upstream", async () => {
    const root = join(work, "delay-hl");
    write(join(root, "src/x/one"), Buffer.from(noise(2_000, 20)));
    fs.mkdirSync(join(root, "src/y"));
    fs.linkSync(join(root, "src/x/one"), join(root, "src/y/two"));
    ageTree(join(root, "src"), 1_450_000_000);
    const a = await runOc(["-aHi", "--delay-updates", `${root}/src/`, `${root}/ours/`]);
    const b = await runRsync(["-aHi", "--delay-updates", `${root}/src/`, `${root}/theirs/`]);
    expect(a.code).toBe(b.code);
    // The link is itemized after the transfers, once its leader is in place.
    expect(a.stdout.replaceAll("/ours", "/DEST")).toBe(b.stdout.replaceAll("/theirs", "/DEST"));
    expect(a.stdout.trimEnd()).toEndWith("hf+++++++++ x/one => y/two");
    expect(snapshot(join(root, "ours"), { ignoreDirTimes: true })).toEqual(snapshot(join(root, "theirs"), { ignoreDirTimes: true }));
    expect(fs.statSync(join(root, "ours/x/one")).ino).toBe(fs.statSync(join(root, "ours/y/two")).ino);
  });
});

describe("-y/--fuzzy as upstream (the literal/matched totals show the chosen basis)", () => {
  for (const mode of MODES) {
    test(`-y: ${mode}`, () => compare(mode, fuzzyScenario, ["-a", "-i", "-y", "--no-W", "--stats"]));
    test(`-yy without basis dirs, -ii: ${mode}`, () => compare(mode, fuzzyScenario, ["-a", "-ii", "-yy", "--no-W", "--stats"]));
    test(`-y with --delete-after: ${mode}`, () => compare(mode, fuzzyScenario, ["-a", "-v", "-y", "--no-W", "--delete-after", "--stats"]));
    // 3.5.0 forces no later deletion for -y: --delete (during) removes the candidates before they are looked for;
    // only upd/b-upd.txt, which is in the source, is left to be a-new.txt's basis (it holds a-new's content).
    test(`-y with --delete: ${mode}`, async () => {
      const { ours: a } = await compare(mode, fuzzyScenario, ["-a", "-i", "-y", "--no-W", "--delete", "--stats"]);
      expect(a.stdout).toContain("Matched data: 7,000 bytes");
    });
    // A receiving daemon's handling of a relative basis dir is not about fuzzy: upstream's ends up naming a basis that vanished.
    if (mode !== "upstream-push-to-ours") test(`-yy also searches the --compare-dest dir: ${mode}`, async () => {
      const { ours: a } = await compare(mode, fuzzyScenario, ["-a", "-i", "-yy", "--no-W", "--compare-dest=../cmp", "--stats"]);
      const once = await runOnce(mode, fuzzyScenario, ["-a", "-i", "-y", "--no-W", "--compare-dest=../cmp", "--stats"], "ours");
      // The basis dir's candidate has more of the file than the destination's (upstream's receiving daemon loses it, see above).
      const matched = (lines: string[]) => lines.find((l) => l.startsWith("Matched data:"));
      if (mode !== "push") expect(matched(a.stdout)).not.toBe(matched(once.stdout));
    });
  }

  test("-y in a local copy (whole files) still names the basis but sends everything", async () => {
    const { ours: a } = await compare("local", fuzzyScenario, ["-a", "-i", "-y", "--stats"]);
    expect(a.stdout).toContain("Matched data: 0 bytes");
  });

  test("a matched total that differs from plain delta shows the fuzzy basis was used", async () => {
    const { ours: a } = await compare("local", fuzzyScenario, ["-a", "-y", "--no-W", "--stats"]);
    const plain = await runOnce("local", fuzzyScenario, ["-a", "--no-W", "--stats"], "ours");
    expect(plain.stdout).toContain("Matched data: 0 bytes");
    expect(a.stdout).not.toContain("Matched data: 0 bytes");
  });

  test("name distances are upstream's to the last unit (its --debug=fuzzy2 figures)", async () => {
    // One candidate per directory, so each is scored against the full limit of 25 edits.
    const pairs: [string, string][] = [
      ["target-file.tar.gz", "target-file.tar.bz2"],
      ["target-file.tar.gz", ".target-file.tar.gz"],
      ["target-file.tar.gz", "TARGET-FILE.TAR.GZ"],
      ["target-file.tar.gz", "target.tar.gz"],
      ["target-file.tar.gz", "tgt-file.tgz"],
      ["target-file.tar.gz", "target-file.tar.gz.bak"],
      ["target-file.tar.gz", "target-file~"],
      ["target-file.tar.gz", "a"],
      ["report.txt", "report.txt.orig"],
      ["notes.md~", "notes.md.~12~"],
      ["v1.2.3", "v1.2.4"],
      ["x.123", "x.456"],
      ["lib.so.6", "lib.so"],
      ["Makefile", "makefile"],
      ["a.b.c.d", "a.b.c.d.old"],
      ["...hidden", "..hidden"],
      ["zz", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"],
      ["photo 001.JPG", "photo_001.jpg"],
    ];
    const root = join(work, "fuzzy-distances");
    pairs.forEach(([target, candidate], i) => {
      write(join(root, "src", `p${i}`, target), "x");
      write(join(root, "dst", `p${i}`, candidate), "longer than the source");
    });
    const r = await runRsync(["-r", "-y", "--no-W", "-n", "--debug=fuzzy2", `${root}/src/`, `${root}/dst/`]);
    const theirs = new Map<string, string>();
    for (const m of r.stdout.matchAll(/^fuzzy distance for (p\d+)\/.* = (\d+)\.(\d{5})$/gm)) theirs.set(m[1]!, `${m[2]}.${m[3]}`);
    expect(theirs.size).toBe(pairs.length);
    pairs.forEach(([target, candidate], i) => {
      const d = nameDistance(Buffer.from(candidate), Buffer.from(target), 25 << 16);
      expect(`p${i} ${Math.floor(d / 65536)}.${String(d % 65536).padStart(5, "0")}`).toBe(`p${i} ${theirs.get(`p${i}`)}`);
    });
  });

  test("below protocol 29 -y is refused as upstream refuses it", async () => {
    const a = await runOnce("local", fuzzyScenario, ["-a", "-y", "--protocol=28"], "ours");
    const b = await runOnce("local", fuzzyScenario, ["-a", "-y", "--protocol=28"], "theirs");
    expect(a.code).toBe(b.code);
    expect(a.stderr.split("\n")[0]).toBe(b.stderr.split("\n")[0]);
  });
});

describe("-U/--atimes and --open-noatime as upstream", () => {
  for (const mode of MODES) {
    test(`-U (atimes set, 'u' in the item lines): ${mode}`, async () => {
      const { ours: a } = await compare(mode, atimeScenario, ["-aU", "-i"], { atimes: true });
      // Set from the source's, not left at the copy's time.
      expect(a.destAtimes.a).toBeGreaterThan(0);
      expect(a.stdout).toContain(".f......u.. b");
    });
    test(`-UU (the sender leaves the source's atimes alone): ${mode}`, async () => {
      const { ours: a } = await compare(mode, atimeScenario, ["-aUU", "-i"], { atimes: true });
      expect(a.sourceAtimes["sub/d"]).toBeGreaterThan(0);
    });
    test(`--open-noatime without -U: ${mode}`, () => compare(mode, atimeScenario, ["-a", "-i", "--open-noatime"], { atimes: true }));
    test(`-U with --protocol=29 and -v: ${mode}`, () => compare(mode, atimeScenario, ["-aU", "-v", "--protocol=29"], { atimes: true }));
    // A listing is the receiving side's (a push lists nothing).
    if (mode === "local" || mode.includes("pull")) test(`--list-only -U shows the atime column: ${mode}`, async () => {
      const { ours: a } = await compare(mode, atimeScenario, ["-aU", "--list-only"], { atimes: true });
      expect(a.stdout.some((l) => / 20\d\d\/\d\d\/\d\d \d\d:\d\d:\d\d 20\d\d\/\d\d\/\d\d \d\d:\d\d:\d\d sub\/c$/.test(l))).toBe(true);
    });
    test(`--open-noatime on the receiving side: fuzzy bases and -c reads keep their atimes: ${mode}`, async () => {
      await compare(mode, fuzzyScenario, ["-a", "-i", "-y", "--no-W", "--open-noatime"], { atimes: true });
      await compare(mode, fuzzyScenario, ["-a", "-i", "-c", "-y", "--no-W", "-UU"], { atimes: true });
    });
  }

  // Upstream's walk opens the source's directories with O_NOATIME too; without the option, reading them moves their atimes.
  for (const [name, native] of [["", "1"], [" (TypeScript twin)", "0"]] as const) {
    test(`--open-noatime leaves the source directories' atimes${name}`, async () => {
      const root = join(work, `dir-atimes${native}`);
      for (const d of ["src/sub/deeper", "src/other"]) fs.mkdirSync(join(root, d), { recursive: true });
      fs.writeFileSync(join(root, "src/sub/deeper/f"), "f\n");
      const dirs = ["src", "src/sub", "src/sub/deeper", "src/other"];
      const copy = async (who: "ours" | "theirs", args: string[]) => {
        // Older than a day: relatime would move them on any read.
        for (const d of dirs) setTimes(join(root, d), 1_400_000_000, 0, false, 1_400_000_000);
        const dest = join(root, `${who}${args.length}`);
        const r = await (who === "ours" ? runOc : runRsync)(["-a", ...args, `${root}/src/`, `${dest}/`], { env: { OC_RSYNC_NATIVE: native } });
        expect(r.code).toBe(0);
        return dirs.map((d) => Number(fs.statSync(join(root, d)).atimeMs >= MOVED * 1000));
      };
      for (const args of [["--open-noatime"], []]) {
        const a = await copy("ours", args);
        expect(a).toEqual(await copy("theirs", args));
        expect(a).toEqual(dirs.map(() => (args.length ? 0 : 1)));
      }
    });
  }

  test("a daemon module's \"open noatime = yes\" reads without moving atimes, whatever the client says", async () => {
    const src = join(work, "atimes/src");
    const pull = async (daemon: RunningDaemon, dest: string) => {
      setAtimes(src, 1_400_000_000);
      const r = await runRsync(["-a", daemon.url("src-noatime", "atimes/src/"), join(work, dest)]);
      expect(r.code).toBe(0);
      return atimes(src);
    };
    const a = await pull(ours, "noatime-module-ours");
    expect(a).toEqual(await pull(upstream, "noatime-module-theirs"));
    expect(Object.values(a)).not.toContain(-1);
  });

  test("without -U reading the source moves its atimes (the test can see O_NOATIME)", async () => {
    const a = await runOnce("local", atimeScenario, ["-a"], "ours");
    expect(a.sourceAtimes["sub/d"]).toBe(-1);
  });
});

describe("--fsync", () => {
  for (const mode of MODES) {
    test(`accepted and forwarded: ${mode}`, () => compare(mode, delayScenario, ["-a", "-i", "--fsync"]));
  }

  test("each written file is fsync'ed (strace)", async () => {
    if (spawnSync("strace", ["-V"]).status !== 0) return;
    const dest = join(work, "fsync-dest");
    const trace = (args: string[]) => {
      fs.rmSync(dest, { recursive: true, force: true });
      const r = spawnSync("strace", ["-f", "-e", "trace=fsync", "-o", `${dest}.trace`, process.execPath, join(import.meta.dir, "../../src/main.ts"), ...args, `${join(work, "delay/src")}/`, `${dest}/`]);
      expect(r.status).toBe(0);
      return fs.readFileSync(`${dest}.trace`, "latin1").split("\n").filter((l) => /fsync\(\d+\)\s+= 0/.test(l)).length;
    };
    expect(trace(["-a"])).toBe(0);
    // Five regular files in the source.
    expect(trace(["-a", "--fsync"])).toBe(5);
  });
});

describe("over a remote shell, upstream's client with our --server", () => {
  for (const mode of SHELL_MODES) {
    test(`--delay-updates with --delete: ${mode}`, () => compare(mode, delayScenario, ["-a", "-i", "--no-W", "--delay-updates", "--delete", "--stats"]));
    test(`-y: ${mode}`, () => compare(mode, fuzzyScenario, ["-a", "-i", "-y", "--no-W", "--stats"]));
    test(`-U: ${mode}`, () => compare(mode, atimeScenario, ["-aU", "-i"], { atimes: true }));
    test(`-UU: ${mode}`, () => compare(mode, atimeScenario, ["-aUU", "-i"], { atimes: true }));
    test(`--open-noatime: ${mode}`, () => compare(mode, atimeScenario, ["-a", "-i", "--open-noatime"], { atimes: true }));
    test(`--fsync: ${mode}`, () => compare(mode, delayScenario, ["-a", "-i", "--fsync"]));
  }
});
