/**
 * Takes apart what a daemon sent on a connection (as a recording proxy saw
 * it): the greeting and "@RSYNCD: OK" lines, setup_protocol's compat flags,
 * checksum list and seed, then the multiplexed frames, whose MSG_DATA
 * payloads are joined into the data stream.
 */
import { Demultiplexer } from "../../src/protocol/mux.ts";
import { ChunkReader } from "../../src/protocol/reader.ts";
import { CF } from "../../src/protocol/setup.ts";

export interface DaemonStream {
  compatFlags: number;
  /** The server's checksum names (when negotiated). */
  checksumList: string[] | null;
  seed: number;
  /** The data stream (MSG_DATA payloads joined). */
  data: Uint8Array;
  messages: { code: number; payload: Uint8Array }[];
}

export function splitDaemonStream(bytes: Uint8Array, protocol: number): DaemonStream {
  const text = Buffer.from(bytes).toString("latin1");
  const ok = "@RSYNCD: OK\n";
  const at = text.indexOf(ok);
  if (at < 0) throw new Error(`no "${ok.trim()}" in the daemon's stream: ${JSON.stringify(text.slice(0, 200))}`);
  const r = new ChunkReader();
  r.push(bytes.subarray(at + ok.length));
  r.ended = true;
  const compatFlags = protocol >= 30 ? r.varint() : 0;
  let checksumList: string[] | null = null;
  if (compatFlags & CF.VARINT_FLIST_FLAGS) {
    checksumList = Buffer.from(r.vstring(256)).toString("latin1").split(/\s+/).filter(Boolean);
  }
  const seed = r.i32();
  const rest = r.bytes(r.available);
  const data: Uint8Array[] = [];
  const messages: DaemonStream["messages"] = [];
  const demux = new Demultiplexer({
    data: (piece) => data.push(piece.slice()),
    message: (code, payload) => messages.push({ code, payload: payload.slice() }),
  }, { readerName: () => "Receiver", amServer: false, localCopy: false });
  demux.push(rest);
  return { compatFlags, checksumList, seed, data: new Uint8Array(Buffer.concat(data)), messages };
}
