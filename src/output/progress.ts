/**
 * --progress and --info=progress2 lines (progress.c): a line when a file's
 * data starts and at most one a second while it comes, from the rate over
 * the last five seconds; a final line with the file's (or, for progress2,
 * the whole transfer's) total, rate and time taken, and the xfr#/to-chk
 * counters.
 */
import { bigNum } from "./numbers.ts";
import type { Terminal } from "./terminal.ts";

const HISTORY = 5;

interface Point {
  time: number;
  ofs: number;
}

export interface ProgressTotals {
  /** Files received so far (xfr#), this one included. */
  transferred: number;
  /** Entries in all lists received so far, and the index of the current one among them. */
  files: number;
  current: number;
  /** All lists are in ("to-chk"), or more may come ("ir-chk"). */
  listsDone: boolean;
  /** For progress2: bytes of the files transferred so far (this one whole) and of all files. */
  transferredSize: number;
  totalSize: number;
}

export class Progress {
  private start: Point = { time: 0, ofs: 0 };
  private readonly history: Point[] = Array.from({ length: HISTORY }, () => ({ time: 0, ofs: 0 }));
  private newest = 0;
  private oldest = 0;
  private lastLength = 0;

  constructor(
    private readonly terminal: Terminal,
    /** --info=progress2: the whole transfer on one line. */
    private readonly whole: boolean,
    private readonly human: number,
    private readonly totals: () => ProgressTotals,
    private readonly now: () => number = Date.now,
  ) {}

  /** Data of the current file has reached `ofs` of `size` (show_progress). */
  update(ofs: number, size: number): void {
    const now = this.now();
    if (this.whole) {
      const t = this.totals();
      ofs = t.transferredSize - size + ofs;
      size = t.totalSize;
    }
    if (!this.start.time) {
      // The data probably started when the previous file's last data came, if that was recent.
      const recent = now - this.history[this.newest]!.time <= 1500;
      this.start = recent ? { time: this.history[this.newest]!.time, ofs: 0 } : { time: now, ofs };
      for (const p of this.history) Object.assign(p, this.start);
    } else {
      if (now - this.history[this.newest]!.time < 1000) return;
      this.newest = this.oldest;
      this.oldest = (this.oldest + 1) % HISTORY;
      this.history[this.newest] = { time: now, ofs };
    }
    this.print(ofs, size, now, false);
  }

  /** The current file's data is complete (end_progress). */
  finish(size: number): void {
    const now = this.now();
    if (this.whole) {
      const t = this.totals();
      this.print(t.transferredSize, t.totalSize, now, true);
    } else {
      this.print(size, size, now, true);
      this.start = { time: 0, ofs: 0 };
    }
  }

  private print(ofs: number, size: number, now: number, last: boolean): void {
    let eol: string;
    let rate: number;
    let remain: number;
    let finished = last;
    if (last) {
      const t = this.totals();
      eol = ` (xfr#${t.transferred}, ${t.listsDone ? "to" : "ir"}-chk=${t.files - t.current - 1}/${t.files})`;
      if (this.whole) {
        // One line for the whole run: pad over a longer previous one, no newline.
        const length = eol.length;
        eol = eol.padEnd(this.lastLength);
        this.lastLength = length;
        finished = false;
      } else eol += "\n";
      const diff = (this.start.time && now - this.start.time) || 1;
      rate = ((ofs - this.start.ofs) * 1000) / diff / 1024;
      remain = diff / 1000;
    } else {
      eol = "  ";
      const from = this.history[this.oldest]!;
      const diff = now - from.time || 1;
      rate = ((ofs - from.ofs) * 1000) / diff / 1024;
      remain = rate ? (size - ofs) / rate / 1000 : 0;
    }
    let units = "kB/s";
    if (rate > 1024 * 1024) {
      rate /= 1024 * 1024;
      units = "GB/s";
    } else if (rate > 1024) {
      rate /= 1024;
      units = "MB/s";
    }
    const pct = ofs === size ? 100 : Math.trunc((100 * ofs) / size);
    const line = `\r${bigNum(ofs, this.human).padStart(15)} ${String(pct).padStart(3)}% ${rate.toFixed(2).padStart(7)}${units} ${clock(remain)}${eol}`;
    this.terminal.progress(line, finished);
  }
}

function clock(secs: number): string {
  if (secs < 0 || secs > 9999 * 3600) return "  ??:??:??";
  const two = (n: number) => String(Math.trunc(n)).padStart(2, "0");
  return `${String(Math.trunc(secs / 3600)).padStart(4)}:${two((secs / 60) % 60)}:${two(secs % 60)}`;
}
