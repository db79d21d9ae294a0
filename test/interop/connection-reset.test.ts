/**
 * A daemon connection the peer resets (TCP RST) is reported as upstream's
 * client reports it: the read or write the reset broke, with its errno
 * ("Connection reset by peer (104)") and the exit code upstream's process
 * structure gives it — not as a plain end of the connection, which upstream
 * tells apart ("connection unexpectedly closed", "didn't get server startup
 * line").
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningDaemon, startUpstreamDaemon } from "../helpers/daemon.ts";
import { type RunResult, runOc, runRsync } from "../helpers/run.ts";

let work: string;
let daemon: RunningDaemon;
const servers: net.Server[] = [];

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-reset-"));
  const src = join(work, "src");
  fs.mkdirSync(src);
  // 12 MiB, so that a reset after 2 MiB comes in the middle of the files' data.
  for (let i = 0; i < 48; i++) fs.writeFileSync(join(src, `f${i}`), crypto.getRandomValues(new Uint8Array(256 << 10)));
  daemon = await startUpstreamDaemon([{ name: "data", path: src }]);
});

afterAll(async () => {
  for (const s of servers) s.close();
  await daemon?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** A TCP server on a free loopback port; resolves with its port. */
async function listen(onConnection: (client: net.Socket) => void): Promise<number> {
  const server = net.createServer(onConnection);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

/** A daemon that greets, reads the client's greeting and module, answers `answer` (if any), then resets the connection. */
function resettingDaemon(answer: string): Promise<number> {
  return listen((client) => {
    client.write("@RSYNCD: 32.0 sha512 sha256 sha1 md5 md4\n");
    let heard: string | null = "";
    client.on("data", (d) => {
      if (heard === null) return;
      heard += d.toString("latin1");
      // The client's version line, then its module name (then its arguments, which go unread).
      if (heard.split("\n").length < 3) return;
      heard = null;
      if (answer) client.write(answer);
      setTimeout(() => client.resetAndDestroy(), 100);
    });
    client.on("error", () => {});
  });
}

/** A proxy to the daemon that resets the client's connection once `after` bytes came from the daemon. */
function resettingProxy(after: number): Promise<number> {
  return listen((client) => {
    const server = net.connect(daemon.port, "127.0.0.1");
    let forwarded = 0;
    client.on("data", (d) => server.write(d));
    server.on("data", (d) => {
      forwarded += d.length;
      if (forwarded <= after) return void client.write(d);
      client.resetAndDestroy();
      server.destroy();
    });
    client.on("error", () => server.destroy());
    server.on("error", () => client.destroy());
  });
}

/** The first line of what a run said on stderr, and its exit code. */
const outcome = (r: RunResult) => ({ code: r.code, first: r.stderr.split("\n")[0] });

async function pullBoth(port: number, name: string): Promise<{ ours: RunResult; upstream: RunResult; dest: string }> {
  const dest = join(work, name);
  fs.mkdirSync(join(dest, "ours"), { recursive: true });
  fs.mkdirSync(join(dest, "upstream"), { recursive: true });
  for (const side of ["ours", "upstream"]) fs.writeFileSync(join(dest, side, "keep"), "precious\n");
  const url = `rsync://127.0.0.1:${port}/data/`;
  const ours = await runOc(["-a", url, join(dest, "ours/")]);
  const upstream = await runRsync(["-a", url, join(dest, "upstream/")]);
  return { ours, upstream, dest };
}

describe("a connection reset by the daemon", () => {
  test("while its greeting is answered: the read's error, code 12, as upstream", async () => {
    const { ours, upstream } = await pullBoth(await resettingDaemon(""), "greeting");
    expect(outcome(upstream)).toEqual({ code: 12, first: "rsync: [Receiver] safe_read failed to read 1 bytes: Connection reset by peer (104)" });
    expect(outcome(ours)).toEqual(outcome(upstream));
  });

  test("after @RSYNCD: OK, before the protocol's start: the same", async () => {
    const { ours, upstream } = await pullBoth(await resettingDaemon("@RSYNCD: OK\n"), "after-ok");
    expect(outcome(upstream).code).toBe(12);
    expect(outcome(ours)).toEqual(outcome(upstream));
  });

  test("in the middle of the files' data: the call it broke, upstream's code, and what was there stays", async () => {
    const { ours, upstream, dest } = await pullBoth(await resettingProxy(2 << 20), "mid-transfer");
    // Which of upstream's processes meets the reset first is timing: its generator writing (code 10), or its
    // receiver reading (whose end the generator then reports, code 12). Either way the first line names the call.
    const line = /^rsync: \[(receiver|generator)\] (read|write) error: Connection reset by peer \(104\)\n/;
    const codeFor = (r: RunResult) => (line.exec(r.stderr)?.[1] === "receiver" ? 12 : 10);
    expect(upstream.stderr).toMatch(line);
    expect(upstream.code).toBe(codeFor(upstream));
    expect(ours.stderr).toMatch(line);
    expect(ours.code).toBe(codeFor(ours));
    expect(ours.stderr).not.toContain("unexpectedly closed");
    expect(fs.readFileSync(join(dest, "ours", "keep"), "utf8")).toBe("precious\n");
    // No temp file is left behind, and no file is there but whole ones.
    for (const name of fs.readdirSync(join(dest, "ours"))) {
      expect(name).toMatch(/^(keep|f\d+)$/);
      if (name !== "keep") expect(fs.statSync(join(dest, "ours", name)).size).toBe(256 << 10);
    }
  });
});
