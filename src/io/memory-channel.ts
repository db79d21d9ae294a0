/**
 * Two Channels joined back to back in one process: what one writes the other
 * reads. A local copy runs its sending and receiving sides over such a pair
 * (upstream forks and joins them with a socketpair), and tests use it to run
 * both ends of the protocol without a network.
 */
import type { Channel } from "./channel.ts";

/**
 * Bytes a reader may have waiting before the writer is told to wait (as a
 * socket buffer would; a socketpair's is about this size). With 4 MiB the
 * sending half of a local copy ran far ahead, and its waiting copies were
 * alive at the GC pacer's collections, promoted, and freed only by full ones:
 * a kernel-tree copy took 4.9 s instead of 3.9 s.
 */
const WINDOW = 256 << 10;

class MemoryEnd implements Channel {
  peer!: MemoryEnd;
  private onData: ((chunk: Uint8Array) => void) | null = null;
  private onEnd: ((error?: Error) => void) | null = null;
  private readonly pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private drainCallback: (() => void) | null = null;
  /** A write of ours came back short: call drainCallback once the peer has read. */
  private blocked = false;
  private paused = false;
  private ended = false;
  private closed = false;
  private delivering = false;

  start(onData: (chunk: Uint8Array) => void, onEnd: (error?: Error) => void): void {
    this.onData = onData;
    this.onEnd = onEnd;
    this.schedule();
  }

  write(data: Uint8Array): number {
    const peer = this.peer;
    if (this.closed || peer.closed) return data.length;
    const room = Math.max(0, WINDOW - peer.pendingBytes);
    const n = Math.min(room, data.length);
    if (n < data.length) this.blocked = true;
    if (n === 0) return 0;
    // Copied: the writer may reuse its buffer once write returns.
    peer.pending.push(data.slice(0, n));
    peer.pendingBytes += n;
    peer.schedule();
    return n;
  }

  onDrain(callback: () => void): void {
    this.drainCallback = callback;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.schedule();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.peer.ended = true;
    this.peer.schedule();
  }

  /** Delivery happens on a later tick, as a socket's would, never inside the writer's call. */
  private schedule(): void {
    if (this.delivering) return;
    this.delivering = true;
    queueMicrotask(() => {
      this.delivering = false;
      this.deliver();
    });
  }

  private deliver(): void {
    if (!this.onData) return;
    while (this.pending.length && !this.paused) {
      const chunk = this.pending.shift()!;
      this.pendingBytes -= chunk.length;
      this.onData(chunk);
    }
    // Our reading made room: the peer's writer may go on.
    const writer = this.peer;
    if (writer.blocked && this.pendingBytes < WINDOW / 2) {
      writer.blocked = false;
      writer.drainCallback?.();
    }
    if (this.ended && !this.pending.length && this.onEnd) {
      const end = this.onEnd;
      this.onEnd = null;
      end();
    }
  }
}

export function memoryChannelPair(): [Channel, Channel] {
  const a = new MemoryEnd();
  const b = new MemoryEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
