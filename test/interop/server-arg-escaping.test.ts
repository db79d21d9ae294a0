/**
 * What reaches the remote shell, byte for byte: our client and upstream's
 * run the same command line with a fake remote shell that records its
 * arguments and what it is sent on stdin before the version exchange (the
 * secluded arguments). Option values with shell and wildcard characters must
 * be escaped exactly as upstream's safe_arg escapes them, not at all with -s
 * or a doubled --old-args, and -M options are left alone by --old-args.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOc, runRsync } from "../helpers/run.ts";

let work: string;
let rsh: string;

beforeAll(() => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-argesc-"));
  rsh = join(work, "rsh");
  // Records argv (NUL-separated) and whatever arrives on stdin within a moment, then fails the connection.
  fs.writeFileSync(rsh, `#!/bin/sh\nout="$OUT"\nprintf '%s\\0' "$@" > "$out.argv"\ntimeout 1 cat > "$out.stdin"\nexit 1\n`, { mode: 0o755 });
  fs.mkdirSync(join(work, "src"));
});

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

const VALUES = ["--temp-dir=t m*p", "--partial-dir=p$d", "--backup-dir=b k", "-b", "--suffix=.~ x", "-M--log-file-format=%n [x]", "--usermap=a b:c"];
const CASES: [string, string[]][] = [
  ["push", ["-a", ...VALUES]],
  ["push -s", ["-a", "-s", ...VALUES]],
  ["push --old-args", ["-a", "--old-args", ...VALUES]],
  ["push --old-args --old-args", ["-a", "--old-args", "--old-args", ...VALUES]],
  ["pull with --skip-compress", ["-az", "--skip-compress=gz/j*g", "--compare-dest=c d"]],
  ["pull -s with a name to protect", ["-a", "-s", "--link-dest=l d"]],
];

describe("the server's arguments are written as upstream writes them", () => {
  CASES.forEach(([name, args], i) => {
    test(name, async () => {
      const push = name.startsWith("push");
      const endpoints = push ? [`${join(work, "src")}/`, "h:dest dir/"] : ["h:src dir/", join(work, `dst-${i}/`)];
      const record = async (who: "ours" | "upstream") => {
        const out = join(work, `${i}-${who}`);
        const cmd = [...args, "-e", rsh, ...endpoints];
        await (who === "ours" ? runOc(cmd, { env: { OUT: out } }) : runRsync(cmd, { env: { OUT: out } }));
        return { argv: fs.readFileSync(`${out}.argv`, "latin1"), stdin: fs.readFileSync(`${out}.stdin`, "latin1") };
      };
      const ours = await record("ours");
      const theirs = await record("upstream");
      expect(ours.argv.split("\0")).toEqual(theirs.argv.split("\0"));
      expect(ours.stdin.split("\0")).toEqual(theirs.stdin.split("\0"));
    });
  });
});
