//! LZ4 block format (lz4_Block_format.md): raw blocks, no frame, no
//! dictionary. A block is a series of sequences, each a token (literal
//! length in the high nibble, match length - 4 in the low one; 15 means
//! "more in the following bytes, 255 each until one is smaller"), the
//! literals, then a 2-byte LE offset back into the output and the match
//! length's extra bytes. The last sequence has literals only.
//!
//! The compressor is a greedy single-probe hash-table matcher in the style of
//! LZ4's fast mode. It keeps LZ4's end-of-block rules so that the reference
//! LZ4_decompress_safe, which copies speculatively and relies on them,
//! accepts its blocks. The decompressor takes input from a hostile peer: it
//! checks every length and offset before touching memory.
//! The TypeScript twin is src/native/ts/lz4.ts.
const std = @import("std");

/// The shortest match a token can describe (its match nibble stores length - 4).
const min_match: usize = 4;
/// Offsets are two bytes; 0 is invalid.
pub const max_offset: usize = 65535;
/// End-of-block rule: the last 5 bytes of the data are always literals.
const last_literals: usize = 5;
/// End-of-block rule: the last match starts at least 12 bytes before the end.
const match_free_tail: usize = 12;
/// Inputs shorter than this cannot hold a match under the two rules above.
const min_input_with_match: usize = match_free_tail + 1;
/// A nibble of 15 means the length continues in extra bytes.
const nibble_max: usize = 15;

/// 4096 u32 entries (16 KiB of stack): fits L1 alongside the data, and a
/// probe that misses only costs compression ratio, never correctness.
const hash_log = 12;
const table_size = 1 << hash_log;
/// Incompressible data is skipped faster and faster: the stride grows by one
/// byte every 2^skip_strength consecutive misses (LZ4's acceleration).
const skip_strength = 6;

pub const Error = error{
    /// Truncated input (a length, literals or an offset cut short), offset 0
    /// or before the output's start, or a block not ending in literals.
    Malformed,
    /// The decoded data would not fit in dst.
    NoSpace,
};

/// The most a block for `n` bytes of input can take (all literals plus length bytes, with margin).
pub fn compressBound(n: usize) usize {
    return n + n / 255 + 16;
}

/// Compresses `src` into `dst` as one LZ4 block; returns its length, or 0 when it does not fit.
pub fn compress(src: []const u8, dst: []u8) usize {
    var out = Output{ .dst = dst };
    var anchor: usize = 0;
    if (src.len >= min_input_with_match) anchor = emitMatches(src, &out) orelse return 0;
    if (!out.sequence(src[anchor..], src.len - anchor, 0, 0)) return 0;
    return out.pos;
}

/// Decodes the block `src` into `dst`; returns the number of bytes written.
pub fn decompress(src: []const u8, dst: []u8) Error!usize {
    // Even empty data is one token (0x00): an empty block is not a block.
    if (src.len == 0) return error.Malformed;
    var in: usize = 0;
    var out: usize = 0;
    while (true) {
        if (in == src.len) return error.Malformed; // the block ended with a match
        const token = src[in];
        in += 1;

        const literal_len = try readLength(src, &in, token >> 4);
        if (literal_len > src.len - in) return error.Malformed;
        if (literal_len > dst.len - out) return error.NoSpace;
        copyLiterals(dst[out..], src[in..], literal_len);
        in += literal_len;
        out += literal_len;
        if (in == src.len) return out; // literals only: the last sequence

        if (src.len - in < 2) return error.Malformed;
        const offset: usize = std.mem.readInt(u16, src[in..][0..2], .little);
        in += 2;
        if (offset == 0 or offset > out) return error.Malformed;
        const match_len = min_match + try readLength(src, &in, token & 0x0f);
        if (match_len > dst.len - out) return error.NoSpace;
        copyMatch(dst, out, offset, match_len);
        out += match_len;
    }
}

/// A token nibble plus, when it is 15, the extra bytes after it (each added; the first below 255 ends them).
fn readLength(src: []const u8, in: *usize, token_nibble: u8) Error!usize {
    var len: usize = token_nibble;
    if (len != nibble_max) return len;
    while (true) {
        if (in.* == src.len) return error.Malformed;
        const b = src[in.*];
        in.* += 1;
        len += b;
        if (b != 255) return len;
    }
}

/// Most literal runs are short: when both sides have 16 bytes to spare, one
/// fixed 16-byte move (a single vector load and store) beats a memcpy call.
/// The bytes it writes past `len` are overwritten by what comes next, or lie
/// past the end of the result (dst beyond the returned length is scratch).
fn copyLiterals(dst: []u8, src: []const u8, len: usize) void {
    if (len <= 16 and dst.len >= 16 and src.len >= 16) {
        dst[0..16].* = src[0..16].*;
    } else {
        @memcpy(dst[0..len], src[0..len]);
    }
}

/// Copies `len` bytes from `offset` back to dst[at..], each byte as if copied
/// one at a time (so a short offset repeats the bytes just written).
fn copyMatch(dst: []u8, at: usize, offset: usize, len: usize) void {
    const from = at - offset;
    const end = at + len;
    // 8-byte pieces, each read whole before it is written: with offset >= 8 a
    // piece never reads bytes it writes itself, and the ones earlier pieces
    // wrote are final. The last piece may overshoot by up to 7 bytes, which
    // later sequences overwrite, so dst must have that room.
    if (offset >= 8 and dst.len - at >= len + 7) {
        var k: usize = 0;
        while (k < len) : (k += 8) dst[at + k ..][0..8].* = dst[from + k ..][0..8].*;
        return;
    }
    // Otherwise the output repeats with period `offset`, so the source can
    // stay put while each chunk doubles: every chunk is disjoint from its source.
    var to = at;
    while (to < end) {
        const n = @min(end - to, to - from);
        @memcpy(dst[to..][0..n], dst[from..][0..n]);
        to += n;
    }
}

/// dst and how much of it the block has taken.
const Output = struct {
    dst: []u8,
    pos: usize = 0,

    /// Appends one sequence: the first `literal_len` bytes of `rest` (the
    /// input from the literals on), then a match (none when match_len == 0,
    /// as in the last sequence). false, writing nothing past dst, when it does not fit.
    fn sequence(self: *Output, rest: []const u8, literal_len: usize, offset: usize, match_len: usize) bool {
        const has_match = match_len != 0;
        const match_code = if (has_match) match_len - min_match else 0;
        const need = 1 + extraLengthBytes(literal_len) + literal_len +
            if (has_match) 2 + extraLengthBytes(match_code) else 0;
        if (need > self.dst.len - self.pos) return false;

        self.put(nibble(literal_len) << 4 | nibble(match_code));
        self.putExtraLength(literal_len);
        copyLiterals(self.dst[self.pos..], rest, literal_len);
        self.pos += literal_len;
        if (has_match) {
            std.mem.writeInt(u16, self.dst[self.pos..][0..2], @intCast(offset), .little);
            self.pos += 2;
            self.putExtraLength(match_code);
        }
        return true;
    }

    fn put(self: *Output, b: u8) void {
        self.dst[self.pos] = b;
        self.pos += 1;
    }

    fn putExtraLength(self: *Output, len: usize) void {
        if (len < nibble_max) return;
        var rest = len - nibble_max;
        while (rest >= 255) : (rest -= 255) self.put(255);
        self.put(@intCast(rest));
    }
};

fn nibble(len: usize) u8 {
    return @intCast(@min(len, nibble_max));
}

/// Bytes after the token that a length needs beyond its nibble.
fn extraLengthBytes(len: usize) usize {
    return if (len < nibble_max) 0 else (len - nibble_max) / 255 + 1;
}

/// Emits every sequence that ends in a match; returns where the final
/// literals start, or null when dst is full.
fn emitMatches(src: []const u8, out: *Output) ?usize {
    // Zeroed entries point at position 0, a real position: a stale or
    // colliding entry is harmless because every candidate is verified.
    var table = [_]u32{0} ** table_size;
    const last_match_start = src.len - match_free_tail;
    const match_end_limit = src.len - last_literals;
    var anchor: usize = 0;
    var pos: usize = 1;
    while (true) {
        const found = findMatch(src, &table, pos, last_match_start) orelse return anchor;
        var start = found.pos;
        var earlier = found.earlier;
        // Bytes just before the hit that also match join the match rather than the literals.
        while (start > anchor and earlier > 0 and src[start - 1] == src[earlier - 1]) {
            start -= 1;
            earlier -= 1;
        }
        const len = min_match + commonLength(src, earlier + min_match, start + min_match, match_end_limit);
        if (!out.sequence(src[anchor..], start - anchor, start - earlier, len)) return null;
        pos = start + len;
        anchor = pos;
        if (pos > last_match_start) return anchor;
        // Index a position inside the match too: the next repeat of this
        // stretch is then found from its start, as LZ4 does.
        table[hashAt(src, pos - 2)] = @truncate(pos - 2);
    }
}

const Hit = struct { pos: usize, earlier: usize };

/// The first probed position from `from_pos` on (at most last_match_start)
/// whose next 4 bytes equal those at the position its hash slot remembered,
/// no more than max_offset back. Every probed position is remembered in its slot.
fn findMatch(src: []const u8, table: *[table_size]u32, from_pos: usize, last_match_start: usize) ?Hit {
    var pos = from_pos;
    var misses: usize = 1 << skip_strength;
    while (pos <= last_match_start) {
        const word = read32(src, pos);
        const slot = &table[hashAt(src, pos)];
        // Positions are kept mod 2^32, so inputs beyond 4 GiB still work: the
        // wrapped distance names some earlier position, checked below like any candidate.
        const distance: usize = @as(u32, @truncate(pos)) -% slot.*;
        slot.* = @truncate(pos);
        if (distance != 0 and distance <= max_offset and distance <= pos and read32(src, pos - distance) == word) {
            return .{ .pos = pos, .earlier = pos - distance };
        }
        pos += misses >> skip_strength;
        misses += 1;
    }
    return null;
}

/// 2^64 / golden ratio, odd: multiplicative hashing's classic constant.
const hash_multiplier: u64 = 0x9e3779b97f4a7c15;

/// Hashes the 5 bytes at `at` (the shift keeps only them, in the top 40
/// bits) to hash_log bits. Five, not four: in text a 4-byte repeat is often
/// a worse match than the next 5-byte one, and a slot holds only one
/// candidate. A match still needs only 4 equal bytes. Callers stay 12 bytes
/// from the end, so the 8-byte load is in bounds.
fn hashAt(src: []const u8, at: usize) usize {
    const five = read64(src, at) << 24;
    return @intCast((five *% hash_multiplier) >> (64 - hash_log));
}

fn read32(src: []const u8, at: usize) u32 {
    return std.mem.readInt(u32, src[at..][0..4], .little);
}

fn read64(src: []const u8, at: usize) u64 {
    return std.mem.readInt(u64, src[at..][0..8], .little);
}

/// How many bytes from src[later..] (up to `limit`) equal those from src[earlier..],
/// 8 at a time: the first differing byte is the lowest set byte of the XOR.
fn commonLength(src: []const u8, earlier: usize, later: usize, limit: usize) usize {
    var n: usize = 0;
    while (later + n + 8 <= limit) : (n += 8) {
        const diff = read64(src, earlier + n) ^ read64(src, later + n);
        if (diff != 0) return n + @ctz(diff) / 8;
    }
    while (later + n < limit and src[earlier + n] == src[later + n]) n += 1;
    return n;
}

const testing = std.testing;

/// Walks a block and checks what the reference decoder relies on: offsets in
/// range, no match starting in the last 12 bytes or ending in the last 5.
fn expectEndOfBlockRules(block: []const u8, n: usize) !void {
    var in: usize = 0;
    var out: usize = 0;
    while (true) {
        const token = block[in];
        in += 1;
        const literal_len = try readLength(block, &in, token >> 4);
        in += literal_len;
        out += literal_len;
        if (in == block.len) break;
        const offset = std.mem.readInt(u16, block[in..][0..2], .little);
        in += 2;
        const match_len = min_match + try readLength(block, &in, token & 0x0f);
        try testing.expect(offset >= 1 and offset <= out);
        try testing.expect(out + match_free_tail <= n);
        out += match_len;
        try testing.expect(out + last_literals <= n);
    }
    try testing.expectEqual(n, out);
}

fn roundTrip(data: []const u8) !usize {
    const block = try testing.allocator.alloc(u8, compressBound(data.len));
    defer testing.allocator.free(block);
    const len = compress(data, block);
    try testing.expect(len > 0 and len <= block.len);
    try expectEndOfBlockRules(block[0..len], data.len);

    const back = try testing.allocator.alloc(u8, data.len + 7);
    defer testing.allocator.free(back);
    try testing.expectEqual(data.len, try decompress(block[0..len], back[0..data.len]));
    try testing.expectEqualSlices(u8, data, back[0..data.len]);
    // More room than needed changes nothing.
    try testing.expectEqual(data.len, try decompress(block[0..len], back));
    if (data.len > 0) try testing.expectError(error.NoSpace, decompress(block[0..len], back[0 .. data.len - 1]));

    // Exactly the room it needs (no slack for 16-byte copies): the same block.
    const exact = try testing.allocator.alloc(u8, len);
    defer testing.allocator.free(exact);
    try testing.expectEqual(len, compress(data, exact));
    try testing.expectEqualSlices(u8, block[0..len], exact);

    // One byte short of room: nothing fits, and nothing is written past dst.
    @memset(block, 0xa5);
    try testing.expectEqual(@as(usize, 0), compress(data, block[0 .. len - 1]));
    for (block[len - 1 ..]) |b| try testing.expectEqual(@as(u8, 0xa5), b);
    return len;
}

test "hand-checked blocks" {
    var buf: [64]u8 = undefined;
    // Empty data is one token with no literals.
    try testing.expectEqualSlices(u8, &.{0x00}, buf[0..compress("", &buf)]);
    try testing.expectEqualSlices(u8, "\x50hello", buf[0..compress("hello", &buf)]);
    // 20 'a': literal 'a', then offset 1 for 14 bytes (nibble 10), then the 5 mandatory literals.
    const a20 = "a" ** 20;
    try testing.expectEqualSlices(u8, "\x1aa\x01\x00\x50aaaaa", buf[0..compress(a20, &buf)]);
    // 1000 'a': match of 994 = 4 + 15 + 255 * 3 + 210.
    const a1000 = "a" ** 1000;
    try testing.expectEqualSlices(u8, "\x1fa\x01\x00\xff\xff\xff\xd2\x50aaaaa", buf[0..compress(a1000, &buf)]);
    var out: [1000]u8 = undefined;
    try testing.expectEqual(@as(usize, 1000), try decompress(buf[0..14], &out));
    try testing.expectEqualSlices(u8, a1000, &out);
}

test "round trips: tiny, random, repetitive, periodic, long" {
    var prng = std.Random.DefaultPrng.init(7);
    const rand = prng.random();
    var big: [200_000]u8 = undefined;

    for (0..40) |n| {
        rand.bytes(big[0..n]);
        _ = try roundTrip(big[0..n]);
        @memset(big[0..n], 'x');
        _ = try roundTrip(big[0..n]);
    }
    // Incompressible: about the input plus its length bytes.
    rand.bytes(&big);
    const random_len = try roundTrip(big[0..16383]);
    try testing.expect(random_len <= compressBound(16383) and random_len >= 16383);
    _ = try roundTrip(&big);

    // Runs (offset 1) and short periods (overlapping copies) compress to almost nothing.
    @memset(&big, 0);
    try testing.expect(try roundTrip(big[0..16383]) < 100);
    for (&big, 0..) |*b, i| b.* = @intCast(i % 3);
    try testing.expect(try roundTrip(big[0..16383]) < 100);
    for (&big, 0..) |*b, i| b.* = "abcdefgh"[i % 7];
    try testing.expect(try roundTrip(&big) < 1000);

    // Text-like: few symbols, many partial repeats; lengths around the table and offset limits.
    for (&big) |*b| b.* = "ab cd\n"[rand.uintLessThan(usize, 6)];
    for ([_]usize{ 13, 14, 17, 100, 4095, 65535, 65536, 65537, 70000, 200_000 }) |n| _ = try roundTrip(big[0..n]);
}

test "no offset beyond 65535 even when the only repeat is further back" {
    var prng = std.Random.DefaultPrng.init(99);
    const data = try testing.allocator.alloc(u8, 140_000);
    defer testing.allocator.free(data);
    prng.random().bytes(data);
    // The same 1000 bytes at 0, 65536, 70000 and 131072: distances of 65536 and more, and one of 4464.
    for ([_]usize{ 65536, 70000, 131072 }) |at| @memcpy(data[at..][0..1000], data[0..1000]);
    _ = try roundTrip(data);
}

test "malformed blocks are refused" {
    var out: [64]u8 = undefined;
    const bad = [_][]const u8{
        "", // no token
        "\x50abc", // 5 literals announced, 3 present
        "\xf0", // literal length continues past the end
        "\xf0\xff", // ... still
        "\x11a\x01", // offset cut short
        "\x11a\x00\x00\x50aaaaa", // offset 0
        "\x11a\x02\x00\x50aaaaa", // offset before the start of the output
        "\x1fa\x01\x00", // match length continues past the end
        "\x1fa\x01\x00\xff", // ... still
        "\x10a\x01\x00", // ends with a match
    };
    for (bad) |block| try testing.expectError(error.Malformed, decompress(block, &out));
    // Literals then the end is a whole block: the last token's match nibble goes unused (as in the reference decoder).
    try testing.expectEqual(@as(usize, 1), try decompress("\x11a", &out));
    // Valid, but the output does not fit.
    try testing.expectError(error.NoSpace, decompress("\x50hello", out[0..4]));
    try testing.expectError(error.NoSpace, decompress("\x1aa\x01\x00\x50aaaaa", out[0..19]));
    try testing.expectEqual(@as(usize, 0), try decompress("\x00", out[0..0]));
}

test "truncated or corrupted blocks never read or write out of bounds" {
    var prng = std.Random.DefaultPrng.init(3);
    const rand = prng.random();
    var data: [3000]u8 = undefined;
    for (&data) |*b| b.* = "xyz"[rand.uintLessThan(usize, 3)];
    var block: [compressBound(3000)]u8 = undefined;
    const len = compress(&data, &block);
    var out: [3000]u8 = undefined;
    // Every truncation fails, or decodes to a prefix of the data.
    for (0..len) |cut| {
        const n = decompress(block[0..cut], &out) catch continue;
        try testing.expectEqualSlices(u8, data[0..n], out[0..n]);
    }
    // Flipped bytes and pure noise: any result, as long as it stays in bounds (Debug checks every index).
    for (0..2000) |_| {
        var copy = block;
        copy[rand.uintLessThan(usize, len)] = rand.int(u8);
        _ = decompress(copy[0..len], &out) catch {};
        rand.bytes(copy[0..64]);
        _ = decompress(copy[0..rand.uintAtMost(usize, 64)], out[0..rand.uintAtMost(usize, 100)]) catch {};
    }
}
