/**
 * Light checks of the harness's own parsers and helpers (no daemons, no
 * benchmark runs): a wrong parser would silently skew every report.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "./args.ts";
import { deltaBaseVersion } from "./data.ts";
import { flamegraphSvg, foldPerfScript } from "./flamegraph.ts";
import { jitdumpToMap } from "./profile.ts";
import { median, pairRatios } from "./stats.ts";
import { parseStraceSummary } from "./strace.ts";
import { deriveOldTree, listFiles, makeSyntheticTree, prng } from "./synthetic.ts";

describe("strace -c summary", () => {
  test("rows with and without an errors column; total left out; sorted by calls", () => {
    const text = [
      "% time     seconds  usecs/call     calls    errors syscall",
      "------ ----------- ----------- --------- --------- ----------------",
      " 40.00    0.000400           2       200           read",
      " 35.00    0.000350           1       300        12 openat",
      " 25.00    0.000250         250         1           execve",
      "------ ----------- ----------- --------- --------- ----------------",
      "100.00    0.001000           2       501        12 total",
    ].join("\n");
    const rows = parseStraceSummary(text);
    expect(rows.map((r) => [r.name, r.calls, r.errors])).toEqual([
      ["openat", 300, 12],
      ["read", 200, 0],
      ["execve", 1, 0],
    ]);
  });
});

describe("pull-delta's starting version", () => {
  test("the newest of an earlier upstream release, past the newest's other Debian revisions", () => {
    expect(deltaBaseVersion(["6.1.192-3", "6.1.192-2", "6.1.192-1", "6.1.190-1", "6.1.187-1"])).toBe("6.1.190-1");
    expect(deltaBaseVersion(["6.1.192-1", "6.1.190-1"])).toBe("6.1.190-1");
    expect(deltaBaseVersion(["1:6.1.192-2", "1:6.1.192-1", "6.1.190-1"])).toBe("6.1.190-1");
  });
  test("a single release: its previous revision; a single version: none", () => {
    expect(deltaBaseVersion(["6.1.192-3", "6.1.192-2"])).toBe("6.1.192-2");
    expect(deltaBaseVersion(["6.1.192-3"])).toBeUndefined();
    expect(deltaBaseVersion([])).toBeUndefined();
  });
});

describe("stats", () => {
  test("median and paired ratios", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(pairRatios([2, 3, 9], [1, 3])).toEqual([2, 1]);
  });
});

describe("args", () => {
  test("quick mode has fewer runs unless asked; scenarios keep the canonical order", () => {
    const q = parseArgs(["--quick", "--scenarios=local-initial,pull-initial"]);
    expect([q.runs, q.warmup]).toEqual([5, 2]);
    expect(q.scenarios).toEqual(["pull-initial", "local-initial"]);
    const k = parseArgs(["--runs=3", "--warmup=0", "--client=bun /x/src/main.ts"]);
    expect([k.runs, k.warmup, k.quick]).toEqual([3, 0, false]);
    expect(k.client).toEqual(["bun", "/x/src/main.ts"]);
    expect(() => parseArgs(["--scenarios=pull-nope"])).toThrow(/unknown scenario/);
    expect(() => parseArgs(["--runs=0"])).toThrow();
  });
});

describe("profiling helpers", () => {
  test("a jitdump's code-load records become perf map lines", () => {
    const name = Buffer.from("JSC-DFG: loop#abc\0");
    const rec = Buffer.alloc(56 + name.length);
    rec.writeUInt32LE(0, 0); // JIT_CODE_LOAD
    rec.writeUInt32LE(rec.length, 4);
    rec.writeBigUInt64LE(0x7f0000001000n, 32);
    rec.writeBigUInt64LE(0x80n, 40);
    name.copy(rec, 56);
    const head = Buffer.alloc(40);
    head.writeUInt32LE(0x4a695444, 0);
    head.writeUInt32LE(40, 8);
    head.writeUInt32LE(4242, 20);
    expect(jitdumpToMap(Buffer.concat([head, rec]))).toEqual({ pid: 4242, lines: ["7f0000001000 80 JSC-DFG: loop#abc"] });
  });

  test("perf script stacks fold root-first, nameless runs collapse", async () => {
    const text = [
      "oc-rsync  1234 100.000001:     250000 cpu-clock:ppp: ",
      "\t    7f00 leaf+0x10 (/lib/libc.so.6)",
      "\t     100 [unknown] (/work/dist/oc-rsync)",
      "\t     200 [unknown] (/work/dist/oc-rsync)",
      "\t     300 main+0x5 (/work/dist/oc-rsync)",
      "",
      "oc-rsync  1234 100.000002:     250000 cpu-clock:ppp: ",
      "\t    7f00 leaf+0x12 (/lib/libc.so.6)",
      "\t     100 [unknown] (/work/dist/oc-rsync)",
      "\t     300 main+0x5 (/work/dist/oc-rsync)",
      "",
    ].join("\n");
    const folded = await foldPerfScript(new Response(text).body!);
    expect([...folded]).toEqual([["oc-rsync;main;[oc-rsync];leaf", 2]]);
    expect(flamegraphSvg(folded, "t")).toContain("<title>leaf (2 samples, 100.00%)</title>");
  });
});

describe("synthetic data", () => {
  test("the seeded tree and its older version are deterministic", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-e2e-test-"));
    try {
      const shape = { dirs: 5, smallFiles: 40, large: [100_000], symlinks: 3 };
      makeSyntheticTree(join(dir, "a"), 7, shape);
      makeSyntheticTree(join(dir, "b"), 7, shape);
      const files = listFiles(join(dir, "a"));
      expect(files).toEqual(listFiles(join(dir, "b")));
      expect(files.length).toBe(44);
      for (const f of files.filter((f) => !f.includes("link"))) expect(readFileSync(join(dir, "a", f))).toEqual(readFileSync(join(dir, "b", f)));
      const f0 = files.find((f) => f.endsWith("large0.bin"))!;
      const before = statSync(join(dir, "a", f0)).mtimeMs;
      deriveOldTree(join(dir, "a"), 7, { edit: 0.5, remove: 0.1 });
      for (const f of listFiles(join(dir, "a"))) if (f === f0) expect(statSync(join(dir, "a", f)).mtimeMs).toBe(before - 86_400_000);
      expect(prng(1)()).toBe(prng(1)());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
