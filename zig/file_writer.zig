//! The receiver's finished files put in place by a worker thread (receiver.c
//! receive_data's writes and finish_transfer, done off the JS thread).
//!
//! The JS thread verifies each file, then hands over a job: the directory's
//! descriptor, the temp and final names, the file's data (pointers into
//! buffers the JS side keeps alive until the job is done) and the attributes
//! to set. One worker runs the jobs strictly in order: create the temp file
//! exclusively with its mode, write everything, set owner, mode and times
//! through the descriptor, close it and rename it over the final name. On
//! kernel-sized transfers these calls are most of the receiving side's time;
//! here they overlap with the JS thread reading and checking the next files.
//!
//! Jobs may also set a directory's times by path (touch_up_dirs, which must
//! follow the files written into it) or close a directory descriptor that
//! earlier jobs still use (the JS side never closes one with jobs pending).
//!
//! A failed job is recorded (its sequence number, errno and the step) for the
//! JS thread to report; its temp file is removed. The worker goes on with the
//! next job, as the receiver goes on after a failed file.
//!
//! Threads: submit, kick, completed, wait and takeFailure are JS-thread only;
//! the worker owns the jobs it has taken. Neither side takes a lock in the
//! common case, and a sleeping worker is woken once per batch (see Queue).
const std = @import("std");
const builtin = @import("builtin");
const linux = std.os.linux;
const job_ring = @import("job_ring.zig");
const syscallErrno = @import("raw_errno.zig").of;
const bytesAt = job_ring.bytesAt;

pub const supported = builtin.os.tag == .linux;

const gpa = std.heap.c_allocator;
const worker_stack = 256 * 1024;

/// Which attributes a file job sets (JS: src/native/api.ts WRITE_ATTR).
pub const Attr = struct {
    pub const uid: u32 = 1;
    pub const gid: u32 = 2;
    pub const mode: u32 = 4;
    pub const mtime: u32 = 8;
    pub const atime: u32 = 16;
};

/// The step that failed (JS: WriteStep).
pub const Step = enum(u8) { none, open, write, fstat, chown, chmod, utimes, close, rename, stat_dir, utimes_dir };

pub const Kind = enum(u8) { file, dir_times, close_fd };

/// A job's fixed-size part, as the JS side lays it out (little-endian f64s: all values are exact integers).
pub const Meta = extern struct {
    kind: f64,
    dir_fd: f64,
    create_mode: f64,
    attrs: f64,
    uid: f64,
    gid: f64,
    mode: f64,
    mtime: f64,
    nsec: f64,
    atime: f64,
    /// dir_times: -1 compares to the nanosecond, 0 whole seconds, N > 0 within N seconds (--modify-window).
    window: f64,
    /// Where the names (no NUL) and the data's (address, length) u64 pairs are, in the caller's memory.
    name_ptr: f64,
    name_len: f64,
    final_ptr: f64,
    final_len: f64,
    iov_ptr: f64,
    iov_count: f64,
};

const Job = struct {
    seq: u64,
    meta: Meta,
    /// The temp name (file), or the directory's whole path (dir_times).
    name: [:0]u8,
    final: [:0]u8,
    iov: []std.posix.iovec_const,
};

const Failure = struct { seq: u64, errno: i32, step: Step };

/// Jobs given and not yet taken by the worker (job_ring.zig). The JS side
/// never has more than `capacity - 1` jobs outstanding (PutQueue waits).
const capacity = 8192;

/// A sleeping worker is woken once this many jobs wait, or by kick() or wait().
const wake_batch = 64;

const Futex = std.Thread.Futex;
const no_wait = std.math.maxInt(u64);

const Queue = struct {
    jobs: job_ring.JobRing(Job, capacity, wake_batch) = .{},
    /// The last job done (jobs finish in order).
    completed: std.atomic.Value(u64) = .init(0),
    /// The JS thread sleeps on `done_word` only after setting `wait_for` (the job it waits for) and
    /// looking at `completed` again; the worker, seeing that job done, bumps the word and wakes it.
    wait_for: std.atomic.Value(u64) = .init(no_wait),
    done_word: std.atomic.Value(u32) = .init(0),
    /// Guards `failures` only; the count lets the JS thread skip the lock.
    mutex: std.Thread.Mutex = .{},
    failures: std.ArrayListUnmanaged(Failure) = .{},
    failure_count: std.atomic.Value(u32) = .init(0),
    submitted: u64 = 0,
};

var q: Queue = .{};

/// Queues the job `meta` describes; returns its sequence number (1, 2, ...) or -errno.
pub fn submit(meta: Meta) i64 {
    const name = bytesAt(meta.name_ptr, meta.name_len);
    const final = bytesAt(meta.final_ptr, meta.final_len);
    const iov_count: usize = @intFromFloat(meta.iov_count);
    const iov: []const std.posix.iovec_const = if (iov_count == 0) &.{} else @as([*]const std.posix.iovec_const, @ptrFromInt(@as(usize, @intFromFloat(meta.iov_ptr))))[0..iov_count];
    if (q.submitted - q.completed.load(.acquire) >= capacity - 1) return -11;
    const job = gpa.create(Job) catch return -12;
    job.* = .{
        .seq = q.submitted + 1,
        .meta = meta,
        .name = gpa.dupeZ(u8, name) catch return fail(job, null, null),
        .final = gpa.dupeZ(u8, final) catch return fail(job, job.name, null),
        .iov = gpa.dupe(std.posix.iovec_const, iov) catch return fail(job, job.name, job.final),
    };
    // Once pushed the job is the worker's (it frees it when done): nothing of it is read after.
    const seq = job.seq;
    if (!q.jobs.push(job, work, worker_stack)) {
        freeJob(job);
        return -11;
    }
    q.submitted += 1;
    return @intCast(seq);
}

fn fail(job: *Job, name: ?[:0]u8, final: ?[:0]u8) i64 {
    if (name) |n| gpa.free(n);
    if (final) |f| gpa.free(f);
    gpa.destroy(job);
    return -12;
}

fn freeJob(job: *Job) void {
    gpa.free(job.name);
    gpa.free(job.final);
    gpa.free(job.iov);
    gpa.destroy(job);
}

/// How many jobs are done (in order: jobs 1..completed).
pub fn completed() u64 {
    return q.completed.load(.acquire);
}

/// Wakes the worker if it sleeps with jobs waiting (the JS side calls it before it goes idle).
pub fn kick() void {
    q.jobs.kick();
}

/// Blocks until job `seq` (and every one before it) is done.
pub fn wait(seq: u64) void {
    if (q.completed.load(.acquire) >= seq) return;
    kick();
    while (true) {
        const word = q.done_word.load(.acquire);
        q.wait_for.store(seq, .seq_cst);
        if (q.completed.load(.seq_cst) >= seq) break;
        Futex.wait(&q.done_word, word);
    }
    q.wait_for.store(no_wait, .seq_cst);
}

/// The oldest failure not taken yet into `out` (seq, errno, step as f64s): 1, or 0 when there is none.
pub fn takeFailure(out: *[3]f64) u32 {
    if (q.failure_count.load(.acquire) == 0) return 0;
    q.mutex.lock();
    defer q.mutex.unlock();
    if (q.failures.items.len == 0) return 0;
    const f = q.failures.orderedRemove(0);
    _ = q.failure_count.fetchSub(1, .release);
    out.* = .{ @floatFromInt(f.seq), @floatFromInt(f.errno), @floatFromInt(@intFromEnum(f.step)) };
    return 1;
}

fn work() void {
    while (true) {
        const job = q.jobs.take();
        const result = run(job);

        if (result.step != .none) {
            q.mutex.lock();
            q.failures.append(gpa, .{ .seq = job.seq, .errno = result.errno, .step = result.step }) catch {};
            _ = q.failure_count.fetchAdd(1, .release);
            q.mutex.unlock();
        }
        q.completed.store(job.seq, .seq_cst);
        if (job.seq >= q.wait_for.load(.seq_cst)) {
            _ = q.done_word.fetchAdd(1, .release);
            Futex.wake(&q.done_word, 1);
        }
        freeJob(job);
    }
}

const Result = struct { step: Step = .none, errno: i32 = 0 };

fn failed(step: Step, rc: usize) ?Result {
    const e = syscallErrno(rc);
    if (e == .SUCCESS) return null;
    return .{ .step = step, .errno = @intCast(@intFromEnum(e)) };
}

fn int(comptime T: type, v: f64) T {
    return @intFromFloat(v);
}

fn run(job: *Job) Result {
    const m = job.meta;
    switch (@as(Kind, @enumFromInt(int(u8, m.kind)))) {
        .close_fd => {
            _ = linux.close(int(i32, m.dir_fd));
            return .{};
        },
        .dir_times => return touchDir(job),
        .file => return putFile(job),
    }
}

fn putFile(job: *Job) Result {
    const m = job.meta;
    const dir = int(i32, m.dir_fd);
    const flags: linux.O = .{ .ACCMODE = .WRONLY, .CREAT = true, .EXCL = true, .NOFOLLOW = true, .CLOEXEC = true };
    var rc = linux.openat(dir, job.name, flags, int(u32, m.create_mode));
    if (failed(.open, rc)) |r| return r;
    const fd: i32 = @intCast(rc);
    var result = writeAndSet(fd, job);
    rc = linux.close(fd);
    if (result.step == .none) {
        if (failed(.close, rc)) |r| result = r;
    }
    if (result.step == .none) {
        rc = linux.renameat(dir, job.name, dir, job.final);
        if (failed(.rename, rc)) |r| result = r;
    }
    if (result.step != .none) _ = linux.unlinkat(dir, job.name, 0);
    return result;
}

fn writeAndSet(fd: i32, job: *Job) Result {
    if (writeAll(fd, job.iov)) |r| return r;
    const m = job.meta;
    const attrs = int(u32, m.attrs);
    var st: linux.Stat = undefined;
    if (failed(.fstat, linux.fstat(fd, &st))) |r| return r;
    const uid = int(u32, m.uid);
    const gid = int(u32, m.gid);
    const change_uid = attrs & Attr.uid != 0 and st.uid != uid;
    const change_gid = attrs & Attr.gid != 0 and st.gid != gid;
    if (change_uid or change_gid) {
        if (failed(.chown, linux.fchown(fd, if (change_uid) uid else st.uid, if (change_gid) gid else st.gid))) |r| return r;
        // chown clears setuid/setgid: look again so that the mode below puts them back.
        if (st.mode & 0o6000 != 0) {
            if (failed(.fstat, linux.fstat(fd, &st))) |r| return r;
        }
    }
    const mode = int(u32, m.mode) & 0o7777;
    if (attrs & Attr.mode != 0 and st.mode & 0o7777 != mode) {
        if (failed(.chmod, linux.fchmod(fd, mode))) |r| return r;
    }
    const mtime = int(i64, m.mtime);
    const nsec = int(i64, m.nsec);
    const cur = st.mtime();
    const set_mtime = attrs & Attr.mtime != 0 and !(cur.sec == mtime and cur.nsec == nsec);
    const set_atime = attrs & Attr.atime != 0;
    if (set_mtime or set_atime) {
        const times = [2]linux.timespec{
            if (set_atime) .{ .sec = int(i64, m.atime), .nsec = 0 } else .{ .sec = 0, .nsec = linux.UTIME.OMIT },
            if (set_mtime) .{ .sec = mtime, .nsec = nsec } else .{ .sec = cur.sec, .nsec = cur.nsec },
        };
        if (failed(.utimes, linux.futimens(fd, &times))) |r| return r;
    }
    return .{};
}

fn writeAll(fd: i32, iov_in: []const std.posix.iovec_const) ?Result {
    var iov = iov_in;
    // Never more than IOV_MAX at once; a short write resumes inside the vector it stopped in.
    var partial: std.posix.iovec_const = undefined;
    while (iov.len > 0) {
        const count = @min(iov.len, 1024);
        const rc = linux.writev(fd, iov.ptr, count);
        const e = syscallErrno(rc);
        if (e == .INTR) continue;
        if (e != .SUCCESS) return .{ .step = .write, .errno = @intCast(@intFromEnum(e)) };
        var n: usize = rc;
        while (iov.len > 0 and n >= iov[0].len) {
            n -= iov[0].len;
            iov = iov[1..];
        }
        if (n > 0) {
            partial = .{ .base = iov[0].base + n, .len = iov[0].len - n };
            const rest = writeAll(fd, (&partial)[0..1]);
            if (rest) |r| return r;
            iov = iov[1..];
        }
    }
    return null;
}

/// generator.c touch_up_dirs for one directory: its mtime set when it differs (by --modify-window's rule).
fn touchDir(job: *Job) Result {
    const m = job.meta;
    var st: linux.Stat = undefined;
    const AT_FDCWD: i32 = -100;
    // Gone: nothing to touch, as the synchronous path decides. A file or symlink standing where the list has
    // a directory gets the time, as upstream's touch_up_dirs gives it (a symlink its own, never through it).
    if (syscallErrno(linux.fstatat(AT_FDCWD, job.name, &st, linux.AT.SYMLINK_NOFOLLOW)) != .SUCCESS) return .{};
    const no_follow: u32 = if (linux.S.ISLNK(st.mode)) linux.AT.SYMLINK_NOFOLLOW else 0;
    const mtime = int(i64, m.mtime);
    const nsec = int(i64, m.nsec);
    const window = int(i64, m.window);
    const cur = st.mtime();
    const same = if (window < 0) cur.sec == mtime and cur.nsec == nsec else if (window == 0) cur.sec == mtime else @abs(cur.sec - mtime) <= window;
    if (same) return .{};
    const times = [2]linux.timespec{ .{ .sec = 0, .nsec = linux.UTIME.OMIT }, .{ .sec = mtime, .nsec = nsec } };
    if (failed(.utimes_dir, linux.utimensat(AT_FDCWD, job.name, &times, no_follow))) |r| return r;
    return .{};
}
