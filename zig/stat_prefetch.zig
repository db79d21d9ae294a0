//! The generator's stat of each destination entry (generator.c recv_generator's
//! link_stat), done ahead by a worker thread.
//!
//! The JS thread gives jobs in the order the generator will reach them: a
//! directory's whole path and the base names of the entries it will look up
//! there, with the first slot of a results ring the JS side owns (a
//! Float64Array it keeps alive). The worker opens the directory, lstats each
//! name relative to it (statx, AT_SYMLINK_NOFOLLOW, as src/fs/fd-ops.ts
//! lstatAt does), writes one Record per name into the ring, and publishes how
//! many slots are done (a monotonic counter: slots finish in order). A
//! directory that cannot be opened gives its errno in every record.
//!
//! The JS side never waits for the worker: a record not done yet when the
//! generator reaches its entry is stat'ed there again, synchronously. Slots
//! the JS side has gone past are skipped (see skipBelow), so a worker that
//! falls behind catches up instead of doing stats nobody reads.
//!
//! Threads: submit, kick, done and skipBelow are JS-thread only; the worker
//! owns the jobs it has taken. A sleeping worker is woken once per batch of
//! jobs or by kick (as file_writer.zig's Queue, never per job).
const std = @import("std");
const builtin = @import("builtin");
const linux = std.os.linux;
const job_ring = @import("job_ring.zig");
const syscallErrno = @import("raw_errno.zig").of;
const bytesAt = job_ring.bytesAt;

pub const supported = builtin.os.tag == .linux;

const gpa = std.heap.c_allocator;
const worker_stack = 128 * 1024;

/// A job as the JS side lays it out (little-endian f64s, all exact integers).
pub const Meta = extern struct {
    /// The directory's whole path (no NUL).
    dir_ptr: f64,
    dir_len: f64,
    /// The names, each followed by a NUL, `count` of them.
    names_ptr: f64,
    names_len: f64,
    count: f64,
    /// The slot of the first name's record (free-running: the record is at first_slot % ring_slots).
    first_slot: f64,
    /// The ring: ring_slots records of Record.len f64s.
    ring_ptr: f64,
    ring_slots: f64,
};

/// One entry's record, in f64s (JS: src/native/native-stat-prefetch.ts).
pub const Record = struct {
    pub const len = 16;
    pub const errno = 0;
    pub const mode = 1;
    pub const size = 2;
    pub const mtime = 3;
    pub const nsec = 4;
    pub const uid = 5;
    pub const gid = 6;
    pub const dev_major = 7;
    pub const dev_minor = 8;
    /// The inode number in two 32-bit halves (a double holds only 53 bits).
    pub const ino_lo = 9;
    pub const ino_hi = 10;
    pub const nlink = 11;
    pub const rdev_major = 12;
    pub const rdev_minor = 13;
    pub const atime = 14;
};

const Job = struct {
    dir: [:0]u8,
    /// The names, NUL-terminated one after the other.
    names: []u8,
    count: usize,
    first_slot: u64,
    ring: [*]f64,
    ring_slots: u64,
};

/// Jobs given and not taken yet: a one-producer, one-consumer ring without locks.
const capacity = 1024;
/// A sleeping worker is woken once this many jobs wait (or by kick).
const wake_batch = 8;

const Queue = struct {
    jobs: job_ring.JobRing(Job, capacity, wake_batch) = .{},
    /// Slots whose records are written (in order: slots 0..done-1).
    done: std.atomic.Value(u64) = .init(0),
    /// Slots below this are not wanted any more (the generator is past them).
    skip_below: std.atomic.Value(u64) = .init(0),
};

var q: Queue = .{};

/// Queues the job `meta` describes (its names are copied): 0, or -errno
/// (-EAGAIN when the queue is full, -EINVAL for a malformed job).
pub fn submit(meta: Meta) i32 {
    const count: usize = @intFromFloat(meta.count);
    const ring_slots: u64 = @intFromFloat(meta.ring_slots);
    if (count == 0) return 0;
    if (ring_slots == 0 or count > ring_slots or meta.ring_ptr == 0) return -22;
    const names = bytesAt(meta.names_ptr, meta.names_len);
    if (std.mem.count(u8, names, "\x00") != count or names[names.len - 1] != 0) return -22;
    if (q.jobs.full()) return -11;
    const job = gpa.create(Job) catch return -12;
    const dir = gpa.dupeZ(u8, bytesAt(meta.dir_ptr, meta.dir_len)) catch {
        gpa.destroy(job);
        return -12;
    };
    const own_names = gpa.dupe(u8, names) catch {
        gpa.free(dir);
        gpa.destroy(job);
        return -12;
    };
    job.* = .{
        .dir = dir,
        .names = own_names,
        .count = count,
        .first_slot = @intFromFloat(meta.first_slot),
        .ring = @ptrFromInt(@as(usize, @intFromFloat(meta.ring_ptr))),
        .ring_slots = ring_slots,
    };
    if (!q.jobs.push(job, work, worker_stack)) {
        freeJob(job);
        return -11;
    }
    return 0;
}

fn freeJob(job: *Job) void {
    gpa.free(job.dir);
    gpa.free(job.names);
    gpa.destroy(job);
}

/// Wakes the worker if it sleeps with jobs waiting (the JS side calls it after a batch of submits).
pub fn kick() void {
    q.jobs.kick();
}

/// How many slots are done (their records written, in order).
pub fn done() u64 {
    return q.done.load(.acquire);
}

/// Slots below `slot` need not be done any more: the worker passes over them (records left unwritten).
pub fn skipBelow(slot: u64) void {
    if (slot > q.skip_below.load(.monotonic)) q.skip_below.store(slot, .release);
}

fn work() void {
    while (true) {
        const job = q.jobs.take();
        run(job);
        freeJob(job);
    }
}

const AT_FDCWD: i32 = -100;

fn run(job: *Job) void {
    const end = job.first_slot + job.count;
    // Wholly passed already: nothing to open.
    if (q.skip_below.load(.acquire) >= end) {
        q.done.store(end, .release);
        return;
    }
    const flags: linux.O = .{ .ACCMODE = .RDONLY, .DIRECTORY = true, .CLOEXEC = true };
    var rc = linux.openat(AT_FDCWD, job.dir, flags, 0);
    var dir_errno = syscallErrno(rc);
    while (dir_errno == .INTR) {
        rc = linux.openat(AT_FDCWD, job.dir, flags, 0);
        dir_errno = syscallErrno(rc);
    }
    const dirfd: i32 = if (dir_errno == .SUCCESS) @intCast(rc) else -1;
    var at: usize = 0;
    var slot = job.first_slot;
    while (slot < end) : (slot += 1) {
        const len = std.mem.indexOfScalar(u8, job.names[at..], 0).?;
        const name: [*:0]const u8 = @ptrCast(job.names[at .. at + len :0].ptr);
        at += len + 1;
        if (slot >= q.skip_below.load(.acquire)) {
            const rec = job.ring[@intCast((slot % job.ring_slots) * Record.len)..][0..Record.len];
            if (dirfd < 0) fail(rec, dir_errno) else statOne(rec, dirfd, name);
        }
        q.done.store(slot + 1, .release);
    }
    if (dirfd >= 0) _ = linux.close(dirfd);
}

fn fail(rec: *[Record.len]f64, e: linux.E) void {
    @memset(rec, 0);
    rec[Record.errno] = @floatFromInt(@intFromEnum(e));
}

fn statOne(rec: *[Record.len]f64, dirfd: i32, name: [*:0]const u8) void {
    var sx: linux.Statx = undefined;
    var e = syscallErrno(linux.statx(dirfd, name, linux.AT.SYMLINK_NOFOLLOW, linux.STATX_BASIC_STATS, &sx));
    while (e == .INTR) e = syscallErrno(linux.statx(dirfd, name, linux.AT.SYMLINK_NOFOLLOW, linux.STATX_BASIC_STATS, &sx));
    if (e != .SUCCESS) return fail(rec, e);
    encode(rec, &sx);
}

/// The statx record as fd-ops.ts decodeStatx splits it: seconds by
/// truncation towards zero (a negative time with nanoseconds gets a negative
/// nanosecond part), the atime in whole seconds the same way.
pub fn encode(rec: *[Record.len]f64, sx: *const linux.Statx) void {
    var mtime: i64 = sx.mtime.sec;
    var nsec: i64 = sx.mtime.nsec;
    if (mtime < 0 and nsec > 0) {
        mtime += 1;
        nsec -= 1_000_000_000;
    }
    var atime: i64 = sx.atime.sec;
    if (atime < 0 and sx.atime.nsec > 0) atime += 1;
    rec.* = .{0} ** Record.len;
    rec[Record.mode] = @floatFromInt(sx.mode);
    rec[Record.size] = @floatFromInt(sx.size);
    rec[Record.mtime] = @floatFromInt(mtime);
    rec[Record.nsec] = @floatFromInt(nsec);
    rec[Record.uid] = @floatFromInt(sx.uid);
    rec[Record.gid] = @floatFromInt(sx.gid);
    rec[Record.dev_major] = @floatFromInt(sx.dev_major);
    rec[Record.dev_minor] = @floatFromInt(sx.dev_minor);
    rec[Record.ino_lo] = @floatFromInt(sx.ino & 0xffff_ffff);
    rec[Record.ino_hi] = @floatFromInt(sx.ino >> 32);
    rec[Record.nlink] = @floatFromInt(sx.nlink);
    rec[Record.rdev_major] = @floatFromInt(sx.rdev_major);
    rec[Record.rdev_minor] = @floatFromInt(sx.rdev_minor);
    rec[Record.atime] = @floatFromInt(atime);
}

test "encode splits negative times by truncation" {
    var sx = std.mem.zeroes(linux.Statx);
    sx.mode = 0o100644;
    sx.size = 1 << 40;
    sx.mtime = .{ .sec = -2, .nsec = 250_000_000, .__pad1 = 0 };
    sx.atime = .{ .sec = -5, .nsec = 1, .__pad1 = 0 };
    sx.ino = 0x1_2345_6789;
    var rec: [Record.len]f64 = undefined;
    encode(&rec, &sx);
    try std.testing.expectEqual(@as(f64, -1), rec[Record.mtime]);
    try std.testing.expectEqual(@as(f64, -750_000_000), rec[Record.nsec]);
    try std.testing.expectEqual(@as(f64, -4), rec[Record.atime]);
    try std.testing.expectEqual(@as(f64, 0x2345_6789), rec[Record.ino_lo]);
    try std.testing.expectEqual(@as(f64, 1), rec[Record.ino_hi]);
    try std.testing.expectEqual(@as(f64, 1 << 40), rec[Record.size]);
}

fn waitDone(slot: u64) void {
    var tries: usize = 0;
    while (done() < slot) : (tries += 1) {
        if (tries > 10_000) @panic("stat prefetch worker did not finish");
        std.Thread.sleep(1_000_000);
    }
}

test "records of a directory, a missing name and a missing directory" {
    var tmp = std.testing.tmpDir(.{});
    defer tmp.cleanup();
    try tmp.dir.writeFile(.{ .sub_path = "file", .data = "hello" });
    try tmp.dir.makeDir("sub");
    try tmp.dir.symLink("file", "link", .{});
    var buf: [std.fs.max_path_bytes]u8 = undefined;
    const root = try tmp.dir.realpath(".", &buf);

    var ring: [8 * Record.len]f64 = undefined;
    const start = done();
    const names = "file\x00sub\x00link\x00gone\x00";
    try std.testing.expectEqual(@as(i32, 0), submit(.{
        .dir_ptr = @floatFromInt(@intFromPtr(root.ptr)),
        .dir_len = @floatFromInt(root.len),
        .names_ptr = @floatFromInt(@intFromPtr(names.ptr)),
        .names_len = names.len,
        .count = 4,
        .first_slot = @floatFromInt(start),
        .ring_ptr = @floatFromInt(@intFromPtr(&ring)),
        .ring_slots = 8,
    }));
    const missing = "/nonexistent-oc-rsync-dir";
    try std.testing.expectEqual(@as(i32, 0), submit(.{
        .dir_ptr = @floatFromInt(@intFromPtr(missing.ptr)),
        .dir_len = missing.len,
        .names_ptr = @floatFromInt(@intFromPtr(names.ptr)),
        .names_len = 5,
        .count = 1,
        .first_slot = @floatFromInt(start + 4),
        .ring_ptr = @floatFromInt(@intFromPtr(&ring)),
        .ring_slots = 8,
    }));
    kick();
    waitDone(start + 5);
    const at = struct {
        fn rec(r: *[8 * Record.len]f64, slot: u64) []f64 {
            return r[@intCast((slot % 8) * Record.len)..][0..Record.len];
        }
    };
    const file = at.rec(&ring, start);
    try std.testing.expectEqual(@as(f64, 0), file[Record.errno]);
    try std.testing.expectEqual(@as(f64, 5), file[Record.size]);
    try std.testing.expect(linux.S.ISREG(@intFromFloat(file[Record.mode])));
    try std.testing.expect(linux.S.ISDIR(@intFromFloat(at.rec(&ring, start + 1)[Record.mode])));
    try std.testing.expect(linux.S.ISLNK(@intFromFloat(at.rec(&ring, start + 2)[Record.mode])));
    try std.testing.expectEqual(@as(f64, 2), at.rec(&ring, start + 3)[Record.errno]);
    try std.testing.expectEqual(@as(f64, 2), at.rec(&ring, start + 4)[Record.errno]);
    // Malformed jobs are refused.
    try std.testing.expectEqual(@as(i32, -22), submit(.{ .dir_ptr = 0, .dir_len = 0, .names_ptr = @floatFromInt(@intFromPtr(names.ptr)), .names_len = 4, .count = 1, .first_slot = 0, .ring_ptr = @floatFromInt(@intFromPtr(&ring)), .ring_slots = 8 }));
}
