/**
 * A connection that breaks under a read or a write ends the session with
 * the call upstream would report (io.c: "read error", "write error",
 * safe_read's line during the start) and its errno, and upstream's exit
 * code for it; any other end stays "connection unexpectedly closed". A pipe
 * whose reader went away ends its channel with the write's EPIPE, even when
 * the other direction ends later without an error.
 */
import { describe, expect, test } from "bun:test";
import type { Channel } from "../../src/io/channel.ts";
import { Input } from "../../src/io/input.ts";
import { spawnShell } from "../../src/io/stream-channel.ts";
import { RERR, RsyncError } from "../../src/errors.ts";

/** A channel whose end the test gives. */
class EndingChannel implements Channel {
  end: (error?: Error) => void = () => {};
  start(_onData: (chunk: Uint8Array) => void, onEnd: (error?: Error) => void): void {
    this.end = onEnd;
  }
  write(data: Uint8Array): number {
    return data.length;
  }
  onDrain(): void {}
  pause(): void {}
  resume(): void {}
  close(): void {}
}

const broken = (code: string, syscall: "read" | "write") => Object.assign(new Error(`${code}: ${syscall}`), { code, syscall });

/** The failure an Input reports once its channel ended with `error`, read by `role` (multiplexed or not). */
function failureAfter(error: Error, role: string, multiplexed: boolean): { code: number; message: string } {
  const channel = new EndingChannel();
  const input = new Input(channel);
  input.reader.role = role;
  if (multiplexed) input.startMultiplex();
  let failure: unknown = null;
  input.onFailure((reason) => (failure ??= reason));
  channel.end(error);
  expect(failure).toBeInstanceOf(RsyncError);
  const e = failure as RsyncError;
  return { code: e.code, message: e.message };
}

describe("the call a broken connection is reported as", () => {
  test.each([
    // [errno, call, reader's role, multiplexed, upstream's line, its exit code]
    ["ECONNRESET", "read", "receiver", false, "rsync: [Receiver] safe_read failed to read 1 bytes: Connection reset by peer (104)", RERR.STREAMIO],
    ["ECONNRESET", "read", "receiver", true, "rsync: [receiver] read error: Connection reset by peer (104)", RERR.STREAMIO],
    ["ECONNRESET", "read", "sender", true, "rsync: [sender] read error: Connection reset by peer (104)", RERR.SOCKETIO],
    ["ECONNRESET", "write", "receiver", true, "rsync: [generator] write error: Connection reset by peer (104)", RERR.SOCKETIO],
    ["EPIPE", "write", "sender", true, "rsync: [sender] write error: Broken pipe (32)", RERR.SOCKETIO],
    ["EPIPE", "write", "receiver", true, "rsync: [generator] write error: Broken pipe (32)", RERR.SOCKETIO],
  ] as const)("%s under a %s by the %s (multiplexed: %p)", (errno, call, role, multiplexed, line, code) => {
    expect(failureAfter(broken(errno, call), role, multiplexed)).toEqual({ code, message: line });
  });

  test("a write broken before the streams are multiplexed, or any other error, is the connection's unexpected end", () => {
    expect(failureAfter(broken("EPIPE", "write"), "sender", false)).toEqual({
      code: RERR.STREAMIO,
      message: "rsync: connection unexpectedly closed (0 bytes received so far) [sender]: EPIPE: write",
    });
    expect(failureAfter(broken("ETIMEDOUT", "read"), "receiver", true)).toEqual({
      code: RERR.STREAMIO,
      message: "rsync: connection unexpectedly closed (0 bytes received so far) [receiver]: ETIMEDOUT: read",
    });
  });
});

test("a pipe whose reader went away: its channel ends with the write's EPIPE", async () => {
  // The child closes its stdin at once and its stdout only when it exits: our writes fail before the read side ends.
  const shell = spawnShell(["sh", "-c", "exec 0<&-; sleep 0.5"]);
  const ended = new Promise<Error | undefined>((resolve) => shell.channel.start(() => {}, resolve));
  const chunk = new Uint8Array(64 << 10);
  for (let i = 0; i < 10; i++) {
    shell.channel.write(chunk);
    await Bun.sleep(20);
  }
  const error = (await ended) as (Error & { code?: string; syscall?: string }) | undefined;
  expect({ code: error?.code, syscall: error?.syscall }).toEqual({ code: "EPIPE", syscall: "write" });
  await shell.exited;
});
