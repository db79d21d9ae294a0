import { describe, expect, test } from "bun:test";
import { openSync, closeSync, readlinkSync } from "node:fs";
import { FFIType } from "bun:ffi";
import { openLibcWith } from "../../src/fs/libc.ts";
import { quickAckerFor, socketFdByPorts } from "../../src/io/tcp-quickack.ts";

const linux = process.platform === "linux";
const libc = openLibcWith({
  getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
});

/** A loopback connection: our end's Bun socket, and a way to close both ends. */
async function connection() {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const client = await Bun.connect({ hostname: "127.0.0.1", port: server.port, socket: { data() {} } });
  return {
    client,
    close() {
      client.end();
      server.stop(true);
    },
  };
}

describe.if(linux)("TCP quick ACKs", () => {
  test("finds the descriptor of the connection with these ports", async () => {
    const c = await connection();
    try {
      const fd = socketFdByPorts(c.client.localPort, c.client.remotePort);
      expect(fd).toBeGreaterThanOrEqual(3);
      expect(readlinkSync(`/proc/self/fd/${fd}`)).toMatch(/^socket:\[\d+\]$/);
      // The listener has the remote port as its own local port, but no peer: not taken for ours.
      expect(socketFdByPorts(c.client.remotePort, 0)).toBe(-1);
      expect(socketFdByPorts(c.client.localPort, c.client.remotePort === 1 ? 2 : 1)).toBe(-1);
    } finally {
      c.close();
    }
  });

  test("the acker turns quick ACK mode on after a short read, and leaves it after a bulk one", async () => {
    const c = await connection();
    try {
      const fd = socketFdByPorts(c.client.localPort, c.client.remotePort);
      const quickAck = () => {
        const value = new Int32Array([-1]);
        const len = new Uint32Array([4]);
        expect(libc.symbols.getsockopt(fd, 6, 12, value, len)).toBe(0);
        return value[0];
      };
      const acker = quickAckerFor(fd);
      // A new connection starts in quick ACK mode: leave it first, as the kernel does in an exchange of small writes.
      expect(libc.symbols.setsockopt(fd, 6, 12, new Int32Array([0]), 4)).toBe(0);
      expect(quickAck()).toBe(0);
      acker(64 * 1024);
      expect(quickAck()).toBe(0);
      acker(100);
      expect(quickAck()).toBe(1);
    } finally {
      c.close();
    }
  });

  test("a descriptor that is no socket is left alone, without an error", () => {
    const fd = openSync("/dev/null", "r");
    try {
      const acker = quickAckerFor(fd);
      expect(() => {
        acker(1);
        acker(1);
      }).not.toThrow();
    } finally {
      closeSync(fd);
    }
  });

  test("OC_RSYNC_QUICKACK=0 turns it off", async () => {
    const c = await connection();
    const before = process.env.OC_RSYNC_QUICKACK;
    process.env.OC_RSYNC_QUICKACK = "0";
    try {
      expect(socketFdByPorts(c.client.localPort, c.client.remotePort)).toBe(-1);
    } finally {
      if (before === undefined) delete process.env.OC_RSYNC_QUICKACK;
      else process.env.OC_RSYNC_QUICKACK = before;
      c.close();
    }
  });
});
