/**
 * Both halves of setup_protocol against each other over an in-process
 * channel pair: the flags the server derives from the client's capability
 * letters, the checksum both sides settle on, and the seed.
 */
import { describe, expect, test } from "bun:test";
import { Input } from "../../src/io/input.ts";
import { memoryChannelPair } from "../../src/io/memory-channel.ts";
import { Output } from "../../src/io/output.ts";
import { CF, clientSetupProtocol } from "../../src/protocol/setup.ts";
import { serverCompatFlags, serverSetupProtocol } from "../../src/protocol/server-setup.ts";

async function pair(protocol: number, clientInfo: string, clientChoice?: string, serverChoice?: string) {
  const [a, b] = memoryChannelPair();
  const client = clientSetupProtocol(new Input(a), new Output(a), { protocol, checksumChoice: clientChoice });
  const server = serverSetupProtocol(new Input(b), new Output(b), {
    protocol,
    clientInfo,
    allowIncRecurse: clientInfo.includes("i"),
    checksumChoice: serverChoice,
    checksumSeed: 0,
  });
  return Promise.all([client, server]);
}

describe("server setup_protocol", () => {
  test("the flags follow the client's letters, as upstream's server sets them", () => {
    expect(serverCompatFlags("iLsfxCIvu", true)).toBe(
      CF.INC_RECURSE | CF.SYMLINK_TIMES | CF.SYMLINK_ICONV | CF.SAFE_FLIST | CF.AVOID_XATTR_OPTIM | CF.CHKSUM_SEED_FIX | CF.INPLACE_PARTIAL_DIR | CF.VARINT_FLIST_FLAGS | CF.ID0_NAMES,
    );
    expect(serverCompatFlags("", false)).toBe(CF.SYMLINK_TIMES | CF.SYMLINK_ICONV);
  });

  test("protocol 31 with negotiation: both sides agree on xxh128, flags and seed", async () => {
    const [c, s] = await pair(31, "iLsfxCIvu");
    expect(c.sums.xfer.name).toBe("xxh128");
    expect(s.sums.xfer.name).toBe("xxh128");
    expect(c.compatFlags).toBe(s.compatFlags);
    expect(c.incRecurse).toBe(true);
    expect(c.sums.seed).toBe(s.sums.seed);
    expect(c.sums.properSeedOrder).toBe(true);
  });

  test("without the 'v' letter there is no negotiation: md5 at protocol 30", async () => {
    const [c, s] = await pair(30, "LsfxCI");
    expect(c.sums.xfer.name).toBe("md5");
    expect(s.sums.xfer.name).toBe("md5");
    expect(c.incRecurse).toBe(false);
  });

  test("protocol 29 sends no flags: md4, seed only", async () => {
    const [c, s] = await pair(29, "iLsfxCIvu");
    expect(c.compatFlags).toBe(0);
    expect(s.compatFlags).toBe(0);
    expect(c.sums.xfer.name).toBe("md4");
    expect(c.sums.seed).toBe(s.sums.seed);
  });

  test("an explicit --checksum-choice on both sides skips the exchange", async () => {
    const [c, s] = await pair(31, "iLsfxCIvu", "xxh64", "xxh64");
    expect(c.sums.xfer.name).toBe("xxh64");
    expect(s.sums.xfer.name).toBe("xxh64");
  });
});
