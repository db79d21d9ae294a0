/**
 * --timeout against a server that accepts and then says nothing: both
 * clients give up after the timeout with exit 30 and the same message
 * (upstream's --contimeout only covers connect(), so it would wait forever).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { normalizeErrors, runOc, runRsync } from "../helpers/run.ts";

let server: import("bun").TCPSocketListener<undefined>;

beforeAll(() => {
  server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
});

afterAll(() => server.stop(true));

test("a silent server: exit 30 after --timeout, as upstream", async () => {
  const url = `rsync://127.0.0.1:${server.port}/mod/`;
  const started = Date.now();
  const oc = await runOc(["-a", "--timeout=2", url, "/nonexistent-dest"]);
  const took = Date.now() - started;
  const up = await runRsync(["-a", "--timeout=2", url, "/nonexistent-dest"]);
  expect(up.code).toBe(30);
  expect(oc.code).toBe(30);
  expect(normalizeErrors(oc.stderr)).toBe(normalizeErrors(up.stderr));
  expect(took).toBeLessThan(10_000);
}, 30_000);
