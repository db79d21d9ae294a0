/**
 * A wake-up between the two tasks of the receiving side. Waiters re-check
 * their condition after waking: JS runs one task at a time, so a condition
 * checked right before wait() cannot change before the wait is registered.
 */
export class Signal {
  private waiters: (() => void)[] = [];

  wake(): void {
    if (this.waiters.length === 0) return;
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
