/**
 * --timeout (io.c check_timeout, maybe_send_keepalive): when nothing was
 * read or written for that many seconds the run fails with exit 30; while
 * only we are quiet, an empty MSG_DATA frame every half timeout tells the
 * peer we are alive. --stop-after/--stop-at end the run the same way when
 * their moment comes (io.c perform_io's stop_at_utime check).
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
    /** --stop-after / --stop-at: when to give up, in epoch seconds (0 = never). */
    private readonly stopAt = 0,
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
    if (this.stopAt && Date.now() / 1000 >= this.stopAt) return this.fail("stopping at requested limit");
    const limit = this.timeout();
    if (!limit) return;
    const now = Date.now();
    // Upstream's receiving process sends no keep-alive before it forks (io.c maybe_send_keepalive): until its first
    // list is in, only what arrives shows the peer alive, so a server gone silent then ends the run at the timeout.
    const early = this.role() === "Receiver";
    if (!early && this.output.multiplexed && now - this.output.lastActivity >= ((limit + 1) / 2) * 1000) this.output.keepAlive();
    const idle = Math.floor((now - Math.max(this.input.lastActivity, this.output.lastActivity)) / 1000);
    if (idle >= limit) this.fail(`[${this.role()}] io timeout after ${idle} seconds -- exiting`);
  }

  private fail(message: string): void {
    const e = new RsyncError(RERR.TIMEOUT, message);
    e.role = this.role();
    this.stop();
    this.input.fail(e);
  }
}
