//! XXH3 against reference values produced by C xxHash 0.8.4 (test_vectors.zig)
//! for every size class and boundary, several seeds, one-shot and streaming.
const std = @import("std");
const xxh3 = @import("xxh3.zig");
const tv = @import("test_vectors.zig");
const testing = std.testing;

const testInput = tv.testInput;

fn maxLen() usize {
    var m: usize = 0;
    for (tv.vectors) |v| m = @max(m, v.len);
    return m;
}

test "xxh3 one-shot matches reference across size classes and seeds" {
    const data = try testing.allocator.alloc(u8, maxLen());
    defer testing.allocator.free(data);
    testInput(data);
    for (tv.vectors) |v| {
        const in = data[0..v.len];
        errdefer std.debug.print("len={d} seed=0x{x}\n", .{ v.len, v.seed });
        try testing.expectEqual(v.xxh3, xxh3.hash64(in, v.seed));
        const h = xxh3.hash128(in, v.seed);
        try testing.expectEqual(v.xxh128_low, h.low);
        try testing.expectEqual(v.xxh128_high, h.high);

        const seeded = xxh3.Seeded.init(v.seed);
        try testing.expectEqual(v.xxh3, seeded.hash64(in));
        const h2 = seeded.hash128(in);
        try testing.expectEqual(v.xxh128_low, h2.low);
        try testing.expectEqual(v.xxh128_high, h2.high);
    }
}

test "xxh3 streaming equals reference for any split" {
    const data = try testing.allocator.alloc(u8, maxLen());
    defer testing.allocator.free(data);
    testInput(data);
    var prng = std.Random.DefaultPrng.init(0x3333);
    const rand = prng.random();
    for (tv.vectors) |v| {
        const in = data[0..v.len];
        errdefer std.debug.print("len={d} seed=0x{x}\n", .{ v.len, v.seed });
        const tries: usize = if (v.len > 100_000) 2 else 6;
        for (0..tries) |t| {
            var s = xxh3.Stream.init(v.seed);
            var rest: []const u8 = in;
            // Alternate tiny pieces, stripe-sized pieces and huge pieces.
            const max_piece: usize = switch (t % 3) {
                0 => 7,
                1 => 300,
                else => 5000,
            };
            while (rest.len > 0) {
                const n = rand.uintAtMost(usize, @min(rest.len, max_piece));
                s.update(rest[0..n]);
                rest = rest[n..];
            }
            try testing.expectEqual(v.xxh3, s.final64());
            const h = s.final128();
            try testing.expectEqual(v.xxh128_low, h.low);
            try testing.expectEqual(v.xxh128_high, h.high);
        }
        // Whole input in one update, and final called twice (final is read-only).
        var s = xxh3.Stream.init(v.seed);
        s.update(in);
        try testing.expectEqual(v.xxh3, s.final64());
        try testing.expectEqual(v.xxh3, s.final64());
    }
}

test "xxh3 streaming: every split point of a multi-block input" {
    var data: [2 * 1024 + 130]u8 = undefined;
    testInput(&data);
    for ([_]usize{ 241, 256, 257, 1024, 1025, data.len }) |len| {
        const want = xxh3.hash128(data[0..len], 77);
        for (0..len + 1) |cut| {
            var s = xxh3.Stream.init(77);
            s.update(data[0..cut]);
            s.update(data[cut..len]);
            const got = s.final128();
            try testing.expectEqual(want.low, got.low);
            try testing.expectEqual(want.high, got.high);
        }
    }
}
