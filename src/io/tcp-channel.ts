/** Channel over a TCP connection (Bun.connect). */
import type { Socket } from "bun";
import type { Channel } from "./channel.ts";
import { brokenWrite } from "../errors.ts";
import { quickAckerFor, socketFdByPorts } from "./tcp-quickack.ts";

interface Handlers {
  data?: (chunk: Uint8Array) => void;
  end?: (error?: Error) => void;
  drain?: () => void;
  /** Called after each read (tcp-quickack.ts). */
  afterRead?: (length: number) => void;
  /** Chunks that arrived before start() was called. */
  early: Uint8Array[];
  ended: boolean;
  error?: Error;
  /** Bun refused a write (-1) before the connection ended: the socket broke under it. */
  writeRefused?: boolean;
}

export async function connectTcp(host: string, port: number): Promise<Channel & { remoteAddress: string }> {
  const h: Handlers = { early: [], ended: false };
  const socket: Socket<undefined> = await Bun.connect({ hostname: host, port, socket: handlersFor(h) });
  socket.setNoDelay(true);
  h.afterRead = quickAckerFor(socketFdByPorts(socket.localPort, socket.remotePort));
  // The peer's numeric address (socket.c's getnameinfo NI_NUMERICHOST, for --debug=CONNECT2).
  return Object.assign(channelOver(socket, h), { remoteAddress: socket.remoteAddress });
}

/**
 * Channel over a connected socket we were given as a descriptor (a daemon's
 * per-client process gets the connection as its stdin and stdout): Bun's
 * own socket reads and writes it directly, which costs far less per write
 * than node streams on stdin/stdout (a copy of every buffer, and their events).
 */
export async function adoptSocket(fd: number): Promise<Channel> {
  const h: Handlers = { early: [], ended: false };
  const socket = (await Bun.connect({ fd, socket: handlersFor(h) } as unknown as Parameters<typeof Bun.connect>[0])) as Socket<undefined>;
  h.afterRead = quickAckerFor(fd);
  return channelOver(socket, h);
}

function handlersFor(h: Handlers) {
  const finish = (error?: Error) => {
    if (h.ended) return;
    h.ended = true;
    // A refused write closes Bun's socket without its errno (an end, then a close without an error); what breaks a
    // connection under a write is the peer's reset, which upstream reports as the write's error.
    h.error = error ?? (h.writeRefused ? brokenWrite("ECONNRESET") : undefined);
    h.end?.(h.error);
  };
  return {
    data(_s: Socket<undefined>, chunk: Uint8Array) {
      h.afterRead?.(chunk.length);
      if (h.data) h.data(chunk);
      else h.early.push(new Uint8Array(chunk));
    },
    drain() {
      h.drain?.();
    },
    end() {
      finish();
    },
    close(_s: Socket<undefined>, error?: Error) {
      finish(error ?? undefined);
    },
    error(_s: Socket<undefined>, error: Error) {
      finish(error);
    },
  };
}

function channelOver(socket: Socket<undefined>, h: Handlers): Channel {
  return {
    start(onData, onEnd) {
      h.data = onData;
      h.end = onEnd;
      for (const chunk of h.early.splice(0)) onData(chunk);
      if (h.ended) onEnd(h.error);
    },
    // A closed Bun socket answers -1; the Channel contract is a count of bytes taken (the end itself reaches the
    // Input, which stops the Output's waits).
    write: (data) => {
      const written = socket.write(data);
      if (written >= 0) return written;
      if (!h.ended) h.writeRefused = true;
      return 0;
    },
    onDrain(callback) {
      h.drain = callback;
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    close() {
      socket.end();
    },
  };
}
