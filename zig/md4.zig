//! MD4 (RFC 1320) and rsync's pre-protocol-27 "busted" MD4 (see md_block.zig).
const std = @import("std");
const md_block = @import("md_block.zig");

pub const digest_length = md_block.digest_length;
pub const Md4 = md_block.Digest(compress);

/// Message word index used by each of the 48 steps, and the shift amounts per round.
const word_order = [3][16]u8{
    .{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
    .{ 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15 },
    .{ 0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15 },
};
const shifts = [3][4]u5{ .{ 3, 7, 11, 19 }, .{ 3, 5, 9, 13 }, .{ 3, 9, 11, 15 } };
const round_constants = [3]u32{ 0, 0x5a827999, 0x6ed9eba1 };

fn compress(state: *[4]u32, block: *const [md_block.block_length]u8) void {
    const x = md_block.loadWords(block);
    // v[0..4] = a, b, c, d. Step s updates a, d, c, b in turn; p, q, r are
    // the other three in cyclic order, p being the one updated last. Each
    // step is written so that only one or two operations depend on p, the
    // value just computed: that chain is what bounds MD4's speed.
    var v = state.*;
    inline for (0..3) |round| {
        inline for (0..16) |step| {
            const t = (4 - step % 4) % 4;
            const p = v[(t + 1) % 4];
            const q = v[(t + 2) % 4];
            const r = v[(t + 3) % 4];
            var sum = md_block.opaqueValue(v[t] +% x[word_order[round][step]] +% round_constants[round]);
            switch (round) {
                0 => sum +%= r ^ (p & (q ^ r)), // p ? q : r
                // majority(p, q, r) as two disjoint bit sets, one without p
                1 => sum = (sum +% (q & r)) +% (p & (q ^ r)),
                else => sum +%= p ^ (q ^ r),
            }
            v[t] = std.math.rotl(u32, sum, shifts[round][step % 4]);
        }
    }
    for (state, v) |*s, n| s.* +%= n;
}

const testing = std.testing;

fn expectMd4(input: []const u8, busted: bool, hex: *const [32]u8) !void {
    var out: [digest_length]u8 = undefined;
    Md4.hash(input, busted, &out);
    try testing.expectEqualSlices(u8, &(try hexBytes(hex)), &out);
}

fn hexBytes(hex: *const [32]u8) ![16]u8 {
    var out: [16]u8 = undefined;
    _ = try std.fmt.hexToBytes(&out, hex);
    return out;
}

test "md4 RFC 1320 vectors" {
    try expectMd4("", false, "31d6cfe0d16ae931b73c59d7e0c089c0");
    try expectMd4("a", false, "bde52cb31de33e46245e05fbdbd6fb24");
    try expectMd4("abc", false, "a448017aaf21d8525fc10ae87aa6729d");
    try expectMd4("message digest", false, "d9130a8164549fe818874806e1c7014b");
    try expectMd4("abcdefghijklmnopqrstuvwxyz", false, "d79e1c308aa5bbcdeea8ed63df412da9");
    try expectMd4("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", false, "043f8582f241db351ce627e153e7f0e4");
    try expectMd4("12345678901234567890123456789012345678901234567890123456789012345678901234567890", false, "e33b4ddc9c38f2199c3e7b164fcc0536");
    try expectMd4("hello", false, "866437cb7a794bce2b727acc0362ee27");
}

test "md4 busted: same as md4 unless the length is a multiple of 64" {
    try expectMd4("hello", true, "866437cb7a794bce2b727acc0362ee27");
    try expectMd4("abc", true, "a448017aaf21d8525fc10ae87aa6729d");
    // Empty input: no block at all, the digest is the initial state.
    try expectMd4("", true, "0123456789abcdeffedcba9876543210");

    var data: [200]u8 = undefined;
    for (&data, 0..) |*b, i| b.* = @truncate(i *% 37 +% 11);
    for ([_]usize{ 1, 55, 56, 63, 65, 119, 120, 127, 199 }) |len| {
        var a: [16]u8 = undefined;
        var b: [16]u8 = undefined;
        Md4.hash(data[0..len], false, &a);
        Md4.hash(data[0..len], true, &b);
        try testing.expectEqualSlices(u8, &a, &b);
    }
    // Multiple of 64: the state after the data blocks only.
    for ([_]usize{ 64, 128, 192 }) |len| {
        var expected = md_block.initial_state;
        var i: usize = 0;
        while (i < len) : (i += 64) compress(&expected, data[i..][0..64]);
        var out: [16]u8 = undefined;
        Md4.hash(data[0..len], true, &out);
        for (expected, 0..) |w, k| try testing.expectEqual(w, std.mem.readInt(u32, out[k * 4 ..][0..4], .little));
    }
}

test "md4 streaming equals one-shot" {
    var data: [1000]u8 = undefined;
    var prng = std.Random.DefaultPrng.init(4);
    prng.random().bytes(&data);
    for ([_]bool{ false, true }) |busted| {
        for ([_]usize{ 0, 64, 128, 999, 1000 }) |len| {
            var one: [16]u8 = undefined;
            Md4.hash(data[0..len], busted, &one);
            for (0..20) |_| {
                var h = Md4.init(busted);
                var rest: []const u8 = data[0..len];
                while (rest.len > 0) {
                    const n = prng.random().uintAtMost(usize, @min(rest.len, 130));
                    h.update(rest[0..n]);
                    rest = rest[n..];
                }
                var two: [16]u8 = undefined;
                h.final(&two);
                try testing.expectEqualSlices(u8, &one, &two);
            }
        }
    }
}

test "md4 busted: only the low 32 bits of the bit count are appended" {
    // 2^29 bytes = 2^32 bits: invisible to the busted tail, not to MD4's.
    // Faked by bumping the byte count (a multiple of 64 leaves the buffer as is).
    var busted = Md4.init(true);
    var standard = Md4.init(false);
    busted.update("hello");
    standard.update("hello");
    busted.total_len += 1 << 29;
    standard.total_len += 1 << 29;
    var a: [16]u8 = undefined;
    var b: [16]u8 = undefined;
    busted.final(&a);
    standard.final(&b);
    try testing.expectEqualSlices(u8, &(try hexBytes("866437cb7a794bce2b727acc0362ee27")), &a);
    try testing.expect(!std.mem.eql(u8, &a, &b));
}
