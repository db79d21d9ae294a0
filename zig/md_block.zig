//! The block buffering and length padding shared by MD4 and MD5 (64-byte
//! blocks, four u32 words of state, little-endian bit count at the end).
//!
//! `busted` reproduces the MD4 that rsync computed before protocol 27: the
//! bit count appended is only the low 32 bits (the high word written as
//! zero), and when the whole input is a multiple of 64 bytes, empty input
//! included, no padding block is processed at all, so the digest is the
//! state after the last data block. (Old rsync fed its MD4 in 64-byte pieces
//! and called the tail routine only for a non-empty remainder.)
const std = @import("std");

pub const digest_length = 16;
pub const block_length = 64;

pub const initial_state = [4]u32{ 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476 };

pub fn Digest(comptime compress: fn (*[4]u32, *const [block_length]u8) void) type {
    return struct {
        const Self = @This();

        state: [4]u32,
        buf: [block_length]u8,
        buf_len: u8,
        busted: bool,
        total_len: u64,

        pub fn init(busted: bool) Self {
            return .{ .state = initial_state, .buf = undefined, .buf_len = 0, .busted = busted, .total_len = 0 };
        }

        pub fn update(self: *Self, input: []const u8) void {
            self.total_len +%= input.len;
            var in = input;
            if (self.buf_len != 0) {
                const take = @min(in.len, block_length - self.buf_len);
                @memcpy(self.buf[self.buf_len..][0..take], in[0..take]);
                self.buf_len += @intCast(take);
                in = in[take..];
                if (self.buf_len < block_length) return;
                compress(&self.state, &self.buf);
                self.buf_len = 0;
            }
            while (in.len >= block_length) : (in = in[block_length..]) {
                compress(&self.state, in[0..block_length]);
            }
            @memcpy(self.buf[0..in.len], in);
            self.buf_len = @intCast(in.len);
        }

        pub fn final(self: *Self, out: *[digest_length]u8) void {
            const skip_tail = self.busted and self.buf_len == 0;
            if (!skip_tail) {
                const bits = if (self.busted) self.total_len *% 8 & 0xffff_ffff else self.total_len *% 8;
                var tail = [_]u8{0} ** (2 * block_length);
                @memcpy(tail[0..self.buf_len], self.buf[0..self.buf_len]);
                tail[self.buf_len] = 0x80;
                // One block if the 0x80 byte and the 8-byte count fit after the data.
                const tail_len: usize = if (self.buf_len < block_length - 8) block_length else 2 * block_length;
                std.mem.writeInt(u64, tail[tail_len - 8 ..][0..8], bits, .little);
                compress(&self.state, tail[0..block_length]);
                if (tail_len > block_length) compress(&self.state, tail[block_length..][0..block_length]);
            }
            for (self.state, 0..) |word, i| std.mem.writeInt(u32, out[i * 4 ..][0..4], word, .little);
        }

        pub fn hash(input: []const u8, busted: bool, out: *[digest_length]u8) void {
            var h = Self.init(busted);
            h.update(input);
            h.final(out);
        }
    };
}

/// The message block as 16 little-endian words.
pub inline fn loadWords(block: *const [block_length]u8) [16]u32 {
    var x: [16]u32 = undefined;
    for (&x, 0..) |*w, i| w.* = std.mem.readInt(u32, block[i * 4 ..][0..4], .little);
    return x;
}

/// Returns `x` unchanged, but the optimiser can no longer see how it was
/// computed. The MD steps use it on a + K + X[i], which does not depend on
/// the value just computed: otherwise LLVM reassociates the constant K to
/// the end of the sum, putting an extra add on the critical dependency chain.
pub inline fn opaqueValue(x: u32) u32 {
    return asm (""
        : [ret] "=r" (-> u32),
        : [x] "0" (x),
    );
}
