/**
 * A TCP proxy that records what passes in each direction, for comparing the
 * bytes upstream sends with ours. Each accepted connection becomes a
 * Recording; `done` resolves once the server side has closed.
 */
import type { Socket } from "bun";

export interface Recording {
  /** Server-to-client bytes. */
  fromServer: Uint8Array[];
  /** Client-to-server bytes. */
  fromClient: Uint8Array[];
  done: Promise<void>;
}

export interface RecordingProxy {
  port: number;
  recordings: Recording[];
  stop(): void;
}

export const joined = (chunks: Uint8Array[]) => new Uint8Array(Buffer.concat(chunks));

/** Writes everything, queueing what the socket does not take now until it drains. */
class Pipe {
  private queue: Uint8Array[] = [];
  private ending = false;
  constructor(private readonly sock: () => Socket<unknown> | undefined) {}
  write(c: Uint8Array): void {
    this.queue.push(c);
    this.drain();
  }
  end(): void {
    this.ending = true;
    this.drain();
  }
  drain(): void {
    const s = this.sock();
    if (!s) return;
    while (this.queue.length > 0) {
      const c = this.queue[0]!;
      const n = s.write(c);
      if (n < c.length) {
        this.queue[0] = c.subarray(Math.max(n, 0));
        return;
      }
      this.queue.shift();
    }
    if (this.ending) s.end();
  }
}

export async function startRecordingProxy(targetPort: number): Promise<RecordingProxy> {
  const recordings: Recording[] = [];
  interface Conn {
    rec: Recording;
    upstream?: Socket<undefined>;
    toServer: Pipe;
    toClient: Pipe;
    closed: () => void;
  }
  const server = Bun.listen<Conn>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(client) {
        let closed!: () => void;
        const done = new Promise<void>((resolve) => (closed = resolve));
        const rec: Recording = { fromServer: [], fromClient: [], done };
        recordings.push(rec);
        const conn: Conn = {
          rec,
          closed,
          toServer: new Pipe(() => conn.upstream),
          toClient: new Pipe(() => client as Socket<unknown>),
        };
        client.data = conn;
        conn.upstream = await Bun.connect({
          hostname: "127.0.0.1",
          port: targetPort,
          socket: {
            data(_s, chunk) {
              const c = new Uint8Array(chunk);
              rec.fromServer.push(c);
              conn.toClient.write(c);
            },
            drain() {
              conn.toServer.drain();
            },
            close() {
              conn.toClient.end();
              conn.closed();
            },
          },
        });
        conn.toServer.drain();
      },
      data(client, chunk) {
        const c = new Uint8Array(chunk);
        client.data.rec.fromClient.push(c);
        client.data.toServer.write(c);
      },
      drain(client) {
        client.data.toClient.drain();
      },
      close(client) {
        client.data.toServer.end();
      },
    },
  });
  return { port: server.port!, recordings, stop: () => server.stop(true) };
}
