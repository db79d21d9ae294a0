/**
 * Channel over a pair of byte streams: our own stdin/stdout in --server
 * mode, or the pipes to a remote-shell child (`-e ssh ...`). Writes take a
 * chunk only while the stream's buffer is below its high-water mark, so a
 * slow reader slows the writer down instead of filling memory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import type { Channel } from "./channel.ts";

export function streamChannel(readable: Readable, writable: Writable, onClose: () => void = () => {}): Channel {
  let drain: (() => void) | undefined;
  writable.on("drain", () => drain?.());
  // A peer that went away shows up as EPIPE on the next write; the read side reports the end.
  writable.on("error", () => {});
  let closed = false;
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
    write(data) {
      if (closed || writable.writableNeedDrain || writable.destroyed) return 0;
      // The caller reuses its buffers; the stream keeps what it is given until it is written.
      writable.write(Buffer.from(data));
      return data.length;
    },
    onDrain(callback) {
      drain = callback;
    },
    pause: () => readable.pause(),
    resume: () => readable.resume(),
    close() {
      if (closed) return;
      closed = true;
      writable.end();
      readable.pause();
      onClose();
    },
  };
}

/** Our stdin and stdout (the server end of a remote shell). */
export function stdioChannel(): Channel {
  return streamChannel(process.stdin, process.stdout, () => process.stdin.destroy());
}

export interface ShellChild {
  channel: Channel;
  /** Rejects when the command could not be started (not found, not executable). */
  started: Promise<void>;
  /** Resolves with the child's exit code (signals count as 255 + signal, shown like a failed shell). */
  exited: Promise<number>;
  child: ChildProcess;
}

/** Starts the remote shell (or local server) command with pipes on its stdin and stdout; stderr is ours. */
export function spawnShell(argv: string[]): ShellChild {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<number>((resolve) => {
    child.on("error", () => resolve(-1));
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 255 : 0)));
  });
  const started = new Promise<void>((resolve, reject) => {
    child.on("spawn", () => resolve());
    child.on("error", (e) => reject(e));
  });
  started.catch(() => {});
  const channel = streamChannel(child.stdout!, child.stdin!);
  return { channel, started, exited, child };
}
