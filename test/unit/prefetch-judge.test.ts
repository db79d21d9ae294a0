/**
 * PrefetchJudge: the walk prefetches only once its scans are seen reading
 * from the disk (block input) or running far slower than cached scans can.
 */
import { expect, test } from "bun:test";
import { PrefetchJudge } from "../../src/flist/prefetch-judge.ts";

test("cached scans, even with slow ones among them (preemptions) and a stray block read, never turn prefetching on", () => {
  const judge = new PrefetchJudge();
  for (let i = 0; i < 1000; i++) judge.scanned(i % 4 === 0 ? 4 : 0.02, 17, i % 16 === 0 ? 8 : 0);
  expect(judge.prefetching).toBe(false);
});

test("directories read from the disk turn it on at their window's end, and for good", () => {
  const judge = new PrefetchJudge();
  for (let i = 0; i < 20; i++) judge.scanned(0.02, 17, 0);
  expect(judge.prefetching).toBe(false);
  for (let i = 0; i < 11; i++) judge.scanned(0.3, 17, 16);
  expect(judge.prefetching).toBe(false);
  judge.scanned(0.3, 17, 16);
  expect(judge.prefetching).toBe(true);
  for (let i = 0; i < 100; i++) judge.scanned(0.02, 17, 0);
  expect(judge.prefetching).toBe(true);
});

test("scans far slower than cached ones without any block input (a network file system) turn it on too", () => {
  const judge = new PrefetchJudge();
  for (let i = 0; i < 16; i++) judge.scanned(10, 17, 0);
  expect(judge.prefetching).toBe(true);
});
