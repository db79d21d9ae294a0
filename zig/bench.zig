//! Throughput benchmark of the native core; not part of the build.
//!   .tools/py/ziglang/zig run -O ReleaseFast -mcpu x86_64_v3 zig/bench.zig
//!   .tools/py/ziglang/zig run -O ReleaseFast -mcpu baseline  zig/bench.zig
//! Prints MB/s (10^6 bytes per second), best of several rounds.
const std = @import("std");
const rolling = @import("rolling.zig");
const hasher = @import("hasher.zig");
const block_sums = @import("block_sums.zig");

const big_len = 1 << 20;
const min_ns_per_round = 100 * std.time.ns_per_ms;

/// Best-of-5 throughput of `work(ctx)`, which processes `bytes` per call.
fn measure(bytes: usize, ctx: anytype, comptime work: fn (@TypeOf(ctx)) void) !f64 {
    var best: f64 = 0;
    for (0..5) |_| {
        var timer = try std.time.Timer.start();
        var calls: usize = 0;
        while (timer.read() < min_ns_per_round) {
            for (0..16) |_| work(ctx);
            calls += 16;
        }
        const ns: f64 = @floatFromInt(timer.read());
        best = @max(best, @as(f64, @floatFromInt(bytes * calls)) * 1e3 / ns);
    }
    return best;
}

const Slice = struct { data: []const u8 };

fn rollingWork(c: Slice) void {
    std.mem.doNotOptimizeAway(rolling.checksum(c.data));
}

const HashCtx = struct { alg: hasher.Alg, data: []const u8, block: usize };

fn hashWork(c: HashCtx) void {
    var out: [16]u8 = undefined;
    var i: usize = 0;
    while (i < c.data.len) : (i += c.block) {
        _ = hasher.hash(c.alg, c.data[i..@min(i + c.block, c.data.len)], 0, &out);
        std.mem.doNotOptimizeAway(&out);
    }
}

fn streamWork(c: HashCtx) void {
    var h = hasher.Hasher.init(c.alg, 0);
    var i: usize = 0;
    while (i < c.data.len) : (i += c.block) h.update(c.data[i..@min(i + c.block, c.data.len)]);
    var out: [16]u8 = undefined;
    std.mem.doNotOptimizeAway(h.final(&out));
}

const SumsCtx = struct { p: block_sums.Params, data: []const u8, out: []u8 };

fn sumsWork(c: SumsCtx) void {
    std.mem.doNotOptimizeAway(block_sums.table(c.data, c.p, c.out));
}

pub fn main() !void {
    const alloc = std.heap.page_allocator;
    const data = try alloc.alloc(u8, big_len);
    defer alloc.free(data);
    var prng = std.Random.DefaultPrng.init(1);
    prng.random().bytes(data);
    const out = try alloc.alloc(u8, (big_len / 700 + 1) * 20);
    defer alloc.free(out);

    var stdout_buf: [4096]u8 = undefined;
    var w = std.fs.File.stdout().writerStreaming(&stdout_buf);
    const o = &w.interface;

    try o.print("rolling checksum (MB/s)\n", .{});
    for ([_]usize{ 700, 1024, 4096, 65536, big_len }) |n| {
        try o.print("  {d:>8} B  {d:>8.0}\n", .{ n, try measure(n, Slice{ .data = data[0..n] }, rollingWork) });
    }
    try o.flush();

    const algs = [_]hasher.Alg{ .md4, .md5, .xxh64, .xxh3_64, .xxh3_128 };
    try o.print("hash (MB/s)          1 MiB   700 B blocks   1 MiB streamed in 64 KiB updates\n", .{});
    for (algs) |alg| {
        const whole = try measure(big_len, HashCtx{ .alg = alg, .data = data, .block = big_len }, hashWork);
        const small = try measure(big_len, HashCtx{ .alg = alg, .data = data, .block = 700 }, hashWork);
        const streamed = try measure(big_len, HashCtx{ .alg = alg, .data = data, .block = 65536 }, streamWork);
        try o.print("  {s:<10} {d:>10.0} {d:>10.0} {d:>10.0}\n", .{ @tagName(alg), whole, small, streamed });
        try o.flush();
    }

    try o.print("block_sums, 1 MiB in 700 B blocks (MB/s)\n", .{});
    for (algs) |alg| {
        for ([_]i32{ 0, 0x12345678 }) |seed| {
            const p = block_sums.Params.fromRaw(700, @intCast(alg.digestLength()), @intFromEnum(alg), seed, 0).?;
            const r = try measure(big_len, SumsCtx{ .p = p, .data = data, .out = out }, sumsWork);
            try o.print("  {s:<10} seed={x:<8} {d:>10.0}\n", .{ @tagName(alg), seed, r });
            try o.flush();
        }
    }
}
