/**
 * A daemon reached through a remote shell ("USING RSYNC-DAEMON FEATURES VIA
 * A REMOTE-SHELL CONNECTION"): `-e SHELL host::module` (or rsync://host/)
 * runs `rsync --server --daemon .` on the far side, which reads its config
 * and speaks the daemon protocol on the shell's pipes. Every pairing of
 * client and daemon (ours and upstream's) pulls, pushes and lists modules
 * as upstream's client does with upstream's daemon. (Ours opened a TCP
 * connection to the host instead, and our `--server --daemon` answered as
 * a plain server.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";
import { writeFakeRsh } from "../helpers/fake-rsh.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");

let work: string;
let rsh: string;
let config: string;

beforeAll(() => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-daemon-rsh-"));
  rsh = writeFakeRsh(join(work, "rsh"));
  const src = join(work, "src");
  fs.mkdirSync(join(src, "dir/deeper"), { recursive: true });
  fs.writeFileSync(join(src, "small"), "hello\n");
  fs.writeFileSync(join(src, "dir/a"), "a\n");
  fs.writeFileSync(join(src, "dir/deeper/b"), Buffer.alloc(100_000, 7));
  fs.symlinkSync("small", join(src, "link"));
  ageTree(src, 1_450_000_000);
  config = join(work, "rsyncd.conf");
  // (Run as root, a daemon would be "nobody" in its modules: the upload directory is ours to write.)
  fs.writeFileSync(config, `use chroot = no\nuid = 0\ngid = 0\n[files]\n  path = ${src}\n  comment = the source\n[upload]\n  path = ${work}/upload\n  read only = no\n`);
});

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

type Side = "ours" | "upstream";

/** The client's run, with the far side's program (and its config) for --rsync-path. */
function run(client: Side, daemon: Side, args: string[]) {
  const program = daemon === "ours" ? `${process.execPath} ${MAIN}` : "rsync";
  const all = ["-e", rsh, `--rsync-path=${program} --config=${config}`, ...args];
  return client === "ours" ? runOc(all) : runRsync(all);
}

const PAIRINGS: [Side, Side][] = [
  ["upstream", "ours"],
  ["ours", "upstream"],
  ["ours", "ours"],
];

describe("a daemon through a remote shell, as upstream's", () => {
  for (const [client, daemon] of PAIRINGS) {
    const name = `${client} client, ${daemon} daemon`;

    test(`pull: ${name}`, async () => {
      const ours = join(work, `pull-${client}-${daemon}`);
      const theirs = join(work, `pull-${client}-${daemon}-upstream`);
      const a = await run(client, daemon, ["-ai", "host::files/", `${ours}/`]);
      const b = await run("upstream", "upstream", ["-ai", "host::files/", `${theirs}/`]);
      expect(a.stderr).toBe(b.stderr);
      expect(a.code).toBe(0);
      expect(a.stdout.replaceAll(ours, "DEST")).toBe(b.stdout.replaceAll(theirs, "DEST"));
      expect(snapshot(ours)).toEqual(snapshot(theirs));
      expect(snapshot(ours, { ignoreRoot: true })).toEqual(snapshot(join(work, "src"), { ignoreRoot: true }));
    });

    test(`pull from an rsync:// URL: ${name}`, async () => {
      const ours = join(work, `url-${client}-${daemon}`);
      const a = await run(client, daemon, ["-a", "rsync://host/files/dir/", `${ours}/`]);
      expect(a.stderr).toBe("");
      expect(a.code).toBe(0);
      expect(fs.readFileSync(join(ours, "a"), "utf8")).toBe("a\n");
    });

    test(`push: ${name}`, async () => {
      const upload = join(work, "upload");
      const result = async (c: Side, d: Side) => {
        fs.rmSync(upload, { recursive: true, force: true });
        fs.mkdirSync(upload);
        const r = await run(c, d, ["-ai", `${work}/src/`, "host::upload/"]);
        return { code: r.code, stdout: r.stdout, stderr: r.stderr, tree: snapshot(upload, { ignoreRoot: true }) };
      };
      const a = await result(client, daemon);
      const b = await result("upstream", "upstream");
      expect(a).toEqual(b);
      expect(a.code).toBe(0);
      expect(Object.keys(a.tree)).toContain("dir/deeper/b");
    });

    test(`module listing: ${name}`, async () => {
      const a = await run(client, daemon, ["host::"]);
      const b = await run("upstream", "upstream", ["host::"]);
      expect(a.code).toBe(b.code);
      expect(a.stdout).toBe(b.stdout);
      expect(a.stdout).toContain("files");
    });
  }
});
