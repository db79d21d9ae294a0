/**
 * The incoming side of a connection: raw bytes first (handshake,
 * setup_protocol), then multiplexed frames. Protocol code reads the data
 * stream through `loop`/`read`, which decode synchronously and wait only when
 * the buffered bytes run out.
 */
import { type BreakingErrno, breakingErrno, connectionBroken, RsyncError } from "../errors.ts";
import { Demultiplexer, type FrameReader } from "../protocol/mux.ts";
import { ChunkReader, UNDERFLOW } from "../protocol/reader.ts";
import type { Channel } from "./channel.ts";
import { noteWork } from "./memory-pacer.ts";

/** Stop reading the socket while this much decoded-but-unconsumed data is buffered. */
const PAUSE_ABOVE = 8 << 20;

/**
 * Thrown by a `loop` step that cannot go on until something other than
 * input happens (--read-batch: the receiver waits for the generator's
 * choice): the step is retried from the item's start once `until` settles.
 */
export class WaitFor {
  constructor(readonly until: Promise<void>) {}
}

/** What Input.tryRead returns when the item has not fully arrived. */
export const NOT_BUFFERED: unique symbol = Symbol("not buffered");

export type MessageHandler = (code: number, payload: Uint8Array) => void;

/** Hears of the session's first failure (`gone` false) and of the connection's end (`gone` true); see Output.stop. */
export type FailureListener = (reason: unknown, gone: boolean) => void;

export class Input implements FrameReader {
  readonly reader = new ChunkReader();
  private demux: Demultiplexer | null = null;
  private wake: (() => void) | null = null;
  private failure: unknown = null;
  private readonly failureListeners: FailureListener[] = [];
  /** What the connection's end left a writer to report (set at the end). */
  private endReason: unknown = null;
  private paused = false;
  /** Raw bytes received on the connection (multiplex headers included). */
  bytesReceived = 0;
  /** When bytes last arrived (ms), for --timeout. */
  lastActivity = Date.now();
  /** Sees every byte of the data stream once multiplexed (--write-batch records a receiver's input). */
  tee: ((data: Uint8Array) => void) | null = null;
  /** Who reads, as a refused frame's error names it (FrameReader; the sessions say who they are, and "/inc"). */
  readerName: () => string = () => this.reader.role;
  /** A server reads this connection (FrameReader). */
  amServer = false;
  /** This connection joins the halves of a local copy (FrameReader). */
  localCopy = false;

  constructor(
    private readonly channel: Channel,
    private onMessage: MessageHandler = () => {},
  ) {
    channel.start(
      (chunk) => this.received(chunk),
      (error) => this.ended(error),
    );
  }

  setMessageHandler(handler: MessageHandler): void {
    this.onMessage = handler;
  }

  /** Messages of one code go to `handler` from now on, whatever the general handler is (a role's own message). */
  routeMessage(code: number, handler: (payload: Uint8Array) => void): void {
    const general = this.onMessage;
    this.onMessage = (c, payload) => (c === code ? handler(payload) : general(c, payload));
  }

  /** From now on incoming bytes are frames; bytes already buffered are re-read as frames. */
  startMultiplex(): void {
    this.demux = new Demultiplexer({
      data: (payload) => {
        this.tee?.(payload);
        this.reader.push(payload);
      },
      message: (code, payload) => this.onMessage(code, payload),
    }, this);
    for (const chunk of this.reader.drain()) this.demux.push(chunk);
  }

  get multiplexed(): boolean {
    return this.demux !== null;
  }

  private received(chunk: Uint8Array): void {
    this.bytesReceived += chunk.length;
    noteWork(chunk.length);
    this.lastActivity = Date.now();
    try {
      if (this.demux) this.demux.push(chunk);
      else this.reader.push(chunk);
    } catch (e) {
      this.fail(e);
    }
    if (!this.paused && this.reader.available > PAUSE_ABOVE) {
      this.paused = true;
      this.channel.pause();
    }
    this.notify();
  }

  private ended(error?: Error): void {
    this.reader.ended = true;
    if (error) this.fail(this.brokenError(error) ?? this.reader.closedError(error.message));
    // Nothing can be sent any more either. A writer still waiting learns what a read now reports: the failure
    // (the peer's MSG_ERROR_EXIT code, when it came before the end), else the unexpected end.
    this.endReason = this.failure ?? this.reader.closedError();
    for (const listener of this.failureListeners) listener(this.endReason, true);
    this.notify();
  }

  /**
   * The connection broken under a read or a write (ECONNRESET, EPIPE), named
   * as upstream's side that made the call names itself (who_am_i): a
   * receiver that has not forked is "Receiver", and the one writing beside a
   * receiver is its generator. Null for any other end, and for a write that
   * failed before the streams were multiplexed (what upstream's start says
   * then depends on the shell or daemon, as our plain end does).
   */
  private brokenError(error: Error): RsyncError | null {
    const errno: BreakingErrno | null = breakingErrno(error);
    if (errno === null) return null;
    const multiplexed = this.demux !== null;
    const reader = this.reader.role;
    if ((error as { syscall?: string }).syscall === "write") {
      return multiplexed ? connectionBroken(errno, reader === "receiver" ? "generator" : reader, "write", true) : null;
    }
    return connectionBroken(errno, !multiplexed && reader === "receiver" ? "Receiver" : reader, "read", multiplexed);
  }

  /** Makes every pending and future read fail with `e` (e.g. a fatal message from the peer). */
  fail(e: unknown): void {
    if (this.failure === null) {
      this.failure = e;
      for (const listener of this.failureListeners) listener(e, false);
    }
    this.notify();
  }

  /**
   * `listener` hears of the first failure and of the connection's end: the
   * connection's Output, whose writers would otherwise wait for room (a
   * drain) that a failed session or a dead peer never gives.
   */
  onFailure(listener: FailureListener): void {
    this.failureListeners.push(listener);
    // What happened before (a connection can end before the session's Output is made).
    if (this.failure !== null) listener(this.failure, false);
    if (this.endReason !== null) listener(this.endReason, true);
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private async more(): Promise<void> {
    if (this.failure !== null) throw this.failure;
    if (this.reader.ended) return; // the next read reports the unexpected EOF
    if (this.paused) {
      this.paused = false;
      this.channel.resume();
    }
    this.reader.settle();
    await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.failure !== null) throw this.failure;
  }

  /**
   * Runs `step` over buffered items until it returns false. Each call of
   * `step` must read one whole item before acting on it: when the item is
   * incomplete the reader throws UNDERFLOW, we rewind to the item's start and
   * call `step` again once more bytes are in.
   */
  async loop(step: (r: ChunkReader) => boolean): Promise<void> {
    const r = this.reader;
    for (;;) {
      if (this.failure !== null) throw this.failure;
      try {
        for (;;) {
          r.mark();
          if (!step(r)) return;
        }
      } catch (e) {
        if (e instanceof WaitFor) {
          r.rewind();
          await e.until;
          continue;
        }
        if (e !== UNDERFLOW) throw e;
        r.rewind();
      }
      await this.more();
    }
  }

  /**
   * Reads one item if it is wholly buffered already, synchronously (no
   * promise, no turn of the loop: a sender answering request after request
   * from one received chunk); NOT_BUFFERED, with nothing consumed, otherwise.
   */
  tryRead<T>(decode: (r: ChunkReader) => T): T | typeof NOT_BUFFERED {
    if (this.failure !== null) throw this.failure;
    const r = this.reader;
    r.mark();
    try {
      return decode(r);
    } catch (e) {
      if (e !== UNDERFLOW && !(e instanceof WaitFor)) throw e;
      r.rewind();
      return NOT_BUFFERED;
    }
  }

  /** Reads one item. */
  async read<T>(decode: (r: ChunkReader) => T): Promise<T> {
    let result!: T;
    await this.loop((r) => {
      result = decode(r);
      return false;
    });
    return result;
  }

  /** Resolves when the peer closes the connection; what arrives until then is dropped (io.c noop_io_until_death). */
  async closed(): Promise<void> {
    while (!this.reader.ended) {
      this.reader.drain();
      await this.more();
    }
  }

  /** Reads a text line (handshake), without its "\n"; "\r" is dropped as upstream does. */
  readLine(max = 4096): Promise<string> {
    return this.read((r) => {
      const bytes: number[] = [];
      for (;;) {
        const b = r.u8();
        if (b === 0x0a) return Buffer.from(bytes).toString("latin1");
        if (b === 0) throw new RsyncError(5, "server sent a NUL byte in a text line");
        if (b !== 0x0d) bytes.push(b);
        if (bytes.length > max) throw new RsyncError(5, "line too long from server");
      }
    });
  }
}
