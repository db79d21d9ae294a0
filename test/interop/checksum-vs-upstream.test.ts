/**
 * Whole-file checksums against what upstream prints for `%C` with
 * `rsync -ac --checksum-choice=ALG --out-format='%C %n'`, for every
 * algorithm and files of awkward sizes.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOc, runRsync } from "../helpers/run.ts";

const SIZES = [0, 1, 63, 64, 65, 240, 241, 1024, 700 * 700 + 1, 3_000_000];
let work: string;
let files: string[];

beforeAll(() => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-csum-"));
  fs.mkdirSync(join(work, "src"));
  files = SIZES.map((n) => {
    const name = `f${n}`;
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 131 + (i >> 9)) & 0xff;
    fs.writeFileSync(join(work, "src", name), b);
    return name;
  });
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test.each(["xxh128", "xxh3", "xxh64", "md5", "md4", "sha1"])("%s matches upstream's %%C", async (alg) => {
  const up = await runRsync(["-ac", `--checksum-choice=${alg}`, "--out-format=%C %n", `${join(work, "src")}/`, join(work, `dst-${alg}`) + "/"]);
  expect(up.code).toBe(0);
  const expected = new Map(up.stdout.trim().split("\n").filter((l) => !l.endsWith("./")).map((l) => [l.split(" ")[1]!, l.split(" ")[0]!]));
  const ours = await runOc(["oc-checksum", "--checksum-choice", alg, ...files.map((f) => join(work, "src", f))]);
  expect(ours.code).toBe(0);
  const got = new Map(ours.stdout.trim().split("\n").map((l) => [l.split(" ")[1]!.split("/").pop()!, l.split(" ")[0]!]));
  expect(got.size).toBe(files.length);
  for (const f of files) expect(`${f} ${got.get(f)}`).toBe(`${f} ${expected.get(f)}`);
});
