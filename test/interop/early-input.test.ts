/**
 * --early-input: the client sends a file's bytes before naming the module,
 * and the module's "early exec" command reads them on its stdin (and can
 * refuse the transfer). Every pairing of
 * our client and daemon with upstream's; the bytes the command received
 * must be the file's, and errors (missing, too big) must match upstream's.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, type ModuleConfig, type RunningDaemon } from "../helpers/daemon.ts";
import { normalizeErrors, runOc, runRsync, type RunResult } from "../helpers/run.ts";
import { noise } from "../helpers/noise.ts";

let work: string;
const daemons: Partial<Record<"ours" | "upstream", RunningDaemon>> = {};

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-early-"));
  fs.mkdirSync(join(work, "src"));
  fs.writeFileSync(join(work, "src/f"), "f\n");
  // The command keeps what it read, and refuses the transfer when it read "refuse".
  const hook = join(work, "hook");
  fs.writeFileSync(hook, '#!/bin/sh\ncat > "$1"\ngrep -q refuse "$1" && { echo "refused by hook"; exit 3; }\nexit 0\n', { mode: 0o755 });
  for (const kind of ["ours", "upstream"] as const) {
    const modules: ModuleConfig[] = [
      { name: "src", path: join(work, "src"), params: { uid: "0", gid: "0", "early exec": `${hook} ${join(work, `${kind}.got`)}` } },
    ];
    daemons[kind] = await startDaemon(kind, modules);
  }
});

afterAll(async () => {
  await daemons.ours?.stop();
  await daemons.upstream?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const runClient = (who: "ours" | "upstream", args: string[]): Promise<RunResult> => (who === "ours" ? runOc(args) : runRsync(args));

const INPUTS: [string, Uint8Array | null][] = [
  ["text", Buffer.from("hello early input\n")],
  ["binary with NULs and no newline", noise(3000, 7)],
  ["the largest allowed (5120 bytes)", noise(5120, 8)],
  ["one byte too many", noise(5121, 9)],
  ["an empty file (nothing is sent)", new Uint8Array(0)],
  ["a refusal from the hook", Buffer.from("please refuse\n")],
  ["a missing file", null],
];

describe("--early-input reaches the module's early exec as upstream's", () => {
  for (const daemon of ["upstream", "ours"] as const) {
    for (const client of ["ours", "upstream"] as const) {
      INPUTS.forEach(([name, data], i) => {
        test(`${name}: ${client} client, ${daemon} daemon`, async () => {
          const file = join(work, `in-${i}`);
          if (data) fs.writeFileSync(file, data);
          /** Runs `who` against the `kind` daemon: its result and what the hook kept (null: the hook did not run). */
          const run = async (who: "ours" | "upstream", kind: "ours" | "upstream", dest: string) => {
            const got = join(work, `${kind}.got`);
            fs.rmSync(got, { force: true });
            const r = await runClient(who, ["-r", `--early-input=${file}`, daemons[kind]!.url("src", ""), dest]);
            return { r, kept: fs.existsSync(got) ? Buffer.from(fs.readFileSync(got)) : null };
          };
          const a = await run(client, daemon, join(work, `dest-${i}-${client}-${daemon}/`));
          const b = await run("upstream", "upstream", join(work, `dest-${i}-ref/`));
          const errors = (t: string) => normalizeErrors(t).replace(/ \[(Receiver|client)\]/g, "");
          expect(errors(a.r.stderr)).toBe(errors(b.r.stderr));
          expect(a.r.stdout).toBe(b.r.stdout);
          expect(a.r.code).toBe(b.r.code);
          // What the hook read: the file's bytes, as upstream's daemon hands them over.
          expect(a.kept).toEqual(b.kept);
          if (data && data.length > 0 && data.length <= 5120) expect(a.kept).toEqual(Buffer.from(data));
        });
      });
    }
  }
});
