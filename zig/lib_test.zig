//! Tests through the C ABI exactly as the TypeScript side calls it.
const std = @import("std");
const lib = @import("lib.zig");
const testing = std.testing;

extern fn oc_abi_version() u32;
extern fn oc_simd_level() u32;
extern fn oc_cpu_supports_v3() u32;
extern fn oc_io_uring_probe() i32;
extern fn oc_rolling_checksum(buf: ?[*]const u8, len: u64) u32;
extern fn oc_hash(alg: u32, buf: ?[*]const u8, len: u64, seed: i64, out: [*]u8) i32;
extern fn oc_hash_state_size() u32;
extern fn oc_hash_init(state: [*]u8, alg: u32, seed: i64) i32;
extern fn oc_hash_update(state: [*]u8, buf: ?[*]const u8, len: u64) i32;
extern fn oc_hash_final(state: [*]u8, out: [*]u8) i32;
extern fn oc_block_sums(buf: ?[*]const u8, len: u64, block_len: u32, strong_len: u32, alg: u32, seed: i32, seed_order: u32, out: ?[*]u8) i64;
extern fn oc_lz4_compress(src: ?[*]const u8, src_len: u64, dst: ?[*]u8, dst_cap: u64) i64;
extern fn oc_lz4_decompress(src: ?[*]const u8, src_len: u64, dst: ?[*]u8, dst_cap: u64) i64;
extern fn oc_scan_dir(path: ?[*]const u8, path_len: u64, out: [*]u8, out_cap: u64) i64;
extern fn oc_scan_fd(fd: i32, out: [*]u8, out_cap: u64) i64;
extern fn oc_scan_prefetch(buf: ?[*]const u8, len: u64) void;
extern fn oc_scan_end() void;

fn hex(comptime s: []const u8) [s.len / 2]u8 {
    var out: [s.len / 2]u8 = undefined;
    _ = std.fmt.hexToBytes(&out, s) catch unreachable;
    return out;
}

test "abi basics" {
    try testing.expectEqual(@as(u32, 12), oc_abi_version());
    try testing.expect(oc_simd_level() <= 3);
    try testing.expect(oc_cpu_supports_v3() <= 1);
    const r = oc_io_uring_probe();
    try testing.expect(r == 1 or r < 0);
}

test "abi rolling checksum" {
    try testing.expectEqual(@as(u32, 0x06270214), oc_rolling_checksum("hello", 5));
    try testing.expectEqual(@as(u32, 0), oc_rolling_checksum("", 0));
    try testing.expectEqual(@as(u32, 0), oc_rolling_checksum(null, 0));
}

test "abi: NULL is accepted for empty inputs" {
    var out: [16]u8 = undefined;
    try testing.expectEqual(@as(i32, 16), oc_hash(5, null, 0, 0, &out));
    try testing.expectEqualSlices(u8, &hex("d41d8cd98f00b204e9800998ecf8427e"), &out);
    var mem: [4096]u8 align(8) = undefined;
    try testing.expectEqual(@as(i32, 0), oc_hash_init(&mem, 8, 0));
    try testing.expectEqual(@as(i32, 0), oc_hash_update(&mem, null, 0));
    try testing.expectEqual(@as(i32, 16), oc_hash_final(&mem, &out));
    try testing.expectEqual(@as(i64, 0), oc_block_sums(null, 0, 700, 16, 5, 0, 0, null));
    var block: [16]u8 = undefined;
    try testing.expectEqual(@as(i64, 1), oc_lz4_compress(null, 0, &block, block.len));
    try testing.expectEqual(@as(i64, 0), oc_lz4_compress(null, 0, null, 0));
    try testing.expectEqual(@as(i64, 0), oc_lz4_decompress(&block, 1, null, 0));
    try testing.expectEqual(@as(i64, -22), oc_lz4_decompress(null, 0, null, 0));
}

test "abi one-shot hash: vectors, lengths, bad ids" {
    var out: [20]u8 = undefined;
    try testing.expectEqual(@as(i32, 16), oc_hash(8, "hello", 5, 0, &out));
    try testing.expectEqualSlices(u8, &hex("1838525eaacf79c77f3e1b07adc1e9b5"), out[0..16]);
    try testing.expectEqual(@as(i32, 16), oc_hash(8, "hello", 5, @as(i32, @bitCast(@as(u32, 0x87654321))), &out));
    try testing.expectEqualSlices(u8, &hex("cb85e4cb5f22fb45ff16a78a1fcc2109"), out[0..16]);
    try testing.expectEqual(@as(i32, 8), oc_hash(6, "hello", 5, @as(i32, @bitCast(@as(u32, 0x87654321))), &out));
    try testing.expectEqualSlices(u8, &hex("1e1084af43e2b9e9"), out[0..8]);
    try testing.expectEqual(@as(i32, 8), oc_hash(7, "hello", 5, 0x12345678, &out));
    try testing.expectEqualSlices(u8, &hex("4bf3a1e79906d2f6"), out[0..8]);
    try testing.expectEqual(@as(i32, 16), oc_hash(4, "hello", 5, 0, &out));
    try testing.expectEqualSlices(u8, &hex("866437cb7a794bce2b727acc0362ee27"), out[0..16]);
    try testing.expectEqual(@as(i32, 16), oc_hash(5, "hello", 5, 0, &out));
    try testing.expectEqualSlices(u8, &hex("5d41402abc4b2a76b9719d911017c592"), out[0..16]);
    try testing.expectEqual(@as(i32, 16), oc_hash(2, "", 0, 0, &out));
    try testing.expectEqualSlices(u8, &hex("0123456789abcdeffedcba9876543210"), out[0..16]);
    // SHA1 (CSUM_SHA1 = 9): 20 bytes, the seed ignored.
    try testing.expectEqual(@as(i32, 20), oc_hash(9, "abc", 3, 0x12345678, &out));
    try testing.expectEqualSlices(u8, &hex("a9993e364706816aba3e25717850c26c9cd0d89d"), &out);
    for ([_]u32{ 0, 1, 3, 10, 11, 255 }) |bad| try testing.expectEqual(@as(i32, -22), oc_hash(bad, "x", 1, 0, &out));
}

test "abi streaming state: 8-byte (not 16-byte) aligned memory, any split" {
    const size = oc_hash_state_size();
    try testing.expect(size >= 256);
    // Offset 8 into a 64-aligned buffer: aligned to 8 but to nothing larger.
    var mem: [4096]u8 align(64) = undefined;
    const state: [*]u8 = mem[8..].ptr;
    try testing.expect(size + 8 <= mem.len);

    var data: [5000]u8 = undefined;
    var prng = std.Random.DefaultPrng.init(21);
    const rand = prng.random();
    rand.bytes(&data);
    for ([_]u32{ 2, 4, 5, 6, 7, 8, 9 }) |alg| {
        for ([_]usize{ 0, 3, 64, 200, 241, 1024, 5000 }) |len| {
            const seed: i64 = @bitCast(rand.int(u64));
            var one: [20]u8 = undefined;
            const n = oc_hash(alg, &data, len, seed, &one);
            try testing.expectEqual(@as(i32, 0), oc_hash_init(state, alg, seed));
            var done: usize = 0;
            while (done < len) {
                const k = rand.uintAtMost(usize, len - done);
                try testing.expectEqual(@as(i32, 0), oc_hash_update(state, data[done..].ptr, k));
                done += k;
            }
            var two: [20]u8 = undefined;
            try testing.expectEqual(n, oc_hash_final(state, &two));
            try testing.expectEqualSlices(u8, one[0..@intCast(n)], two[0..@intCast(n)]);
        }
    }
    try testing.expectEqual(@as(i32, -22), oc_hash_init(state, 3, 0));
    // A zeroed (never initialised) state is refused, not misread.
    @memset(mem[8..][0..size], 0);
    var out: [16]u8 = undefined;
    try testing.expectEqual(@as(i32, -22), oc_hash_update(state, &data, 10));
    try testing.expectEqual(@as(i32, -22), oc_hash_final(state, &out));
}

test "abi block sums" {
    var out: [64]u8 = undefined;
    try testing.expectEqual(@as(i64, 1), oc_block_sums("hello", 5, 700, 16, 4, 0x12345678, 0, &out));
    try testing.expectEqualSlices(u8, &hex("14022706034e6d10ba4bec94f3fef93c5d605a5a"), out[0..20]);
    try testing.expectEqual(@as(i64, 1), oc_block_sums("hello", 5, 700, 16, 5, 0x12345678, 1, &out));
    try testing.expectEqualSlices(u8, &hex("d4d331d866dc9b1ef0bf09eb7302fb5f"), out[4..20]);
    try testing.expectEqual(@as(i64, 1), oc_block_sums("hello", 5, 700, 16, 5, 0x12345678, 0, &out));
    try testing.expectEqualSlices(u8, &hex("ca37b2aa88a4247fe3f27ab882157746"), out[4..20]);
    // SHA1: seed bytes first, all 20 digest bytes kept; no more than 20.
    try testing.expectEqual(@as(i64, 1), oc_block_sums("hello", 5, 700, 20, 9, 0x12345678, 1, &out));
    try testing.expectEqualSlices(u8, &hex("1dd38cd76902cad3650b194ba787a3202aa87d6d"), out[4..24]);
    try testing.expectEqual(@as(i64, -22), oc_block_sums("hello", 5, 700, 21, 9, 0x12345678, 1, &out));

    // 5 bytes in blocks of 2: three entries, the last over one byte.
    try testing.expectEqual(@as(i64, 3), oc_block_sums("hello", 5, 2, 2, 5, 0, 0, &out));
    try testing.expectEqual(oc_rolling_checksum("o", 1), std.mem.readInt(u32, out[12..16], .little));
    try testing.expectEqual(@as(i64, 0), oc_block_sums("", 0, 700, 2, 5, 0, 0, &out));

    try testing.expectEqual(@as(i64, -22), oc_block_sums("hello", 5, 0, 16, 5, 0, 0, &out));
    try testing.expectEqual(@as(i64, -22), oc_block_sums("hello", 5, 700, 0, 5, 0, 0, &out));
    try testing.expectEqual(@as(i64, -22), oc_block_sums("hello", 5, 700, 17, 5, 0, 0, &out));
    try testing.expectEqual(@as(i64, -22), oc_block_sums("hello", 5, 700, 9, 7, 0, 0, &out));
    try testing.expectEqual(@as(i64, -22), oc_block_sums("hello", 5, 700, 16, 1, 0, 0, &out));
    try testing.expectEqual(@as(i64, -22), oc_block_sums("hello", 5, 700, 16, 5, 0, 7, &out));
}

test "abi lz4: round trip, errors as negative errno" {
    const text = "the quick brown fox jumps over the quick brown fox and the lazy dog";
    var block: [128]u8 = undefined;
    const n = oc_lz4_compress(text, text.len, &block, block.len);
    try testing.expect(n > 0 and n < text.len);
    var out: [text.len]u8 = undefined;
    try testing.expectEqual(@as(i64, text.len), oc_lz4_decompress(&block, @intCast(n), &out, out.len));
    try testing.expectEqualSlices(u8, text, &out);
    try testing.expectEqual(@as(i64, 0), oc_lz4_compress(text, text.len, &block, 10));
    try testing.expectEqual(@as(i64, -28), oc_lz4_decompress(&block, @intCast(n), &out, out.len - 1));
    try testing.expectEqual(@as(i64, -22), oc_lz4_decompress("\x50ab", 3, &out, out.len));
}

test "abi scan: errno of the directory, -ENOSPC with the size needed, then the kept result" {
    var out: [8]u8 = undefined;
    try testing.expectEqual(@as(i64, -2), oc_scan_dir("/nonexistent-oc-rsync", 21, &out, out.len));
    try testing.expectEqual(@as(i64, -20), oc_scan_dir("/dev/null", 9, &out, out.len));
    try testing.expectEqual(@as(i64, -22), oc_scan_dir("/", 1, &out, 4));
    try testing.expectEqual(@as(i64, -28), oc_scan_dir("/", 1, &out, out.len));
    const need = std.mem.readInt(u64, &out, .little);
    try testing.expect(need > 8);
    const big = try testing.allocator.alloc(u8, need);
    defer testing.allocator.free(big);
    try testing.expectEqual(@as(i64, @intCast(need)), oc_scan_dir("/", 1, big.ptr, big.len));
    // Hints are taken in any number, including none and empty paths.
    oc_scan_prefetch(null, 0);
    oc_scan_prefetch("/\x00\x00/dev\x00", 8);
    var dev: [1 << 16]u8 = undefined;
    try testing.expect(oc_scan_dir("/dev", 4, &dev, dev.len) > 8);
    oc_scan_end();
}

test "abi scan_fd: the open directory's scan, as oc_scan_dir gives it, and its retry" {
    const linux = std.os.linux;
    const fd: i32 = @intCast(linux.open("/dev", .{ .ACCMODE = .RDONLY, .DIRECTORY = true, .CLOEXEC = true }, 0));
    defer _ = linux.close(fd);
    var small: [8]u8 = undefined;
    try testing.expectEqual(@as(i64, -28), oc_scan_fd(fd, &small, small.len));
    const need = std.mem.readInt(u64, &small, .little);
    const by_fd = try testing.allocator.alloc(u8, need);
    defer testing.allocator.free(by_fd);
    try testing.expectEqual(@as(i64, @intCast(need)), oc_scan_fd(fd, by_fd.ptr, by_fd.len));
    const by_path = try testing.allocator.alloc(u8, need);
    defer testing.allocator.free(by_path);
    try testing.expectEqual(@as(i64, @intCast(need)), oc_scan_dir("/dev", 4, by_path.ptr, by_path.len));
    try testing.expectEqualSlices(u8, by_path, by_fd);
    const file: i32 = @intCast(linux.open("/dev/null", .{ .ACCMODE = .RDONLY, .CLOEXEC = true }, 0));
    defer _ = linux.close(file);
    try testing.expectEqual(@as(i64, -20), oc_scan_fd(file, by_fd.ptr, by_fd.len));
    try testing.expectEqual(@as(i64, -9), oc_scan_fd(-1, by_fd.ptr, by_fd.len));
}

comptime {
    _ = lib;
}
