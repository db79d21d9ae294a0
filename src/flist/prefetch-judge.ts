/**
 * Whether the walk hands the subdirectories it finds to the core's
 * prefetcher. Prefetching pays when scans wait for the disk or the network
 * (a cold cache: the workers read ahead while this thread encodes the list;
 * a cold kernel-tree listing took 1.2 s with them, 1.7 s without) and costs
 * when they do not (a warm cache: a directory is scanned at a microsecond or
 * two an entry, and handing scans to four workers and taking their results
 * back cost the serving daemon a fifth of its listing CPU). So the walk
 * scans on its own and turns prefetching on for good once a window of its
 * scans read from the disk (the block input counted across the scans
 * themselves: a sender's reads of file data in between do not count) or
 * ran far slower than a cached scan can (a network file system, which
 * counts no blocks). Wall time is only a coarse signal: on a busy machine
 * preemptions make cached scans look slow (serving the kernel tree to a
 * client on the same two cores, windows of 50 us an entry were common).
 */

/** Directories per judgement. */
const WINDOW = 16;
/** Block input (512-byte units) in a window that says its directories came from the disk: a cold one reads 8 or more. */
const COLD_BLOCKS = 4 * WINDOW;
/** A window slower than this per entry (a directory counting as one more) was waiting for something. */
const SLOW_US_PER_ENTRY = 500;

export class PrefetchJudge {
  private on = false;
  private spentMs = 0;
  private entries = 0;
  private blocks = 0;
  private dirs = 0;

  /** Whether to prefetch now (then scans come from the workers and are not judged any more). */
  get prefetching(): boolean {
    return this.on;
  }

  /** A directory scanned here (not prefetched) took `ms` for its `entries` entries, with `blocks` of block input. */
  scanned(ms: number, entries: number, blocks: number): void {
    if (this.on) return;
    this.spentMs += ms;
    this.entries += entries + 1;
    this.blocks += blocks;
    if (++this.dirs < WINDOW) return;
    if (this.blocks >= COLD_BLOCKS || (this.spentMs * 1000) / this.entries > SLOW_US_PER_ENTRY) this.on = true;
    this.spentMs = 0;
    this.entries = 0;
    this.blocks = 0;
    this.dirs = 0;
  }
}
