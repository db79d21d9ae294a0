/**
 * The -X wire forms (xattrs.c send_xattr/receive_xattr, send_xattr_request
 * and recv_xattr_request): exact bytes of a literal set and of a reference
 * to an earlier one, abbreviation of values over 32 bytes to their MD5, the
 * receiving side's namespace rules, and the request/answer round trip.
 */
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { ChunkReader, UNDERFLOW } from "../../src/protocol/reader.ts";
import { ByteWriter } from "../../src/protocol/writer.ts";
import { MAX_FULL_DATUM, XattrReceiver, XattrSender, XSTATE, readRequestNums, type XattrList, type XattrPolicy } from "../../src/flist/xattrs.ts";

const b = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
const md5 = (s: string) => new Uint8Array(createHash("md5").update(s).digest());

/** A set as a sender reads it: sorted, numbered, long values only by checksum. */
function senderList(items: [string, string][]): XattrList {
  return items
    .sort(([a], [c]) => (a < c ? -1 : 1))
    .map(([name, value], i) => {
      const long = value.length > MAX_FULL_DATUM;
      return { name: b(name), length: value.length, value: long ? null : b(value), sum: long ? md5(value) : null, num: i + 1, state: XSTATE.ABBREV };
    });
}

function reader(bytes: Uint8Array): ChunkReader {
  const r = new ChunkReader();
  r.push(bytes);
  return r;
}

const SENDER: XattrPolicy = { amSender: true, amRoot: 1, level: 1 };
const LONG = "L".repeat(40);

describe("a set on the wire", () => {
  test("literal: 0, count, then name length (with its NUL), value length, name, value or MD5", () => {
    const w = new ByteWriter();
    const s = new XattrSender(SENDER);
    expect(s.write(w, senderList([["user.a", "xy"], ["user.long", LONG]]))).toBe(0);
    const expected = Buffer.concat([
      Buffer.from([0, 2]),
      Buffer.from([7, 2]),
      Buffer.from("user.a\0xy", "latin1"),
      Buffer.from([10, 40]),
      Buffer.from("user.long\0", "latin1"),
      md5(LONG),
    ]);
    expect(Buffer.from(w.take()).toString("hex")).toBe(expected.toString("hex"));
  });

  test("an identical set later goes as its index plus one; a different one literally", () => {
    const w = new ByteWriter();
    const s = new XattrSender(SENDER);
    s.write(w, senderList([["user.a", "1"]]));
    s.write(w, senderList([]));
    w.take();
    expect(s.write(w, senderList([["user.a", "1"]]))).toBe(0);
    expect(s.write(w, senderList([]))).toBe(1);
    expect(Buffer.from(w.take()).toString("hex")).toBe("0102");
    expect(s.write(w, senderList([["user.a", "2"]]))).toBe(2);
  });

  test("--fake-super sends a disguised namespace under its own name", () => {
    const w = new ByteWriter();
    new XattrSender({ amSender: true, amRoot: -1, level: 1 }).write(w, senderList([["user.rsync.trusted.x", "v"]]));
    expect(Buffer.from(w.take()).toString("latin1")).toBe("\0\x01\x0a\x01trusted.x\0v");
  });

  test("the receiver reads it back; a reference names the stored set", () => {
    const w = new ByteWriter();
    const s = new XattrSender(SENDER);
    s.write(w, senderList([["user.a", "xy"], ["trusted.t", "t"], ["user.long", LONG]]));
    s.write(w, senderList([["user.a", "xy"], ["trusted.t", "t"], ["user.long", LONG]]));
    const rcv = new XattrReceiver({ amSender: false, amRoot: 1, level: 1 }, false);
    const r = reader(w.take());
    const first = rcv.commit(rcv.read(r, () => "f"));
    const second = rcv.commit(rcv.read(r, () => "g"));
    expect(first).toBe(0);
    expect(second).toBe(0);
    const list = rcv.list(first);
    expect(list.map((i) => Buffer.from(i.name).toString())).toEqual(["trusted.t", "user.a", "user.long"]);
    expect(list[2]!.value).toBeNull();
    expect(Buffer.from(list[2]!.sum!).toString("hex")).toBe(Buffer.from(md5(LONG)).toString("hex"));
    expect(list[2]!.length).toBe(40);
  });

  test("an index past the store is refused; an incomplete set stores nothing", () => {
    const rcv = new XattrReceiver({ amSender: false, amRoot: 1, level: 1 }, false);
    expect(() => rcv.read(reader(new Uint8Array([2])), () => "f")).toThrow(/out of range/);
    expect(() => rcv.read(reader(new Uint8Array([0, 1, 7, 2, 0x75])), () => "f")).toThrow();
    try {
      rcv.read(reader(new Uint8Array([0, 1, 7, 2, 0x75])), () => "f");
    } catch (e) {
      expect(e).toBe(UNDERFLOW);
    }
    expect(rcv.list(0)).toEqual([]);
  });

  test("upstream's exit codes: an index past the store is a stream error (12), a name without its NUL a file I/O error (11)", () => {
    const rcv = new XattrReceiver({ amSender: false, amRoot: 1, level: 1 }, false);
    const codeOf = (bytes: number[]) => {
      try {
        rcv.read(reader(new Uint8Array(bytes)), () => "f");
      } catch (e) {
        return (e as { code?: number }).code;
      }
    };
    expect(codeOf([2])).toBe(12);
    // One attribute: a 2-byte name "ab" (no NUL), a 1-byte value.
    expect(codeOf([0, 1, 2, 1, 0x61, 0x62, 0x78])).toBe(11);
  });
});

describe("the receiving side's namespaces", () => {
  const sent = () => {
    const w = new ByteWriter();
    new XattrSender({ amSender: true, amRoot: 1, level: 2 }).write(
      w,
      senderList([["user.a", "1"], ["trusted.t", "2"], ["security.s", "3"], ["user.rsync.%stat", "100644 0,0 0:0"]]),
    );
    return w.take();
  };
  const namesFor = (p: XattrPolicy) => {
    const rcv = new XattrReceiver(p, false);
    return rcv.list(rcv.commit(rcv.read(reader(sent()), () => "f"))).map((i) => `${Buffer.from(i.name).toString()}#${i.num}`);
  };

  test("root keeps every namespace; rsync's own names only with -XX", () => {
    expect(namesFor({ amSender: false, amRoot: 1, level: 1 })).toEqual(["security.s#1", "trusted.t#2", "user.a#3"]);
    expect(namesFor({ amSender: false, amRoot: 1, level: 2 })).toEqual(["security.s#1", "trusted.t#2", "user.a#3", "user.rsync.%stat#4"]);
  });
  test("a non-root receiver keeps only user.", () => {
    expect(namesFor({ amSender: false, amRoot: 0, level: 1 })).toEqual(["user.a#3"]);
  });
  test("--fake-super keeps the others as user.rsync.<name>, sorted again, numbers as sent", () => {
    expect(namesFor({ amSender: false, amRoot: -1, level: 1 })).toEqual(["user.a#3", "user.rsync.security.s#1", "user.rsync.trusted.t#2"]);
  });
});

describe("asking for abbreviated values", () => {
  test("the generator asks for the long values that differ, by relative number, ended by 0", () => {
    const w = new ByteWriter();
    new XattrSender(SENDER).write(w, senderList([["user.a", LONG], ["user.b", "short"], ["user.c", LONG + "c"], ["user.d", LONG + "d"]]));
    const rcv = new XattrReceiver({ amSender: false, amRoot: 1, level: 1 }, false);
    const ndx = rcv.commit(rcv.read(reader(w.take()), () => "f"));
    // Here: user.a the same, user.c missing, user.d different.
    const local = senderList([["user.a", LONG], ["user.b", "short"], ["user.d", LONG + "x"]]);
    expect(rcv.differs(ndx, local, true)).toBe(true);
    const req = new ByteWriter();
    rcv.writeRequest(req, ndx);
    const bytes = req.take();
    expect(Array.from(bytes)).toEqual([3, 1, 0]);
    expect(readRequestNums(reader(bytes))).toEqual([3, 4]);
    // Asked once: a later file with the same set does not ask again (upstream's XSTATE_DONE).
    rcv.differs(ndx, local, true);
    const again = new ByteWriter();
    rcv.writeRequest(again, ndx);
    expect(Array.from(again.take())).toEqual([0]);
  });

  test("a set equal to what is here differs in nothing", () => {
    const w = new ByteWriter();
    new XattrSender(SENDER).write(w, senderList([["user.a", LONG], ["user.b", "x"]]));
    const rcv = new XattrReceiver({ amSender: false, amRoot: 1, level: 1 }, false);
    const ndx = rcv.commit(rcv.read(reader(w.take()), () => "f"));
    expect(rcv.differs(ndx, senderList([["user.a", LONG], ["user.b", "x"]]), true)).toBe(false);
    expect(rcv.differs(ndx, senderList([["user.a", LONG], ["user.b", "x"], ["user.c", ""]]), true)).toBe(true);
    expect(rcv.differs(ndx, senderList([["user.a", LONG]]), false)).toBe(true);
  });

  test("the sender refuses a request for a value that is not abbreviated", () => {
    const s = new XattrSender(SENDER);
    s.write(new ByteWriter(), senderList([["user.a", "short"], ["user.b", LONG]]));
    expect(() => s.markRequested(0, [1], "f")).toThrow(/internal abbrev error/);
    expect(() => s.markRequested(0, [3], "f")).toThrow(/could not find xattr #3/);
    s.markRequested(0, [2], "f");
    expect(() => s.markRequested(1, [1], "f")).toThrow(/internal data error/);
  });

  test("the receiver takes the answered values in place of their checksums", () => {
    const w = new ByteWriter();
    new XattrSender(SENDER).write(w, senderList([["user.a", LONG], ["user.b", LONG + "b"]]));
    const rcv = new XattrReceiver({ amSender: false, amRoot: 1, level: 1 }, false);
    const ndx = rcv.commit(rcv.read(reader(w.take()), () => "f"));
    const answer = new ByteWriter().varint(2).varint(3).bytes(b("new")).u8(0).take();
    const got = rcv.readValues(reader(answer));
    expect(got.map((g) => [g.num, Buffer.from(g.value).toString()])).toEqual([[2, "new"]]);
    rcv.storeValues(ndx, got, "f");
    expect(Buffer.from(rcv.list(ndx)[1]!.value!).toString()).toBe("new");
    expect(rcv.list(ndx)[1]!.length).toBe(41);
    expect(rcv.list(ndx)[0]!.value).toBeNull();
    expect(() => rcv.storeValues(ndx, got, "f")).toThrow(/internal abbrev error/);
  });
});
