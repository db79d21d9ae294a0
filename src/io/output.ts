/**
 * The outgoing side of a connection. Protocol code appends to `data` (a
 * ByteWriter) synchronously. Like upstream's output buffer (io.c), the data
 * stream is sent in large pieces: it goes out, framed as MSG_DATA once
 * multiplexing is on, when a producer's waitWritable finds a frame's worth
 * pending, on an explicit flush, and whenever the process goes idle (every
 * wait for input, a timer or the disk lets the event loop run its
 * immediates), so nothing stays buffered while the peer waits for it.
 * Out-of-band messages are framed on their own.
 */
import { MSG, writeFrameHeader } from "../protocol/mux.ts";
import { ByteWriter } from "../protocol/writer.ts";
import type { Channel } from "./channel.ts";
import { ByteQueue } from "./byte-queue.ts";
import type { Input } from "./input.ts";
import { BandwidthLimit } from "./bandwidth-limit.ts";

/** Largest MSG_DATA payload we send (upstream's output buffer is 64 KiB). */
const MAX_DATA_FRAME = 0x10000 - 4;
/** A multiplexing header: reserved in front of the pending data, so a frame goes out without a copy. */
const HEADER = 4;
/** Pending data at which waitWritable sends it without waiting to be idle (upstream flushes a full 32 KiB buffer). */
const FLUSH_AT = 32 * 1024;
/** Producers should wait (waitWritable) while this much is queued for the channel (a full socket buffer's worth is plenty). */
const BACKLOG_LIMIT = 1 << 20;
const RESOLVED = Promise.resolve();

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
}

export class Output {
  private readonly pending = new ByteWriter(1 << 17, HEADER);
  /** Bytes the channel did not take yet (our own copies), in order. */
  private readonly queue = new ByteQueue();
  private isMultiplexed = false;
  private scheduled = false;
  private closed = false;
  /** Producers in waitWritable, and callers of drained: woken when the queue empties. */
  private roomWaiters: Waiter[] = [];
  private drainWaiters: Waiter[] = [];
  /** The session's failure, once there is one: what a producer waiting for room stops with (see stop). */
  private failure: unknown = null;
  /** The connection is gone: what is queued can never leave. */
  private gone = false;
  /** --bwlimit: how fast the queue may go to the channel (null: as fast as it takes it). */
  private limit: BandwidthLimit | null = null;
  /** A pump waiting for the bandwidth limit's pause to end. */
  private pacedPump: ReturnType<typeof setTimeout> | null = null;
  private readonly idleFlush = () => {
    this.scheduled = false;
    this.flush();
  };
  /** Bytes handed to the channel (frame headers included). */
  bytesSent = 0;
  /** Data-stream bytes framed so far (upstream's total_data_written, less what is still pending). */
  private dataFlushed = 0;
  /** When bytes were last accepted by the channel (ms), for --timeout. */
  lastActivity = Date.now();
  /** Sees every byte of the data stream as it leaves (--write-batch records a pushing sender's output). */
  tee: ((data: Uint8Array) => void) | null = null;

  /** `input` is the same connection's: its failures and its end stop what waits here (see stop). */
  constructor(
    private readonly channel: Channel,
    input?: Input,
  ) {
    channel.onDrain(() => this.pump());
    input?.onFailure((reason, gone) => this.stop(reason, gone));
  }

  /**
   * The session failed (`reason` is what a read now throws): a producer waiting
   * for room stops with it, as it would waiting for input, since a peer that
   * stopped reading (or a --timeout) would otherwise hold it forever; what is
   * queued still goes out as the channel takes it (a server's last messages to
   * its client follow a failure). Once the connection is `gone` (the peer
   * closed it, or it broke), no drain will ever come and nothing queued can
   * leave, so drained stops with it too: a dead peer must not leave us waiting
   * for a socket that no longer exists.
   */
  stop(reason: unknown, gone: boolean): void {
    if (this.failure === null) this.failure = reason;
    for (const w of this.roomWaiters.splice(0)) w.reject(this.failure);
    if (!gone || this.gone) return;
    this.gone = true;
    for (const w of this.drainWaiters.splice(0)) w.reject(this.failure);
  }

  /** Data-stream bytes written so far, without the multiplexing headers (io.c total_data_written). */
  get dataWritten(): number {
    return this.dataFlushed + this.pending.size;
  }

  /** The data stream's writer. What is written goes out at the latest when the process is next idle. */
  get data(): ByteWriter {
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.idleFlush);
    }
    return this.pending;
  }

  /** --bwlimit: from now on at most `kibPerSecond` KiB a second go to the channel (0: no limit). */
  limitBandwidth(kibPerSecond: number): void {
    this.limit = kibPerSecond > 0 ? new BandwidthLimit(kibPerSecond) : null;
  }

  startMultiplex(): void {
    this.flush();
    this.isMultiplexed = true;
  }

  get multiplexed(): boolean {
    return this.isMultiplexed;
  }

  /** An empty MSG_DATA frame: carries nothing, shows the peer we are alive. */
  keepAlive(): void {
    this.message(MSG.DATA, new Uint8Array(0));
  }

  /** Sends an out-of-band message (after the data written before it). */
  message(code: number, payload: Uint8Array): void {
    this.flush();
    this.messageAhead(code, payload);
  }

  /**
   * Sends a message ahead of the data written this tick and not yet framed,
   * as upstream's msg buffer is flushed before its data buffer (a server's
   * MSG_DELETED reaches the client before the item written just before it).
   */
  messageAhead(code: number, payload: Uint8Array): void {
    const frame = new Uint8Array(4 + payload.length);
    writeFrameHeader(frame, 0, code, payload.length);
    frame.set(payload, 4);
    this.enqueue(frame);
  }

  messageInt(code: number, value: number): void {
    const p = new Uint8Array(4);
    new DataView(p.buffer).setInt32(0, value, true);
    this.message(code, p);
  }

  /** Frames whatever data is pending and hands it to the channel. */
  flush(): void {
    const n = this.pending.size;
    if (n === 0) return;
    // Not noted to the memory pacer: these bytes come from reused buffers (a file's data, mostly) and allocate
    // nothing; the sender notes each file it sends instead.
    // [header slot][payload]: each frame's header goes in the 4 bytes before its payload (the slot, then the
    // tail of the previous frame, which the channel has taken or we have copied by then).
    const raw = this.pending.raw();
    this.dataFlushed += n;
    this.tee?.(raw.subarray(HEADER));
    if (!this.isMultiplexed) {
      this.send(raw.subarray(HEADER));
    } else {
      for (let from = HEADER; from < raw.length; ) {
        const len = Math.min(MAX_DATA_FRAME, raw.length - from);
        writeFrameHeader(raw, from - HEADER, MSG.DATA, len);
        this.send(raw.subarray(from - HEADER, from + len));
        from += len;
      }
    }
    this.pending.clear();
  }

  /** Hands bytes to the channel (after whatever is queued); what it does not take now is copied into the queue. */
  private send(bytes: Uint8Array): void {
    if (this.closed) return;
    let written = 0;
    if (this.queue.length === 0 && !this.limit?.delay()) {
      const offered = this.offer(bytes);
      written = this.write(offered);
      if (written === bytes.length) return;
      // Less than offered: the channel is full and calls onDrain; all of it: the limit's pump sends the rest.
    }
    this.queue.push(written === 0 ? bytes : bytes.subarray(written));
    // What the limit held back goes out when its pause ends (a full channel calls onDrain as well).
    if (this.limit) this.pumpAfter(this.limit.delay());
  }

  private enqueue(bytes: Uint8Array): void {
    this.send(bytes);
  }

  /** As much of `bytes` as one write may take under the bandwidth limit (all of it without one). */
  private offer(bytes: Uint8Array): Uint8Array {
    const limit = this.limit;
    return limit && bytes.length > limit.writeMax ? bytes.subarray(0, limit.writeMax) : bytes;
  }

  /** Hands `bytes` to the channel; returns what it took. */
  private write(bytes: Uint8Array): number {
    const written = this.channel.write(bytes);
    this.bytesSent += written;
    if (written > 0) {
      this.lastActivity = Date.now();
      this.limit?.wrote(written);
    }
    return written;
  }

  private pump(): void {
    const q = this.queue;
    while (q.length > 0) {
      const pause = this.limit?.delay();
      if (pause) return this.pumpAfter(pause);
      const offered = this.offer(q.peek());
      const written = this.write(offered);
      q.consume(written);
      if (written < offered.length) return; // the channel calls onDrain when it can take more
    }
    if (this.roomWaiters.length > 0) for (const w of this.roomWaiters.splice(0)) w.resolve();
    if (this.drainWaiters.length > 0) for (const w of this.drainWaiters.splice(0)) w.resolve();
  }

  private pumpAfter(ms: number): void {
    if (this.pacedPump) return;
    this.pacedPump = setTimeout(() => {
      this.pacedPump = null;
      this.pump();
    }, ms);
  }

  /**
   * Resolves when the backlog is small enough to keep producing; a frame's worth of pending data is sent first.
   * Rejects with the session's failure once there is one (see stop).
   */
  waitWritable(): Promise<void> {
    if (this.writableNow()) return RESOLVED;
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.roomWaiters.push({ resolve, reject }));
  }

  /** waitWritable without the wait: sends a frame's worth of pending data, and says whether a producer may go on now. */
  writableNow(): boolean {
    if (this.pending.size >= FLUSH_AT) this.flush();
    return this.queue.length < BACKLOG_LIMIT && this.failure === null;
  }

  /** Resolves when every byte written so far has been accepted by the channel; rejects if the connection is gone first. */
  async drained(): Promise<void> {
    this.flush();
    while (this.queue.length > 0) {
      if (this.gone) throw this.failure;
      await new Promise<void>((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
    }
  }

  /** Sends everything still queued, then closes the channel. */
  async close(): Promise<void> {
    await this.drained();
    this.closed = true;
    this.channel.close();
  }
}
