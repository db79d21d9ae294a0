/**
 * A full-duplex byte pipe to the peer: a TCP socket to a daemon, pipes to a
 * remote shell, or our own stdin/stdout in --server mode. The protocol layers
 * above see only this.
 */
export interface Channel {
  /** Starts delivering incoming chunks; `onEnd` is called once at EOF or on error. */
  start(onData: (chunk: Uint8Array) => void, onEnd: (error?: Error) => void): void;
  /** Writes what the pipe takes now; returns the count of bytes accepted (may be short). */
  write(data: Uint8Array): number;
  /** Called when a short write can be retried (never once the connection is gone: the Input hears of that). */
  onDrain(callback: () => void): void;
  /** Stops and restarts delivery of incoming chunks (read backpressure). */
  pause(): void;
  resume(): void;
  /** Closes our end for writing and reading. */
  close(): void;
}
