/**
 * --bwlimit (io.c sleep_for_bwlimit, options.c bwlimit_writemax): writes to
 * the connection are cut to an eighth of a second's worth, and once what was
 * written runs 100 ms or more ahead of the rate, writing pauses until the
 * rate has caught up. Upstream sleeps its process for that time; we only hold
 * the connection's output back (Output keeps it queued), so reading, disk
 * work and the other half of a local copy go on meanwhile.
 */

/** A debt shorter than this is carried to the next write instead of paused for (upstream: a tenth of a second). */
const SHORTEST_PAUSE_MS = 100;

export class BandwidthLimit {
  /** Most bytes handed to the connection in one write (options.c: 128 bytes per KiB/s, at least 512). */
  readonly writeMax: number;
  private readonly bytesPerMs: number;
  /** Bytes written that the rate has not yet paid for. */
  private debt = 0;
  /** When the debt was last brought up to date (ms). */
  private settledAt = 0;
  /** No writing before this moment (ms). */
  private pausedUntil = 0;

  constructor(
    kibPerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.writeMax = Math.max(512, kibPerSecond * 128);
    this.bytesPerMs = (kibPerSecond * 1024) / 1000;
  }

  /** How long (ms) before the next write may go; 0 for now. */
  delay(): number {
    return Math.max(0, this.pausedUntil - this.now());
  }

  /** Notes `bytes` accepted by the connection; a pause starts when they run far enough ahead of the rate. */
  wrote(bytes: number): void {
    const t = this.now();
    this.debt += bytes;
    if (this.settledAt) this.debt = Math.max(0, this.debt - (t - this.settledAt) * this.bytesPerMs);
    this.settledAt = t;
    const pause = this.debt / this.bytesPerMs;
    if (pause < SHORTEST_PAUSE_MS) return;
    // Paid in full by the end of the pause; time past it (a late timer) counts as credit then.
    this.pausedUntil = this.settledAt = t + pause;
    this.debt = 0;
  }
}
