/** The in-process channel pair: order, end of stream, and the window that holds a fast writer back. */
import { expect, test } from "bun:test";
import { memoryChannelPair } from "../../src/io/memory-channel.ts";

test("bytes arrive in order, then the end, and a writer past the window waits for the reader", async () => {
  const [a, b] = memoryChannelPair();
  const total = 12 << 20;
  const data = new Uint8Array(total).map((_, i) => i * 7);
  const received: Uint8Array[] = [];
  let shortWrites = 0;
  const ended = new Promise<void>((resolve) => b.start((c) => received.push(c), () => resolve()));
  a.start(() => {}, () => {});
  let offset = 0;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (offset < total) {
        const n = a.write(data.subarray(offset, Math.min(total, offset + (1 << 20))));
        offset += n;
        if (n < (1 << 20) && offset < total) {
          shortWrites++;
          return; // wait for onDrain
        }
      }
      a.close();
      resolve();
    };
    a.onDrain(pump);
    pump();
  });
  await ended;
  expect(shortWrites).toBeGreaterThan(0);
  expect(Buffer.compare(Buffer.concat(received), data)).toBe(0);
});
