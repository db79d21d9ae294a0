/**
 * Our daemon (`oc-rsync --daemon`) against upstream's, with upstream's client
 * on both: the same config, the same commands, and the outputs, exit codes
 * and resulting trees must agree. Covers listings and the MOTD, pulls and
 * pushes (with deltas and deletions) at several protocols, authentication
 * accepted and refused, hidden modules, read-only modules, refused options,
 * host rules, connection limits and munged symlinks; then our client against
 * our daemon.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { maskFigures, normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

let work: string;
const daemons: Record<"ours" | "upstream", RunningDaemon | null> = { ours: null, upstream: null };

function buildSource(root: string): void {
  fs.mkdirSync(join(root, "dir/deeper"), { recursive: true });
  fs.writeFileSync(join(root, "small"), "hello\n");
  fs.writeFileSync(join(root, "big"), Buffer.from(Array.from({ length: 30_000 }, (_, i) => `line ${i}\n`).join("")));
  fs.writeFileSync(join(root, "dir/a"), "a\n");
  fs.writeFileSync(join(root, "dir/deeper/b"), "b\n");
  fs.symlinkSync("small", join(root, "link"));
  fs.symlinkSync("/etc/passwd", join(root, "abs-link"));
  ageTree(root, 1_450_000_000);
}

/** Per daemon: a read-only source module and a writable destination module for each test. */
function modulesFor(kind: "ours" | "upstream"): ModuleConfig[] {
  const base = join(work, kind);
  const secrets = join(work, "secrets");
  return [
    { name: "src", path: join(work, "src"), params: { comment: "the source tree" } },
    { name: "hidden", path: join(work, "src"), params: { list: "no" } },
    { name: "push", path: join(base, "push"), params: { "read only": "no", uid: "0", gid: "0", "munge symlinks": "no" } },
    { name: "munged", path: join(base, "munged"), params: { "read only": "no", uid: "0", gid: "0" } },
    { name: "ro", path: join(base, "ro") },
    {
      name: "logged",
      path: join(base, "logged"),
      params: { "transfer logging": "yes", "log file": join(base, "transfer.log"), "read only": "no", uid: "0", gid: "0" },
    },
    { name: "jail", path: join(base, "jail"), params: { "use chroot": "yes", "read only": "no", uid: "0", gid: "0" } },
    { name: "nodelete", path: join(base, "nodelete"), params: { "read only": "no", uid: "0", gid: "0", "refuse options": "delete" } },
    { name: "secret", path: join(work, "src"), params: { "auth users": "alice, bob:deny, @nosuchgroup", "secrets file": secrets } },
    { name: "denied", path: join(work, "src"), params: { "hosts deny": "127.0.0.0/8" } },
    { name: "allowed", path: join(work, "src"), params: { "hosts allow": "10.0.0.0/8 127.0.0.1" } },
    { name: "unreadable", path: join(base, "unreadable"), params: { "ignore nonreadable": "yes" } },
    { name: "noread", path: join(base, "noread") },
    { name: "one", path: join(work, "src"), params: { "max connections": "1", "lock file": join(base, "lock") } },
    {
      name: "hooks",
      path: join(work, "src"),
      params: {
        "pre-xfer exec": `${join(work, "pre-xfer")} ${join(base, "pre.out")}`,
        "post-xfer exec": `${join(work, "post-xfer")} ${join(base, "post.out")}`,
      },
    },
  ];
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-daemon-"));
  buildSource(join(work, "src"));
  fs.writeFileSync(join(work, "secrets"), "alice:wonderland\nbob:builder\n", { mode: 0o600 });
  fs.writeFileSync(join(work, "motd"), "Welcome to the test daemon\nSecond line\n");
  // The hooks record what they were given; the pre-xfer one refuses any request naming "forbidden".
  fs.writeFileSync(
    join(work, "pre-xfer"),
    '#!/bin/sh\necho "$RSYNC_MODULE_NAME|$RSYNC_REQUEST|$RSYNC_ARG0|$RSYNC_ARG1|$RSYNC_HOST_ADDR|$RSYNC_USER_NAME" > "$1"\ncase "$RSYNC_REQUEST" in *forbidden*) echo "not today"; exit 3;; esac\n',
    { mode: 0o755 },
  );
  fs.writeFileSync(join(work, "post-xfer"), '#!/bin/sh\necho "$RSYNC_MODULE_NAME|$RSYNC_EXIT_STATUS|$RSYNC_RAW_STATUS" > "$1"\n', { mode: 0o755 });
  for (const kind of ["ours", "upstream"] as const) {
    for (const dir of ["push", "munged", "ro", "nodelete", "jail", "logged", "unreadable", "noread"]) fs.mkdirSync(join(work, kind, dir), { recursive: true });
    daemons[kind] = await startDaemon(kind, modulesFor(kind), { "motd file": join(work, "motd") });
  }
});

afterAll(async () => {
  await daemons.ours?.stop();
  await daemons.upstream?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

function masked(text: string, kind: "ours" | "upstream"): string {
  return maskFigures(normalizeErrors(text))
    // Upstream's daemon exits with the client's unread bytes in its socket, which resets the connection; ours has read them.
    .replace(/^rsync: \[sender\] read error: Connection reset by peer \(104\)\n/m, "")
    .replaceAll(join(work, kind), "BASE")
    .replace(/127\.0\.0\.1:\d+/g, "HOST:PORT")
    .replace(/\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d/g, "DATE");
}

/**
 * What the hooks module's post-xfer command recorded, once it says `expected` (or after 2 s): the
 * command runs once the session is over, which may be after the client has gone, in either daemon.
 */
async function postXferRecord(kind: string, expected: string): Promise<string> {
  const post = join(work, kind, "post.out");
  const read = () => (fs.existsSync(post) ? fs.readFileSync(post, "utf8") : "(none)");
  for (let i = 0; i < 100 && read() !== expected; i++) await Bun.sleep(20);
  return read();
}

/** Runs upstream's client against each daemon; `args` may use {url:MODULE/PATH} and {dest}. */
/**
 * `endsInReset`: upstream's daemon exits right after refusing, with the
 * client's bytes unread, and the reset can reach its client before the last
 * messages do (then the client exits 10). Compare only the refusal itself.
 */
async function both(args: string[], opts: { env?: Record<string, string>; endsInReset?: boolean } = {}) {
  const out: Record<string, { code: number; stdout: string; stderr: string; dest: string }> = {};
  for (const kind of ["ours", "upstream"] as const) {
    const d = daemons[kind]!;
    const dest = join(work, kind, "dest");
    const real = args.map((a) => a.replace(/\{url:([^}]*)\}/, (_, p: string) => `rsync://127.0.0.1:${d.port}/${p}`).replace("{dest}", dest).replace("{base}", join(work, kind)));
    const r = await runRsync(real, opts);
    out[kind] = { ...r, dest };
  }
  const ours = out.ours!;
  const theirs = out.upstream!;
  if (opts.endsInReset) {
    const refusal = (t: string) => masked(t, "ours").split("\n").slice(0, 2).join("\n");
    expect(refusal(ours.stderr)).toBe(refusal(theirs.stderr));
    expect(ours.code).not.toBe(0);
    return { ours, theirs };
  }
  expect(masked(ours.stderr, "ours")).toBe(masked(theirs.stderr, "upstream"));
  expect(masked(ours.stdout, "ours")).toBe(masked(theirs.stdout, "upstream"));
  expect(ours.code).toBe(theirs.code);
  return { ours, theirs };
}

const resetDest = () => {
  for (const kind of ["ours", "upstream"]) fs.rmSync(join(work, kind, "dest"), { recursive: true, force: true });
};

describe("upstream's client sees our daemon as upstream's", () => {
  test("module listing with the MOTD; a hidden module is not listed", async () => {
    await both(["{url:}"]);
    await both(["--no-motd", "{url:}"]);
  });

  test("pull -av, then a delta after edits", async () => {
    resetDest();
    await both(["-av", "{url:src/}", "{dest}/"]);
    expect(snapshot(join(work, "ours/dest"))).toEqual(snapshot(join(work, "upstream/dest")));
    // Edit the served tree: our sender must find the unchanged blocks as upstream's does.
    const big = join(work, "src/big");
    const saved = fs.readFileSync(big);
    fs.writeFileSync(big, Buffer.concat([saved.subarray(0, 10_000), Buffer.from("a new line\n"), saved.subarray(12_000)]));
    ageTree(join(work, "src"), 1_450_000_000);
    try {
      const r = await both(["-ai", "--no-whole-file", "--stats", "{url:src/}", "{dest}/"]);
      expect(r.ours.stdout).toMatch(/Matched data: [1-9]/);
      expect(snapshot(join(work, "ours/dest"))).toEqual(snapshot(join(work, "upstream/dest")));
    } finally {
      fs.writeFileSync(big, saved);
      ageTree(join(work, "src"), 1_450_000_000);
    }
  });

  [27, 29, 30, 31].forEach((p) => {
    test(`pull -aiH --delete at protocol ${p}, a listing of a hidden module`, async () => {
      resetDest();
      await both(["-aiH", "--delete", `--protocol=${p}`, "{url:src/dir}", "{dest}/"]);
      // "dir" itself is copied into DEST, which the transfer created: only what is inside must agree.
      expect(snapshot(join(work, "ours/dest"), { ignoreRoot: true })).toEqual(snapshot(join(work, "upstream/dest"), { ignoreRoot: true }));
      await both([`--protocol=${p}`, "{url:hidden/dir/}"]);
    });
  });

  test("push -ai, then a resync with --delete (links not munged)", async () => {
    const src = join(work, "push-src");
    fs.rmSync(src, { recursive: true, force: true });
    buildSource(src);
    await both(["-ai", `${src}/`, "{url:push/tree/}"]);
    expect(snapshot(join(work, "ours/push/tree"))).toEqual(snapshot(join(work, "upstream/push/tree")));
    fs.writeFileSync(join(src, "small"), "changed\n");
    fs.rmSync(join(src, "dir/deeper"), { recursive: true });
    ageTree(src, 1_460_000_000);
    const r = await both(["-ai", "--delete", "--no-whole-file", `${src}/`, "{url:push/tree/}"]);
    expect(r.ours.stdout).toContain("*deleting");
    expect(snapshot(join(work, "ours/push/tree"))).toEqual(snapshot(join(work, "upstream/push/tree")));
  });

  test("munged symlinks: stored with the prefix, sent back without it", async () => {
    await both(["-a", `${join(work, "src")}/`, "{url:munged/}"]);
    for (const kind of ["ours", "upstream"]) {
      expect(fs.readlinkSync(join(work, kind, "munged/abs-link"))).toBe("/rsyncd-munged//etc/passwd");
      expect(fs.readlinkSync(join(work, kind, "munged/link"))).toBe("/rsyncd-munged/small");
    }
    resetDest();
    await both(["-a", "{url:munged/}", "{dest}/"]);
    expect(fs.readlinkSync(join(work, "ours/dest/abs-link"))).toBe("/etc/passwd");
    expect(snapshot(join(work, "ours/dest"))).toEqual(snapshot(join(work, "upstream/dest")));
  });

  test("a chroot module: links kept as they are, pushed and pulled back", async () => {
    await both(["-ai", `${join(work, "src")}/`, "{url:jail/}"]);
    expect(fs.readlinkSync(join(work, "ours/jail/abs-link"))).toBe("/etc/passwd");
    expect(snapshot(join(work, "ours/jail"))).toEqual(snapshot(join(work, "upstream/jail")));
    resetDest();
    await both(["-ai", "--delete", "{url:jail/}", "{dest}/"]);
    expect(snapshot(join(work, "ours/dest"))).toEqual(snapshot(join(work, "upstream/dest")));
  });

  test("transfer logging: each file received, deleted and sent, in the module's log format", async () => {
    await both(["-a", `${join(work, "src")}/dir/`, "{url:logged/}"]);
    fs.writeFileSync(join(work, "ours/logged/stray"), "x");
    fs.writeFileSync(join(work, "upstream/logged/stray"), "x");
    await both(["-a", "--delete", `${join(work, "src")}/dir/`, "{url:logged/}"]);
    resetDest();
    await both(["-a", "{url:logged/}", "{dest}/"]);
    // "DATE [PID] op host [addr] module (user) file length", the transfer lines only.
    const transfers = (file: string) =>
      fs
        .readFileSync(file, "utf8")
        .split("\n")
        .map((l) => l.replace(/^\S+ \S+ \[\d+\] /, ""))
        .filter((l) => /^(send|recv|del\.) /.test(l))
        .sort();
    const ours = transfers(join(work, "ours/transfer.log"));
    expect(ours.length).toBeGreaterThan(3);
    expect(ours).toEqual(transfers(join(work, "upstream/transfer.log")));
  });

  test("authentication: accepted, wrong password, denied user, no password", async () => {
    resetDest();
    await both(["-a", "{url:secret/}", "{dest}/"], { env: { USER: "alice", RSYNC_PASSWORD: "wonderland" } });
    expect(fs.existsSync(join(work, "ours/dest/small"))).toBe(true);
    const wrong = await both(["-a", "{url:secret/}", "{dest}/"], { env: { USER: "alice", RSYNC_PASSWORD: "nope" } });
    expect(wrong.ours.code).toBe(5);
    await both(["-a", "{url:secret/}", "{dest}/"], { env: { USER: "bob", RSYNC_PASSWORD: "builder" } });
    await both(["-a", "{url:secret/}", "{dest}/"], { env: { USER: "mallory", RSYNC_PASSWORD: "x" } });
    // Older protocols: no digest list in the greeting, so MD4 (27-29) or MD5 (30+) by default.
    for (const p of [27, 29, 30]) {
      resetDest();
      await both([`--protocol=${p}`, "-a", "{url:secret/}", "{dest}/"], { env: { USER: "alice", RSYNC_PASSWORD: "wonderland" } });
      expect(fs.existsSync(join(work, "ours/dest/small"))).toBe(true);
      await both([`--protocol=${p}`, "-a", "{url:secret/}", "{dest}/"], { env: { USER: "alice", RSYNC_PASSWORD: "wrong" } });
    }
  });

  test("a read-only module refuses a push", async () => {
    const r = await both(["-a", `${join(work, "src")}/`, "{url:ro/}"]);
    expect(r.ours.stderr).toContain("module is read only");
    expect(fs.readdirSync(join(work, "ours/ro"))).toEqual([]);
  });

  test("refused options", async () => {
    const r = await both(["-a", "--delete", `${join(work, "src")}/`, "{url:nodelete/}"]);
    expect(r.ours.stderr).toContain("refuse --delete");
    await both(["-a", "--delete-after", `${join(work, "src")}/`, "{url:nodelete/}"]);
  });

  test("hosts deny and hosts allow", async () => {
    const r = await both(["{url:denied/}"]);
    expect(r.ours.stderr).toContain("access denied to denied from");
    resetDest();
    await both(["-a", "{url:allowed/dir/}", "{dest}/"]);
  });

  test("pre-xfer and post-xfer exec: their environment, and a refusal", async () => {
    resetDest();
    await both(["-a", "{url:hooks/dir/}", "{dest}/"]);
    for (const kind of ["ours", "upstream"]) {
      expect(fs.readFileSync(join(work, kind, "pre.out"), "utf8")).toBe("hooks|hooks/dir/|rsyncd|--server|127.0.0.1|\n");
      expect(await postXferRecord(kind, "hooks|0|0\n")).toBe("hooks|0|0\n");
    }
    const r = await both(["-a", "{url:hooks/forbidden}", "{dest}/"], { endsInReset: true });
    expect(r.ours.stderr).toContain("not today");
    for (const kind of ["ours", "upstream"]) expect(await postXferRecord(kind, "hooks|4|1024\n")).toBe("hooks|4|1024\n");
  });

  test("a chroot-less module is never left through a symlink: pull and -R pull refused, push refused", async () => {
    // src/abs-link points at /etc/passwd; make a link to a directory outside as well.
    const outside = join(work, "outside-dir");
    fs.mkdirSync(outside, { recursive: true });
    fs.writeFileSync(join(outside, "secret"), "secret\n");
    const link = join(work, "src", "out");
    fs.symlinkSync(outside, link);
    try {
      resetDest();
      const r = await both(["-a", "{url:src/out/secret}", "{dest}/"], { endsInReset: true });
      expect(r.ours.stderr).toContain('change_dir "out" (in src) failed: Too many levels of symbolic links (40)');
      expect(r.ours.code).toBe(23);
      expect(fs.existsSync(join(work, "ours/dest/secret"))).toBe(false);
      const rr = await both(["-aR", "{url:src/out/secret}", "{dest}/"], { endsInReset: true });
      expect(rr.ours.code).toBe(23);
      expect(fs.existsSync(join(work, "ours/dest/out"))).toBe(false);
    } finally {
      fs.unlinkSync(link);
    }
    // A push whose destination lies behind a symlink in the module.
    const pushLink = join(work, "ours/push/escape");
    fs.symlinkSync(outside, pushLink);
    try {
      const p = await runRsync(["-a", `${join(work, "src")}/small`, `rsync://127.0.0.1:${daemons.ours!.port}/push/escape/`]);
      expect(p.code).not.toBe(0);
      expect(p.stderr).toContain("Too many levels of symbolic links");
      expect(fs.existsSync(join(outside, "small"))).toBe(false);
    } finally {
      fs.unlinkSync(pushLink);
    }
  });

  test("ignore nonreadable: what the module's user cannot read is left out", async () => {
    for (const kind of ["ours", "upstream"]) {
      const dir = join(work, kind, "unreadable");
      fs.writeFileSync(join(dir, "public"), "for all\n");
      fs.writeFileSync(join(dir, "private"), "root only\n", { mode: 0o600 });
      fs.chmodSync(dir, 0o755);
      ageTree(dir, 1_450_000_000);
    }
    resetDest();
    const r = await both(["-ai", "{url:unreadable/}", "{dest}/"]);
    expect(r.ours.code).toBe(0);
    expect(fs.existsSync(join(work, "ours/dest/public"))).toBe(true);
    expect(fs.existsSync(join(work, "ours/dest/private"))).toBe(false);
  });

  test("files the module's user cannot open: each one reported, the others sent whole around them, exit 23", async () => {
    const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * seed + (i >> 9)) & 0xff));
    for (const kind of ["ours", "upstream"]) {
      const dir = join(work, kind, "noread");
      // Sizes around the pieces a file is read in: one token, several, more than a read buffer.
      for (const [name, size] of [["a-small", 100], ["b-tokens", 70_000], ["c-large", 600_000], ["d-empty", 0]] as const) {
        fs.writeFileSync(join(dir, name), bytes(size, 7));
        fs.writeFileSync(join(dir, `${name}-private`), bytes(size, 13), { mode: 0o600 });
      }
      ageTree(dir, 1_450_000_000);
    }
    resetDest();
    const r = await both(["-a", "{url:noread/}", "{dest}/"]);
    expect(r.ours.code).toBe(23);
    expect(r.ours.stderr).toContain("failed to open");
    expect(snapshot(join(work, "ours/dest"))).toEqual(snapshot(join(work, "upstream/dest")));
    expect(fs.readFileSync(join(work, "ours/dest/c-large"))).toEqual(bytes(600_000, 7));
    expect(fs.existsSync(join(work, "ours/dest/b-tokens-private"))).toBe(false);
  });

  test("unknown module", async () => {
    await both(["{url:nosuch/}"]);
  });

  test("max connections: a second client is turned away while the first holds the slot", async () => {
    for (const kind of ["ours", "upstream"] as const) {
      const d = daemons[kind]!;
      // A client that takes the slot and stays: greeting, module name, then silence.
      const holder = connect({ host: "127.0.0.1", port: d.port });
      let got = "";
      holder.on("data", (b) => (got += b.toString()));
      holder.write("@RSYNCD: 31.0 md5\none\n");
      for (let i = 0; i < 100 && !got.includes("@RSYNCD: OK"); i++) await Bun.sleep(20);
      expect(got).toContain("@RSYNCD: OK");
      const r = await runRsync([`rsync://127.0.0.1:${d.port}/one/`]);
      expect(r.stderr).toContain("@ERROR: max connections (1) reached -- try again later");
      expect(r.code).toBe(5);
      holder.destroy();
      // Once the holder is gone the slot is free again.
      let freed = false;
      for (let i = 0; i < 50 && !freed; i++) {
        await Bun.sleep(50);
        freed = (await runRsync([`rsync://127.0.0.1:${d.port}/one/`])).code === 0;
      }
      expect(freed).toBe(true);
    }
  });
});

describe("starting our daemon", () => {
  test("it detaches, writes its pid file, serves, and removes the pid file when stopped", async () => {
    const dir = join(work, "detached");
    fs.mkdirSync(dir, { recursive: true });
    const pidFile = join(dir, "rsyncd.pid");
    const config = join(dir, "rsyncd.conf");
    fs.writeFileSync(config, `pid file = ${pidFile}\nuse chroot = no\n[src]\n  path = ${join(work, "src")}\n`);
    const port = 20000 + Math.floor(Math.random() * 40000);
    const start = await runOc(["--daemon", `--config=${config}`, `--port=${port}`, "--address=127.0.0.1"]);
    // The command returns at once; the daemon lives on in the background.
    expect(start.code).toBe(0);
    let pid = 0;
    for (let i = 0; i < 100 && !pid; i++) {
      await Bun.sleep(50);
      if (fs.existsSync(pidFile)) pid = Number.parseInt(fs.readFileSync(pidFile, "utf8"), 10);
    }
    expect(pid).toBeGreaterThan(0);
    try {
      const r = await runRsync([`rsync://127.0.0.1:${port}/`]);
      expect(r.stdout).toContain("src");
    } finally {
      process.kill(pid, "SIGTERM");
    }
    for (let i = 0; i < 100 && fs.existsSync(pidFile); i++) await Bun.sleep(50);
    expect(fs.existsSync(pidFile)).toBe(false);
  });
});

describe("our client with our daemon", () => {
  test("pull and push round trip", async () => {
    const d = daemons.ours!;
    const dest = join(work, "ours-ours");
    const r = await runOc(["-aH", `rsync://127.0.0.1:${d.port}/src/`, `${dest}/`]);
    expect(r.code).toBe(0);
    expect(snapshot(dest)).toEqual(snapshot(join(work, "src")));
    const p = await runOc(["-aH", "--delete", `${dest}/`, `rsync://127.0.0.1:${d.port}/push/roundtrip/`]);
    expect(p.stderr).toBe("");
    expect(p.code).toBe(0);
    // The module does not munge links, so (chroot-less) it keeps their targets inside it, as upstream's does.
    const pushed = snapshot(join(work, "ours/push/roundtrip"));
    const original = snapshot(join(work, "src"));
    expect(pushed["abs-link"]?.target).toBe("etc/passwd");
    delete pushed["abs-link"];
    delete original["abs-link"];
    expect(pushed).toEqual(original);
  });
});
