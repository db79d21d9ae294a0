/**
 * The negotiated name lists and what RSYNC_CHECKSUM_LIST / RSYNC_COMPRESS_LIST
 * make of them (compat.c getenv_nstr, parse_nni_str, parse_negotiate_str,
 * validate_choice_vs_env), one parser for both kinds. The expectations are
 * what upstream 3.5.0 sent and printed for the same values (its --debug=NSTR2
 * "Client checksum list (on client)" line).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { CHECKSUM_NAME_KIND, offeredChecksumList } from "../../src/protocol/checksum-choice.ts";
import { COMPRESS_NAME_KIND, offeredCompressList } from "../../src/compress/choice.ts";
import { MAX_NSTR_STRLEN, negotiationFailure, offeredNames, parseNameList, pickName, refusedByEnv } from "../../src/protocol/offered-names.ts";
import { checkServerChoices } from "../../src/protocol/server-setup.ts";
import { defaultOptions, type Options } from "../../src/cli/options.ts";

const CLIENT_DEFAULT = ["xxh128", "xxh3", "xxh64", "md5", "md4", "sha1"];
const SERVER_DEFAULT = [...CLIENT_DEFAULT, "none"];

describe("the offered checksum list (RSYNC_CHECKSUM_LIST)", () => {
  test("unset, empty or blank: the usual list (a server's with none)", () => {
    for (const env of [undefined, "", "   ", "\t\n"]) {
      expect(offeredChecksumList(false, env)).toEqual(CLIENT_DEFAULT);
      expect(offeredChecksumList(true, env)).toEqual(SERVER_DEFAULT);
    }
  });

  test("unknown names and repeats are dropped, an alias becomes its main name, a main name keeps its case", () => {
    expect(offeredChecksumList(false, "xxhash MD5 bogus md5")).toEqual(["xxh64", "MD5"]);
    expect(offeredChecksumList(false, "  sha1\tmd4\n  xxh64 XXHASH ")).toEqual(["sha1", "md4", "xxh64"]);
    // A client may offer "none" when its list names it (upstream's default leaves it out).
    expect(offeredChecksumList(false, "none md5")).toEqual(["none", "md5"]);
  });

  test("words, none known: INVALID", () => {
    expect(offeredChecksumList(false, "bogus")).toEqual(["INVALID"]);
    expect(offeredChecksumList(true, "sha256 blake3")).toEqual(["INVALID"]);
  });

  test("'&': the client's part is before it, the server's after it (up to another '&')", () => {
    expect(offeredChecksumList(false, "md5 sha1&xxh3")).toEqual(["md5", "sha1"]);
    expect(offeredChecksumList(true, "md5 sha1&xxh3")).toEqual(["xxh3"]);
    expect(offeredChecksumList(true, "sha1&md5&xxh3")).toEqual(["md5"]);
    // Without one both sides take the whole value.
    expect(offeredChecksumList(true, "md5 sha1")).toEqual(["md5", "sha1"]);
    // An empty part is the usual list; a part of unknown words is INVALID.
    expect(offeredChecksumList(false, "&md5")).toEqual(CLIENT_DEFAULT);
    expect(offeredChecksumList(true, "md5&")).toEqual(SERVER_DEFAULT);
    expect(offeredChecksumList(true, "md5&bogus")).toEqual(["INVALID"]);
    expect(offeredChecksumList(false, "bogus&md5")).toEqual(["INVALID"]);
  });

  test("the list fits in upstream's 256-byte buffer: a word that would not ends it", () => {
    const long = "x".repeat(300);
    // The long word is cut off before it was ever a word: no words, so the usual list.
    expect(offeredChecksumList(false, long)).toEqual(CLIENT_DEFAULT);
    expect(offeredChecksumList(false, `md5 ${long} sha1`)).toEqual(["md5"]);
    // An unknown word gives its room back once it ends.
    const filler = `${"y".repeat(200)} ${"z".repeat(60)}`;
    expect(parseNameList(CHECKSUM_NAME_KIND, `md5 ${filler} sha1`).words).toEqual(["md5", "sha1"]);
    const fits = `${"y".repeat(MAX_NSTR_STRLEN - 10)} sha1`;
    expect(parseNameList(CHECKSUM_NAME_KIND, fits).words).toEqual(["sha1"]);
  });

  test("the parser's main names are the side's preferences, in order", () => {
    expect(parseNameList(CHECKSUM_NAME_KIND, "xxhash MD5 bogus md5 sha1")).toEqual({ words: ["xxh64", "MD5", "sha1"], names: ["xxh64", "md5", "sha1"] });
    expect(parseNameList(CHECKSUM_NAME_KIND, "  ")).toEqual({ words: [], names: [] });
    expect(parseNameList(CHECKSUM_NAME_KIND, "bogus")).toEqual({ words: ["INVALID"], names: [] });
  });
});

describe("the offered compression list (RSYNC_COMPRESS_LIST), through the same parser", () => {
  test("as before: the client's part before '&', the server's after", () => {
    expect(offeredCompressList(false, "lz4 bogus zlib lz4&zstd")).toEqual(["lz4", "zlib"]);
    expect(offeredCompressList(true, "lz4 bogus zlib lz4&zstd")).toEqual(["zstd"]);
    expect(offeredCompressList(false, "bogus")).toEqual(["INVALID"]);
    expect(offeredCompressList(false, undefined)).toEqual(["zstd", "lz4", "zlibx", "zlib"]);
    expect(offeredCompressList(true, " ")).toEqual(["zstd", "lz4", "zlibx", "zlib", "none"]);
    expect(offeredNames(COMPRESS_NAME_KIND, false, "LZ4 none")).toEqual(["LZ4", "none"]);
  });
});

describe("choosing from the peer's list (parse_negotiate_str)", () => {
  test("our favourite the peer also names, whatever its case or spelling", () => {
    expect(pickName(CHECKSUM_NAME_KIND, CLIENT_DEFAULT, "md4 sha1 none")).toBe("md4");
    expect(pickName(CHECKSUM_NAME_KIND, ["sha1", "MD5"], "xxh128 md5 sha1")).toBe("sha1");
    expect(pickName(CHECKSUM_NAME_KIND, ["MD5"], "xxh128 md5")).toBe("md5");
    expect(pickName(CHECKSUM_NAME_KIND, ["xxh64"], "XXHASH")).toBe("xxh64");
    expect(pickName(COMPRESS_NAME_KIND, ["zstd", "lz4"], "zlib  lz4")).toBe("lz4");
  });

  test("nothing shared: none; INVALID shares nothing", () => {
    expect(pickName(CHECKSUM_NAME_KIND, ["md5"], "sha1")).toBeUndefined();
    expect(pickName(CHECKSUM_NAME_KIND, ["INVALID"], "INVALID")).toBeUndefined();
    expect(pickName(CHECKSUM_NAME_KIND, CLIENT_DEFAULT, "")).toBeUndefined();
  });

  test("the failure names the peer's list as it came and ours as our preferences", () => {
    expect(negotiationFailure(CHECKSUM_NAME_KIND, false, ["INVALID"], "md5")).toBe("Failed to negotiate a checksum choice.\nServer list: md5\nClient list: INVALID");
    expect(negotiationFailure(COMPRESS_NAME_KIND, true, ["zstd"], "zlib")).toBe("Failed to negotiate a compress choice.\nClient list: zlib\nServer list: zstd");
    expect(negotiationFailure(CHECKSUM_NAME_KIND, false, ["xxh64", "MD5"], "sha1")).toBe("Failed to negotiate a checksum choice.\nServer list: sha1\nClient list: xxh64 md5");
  });
});

describe("an explicit choice against a server's own list (validate_choice_vs_env)", () => {
  test("no list, an empty or blank server part: anything goes", () => {
    for (const env of [undefined, "", "  ", "md5&", "md5& "]) expect(refusedByEnv(CHECKSUM_NAME_KIND, ["xxh128"], env)).toBe(false);
  });

  test("the server's part must hold every name chosen", () => {
    expect(refusedByEnv(CHECKSUM_NAME_KIND, ["xxh128"], "md5")).toBe(true);
    expect(refusedByEnv(CHECKSUM_NAME_KIND, ["md5"], "MD5 sha1")).toBe(false);
    expect(refusedByEnv(CHECKSUM_NAME_KIND, ["md5", "xxh3"], "md5")).toBe(true);
    expect(refusedByEnv(CHECKSUM_NAME_KIND, ["xxh64"], "xxhash")).toBe(false);
    // The client's part does not count.
    expect(refusedByEnv(CHECKSUM_NAME_KIND, ["md5"], "md5&sha1")).toBe(true);
    expect(refusedByEnv(CHECKSUM_NAME_KIND, ["sha1"], "md5&sha1")).toBe(false);
    // A list of nothing known refuses everything.
    expect(refusedByEnv(CHECKSUM_NAME_KIND, ["md5"], "bogus")).toBe(true);
    expect(refusedByEnv(COMPRESS_NAME_KIND, ["zstd"], "zlib&lz4 zlib")).toBe(true);
    expect(refusedByEnv(COMPRESS_NAME_KIND, ["lz4"], "zlib&lz4 zlib")).toBe(false);
  });

  describe("checkServerChoices", () => {
    const saved = { sums: process.env.RSYNC_CHECKSUM_LIST, compress: process.env.RSYNC_COMPRESS_LIST };
    afterEach(() => {
      for (const [key, value] of [
        ["RSYNC_CHECKSUM_LIST", saved.sums],
        ["RSYNC_COMPRESS_LIST", saved.compress],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    });
    const opts = (o: Partial<Options>): Options => ({ ...defaultOptions(), ...o });

    test("refuses with upstream's message and code 4", () => {
      process.env.RSYNC_CHECKSUM_LIST = "md5";
      expect(() => checkServerChoices(opts({ checksumChoice: "xxh128" }), 32)).toThrow("Your --checksum-choice value (xxh128) was refused by the server.");
      expect(() => checkServerChoices(opts({ checksumChoice: "md5,xxh3" }), 32)).toThrow("Your --checksum-choice value (md5,xxh3) was refused by the server.");
      let code = 0;
      try {
        checkServerChoices(opts({ checksumChoice: "sha1" }), 32);
      } catch (e) {
        code = (e as { code: number }).code;
      }
      expect(code).toBe(4);
      expect(() => checkServerChoices(opts({ checksumChoice: "MD5" }), 32)).not.toThrow();
      // "auto" at protocol 30+ is md5; below it the old MD4, which "md4" in the list allows.
      expect(() => checkServerChoices(opts({ checksumChoice: "auto,md5" }), 32)).not.toThrow();
      process.env.RSYNC_CHECKSUM_LIST = "md4";
      expect(() => checkServerChoices(opts({ checksumChoice: "md4" }), 29)).not.toThrow();
      expect(() => checkServerChoices(opts({ checksumChoice: "auto,md4" }), 29)).not.toThrow();
      expect(() => checkServerChoices(opts({ checksumChoice: "auto" }), 31)).toThrow("was refused by the server");
    });

    test("compression: --compress-choice, -zz's zlibx; auto and a plain -z are no choice", () => {
      process.env.RSYNC_COMPRESS_LIST = "zlib";
      expect(() => checkServerChoices(opts({ compressChoice: "zstd" }), 32)).toThrow("Your --compress-choice value (zstd) was refused by the server.");
      expect(() => checkServerChoices(opts({ compress: 2 }), 32)).toThrow("Your --compress-choice value (zlibx) was refused by the server.");
      expect(() => checkServerChoices(opts({ compressChoice: "ZLIB" }), 32)).not.toThrow();
      expect(() => checkServerChoices(opts({ compressChoice: "auto" }), 32)).not.toThrow();
      expect(() => checkServerChoices(opts({ compress: 1 }), 32)).not.toThrow();
    });

    test("unknown names fail as upstream's option parsing does", () => {
      expect(() => checkServerChoices(opts({ checksumChoice: "sha256" }), 32)).toThrow("unknown checksum name: sha256");
      expect(() => checkServerChoices(opts({ compressChoice: "brotli" }), 32)).toThrow("unknown compress name: brotli");
    });
  });
});
