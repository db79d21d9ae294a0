//! Whole-file checksums (-c, generator.c quick_check_ok's file_checksum) made
//! ahead of need: the JS thread hints the destination files it will check
//! (path, the size the sender's list says, algorithm) in list order, worker
//! threads open, fstat and hash them in the background, and the JS thread
//! takes each digest when it reaches the file (waiting if it is being made,
//! or hashing it itself if no worker has started it yet).
//!
//! A result is only a digest when the file was a regular file of exactly the
//! hinted size and all of it was read: anything else (missing, another type,
//! another size, a read error, a short read) is "no result", and the caller
//! falls back to its own path, which reports errors as it always did.
//!
//! Threads: prefetch, take and end are only called from the JS thread.
const std = @import("std");
const builtin = @import("builtin");
const hasher = @import("hasher.zig");
const stat_prefetch = @import("stat_prefetch.zig");
const syscallErrno = @import("raw_errno.zig").of;
const linux = std.os.linux;

/// A file's lstat as stat_prefetch.zig records it (errno set when it failed).
pub const Record = stat_prefetch.Record;
pub const StatRecord = [Record.len]f64;

pub const supported = builtin.os.tag == .linux;

const gpa = std.heap.c_allocator;

/// Hints held at once (queued, running or done but not taken); more are refused
/// and the JS side offers them again later.
pub const capacity = 1024;
/// Each worker's (and the JS thread's) read buffer: large reads, few syscalls.
const read_size = 512 * 1024;
const max_workers = 2;
const worker_stack = 256 * 1024;
/// The kernel's PATH_MAX, NUL included.
const path_max = 4096;

const State = enum(u8) { queued, running, done };

const Job = struct {
    path: [:0]u8,
    size: u64,
    alg: hasher.Alg,
    state: State = .queued,
    /// Dropped by the JS thread while a worker hashed it: the worker frees it.
    abandoned: bool = false,
    /// Digest length, or 0: no result.
    len: u8 = 0,
    digest: [hasher.max_digest_length]u8 = undefined,
    /// The lstat the hashing began with (see stat).
    stat: StatRecord = undefined,
};

const Pool = struct {
    mutex: std.Thread.Mutex = .{},
    /// Signalled when jobs are queued.
    work: std.Thread.Condition = .{},
    /// Broadcast when a job is done.
    done: std.Thread.Condition = .{},
    /// Ring of jobs by sequence number: [head, tail) are held, [next, tail) not started.
    ring: [capacity]?*Job = [_]?*Job{null} ** capacity,
    head: u64 = 0,
    next: u64 = 0,
    tail: u64 = 0,
    workers: usize = 0,
    started: bool = false,
    /// The JS thread waits on `done`: only then do workers wake it (a futex call per file otherwise).
    waiting: bool = false,
};

var pool: Pool = .{};
/// The JS thread's buffer for the files it hashes itself (made on first use).
var own_buffer: ?[]u8 = null;
/// ... and the directory of the last hinted file it hashed.
var own_dir: DirCache = .{};

fn slot(seq: u64) *?*Job {
    return &pool.ring[@intCast(seq % capacity)];
}

/// Digest of the first `size` bytes of the regular file at `path`, into `out`:
/// its length, or 0 when there is no result (see the top of the file).
pub fn hashFile(path: [*:0]const u8, size: u64, alg: hasher.Alg, buf: []u8, out: *[hasher.max_digest_length]u8) usize {
    var rec: StatRecord = undefined;
    return hashFileAt(std.posix.AT.FDCWD, path, size, alg, buf, out, &rec);
}

/// hashFile of `name` in the directory `dirfd` (or AT.FDCWD), its lstat into `rec`.
fn hashFileAt(dirfd: std.posix.fd_t, name: [*:0]const u8, size: u64, alg: hasher.Alg, buf: []u8, out: *[hasher.max_digest_length]u8, rec: *StatRecord) usize {
    // lstat before opening: a hinted name may be a FIFO or a device in the destination, which is never opened
    // (O_NONBLOCK too, should one appear in between).
    if (!lstat(dirfd, name, rec)) return 0;
    const mode: u32 = @intFromFloat(rec[Record.mode]);
    if (!std.posix.S.ISREG(mode) or rec[Record.size] != @as(f64, @floatFromInt(size))) return 0;
    const fd = std.posix.openatZ(dirfd, name, .{ .ACCMODE = .RDONLY, .NOFOLLOW = true, .NONBLOCK = true, .CLOEXEC = true }, 0) catch return 0;
    defer std.posix.close(fd);
    var h = hasher.Hasher.init(alg, 0);
    var left = size;
    while (left > 0) {
        const want: usize = @intCast(@min(left, buf.len));
        const n = std.posix.read(fd, buf[0..want]) catch return 0;
        if (n == 0) return 0;
        h.update(buf[0..n]);
        left -= n;
    }
    return h.final(out);
}

/// The lstat of `name` in `dirfd` into `rec`, as the generator's own (statx, src/fs/fd-ops.ts lstatAt):
/// whether it succeeded (otherwise rec holds the errno only).
fn lstat(dirfd: std.posix.fd_t, name: [*:0]const u8, rec: *StatRecord) bool {
    var sx: linux.Statx = undefined;
    var e = syscallErrno(linux.statx(dirfd, name, linux.AT.SYMLINK_NOFOLLOW, linux.STATX_BASIC_STATS, &sx));
    while (e == .INTR) e = syscallErrno(linux.statx(dirfd, name, linux.AT.SYMLINK_NOFOLLOW, linux.STATX_BASIC_STATS, &sx));
    if (e != .SUCCESS) {
        failed(rec, e);
        return false;
    }
    stat_prefetch.encode(rec, &sx);
    return true;
}

fn failed(rec: *StatRecord, e: linux.E) void {
    rec.* = .{0} ** Record.len;
    rec[Record.errno] = @floatFromInt(@intFromEnum(e));
}

/// The directory of the last file a thread hashed, kept open: the hints come in
/// list order, a directory's files one after another, so the lstat and the open
/// of each file look up one name in it instead of walking its whole path (that
/// walk was a third of a worker's system time on the kernel tree). Let go at
/// the end of each generator pass (`end`), so that no directory is kept from
/// one pass to the next.
const DirCache = struct {
    fd: std.posix.fd_t = -1,
    /// The directory's path (no NUL) as the hints spell it.
    path: [path_max]u8 = undefined,
    len: usize = 0,
    pass: u64 = 0,

    /// hashFile of `path` (NUL-terminated), through the cached directory.
    fn hash(c: *DirCache, path: [:0]const u8, size: u64, alg: hasher.Alg, buf: []u8, out: *[hasher.max_digest_length]u8, rec: *StatRecord) usize {
        const cut = std.mem.lastIndexOfScalar(u8, path, '/') orelse
            return hashFileAt(std.posix.AT.FDCWD, path.ptr, size, alg, buf, out, rec);
        // (The JS side offers shorter paths only; one longer fails as the kernel's walk would.)
        if (cut >= path_max) {
            failed(rec, .NAMETOOLONG);
            return 0;
        }
        // "/name": the root is the directory.
        const dir = if (cut == 0) path[0..1] else path[0..cut];
        const name: [*:0]const u8 = path[cut + 1 ..].ptr;
        const pass = @atomicLoad(u64, &passes, .acquire);
        if (c.fd < 0 or c.pass != pass or !std.mem.eql(u8, c.path[0..c.len], dir)) {
            c.close();
            @memcpy(c.path[0..dir.len], dir);
            c.path[dir.len] = 0;
            // O_PATH: only looked up in, as the walk it replaces (search permission, no read permission asked).
            const flags: linux.O = .{ .ACCMODE = .RDONLY, .PATH = true, .DIRECTORY = true, .CLOEXEC = true };
            var rc = linux.open(@ptrCast(&c.path), flags, 0);
            var e = syscallErrno(rc);
            while (e == .INTR) {
                rc = linux.open(@ptrCast(&c.path), flags, 0);
                e = syscallErrno(rc);
            }
            // The name's lstat fails as the directory's open did (ENOENT or ENOTDIR, mostly).
            if (e != .SUCCESS) {
                failed(rec, e);
                return 0;
            }
            c.fd = @intCast(rc);
            c.len = dir.len;
            c.pass = pass;
        }
        return hashFileAt(c.fd, name, size, alg, buf, out, rec);
    }

    fn close(c: *DirCache) void {
        if (c.fd >= 0) std.posix.close(c.fd);
        c.fd = -1;
        c.len = 0;
    }
};

/// Generator passes ended (`end`): a cached directory from an earlier one is not used.
var passes: u64 = 0;

fn startWorkers() void {
    pool.started = true;
    const cpus = std.Thread.getCpuCount() catch 1;
    const n = std.math.clamp(cpus, 1, max_workers);
    for (0..n) |_| {
        const t = std.Thread.spawn(.{ .stack_size = worker_stack }, workerMain, .{}) catch break;
        t.detach();
        pool.workers += 1;
    }
}

fn run(job: *Job, buf: []u8, dir: *DirCache) void {
    job.len = @intCast(dir.hash(job.path, job.size, job.alg, buf, &job.digest, &job.stat));
}

/// A job and its path in one allocation (one malloc and one free per hinted file, not two).
fn create(path: []const u8, size: u64, alg: hasher.Alg) ?*Job {
    const block = gpa.alignedAlloc(u8, .of(Job), @sizeOf(Job) + path.len + 1) catch return null;
    const job: *Job = @ptrCast(block.ptr);
    const z = block[@sizeOf(Job)..];
    @memcpy(z[0..path.len], path);
    z[path.len] = 0;
    job.* = .{ .path = z[0..path.len :0], .size = size, .alg = alg };
    return job;
}

fn destroy(job: *Job) void {
    const block: [*]align(@alignOf(Job)) u8 = @ptrCast(job);
    gpa.free(block[0 .. @sizeOf(Job) + job.path.len + 1]);
}

/// The largest file the JS thread hashes while its own is being hashed (see ready).
const help_size = 1 << 20;

/// Jobs a worker claims at once. 4 halved the futex calls on the kernel tree but left the JS thread waiting
/// behind a descheduled worker's claims on a loaded machine (it may only hash a job nobody claimed): 1 was faster.
const claim = 1;

fn workerMain() void {
    const buf = gpa.alloc(u8, read_size) catch return;
    var dir: DirCache = .{};
    var mine: [claim]*Job = undefined;
    pool.mutex.lock();
    while (true) {
        if (pool.next >= pool.tail) {
            // Idle: no directory is held open while nothing is asked.
            dir.close();
            pool.work.wait(&pool.mutex);
            continue;
        }
        var n: usize = 0;
        while (n < claim and pool.next < pool.tail) : (n += 1) {
            mine[n] = slot(pool.next).*.?;
            pool.next += 1;
            mine[n].state = .running;
        }
        pool.mutex.unlock();
        for (mine[0..n], 0..) |job, i| {
            run(job, buf, &dir);
            // The first one may be what the JS thread is waiting for: say so before the others.
            if (i == 0 and n > 1) {
                pool.mutex.lock();
                finish(job);
                pool.mutex.unlock();
            }
        }
        pool.mutex.lock();
        for (mine[@intFromBool(n > 1)..n]) |job| finish(job);
    }
}

/// With the lock held.
fn finish(job: *Job) void {
    job.state = .done;
    if (job.abandoned) destroy(job) else if (pool.waiting) pool.done.broadcast();
}

/// Lets go of the oldest held job (its slot is the head's).
fn dropHead() void {
    const s = slot(pool.head);
    const job = s.*.?;
    s.* = null;
    pool.head += 1;
    if (pool.next < pool.head) pool.next = pool.head;
    if (job.state == .running) job.abandoned = true else destroy(job);
}

/// Queues `list` (NUL-terminated paths) with `sizes`, in order, while there is
/// room: the number of paths accepted.
pub fn prefetch(list: []const u8, sizes: []const f64, alg: hasher.Alg) usize {
    if (!pool.started) startWorkers();
    if (pool.workers == 0) return 0;
    pool.mutex.lock();
    defer pool.mutex.unlock();
    var accepted: usize = 0;
    var at: usize = 0;
    while (accepted < sizes.len and at < list.len and pool.tail - pool.head < capacity) {
        const stop = std.mem.indexOfScalarPos(u8, list, at, 0) orelse break;
        const job = create(list[at..stop], @intFromFloat(sizes[accepted]), alg) orelse break;
        slot(pool.tail).* = job;
        pool.tail += 1;
        accepted += 1;
        at = stop + 1;
    }
    if (accepted > 0) pool.work.broadcast();
    return accepted;
}

/// The digest of `path` (no NUL) as hashFile makes it: a hinted job's result
/// (hints before it are dropped), or hashed here and now.
pub fn take(path: []const u8, size: u64, alg: hasher.Alg, out: *[hasher.max_digest_length]u8) usize {
    if (path.len == 0 or path.len >= path_max) return 0;
    pool.mutex.lock();
    if (ready(path, size, alg)) |job| {
        const n: usize = job.len;
        @memcpy(out[0..n], job.digest[0..n]);
        dropHead();
        pool.mutex.unlock();
        return n;
    }
    pool.mutex.unlock();
    var z: [path_max]u8 = undefined;
    @memcpy(z[0..path.len], path);
    z[path.len] = 0;
    return hashFile(@ptrCast(&z), size, alg, ownBuffer() orelse return 0, out);
}

/// The lstat a hinted file's hashing began with (its errno if it failed), into
/// `rec`, for the generator's stat of the file (the stat a worker made need not
/// be made again): the job is made or waited for as `take` would, and kept for
/// the `take` that follows. False when `path` was not hinted with this size and algorithm.
pub fn stat(path: []const u8, size: u64, alg: hasher.Alg, rec: *StatRecord) bool {
    if (path.len == 0 or path.len >= path_max) return false;
    pool.mutex.lock();
    defer pool.mutex.unlock();
    const job = ready(path, size, alg) orelse return false;
    rec.* = job.stat;
    return true;
}

/// With the lock held: the held job of `path`, now the head (the ones before it
/// dropped) and done (hashed here if no worker had started it), or null.
fn ready(path: []const u8, size: u64, alg: hasher.Alg) ?*Job {
    var seq = pool.head;
    const job: *Job = while (seq < pool.tail) : (seq += 1) {
        const job = slot(seq).*.?;
        if (job.size == size and job.alg == alg and std.mem.eql(u8, job.path, path)) break job;
    } else return null;
    while (pool.head < seq) dropHead();
    // Not started yet: hashed here rather than waiting behind the workers' current files.
    if (job.state == .queued) {
        const buf = ownBuffer() orelse return null;
        pool.next = seq + 1;
        job.state = .running;
        pool.mutex.unlock();
        run(job, buf, &own_dir);
        pool.mutex.lock();
        job.state = .done;
    }
    // Being hashed by a worker: rather than sleep until it is done (a futex wait, and a wake-up by the worker, for
    // one file in seven on the kernel tree), hash the next file no one has started, if small (a large one would keep
    // the generator from going on once its file is done).
    while (job.state != .done and pool.next < pool.tail and slot(pool.next).*.?.size <= help_size) {
        const buf = ownBuffer() orelse break;
        const other = slot(pool.next).*.?;
        pool.next += 1;
        other.state = .running;
        pool.mutex.unlock();
        run(other, buf, &own_dir);
        pool.mutex.lock();
        // Only the JS thread waits for jobs, and drops them: no one to wake, nothing abandoned.
        other.state = .done;
    }
    while (job.state != .done) {
        pool.waiting = true;
        pool.done.wait(&pool.mutex);
    }
    pool.waiting = false;
    return job;
}

fn ownBuffer() ?[]u8 {
    if (own_buffer == null) own_buffer = gpa.alloc(u8, read_size) catch null;
    return own_buffer;
}

/// Drops every hint not taken yet (the end of a generator pass).
pub fn end() void {
    pool.mutex.lock();
    defer pool.mutex.unlock();
    while (pool.head < pool.tail) dropHead();
    _ = @atomicRmw(u64, &passes, .Add, 1, .release);
    own_dir.close();
}

test "hinted, unhinted and mismatched files" {
    var tmp = std.testing.tmpDir(.{});
    defer tmp.cleanup();
    const data = "the quick brown fox jumps over the lazy dog\n" ** 300;
    try tmp.dir.writeFile(.{ .sub_path = "a", .data = data });
    try tmp.dir.writeFile(.{ .sub_path = "b", .data = data[0..100] });
    var base_buf: [path_max]u8 = undefined;
    const base = try tmp.dir.realpath(".", &base_buf);
    var pa: [path_max]u8 = undefined;
    var pb: [path_max]u8 = undefined;
    const a = try std.fmt.bufPrint(&pa, "{s}/a", .{base});
    const b = try std.fmt.bufPrint(&pb, "{s}/b", .{base});
    var want: [hasher.max_digest_length]u8 = undefined;
    _ = hasher.hash(.xxh3_128, data, 0, &want);

    var list: [2 * path_max]u8 = undefined;
    const l = try std.fmt.bufPrint(&list, "{s}\x00{s}\x00", .{ b, a });
    try std.testing.expectEqual(@as(usize, 2), prefetch(l, &.{ 5, data.len }, .xxh3_128));
    var got: [hasher.max_digest_length]u8 = undefined;
    var rec: StatRecord = undefined;
    // b was hinted with the wrong size: no result; a's is the digest.
    try std.testing.expectEqual(@as(usize, 0), take(b, 5, .xxh3_128, &got));
    try std.testing.expectEqual(@as(usize, 16), take(a, data.len, .xxh3_128, &got));
    try std.testing.expectEqualSlices(u8, want[0..16], got[0..16]);
    // b's lstat, kept from a hint taken since: none now. A hinted file's stat stays until its sum is taken.
    try std.testing.expect(!stat(b, 5, .xxh3_128, &rec));
    try std.testing.expectEqual(@as(usize, 1), prefetch(l[b.len + 1 ..], &.{data.len}, .xxh3_128));
    try std.testing.expect(stat(a, data.len, .xxh3_128, &rec));
    try std.testing.expectEqual(@as(f64, 0), rec[Record.errno]);
    try std.testing.expectEqual(@as(f64, @floatFromInt(data.len)), rec[Record.size]);
    try std.testing.expect(std.posix.S.ISREG(@intFromFloat(rec[Record.mode])));
    try std.testing.expectEqual(@as(usize, 16), take(a, data.len, .xxh3_128, &got));
    try std.testing.expectEqualSlices(u8, want[0..16], got[0..16]);
    // Not hinted: hashed on the spot.
    try std.testing.expectEqual(@as(usize, 16), take(a, data.len, .xxh3_128, &got));
    try std.testing.expectEqualSlices(u8, want[0..16], got[0..16]);
    try std.testing.expectEqual(@as(usize, 0), take(a, data.len + 1, .xxh3_128, &got));
    // SHA1's 20 bytes, hinted and not.
    var want_sha1: [hasher.max_digest_length]u8 = undefined;
    try std.testing.expectEqual(@as(usize, 20), hasher.hash(.sha1, data, 0, &want_sha1));
    try std.testing.expectEqual(@as(usize, 1), prefetch(l[b.len + 1 ..], &.{data.len}, .sha1));
    try std.testing.expectEqual(@as(usize, 20), take(a, data.len, .sha1, &got));
    try std.testing.expectEqualSlices(u8, &want_sha1, &got);
    try std.testing.expectEqual(@as(usize, 20), take(a, data.len, .sha1, &got));
    try std.testing.expectEqualSlices(u8, &want_sha1, &got);
    end();
}
