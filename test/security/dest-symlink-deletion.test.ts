/**
 * Deletion never goes through a symlink in the destination. Where the
 * sender's list has a directory and the destination has a symlink to a
 * directory elsewhere, --delete-before and --delete-after looked for
 * extraneous files in what the symlink led to and deleted them there (with
 * plain `-a --delete-before`); --ignore-existing, which leaves the symlink
 * in place, did the same with every deletion mode. Upstream leaves the other
 * directory alone in every case: so must we, and the destination must end
 * up as upstream's does.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOc, runRsync } from "../helpers/run.ts";
import { ageTree, snapshot } from "../helpers/tree.ts";

let work: string;

beforeAll(() => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-dest-symlink-"));
});

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

const MODES = ["--delete-before", "--delete-after", "--delete-during", "--delete-delay"];

describe("a destination symlink where the list has a directory", () => {
  for (const extra of [[], ["--ignore-existing"]]) {
    for (const mode of MODES) {
      const args = ["-a", mode, ...extra];
      test(args.join(" "), async () => {
        const seen: Record<string, unknown> = {};
        for (const [who, run] of [["upstream", runRsync], ["ours", runOc]] as const) {
          const root = join(work, `${args.join("")}-${who}`);
          fs.mkdirSync(join(root, "src/b"), { recursive: true });
          fs.writeFileSync(join(root, "src/b/x"), "x\n");
          fs.mkdirSync(join(root, "elsewhere"));
          fs.writeFileSync(join(root, "elsewhere/victim"), "not the destination's\n");
          fs.mkdirSync(join(root, "dst"));
          fs.symlinkSync("../elsewhere", join(root, "dst/b"));
          ageTree(join(root, "src"), 1_450_000_000);
          ageTree(join(root, "elsewhere"), 1_400_000_000);
          const r = await run([...args, `${root}/src/`, `${root}/dst/`]);
          seen[who] = {
            code: r.code,
            elsewhere: snapshot(join(root, "elsewhere")),
            dst: snapshot(join(root, "dst"), { ignoreRoot: true, ignoreDirTimes: true }),
          };
          expect(fs.readFileSync(join(root, "elsewhere/victim"), "utf8")).toBe("not the destination's\n");
        }
        expect(seen.ours).toEqual(seen.upstream);
      });
    }
  }
});
