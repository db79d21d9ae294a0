//! The sender's directory scan: one directory read with getdents64 and every
//! entry lstat'ed with statx relative to the directory's fd (no path built or
//! resolved from the root per entry, no call through JS per entry), all in
//! one buffer that src/native/native-core.ts decodes. The TypeScript twin is
//! src/native/ts/scan.ts (readdirSync + lstatSync per entry).
//!
//! Prefetch (the "parallel walk"): the walker names directories it will enter
//! soon; a few worker threads scan them in the background and park the
//! results in a table keyed by path, where scanDir takes them (waiting for one
//! still being made). The table is bounded: max_jobs entries, and workers
//! pause while max_bytes of results are parked. When it is full, the oldest
//! hints of earlier calls make room: a depth-first walker, like upstream's,
//! needs the newest soonest, and hints never taken (directories the walker's
//! filters exclude) must not stop prefetching for the rest of the walk. (A
//! breadth-first walker would lose results this way: on the Linux tree it
//! walked slower with prefetching than without.) What one call brings beyond
//! the bound is dropped. end() frees whatever was never taken.
//!
//! Threads: scanDir, prefetch and end are only called from the JS thread.
//! The workers share the pool's queue and table with it, under pool.mutex.
//! Workers are detached and idle on a condition when there is no work, so the
//! process may exit at any time without their cooperation.
//!
//! Linux only (getdents64, statx); elsewhere `supported` is false and the
//! TypeScript side uses its twin.
const std = @import("std");
const builtin = @import("builtin");
const linux = std.os.linux;

pub const supported = builtin.os.tag == .linux;

/// Results outlive a call and cross threads: malloc is thread-safe and cheap.
const gpa = std.heap.c_allocator;

/// The kernel's PATH_MAX, NUL included: longer paths fail with ENAMETOOLONG.
pub const path_max: usize = 4096;
/// Prefetched directories held at once (queued, being scanned, or done).
pub const max_jobs: usize = 256;
/// Workers pause while the parked results take this much.
pub const max_bytes: usize = 64 << 20;
const max_workers: usize = 4;
/// A scan needs its getdents buffer and little else.
const worker_stack: usize = 256 << 10;
/// getdents64 reads this much at a time (about a thousand short names).
const dents_len: usize = 32 << 10;
/// Scratch lists bigger than this are freed after use rather than kept.
const scratch_keep: usize = 1 << 20;

pub const ENOMEM: u16 = 12;
pub const ENAMETOOLONG: u16 = 36;

/// A scan result is a Header, `count` Records, then the names, each
/// `name_len` bytes, in record order (so TypeScript copies all names in one
/// piece). Little-endian throughout.
pub const Header = extern struct {
    count: u32,
    zero: u32 = 0,
};

/// One entry: its lstat, or (err != 0) the errno its lstat failed with and zeros.
pub const Record = extern struct {
    name_len: u32 = 0,
    err: u32 = 0,
    mode: u32 = 0,
    uid: u32 = 0,
    gid: u32 = 0,
    nlink: u32 = 0,
    rdev_major: u32 = 0,
    rdev_minor: u32 = 0,
    /// Nanoseconds of the mtime, 0..999999999 (the seconds may be negative).
    nsec: u32 = 0,
    zero: u32 = 0,
    mtime: i64 = 0,
    size: u64 = 0,
    ino: u64 = 0,
    /// glibc's dev_t encoding (what node's stat reports).
    dev: u64 = 0,
};

comptime {
    std.debug.assert(@sizeOf(Header) == 8);
    std.debug.assert(@sizeOf(Record) == 72);
}

/// glibc's makedev: the 64-bit dev_t layout node reports.
pub fn makedev(major: u32, minor: u32) u64 {
    const ma: u64 = major;
    const mi: u64 = minor;
    return ((ma & 0xfffff000) << 32) | ((ma & 0xfff) << 8) | ((mi & 0xffffff00) << 12) | (mi & 0xff);
}

fn devMajor(dev: u64) u32 {
    return @truncate(((dev >> 8) & 0xfff) | ((dev >> 32) & 0xfffff000));
}

fn devMinor(dev: u64) u32 {
    return @truncate((dev & 0xff) | ((dev >> 12) & 0xffffff00));
}

// ---------------------------------------------------------------------------
// One directory

/// Reads directory `path` (following a symlink to it) with the lstat of each
/// entry into `out` as a scan result; `names` is scratch. Returns 0, or the
/// errno of the directory itself (opening or reading it).
pub fn scanPath(path: [*:0]const u8, out: *std.ArrayList(u8), names: *std.ArrayList(u8)) u16 {
    const fd = openDir(path);
    if (fd < 0) return @intCast(-fd);
    defer _ = linux.close(fd);
    return scanOpen(fd, out, names);
}

/// scanPath of a directory already open as `fd` (read from its current
/// offset: the start, for a fresh descriptor), which stays open.
pub fn scanOpen(fd: i32, out: *std.ArrayList(u8), names: *std.ArrayList(u8)) u16 {
    out.clearRetainingCapacity();
    names.clearRetainingCapacity();
    out.appendNTimes(gpa, 0, @sizeOf(Header)) catch return ENOMEM;
    var buf: [dents_len]u8 align(8) = undefined;
    var count: u32 = 0;
    while (true) {
        const n = getdents(fd, &buf);
        if (n < 0) return @intCast(-n);
        if (n == 0) break;
        count += appendBatch(fd, buf[0..@intCast(n)], out, names) catch return ENOMEM;
    }
    out.appendSlice(gpa, names.items) catch return ENOMEM;
    var h = Header{ .count = count };
    toLittle(Header, &h);
    @memcpy(out.items[0..@sizeOf(Header)], std.mem.asBytes(&h));
    return 0;
}

fn toLittle(comptime T: type, v: *T) void {
    if (builtin.cpu.arch.endian() == .big) std.mem.byteSwapAllFields(T, v);
}

/// --open-noatime: directories are opened with O_NOATIME, so reading them
/// leaves their access times alone (set once, before a walk).
pub var open_noatime = std.atomic.Value(bool).init(false);

/// An fd of the directory, or -errno. Not O_NOFOLLOW: the walker scans a
/// symlinked directory it decided to follow.
fn openDir(path: [*:0]const u8) i32 {
    var noatime = open_noatime.load(.monotonic);
    while (true) {
        const rc = linux.openat(linux.AT.FDCWD, path, .{ .ACCMODE = .RDONLY, .DIRECTORY = true, .CLOEXEC = true, .NOATIME = noatime }, 0);
        switch (linux.E.init(rc)) {
            .SUCCESS => return @intCast(rc),
            .INTR => continue,
            // O_NOATIME is for the directory's owner (or CAP_FOWNER): anyone else reads it as usual.
            .PERM => if (noatime) {
                noatime = false;
            } else return -@as(i32, @intFromEnum(linux.E.PERM)),
            else => |e| return -@as(i32, @intFromEnum(e)),
        }
    }
}

/// Bytes of dirents read into buf (0 at the end), or -errno.
fn getdents(fd: i32, buf: []u8) isize {
    while (true) {
        const rc = linux.getdents64(fd, buf.ptr, buf.len);
        switch (linux.E.init(rc)) {
            .SUCCESS => return @intCast(rc),
            .INTR => continue,
            else => |e| return -@as(isize, @intFromEnum(e)),
        }
    }
}

const name_offset = @offsetOf(linux.dirent64, "name");

/// Appends the entries of one getdents64 batch but "." and ".."; returns how many.
fn appendBatch(dirfd: i32, batch: []const u8, out: *std.ArrayList(u8), names: *std.ArrayList(u8)) !u32 {
    var count: u32 = 0;
    var at: usize = 0;
    while (at < batch.len) {
        const d: *align(1) const linux.dirent64 = @ptrCast(batch[at..].ptr);
        if (d.reclen == 0) break; // never from a sane kernel; it would loop forever
        // The kernel NUL-terminates each name inside its record.
        const name: [*:0]const u8 = @ptrCast(batch[at + name_offset ..].ptr);
        at += d.reclen;
        if (isDotOrDotDot(name)) continue;
        try appendEntry(dirfd, name, out, names);
        count += 1;
    }
    return count;
}

fn isDotOrDotDot(name: [*:0]const u8) bool {
    return name[0] == '.' and (name[1] == 0 or (name[1] == '.' and name[2] == 0));
}

fn appendEntry(dirfd: i32, name_z: [*:0]const u8, out: *std.ArrayList(u8), names: *std.ArrayList(u8)) !void {
    const name = std.mem.span(name_z);
    var r = lstatAt(dirfd, name_z);
    r.name_len = @intCast(name.len);
    toLittle(Record, &r);
    try out.appendSlice(gpa, std.mem.asBytes(&r));
    try names.appendSlice(gpa, name);
}

/// Set once statx answers ENOSYS (kernels before 4.11, some seccomp filters); fstatat from then on.
var statx_missing = std.atomic.Value(bool).init(false);

/// The lstat of `name` in directory `dirfd` (no automount: lstat does not trigger one either).
fn lstatAt(dirfd: i32, name: [*:0]const u8) Record {
    if (!statx_missing.load(.monotonic)) {
        var sx: linux.Statx = undefined;
        const rc = linux.statx(dirfd, name, linux.AT.SYMLINK_NOFOLLOW | linux.AT.NO_AUTOMOUNT, linux.STATX_BASIC_STATS, &sx);
        switch (linux.E.init(rc)) {
            .SUCCESS => return fromStatx(&sx),
            .NOSYS => statx_missing.store(true, .monotonic),
            else => |e| return .{ .err = @intFromEnum(e) },
        }
    }
    var st: linux.Stat = undefined;
    const rc = linux.fstatat(dirfd, name, &st, linux.AT.SYMLINK_NOFOLLOW);
    return switch (linux.E.init(rc)) {
        .SUCCESS => fromStat(&st),
        else => |e| .{ .err = @intFromEnum(e) },
    };
}

fn fromStatx(s: *const linux.Statx) Record {
    return .{
        .mode = s.mode,
        .uid = s.uid,
        .gid = s.gid,
        .nlink = s.nlink,
        .rdev_major = s.rdev_major,
        .rdev_minor = s.rdev_minor,
        .nsec = s.mtime.nsec,
        .mtime = s.mtime.sec,
        .size = s.size,
        .ino = s.ino,
        .dev = makedev(s.dev_major, s.dev_minor),
    };
}

/// The kernel's stat already encodes st_dev as glibc does.
fn fromStat(s: *const linux.Stat) Record {
    const rdev: u64 = @intCast(s.rdev);
    return .{
        .mode = @intCast(s.mode),
        .uid = s.uid,
        .gid = s.gid,
        .nlink = @truncate(s.nlink),
        .rdev_major = devMajor(rdev),
        .rdev_minor = devMinor(rdev),
        .nsec = @intCast(s.mtim.nsec),
        .mtime = @intCast(s.mtim.sec),
        .size = @bitCast(@as(i64, s.size)),
        .ino = @intCast(s.ino),
        .dev = @intCast(s.dev),
    };
}

// ---------------------------------------------------------------------------
// Prefetching workers

const Job = struct {
    /// In pool.queue while queued.
    node: std.DoublyLinkedList.Node = .{},
    /// In pool.ages while in the table.
    age: std.DoublyLinkedList.Node = .{},
    path: [:0]u8,
    /// Which prefetch call brought it.
    batch: u32,
    state: enum { queued, running, done } = .queued,
    /// Who frees it: the table (end() or eviction), its taker (scanDir, which
    /// may be waiting for it), or its worker (dropped while being made).
    owner: enum { table, taker, worker } = .table,
    /// The directory's errno, when done.
    errno: u16 = 0,
    /// The scan result, when done without an errno.
    bytes: []u8 = &.{},

    fn create(path: []const u8, batch: u32) ?*Job {
        const job = gpa.create(Job) catch return null;
        const copy = gpa.dupeZ(u8, path) catch {
            gpa.destroy(job);
            return null;
        };
        job.* = .{ .path = copy, .batch = batch };
        return job;
    }

    fn destroy(job: *Job) void {
        gpa.free(job.bytes);
        gpa.free(job.path);
        gpa.destroy(job);
    }
};

const Pool = struct {
    mutex: std.Thread.Mutex = .{},
    /// Signalled when a job is queued, or room appears below max_bytes.
    work: std.Thread.Condition = .{},
    /// Broadcast when a job its taker waits for is done.
    done: std.Thread.Condition = .{},
    /// Jobs not started yet, oldest first.
    queue: std.DoublyLinkedList = .{},
    /// Every job not taken yet, by path (the keys are the jobs' own paths).
    jobs: std.StringHashMapUnmanaged(*Job) = .empty,
    /// The same jobs, oldest first.
    ages: std.DoublyLinkedList = .{},
    /// Bytes of the done results in `jobs`.
    held_bytes: usize = 0,
    /// Counts prefetch calls.
    batch: u32 = 0,
    /// Set and read by the JS thread only.
    started: bool = false,
    workers: usize = 0,
};

var pool: Pool = .{};

/// Starts the workers on the first hint: a walk that never prefetches costs no
/// threads. Two per CPU (up to max_workers): a scan mostly waits for the disk
/// when the tree is not cached (4 workers walked a cold Linux tree in 0.5 s
/// where 2 took 0.6 s, on 2 CPUs), and costs little more when it is.
fn startWorkers() void {
    pool.started = true;
    const cpus = std.Thread.getCpuCount() catch 1;
    const n = std.math.clamp(2 * cpus, 2, max_workers);
    for (0..n) |_| {
        const t = std.Thread.spawn(.{ .stack_size = worker_stack }, workerMain, .{}) catch break;
        t.detach();
        pool.workers += 1;
    }
}

fn workerMain() void {
    var out: std.ArrayList(u8) = .empty;
    var names: std.ArrayList(u8) = .empty;
    pool.mutex.lock();
    while (true) {
        const job = nextJob() orelse {
            pool.work.wait(&pool.mutex);
            continue;
        };
        job.state = .running;
        pool.mutex.unlock();
        var errno = scanPath(job.path, &out, &names);
        var bytes: []u8 = &.{};
        if (errno == 0) bytes = out.toOwnedSlice(gpa) catch blk: {
            errno = ENOMEM;
            break :blk &.{};
        };
        if (names.capacity > scratch_keep) names.clearAndFree(gpa);
        pool.mutex.lock();
        finish(job, errno, bytes);
    }
}

/// Under the mutex: the oldest queued job, unless the parked results are at their limit.
fn nextJob() ?*Job {
    if (pool.held_bytes >= max_bytes) return null;
    const node = pool.queue.popFirst() orelse return null;
    return @fieldParentPtr("node", node);
}

/// Under the mutex: a worker's result goes to its owner.
fn finish(job: *Job, errno: u16, bytes: []u8) void {
    job.bytes = bytes;
    job.errno = errno;
    job.state = .done;
    switch (job.owner) {
        .worker => job.destroy(),
        .table => pool.held_bytes += bytes.len,
        .taker => pool.done.broadcast(),
    }
}

/// Queues each NUL-separated path of `list` not already held, making room
/// from earlier calls' hints when the table is full (see the top of the file).
pub fn prefetch(list: []const u8) void {
    if (!pool.started) startWorkers();
    if (pool.workers == 0) return;
    pool.mutex.lock();
    defer pool.mutex.unlock();
    pool.batch +%= 1;
    var queued = false;
    var it = std.mem.tokenizeScalar(u8, list, 0);
    while (it.next()) |path| {
        if (path.len >= path_max or pool.jobs.contains(path)) continue;
        if (pool.jobs.count() >= max_jobs and !evictOldest()) break;
        const job = Job.create(path, pool.batch) orelse break;
        pool.jobs.put(gpa, job.path, job) catch {
            job.destroy();
            break;
        };
        pool.ages.append(&job.age);
        pool.queue.append(&job.node);
        queued = true;
    }
    if (queued) pool.work.broadcast();
}

/// Under the mutex: drops the oldest job, unless it came with the current call.
fn evictOldest() bool {
    const node = pool.ages.first orelse return false;
    const job: *Job = @fieldParentPtr("age", node);
    if (job.batch == pool.batch) return false;
    drop(job);
    return true;
}

/// Under the mutex: takes a job out of the table (and the queue, and the parked bytes).
fn unlist(job: *Job) void {
    _ = pool.jobs.remove(job.path);
    pool.ages.remove(&job.age);
    switch (job.state) {
        .queued => pool.queue.remove(&job.node),
        .running => {},
        .done => {
            const was_full = pool.held_bytes >= max_bytes;
            pool.held_bytes -= job.bytes.len;
            if (was_full and pool.held_bytes < max_bytes) pool.work.broadcast();
        },
    }
}

/// Under the mutex: unlists a job and frees it, or has its worker free it.
fn drop(job: *Job) void {
    unlist(job);
    if (job.state == .running) job.owner = .worker else job.destroy();
}

/// The done job for `path`, waiting while it is being made; null when there
/// is none, or it was only queued (then it is dropped: the caller scans now).
fn takePrefetched(path: []const u8) ?*Job {
    if (pool.workers == 0) return null;
    pool.mutex.lock();
    defer pool.mutex.unlock();
    const job = pool.jobs.get(path) orelse return null;
    unlist(job);
    job.owner = .taker;
    switch (job.state) {
        .queued => {
            job.destroy();
            return null;
        },
        .running => while (job.state != .done) pool.done.wait(&pool.mutex),
        .done => {},
    }
    return job;
}

/// Frees every result not taken; jobs being made are freed by their workers.
pub fn end() void {
    dropHeld();
    sync_out.clearAndFree(gpa);
    sync_names.clearAndFree(gpa);
    if (pool.workers == 0) return;
    pool.mutex.lock();
    defer pool.mutex.unlock();
    while (pool.ages.first) |node| drop(@fieldParentPtr("age", node));
    std.debug.assert(pool.jobs.count() == 0 and pool.held_bytes == 0 and pool.queue.first == null);
}

// ---------------------------------------------------------------------------
// The JS thread's side

/// Scratch of synchronous scans, reused across calls.
var sync_out: std.ArrayList(u8) = .empty;
var sync_names: std.ArrayList(u8) = .empty;
/// A result that did not fit the caller's buffer, kept for its retry.
var held: ?struct { path: []u8, bytes: []u8 } = null;

pub const Scan = union(enum) {
    /// Bytes written to the caller's buffer.
    written: usize,
    /// The buffer is too small: this many bytes are needed (the result is kept for the retry).
    need: usize,
    /// The directory's errno.
    failed: u16,
};

/// Directory `path` (no NUL) scanned into `out`: a parked or prefetched
/// result when there is one for this path, else a scan made now.
pub fn scanDir(path: []const u8, out: []u8) Scan {
    if (path.len >= path_max) return .{ .failed = ENAMETOOLONG };
    if (takeHeld(path)) |bytes| return deliverOwned(path, bytes, out);
    if (takePrefetched(path)) |job| {
        if (job.errno != ENOMEM) return deliverJob(path, job, out);
        job.destroy(); // a worker short of memory: try again here
    }
    var z: [path_max]u8 = undefined;
    @memcpy(z[0..path.len], path);
    z[path.len] = 0;
    return deliverSync(path, scanPath(z[0..path.len :0], &sync_out, &sync_names), out);
}

/// The open directory `fd` scanned into `out`, as scanDir does for a path
/// (nothing prefetched applies: the caller opened it its own way, e.g.
/// confined beneath a root). `fd` stays open; a retry after `need` must pass
/// the same fd.
pub fn scanFd(fd: i32, out: []u8) Scan {
    // The kept result's key: a NUL never appears in a path, so no path can match it.
    var key_buf: [16]u8 = undefined;
    const key = std.fmt.bufPrint(&key_buf, "\x00fd{d}", .{fd}) catch unreachable;
    if (takeHeld(key)) |bytes| return deliverOwned(key, bytes, out);
    return deliverSync(key, scanOpen(fd, &sync_out, &sync_names), out);
}

/// A synchronous scan's result (in sync_out) to `out`, or kept under `key` for the retry.
fn deliverSync(key: []const u8, errno: u16, out: []u8) Scan {
    if (errno != 0) return .{ .failed = errno };
    if (sync_out.items.len <= out.len) return copyOut(sync_out.items, out);
    const bytes = sync_out.toOwnedSlice(gpa) catch return .{ .failed = ENOMEM };
    return deliverOwned(key, bytes, out);
}

fn deliverJob(path: []const u8, job: *Job, out: []u8) Scan {
    defer job.destroy();
    if (job.errno != 0) return .{ .failed = job.errno };
    const bytes = job.bytes;
    job.bytes = &.{};
    return deliverOwned(path, bytes, out);
}

fn copyOut(bytes: []const u8, out: []u8) Scan {
    @memcpy(out[0..bytes.len], bytes);
    return .{ .written = bytes.len };
}

/// Copies a result this module owns to `out` and frees it, or keeps it for the retry.
fn deliverOwned(path: []const u8, bytes: []u8, out: []u8) Scan {
    if (bytes.len <= out.len) {
        defer gpa.free(bytes);
        return copyOut(bytes, out);
    }
    const copy = gpa.dupe(u8, path) catch {
        gpa.free(bytes);
        return .{ .failed = ENOMEM };
    };
    held = .{ .path = copy, .bytes = bytes };
    return .{ .need = bytes.len };
}

/// The kept result when it is for `path`; any other is dropped (its caller gave up).
fn takeHeld(path: []const u8) ?[]u8 {
    const h = held orelse return null;
    if (!std.mem.eql(u8, h.path, path)) {
        dropHeld();
        return null;
    }
    gpa.free(h.path);
    held = null;
    return h.bytes;
}

fn dropHeld() void {
    const h = held orelse return;
    gpa.free(h.path);
    gpa.free(h.bytes);
    held = null;
}

// ---------------------------------------------------------------------------
// Tests

const testing = std.testing;

/// A decoded scan result, for the tests.
const Decoded = struct {
    bytes: []const u8,
    count: u32,

    fn of(bytes: []const u8) Decoded {
        return .{ .bytes = bytes, .count = std.mem.readInt(u32, bytes[0..4], .little) };
    }
    fn record(d: Decoded, i: usize) Record {
        var r: Record = undefined;
        @memcpy(std.mem.asBytes(&r), d.bytes[@sizeOf(Header) + i * @sizeOf(Record) ..][0..@sizeOf(Record)]);
        toLittle(Record, &r);
        return r;
    }
    fn name(d: Decoded, i: usize) []const u8 {
        var at = @sizeOf(Header) + d.count * @sizeOf(Record);
        for (0..i) |j| at += d.record(j).name_len;
        return d.bytes[at..][0..d.record(i).name_len];
    }
    fn find(d: Decoded, n: []const u8) ?Record {
        for (0..d.count) |i| if (std.mem.eql(u8, d.name(i), n)) return d.record(i);
        return null;
    }
};

const TestDir = struct {
    tmp: testing.TmpDir,
    path: [:0]u8,

    fn init() !TestDir {
        var tmp = testing.tmpDir(.{});
        errdefer tmp.cleanup();
        const real = try tmp.dir.realpathAlloc(testing.allocator, ".");
        defer testing.allocator.free(real);
        return .{ .tmp = tmp, .path = try testing.allocator.dupeZ(u8, real) };
    }
    fn deinit(t: *TestDir) void {
        testing.allocator.free(t.path);
        t.tmp.cleanup();
    }
    fn file(t: TestDir, name: []const u8, data: []const u8) !void {
        try t.tmp.dir.writeFile(.{ .sub_path = name, .data = data });
    }
};

/// scanDir into a fresh buffer (the result must fit); the caller frees it.
fn scanToOwned(path: []const u8) ![]u8 {
    const out = try testing.allocator.alloc(u8, 1 << 16);
    errdefer testing.allocator.free(out);
    switch (scanDir(path, out)) {
        .written => |n| return testing.allocator.realloc(out, n),
        else => return error.TestUnexpectedResult,
    }
}

test "scan: every kind of entry, with its lstat" {
    var t = try TestDir.init();
    defer t.deinit();
    try t.file("f", "hello");
    try t.tmp.dir.symLink("f", "l", .{});
    try t.tmp.dir.makeDir("d");
    try testing.expectEqual(@as(usize, 0), linux.mknodat(t.tmp.dir.fd, "p", linux.S.IFIFO | 0o640, 0));
    try t.file("\xff\x01n", "");

    var out: std.ArrayList(u8) = .empty;
    defer out.deinit(gpa);
    var names: std.ArrayList(u8) = .empty;
    defer names.deinit(gpa);
    try testing.expectEqual(@as(u16, 0), scanPath(t.path, &out, &names));
    const d = Decoded.of(out.items);
    try testing.expectEqual(@as(u32, 5), d.count);
    try testing.expect(d.find(".") == null and d.find("..") == null);

    const f = d.find("f").?;
    try testing.expectEqual(@as(u32, 0), f.err);
    try testing.expectEqual(@as(u64, 5), f.size);
    try testing.expectEqual(@as(u32, linux.S.IFREG), f.mode & linux.S.IFMT);
    try testing.expectEqual(@as(u32, linux.S.IFLNK), d.find("l").?.mode & linux.S.IFMT);
    try testing.expectEqual(@as(u64, 1), d.find("l").?.size); // the target's length: not followed
    try testing.expectEqual(@as(u32, linux.S.IFDIR), d.find("d").?.mode & linux.S.IFMT);
    try testing.expectEqual(@as(u32, linux.S.IFIFO), d.find("p").?.mode & linux.S.IFMT);
    try testing.expect(d.find("\xff\x01n") != null);

    // Every field agrees with the kernel's fstatat.
    for (0..d.count) |i| {
        var st: linux.Stat = undefined;
        const name_z = try testing.allocator.dupeZ(u8, d.name(i));
        defer testing.allocator.free(name_z);
        try testing.expectEqual(@as(usize, 0), linux.fstatat(t.tmp.dir.fd, name_z, &st, linux.AT.SYMLINK_NOFOLLOW));
        try testing.expectEqual(fromStat(&st), blk: {
            var r = d.record(i);
            r.name_len = 0;
            break :blk r;
        });
    }
}

test "scan: errors of the directory itself" {
    var t = try TestDir.init();
    defer t.deinit();
    try t.file("f", "x");
    var out: std.ArrayList(u8) = .empty;
    defer out.deinit(gpa);
    var names: std.ArrayList(u8) = .empty;
    defer names.deinit(gpa);
    var buf: [path_max]u8 = undefined;
    const missing = try std.fmt.bufPrintZ(&buf, "{s}/missing", .{t.path});
    try testing.expectEqual(@as(u16, @intFromEnum(linux.E.NOENT)), scanPath(missing, &out, &names));
    const file = try std.fmt.bufPrintZ(&buf, "{s}/f", .{t.path});
    try testing.expectEqual(@as(u16, @intFromEnum(linux.E.NOTDIR)), scanPath(file, &out, &names));
    var small: [64]u8 = undefined;
    const long = [_]u8{'a'} ** path_max;
    try testing.expectEqual(Scan{ .failed = ENAMETOOLONG }, scanDir(&long, &small));
    // A symlink to a directory is followed.
    try t.tmp.dir.makeDir("d");
    try t.tmp.dir.symLink("d", "ld", .{});
    const link = try std.fmt.bufPrintZ(&buf, "{s}/ld", .{t.path});
    try testing.expectEqual(@as(u16, 0), scanPath(link, &out, &names));
    try testing.expectEqual(@as(u32, 0), Decoded.of(out.items).count);
}

test "scan: makedev matches glibc" {
    try testing.expectEqual(@as(u64, 0x0103), makedev(1, 3));
    // Bits above 12 (major) and 8 (minor) go to the high and middle parts.
    const dev = makedev(0x12345, 0x6789a);
    try testing.expectEqual(@as(u64, 0x0001_2000_6783_459a), dev);
    try testing.expectEqual(@as(u32, 0x12345), devMajor(dev));
    try testing.expectEqual(@as(u32, 0x6789a), devMinor(dev));
}

test "scan: a result too big for the buffer is kept for the retry" {
    var t = try TestDir.init();
    defer t.deinit();
    for (0..20) |i| {
        var name: [16]u8 = undefined;
        try t.file(try std.fmt.bufPrint(&name, "file{d}", .{i}), "");
    }
    var small: [16]u8 = undefined;
    const need = switch (scanDir(t.path, &small)) {
        .need => |n| n,
        else => return error.TestUnexpectedResult,
    };
    try t.file("late", ""); // not in the kept result
    const big = try testing.allocator.alloc(u8, need);
    defer testing.allocator.free(big);
    try testing.expectEqual(Scan{ .written = need }, scanDir(t.path, big));
    try testing.expectEqual(@as(u32, 20), Decoded.of(big).count);
    const again = try scanToOwned(t.path);
    defer testing.allocator.free(again);
    try testing.expectEqual(@as(u32, 21), Decoded.of(again).count);
}

/// Waits until the prefetch job for `path` is done (the workers may be slow to start).
fn waitDone(path: []const u8) !void {
    for (0..5000) |_| {
        pool.mutex.lock();
        const state = if (pool.jobs.get(path)) |job| job.state else null;
        pool.mutex.unlock();
        if (state == null) return error.TestUnexpectedResult;
        if (state == .done) return;
        std.Thread.sleep(1_000_000);
    }
    return error.Timeout;
}

test "scan: a prefetched result is taken, and end() drops the rest" {
    var t = try TestDir.init();
    defer t.deinit();
    try t.file("a", "1");
    try t.tmp.dir.makeDir("sub");

    var list: [path_max * 2]u8 = undefined;
    const sub = try std.fmt.bufPrint(list[t.path.len + 1 ..], "{s}/sub", .{t.path});
    @memcpy(list[0..t.path.len], t.path);
    list[t.path.len] = 0;
    const both = list[0 .. t.path.len + 1 + sub.len];
    prefetch(both);
    prefetch(both); // a repeated hint is not queued twice
    try testing.expect(pool.workers >= 2);
    try waitDone(t.path);
    try waitDone(sub);
    try t.file("b", "2");

    // The prefetched result predates "b"; taking it frees it, so the next scan is fresh.
    const first = try scanToOwned(t.path);
    defer testing.allocator.free(first);
    try testing.expectEqual(@as(u32, 2), Decoded.of(first).count);
    const second = try scanToOwned(t.path);
    defer testing.allocator.free(second);
    try testing.expectEqual(@as(u32, 3), Decoded.of(second).count);

    // "sub" was never taken: end() frees it, and a prefetched error is reported like a scanned one.
    end();
    pool.mutex.lock();
    try testing.expectEqual(@as(usize, 0), pool.jobs.count());
    try testing.expectEqual(@as(usize, 0), pool.held_bytes);
    pool.mutex.unlock();
    try t.tmp.dir.deleteDir("sub");
    prefetch(sub);
    try waitDone(sub);
    var small: [64]u8 = undefined;
    try testing.expectEqual(Scan{ .failed = @intFromEnum(linux.E.NOENT) }, scanDir(sub, &small));
    end();
}

test "scan: a full table drops the oldest hints of earlier calls, and the excess of one call" {
    end();
    // Paths that do not exist: each job is quick, and its result (ENOENT) is parked like any other.
    var list = std.ArrayList(u8).empty;
    defer list.deinit(testing.allocator);
    for (0..max_jobs + 10) |i| try list.writer(testing.allocator).print("/nonexistent-oc-rsync/{d}\x00", .{i});
    prefetch(list.items);
    pool.mutex.lock();
    try testing.expectEqual(max_jobs, pool.jobs.count());
    try testing.expect(pool.jobs.contains("/nonexistent-oc-rsync/0"));
    try testing.expect(!pool.jobs.contains("/nonexistent-oc-rsync/256"));
    pool.mutex.unlock();

    prefetch("/nonexistent-oc-rsync/new-a\x00/nonexistent-oc-rsync/new-b");
    pool.mutex.lock();
    try testing.expectEqual(max_jobs, pool.jobs.count());
    try testing.expect(!pool.jobs.contains("/nonexistent-oc-rsync/0"));
    try testing.expect(!pool.jobs.contains("/nonexistent-oc-rsync/1"));
    try testing.expect(pool.jobs.contains("/nonexistent-oc-rsync/2"));
    try testing.expect(pool.jobs.contains("/nonexistent-oc-rsync/new-b"));
    pool.mutex.unlock();

    try waitDone("/nonexistent-oc-rsync/new-b");
    var small: [64]u8 = undefined;
    try testing.expectEqual(Scan{ .failed = @intFromEnum(linux.E.NOENT) }, scanDir("/nonexistent-oc-rsync/new-b", &small));
    end();
    pool.mutex.lock();
    defer pool.mutex.unlock();
    try testing.expectEqual(@as(usize, 0), pool.jobs.count());
    try testing.expectEqual(@as(usize, 0), pool.held_bytes);
}
