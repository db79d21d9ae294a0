/**
 * When the generator's stats taken ahead are worth offering: not in an
 * initial transfer, where every row is inside a directory the generator
 * created and none is asked for (the worker's stats would be wasted: on the
 * kernel pull that was about 0.5 s of CPU), but always on a resync, where
 * every row is asked for a ring's length (4096 slots) behind the offers.
 */
import { expect, test } from "bun:test";
import { offersWasted } from "../../src/roles/stat-prefetch.ts";

test("an initial transfer stops being offered once 8192 rows went unasked", () => {
  expect(offersWasted(4096, 0)).toBe(false);
  expect(offersWasted(8192, 0)).toBe(true);
  // Only the top level existed: a few rows asked for.
  expect(offersWasted(8192, 300)).toBe(true);
});

test("a resync, asked for one ring behind the offers, goes on", () => {
  for (const offered of [8192, 20_000, 84_000]) expect(offersWasted(offered, offered - 4096)).toBe(false);
});
