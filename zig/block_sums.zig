//! The block-signature table a receiver sends (rsync's sum_struct / sum_buf):
//! per block, the rolling checksum as u32 LE followed by the first
//! `strong_len` bytes of the block's strong digest.
const std = @import("std");
const rolling = @import("rolling.zig");
const hasher = @import("hasher.zig");
const xxh3 = @import("xxh3.zig");
const Alg = hasher.Alg;

pub const SeedOrder = enum(u32) {
    /// digest(block ‖ seed_le): MD4, and MD5 without CF_CHKSUM_SEED_FIX.
    append = 0,
    /// digest(seed_le ‖ block): MD5 with CF_CHKSUM_SEED_FIX, and SHA1 always.
    prepend = 1,
};

pub const Params = struct {
    block_len: u32,
    strong_len: u32,
    alg: Alg,
    /// The session's checksum seed. xxHash takes it sign-extended as its
    /// seed; MD4/MD5/SHA1 mix its 4 LE bytes into the data, unless it is 0.
    seed: i32,
    seed_order: SeedOrder,

    /// Validates raw arguments; null when any is out of range.
    pub fn fromRaw(block_len: u32, strong_len: u32, alg_id: u32, seed: i32, seed_order: u32) ?Params {
        const alg = Alg.fromId(alg_id) orelse return null;
        const order = std.meta.intToEnum(SeedOrder, seed_order) catch return null;
        if (block_len == 0 or strong_len == 0 or strong_len > alg.digestLength()) return null;
        return .{ .block_len = block_len, .strong_len = strong_len, .alg = alg, .seed = seed, .seed_order = order };
    }

    pub fn entryLength(self: Params) usize {
        return 4 + @as(usize, self.strong_len);
    }

    pub fn blockCount(self: Params, data_len: usize) usize {
        return std.math.divCeil(usize, data_len, self.block_len) catch unreachable;
    }
};

/// Sums blocks with one set of parameters. Built once per table (the xxHash
/// seed and the MD seed bytes are prepared here, not per block) and only read
/// while summing, so one instance can later serve several threads, each
/// taking its own range of blocks.
pub const Summer = struct {
    p: Params,
    xxh_seed: u64,
    seed_bytes: [4]u8,
    /// Derived XXH3 secret; set only for the XXH3 algorithms.
    xxh3_key: xxh3.Seeded,

    pub fn init(p: Params) Summer {
        const seed64: u64 = @bitCast(@as(i64, p.seed));
        var self = Summer{ .p = p, .xxh_seed = seed64, .seed_bytes = undefined, .xxh3_key = undefined };
        std.mem.writeInt(i32, &self.seed_bytes, p.seed, .little);
        if (p.alg == .xxh3_64 or p.alg == .xxh3_128) self.xxh3_key = xxh3.Seeded.init(seed64);
        return self;
    }

    /// The strong digest of one block (full length; callers truncate).
    pub fn strongSum(self: *const Summer, block: []const u8, out: *[hasher.max_digest_length]u8) void {
        switch (self.p.alg) {
            .xxh64 => std.mem.writeInt(u64, out[0..8], std.hash.XxHash64.hash(self.xxh_seed, block), .little),
            .xxh3_64 => std.mem.writeInt(u64, out[0..8], self.xxh3_key.hash64(block), .little),
            .xxh3_128 => {
                const h = self.xxh3_key.hash128(block);
                std.mem.writeInt(u64, out[0..8], h.low, .little);
                std.mem.writeInt(u64, out[8..16], h.high, .little);
            },
            .md4, .md4_busted, .md5, .sha1 => {
                var h = hasher.Hasher.init(self.p.alg, 0);
                // A zero seed adds nothing (upstream skips it).
                if (self.p.seed != 0 and self.p.seed_order == .prepend) h.update(&self.seed_bytes);
                h.update(block);
                if (self.p.seed != 0 and self.p.seed_order == .append) h.update(&self.seed_bytes);
                _ = h.final(out);
            },
        }
    }

    /// Writes one table entry for `block` into `out` (entryLength() bytes).
    pub fn entry(self: *const Summer, block: []const u8, out: []u8) void {
        std.mem.writeInt(u32, out[0..4], rolling.checksum(block), .little);
        var digest: [hasher.max_digest_length]u8 = undefined;
        self.strongSum(block, &digest);
        @memcpy(out[4..][0..self.p.strong_len], digest[0..self.p.strong_len]);
    }

    /// Fills the entries of blocks [first, first + count) of `data`, each at
    /// its own place in `out` (the whole table's buffer).
    pub fn range(self: *const Summer, data: []const u8, first: usize, count: usize, out: []u8) void {
        const size = self.p.entryLength();
        for (first..first + count) |i| {
            const start = i * self.p.block_len;
            const end = @min(start + self.p.block_len, data.len);
            self.entry(data[start..end], out[i * size ..][0..size]);
        }
    }
};

/// The whole table; `out` must hold blockCount(data.len) * entryLength()
/// bytes. Returns the block count.
pub fn table(data: []const u8, p: Params, out: []u8) usize {
    const count = p.blockCount(data.len);
    const summer = Summer.init(p);
    summer.range(data, 0, count, out);
    return count;
}

const testing = std.testing;

fn expectStrong(alg: Alg, order: SeedOrder, hex: *const [32]u8) !void {
    const p = Params{ .block_len = 700, .strong_len = 16, .alg = alg, .seed = 0x12345678, .seed_order = order };
    var out: [20]u8 = undefined;
    try testing.expectEqual(@as(usize, 1), table("hello", p, &out));
    var want: [16]u8 = undefined;
    _ = try std.fmt.hexToBytes(&want, hex);
    try testing.expectEqual(@as(u32, 0x06270214), std.mem.readInt(u32, out[0..4], .little));
    try testing.expectEqualSlices(u8, &want, out[4..20]);
}

test "block sum vectors with a seed" {
    try expectStrong(.md4, .append, "034e6d10ba4bec94f3fef93c5d605a5a");
    try expectStrong(.md5, .prepend, "d4d331d866dc9b1ef0bf09eb7302fb5f");
    try expectStrong(.md5, .append, "ca37b2aa88a4247fe3f27ab882157746");
}

test "sha1 block sums: SHA1(seed_le ‖ block), all 20 bytes; a zero seed adds nothing" {
    // As upstream's get_checksum2 through OpenSSL: the seed's 4 LE bytes, then the block.
    var out: [24]u8 = undefined;
    var want: [20]u8 = undefined;
    const seeded = Params{ .block_len = 700, .strong_len = 20, .alg = .sha1, .seed = 0x12345678, .seed_order = .prepend };
    try testing.expectEqual(@as(usize, 1), table("hello", seeded, &out));
    try testing.expectEqual(@as(u32, 0x06270214), std.mem.readInt(u32, out[0..4], .little));
    _ = try std.fmt.hexToBytes(&want, "1dd38cd76902cad3650b194ba787a3202aa87d6d");
    try testing.expectEqualSlices(u8, &want, out[4..24]);
    const unseeded = Params{ .block_len = 700, .strong_len = 20, .alg = .sha1, .seed = 0, .seed_order = .prepend };
    try testing.expectEqual(@as(usize, 1), table("hello", unseeded, &out));
    _ = try std.fmt.hexToBytes(&want, "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
    try testing.expectEqualSlices(u8, &want, out[4..24]);
}

/// The strong sum computed the long way: seed bytes concatenated to a copy.
fn expectedStrong(block: []const u8, alg: Alg, seed: i32, order: SeedOrder) [hasher.max_digest_length]u8 {
    var out: [hasher.max_digest_length]u8 = undefined;
    switch (alg) {
        .xxh64, .xxh3_64, .xxh3_128 => _ = hasher.hash(alg, block, @bitCast(@as(i64, seed)), &out),
        else => {
            var buf: [800]u8 = undefined;
            var le: [4]u8 = undefined;
            std.mem.writeInt(i32, &le, seed, .little);
            const joined: []const u8 = if (seed == 0) block else switch (order) {
                .append => std.fmt.bufPrint(&buf, "{s}{s}", .{ block, &le }) catch unreachable,
                .prepend => std.fmt.bufPrint(&buf, "{s}{s}", .{ &le, block }) catch unreachable,
            };
            _ = hasher.hash(alg, joined, 0, &out);
        },
    }
    return out;
}

test "block table layout, short last block, truncated strong sums" {
    var data: [2500]u8 = undefined;
    var prng = std.Random.DefaultPrng.init(9);
    prng.random().bytes(&data);
    for ([_]Alg{ .md4_busted, .md4, .md5, .xxh64, .xxh3_64, .xxh3_128, .sha1 }) |alg| {
        for ([_]i32{ 0, -5, 0x7fff_ffff }) |seed| {
            for ([_]SeedOrder{ .append, .prepend }) |order| {
                const p = Params.fromRaw(700, 3, @intFromEnum(alg), seed, @intFromEnum(order)).?;
                var out: [4 * 7]u8 = undefined;
                try testing.expectEqual(@as(usize, 4), table(&data, p, &out));
                for (0..4) |i| {
                    const block = data[i * 700 .. @min(i * 700 + 700, data.len)];
                    const entry = out[i * 7 ..][0..7];
                    try testing.expectEqual(rolling.checksumScalar(block), std.mem.readInt(u32, entry[0..4], .little));
                    const want = expectedStrong(block, alg, seed, order);
                    try testing.expectEqualSlices(u8, want[0..3], entry[4..7]);
                }
            }
        }
    }
    try testing.expectEqual(@as(usize, 0), Params.fromRaw(700, 3, 5, 0, 0).?.blockCount(0));
}

test "block parameter validation" {
    try testing.expect(Params.fromRaw(0, 16, 5, 0, 0) == null);
    try testing.expect(Params.fromRaw(700, 0, 5, 0, 0) == null);
    try testing.expect(Params.fromRaw(700, 17, 5, 0, 0) == null);
    try testing.expect(Params.fromRaw(700, 20, 9, 0, 1) != null);
    try testing.expect(Params.fromRaw(700, 21, 9, 0, 1) == null);
    try testing.expect(Params.fromRaw(700, 9, 6, 0, 0) == null);
    try testing.expect(Params.fromRaw(700, 8, 6, 0, 0) != null);
    try testing.expect(Params.fromRaw(700, 16, 3, 0, 0) == null);
    try testing.expect(Params.fromRaw(700, 16, 5, 0, 2) == null);
}
