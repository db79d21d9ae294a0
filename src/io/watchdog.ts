/**
 * --timeout (io.c check_timeout, maybe_send_keepalive): when nothing was
 * read or written for that many seconds the run fails with exit 30; while
 * only we are quiet, an empty MSG_DATA frame every half timeout tells the
 * peer we are alive.
 */
import { RERR, RsyncError, type Role } from "../errors.ts";
import type { Input } from "./input.ts";
import type { Output } from "./output.ts";

export class IoWatchdog {
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly input: Input,
    private readonly output: Output,
    /** The current timeout in seconds (0 = none); a daemon may lower it during the run. */
    private readonly timeout: () => number,
    private readonly role: () => Role,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.check(), 250);
    // The watchdog alone must not keep the process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private check(): void {
    const limit = this.timeout();
    if (!limit) return;
    const now = Date.now();
    if (this.output.multiplexed && now - this.output.lastActivity >= ((limit + 1) / 2) * 1000) this.output.keepAlive();
    const idle = Math.floor((now - Math.max(this.input.lastActivity, this.output.lastActivity)) / 1000);
    if (idle >= limit) {
      const e = new RsyncError(RERR.TIMEOUT, `[${this.role()}] io timeout after ${idle} seconds -- exiting`);
      e.role = this.role();
      this.stop();
      this.input.fail(e);
    }
  }
}
