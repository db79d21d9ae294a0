/**
 * --iconv against upstream: names in ISO-8859-1 on one side and UTF-8 on the
 * other (symlink targets too), in a local copy, pulling from and pushing to
 * upstream's daemon, and upstream's client against our daemon. Trees are
 * compared by their names' bytes, with output and exit codes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBothDaemons, stopDaemons, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { maskFigures, normalizeErrors, runOc, runRsync } from "../helpers/run.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";

let work: string;
let upstream: RunningDaemon;
let ours: RunningDaemon;

const latin1 = (s: string) => Buffer.from(s, "latin1");
const utf8 = (s: string) => Buffer.from(s, "utf8");

/** The same names in one charset: two with accents, one in a directory, a symlink to one of them. */
function makeTree(root: string, enc: (s: string) => Buffer): void {
  const p = (...parts: string[]) => Buffer.concat([utf8(`${root}/`), enc(parts.join("/"))]);
  fs.mkdirSync(root, { recursive: true });
  fs.mkdirSync(p("dir"));
  fs.writeFileSync(p("café"), "x");
  fs.writeFileSync(p("dir", "naïve"), "yy");
  fs.writeFileSync(p("plain"), "zzz");
  fs.writeFileSync(p("Ünïcödé"), "w");
  fs.symlinkSync(enc("café"), p("lnk"));
  // Directories whose sub-lists are named by transmission order (incremental recursion).
  for (const d of ["été", "zèbre", "àpres", "b"]) {
    fs.mkdirSync(p(d));
    for (const f of ["ñ", "a", "ö", "z"]) fs.writeFileSync(p(d, f), `${d}${f}`);
    fs.mkdirSync(p(d, "sous-é"));
    fs.writeFileSync(p(d, "sous-é", "fin"), "f");
  }
  // Hard links across directories (and so across incremental sub-lists).
  fs.writeFileSync(p("zèbre", "lié"), "h");
  fs.linkSync(p("zèbre", "lié"), p("àpres", "lien-à"));
  fs.linkSync(p("zèbre", "lié"), p("b", "lien"));
}

/** Every entry under root by its name's bytes (hex where not ASCII), with content or link target. */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: Buffer, rel: string) => {
    for (const name of fs.readdirSync(dir, { encoding: "buffer" })) {
      const path = Buffer.concat([dir, utf8("/"), name]);
      const shown = `${rel}${[...name].map((b) => (b < 0x80 ? String.fromCharCode(b) : `\\x${b.toString(16)}`)).join("")}`;
      const st = fs.lstatSync(path);
      if (st.isSymbolicLink()) out.push(`${shown} -> ${fs.readlinkSync(path, { encoding: "buffer" }).toString("hex")}`);
      else if (st.isDirectory()) {
        out.push(`${shown}/`);
        walk(path, `${shown}/`);
      } else out.push(`${shown} ${fs.readFileSync(path, "latin1")}${st.nlink > 1 ? ` (${st.nlink} links)` : ""}`);
    }
  };
  walk(utf8(root), "");
  return out.sort();
}

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-iconv-"));
  makeTree(join(work, "l1"), latin1);
  makeTree(join(work, "u8"), utf8);
  fs.mkdirSync(join(work, "w"));
  // A --files-from list in latin1, and a remote shell that runs its command here.
  fs.writeFileSync(join(work, "list-l1"), Buffer.concat([latin1("café\n"), latin1("dir/naïve\n"), latin1("été/ñ\n")]));
  writeFakeRsh(join(work, "rsh"));
  const modules: ModuleConfig[] = [
    { name: "u8", path: join(work, "u8"), params: { uid: "0", gid: "0", charset: "UTF-8" } },
    { name: "plain", path: join(work, "u8"), params: { uid: "0", gid: "0" } },
    { name: "w", path: join(work, "w"), params: { "read only": "no", uid: "0", gid: "0", charset: "UTF-8", "munge symlinks": "no" } },
  ];
  ({ upstream, ours } = await startBothDaemons(modules));
});

afterAll(async () => {
  await stopDaemons(upstream, ours);
  fs.rmSync(work, { recursive: true, force: true });
});

const lines = (text: string, dests: string[]) => {
  let t = maskFigures(text);
  for (const d of dests) t = t.replaceAll(d, "DEST");
  return t.split("\n").filter(Boolean).sort();
};

let n = 0;

/**
 * Runs our client and upstream's with the same arguments (`args(dest)`
 * builds them for a destination name) and compares what they did.
 */
async function compare(args: (dest: string) => string[], destRoot: string, client: "both" | "upstream" = "both", expectTree?: string) {
  n++;
  const a = `ours-${n}`;
  const b = `theirs-${n}`;
  const first = client === "both" ? await runOc(args(a), { cwd: work }) : await runRsync(args(a), { cwd: work });
  const second = await runRsync(args(b), { cwd: work });
  expect(normalizeErrors(first.stderr).replaceAll(a, "DEST")).toBe(normalizeErrors(second.stderr).replaceAll(b, "DEST"));
  expect(first.code).toBe(second.code);
  expect(lines(first.stdout, [a])).toEqual(lines(second.stdout, [b]));
  const got = tree(join(destRoot, a));
  expect(got).toEqual(tree(join(destRoot, b)));
  // The source's names and contents (its hard links only count where -H was given: ours and upstream's trees are compared above).
  const unlinked = (t: string[]) => t.map((l) => l.replace(/ \(\d+ links\)$/, ""));
  if (expectTree) expect(unlinked(got)).toEqual(unlinked(tree(join(work, expectTree))));
  return got;
}

const ICONV = "--iconv=ISO-8859-1,UTF-8";

test("local copy: latin1 names arrive as UTF-8 (names, symlink target)", async () => {
  await compare((d) => ["-a", ICONV, "l1/", `${d}/`], work, "both", "u8");
});

test("local copy: UTF-8 names arrive as latin1 with --iconv=UTF-8,LATIN1", async () => {
  await compare((d) => ["-a", "--iconv=UTF-8,LATIN1", "u8/", `${d}/`], work, "both", "l1");
});

test("local copy, -i: itemized names and the tree match upstream's", async () => {
  await compare((d) => ["-ai", "--iconv=UTF-8,ISO8859-1", "u8/", `${d}/`], work, "both", "l1");
});

test("pull from upstream's daemon: UTF-8 names there, latin1 here", async () => {
  await compare((d) => ["-ai", ICONV, upstream.url("u8", ""), `${d}/`], work, "both", "l1");
});

test("pull from upstream's daemon with -s", async () => {
  await compare((d) => ["-a", "-s", ICONV, upstream.url("u8", ""), `${d}/`], work, "both", "l1");
});

test("push to upstream's daemon: latin1 here, UTF-8 there (-H)", async () => {
  await compare((d) => ["-aH", ICONV, "l1/", upstream.url("w", `${d}/`)], join(work, "w"), "both", "u8");
});

test("upstream's client pulling from our daemon", async () => {
  await compare((d) => ["-ai", ICONV, ours.url("u8", ""), `${d}/`], work, "upstream", "l1");
});

test("upstream's client pushing to our daemon (-H)", async () => {
  await compare((d) => ["-aH", ICONV, "l1/", ours.url("w", `${d}/`)], join(work, "w"), "upstream", "u8");
});

test("names that do not convert are reported and skipped (exit 23, the receiving half's own error line too)", async () => {
  const got = await compare((d) => ["-a", "--no-inc-recursive", "--iconv=UTF-8,ASCII", "u8/", `${d}/`], work);
  expect(got).toEqual(["b/", "b/a ba", "b/lien h", "b/z bz", "dir/", "plain zzz"]);
});

test("incremental recursion: a sub-list's name that does not convert aborts the transfer (exit 4), as upstream's does", async () => {
  const args = (d: string) => ["-a", "--iconv=UTF-8,ASCII", "u8/", `${d}/`];
  const a = await runOc(args("ascii-ir-ours"), { cwd: work });
  const b = await runRsync(args("ascii-ir-theirs"), { cwd: work });
  expect(a.code).toBe(4);
  expect(a.code).toBe(b.code);
  const lines = (text: string) => text.split("\n").filter((l) => l.includes("cannot convert") || l.startsWith("ABORTING")).sort();
  expect(lines(a.stderr)).toEqual(lines(b.stderr));
});

test("a sender's latin1 name read as UTF-8 does not convert", async () => {
  const got = await compare((d) => ["-a", "--iconv=UTF-8,UTF-8", "l1/", `${d}/`], work);
  expect(got).toEqual(["b/", "b/a ba", "b/lien h", "b/z bz", "dir/", "plain zzz"]);
});

test("an unknown charset fails as iconv_open does (exit 4)", async () => {
  const a = await runOc(["-a", "--iconv=BOGUS", "l1/", "nowhere/"], { cwd: work });
  expect(a.code).toBe(4);
  expect(a.stderr).toContain('iconv_open("UTF-8", "BOGUS") failed');
});

test("--no-iconv and --iconv=- turn conversion off, $RSYNC_ICONV turns it on", async () => {
  await compare((d) => ["-a", ICONV, "--no-iconv", "l1/", `${d}/`], work, "both", "l1");
  await compare((d) => ["-a", "--iconv=-", "l1/", `${d}/`], work, "both", "l1");
  n++;
  const env = { ...process.env, RSYNC_ICONV: "ISO-8859-1,UTF-8" } as Record<string, string>;
  const a = await runOc(["-a", "l1/", `env-${n}/`], { cwd: work, env });
  expect(a.code).toBe(0);
  expect(tree(join(work, `env-${n}`)).map((l) => l.replace(/ \(\d+ links\)$/, ""))).toEqual(tree(join(work, "u8")).map((l) => l.replace(/ \(\d+ links\)$/, "")));
});

test("a daemon module without a charset refuses --iconv, ours as upstream's", async () => {
  // Upstream's daemon may reset the connection after its refusal (load-dependent exit code): the first line is what counts.
  const a = await runRsync(["-a", ICONV, ours.url("plain", ""), "refused-ours/"], { cwd: work });
  const b = await runRsync(["-a", ICONV, upstream.url("plain", ""), "refused-theirs/"], { cwd: work });
  const c = await runOc(["-a", ICONV, upstream.url("plain", ""), "refused-oc/"], { cwd: work });
  for (const r of [a, b, c]) {
    expect(r.code).not.toBe(0);
    expect(r.stderr.split("\n")[0]).toBe("rsync: The server is configured to refuse --iconv");
  }
  expect(fs.existsSync(join(work, "refused-ours"))).toBe(false);
});

test("--files-from in latin1, pulling from upstream's daemon: converted under -s only, as upstream's", async () => {
  // Without -s upstream sends the names as they are, and the UTF-8 side finds none of them.
  await compare((d) => ["-a", "-s", ICONV, "--files-from=list-l1", upstream.url("u8", ""), `${d}/`], work);
  const got = await compare((d) => ["-a", "-s", ICONV, "--files-from=list-l1", upstream.url("u8", ""), `${d}/`], work);
  expect(got).toContain("caf\\xe9 x");
  // Upstream's client then ends its empty pull with load-dependent lines: the sender's complaints and the code are compared.
  const args = (d: string) => ["-a", ICONV, "--files-from=list-l1", upstream.url("u8", ""), `${d}/`];
  const a = await runOc(args("ff-raw-ours"), { cwd: work });
  const b = await runRsync(args("ff-raw-theirs"), { cwd: work });
  expect(a.code).toBe(23);
  expect(a.code).toBe(b.code);
  const statLines = (text: string) => text.split("\n").filter((l) => l.includes("link_stat"));
  expect(statLines(a.stderr)).toEqual(statLines(b.stderr));
  expect(statLines(a.stderr)[0]).toBe('rsync: [sender] link_stat "caf\\#351" (in u8) failed: No such file or directory (2)');
});

test("--files-from with -s: upstream's client pulling from our daemon", async () => {
  const got = await compare((d) => ["-a", "-s", ICONV, "--files-from=list-l1", ours.url("u8", ""), `${d}/`], work, "upstream");
  expect(got).toContain("dir/na\\xefve yy");
});

/** Over a remote shell: `server` runs as the --server ("ours" = src/main.ts). */
const OUR_SERVER = `${process.execPath} ${join(import.meta.dir, "../../src/main.ts")}`;
const viaShell = (server: "ours" | "upstream") => ["-e", join(work, "rsh"), ...(server === "ours" ? [`--rsync-path=${OUR_SERVER}`] : [])];

for (const server of ["ours", "upstream"] as const) {
  const client = server === "ours" ? "upstream" : "both";
  test(`remote shell, ${server}'s --server: pull (-iH, incremental recursion)`, async () => {
    await compare((d) => ["-aiH", ICONV, ...viaShell(server), `host:${join(work, "u8")}/`, `${d}/`], work, client, "l1");
  });
  test(`remote shell, ${server}'s --server: push with -s`, async () => {
    await compare((d) => ["-a", "-s", ICONV, ...viaShell(server), "l1/", `host:${join(work, d)}/`], work, client, "u8");
  });
  test(`remote shell, ${server}'s --server: pull with -s --files-from`, async () => {
    await compare((d) => ["-a", "-s", ICONV, "--files-from=list-l1", ...viaShell(server), `host:${join(work, "u8")}/`, `${d}/`], work, client);
  });
  test(`remote shell, ${server}'s --server: -s pull of a named file, the server's side in latin1 (secluded args converted)`, async () => {
    const got = await compare((d) => ["-a", "-s", "--iconv=UTF-8,ISO-8859-1", ...viaShell(server), `host:${join(work, "l1")}/café`, `host:${join(work, "l1")}/été`, `${d}/`], work, client);
    expect(got).toContain("caf\\xc3\\xa9 x");
    expect(got).toContain("\\xc3\\xa9t\\xc3\\xa9/");
  });
  test(`remote shell, ${server}'s --server: protocol 29 has no CF_SYMLINK_ICONV, so symlink targets stay as sent`, async () => {
    const got = await compare((d) => ["-a", "--protocol=29", ICONV, ...viaShell(server), `host:${join(work, "u8")}/`, `${d}/`], work, client);
    expect(got).toContain("caf\\xe9 x");
    expect(got).toContain("lnk -> 636166c3a9");
  });
}

test("batch files: written with --iconv, read with --iconv (either side's), refused without it", async () => {
  for (const [writer, reader] of [
    [runRsync, runOc],
    [runOc, runRsync],
  ] as const) {
    n++;
    const batch = join(work, `batch-${n}`);
    const w = await writer(["-a", ICONV, `--write-batch=${batch}`, "l1/", `batch-src-${n}/`], { cwd: work });
    expect(w.code).toBe(0);
    const r = await reader(["-a", "--iconv=UTF-8", `--read-batch=${batch}`, `batch-dst-${n}/`], { cwd: work });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(tree(join(work, `batch-dst-${n}`)).map((l) => l.replace(/ \(\d+ links\)$/, ""))).toEqual(tree(join(work, "u8")).map((l) => l.replace(/ \(\d+ links\)$/, "")));
    const refused = await reader(["-a", `--read-batch=${batch}`, `batch-none-${n}/`], { cwd: work });
    expect(refused.code).toBe(1);
    expect(refused.stderr.split("\n")[0]).toBe("Please specify the --iconv option to use this batch file.");
  }
});

describe("in a UTF-8 locale, lines naming files are shown as upstream's rwrite shows them", () => {
  const env = { LC_ALL: "C.UTF-8" };
  const same = async (args: (d: string) => string[]) => {
    n++;
    const a = await runOc(args(`loc-ours-${n}`), { cwd: work, env });
    const b = await runRsync(args(`loc-theirs-${n}`), { cwd: work, env });
    expect(a.code).toBe(b.code);
    const shown = (text: string, d: string) => normalizeErrors(text).replaceAll(d, "DEST").split("\n").filter((l) => !l.startsWith("rsync error:") && l !== "").sort();
    expect(shown(a.stderr, `loc-ours-${n}`)).toEqual(shown(b.stderr, `loc-theirs-${n}`));
    expect(lines(a.stdout, [`loc-ours-${n}`])).toEqual(lines(b.stdout, [`loc-theirs-${n}`]));
    return a;
  };
  test("a local copy's receiving half reports a name it cannot convert in its own charset", async () => {
    const a = await same((d) => ["-a", "--no-inc-recursive", "--iconv=UTF-8,ASCII", "u8/", `${d}/`]);
    expect(a.stderr).toContain("cannot convert filename: caf\\#303\\#251");
  });
  test("a server's complaint about a name arrives in UTF-8 and is shown in our charset (pull, -s --files-from)", async () => {
    fs.writeFileSync(join(work, "list-missing"), Buffer.concat([latin1("café\n"), latin1("absent-é\n")]));
    const a = await same((d) => ["-ai", "-s", ICONV, "--files-from=list-missing", upstream.url("u8", ""), `${d}/`]);
    expect(a.code).toBe(23);
  });
  test("the same against our daemon, with upstream's client", async () => {
    n++;
    const args = (d: string) => ["-a", "-s", ICONV, "--files-from=list-missing", d === "a" ? ours.url("u8", "") : upstream.url("u8", ""), `loc-${d}-${n}/`];
    const a = await runRsync(args("a"), { cwd: work, env });
    const b = await runRsync(args("b"), { cwd: work, env });
    expect(a.code).toBe(b.code);
    const stat = (text: string) => text.split("\n").filter((l) => l.includes("link_stat"));
    expect(stat(a.stderr)).toEqual(stat(b.stderr));
    expect(stat(a.stderr).length).toBe(1);
  });
});

test("--remove-source-files: each confirmation names the file as transmitted (a blocked one stays)", async () => {
  const run = async (label: string, client: typeof runOc, serverArgs: string[]) => {
    n++;
    const src = join(work, `rm-src-${label}-${n}`);
    const dest = join(work, `rm-dest-${label}-${n}`);
    makeTree(src, latin1);
    // "dir/naïve" cannot land: a non-empty directory of that name is in the way.
    fs.mkdirSync(Buffer.concat([utf8(`${dest}/dir/`), utf8("naïve"), utf8("/x")]), { recursive: true });
    const r = await client(["-a", "--no-inc-recursive", "--remove-source-files", ICONV, ...serverArgs, `${src}/`, serverArgs.length ? `host:${dest}/` : `${dest}/`], { cwd: work });
    return { code: r.code, left: tree(src).filter((l) => !l.endsWith("/")), dest: tree(dest) };
  };
  const theirs = await run("theirs", runRsync, viaShell("upstream"));
  expect(theirs.left).toEqual(["dir/na\\xefve yy"]);
  for (const [label, client, server] of [
    ["oc-upstream", runOc, "upstream"],
    ["upstream-oc", runRsync, "ours"],
  ] as const) {
    const got = await run(label, client, viaShell(server));
    expect(got).toEqual(theirs);
  }
  expect(await run("local", runOc, [])).toEqual(await run("local-theirs", runRsync, []));
});

test("-s: a client's secluded arguments go from its charset to UTF-8 (a UTF-8 argument read as latin1 names nothing there)", async () => {
  for (const [from, shell] of [
    [(p: string) => upstream.url("u8", p), []],
    [(p: string) => `host:${join(work, "u8", p)}`, viaShell("upstream")],
  ] as const) {
    n++;
    const args = (d: string) => ["-a", "-s", ICONV, ...shell, from("été"), `${d}/`];
    const a = await runOc(args(`sa-ours-${n}`), { cwd: work });
    const b = await runRsync(args(`sa-theirs-${n}`), { cwd: work });
    expect(a.code).toBe(23);
    expect(a.code).toBe(b.code);
    const stat = (text: string) => text.split("\n").filter((l) => l.includes("link_stat"));
    expect(stat(a.stderr)).toEqual(stat(b.stderr));
    expect(stat(a.stderr).length).toBe(1);
  }
});

test("--iconv=. takes the locale's charset: UTF-8 under C.UTF-8, ASCII under C (names then do not convert)", async () => {
  for (const LC_ALL of ["C.UTF-8", "C"]) {
    n++;
    const args = (d: string) => ["-a", "--no-inc-recursive", "--iconv=.", "u8/", `${d}/`];
    const a = await runOc(args(`dot-ours-${n}`), { cwd: work, env: { LC_ALL } });
    const b = await runRsync(args(`dot-theirs-${n}`), { cwd: work, env: { LC_ALL } });
    expect(normalizeErrors(a.stderr)).toBe(normalizeErrors(b.stderr));
    expect(a.code).toBe(b.code);
    expect(a.code).toBe(LC_ALL === "C" ? 23 : 0);
    expect(tree(join(work, `dot-ours-${n}`))).toEqual(tree(join(work, `dot-theirs-${n}`)));
  }
});
