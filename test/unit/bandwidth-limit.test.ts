/**
 * --bwlimit's pacing (io.c sleep_for_bwlimit) on a clock the test moves:
 * writes are cut to an eighth of a second's worth (at least 512 bytes), a
 * debt under a tenth of a second is carried, a larger one pauses writing
 * until the rate has paid for it, and a pause that ends late is not made up
 * for by the next one.
 */
import { expect, test } from "bun:test";
import { BandwidthLimit } from "../../src/io/bandwidth-limit.ts";

function clocked(kib: number) {
  const clock = { now: 1000 };
  return { clock, limit: new BandwidthLimit(kib, () => clock.now) };
}

test("one write is at most an eighth of a second's worth, and never under 512 bytes", () => {
  expect(new BandwidthLimit(1000).writeMax).toBe(128_000);
  expect(new BandwidthLimit(1).writeMax).toBe(512);
});

test("a debt under 100 ms is carried; at 100 ms writing pauses until it is paid", () => {
  const { clock, limit } = clocked(100); // 102.4 bytes a millisecond
  limit.wrote(5120); // 50 ms ahead
  expect(limit.delay()).toBe(0);
  clock.now += 10; // 10 ms paid: 40 ms ahead, then 60 ms more
  limit.wrote(6144);
  expect(limit.delay()).toBeCloseTo(100, 6);
  clock.now += 60;
  expect(limit.delay()).toBeCloseTo(40, 6);
  clock.now += 40;
  expect(limit.delay()).toBe(0);
});

test("after a pause the rate starts again from its end; time past it counts as paid", () => {
  const { clock, limit } = clocked(100);
  limit.wrote(20480); // 200 ms
  expect(limit.delay()).toBeCloseTo(200, 6);
  clock.now += 300; // woken 100 ms late
  limit.wrote(20480); // 200 ms written, 100 ms of it paid by the late wake-up
  expect(limit.delay()).toBeCloseTo(100, 6);
});
