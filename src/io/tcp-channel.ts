/** Channel over a TCP connection (Bun.connect). */
import type { Socket } from "bun";
import type { Channel } from "./channel.ts";

interface Handlers {
  data?: (chunk: Uint8Array) => void;
  end?: (error?: Error) => void;
  drain?: () => void;
  /** Chunks that arrived before start() was called. */
  early: Uint8Array[];
  ended: boolean;
  error?: Error;
}

export async function connectTcp(host: string, port: number): Promise<Channel & { remoteAddress: string }> {
  const h: Handlers = { early: [], ended: false };
  const finish = (error?: Error) => {
    if (h.ended) return;
    h.ended = true;
    h.error = error;
    h.end?.(error);
  };
  const socket: Socket<undefined> = await Bun.connect({
    hostname: host,
    port,
    socket: {
      data(_s, chunk) {
        if (h.data) h.data(chunk);
        else h.early.push(new Uint8Array(chunk));
      },
      drain() {
        h.drain?.();
      },
      end() {
        finish();
      },
      close(_s, error) {
        finish(error ?? undefined);
      },
      error(_s, error) {
        finish(error);
      },
    },
  });
  socket.setNoDelay(true);

  return {
    /** The peer's numeric address (socket.c's getnameinfo NI_NUMERICHOST, for --debug=CONNECT2). */
    remoteAddress: socket.remoteAddress,
    start(onData, onEnd) {
      h.data = onData;
      h.end = onEnd;
      for (const chunk of h.early.splice(0)) onData(chunk);
      if (h.ended) onEnd(h.error);
    },
    write: (data) => socket.write(data),
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
