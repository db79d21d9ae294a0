/**
 * A TCP proxy that forwards server-to-client bytes in tiny random pieces
 * (1..maxPiece bytes, each its own write), so a client sees every item of
 * the protocol split at every possible point. Client-to-server bytes pass
 * through unchanged.
 */
import type { Socket } from "bun";

export interface Rechunker {
  port: number;
  stop(): void;
}

export async function startRechunkProxy(targetPort: number, maxPiece = 7, seed = 1): Promise<Rechunker> {
  let x = seed;
  const nextSize = () => {
    x = (x * 1103515245 + 12345) >>> 0;
    return 1 + ((x >>> 16) % maxPiece);
  };
  interface Pair {
    upstream?: Socket<undefined>;
    pendingToServer: Uint8Array[];
    toClient: Uint8Array[];
    flushing: boolean;
  }
  const server = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(client) {
        const pair: Pair = { pendingToServer: [], toClient: [], flushing: false };
        client.data = pair;
        // Forward the daemon's bytes piece by piece, yielding between pieces so they arrive separately.
        const flush = async () => {
          if (pair.flushing) return;
          pair.flushing = true;
          while (pair.toClient.length > 0) {
            const chunk = pair.toClient.shift()!;
            for (let at = 0; at < chunk.length; ) {
              const n = Math.min(nextSize(), chunk.length - at);
              client.write(chunk.subarray(at, at + n));
              client.flush();
              at += n;
              if (at % 64 < n) await Bun.sleep(0);
            }
          }
          pair.flushing = false;
        };
        pair.upstream = await Bun.connect({
          hostname: "127.0.0.1",
          port: targetPort,
          socket: {
            data(_s, chunk) {
              pair.toClient.push(new Uint8Array(chunk));
              void flush();
            },
            close() {
              const end = async () => {
                while (pair.flushing || pair.toClient.length) await Bun.sleep(1);
                client.end();
              };
              void end();
            },
          },
        });
        for (const c of pair.pendingToServer.splice(0)) pair.upstream.write(c);
      },
      data(client, chunk) {
        if (client.data.upstream) client.data.upstream.write(chunk);
        else client.data.pendingToServer.push(new Uint8Array(chunk));
      },
      close(client) {
        client.data.upstream?.end();
      },
    },
  });
  return { port: server.port, stop: () => server.stop(true) };
}
