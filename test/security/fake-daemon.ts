/**
 * A scripted, hostile rsync daemon for the client's safety tests. It speaks
 * just enough of protocol 29 (no compat flags, md4, multiplexed output, no
 * uid/gid lists because the tests pull with -rlt) to send a file list of our
 * choosing, then answers the generator's requests as the script says: with
 * honest data, lies, or nothing at all.
 */
import type { Socket } from "bun";
import { ByteWriter } from "../../src/protocol/writer.ts";

export const PROTOCOL = 29;
const MSG_DATA = 0;
const MPLEX_BASE = 7;
export const NDX_DONE = -1;
const ITEM_TRANSFER = 1 << 15;

/** One file-list entry, written in full (no compression against the previous one). */
export interface Entry {
  /** Raw name bytes (may be anything: that is the point). */
  name: Uint8Array | string;
  mode: number;
  size?: number;
  mtime?: number;
  /** Symlink target. */
  link?: string;
  /** Overrides the name length written on the wire. */
  nameLength?: number;
}

export interface TransferRequest {
  ndx: number;
  iflags: number;
  blockCount: number;
  blockLength: number;
  remainder: number;
}

export interface Script {
  entries: Entry[];
  /**
   * The bytes to send for a transfer request (after the echoed index, flags
   * and sum head), or "close" to hang up, or "silence" to say nothing more.
   * Default: nothing to send (the request is ignored).
   */
  answer?: (req: TransferRequest, attempt: number) => Uint8Array | "close" | "silence";
  /** Hang up right after the first answer (a file cut short). */
  closeAfterAnswer?: boolean;
  /** The sum head echoed with an answer (count, block length, checksum length, remainder); the request's by default. */
  head?: (req: TransferRequest) => [number, number, number, number];
  /** Raw bytes sent right before the file list (frames of our own making). */
  beforeList?: Uint8Array;
  /** Raw bytes sent right after the first answer (frames of our own making), then nothing more. */
  afterAnswer?: Uint8Array;
  /** Hang up after this many bytes of the (multiplexed) file list, or go silent after the greeting. */
  cut?: { afterListBytes?: number; silentAfterGreeting?: boolean };
}

export interface FakeDaemon {
  port: number;
  stop(): void;
}

/** Bytes of a protocol-29 file list for `entries`, with its end marker and io_error. */
export function encodeList(entries: Entry[]): Uint8Array {
  const w = new ByteWriter();
  for (const e of entries) {
    const name = typeof e.name === "string" ? Buffer.from(e.name) : e.name;
    const isDir = (e.mode & 0o170000) === 0o040000;
    const flags = 0x40 | (isDir && name.length === 1 && name[0] === 0x2e ? 0x01 : 0); // LONG_NAME (| TOP_DIR)
    w.u8(flags);
    w.i32(e.nameLength ?? name.length);
    w.bytes(name);
    w.longint(e.size ?? 0);
    w.i32(e.mtime ?? 1_400_000_000);
    w.i32(e.mode);
    if ((e.mode & 0o170000) === 0o120000) {
      const target = Buffer.from(e.link ?? "");
      w.i32(target.length).bytes(target);
    }
  }
  w.u8(0);
  w.i32(0); // io_error
  return w.take();
}

/** Literal data tokens, the end token and a (claimed) file checksum. */
export function literalAnswer(data: Uint8Array, checksum: Uint8Array): Uint8Array {
  const w = new ByteWriter();
  if (data.length) w.i32(data.length).bytes(data);
  w.i32(0).bytes(checksum);
  return w.take();
}

/** Raw tokens as given (positive: literal length followed by that many bytes; negative: block reference). */
export function tokenAnswer(tokens: (number | Uint8Array)[]): Uint8Array {
  const w = new ByteWriter();
  for (const t of tokens) {
    if (typeof t === "number") w.i32(t);
    else w.bytes(t);
  }
  return w.take();
}

function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 4);
  new DataView(out.buffer).setUint32(0, ((MPLEX_BASE + MSG_DATA) << 24) | payload.length, true);
  out.set(payload, 4);
  return out;
}

/** Reads what the client sends, as a queue of bytes with awaitable takes. */
class Incoming {
  private buf = new Uint8Array(0);
  private waiter: (() => void) | null = null;
  closed = false;

  push(chunk: Uint8Array): void {
    const next = new Uint8Array(this.buf.length + chunk.length);
    next.set(this.buf);
    next.set(chunk, this.buf.length);
    this.buf = next;
    this.waiter?.();
  }

  end(): void {
    this.closed = true;
    this.waiter?.();
  }

  async take(n: number): Promise<Uint8Array> {
    while (this.buf.length < n) {
      if (this.closed) throw new Error("client went away");
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = null;
    }
    const out = this.buf.slice(0, n);
    this.buf = this.buf.slice(n);
    return out;
  }

  async line(): Promise<string> {
    let text = "";
    for (;;) {
      const b = (await this.take(1))[0]!;
      if (b === 0x0a) return text;
      text += String.fromCharCode(b);
    }
  }

  async i32(): Promise<number> {
    const b = await this.take(4);
    return new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true);
  }

  async u16(): Promise<number> {
    const b = await this.take(2);
    return b[0]! | (b[1]! << 8);
  }
}

export function startFakeDaemon(script: Script): FakeDaemon {
  const sessions = new Map<Socket<undefined>, Incoming>();
  const server = Bun.listen<undefined>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(sock) {
        const incoming = new Incoming();
        sessions.set(sock, incoming);
        converse(sock, incoming, script).catch(() => sock.end());
      },
      data(sock, chunk) {
        sessions.get(sock)?.push(new Uint8Array(chunk));
      },
      close(sock) {
        sessions.get(sock)?.end();
      },
    },
  });
  return {
    port: server.port,
    stop() {
      for (const s of sessions.keys()) s.end();
      server.stop(true);
    },
  };
}

async function converse(sock: Socket<undefined>, inc: Incoming, script: Script): Promise<void> {
  const send = (bytes: Uint8Array | string) => sock.write(typeof bytes === "string" ? Buffer.from(bytes) : bytes);
  send(`@RSYNCD: ${PROTOCOL}.0\n`);
  await inc.line(); // the client's version
  await inc.line(); // the module
  send("@RSYNCD: OK\n");
  while ((await inc.line()) !== "") {
    // the client's arguments, up to the empty line
  }
  if (script.cut?.silentAfterGreeting) return;
  send(new ByteWriter().i32(0x1234).take()); // checksum seed
  await inc.i32(); // the (empty) filter list
  const list = encodeList(script.entries);
  if (script.cut?.afterListBytes !== undefined) {
    send(frame(list.subarray(0, script.cut.afterListBytes)));
    sock.end();
    return;
  }
  if (script.beforeList) send(script.beforeList);
  send(frame(list));

  // The sender's loop: answer requests, echo the phase markers, then stats and goodbye.
  const attempts = new Map<number, number>();
  let phase = 0;
  for (;;) {
    const ndx = await inc.i32();
    if (ndx === NDX_DONE) {
      if (++phase > 2) break;
      send(frame(new ByteWriter().i32(NDX_DONE).take()));
      continue;
    }
    const iflags = await inc.u16();
    if (!(iflags & ITEM_TRANSFER)) {
      send(frame(new ByteWriter().i32(ndx).u16(iflags).take()));
      continue;
    }
    const blockCount = await inc.i32();
    const blockLength = await inc.i32();
    const strongLength = await inc.i32();
    const remainder = await inc.i32();
    await inc.take(blockCount * (4 + strongLength));
    const attempt = (attempts.get(ndx) ?? 0) + 1;
    attempts.set(ndx, attempt);
    const answer = script.answer?.({ ndx, iflags, blockCount, blockLength, remainder }, attempt);
    if (answer === undefined) continue;
    if (answer === "close") {
      sock.end();
      return;
    }
    if (answer === "silence") return;
    const [count, blength, s2length, rem] = script.head?.({ ndx, iflags, blockCount, blockLength, remainder }) ?? [blockCount, blockLength, strongLength, remainder];
    const head = new ByteWriter().i32(ndx).u16(iflags).i32(count).i32(blength).i32(s2length).i32(rem).take();
    send(frame(Buffer.concat([head, answer])));
    if (script.afterAnswer) {
      send(script.afterAnswer);
      return;
    }
    if (script.closeAfterAnswer) {
      sock.end();
      return;
    }
  }
  const stats = new ByteWriter();
  for (let i = 0; i < 5; i++) stats.longint(0);
  send(frame(Buffer.concat([new ByteWriter().i32(NDX_DONE).take(), stats.take()])));
  await inc.i32().catch(() => 0); // goodbye
  sock.end();
}
