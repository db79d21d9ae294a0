/**
 * The -A wire form (acls.c send_rsync_acl/recv_rsync_acl): exact bytes of
 * an access ACL stripped of what the mode says, names inline in incremental
 * mode, a reference to an identical ACL, the receiver's mask for names sent
 * without one, and the checks on what comes in.
 */
import { describe, expect, test } from "bun:test";
import { AclReceiver, AclSender, aclEqualEnough, NO_ENTRY, type RsyncAcl } from "../../src/flist/acls.ts";
import { ChunkReader } from "../../src/protocol/reader.ts";
import { ByteWriter } from "../../src/protocol/writer.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const reader = (b: Uint8Array) => {
  const r = new ChunkReader();
  r.push(b);
  return r;
};

/** user::rw- user:1000:rw- user:1234:r-- group::r-- group:5678:r-x mask::rw- other::r-- on a 0664 file. */
const NAMED: RsyncAcl = {
  userObj: 6,
  groupObj: 4,
  maskObj: 6,
  otherObj: 4,
  names: [
    { id: 1000, access: 6, user: true },
    { id: 1234, access: 4, user: true },
    { id: 5678, access: 5, user: false },
  ],
};

describe("an ACL on the wire", () => {
  test("stripped of the mode's bits: flags, the group entry (it differs from the mask), the names", () => {
    const w = new ByteWriter();
    new AclSender(null, false).write(w, { access: NAMED }, 0o100664);
    // 0 = literal; flags GROUP_OBJ|NAME_LIST; group 4; 3 names: id (varint), access<<2 | is-user.
    expect(hex(w.take())).toBe("0012" + "04" + "03" + "83e8" + "1a" + "84d2" + "12" + "962e" + "14");
  });

  test("a name follows a new id in incremental mode; an identical ACL goes as its index", () => {
    const w = new ByteWriter();
    const seen = new Set<number>();
    const sender = new AclSender((id, user) => (user && id === 1000 && !seen.has(id) ? (seen.add(id), new Uint8Array(Buffer.from("me"))) : null), true);
    sender.write(w, { access: NAMED }, 0o100664);
    sender.write(w, { access: NAMED }, 0o100664);
    expect(hex(w.take())).toBe("0012" + "04" + "03" + "83e8" + "1b" + "02" + hex(Buffer.from("me")) + "84d2" + "12" + "962e" + "14" + "01");
  });

  test("a directory's default ACL follows its access ACL, unstripped", () => {
    const w = new ByteWriter();
    const def: RsyncAcl = { userObj: 7, groupObj: 5, maskObj: NO_ENTRY, otherObj: 5, names: [] };
    new AclSender(null, false).write(w, { access: { userObj: 7, groupObj: 5, maskObj: NO_ENTRY, otherObj: 5, names: [] }, def }, 0o40755);
    expect(hex(w.take())).toBe("0000" + "000b070505");
  });

  test("the receiver reads it back, gives names without a mask the mode's group bits as mask, and keeps inline names", () => {
    const w = new ByteWriter();
    new AclSender(() => new Uint8Array(Buffer.from("n")), true).write(w, { access: NAMED }, 0o100664);
    const rcv = new AclReceiver(1);
    const got = rcv.read(reader(w.take()), 0o100664);
    expect(got.names.map((n) => [n.id, n.user, Buffer.from(n.name).toString()])).toEqual([
      [1000, true, "n"],
      [1234, true, "n"],
      [5678, false, "n"],
    ]);
    const stored = rcv.get("access", rcv.commit(got).access)!;
    expect(stored.maskObj).toBe(6);
    expect(stored.groupObj).toBe(4);
    expect(stored.userObj).toBe(NO_ENTRY);
    expect(aclEqualEnough(NAMED, stored, 0o100664)).toBe(true);
    expect(aclEqualEnough({ ...NAMED, groupObj: 6 }, stored, 0o100664)).toBe(false);
  });

  test("an index past the store and a permission out of range are refused", () => {
    expect(() => new AclReceiver(1).read(reader(new Uint8Array([2])), 0o100644)).toThrow(/ACL_TYPE_ACCESS ACL index 2 > 0/);
    expect(() => new AclReceiver(1).read(reader(new Uint8Array([0, 1, 0x7f])), 0o100644)).toThrow(/value out of range/);
  });
});
