//! The sender's small files read in one call (sender.c send_files: open,
//! fstat, read, close). From JS these were four calls through node's fs per
//! file, each with its own conversions and a Stats object for fstat; on a
//! kernel-sized tree that was a good part of the sending side's CPU.
//!
//! The name is opened relative to a directory descriptor (the sender keeps
//! the directory of the files it is sending open: one short name to resolve
//! per file, not its whole path from the root), or to the working directory.
//!
//! A regular file of at most `buf.len` bytes is read whole (at most its fstat
//! size, from offset 0) and closed. Anything else (a larger file, a device, a
//! read error) is left open, its file offset untouched (pread), for the
//! caller's usual path to send and report.
const std = @import("std");
const builtin = @import("builtin");
const linux = std.os.linux;
const raw_errno = @import("raw_errno.zig");

pub const supported = builtin.os.tag == .linux;

/// The kernel's PATH_MAX, NUL included.
pub const path_max = 4096;

pub const Result = struct {
    /// The open descriptor, or -1 when the file was read whole and closed.
    fd: i32,
    /// Its size as fstat gave it.
    size: u64,
    /// Bytes read into the buffer (when fd is -1).
    read: u64,
};

/// Raw syscalls report errors in their result (raw_errno.zig).
fn errnoOf(rc: usize) u16 {
    return @intFromEnum(raw_errno.of(rc));
}

/// What a read found: the file (read whole or left open), or the errno of its open or fstat.
pub const Outcome = union(enum) { ok: Result, errno: u16 };

/// openat's "relative to the working directory".
pub const at_fdcwd: i32 = -100;

/// Opens `path` (no NUL in it, shorter than path_max) with `flags` (O_CLOEXEC added); see the file comment.
pub fn read(path: []const u8, flags: u32, buf: []u8) Outcome {
    return readAt(at_fdcwd, path, flags, buf);
}

/// read() of `path` relative to the directory `dir_fd` (or at_fdcwd).
pub fn readAt(dir_fd: i32, path: []const u8, flags: u32, buf: []u8) Outcome {
    var z: [path_max]u8 = undefined;
    if (path.len >= path_max) return .{ .errno = @intFromEnum(linux.E.NAMETOOLONG) };
    @memcpy(z[0..path.len], path);
    z[path.len] = 0;
    var o: linux.O = @bitCast(flags);
    o.CLOEXEC = true;
    const rc = linux.openat(dir_fd, @ptrCast(&z), o, 0);
    if (errnoOf(rc) != 0) return .{ .errno = errnoOf(rc) };
    const fd: i32 = @intCast(rc);
    var st: linux.Stat = undefined;
    const frc = linux.fstat(fd, &st);
    if (errnoOf(frc) != 0) {
        _ = linux.close(fd);
        return .{ .errno = errnoOf(frc) };
    }
    const size: u64 = @intCast(st.size);
    if (!linux.S.ISREG(st.mode) or size > buf.len) return .{ .ok = .{ .fd = fd, .size = size, .read = 0 } };
    var got: u64 = 0;
    while (got < size) {
        const n = linux.pread(fd, buf[@intCast(got)..].ptr, @intCast(size - got), @intCast(got));
        const e = errnoOf(n);
        if (e == @intFromEnum(linux.E.INTR)) continue;
        // A read error is the caller's to meet again and report, with the descriptor as it was.
        if (e != 0) return .{ .ok = .{ .fd = fd, .size = size, .read = 0 } };
        if (n == 0) break; // shrank since fstat: what there is goes, and the receiver's checksum tells
        got += n;
    }
    _ = linux.close(fd);
    return .{ .ok = .{ .fd = -1, .size = size, .read = got } };
}

test "a small file is read whole and closed, a larger one left open at offset 0" {
    const testing = std.testing;
    var dir = testing.tmpDir(.{});
    defer dir.cleanup();
    try dir.dir.writeFile(.{ .sub_path = "f", .data = "hello world" });
    var pbuf: [std.fs.max_path_bytes]u8 = undefined;
    const p = try dir.dir.realpath("f", &pbuf);
    var buf: [64]u8 = undefined;
    const whole = read(p, 0, &buf).ok;
    try testing.expectEqual(@as(i32, -1), whole.fd);
    try testing.expectEqual(@as(u64, 11), whole.size);
    try testing.expectEqualStrings("hello world", buf[0..@intCast(whole.read)]);

    var small: [4]u8 = undefined;
    const open = read(p, 0, &small).ok;
    try testing.expect(open.fd >= 0);
    try testing.expectEqual(@as(u64, 11), open.size);
    var first: [5]u8 = undefined;
    try testing.expectEqual(@as(usize, 5), linux.read(open.fd, &first, 5));
    try testing.expectEqualStrings("hello", &first);
    _ = linux.close(open.fd);

    var missing_buf: [std.fs.max_path_bytes]u8 = undefined;
    const dir_path = try dir.dir.realpath(".", &missing_buf);
    var joined: [std.fs.max_path_bytes]u8 = undefined;
    const missing = try std.fmt.bufPrint(&joined, "{s}/nope", .{dir_path});
    try testing.expectEqual(@as(u16, @intFromEnum(linux.E.NOENT)), read(missing, 0, &buf).errno);
}

test "a name is opened relative to a directory descriptor" {
    const testing = std.testing;
    var dir = testing.tmpDir(.{});
    defer dir.cleanup();
    try dir.dir.makeDir("sub");
    try dir.dir.writeFile(.{ .sub_path = "sub/f", .data = "in sub" });
    try dir.dir.writeFile(.{ .sub_path = "f", .data = "at top" });
    var sub = try dir.dir.openDir("sub", .{});
    defer sub.close();
    var buf: [64]u8 = undefined;
    const r = readAt(sub.fd, "f", 0, &buf).ok;
    try testing.expectEqual(@as(i32, -1), r.fd);
    try testing.expectEqualStrings("in sub", buf[0..@intCast(r.read)]);
    try testing.expectEqual(@as(u16, @intFromEnum(linux.E.NOENT)), readAt(sub.fd, "sub", 0, &buf).errno);
}
