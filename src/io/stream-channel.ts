/**
 * Channel over a pair of byte streams: our own stdin/stdout in --server
 * mode, or the pipes to a remote-shell child (`-e ssh ...`).
 *
 * Writes go through a Bun FileSink, which copies what it takes and reports
 * a pipe that cannot take more as a pending flush: the channel takes nothing
 * more until that flush is done, so a slow reader slows the writer down
 * instead of filling memory. (Bun 1.4's node streams on pipes never report
 * backpressure: `writableNeedDrain` stays false and every write is queued,
 * so a kernel-tree transfer over a remote shell held 350-550 MB.)
 */
import type { Readable } from "node:stream";
import type { FileSink, Subprocess } from "bun";
import type { Channel } from "./channel.ts";
import { breakingErrno, brokenWrite } from "../errors.ts";

/** Where a stream channel's writes go. */
export interface ByteSink {
  /** Takes `data` (a copy: the caller reuses its buffers) and returns its length, or 0 while it can take nothing. */
  write(data: Uint8Array): number;
  onDrain(callback: () => void): void;
  end(): void;
  /** What broke a write before (a pipe whose reader went away: EPIPE), for the channel's end to report. */
  failure?(): Error | undefined;
}

/** Incoming chunks of a stream channel. */
interface ByteSource {
  start(onData: (chunk: Uint8Array) => void, onEnd: (error?: Error) => void): void;
  pause(): void;
  resume(): void;
  stop(): void;
}

function channelOf(source: ByteSource, sink: ByteSink, onClose: () => void): Channel {
  let closed = false;
  return {
    // An end that follows a failed write is that write's error (upstream reports the call that failed).
    start: (onData, onEnd) => source.start(onData, (error) => onEnd(error ?? sink.failure?.())),
    write: (data) => (closed ? 0 : sink.write(data)),
    onDrain: (callback) => sink.onDrain(callback),
    pause: () => source.pause(),
    resume: () => source.resume(),
    close() {
      if (closed) return;
      closed = true;
      sink.end();
      source.stop();
      onClose();
    },
  };
}

/** A FileSink with a flush after each write: one still pending means the pipe is full. */
export function fileSinkWriter(sink: FileSink): ByteSink {
  let pending = false;
  let gone = false;
  let drain: (() => void) | undefined;
  const settled = () => {
    pending = false;
    drain?.();
  };
  // A peer that went away shows up as EPIPE here; the read side reports the end, with this as its error.
  let failure: Error | undefined;
  const failed = (e?: unknown) => {
    gone = true;
    failure ??= brokenPipe(e);
  };
  return {
    write(data) {
      if (pending || gone) return 0;
      let result: number | Promise<number>;
      try {
        result = sink.write(data);
        if (!(result instanceof Promise)) result = sink.flush();
      } catch (e) {
        failed(e);
        return 0;
      }
      if (result instanceof Promise) {
        pending = true;
        result.then(settled, failed);
      }
      return data.length;
    },
    onDrain(callback) {
      drain = callback;
    },
    failure: () => failure,
    end() {
      try {
        const r = sink.end();
        if (r instanceof Promise) r.catch(() => {});
      } catch {
        // Already closed by the peer.
      }
    },
  };
}

/** A node Readable's chunks (our stdin, a --read-batch file). */
function readableSource(readable: Readable): ByteSource {
  return {
    start(onData, onEnd) {
      let ended = false;
      const end = (error?: Error) => {
        if (ended) return;
        ended = true;
        onEnd(error);
      };
      readable.on("data", (chunk: Buffer) => onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)));
      readable.on("end", () => end());
      readable.on("close", () => end());
      readable.on("error", (e) => end(e));
    },
    pause: () => readable.pause(),
    resume: () => readable.resume(),
    stop: () => readable.pause(),
  };
}

/** A web ReadableStream's chunks (a child's stdout), read one at a time, none while paused. */
function webStreamSource(stream: ReadableStream<Uint8Array>): ByteSource {
  let paused = false;
  let stopped = false;
  let wake: (() => void) | undefined;
  const resume = () => {
    paused = false;
    wake?.();
    wake = undefined;
  };
  return {
    start(onData, onEnd) {
      const reader = stream.getReader();
      void (async () => {
        try {
          for (;;) {
            if (paused) await new Promise<void>((r) => (wake = r));
            if (stopped) break;
            const { value, done } = await reader.read();
            if (done) break;
            onData(value);
          }
          onEnd();
        } catch (e) {
          onEnd(e instanceof Error ? e : new Error(String(e)));
        }
      })();
    },
    pause: () => {
      paused = true;
    },
    resume,
    stop: () => {
      stopped = true;
      resume();
    },
  };
}

/** A Readable and any sink (a --read-batch file and a sink that takes everything). */
export function streamChannel(readable: Readable, sink: ByteSink, onClose: () => void = () => {}): Channel {
  return channelOf(readableSource(readable), sink, onClose);
}

/** Our stdin and stdout (the server end of a remote shell). */
export function stdioChannel(): Channel {
  return channelOf(readableSource(process.stdin), fileSinkWriter(Bun.file(1).writer()), () => process.stdin.destroy());
}

export interface ShellChild {
  channel: Channel;
  /** Rejects when the command could not be started (not found, not executable). */
  started: Promise<void>;
  /** Resolves with the child's exit code (signals count as 255, shown like a failed shell). */
  exited: Promise<number>;
  /** Resolves with its exit status as wait(2)'s WEXITSTATUS gives it: the code, 0 when a signal ended it or it never ran. */
  exitStatus: Promise<number>;
  pid?: number;
}

/** Starts the remote shell (or local server) command with pipes on its stdin and stdout; stderr is ours. */
export function spawnShell(argv: string[]): ShellChild {
  let child: Subprocess<"pipe", "pipe", "inherit">;
  try {
    child = Bun.spawn(argv, { stdio: ["pipe", "pipe", "inherit"] });
  } catch (e) {
    const started = Promise.reject(e);
    started.catch(() => {});
    const nothing: ByteSource = { start: (_onData, onEnd) => onEnd(), pause() {}, resume() {}, stop() {} };
    const refuse: ByteSink = { write: () => 0, onDrain() {}, end() {} };
    return { channel: channelOf(nothing, refuse, () => {}), started, exited: Promise.resolve(-1), exitStatus: Promise.resolve(0) };
  }
  const exited = child.exited.then((code) => (child.signalCode ? 255 : code));
  const exitStatus = child.exited.then((code) => (child.signalCode ? 0 : code));
  const channel = channelOf(webStreamSource(child.stdout), fileSinkWriter(child.stdin), () => {});
  return { channel, started: Promise.resolve(), exited, exitStatus, pid: child.pid };
}

/**
 * A write's failure as a channel's end error: the errno Bun gave (EPIPE, ECONNRESET), or EPIPE, what a pipe
 * gives once its reader is gone, when it gave none; undefined for any other errno (the end is then a plain one).
 */
function brokenPipe(e: unknown): Error | undefined {
  const errno = (e as { code?: unknown } | null)?.code === undefined ? "EPIPE" : breakingErrno(e);
  return errno ? brokenWrite(errno) : undefined;
}
