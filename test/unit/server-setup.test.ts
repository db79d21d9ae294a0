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
import { Cpres, NO_COMPRESS_REQUEST, compressRequest, compressServerArgs, offeredCompressList, type CompressRequest } from "../../src/compress/choice.ts";
import { defaultOptions, type Options } from "../../src/cli/options.ts";

async function pair(protocol: number, clientInfo: string, clientChoice?: string, serverChoice?: string, compress: CompressRequest = NO_COMPRESS_REQUEST) {
  const [a, b] = memoryChannelPair();
  const client = clientSetupProtocol(new Input(a), new Output(a), { protocol, checksumChoice: clientChoice, compress });
  const server = serverSetupProtocol(new Input(b), new Output(b), {
    protocol,
    clientInfo,
    allowIncRecurse: clientInfo.includes("i"),
    checksumChoice: serverChoice,
    checksumSeed: 0,
    compress,
  });
  return Promise.all([client, server]);
}

/** Both halves, each left to succeed or fail on its own. */
async function pairSettled(protocol: number, clientInfo: string) {
  const [a, b] = memoryChannelPair();
  const client = clientSetupProtocol(new Input(a), new Output(a), { protocol, checksumChoice: undefined, compress: NO_COMPRESS_REQUEST });
  const server = serverSetupProtocol(new Input(b), new Output(b), { protocol, clientInfo, allowIncRecurse: false, checksumChoice: undefined, checksumSeed: 0, compress: NO_COMPRESS_REQUEST });
  return [client, server];
}

/** The request both sides derive from the same command-line options. */
function requestFor(args: Partial<Options>): CompressRequest {
  return compressRequest({ ...defaultOptions(), ...args });
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

  test("-z with negotiation settles on zstd at level 3; without 'v' it is zlib at level 6", async () => {
    const z = requestFor({ compress: 1 });
    const [c, s] = await pair(31, "iLsfxCIvu", undefined, undefined, z);
    expect(c.compression).toEqual({ alg: Cpres.ZSTD, level: 3 });
    expect(s.compression).toEqual(c.compression);
    const [c30, s30] = await pair(30, "LsfxCI", undefined, undefined, z);
    expect(c30.compression).toEqual({ alg: Cpres.ZLIB, level: 6 });
    expect(s30.compression).toEqual(c30.compression);
  });

  test("a named algorithm skips the exchange; deflate level 0 turns compression off, zstd's 0 is its default", async () => {
    const [c] = await pair(31, "iLsfxCIvu", undefined, undefined, requestFor({ compressChoice: "LZ4", compressLevel: 9 }));
    expect(c.compression).toEqual({ alg: Cpres.LZ4, level: 0 });
    const [off] = await pair(31, "iLsfxCIvu", undefined, undefined, requestFor({ compress: 2, compressLevel: 0 }));
    expect(off.compression.alg).toBe(Cpres.NONE);
    const [zstd] = await pair(31, "iLsfxCIvu", undefined, undefined, requestFor({ compressChoice: "zstd", compressLevel: 0 }));
    expect(zstd.compression).toEqual({ alg: Cpres.ZSTD, level: 3 });
    const [clamped] = await pair(31, "iLsfxCIvu", undefined, undefined, requestFor({ compressChoice: "zlib", compressLevel: 42 }));
    expect(clamped.compression).toEqual({ alg: Cpres.ZLIB, level: 9 });
  });

  test("the server hears of compression as upstream's client tells it", () => {
    const flat = (a: ReturnType<typeof compressServerArgs>) => ({ letter: a.letter, args: [...a.level, ...a.choice, ...a.skip] });
    expect(flat(compressServerArgs(requestFor({ compress: 1 }), false, undefined))).toEqual({ letter: true, args: [] });
    expect(flat(compressServerArgs(requestFor({ compress: 2 }), false, undefined))).toEqual({ letter: false, args: ["--new-compress"] });
    expect(flat(compressServerArgs(requestFor({ compressChoice: "zlib", compressLevel: 3 }), true, "gz"))).toEqual({ letter: true, args: ["--compress-level=3", "--old-compress"] });
    expect(flat(compressServerArgs(requestFor({ compressChoice: "zstd" }), false, "gz/mp4"))).toEqual({ letter: false, args: ["--compress-choice=zstd", "--skip-compress=gz/mp4"] });
    expect(flat(compressServerArgs(requestFor({ compressLevel: 4 }), false, undefined))).toEqual({ letter: false, args: ["--compress-level=4"] });
    expect(requestFor({ compress: 1, compressChoice: "auto" }).plainZ).toBe(true);
    expect(requestFor({ compressChoice: "none" }).on).toBe(false);
    expect(() => requestFor({ compressChoice: "brotli" })).toThrow("unknown compress name: brotli");
  });

  test("RSYNC_CHECKSUM_LIST: each side offers its part and both settle on the name they share", async () => {
    const saved = process.env.RSYNC_CHECKSUM_LIST;
    try {
      process.env.RSYNC_CHECKSUM_LIST = "xxh3 md5&bogus MD5";
      const [c, s] = await pair(31, "iLsfxCIvu");
      expect(c.sums.xfer.name).toBe("md5");
      expect(s.sums.xfer.name).toBe("md5");
      // Without negotiation the protocol's name must be in the list, on either side.
      process.env.RSYNC_CHECKSUM_LIST = "sha1";
      const failed = await Promise.allSettled(await pairSettled(30, "LsfxCI"));
      expect(failed.map((r) => (r.status === "rejected" ? (r.reason as Error).message : "ok"))).toEqual([
        "Failed to negotiate a checksum choice.\nServer list: md5\nClient list: sha1",
        "Failed to negotiate a checksum choice.\nClient list: md5\nServer list: sha1",
      ]);
      process.env.RSYNC_CHECKSUM_LIST = "md4";
      const [c29] = await pair(29, "");
      expect(c29.sums.xfer).toMatchObject({ name: "md4", legacy: true });
    } finally {
      if (saved === undefined) delete process.env.RSYNC_CHECKSUM_LIST;
      else process.env.RSYNC_CHECKSUM_LIST = saved;
    }
  });

  test("RSYNC_COMPRESS_LIST replaces the offered list, client part before '&'", () => {
    expect(offeredCompressList(false, "lz4 bogus zlib lz4&zstd")).toEqual(["lz4", "zlib"]);
    expect(offeredCompressList(true, "lz4 bogus zlib lz4&zstd")).toEqual(["zstd"]);
    expect(offeredCompressList(false, "bogus")).toEqual(["INVALID"]);
    expect(offeredCompressList(true, undefined)).toEqual(["zstd", "lz4", "zlibx", "zlib", "none"]);
  });
});
