/** Small statistics for the report: medians rather than means, as a few slow outliers are noise, not signal. */

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function min(xs: number[]): number {
  return xs.length ? Math.min(...xs) : NaN;
}

export function max(xs: number[]): number {
  return xs.length ? Math.max(...xs) : NaN;
}

/**
 * Ratios of paired runs (the i-th of ours over the i-th of upstream's). The
 * two clients alternate, so run i of each saw nearly the same machine state;
 * pairing cancels slow drifts that comparing the two medians would keep.
 */
export function pairRatios(ours: number[], theirs: number[]): number[] {
  const n = Math.min(ours.length, theirs.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (theirs[i]! > 0) out.push(ours[i]! / theirs[i]!);
  return out;
}
