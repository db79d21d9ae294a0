/**
 * A hostile daemon cannot make the client write outside the destination,
 * lose what is already there, crash or hang: each case scripts a lying
 * server (fake-daemon.ts) and checks the exit code, the message, the whole
 * sandbox and the pre-existing file. Where upstream's client was pointed at
 * the same script, its exit code is the one expected here.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { core, HashAlg } from "../../src/native/index.ts";
import { runOc, runRsync } from "../helpers/run.ts";
import { type Entry, literalAnswer, type Script, startFakeDaemon, tokenAnswer } from "./fake-daemon.ts";

const DIR = 0o040755;
const FILE = 0o100644;
const LINK = 0o120777;
const SEED = 0x1234;

let sandbox: string;
const dest = () => join(sandbox, "dest");
const outside = () => join(sandbox, "outside");

beforeEach(() => {
  sandbox = fs.mkdtempSync(join(tmpdir(), "oc-hostile-"));
  fs.mkdirSync(dest());
  fs.mkdirSync(outside());
  fs.writeFileSync(join(dest(), "keep"), "precious\n");
  fs.writeFileSync(join(dest(), "victim"), "old content\n");
});

afterEach(() => {
  fs.rmSync(sandbox, { recursive: true, force: true });
});

/** Every path in the sandbox with its content, to prove nothing changed outside dest. */
function outsideState(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir)) {
      const p = join(dir, name);
      if (p === dest()) continue;
      const st = fs.lstatSync(p);
      out.push(`${p} ${st.mode} ${st.isFile() ? fs.readFileSync(p, "hex") : ""}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(sandbox);
  return out.sort();
}

/** md4(seed ‖ data): the whole-file checksum of protocol 29. */
function md4Sum(data: Uint8Array): Uint8Array {
  const seed = new Uint8Array(4);
  new DataView(seed.buffer).setInt32(0, SEED, true);
  return core.hash(HashAlg.MD4, Buffer.concat([seed, data]));
}

async function pullFrom(script: Script, extraArgs: string[] = [], client = runOc) {
  const daemon = startFakeDaemon(script);
  const before = outsideState();
  try {
    const r = await client(["-rlt", "--protocol=29", "--timeout=10", ...extraArgs, `rsync://127.0.0.1:${daemon.port}/mod/`, `${dest()}/`]);
    expect(outsideState()).toEqual(before);
    expect(fs.readFileSync(join(dest(), "keep"), "utf8")).toBe("precious\n");
    return r;
  } finally {
    daemon.stop();
  }
}

const top: Entry = { name: ".", mode: DIR };

describe("the fake daemon is honest when told to be", () => {
  test("a plain file arrives (the script speaks the protocol well enough for both clients)", async () => {
    const data = Buffer.from("hello from the fake\n");
    const script: Script = { entries: [top, { name: "f", mode: FILE, size: data.length }], answer: () => literalAnswer(data, md4Sum(data)) };
    for (const client of [runOc, runRsync]) {
      fs.rmSync(join(dest(), "f"), { force: true });
      const r = await pullFrom(script, [], client);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(fs.readFileSync(join(dest(), "f"), "utf8")).toBe("hello from the fake\n");
    }
  });
});

describe("names our filters exclude", () => {
  // flist.c recv_file_entry: a client does not trust a sender that lists what the client's rules keep out.
  for (const client of [runOc, runRsync]) {
    test(`a listed name the client excluded is refused (${client === runOc ? "ours" : "upstream"})`, async () => {
      const entries: Entry[] = [top, { name: "secret.key", mode: FILE, size: 1 }];
      const r = await pullFrom({ entries, answer: () => literalAnswer(Buffer.from("X"), md4Sum(Buffer.from("X"))) }, ["--exclude=*.key"], client);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/ERROR: rejecting excluded file-list name: secret\.key/);
      expect(fs.existsSync(join(dest(), "secret.key"))).toBe(false);
    });
  }
});

describe("names from the wire", () => {
  const cases: { name: string; entries: Entry[]; code: number; message: RegExp }[] = [
    // Exit codes and messages as upstream's client gives them for the same lists (checked with 3.5.0),
    // except an over-long name, which upstream reports as an allocation failure (22).
    { name: "an absolute name", entries: [top, { name: "/tmp/oc-hostile-abs", mode: FILE, size: 1 }], code: 4, message: /ABORTING due to unsafe pathname from sender: \/tmp\/oc-hostile-abs/ },
    { name: "a .. component", entries: [top, { name: "../outside/up", mode: FILE, size: 1 }], code: 4, message: /unsafe pathname from sender: \.\.\/outside\/up/ },
    { name: "a .. hidden in the middle", entries: [top, { name: "a/../../outside/up", mode: FILE, size: 1 }], code: 4, message: /unsafe pathname/ },
    { name: "an empty name", entries: [top, { name: "", mode: FILE, size: 1 }], code: 4, message: /rejecting unrequested file-list name/ },
    { name: "a name longer than MAXPATHLEN", entries: [top, { name: "x".repeat(5000), mode: FILE, size: 1 }], code: 2, message: /overflow/ },
    { name: "a name length far beyond the data", entries: [top, { name: "short", nameLength: 0x7fffffff, mode: FILE, size: 1 }], code: 2, message: /overflow/ },
    { name: "an impossible file type", entries: [top, { name: "weird", mode: 0o170644, size: 1 }], code: 2, message: /invalid file mode 0170644/ },
    { name: "a negative size", entries: [top, { name: "neg", mode: FILE, size: -5 }], code: 4, message: /Offset underflow: file-length is negative/ },
  ];
  for (const c of cases) {
    test(`${c.name} is refused`, async () => {
      const r = await pullFrom({ entries: c.entries, answer: () => literalAnswer(Buffer.from("X"), md4Sum(Buffer.from("X"))) });
      expect(r.code).toBe(c.code);
      expect(r.stderr).toMatch(c.message);
      expect(r.stderr).not.toContain("internal error");
    });
  }

  test("an absolute name stays inside the destination", async () => {
    const data = Buffer.from("X");
    const abs = join(outside(), "abs");
    const r = await pullFrom({ entries: [top, { name: abs, mode: FILE, size: 1 }], answer: () => literalAnswer(data, md4Sum(data)) });
    expect(r.stderr).not.toContain("internal error");
    expect(fs.existsSync(abs)).toBe(false);
  });
});

describe("a symlink with an empty target (a length of 0, which upstream takes)", () => {
  test("fails to be made as the kernel fails it, code 23, as upstream's does", async () => {
    const script: Script = { entries: [top, { name: "elink", mode: LINK, link: "" }] };
    const said: string[] = [];
    for (const client of [runOc, runRsync]) {
      const r = await pullFrom(script, [], client);
      expect(r.code).toBe(23);
      said.push(r.stderr.split("\n")[0]!.replace(dest(), "DEST"));
      expect(fs.existsSync(join(dest(), "elink"))).toBe(false);
    }
    expect(said[0]).toBe('rsync: [generator] symlink "DEST/elink" -> "" failed: No such file or directory (2)');
    expect(said[0]).toBe(said[1]);
  });
});

describe("symlinks as ladders", () => {
  test("a file beneath a symlink that points outside is refused", async () => {
    const data = Buffer.from("escaped\n");
    const r = await pullFrom({
      entries: [top, { name: "ladder", mode: LINK, link: outside() }, { name: "ladder/evil", mode: FILE, size: data.length }],
      answer: () => literalAnswer(data, md4Sum(data)),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("ABORTING due to invalid path from sender: ladder/evil");
    expect(fs.existsSync(join(outside(), "evil"))).toBe(false);
  });

  test("a directory name reused by a symlink after the fact does not lead out", async () => {
    const data = Buffer.from("escaped\n");
    const r = await pullFrom({
      entries: [top, { name: "d", mode: DIR }, { name: "d", mode: LINK, link: outside() }, { name: "d/evil", mode: FILE, size: data.length }],
      answer: () => literalAnswer(data, md4Sum(data)),
    });
    expect(fs.existsSync(join(outside(), "evil"))).toBe(false);
    expect(r.stderr).not.toContain("internal error");
  });
});

describe("lying data", () => {
  test("a checksum that never matches: exit 23, the old file kept", async () => {
    const data = Buffer.from("new content!\n");
    const r = await pullFrom({
      entries: [top, { name: "victim", mode: FILE, size: data.length, mtime: 1_500_000_000 }],
      answer: () => literalAnswer(data, new Uint8Array(16)),
    });
    expect(r.code).toBe(23);
    expect(r.stderr).toContain("failed verification");
    expect(fs.readFileSync(join(dest(), "victim"), "utf8")).toBe("old content\n");
  });

  test("a block reference beyond the basis is a protocol error; the old file is kept", async () => {
    const r = await pullFrom({
      entries: [top, { name: "victim", mode: FILE, size: 100, mtime: 1_500_000_000 }],
      answer: (req) => tokenAnswer([-(req.blockCount + 5), 0, new Uint8Array(16)]),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Invalid block index/);
    expect(fs.readFileSync(join(dest(), "victim"), "utf8")).toBe("old content\n");
  });

  test("a sum head out of bounds is a protocol error named as upstream's receiver names it; the old file is kept", async () => {
    const cases = [
      [[0, 700, 99, 0], "Invalid checksum length 99 [receiver]"],
      [[-1, 700, 16, 0], "Invalid checksum count -1 [receiver]"],
      [[0, 700, 16, 701], "Invalid remainder length 701 [receiver]"],
      [[1, 0, 16, 0], "Invalid zero block length [receiver]"],
    ] as const;
    for (const [i, [head, line]] of cases.entries()) {
      const script: Script = {
        entries: [top, { name: "victim", mode: FILE, size: 5, mtime: 1_500_000_000 }],
        head: () => [...head],
        answer: () => literalAnswer(Buffer.from("new!\n"), new Uint8Array(16)),
      };
      // (Upstream's client takes 5 s to exit after this error: it is run on the first case only.)
      for (const client of i === 0 ? [runOc, runRsync] : [runOc]) {
        const r = await pullFrom(script, [], client);
        expect({ code: r.code, first: r.stderr.split("\n")[0] }).toEqual({ code: 2, first: line });
        expect(fs.readFileSync(join(dest(), "victim"), "utf8")).toBe("old content\n");
      }
    }
  });

  test("a literal run longer than CHUNK_SIZE is taken, in pieces, as upstream 3.5.0 takes it", async () => {
    const data = Buffer.alloc(100_000, 0x61);
    const script: Script = { entries: [top, { name: "victim", mode: FILE, size: data.length, mtime: 1_500_000_000 }], answer: () => literalAnswer(data, md4Sum(data)) };
    for (const client of [runOc, runRsync]) {
      fs.writeFileSync(join(dest(), "victim"), "old content\n");
      const r = await pullFrom(script, [], client);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      expect(fs.readFileSync(join(dest(), "victim")).equals(data)).toBe(true);
    }
  });

  test("an absurd literal length is not held whole: the connection's end stops it, the old file kept", async () => {
    const script: Script = {
      entries: [top, { name: "victim", mode: FILE, size: 100, mtime: 1_500_000_000 }],
      answer: () => tokenAnswer([0x7ffffff0, new Uint8Array(100_000)]),
      closeAfterAnswer: true,
    };
    for (const client of [runOc, runRsync]) {
      const r = await pullFrom(script, [], client);
      expect(r.code).toBe(12);
      expect(r.stderr).toContain("connection unexpectedly closed");
      expect(fs.readFileSync(join(dest(), "victim"), "utf8")).toBe("old content\n");
    }
  });
});

describe("a server's MSG_IO_ERROR", () => {
  test("bits no IOERR_* flag has are dropped: --delete still deletes, exit 0", async () => {
    // keep as listed (same size and time: not transferred); victim is in dest only.
    fs.utimesSync(join(dest(), "keep"), 1_400_000_000, 1_400_000_000);
    const ioError = new Uint8Array([4, 0, 0, 7 + 22, 0, 1, 0, 0]); // MSG_IO_ERROR 0x100
    const script: Script = { entries: [top, { name: "keep", mode: FILE, size: 9 }], beforeList: ioError };
    for (const client of [runOc, runRsync]) {
      fs.writeFileSync(join(dest(), "victim"), "old content\n");
      const r = await pullFrom(script, ["--delete"], client);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      expect(fs.existsSync(join(dest(), "victim"))).toBe(false);
    }
  });
});

describe("a server that stops talking", () => {
  test("the connection cut in the middle of the file list: exit 12, nothing touched", async () => {
    const r = await pullFrom({ entries: [top, { name: "f", mode: FILE, size: 1 }], cut: { afterListBytes: 9 } });
    expect(r.code).toBe(12);
    expect(r.stderr).toContain("connection unexpectedly closed");
  });

  test("the connection cut in the middle of a file: exit 12, the old file kept", async () => {
    const r = await pullFrom({
      entries: [top, { name: "victim", mode: FILE, size: 5000, mtime: 1_500_000_000 }],
      answer: () => tokenAnswer([5000, new Uint8Array(100)]),
      closeAfterAnswer: true,
    });
    expect(r.code).toBe(12);
    expect(fs.readFileSync(join(dest(), "victim"), "utf8")).toBe("old content\n");
  });

  test("a frame upstream refuses, in the middle of a file: the receiver's error, exit 12, the old file kept", async () => {
    const script: Script = {
      entries: [top, { name: "victim", mode: FILE, size: 5000, mtime: 1_500_000_000 }],
      answer: () => tokenAnswer([5000, new Uint8Array(100)]),
      // A header of tag 11, which no rsync sends.
      afterAnswer: new Uint8Array([0, 0, 0, 18]),
    };
    // Past the first list upstream's receiving process has forked: its receiver names itself in lower case.
    for (const client of [runOc, runRsync]) {
      const r = await pullFrom(script, [], client);
      expect({ code: r.code, first: r.stderr.split("\n")[0] }).toEqual({ code: 12, first: "unexpected tag 11 [receiver]" });
      expect(fs.readFileSync(join(dest(), "victim"), "utf8")).toBe("old content\n");
    }
  });

  test("silence after the greeting ends with --timeout's exit 30", async () => {
    const daemon = startFakeDaemon({ entries: [], cut: { silentAfterGreeting: true } });
    try {
      const r = await runOc(["-rlt", "--protocol=29", "--timeout=2", `rsync://127.0.0.1:${daemon.port}/mod/`, `${dest()}/`]);
      expect(r.code).toBe(30);
      expect(r.stderr).toContain("timeout");
    } finally {
      daemon.stop();
    }
  });
});
