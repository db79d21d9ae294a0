/**
 * Where two long sequences first differ, as a short text (null when equal).
 * Property tests compare token streams of thousands of entries: a failed
 * toEqual on those makes bun:test diff them whole, which can take long
 * enough to look like a hang (and fast-check then shrinks, diffing again).
 */
export function firstDifference(actual: ArrayLike<unknown>, expected: ArrayLike<unknown>): string | null {
  const n = Math.min(actual.length, expected.length);
  const clip = (v: unknown) => String(v).slice(0, 80);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) return `differ at ${i} of ${actual.length}/${expected.length}: ${clip(actual[i])} vs ${clip(expected[i])}`;
  }
  return actual.length === expected.length ? null : `lengths differ: ${actual.length} vs ${expected.length} (equal up to ${n})`;
}
