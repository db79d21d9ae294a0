//! The errno of a raw syscall's result (std.os.linux returns -errno in the
//! result). std.posix.errno would read libc's errno variable instead, as this
//! library links libc: failed raw syscalls then looked successful.
const std = @import("std");
const linux = std.os.linux;

pub fn of(rc: usize) linux.E {
    const signed: isize = @bitCast(rc);
    return if (signed > -4096 and signed < 0) @enumFromInt(-signed) else .SUCCESS;
}

test "a raw result's errno, and success otherwise" {
    try std.testing.expectEqual(linux.E.NOENT, of(@bitCast(@as(isize, -2))));
    try std.testing.expectEqual(linux.E.SUCCESS, of(3));
    try std.testing.expectEqual(linux.E.SUCCESS, of(0));
}
