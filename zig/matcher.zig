//! The sender's block matcher (upstream match.c build_hash_table,
//! hash_search, matched): finds the receiver's basis blocks in the new data
//! with the rolling checksum, confirms candidates with the strong sum, and
//! emits ops with upstream's choices, so the token stream (and the literal /
//! matched totals) equals upstream's:
//!   - the hash table has about 80% load for big files (at least 2^16 slots),
//!   - chains are searched newest block first,
//!   - the block after the previous match wins when it matches too,
//!   - at most max_chain_len candidates with the same rolling sum are tried at one offset,
//!   - a literal run longer than a block plus CHUNK_SIZE is flushed early,
//!   - with --inplace, blocks behind the walk leave their chains for good and a
//!     block matching at its own offset (or a run of zeros realigned to it) is preferred.
//! It counts what match.c counts for -vv (hash_hits, false_alarms, matches).
//! The TypeScript twin is src/native/ts/matcher.ts; both emit pairs
//! (block index, length) with block -1 for a literal run.
const std = @import("std");
const rolling = @import("rolling.zig");
const block_sums = @import("block_sums.zig");
const hasher = @import("hasher.zig");

/// Upstream's CHUNK_SIZE (the longest literal token).
pub const chunk_size: usize = 32 * 1024;
const traditional_tablesize: usize = 1 << 16;
/// Upstream's MAX_CHAIN_LEN: candidates with the offset's rolling sum tried before giving up there.
pub const max_chain_len: usize = 1024;
/// Offsets in a row with failed strong sums before the walk jumps on (the run then stays at this).
const false_alarm_run_max: u64 = 3;
/// Upstream's SUMFLG_SAME_OFFSET: with --inplace, a block found at its own offset (it stays usable behind the walk).
const same_offset: u8 = 1;

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
    /// match.c's counters for this file: offsets whose hash slot held a chain,
    /// candidates whose rolling sum matched but whose strong sum did not, blocks matched.
    hash_hits: u64,
    false_alarms: u64,
    matches: u64,
    /// --inplace: the first block boundary at or after the walk, and its block.
    aligned_offset: u64,
    aligned_i: u64,
    /// Consecutive offsets where a strong sum failed (or the chain was cut short).
    false_alarm_run: u64,
};

comptime {
    // src/native/native-core.ts reads and writes these fields by offset.
    std.debug.assert(@offsetOf(State, "base") == 40 and @offsetOf(State, "last_match") == 56 and @offsetOf(State, "phase") == 88);
    std.debug.assert(@offsetOf(State, "hash_hits") == 96 and @offsetOf(State, "false_alarms") == 104 and @offsetOf(State, "matches") == 112);
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

/// Bytes a State for `p` needs (header, hash table, chains and block flags).
pub fn stateSize(p: Params) usize {
    return @sizeOf(State) + 4 * (tableSize(p.count) + p.count) + p.count;
}

fn tableOf(buf: []align(8) u8, st: *const State) []i32 {
    const words: [*]i32 = @ptrCast(@alignCast(buf.ptr + @sizeOf(State)));
    return words[0..st.tablesize];
}

fn chainOf(buf: []align(8) u8, st: *const State) []i32 {
    const words: [*]i32 = @ptrCast(@alignCast(buf.ptr + @sizeOf(State)));
    return words[st.tablesize..][0..st.p.count];
}

fn flagsOf(buf: []align(8) u8, st: *const State) []u8 {
    return buf[@sizeOf(State) + 4 * (@as(usize, st.tablesize) + st.p.count) ..][0..st.p.count];
}

fn hashOf(sum: u32, size: usize, trad: bool) usize {
    return if (trad) ((sum & 0xffff) +% (sum >> 16)) & 0xffff else sum % size;
}

/// Sets up a matcher in `buf` (stateSize(p) bytes) for a file of `total_len`
/// bytes against the block table `sums` (build_hash_table).
pub fn init(buf: []align(8) u8, sums: []const u8, p: Params, total_len: u64) Error!*State {
    if (buf.len < stateSize(p)) return error.NoSpace;
    const st: *State = @ptrCast(buf.ptr);
    st.* = .{ .p = p, .total_len = total_len, .base = 0, .offset = 0, .last_match = 0, .want_i = 0, .k = 0, .s1 = 0, .s2 = 0, .phase = phase_start, .tablesize = @intCast(tableSize(p.count)), .hash_hits = 0, .false_alarms = 0, .matches = 0, .aligned_offset = 0, .aligned_i = 0, .false_alarm_run = 0 };
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
    @memset(flagsOf(buf, st), 0);
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
    const flags = flagsOf(buf, st);
    const traditional = st.tablesize == traditional_tablesize;
    const blength: usize = p.block_len;
    const updating = p.updating_basis != 0;
    // One turn reads up to two blocks ahead (a match, then the block after it); with --inplace a
    // match may first move on to the next block boundary, a third block.
    const look_ahead: usize = @as(usize, if (updating) 3 else 2) * blength;
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
    var aligned_offset: usize = @intCast(st.aligned_offset);
    var aligned_i: usize = @intCast(st.aligned_i);
    defer {
        st.offset = offset;
        st.k = k;
        st.s1 = s1;
        st.s2 = s2;
        st.want_i = want_i;
        st.aligned_offset = aligned_offset;
        st.aligned_i = aligned_i;
    }
    if (st.phase == phase_start) {
        if (!final and look_ahead > avail) return 0;
        k = @min(len, blength);
        const sum = rolling.checksum(data.at(0, k));
        s1 = sum & 0xffff;
        s2 = sum >> 16;
        st.phase = phase_walk;
    }
    var digest: [hasher.max_digest_length]u8 = undefined;
    while (st.phase == phase_walk) {
        // One turn writes at most three ops.
        if (!final and offset + look_ahead > avail) break;
        if (ops.n + 6 > out.len) break;
        var sum = (s1 & 0xffff) | (s2 << 16);
        const slot = hashOf(sum, st.tablesize, traditional);
        if (table[slot] >= 0) st.hash_hits += 1;
        // The link to the current candidate: --inplace drops blocks the walk has passed, and a block
        // equal to one that just failed here (same sums) is dropped as a duplicate.
        var link: *i32 = &table[slot];
        var have_strong = false;
        var chain_len: usize = 0;
        var gave_up = false;
        var matched_here = false;
        // The last candidate whose strong sum failed at this offset.
        var failed: ?usize = null;
        while (link.* >= 0) {
            var bi: usize = @intCast(link.*);
            if (updating and b.offset(bi) < offset and flags[bi] & same_offset == 0) {
                link.* = chain[bi];
                continue;
            }
            const l = @min(blength, len - offset);
            if (sum != b.sum1(bi) or l != b.len(bi)) {
                link = &chain[bi];
                continue;
            }
            if (failed) |f| {
                if ((flags[bi] & same_offset == 0 or flags[f] & same_offset != 0) and std.mem.eql(u8, b.strong(bi), b.strong(f))) {
                    link.* = chain[bi];
                    continue;
                }
            }
            // A pathological chain of equal rolling sums: give up at this offset (its bytes go literally).
            chain_len += 1;
            if (chain_len > max_chain_len) {
                gave_up = true;
                break;
            }
            if (!have_strong) {
                summer.strongSum(data.at(offset, l), &digest);
                have_strong = true;
            }
            if (!std.mem.eql(u8, digest[0..p.strong_len], b.strong(bi))) {
                st.false_alarms += 1;
                failed = bi;
                link = &chain[bi];
                continue;
            }
            // --inplace: the block at its own offset costs the receiver no write, so it is preferred; zeros
            // matched a little before a block boundary of zeros are realigned to it.
            if (updating) aligned: {
                while (aligned_offset < offset) {
                    aligned_offset += blength;
                    aligned_i += 1;
                }
                if (!(offset == aligned_offset or (sum == 0 and l == blength and aligned_offset + l <= len)) or aligned_i >= p.count) break :aligned;
                if (bi != aligned_i) {
                    if (sum != b.sum1(aligned_i) or l != b.len(aligned_i) or !std.mem.eql(u8, digest[0..p.strong_len], b.strong(aligned_i))) break :aligned;
                    bi = aligned_i;
                }
                if (offset != aligned_offset) {
                    sum = rolling.checksum(data.at(aligned_offset, l));
                    if (sum != b.sum1(bi)) break :aligned;
                    summer.strongSum(data.at(aligned_offset, l), &digest);
                    if (!std.mem.eql(u8, digest[0..p.strong_len], b.strong(bi))) break :aligned;
                    offset = aligned_offset;
                }
                flags[bi] |= same_offset;
                want_i = bi;
            }
            // The block after the previous match is better still: the receiver copies runs.
            if (bi != want_i and want_i < p.count and (!updating or b.offset(want_i) >= offset or flags[want_i] & same_offset != 0) and
                sum == b.sum1(want_i) and l == b.len(want_i) and std.mem.eql(u8, digest[0..p.strong_len], b.strong(want_i)))
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
            st.matches += 1;
            matched_here = true;
            break;
        }
        // Offsets where strong sums kept failing (or the chain was too long): after four in a row
        // the walk jumps most of a block on, as Debian's rsync 3.5.0 does to bound the sender's work.
        if (matched_here or !(gave_up or have_strong)) {
            st.false_alarm_run = 0;
        } else {
            st.false_alarm_run += 1;
            if (st.false_alarm_run > false_alarm_run_max and k > 1) {
                st.false_alarm_run = false_alarm_run_max;
                const skip = @min(end - 1 - @as(i64, @intCast(offset)), @as(i64, @intCast(k)) - 1);
                if (skip > 0) {
                    offset += @intCast(skip);
                    k = @min(blength, len - offset);
                    const restart = rolling.checksum(data.at(offset, k));
                    s1 = restart & 0xffff;
                    s2 = restart >> 16;
                }
            }
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

/// f64 slots `out` needs for `len` bytes of data against blocks of `block_len`:
/// two ops per block (a block after each literal byte gives a literal run and
/// a block op every block_len + 1 bytes), a flush per chunk_size of literal
/// bytes, the remainder block and the last run, and the walk's margin (a turn
/// starts only with room for three ops).
pub fn capacity(len: usize, block_len: usize) usize {
    const bl = @max(block_len, 1);
    return 2 * (2 * (len / bl) + len / chunk_size + 8);
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
            // --inplace: a block behind the write position only if it was found at its own offset before.
            if (updating and from < at) try testing.expect(std.mem.eql(u8, data[from..][0..l], basis[from..][0..l]));
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

test "a block after every literal byte: two ops per block fit in capacity" {
    var prng = std.Random.DefaultPrng.init(7);
    const r = prng.random();
    var basis: [300 * 100]u8 = undefined;
    r.bytes(&basis);
    var data: [300 * 101]u8 = undefined;
    for (0..300) |b| {
        data[b * 101] = 0xaa;
        @memcpy(data[b * 101 + 1 ..][0..100], basis[b * 100 ..][0..100]);
    }
    try rebuild(&basis, &data, 100, false);
    try rebuild(&basis, &data, 100, true);
}

/// The counters after matching all of `data` against `basis` in blocks of `block_len` (16-byte MD5 strong sums).
fn countsOf(basis: []const u8, data: []const u8, block_len: u32) ![3]u64 {
    const count: u32 = @intCast(std.math.divCeil(usize, basis.len, block_len) catch unreachable);
    const sums = try testing.allocator.alloc(u8, count * 20);
    defer testing.allocator.free(sums);
    _ = block_sums.table(basis, block_sums.Params.fromRaw(block_len, 16, 5, 0, 1).?, sums);
    const p = Params{ .count = count, .block_len = block_len, .remainder = @intCast(basis.len % block_len), .strong_len = 16, .alg = 5, .seed = 0, .seed_order = 1, .updating_basis = 0 };
    const buf = try testing.allocator.alignedAlloc(u8, .@"8", stateSize(p));
    defer testing.allocator.free(buf);
    const st = try init(buf, sums, p, data.len);
    const out = try testing.allocator.alloc(f64, capacity(data.len, block_len));
    defer testing.allocator.free(out);
    _ = try step(buf, sums, data, out);
    try testing.expect(st.phase == phase_done);
    return .{ st.hash_hits, st.false_alarms, st.matches };
}

/// A block of 100s with +1/-1 at i, i+1 and -1/+1 at j, j+1: its rolling sums equal the plain block's.
fn colliding(block: []u8, i: usize, j: usize) void {
    @memset(block, 100);
    block[i] += 1;
    block[i + 1] -= 1;
    block[j] -= 1;
    block[j + 1] += 1;
}

test "counters: hash hits, false alarms and matches as match.c counts them" {
    var basis: [64 * 40]u8 = undefined;
    var prng = std.Random.DefaultPrng.init(7);
    prng.random().bytes(&basis);
    // An unchanged file: one hash hit and one match per block.
    try testing.expectEqual([3]u64{ 40, 0, 40 }, try countsOf(&basis, &basis, 64));
    // Blocks whose rolling sums collide: each candidate tried before the right one is a false alarm.
    var coll: [64 * 3]u8 = undefined;
    colliding(coll[0..64], 0, 2);
    colliding(coll[64..128], 0, 3);
    colliding(coll[128..192], 0, 4);
    var data: [64]u8 = undefined;
    colliding(&data, 0, 2);
    // Chains are searched newest block first: blocks 2 and 1 fail, block 0 matches.
    try testing.expectEqual([3]u64{ 1, 2, 1 }, try countsOf(&coll, &data, 64));
    // A block that is not there: every candidate fails, and the chain is walked once.
    colliding(&data, 0, 5);
    try testing.expectEqual([3]u64{ 1, 3, 0 }, try countsOf(&coll, &data, 64));
}
