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

/// A matcher between windows: everything match.c keeps in locals while it
/// walks the file, so that the walk can stop where the caller's window of the
/// file ends and resume when the next window is read (upstream reads through
/// map_ptr's sliding window the same way). It lives at the start of a
/// caller-owned buffer, followed by the hash table and the chains
/// (stateSize bytes in all), so nothing is allocated between calls.
pub const State = extern struct {
    p: Params,
    /// The file's length (as fstat gave it when the file was opened).
    total_len: u64,
    /// The file offset of the window's first byte: the caller sets it before each step.
    base: u64,
    offset: u64,
    last_match: u64,
    want_i: u64,
    k: u64,
    s1: u32,
    s2: u32,
    phase: u32,
    tablesize: u32,
};

comptime {
    // src/native/native-core.ts reads and writes these fields by offset.
    std.debug.assert(@offsetOf(State, "base") == 40 and @offsetOf(State, "last_match") == 56 and @offsetOf(State, "phase") == 88);
    std.debug.assert(@sizeOf(State) % 8 == 0);
}

/// State.phase: no blocks to match (literal pieces only); the walk not begun;
/// walking; walked, the last literal run still to go; finished.
pub const phase_plain: u32 = 0;
pub const phase_start: u32 = 1;
pub const phase_walk: u32 = 2;
pub const phase_tail: u32 = 3;
pub const phase_done: u32 = 4;

fn tableSize(count: u32) usize {
    const size: usize = (count / 8) * 10 + 11;
    return @max(size, traditional_tablesize);
}

/// Bytes a State for `p` needs (header, hash table and chains), 8-aligned.
pub fn stateSize(p: Params) usize {
    return @sizeOf(State) + 4 * (tableSize(p.count) + p.count);
}

fn tableOf(buf: []align(8) u8, st: *const State) []i32 {
    const words: [*]i32 = @ptrCast(@alignCast(buf.ptr + @sizeOf(State)));
    return words[0..st.tablesize];
}

fn chainOf(buf: []align(8) u8, st: *const State) []i32 {
    const words: [*]i32 = @ptrCast(@alignCast(buf.ptr + @sizeOf(State)));
    return words[st.tablesize..][0..st.p.count];
}

fn hashOf(sum: u32, size: usize, trad: bool) usize {
    return if (trad) ((sum & 0xffff) +% (sum >> 16)) & 0xffff else sum % size;
}

/// Sets up a matcher in `buf` (stateSize(p) bytes) for a file of `total_len`
/// bytes against the block table `sums` (build_hash_table).
pub fn init(buf: []align(8) u8, sums: []const u8, p: Params, total_len: u64) Error!*State {
    if (buf.len < stateSize(p)) return error.NoSpace;
    const st: *State = @ptrCast(buf.ptr);
    st.* = .{ .p = p, .total_len = total_len, .base = 0, .offset = 0, .last_match = 0, .want_i = 0, .k = 0, .s1 = 0, .s2 = 0, .phase = phase_start, .tablesize = @intCast(tableSize(p.count)) };
    if (total_len == 0 or p.count == 0) {
        st.phase = phase_plain;
        st.offset = chunk_size;
        return st;
    }
    _ = block_sums.Params.fromRaw(p.block_len, p.strong_len, p.alg, p.seed, p.seed_order) orelse return error.BadParams;
    const stride = 4 + @as(usize, p.strong_len);
    if (sums.len < p.count * stride) return error.BadParams;
    const b = Blocks{ .sums = sums, .p = p, .stride = stride };
    const table = tableOf(buf, st);
    const chain = chainOf(buf, st);
    const traditional = st.tablesize == traditional_tablesize;
    @memset(table, -1);
    for (0..p.count) |i| {
        const t = hashOf(b.sum1(i), st.tablesize, traditional);
        chain[i] = table[t];
        table[t] = @intCast(i);
    }
    return st;
}

/// Walks on through `window` (the file's bytes from st.base, which must not be
/// past st.last_match: a later literal run starts there) as far as it holds
/// the bytes the walk reads (two blocks ahead, or up to the end of the file),
/// writing ops as pairs of f64 into `out`; returns the number written. Stops
/// early rather than overflow `out`; call again with more data (or, after an
/// early stop, the same) until st.phase is phase_done.
pub fn step(buf: []align(8) u8, sums: []const u8, window: []const u8, out: []f64) Error!usize {
    const st: *State = @ptrCast(buf.ptr);
    const p = st.p;
    const len: usize = @intCast(st.total_len);
    const base: usize = @intCast(st.base);
    if (base > st.last_match or base + window.len > len) return error.BadParams;
    const avail = base + window.len;
    const final = avail == len;
    var ops = Ops{ .out = out, .last_match = @intCast(st.last_match) };
    defer st.last_match = ops.last_match;

    if (st.phase == phase_plain) {
        var j: usize = @intCast(st.offset);
        while (j < len and j <= avail and ops.n + 2 <= out.len) : (j += chunk_size) try ops.matched(j, -2, 0);
        st.offset = j;
        if (final and j >= len and ops.n + 2 <= out.len) {
            try ops.matched(len, -1, 0);
            st.phase = phase_done;
        }
        return ops.n;
    }
    if (st.phase == phase_done) return 0;

    const sp = block_sums.Params.fromRaw(p.block_len, p.strong_len, p.alg, p.seed, p.seed_order) orelse return error.BadParams;
    const b = Blocks{ .sums = sums, .p = p, .stride = 4 + @as(usize, p.strong_len) };
    if (sums.len < p.count * b.stride) return error.BadParams;
    const summer = block_sums.Summer.init(sp);
    const table = tableOf(buf, st);
    const chain = chainOf(buf, st);
    const traditional = st.tablesize == traditional_tablesize;
    const blength: usize = p.block_len;
    const updating = p.updating_basis != 0;
    // May be <= 0 (data shorter than the last block): the walk still looks once, as upstream's do-while does.
    const end: i64 = @as(i64, @intCast(len)) + 1 - @as(i64, @intCast(b.len(p.count - 1)));
    // The bytes at file offset `at`, in the window.
    const data = struct {
        w: []const u8,
        base: usize,
        fn at(self: @This(), pos: usize, n: usize) []const u8 {
            return self.w[pos - self.base ..][0..n];
        }
        fn byte(self: @This(), pos: usize) u32 {
            return @bitCast(@as(i32, @as(i8, @bitCast(self.w[pos - self.base]))));
        }
    }{ .w = window, .base = base };

    var offset: usize = @intCast(st.offset);
    var k: usize = @intCast(st.k);
    var s1 = st.s1;
    var s2 = st.s2;
    var want_i: usize = @intCast(st.want_i);
    defer {
        st.offset = offset;
        st.k = k;
        st.s1 = s1;
        st.s2 = s2;
        st.want_i = want_i;
    }
    if (st.phase == phase_start) {
        if (!final and 2 * blength > avail) return 0;
        k = @min(len, blength);
        const sum = rolling.checksum(data.at(0, k));
        s1 = sum & 0xffff;
        s2 = sum >> 16;
        st.phase = phase_walk;
    }
    var digest: [hasher.max_digest_length]u8 = undefined;
    while (st.phase == phase_walk) {
        // One turn reads up to two blocks ahead (a match, then the block after it) and writes at most three ops.
        if (!final and offset + 2 * blength > avail) break;
        if (ops.n + 6 > out.len) break;
        const sum = (s1 & 0xffff) | (s2 << 16);
        var i: i32 = table[hashOf(sum, st.tablesize, traditional)];
        var have_strong = false;
        while (i >= 0) : (i = chain[@intCast(i)]) {
            var bi: usize = @intCast(i);
            if (updating and b.offset(bi) < offset) continue;
            if (sum != b.sum1(bi)) continue;
            const l = @min(blength, len - offset);
            if (l != b.len(bi)) continue;
            if (!have_strong) {
                summer.strongSum(data.at(offset, l), &digest);
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
            const restart = rolling.checksum(data.at(offset, k));
            s1 = restart & 0xffff;
            s2 = restart >> 16;
            break;
        }
        // Roll the window one byte on (bytes are signed chars, sums wrap at 2^32).
        const backup: usize = if (offset > ops.last_match) offset - ops.last_match else 0;
        const more = offset + k < len;
        const first = data.byte(offset);
        s1 -%= first;
        s2 -%= @as(u32, @truncate(k)) *% first;
        if (more) {
            s1 +%= data.byte(offset + k);
            s2 +%= s1;
        } else k -= 1;
        // A literal run this long goes out now, in pieces, rather than after the next match.
        const ahead: i64 = end - @as(i64, @intCast(offset));
        if (backup >= blength + chunk_size and ahead > chunk_size) try ops.matched(offset - blength, -2, 0);
        offset += 1;
        if (@as(i64, @intCast(offset)) >= end) st.phase = phase_tail;
    }
    if (st.phase == phase_tail and final and ops.n + 2 <= out.len) {
        try ops.matched(len, -1, 0);
        st.phase = phase_done;
    }
    return ops.n;
}

/// Writes the ops for `data` (the whole file) into `out` (pairs of f64); returns the number of f64 written.
pub fn match(data: []const u8, sums: []const u8, p: Params, out: []f64, allocator: std.mem.Allocator) Error!usize {
    const buf = try allocator.alignedAlloc(u8, .@"8", stateSize(p));
    defer allocator.free(buf);
    const st = try init(buf, sums, p, data.len);
    const n = try step(buf, sums, data, out);
    if (st.phase != phase_done) return error.NoSpace;
    return n;
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
    // The same ops when the data comes in windows (of several sizes, as small as the walk allows).
    for ([_]usize{ 2 * block_len, 2 * block_len + 1, 3 * block_len + 7, 5000 }) |w| {
        const windowed = try matchWindowed(data, sums, p, w);
        defer testing.allocator.free(windowed);
        try testing.expectEqualSlices(f64, out[0..n], windowed);
    }
}

/// The ops of `data` fed through a window of about `window` bytes that slides to each pending literal run.
fn matchWindowed(data: []const u8, sums: []const u8, p: Params, window: usize) ![]f64 {
    const buf = try testing.allocator.alignedAlloc(u8, .@"8", stateSize(p));
    defer testing.allocator.free(buf);
    const st = try init(buf, sums, p, data.len);
    var all = std.ArrayList(f64){};
    errdefer all.deinit(testing.allocator);
    var out: [64]f64 = undefined;
    var width = window;
    while (st.phase != phase_done) {
        const from: usize = @intCast(st.last_match);
        const to = @min(data.len, from + width);
        st.base = from;
        const n = try step(buf, sums, data[from..to], &out);
        try all.appendSlice(testing.allocator, out[0..n]);
        width = if (n == 0) width * 2 else window;
    }
    return all.toOwnedSlice(testing.allocator);
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
