/**
 * The Output's buffering: small writes made across many awaits leave as one
 * piece once the process is idle, large pending data is cut into MSG_DATA
 * frames no bigger than upstream's, messages keep their place after the
 * data written before them, and a channel that takes only part of a write
 * still gets every byte, in order. Its waits end with the session's
 * failure: at once for room, once the connection is gone for the drain.
 */
import { describe, expect, test } from "bun:test";
import type { Channel } from "../../src/io/channel.ts";
import { ByteQueue } from "../../src/io/byte-queue.ts";
import { Input } from "../../src/io/input.ts";
import { Output } from "../../src/io/output.ts";
import { Demultiplexer, MSG } from "../../src/protocol/mux.ts";

/** A channel that records each write; `accept` caps what one write takes (short writes). `end` ends the connection. */
class RecordingChannel implements Channel {
  writes: Uint8Array[] = [];
  drain: (() => void) | null = null;
  end: (error?: Error) => void = () => {};
  constructor(public accept = Infinity) {}
  start(_onData: (chunk: Uint8Array) => void, onEnd: (error?: Error) => void): void {
    this.end = onEnd;
  }
  write(data: Uint8Array): number {
    const n = Math.min(this.accept, data.length);
    if (n > 0) this.writes.push(data.slice(0, n));
    return n;
  }
  onDrain(callback: () => void): void {
    this.drain = callback;
  }
  pause(): void {}
  resume(): void {}
  close(): void {}
  bytes(): Uint8Array {
    return Buffer.concat(this.writes);
  }
}

const idle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The data stream and the messages (code, text) in the order the frames came. */
function demux(raw: Uint8Array): { data: Uint8Array; events: string[]; frames: number[] } {
  const parts: Uint8Array[] = [];
  const events: string[] = [];
  const frames: number[] = [];
  let dataSinceEvent = 0;
  const d = new Demultiplexer({
    data: (p) => {
      parts.push(p.slice());
      dataSinceEvent += p.length;
    },
    message: (code, p) => {
      events.push(`data:${dataSinceEvent}`, `msg${code}:${Buffer.from(p).toString()}`);
      dataSinceEvent = 0;
    },
  }, { readerName: () => "receiver", amServer: false, localCopy: false });
  // Frame sizes, read from the headers as the demultiplexer walks them.
  for (let at = 0; at + 4 <= raw.length; ) {
    const len = raw[at]! | (raw[at + 1]! << 8) | (raw[at + 2]! << 16);
    if (raw[at + 3] === 7) frames.push(len);
    at += 4 + len;
  }
  d.push(raw);
  events.push(`data:${dataSinceEvent}`);
  return { data: Buffer.concat(parts), events, frames };
}

function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return out;
}

describe("Output buffering", () => {
  test("small writes across awaits leave in one write when idle", async () => {
    const ch = new RecordingChannel();
    const out = new Output(ch);
    out.startMultiplex();
    const expected: number[] = [];
    for (let i = 0; i < 200; i++) {
      out.data.i32(i);
      expected.push(i);
      await Promise.resolve();
      await out.waitWritable();
    }
    expect(ch.writes.length).toBe(0);
    await idle();
    expect(ch.writes.length).toBe(1);
    const { data, frames } = demux(ch.bytes());
    expect(frames).toEqual([800]);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    expect(Array.from({ length: 200 }, (_, i) => view.getInt32(i * 4, true))).toEqual(expected);
  });

  test("waitWritable sends a frame's worth without waiting to be idle", async () => {
    const ch = new RecordingChannel();
    const out = new Output(ch);
    out.startMultiplex();
    out.data.bytes(pattern(40_000));
    await out.waitWritable();
    expect(ch.writes.length).toBe(1);
    expect(demux(ch.bytes()).data).toEqual(pattern(40_000));
  });

  test("large pending data is cut into frames of at most 65532 bytes, every byte intact", async () => {
    const ch = new RecordingChannel();
    const out = new Output(ch);
    out.startMultiplex();
    const payload = pattern(300_001, 3);
    out.data.bytes(payload);
    out.flush();
    const { data, frames } = demux(ch.bytes());
    expect(frames).toEqual([65532, 65532, 65532, 65532, 300_001 - 4 * 65532]);
    expect(data).toEqual(payload);
    expect(out.bytesSent).toBe(300_001 + 5 * 4);
    expect(out.dataWritten).toBe(300_001);
  });

  test("a message follows the data written before it; messageAhead goes before pending data", async () => {
    const ch = new RecordingChannel();
    const out = new Output(ch);
    out.startMultiplex();
    out.data.bytes(pattern(10));
    out.message(MSG.INFO, Buffer.from("one"));
    out.data.bytes(pattern(20));
    out.messageAhead(MSG.DELETED, Buffer.from("two"));
    await idle();
    expect(demux(ch.bytes()).events).toEqual(["data:10", "msg2:one", "data:0", "msg101:two", "data:20"]);
  });

  test("short writes: every byte arrives in order once the channel drains", async () => {
    const ch = new RecordingChannel(1000);
    const out = new Output(ch);
    out.startMultiplex();
    const a = pattern(150_000, 5);
    const b = pattern(70_000, 9);
    out.data.bytes(a);
    out.flush();
    out.message(MSG.INFO, Buffer.from("mid"));
    out.data.bytes(b);
    out.flush();
    // The writer's buffer is reused at once: what the channel did not take must be our own copy.
    out.data.bytes(pattern(5000, 11));
    out.data.clear();
    for (let i = 0; i < 1000 && ch.drain; i++) ch.drain();
    const { data, events } = demux(ch.bytes());
    expect(data).toEqual(Buffer.concat([a, b]));
    expect(events).toEqual(["data:150000", "msg2:mid", "data:70000"]);
  });

  test("before multiplexing the bytes go out raw", async () => {
    const ch = new RecordingChannel();
    const out = new Output(ch);
    out.data.bytes(Buffer.from("@RSYNCD: 32.0\n"));
    await idle();
    expect(Buffer.from(ch.bytes()).toString()).toBe("@RSYNCD: 32.0\n");
    expect(out.dataWritten).toBe(14);
  });

  test("waits end with the input's failure: for room at once, for the drain once the connection is gone", async () => {
    // The peer has stopped reading: the channel takes nothing, and no drain comes.
    const ch = new RecordingChannel(0);
    const input = new Input(ch);
    const out = new Output(ch, input);
    out.data.bytes(pattern(2 << 20));
    const room = out.waitWritable();
    let drainSettled = false;
    const drained = out.drained().finally(() => (drainSettled = true));
    drained.catch(() => {});
    const failure = new Error("io timeout");
    input.fail(failure);
    await expect(room).rejects.toBe(failure);
    expect(out.writableNow()).toBe(false);
    await expect(out.waitWritable()).rejects.toBe(failure);
    // Still connected: what is queued (a server's last messages) may yet go out.
    await idle();
    expect(drainSettled).toBe(false);
    ch.end(new Error("ECONNRESET: connection reset by peer"));
    await expect(drained).rejects.toBe(failure);
  });

  test("the connection's end stops a drained wait with what a read would report", async () => {
    const ch = new RecordingChannel(0);
    const input = new Input(ch);
    const out = new Output(ch, input);
    out.data.bytes(pattern(1000));
    const drained = out.drained();
    ch.end();
    await expect(drained).rejects.toThrow("connection unexpectedly closed");
    await expect(out.waitWritable()).rejects.toThrow("connection unexpectedly closed");
  });
});

describe("ByteQueue", () => {
  test("random pushes and partial consumes give back the bytes in order", () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const q = new ByteQueue();
    const expected: Uint8Array[] = [];
    const got: Uint8Array[] = [];
    let pushed = 0;
    let taken = 0;
    for (let round = 0; round < 300; round++) {
      // Pieces from a few bytes to more than a chunk (256 KiB).
      const size = rand(8) === 0 ? rand(600_000) : rand(3000);
      const piece = pattern(size, round);
      q.push(piece);
      expected.push(piece);
      pushed += size;
      for (let k = rand(3); k >= 0 && q.length > 0; k--) {
        const view = q.peek();
        expect(view.length).toBeGreaterThan(0);
        const take = rand(2) === 0 ? view.length : rand(view.length + 1);
        got.push(view.slice(0, take));
        taken += take;
        q.consume(take);
      }
      expect(q.length).toBe(pushed - taken);
    }
    while (q.length > 0) {
      const view = q.peek();
      got.push(view.slice());
      q.consume(view.length);
    }
    expect(Buffer.concat(got).equals(Buffer.concat(expected))).toBe(true);
  });
});

describe("--bwlimit", () => {
  test("each write is at most the limit's share, the rest waits for the pause to end, and every byte arrives in order", async () => {
    const channel = new RecordingChannel();
    const output = new Output(channel);
    output.limitBandwidth(64); // 8 KiB a write, then a 125 ms pause
    const data = new Uint8Array(40_000).map((_, i) => i * 7);
    output.data.bytes(data);
    output.flush();
    expect(channel.writes.map((w) => w.length)).toEqual([8192]);
    await idle();
    expect(channel.writes.length).toBe(1);
    await output.drained();
    expect(channel.writes.map((w) => w.length)).toEqual([8192, 8192, 8192, 8192, 40_000 - 4 * 8192]);
    expect(channel.bytes()).toEqual(data);
  });
});
