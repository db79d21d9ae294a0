//! The hash algorithms behind one interface, numbered as rsync's CSUM_* ids,
//! with digests in rsync's wire byte order: MD4/MD5/SHA1 as standard; XXH64
//! and XXH3-64 as the u64 little-endian; XXH3-128 as low64 LE then high64 LE.
const std = @import("std");
const Md4 = @import("md4.zig").Md4;
const Md5 = @import("md5.zig").Md5;
const Sha1 = std.crypto.hash.Sha1;
const XxHash64 = std.hash.XxHash64;
const xxh3 = @import("xxh3.zig");

pub const Alg = enum(u32) {
    md4_busted = 2,
    md4 = 4,
    md5 = 5,
    xxh64 = 6,
    xxh3_64 = 7,
    xxh3_128 = 8,
    sha1 = 9,

    pub fn fromId(id: u32) ?Alg {
        return std.meta.intToEnum(Alg, id) catch null;
    }

    pub fn digestLength(self: Alg) usize {
        return switch (self) {
            .xxh64, .xxh3_64 => 8,
            .sha1 => 20,
            else => 16,
        };
    }
};

pub const max_digest_length = 20;

/// Streaming state of any algorithm. Lives in caller-provided memory that is
/// only guaranteed 8-byte aligned (a JS ArrayBuffer), holds no pointers, and
/// is plain data, so the caller may also copy it.
pub const Hasher = struct {
    /// An Alg id, kept as a plain integer so that the exports can validate
    /// state memory that was never initialised (see `algorithm`).
    alg_id: u32,
    impl: union {
        md4: Md4,
        md5: Md5,
        xxh64: XxHash64,
        xxh3: xxh3.Stream,
        sha1: Sha1,
    },

    comptime {
        std.debug.assert(@alignOf(Hasher) <= 8);
    }

    /// `seed` matters only to the xxHash algorithms (as a u64 bit pattern).
    pub fn init(alg: Alg, seed: u64) Hasher {
        return .{ .alg_id = @intFromEnum(alg), .impl = switch (alg) {
            .md4 => .{ .md4 = Md4.init(false) },
            .md4_busted => .{ .md4 = Md4.init(true) },
            .md5 => .{ .md5 = Md5.init(false) },
            .xxh64 => .{ .xxh64 = XxHash64.init(seed) },
            .xxh3_64, .xxh3_128 => .{ .xxh3 = xxh3.Stream.init(seed) },
            .sha1 => .{ .sha1 = Sha1.init(.{}) },
        } };
    }

    /// The algorithm, or null when this memory does not hold an initialised state.
    pub fn algorithm(self: *const Hasher) ?Alg {
        return Alg.fromId(self.alg_id);
    }

    pub fn update(self: *Hasher, input: []const u8) void {
        switch (self.algorithm().?) {
            .md4, .md4_busted => self.impl.md4.update(input),
            .md5 => self.impl.md5.update(input),
            .xxh64 => self.impl.xxh64.update(input),
            .xxh3_64, .xxh3_128 => self.impl.xxh3.update(input),
            .sha1 => self.impl.sha1.update(input),
        }
    }

    /// Writes the digest to `out` and returns its length.
    pub fn final(self: *Hasher, out: *[max_digest_length]u8) usize {
        const a = self.algorithm().?;
        switch (a) {
            .md4, .md4_busted => self.impl.md4.final(out[0..16]),
            .md5 => self.impl.md5.final(out[0..16]),
            .xxh64 => writeU64(out, self.impl.xxh64.final()),
            .xxh3_64 => writeU64(out, self.impl.xxh3.final64()),
            .xxh3_128 => writeU128(out, self.impl.xxh3.final128()),
            .sha1 => self.impl.sha1.final(out[0..20]),
        }
        return a.digestLength();
    }
};

/// One-shot digest; avoids the streaming buffers where the algorithm allows.
pub fn hash(alg: Alg, input: []const u8, seed: u64, out: *[max_digest_length]u8) usize {
    switch (alg) {
        .xxh64 => writeU64(out, XxHash64.hash(seed, input)),
        .xxh3_64 => writeU64(out, xxh3.hash64(input, seed)),
        .xxh3_128 => writeU128(out, xxh3.hash128(input, seed)),
        .sha1 => Sha1.hash(input, out[0..20], .{}),
        .md4, .md4_busted, .md5 => {
            var h = Hasher.init(alg, seed);
            h.update(input);
            return h.final(out);
        },
    }
    return alg.digestLength();
}

fn writeU64(out: *[max_digest_length]u8, v: u64) void {
    std.mem.writeInt(u64, out[0..8], v, .little);
}

fn writeU128(out: *[max_digest_length]u8, v: xxh3.Hash128) void {
    std.mem.writeInt(u64, out[0..8], v.low, .little);
    std.mem.writeInt(u64, out[8..16], v.high, .little);
}

const testing = std.testing;
const tv = @import("test_vectors.zig");

fn expectDigest(alg: Alg, input: []const u8, seed: u64, hex: []const u8) !void {
    var want: [max_digest_length]u8 = undefined;
    const want_bytes = try std.fmt.hexToBytes(&want, hex);
    var out: [max_digest_length]u8 = undefined;
    const n = hash(alg, input, seed, &out);
    try testing.expectEqualSlices(u8, want_bytes, out[0..n]);
    var h = Hasher.init(alg, seed);
    h.update(input);
    try testing.expectEqual(n, h.final(&out));
    try testing.expectEqualSlices(u8, want_bytes, out[0..n]);
}

test "wire-order digests of \"hello\"" {
    try expectDigest(.md4, "hello", 0, "866437cb7a794bce2b727acc0362ee27");
    try expectDigest(.md5, "hello", 0, "5d41402abc4b2a76b9719d911017c592");
    try expectDigest(.xxh64, "hello", 0, "a36d9f887d82c726");
    try expectDigest(.xxh3_64, "hello", 0, "fddc625c55e85595");
    try expectDigest(.xxh3_128, "hello", 0, "1838525eaacf79c77f3e1b07adc1e9b5");
    try expectDigest(.xxh64, "hello", 0x12345678, "e22c29a2937706c3");
    try expectDigest(.xxh3_64, "hello", 0x12345678, "4bf3a1e79906d2f6");
    try expectDigest(.xxh3_128, "hello", 0x12345678, "1143336a265ebfdc3289ba84c7afdc30");
    try expectDigest(.xxh64, "hello", 0xFFFFFFFF87654321, "1e1084af43e2b9e9");
    try expectDigest(.xxh3_128, "hello", 0xFFFFFFFF87654321, "cb85e4cb5f22fb45ff16a78a1fcc2109");
}

test "md4 and xxh64 against reference tables" {
    const data = try testing.allocator.alloc(u8, 1 << 20);
    defer testing.allocator.free(data);
    tv.testInput(data);
    for (tv.md4_vectors) |v| try expectDigest(.md4, data[0..v.len], 0, v.hex);
    for (tv.vectors) |v| {
        var le: [8]u8 = undefined;
        std.mem.writeInt(u64, &le, v.xxh64, .little);
        var out: [max_digest_length]u8 = undefined;
        try testing.expectEqual(@as(usize, 8), hash(.xxh64, data[0..v.len], v.seed, &out));
        try testing.expectEqualSlices(u8, &le, out[0..8]);
    }
}

test "streaming equals one-shot for random splits, every algorithm" {
    const data = try testing.allocator.alloc(u8, 70_000);
    defer testing.allocator.free(data);
    var prng = std.Random.DefaultPrng.init(0xfeed);
    const rand = prng.random();
    rand.bytes(data);
    for ([_]Alg{ .md4_busted, .md4, .md5, .xxh64, .xxh3_64, .xxh3_128, .sha1 }) |alg| {
        for ([_]usize{ 0, 1, 63, 64, 65, 240, 241, 1024, 4097, 70_000 }) |len| {
            const seed = rand.int(u64);
            var one: [max_digest_length]u8 = undefined;
            const n = hash(alg, data[0..len], seed, &one);
            for (0..8) |_| {
                var h = Hasher.init(alg, seed);
                var rest: []const u8 = data[0..len];
                while (rest.len > 0) {
                    const k = rand.uintAtMost(usize, @min(rest.len, 1 + rand.uintLessThan(usize, 3000)));
                    h.update(rest[0..k]);
                    rest = rest[k..];
                }
                var two: [max_digest_length]u8 = undefined;
                try testing.expectEqual(n, h.final(&two));
                try testing.expectEqualSlices(u8, one[0..n], two[0..n]);
            }
        }
    }
}

test "md5 matches RFC 1321" {
    try expectDigest(.md5, "", 0, "d41d8cd98f00b204e9800998ecf8427e");
    try expectDigest(.md5, "abc", 0, "900150983cd24fb0d6963f7d28e17f72");
    try expectDigest(.md5, "message digest", 0, "f96b697d7cb7938d525a2f31aaf161d0");
}

test "sha1 matches FIPS 180 (and ignores the seed)" {
    try expectDigest(.sha1, "", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    try expectDigest(.sha1, "abc", 0, "a9993e364706816aba3e25717850c26c9cd0d89d");
    try expectDigest(.sha1, "abc", 0x12345678, "a9993e364706816aba3e25717850c26c9cd0d89d");
    try expectDigest(.sha1, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 0, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    try testing.expectEqual(@as(usize, 20), Alg.sha1.digestLength());
}

test "unknown algorithm ids" {
    for ([_]u32{ 0, 1, 3, 10, 11, 100, 0xffff_ffff }) |id| try testing.expect(Alg.fromId(id) == null);
    try testing.expectEqual(Alg.md5, Alg.fromId(5).?);
    try testing.expectEqual(Alg.sha1, Alg.fromId(9).?);
}
