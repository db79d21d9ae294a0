/**
 * A pushing client that sends a daemon data it never asked for: a file the
 * module's rules exclude. The daemon's generator requests nothing of it, so
 * the data can only come from a lying client; upstream's receiver refuses it
 * ("ERROR: rejecting file transfer request for daemon excluded file") and
 * ends, and so must ours, with nothing of the file written.
 *
 * The client is scripted here, speaking protocol 29 (no compatibility flags,
 * its output not multiplexed): greeting, module, arguments, then a file list
 * of our choosing and, without waiting for any request, a file's data.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ByteWriter } from "../../src/protocol/writer.ts";
import { startBothDaemons, stopDaemons, type RunningDaemon } from "../helpers/daemon.ts";
import { encodeList } from "./fake-daemon.ts";

let work: string;
let upstream: RunningDaemon;
let ours: RunningDaemon;

const DIR = 0o040755;
const FILE = 0o100644;
const ITEM_TRANSFER = 1 << 15;
const MPLEX_BASE = 7;

beforeAll(async () => {
  work = fs.mkdtempSync(join(tmpdir(), "oc-hostile-pusher-"));
  const modules = ["upstream", "ours"].map((side) => {
    fs.mkdirSync(join(work, side));
    return { name: side, path: join(work, side), params: { "read only": "no", uid: "0", gid: "0", exclude: "secret*" } };
  });
  ({ upstream, ours } = await startBothDaemons(modules));
});

afterAll(async () => {
  await stopDaemons(upstream, ours);
  fs.rmSync(work, { recursive: true, force: true });
});

/**
 * Pushes a list of ".", "ok" and "secret.txt" to `module`, then the data of
 * list index `ndx` unasked; resolves with the text of the daemon's messages
 * once one says the run ends with an error ("rsync error: ..."), the
 * connection closes, or 10 s have passed.
 */
function lyingPush(port: number, module: string, ndx: number): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(port, "127.0.0.1");
    const said: string[] = [];
    const done = () => {
      clearTimeout(timer);
      c.destroy();
      resolve(said.join(""));
    };
    const timer = setTimeout(done, 10_000);
    let heard = Buffer.alloc(0);
    let stage: "greeting" | "ok" | "seed" | "messages" = "greeting";
    c.on("data", (d: Buffer) => {
      heard = Buffer.concat([heard, d]);
      for (;;) {
        if (stage === "greeting" || stage === "ok") {
          const nl = heard.indexOf(10);
          if (nl < 0) return;
          const line = heard.subarray(0, nl).toString("latin1");
          heard = heard.subarray(nl + 1);
          if (stage === "greeting") {
            c.write(`@RSYNCD: 29.0\n${module}\n`);
            stage = "ok";
          } else if (line === "@RSYNCD: OK") {
            c.write(["--server", "-r", ".", `${module}/`, ""].join("\n") + "\n");
            stage = "seed";
          }
        } else if (stage === "seed") {
          if (heard.length < 4) return;
          heard = heard.subarray(4);
          stage = "messages";
          const list = encodeList([
            { name: ".", mode: DIR },
            { name: "ok", mode: FILE, size: 3 },
            { name: "secret.txt", mode: FILE, size: 6 },
          ]);
          const data = new ByteWriter().i32(ndx).u16(ITEM_TRANSFER).i32(0).i32(0).i32(16).i32(0).i32(6).bytes(Buffer.from("owned\n")).i32(0).bytes(new Uint8Array(16)).take();
          c.write(Buffer.concat([list, data]));
        } else {
          if (heard.length < 4) return;
          const length = heard[0]! | (heard[1]! << 8) | (heard[2]! << 16);
          if (heard.length < 4 + length) return;
          const tag = heard[3]! - MPLEX_BASE;
          const text = heard.subarray(4, 4 + length).toString("latin1");
          heard = heard.subarray(4 + length);
          if (tag === 0) continue;
          said.push(text);
          if (text.startsWith("rsync error:")) return done();
        }
      }
    });
    c.on("error", () => {});
    c.on("close", done);
  });
}

describe("a pushing client sends data the daemon did not ask for", () => {
  test("a file the module excludes is refused, as upstream's daemon refuses it, and not written", async () => {
    const theirs = await lyingPush(upstream.port, "upstream", 2);
    expect(theirs).toContain("ERROR: rejecting file transfer request for daemon excluded file: secret.txt\n");
    const mine = await lyingPush(ours.port, "ours", 2);
    expect(mine).toContain("ERROR: rejecting file transfer request for daemon excluded file: secret.txt\n");
    for (const side of ["upstream", "ours"]) expect(fs.readdirSync(join(work, side)).filter((n) => n.startsWith("secret"))).toEqual([]);
  });
});
