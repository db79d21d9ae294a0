//! The sender's block matcher (upstream match.c build_hash_table,
//! hash_search, matched): finds the receiver's basis blocks in the new data
//! with the rolling checksum, confirms candidates with the strong sum, and
//! emits ops with upstream's choices, so the token stream (and the literal /
//! matched totals) equals upstream's:
//!   - the hash table has about 80% load for big files (at least 2^16 slots),
//!   - chains are searched newest block first,
//!   - the block after the previous match wins when it matches too,
//!   - a literal run longer than a block plus CHUNK_SIZE is flushed early.
//! The TypeScript twin is src/native/ts/matcher.ts; both emit pairs
//! (block index, length) with block -1 for a literal run.
const std = @import("std");
const rolling = @import("rolling.zig");
const block_sums = @import("block_sums.zig");
const hasher = @import("hasher.zig");

/// Upstream's CHUNK_SIZE (the longest literal token).
pub const chunk_size: usize = 32 * 1024;
const traditional_tablesize: usize = 1 << 16;

/// The receiver's sum head and the session's strong-sum settings, as passed from TypeScript.
pub const Params = extern struct {
    count: u32,
    block_len: u32,
    remainder: u32,
    strong_len: u32,
    alg: u32,
    seed: i32,
    seed_order: u32,
    /// --inplace: blocks behind the write position are gone from the receiver's basis.
    updating_basis: u32,
};

pub const Error = error{ NoSpace, OutOfMemory, BadParams };

const Ops = struct {
    out: []f64,
    n: usize = 0,
    last_match: usize = 0,

    fn push(self: *Ops, block: i64, len: usize) Error!void {
        if (self.n + 2 > self.out.len) return error.NoSpace;
        self.out[self.n] = @floatFromInt(block);
        self.out[self.n + 1] = @floatFromInt(len);
        self.n += 2;
    }

    /// matched(): the literal bytes since the last match, then block `i`
    /// (i < 0: only the literal run, as a flush or at the end).
    fn matched(self: *Ops, offset: usize, i: i64, block_len: usize) Error!void {
        if (offset > self.last_match) try self.push(-1, offset - self.last_match);
        if (i >= 0) try self.push(i, block_len);
        self.last_match = offset + if (i >= 0) block_len else 0;
    }
};

const Blocks = struct {
    sums: []const u8,
    p: Params,
    stride: usize,

    fn sum1(self: Blocks, i: usize) u32 {
        return std.mem.readInt(u32, self.sums[i * self.stride ..][0..4], .little);
    }
    fn strong(self: Blocks, i: usize) []const u8 {
        return self.sums[i * self.stride + 4 ..][0..self.p.strong_len];
    }
    fn len(self: Blocks, i: usize) usize {
        return if (i == self.p.count - 1 and self.p.remainder != 0) self.p.remainder else self.p.block_len;
    }
    fn offset(self: Blocks, i: usize) usize {
        return i * @as(usize, self.p.block_len);
    }
};

/// Writes the ops for `data` into `out` (pairs of f64); returns the number of f64 written.
pub fn match(data: []const u8, sums: []const u8, p: Params, out: []f64, allocator: std.mem.Allocator) Error!usize {
    var ops = Ops{ .out = out };
    const len = data.len;
    if (len == 0 or p.count == 0) {
        var j: usize = chunk_size;
        while (j < len) : (j += chunk_size) try ops.matched(j, -2, 0);
        try ops.matched(len, -1, 0);
        return ops.n;
    }
    const sp = block_sums.Params.fromRaw(p.block_len, p.strong_len, p.alg, p.seed, p.seed_order) orelse return error.BadParams;
    const b = Blocks{ .sums = sums, .p = p, .stride = 4 + @as(usize, p.strong_len) };
    if (sums.len < p.count * b.stride) return error.BadParams;
    const summer = block_sums.Summer.init(sp);

    var tablesize: usize = (p.count / 8) * 10 + 11;
    if (tablesize < traditional_tablesize) tablesize = traditional_tablesize;
    const traditional = tablesize == traditional_tablesize;
    const table = try allocator.alloc(i32, tablesize);
    defer allocator.free(table);
    const chain = try allocator.alloc(i32, p.count);
    defer allocator.free(chain);
    @memset(table, -1);
    const hashOf = struct {
        fn f(sum: u32, size: usize, trad: bool) usize {
            return if (trad) ((sum & 0xffff) +% (sum >> 16)) & 0xffff else sum % size;
        }
    }.f;
    for (0..p.count) |i| {
        const t = hashOf(b.sum1(i), tablesize, traditional);
        chain[i] = table[t];
        table[t] = @intCast(i);
    }

    const blength: usize = p.block_len;
    const updating = p.updating_basis != 0;
    var k: usize = @min(len, blength);
    var sum = rolling.checksum(data[0..k]);
    var s1: u32 = sum & 0xffff;
    var s2: u32 = sum >> 16;
    var want_i: usize = 0;
    // May be <= 0 (data shorter than the last block): the loop still looks once, as upstream's do-while does.
    const end: i64 = @as(i64, @intCast(len)) + 1 - @as(i64, @intCast(b.len(p.count - 1)));
    var offset: usize = 0;
    var digest: [hasher.max_digest_length]u8 = undefined;
    while (true) {
        sum = (s1 & 0xffff) | (s2 << 16);
        var i: i32 = table[hashOf(sum, tablesize, traditional)];
        var have_strong = false;
        while (i >= 0) : (i = chain[@intCast(i)]) {
            var bi: usize = @intCast(i);
            if (updating and b.offset(bi) < offset) continue;
            if (sum != b.sum1(bi)) continue;
            const l = @min(blength, len - offset);
            if (l != b.len(bi)) continue;
            if (!have_strong) {
                summer.strongSum(data[offset..][0..l], &digest);
                have_strong = true;
            }
            const strong = digest[0..p.strong_len];
            if (!std.mem.eql(u8, strong, b.strong(bi))) continue;
            // The block after the previous match is better still: the receiver copies runs.
            if (bi != want_i and want_i < p.count and (!updating or b.offset(want_i) >= offset) and
                sum == b.sum1(want_i) and std.mem.eql(u8, strong, b.strong(want_i)))
            {
                bi = want_i;
            }
            want_i = bi + 1;
            try ops.matched(offset, @intCast(bi), b.len(bi));
            offset += b.len(bi) - 1;
            k = @min(blength, len - offset);
            const restart = rolling.checksum(data[offset..][0..k]);
            s1 = restart & 0xffff;
            s2 = restart >> 16;
            break;
        }
        // Roll the window one byte on (bytes are signed chars, sums wrap at 2^32).
        const backup: usize = if (offset > ops.last_match) offset - ops.last_match else 0;
        const more = offset + k < len;
        const first: u32 = @bitCast(@as(i32, @as(i8, @bitCast(data[offset]))));
        s1 -%= first;
        s2 -%= @as(u32, @truncate(k)) *% first;
        if (more) {
            s1 +%= @bitCast(@as(i32, @as(i8, @bitCast(data[offset + k]))));
            s2 +%= s1;
        } else k -= 1;
        // A literal run this long goes out now, in pieces, rather than after the next match.
        const ahead: i64 = end - @as(i64, @intCast(offset));
        if (backup >= blength + chunk_size and ahead > chunk_size) try ops.matched(offset - blength, -2, 0);
        offset += 1;
        if (@as(i64, @intCast(offset)) >= end) break;
    }
    try ops.matched(len, -1, 0);
    return ops.n;
}

/// f64 slots `out` needs for `len` bytes of data against blocks of `block_len`.
pub fn capacity(len: usize, block_len: usize) usize {
    const bl = @max(block_len, 1);
    return 2 * (len / bl + len / chunk_size + 4);
}

const testing = std.testing;

fn rebuild(basis: []const u8, data: []const u8, block_len: u32, updating: bool) !void {
    const count: u32 = @intCast(std.math.divCeil(usize, basis.len, block_len) catch unreachable);
    const strong_len: u32 = 16;
    const sums = try testing.allocator.alloc(u8, count * (4 + strong_len));
    defer testing.allocator.free(sums);
    _ = block_sums.table(basis, block_sums.Params.fromRaw(block_len, strong_len, 5, 99, 1).?, sums);
    const p = Params{ .count = count, .block_len = block_len, .remainder = @intCast(basis.len % block_len), .strong_len = strong_len, .alg = 5, .seed = 99, .seed_order = 1, .updating_basis = @intFromBool(updating) };
    const out = try testing.allocator.alloc(f64, capacity(data.len, block_len));
    defer testing.allocator.free(out);
    const n = try match(data, sums, p, out, testing.allocator);
    var rebuilt = std.ArrayList(u8){};
    defer rebuilt.deinit(testing.allocator);
    var at: usize = 0;
    var idx: usize = 0;
    while (idx < n) : (idx += 2) {
        const block: i64 = @intFromFloat(out[idx]);
        const l: usize = @intFromFloat(out[idx + 1]);
        if (block < 0) {
            try rebuilt.appendSlice(testing.allocator, data[at..][0..l]);
        } else {
            const from = @as(usize, @intCast(block)) * block_len;
            if (updating) try testing.expect(from >= at);
            try rebuilt.appendSlice(testing.allocator, basis[from..][0..l]);
        }
        at += l;
    }
    try testing.expectEqualSlices(u8, data, rebuilt.items);
}

test "ops rebuild edited data from its basis" {
    var prng = std.Random.DefaultPrng.init(42);
    const r = prng.random();
    var basis: [20_000]u8 = undefined;
    for (&basis) |*c| c.* = r.intRangeAtMost(u8, 0, 3);
    var data: [20_100]u8 = undefined;
    @memcpy(data[0..5000], basis[0..5000]);
    @memcpy(data[5000..5100], basis[19_000..19_100]);
    @memcpy(data[5100..], basis[5000..]);
    for ([_]u32{ 16, 100, 700 }) |bl| {
        try rebuild(&basis, &data, bl, false);
        try rebuild(&basis, &data, bl, true);
        try rebuild(&basis, &basis, bl, false);
    }
    try rebuild(&basis, "", 700, false);
    // Data shorter than the basis's only (short) block.
    try rebuild(basis[0..3], basis[0..1], 700, false);
}
