/**
 * BasisHandoff: the generator's basis descriptors kept for the receiver.
 * Each is the receiver's once taken; any offered before it and never taken
 * (a file the sender did not send) is closed then; a redo's descriptor
 * replaces the first pass's; over the limit nothing is kept; what is left
 * at the end is closed. Descriptors are real ones here, so "closed" is
 * checked with fstat.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BasisHandoff } from "../../src/roles/basis-handoff.ts";

let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "oc-basis-handoff-"));
  for (const name of ["a", "b", "c", "d"]) writeFileSync(join(work, name), name);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

const open = (name: string) => openSync(join(work, name), "r");
const isOpen = (fd: number) => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};
const contentOf = (fd: number) => {
  const buf = Buffer.alloc(8);
  return buf.subarray(0, readSync(fd, buf, 0, 8, 0)).toString();
};

test("each file's descriptor is taken once; earlier ones never taken are closed; the rest at the end", () => {
  const handoff = new BasisHandoff(8);
  const [a, b, c, d] = ["a", "b", "c", "d"].map(open) as [number, number, number, number];
  expect([handoff.offer(1, a), handoff.offer(2, b), handoff.offer(3, c), handoff.offer(4, d)]).toEqual([true, true, true, true]);
  const taken = handoff.take(1);
  expect(contentOf(taken)).toBe("a");
  expect(handoff.take(1)).toBe(-1);
  // File 2 was never sent: taking file 3 closes its descriptor.
  expect(contentOf(handoff.take(3))).toBe("c");
  expect(isOpen(b)).toBe(false);
  expect(handoff.take(2)).toBe(-1);
  handoff.closeAll();
  expect(isOpen(d)).toBe(false);
  // Taken descriptors are the taker's: still open.
  expect(isOpen(a) && isOpen(c)).toBe(true);
  closeSync(a);
  closeSync(c);
});

test("a redo's descriptor replaces the first pass's; over the limit the caller keeps its own", () => {
  const handoff = new BasisHandoff(2);
  const first = open("a");
  expect(handoff.offer(7, first)).toBe(true);
  const again = open("b");
  expect(handoff.offer(7, again)).toBe(true);
  expect(isOpen(first)).toBe(false);
  expect(handoff.offer(8, open("c"))).toBe(true);
  const over = open("d");
  expect(handoff.offer(9, over)).toBe(false);
  expect(isOpen(over)).toBe(true);
  closeSync(over);
  expect(handoff.take(9)).toBe(-1);
  expect(contentOf(handoff.take(7))).toBe("b");
  closeSync(again);
  handoff.closeAll();
});

test("the default limit is a share of the open-file limit, at most 1024", () => {
  const limit = (new BasisHandoff() as unknown as { limit: number }).limit;
  expect(limit).toBeGreaterThan(0);
  expect(limit).toBeLessThanOrEqual(1024);
});
