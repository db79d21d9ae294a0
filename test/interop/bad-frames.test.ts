/**
 * A daemon whose multiplexed frames upstream's read_a_msg refuses: an
 * unknown tag, a text message too long for its buffer, a message of the
 * wrong length. Our client must stop as upstream's client does, with the
 * same first line (naming the process that read the frame as who_am_i()
 * names it, "/inc" under incremental recursion) and exit code 12, for a
 * pull and for a push.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { frameHeader, MSG } from "../../src/protocol/mux.ts";
import { normalizeErrors, run, type RunResult, runOc, runRsync } from "../helpers/run.ts";

let work: string;
const servers: net.Server[] = [];

beforeAll(() => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-bad-frames-"));
  fs.mkdirSync(join(work, "src"));
  fs.writeFileSync(join(work, "src", "f"), "data\n");
});

afterAll(() => {
  for (const s of servers) s.close();
  fs.rmSync(work, { recursive: true, force: true });
});

/** CF_INC_RECURSE, the only compatibility flag the fake daemon sets (so no checksum negotiation follows). */
const CF_INC_RECURSE = 1;

/**
 * A daemon speaking `protocol` (29 or 30) up to the start of multiplexing:
 * greeting, OK, the client's arguments read, the setup (compatibility flags
 * from 30, the checksum seed); then it sends `frame` and nothing else.
 */
async function fakeDaemon(protocol: 29 | 30, frame: Uint8Array): Promise<number> {
  const server = net.createServer((client) => {
    client.write(`@RSYNCD: ${protocol}.0\n`);
    let heard = Buffer.alloc(0);
    let answered = false;
    // The arguments end with an empty one: NUL-terminated from protocol 30, lines before.
    const argsEnd = Buffer.from(protocol >= 30 ? "\0\0" : "\n\n");
    client.on("data", (d: Buffer) => {
      heard = Buffer.concat([heard, d]);
      const lines = heard.toString("latin1").split("\n");
      // The client's version line and its module name.
      if (!answered && lines.length >= 3) {
        answered = true;
        client.write("@RSYNCD: OK\n");
        heard = heard.subarray(lines[0]!.length + lines[1]!.length + 2);
      }
      if (answered && heard.includes(argsEnd)) {
        heard = Buffer.alloc(0);
        answered = false;
        const setup = protocol >= 30 ? [CF_INC_RECURSE, 1, 2, 3, 4] : [1, 2, 3, 4];
        client.write(Buffer.concat([Buffer.from(setup), frame]));
      }
    });
    client.on("error", () => {});
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

/** The first line a run said on stderr, and its exit code. */
const outcome = (r: RunResult) => ({ code: r.code, first: normalizeErrors(r.stderr).split("\n")[0] });

async function both(args: string[]): Promise<{ ours: RunResult; upstream: RunResult }> {
  return { ours: await runOc(args), upstream: await runRsync(args) };
}

const cases: { name: string; frame: Uint8Array; line: string }[] = [
  { name: "an unknown tag", frame: frameHeader(11, 0), line: "unexpected tag 11" },
  { name: "a tag byte above 0x7f (a negative tag)", frame: new Uint8Array([0, 0, 0, 0xff]), line: "unexpected tag -8" },
  { name: "a text message too long for upstream's buffer", frame: frameHeader(MSG.INFO, 6000), line: "multiplexing overflow 2:6000" },
  { name: "MSG_IO_ERROR of 3 bytes", frame: Buffer.concat([frameHeader(MSG.IO_ERROR, 3), Buffer.from([1, 2, 3])]), line: "invalid multi-message 22:3" },
  { name: "MSG_REDO, which only a generator takes from its receiver", frame: Buffer.concat([frameHeader(MSG.REDO, 4), Buffer.alloc(4)]), line: "invalid multi-message 9:4" },
];

describe("a frame upstream refuses", () => {
  for (const c of cases) {
    test(`${c.name}: a pull stops as upstream's does`, async () => {
      const port = await fakeDaemon(30, c.frame);
      const { ours, upstream } = await both(["-a", `rsync://127.0.0.1:${port}/m/`, join(work, "pulled/")]);
      expect(outcome(upstream)).toEqual({ code: 12, first: `${c.line} [Receiver/inc]` });
      expect(outcome(ours)).toEqual(outcome(upstream));
    });
  }

  test("a push names the sender", async () => {
    const port = await fakeDaemon(30, frameHeader(11, 0));
    const { ours, upstream } = await both(["-a", join(work, "src/"), `rsync://127.0.0.1:${port}/m/`]);
    expect(outcome(upstream)).toEqual({ code: 12, first: "unexpected tag 11 [sender/inc]" });
    expect(outcome(ours)).toEqual(outcome(upstream));
  });

  test("MSG_SUCCESS without --remove-source-files is taken and ignored, on a pull and on a push", async () => {
    const success = Buffer.concat([frameHeader(MSG.SUCCESS, 4), Buffer.alloc(4), frameHeader(11, 0)]);
    const port = await fakeDaemon(30, success);
    const pull = await both(["-a", `rsync://127.0.0.1:${port}/m/`, join(work, "pulled-success/")]);
    expect(outcome(pull.upstream)).toEqual({ code: 12, first: "unexpected tag 11 [Receiver/inc]" });
    expect(outcome(pull.ours)).toEqual(outcome(pull.upstream));
    const push = await both(["-a", join(work, "src/"), `rsync://127.0.0.1:${port}/m/`]);
    expect(outcome(push.upstream)).toEqual({ code: 12, first: "unexpected tag 11 [sender/inc]" });
    expect(outcome(push.ours)).toEqual(outcome(push.upstream));
  });

  test("MSG_DELETED to a pulling client is said under -v, as upstream's log_delete says it", async () => {
    const deleted = Buffer.concat([frameHeader(MSG.DELETED, 2), Buffer.from("a\0", "latin1"), frameHeader(11, 0)]);
    const port = await fakeDaemon(30, deleted);
    const { ours, upstream } = await both(["-av", `rsync://127.0.0.1:${port}/m/`, join(work, "pulled-deleted/")]);
    expect(upstream.stdout).toContain("deleting a/\n");
    expect(outcome(upstream)).toEqual({ code: 12, first: "unexpected tag 11 [Receiver/inc]" });
    expect(ours.stdout).toBe(upstream.stdout);
    expect(outcome(ours)).toEqual(outcome(upstream));
  });

  test("protocol 29 (no incremental recursion): no /inc", async () => {
    const port = await fakeDaemon(29, frameHeader(11, 0));
    const { ours, upstream } = await both(["-a", `rsync://127.0.0.1:${port}/m/`, join(work, "pulled29/")]);
    expect(outcome(upstream)).toEqual({ code: 12, first: "unexpected tag 11 [Receiver]" });
    expect(outcome(ours)).toEqual(outcome(upstream));
  });
});

/** A message frame carrying one 32-bit value. */
function intMessage(code: number, value: number): Buffer {
  const frame = Buffer.concat([frameHeader(code, 4), Buffer.alloc(4)]);
  frame.writeInt32LE(value, 4);
  return frame;
}

/** A run of ours or upstream's stopped after `seconds` if it is still going (exit 124, as timeout(1) says). */
const bounded = (seconds: number, args: string[]) => ({
  ours: () => run(["timeout", String(seconds), process.execPath, join(import.meta.dir, "../../src/main.ts"), ...args]),
  upstream: () => run(["timeout", String(seconds), "rsync", ...args]),
});

describe("a server's MSG_IO_TIMEOUT, then silence", () => {
  const ioTimeout = (seconds: number) => intMessage(MSG.IO_TIMEOUT, seconds);

  test("one that lowers ours (none given) ends the run when the server stays silent, and --info=misc2 says so", async () => {
    const port = await fakeDaemon(30, ioTimeout(2));
    const runs = bounded(15, ["-a", "--info=misc2", `rsync://127.0.0.1:${port}/m/`, join(work, "timeout-lowered/")]);
    const upstream = await runs.upstream();
    expect(upstream.stdout).toBe("Setting --timeout=2 to match server\n");
    expect(outcome(upstream)).toEqual({ code: 30, first: "[Receiver] io timeout after 2 seconds -- exiting" });
    const ours = await runs.ours();
    expect(ours.stdout).toBe(upstream.stdout);
    expect(outcome(ours)).toEqual(outcome(upstream));
  });

  test("a negative one is ignored, and before the first list no keep-alive of ours hides the silence", async () => {
    const port = await fakeDaemon(30, ioTimeout(-5));
    const runs = bounded(15, ["-a", "--timeout=2", `rsync://127.0.0.1:${port}/m/`, join(work, "timeout-negative/")]);
    const upstream = await runs.upstream();
    expect(outcome(upstream)).toEqual({ code: 30, first: "[Receiver] io timeout after 2 seconds -- exiting" });
    expect(outcome(await runs.ours())).toEqual(outcome(upstream));
  });
});

describe("a server's MSG_ERROR_EXIT", () => {
  const errorExit = (value: number) => intMessage(MSG.ERROR_EXIT, value);

  test("its code is the exit code, as exit() gives it (-1 is 255), with no line of ours", async () => {
    for (const [value, code] of [
      [23, 23],
      [-1, 255],
    ]) {
      const port = await fakeDaemon(30, errorExit(value!));
      const { ours, upstream } = await both(["-a", `rsync://127.0.0.1:${port}/m/`, join(work, "error-exit/")]);
      expect({ code: upstream.code, stderr: upstream.stderr }).toEqual({ code: code!, stderr: "" });
      expect({ code: ours.code, stderr: ours.stderr }).toEqual({ code: code!, stderr: "" });
    }
  });

  test("a code of 0 still fails the run (upstream's client exits 0 with nothing transferred)", async () => {
    const port = await fakeDaemon(30, errorExit(0));
    const { ours, upstream } = await both(["-a", `rsync://127.0.0.1:${port}/m/`, join(work, "error-exit-0/")]);
    expect(upstream.code).toBe(0);
    expect(ours.code).toBe(1);
  });
});

describe("a server's compatibility flags", () => {
  test("an incremental list where our options need it whole is refused, as upstream refuses it", async () => {
    const port = await fakeDaemon(30, frameHeader(11, 0));
    for (const option of ["--no-i-r", "--delete-after", "-m"]) {
      const { ours, upstream } = await both(["-a", option, `rsync://127.0.0.1:${port}/m/`, join(work, "whole-list/")]);
      expect(outcome(upstream)).toEqual({ code: 1, first: "Incompatible options specified for inc-recursive connection." });
      expect(outcome(ours)).toEqual(outcome(upstream));
    }
  });
});
