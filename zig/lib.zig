//! C ABI of the native core, loaded by src/native/load.ts through bun:ffi.
//!
//! Conventions: lengths are u64, booleans u32, failures a negative errno
//! (never a Zig error), no callbacks, no allocation (except the one-shot matcher's
//! hash table, freed before it returns, and the directory scan's results and
//! prefetching worker threads, see scan.zig). Each export only checks
//! and converts its arguments; the work lives in the file named after it.
const std = @import("std");
const caps = @import("caps.zig");
const rolling = @import("rolling.zig");
const hasher = @import("hasher.zig");
const block_sums = @import("block_sums.zig");
const matcher = @import("matcher.zig");
const lz4 = @import("lz4.zig");
const scan = @import("scan.zig");
const file_sums = @import("file_sums.zig");
const file_writer = @import("file_writer.zig");
const source_read = @import("source_read.zig");
const stat_prefetch = @import("stat_prefetch.zig");

const EINVAL: i32 = 22;
const ENOMEM: i32 = 12;
const ENOSPC: i32 = 28;
const ENOSYS: i32 = 38;

/// Input buffers are declared nullable so that an empty one may come as NULL
/// (an empty TypedArray need not have backing memory). The C ABI is the same
/// as for a plain pointer.
fn input(buf: ?[*]const u8, len: u64) []const u8 {
    if (len == 0) return &.{};
    return buf.?[0..@intCast(len)];
}

/// Output buffers too may come as NULL when empty.
fn output(buf: ?[*]u8, len: u64) []u8 {
    if (len == 0) return &.{};
    return buf.?[0..@intCast(len)];
}

/// Bumped whenever any signature or meaning below changes.
export fn oc_abi_version() u32 {
    return 12;
}

/// 0 scalar, 1 sse2, 2 avx2, 3 neon: the vector ISA this library was built for.
export fn oc_simd_level() u32 {
    return @intFromEnum(caps.simd_level);
}

/// 1 when this CPU and OS can run liboc-v3 (x86-64-v3), else 0. Safe on any x86-64.
export fn oc_cpu_supports_v3() u32 {
    return @intFromBool(caps.cpuSupportsV3());
}

/// 1 when an io_uring can be set up in this process, else -errno.
export fn oc_io_uring_probe() i32 {
    return caps.ioUringProbe();
}

/// rsync's get_checksum1 of buf[0..len].
export fn oc_rolling_checksum(buf: ?[*]const u8, len: u64) u32 {
    return rolling.checksum(input(buf, len));
}

/// One-shot digest of buf[0..len] into out (room for the digest: 8, 16 or 20
/// bytes; 20 always suffices). Returns the
/// digest length, or -EINVAL for an unknown algorithm id. `seed` is used by
/// the xxHash algorithms only, as a u64 bit pattern.
export fn oc_hash(alg: u32, buf: ?[*]const u8, len: u64, seed: i64, out: [*]u8) i32 {
    const a = hasher.Alg.fromId(alg) orelse return -EINVAL;
    return @intCast(hasher.hash(a, input(buf, len), @bitCast(seed), out[0..hasher.max_digest_length]));
}

/// Bytes of caller memory (8-byte aligned) that a streaming state needs.
export fn oc_hash_state_size() u32 {
    return @sizeOf(hasher.Hasher);
}

export fn oc_hash_init(state: [*]u8, alg: u32, seed: i64) i32 {
    const a = hasher.Alg.fromId(alg) orelse return -EINVAL;
    stateOf(state).* = hasher.Hasher.init(a, @bitCast(seed));
    return 0;
}

/// 0, or -EINVAL when `state` was never initialised by oc_hash_init.
export fn oc_hash_update(state: [*]u8, buf: ?[*]const u8, len: u64) i32 {
    const h = stateOf(state);
    if (h.algorithm() == null) return -EINVAL;
    h.update(input(buf, len));
    return 0;
}

/// Writes the digest (20 bytes of room) and returns its length, or -EINVAL.
export fn oc_hash_final(state: [*]u8, out: [*]u8) i32 {
    const h = stateOf(state);
    if (h.algorithm() == null) return -EINVAL;
    return @intCast(h.final(out[0..hasher.max_digest_length]));
}

fn stateOf(state: [*]u8) *hasher.Hasher {
    return @ptrCast(@alignCast(state));
}

/// The block-signature table of buf[0..len]: per block, rolling checksum
/// (u32 LE) then strong_len bytes of strong digest, packed at out +
/// i * (4 + strong_len). Returns the block count, or -EINVAL. With len == 0
/// nothing is written and `out` may be NULL.
export fn oc_block_sums(buf: ?[*]const u8, len: u64, block_len: u32, strong_len: u32, alg: u32, seed: i32, seed_order: u32, out: ?[*]u8) i64 {
    const p = block_sums.Params.fromRaw(block_len, strong_len, alg, seed, seed_order) orelse return -EINVAL;
    const data = input(buf, len);
    const count = p.blockCount(data.len);
    if (count == 0) return 0;
    _ = block_sums.table(data, p, out.?[0 .. count * p.entryLength()]);
    return @intCast(count);
}

/// The sender's delta ops for buf[0..len] against the receiver's block
/// table `sums` (see matcher.zig): pairs (block, length) as f64 into out,
/// block -1 for a literal run. Returns the number of f64 written, or
/// -EINVAL (bad parameters), -ENOSPC (out too small), -ENOMEM.
export fn oc_match_blocks(params: *const matcher.Params, buf: ?[*]const u8, len: u64, sums: ?[*]const u8, out: [*]f64, out_cap: u64) i64 {
    const p = params.*;
    const n = matcher.match(input(buf, len), sumsOf(p, sums), p, out[0..out_cap], std.heap.page_allocator) catch |e| return matchError(e);
    return @intCast(n);
}

/// Bytes the windowed matcher's state needs for these parameters (see matcher.State).
export fn oc_match_state_size(params: *const matcher.Params) u64 {
    return matcher.stateSize(params.*);
}

fn sumsOf(p: matcher.Params, sums: ?[*]const u8) []const u8 {
    const sums_len = @as(usize, p.count) * (4 + @as(usize, p.strong_len));
    return if (sums_len == 0) &[_]u8{} else sums.?[0..sums_len];
}

fn matchError(e: matcher.Error) i64 {
    return switch (e) {
        error.NoSpace => -ENOSPC,
        error.OutOfMemory => -ENOMEM,
        error.BadParams => -EINVAL,
    };
}

/// Sets up a windowed matcher in state[0..state_len] (caller-owned, 8-aligned,
/// oc_match_state_size bytes) for a file of total_len bytes. 0, or -EINVAL / -ENOSPC.
export fn oc_match_init(params: *const matcher.Params, sums: ?[*]const u8, total_len: u64, state: [*]align(8) u8, state_len: u64) i64 {
    _ = matcher.init(state[0..state_len], sumsOf(params.*, sums), params.*, total_len) catch |e| return matchError(e);
    return 0;
}

/// Matches on through window[0..window_len] (the file's bytes from the
/// state's `base`, which the caller sets): ops as pairs of f64 into out, as
/// oc_match_blocks writes them. Returns the number of f64 written, or -EINVAL.
export fn oc_match_step(state: [*]align(8) u8, state_len: u64, sums: ?[*]const u8, window: ?[*]const u8, window_len: u64, out: [*]f64, out_cap: u64) i64 {
    if (state_len < @sizeOf(matcher.State)) return -EINVAL;
    const st: *const matcher.State = @ptrCast(state);
    if (state_len < matcher.stateSize(st.p)) return -EINVAL;
    const n = matcher.step(state[0..state_len], sumsOf(st.p, sums), input(window, window_len), out[0..out_cap]) catch |e| return matchError(e);
    return @intCast(n);
}

/// src[0..src_len] as one raw LZ4 block (see lz4.zig) into dst[0..dst_cap]:
/// the block's length, or 0 when it does not fit. lz4.compressBound always does.
export fn oc_lz4_compress(src: ?[*]const u8, src_len: u64, dst: ?[*]u8, dst_cap: u64) i64 {
    return @intCast(lz4.compress(input(src, src_len), output(dst, dst_cap)));
}

/// Decodes the raw LZ4 block src[0..src_len] into dst[0..dst_cap]: the bytes
/// written, or -EINVAL (malformed block), -ENOSPC (dst too small).
export fn oc_lz4_decompress(src: ?[*]const u8, src_len: u64, dst: ?[*]u8, dst_cap: u64) i64 {
    const n = lz4.decompress(input(src, src_len), output(dst, dst_cap)) catch |e| return switch (e) {
        error.Malformed => -EINVAL,
        error.NoSpace => -ENOSPC,
    };
    return @intCast(n);
}

/// Directory path[0..path_len] (no NUL; a symlink to a directory is
/// followed) read with the lstat of each entry, as a scan result (layout in
/// scan.zig) into out[0..out_cap]: the bytes written; or -ENOSPC with the
/// size needed as a u64 LE in out[0..8] (the result is kept for a retry with
/// the same path); or -errno of the directory itself; -ENOSYS off Linux.
/// A result prefetched for this path is taken (waited for if in progress).
/// Call from one thread only (the JS thread).
export fn oc_scan_dir(path: ?[*]const u8, path_len: u64, out: [*]u8, out_cap: u64) i64 {
    if (comptime !scan.supported) return -ENOSYS;
    if (out_cap < 8) return -EINVAL;
    const buf = out[0..@intCast(out_cap)];
    return scanResult(scan.scanDir(input(path, path_len), buf), buf);
}

/// oc_scan_dir of the directory open as `fd` (from its current offset; it
/// stays open), for a caller that opened it its own way (beneath a root,
/// without following a symlink out of it). The same results; no prefetched
/// result applies. A retry after -ENOSPC passes the same fd.
export fn oc_scan_fd(fd: i32, out: [*]u8, out_cap: u64) i64 {
    if (comptime !scan.supported) return -ENOSYS;
    if (out_cap < 8) return -EINVAL;
    const buf = out[0..@intCast(out_cap)];
    return scanResult(scan.scanFd(fd, buf), buf);
}

fn scanResult(result: scan.Scan, buf: []u8) i64 {
    return switch (result) {
        .written => |n| @intCast(n),
        .need => |n| blk: {
            std.mem.writeInt(u64, buf[0..8], n, .little);
            break :blk -ENOSPC;
        },
        .failed => |e| -@as(i64, e),
    };
}

/// A hint that the NUL-separated directory paths in buf[0..len] will be
/// scanned soon: worker threads scan them in the background, as many as the
/// bounds in scan.zig allow (the rest are dropped). Same thread as oc_scan_dir.
export fn oc_scan_prefetch(buf: ?[*]const u8, len: u64) void {
    if (comptime !scan.supported) return;
    scan.prefetch(input(buf, len));
}

/// --open-noatime: from now on directories are opened with O_NOATIME (where
/// the kernel allows it), by oc_scan_dir and the prefetch workers alike.
export fn oc_scan_noatime(on: bool) void {
    if (comptime !scan.supported) return;
    scan.open_noatime.store(on, .monotonic);
}

/// Frees every prefetched result not taken and drops queued hints (end of a walk).
export fn oc_scan_end() void {
    if (comptime !scan.supported) return;
    scan.end();
}

/// Hints the whole-file checksums (-c) the generator will ask for, in the
/// order it will ask: `list` holds NUL-terminated paths, `sizes` (f64, exact
/// integers) the size each must have. Worker threads hash them ahead; returns
/// how many were accepted (0 when full: offer the rest again later). JS thread only.
export fn oc_file_sums_prefetch(list: ?[*]const u8, list_len: u64, sizes: ?[*]const f64, count: u64, alg: u32) i32 {
    if (comptime !file_sums.supported) return 0;
    const a = hasher.Alg.fromId(alg) orelse return -EINVAL;
    const n: usize = @intCast(count);
    return @intCast(file_sums.prefetch(input(list, list_len), if (n == 0) &.{} else sizes.?[0..n], a));
}

/// The digest of the first `size` bytes of the regular file `path` (no NUL)
/// into out (20 bytes of room): its length, 0 when there is none (not a
/// regular file of that size, unreadable, short), -EINVAL for a bad algorithm.
export fn oc_file_sum(path: ?[*]const u8, path_len: u64, size: f64, alg: u32, out: [*]u8) i32 {
    if (comptime !file_sums.supported) return -ENOSYS;
    const a = hasher.Alg.fromId(alg) orelse return -EINVAL;
    return @intCast(file_sums.take(input(path, path_len), @intFromFloat(size), a, out[0..hasher.max_digest_length]));
}

/// The lstat the hashing of a hinted file began with, into rec
/// (stat_prefetch.zig Record: 16 f64s, errno set when it failed), the file
/// staying hinted for oc_file_sum: 1, or 0 when `path` was not hinted with
/// this size and algorithm (stat it yourself), -EINVAL for a bad algorithm.
export fn oc_file_sum_stat(path: ?[*]const u8, path_len: u64, size: f64, alg: u32, rec: [*]f64) i32 {
    if (comptime !file_sums.supported) return -ENOSYS;
    const a = hasher.Alg.fromId(alg) orelse return -EINVAL;
    return @intFromBool(file_sums.stat(input(path, path_len), @intFromFloat(size), a, rec[0..file_sums.Record.len]));
}

/// Drops every hinted checksum not taken yet.
export fn oc_file_sums_end() void {
    if (comptime !file_sums.supported) return;
    file_sums.end();
}

/// Opens the file `path` (relative to the directory `dir_fd`, or -100 for
/// the working directory) for reading with `flags` and, when it is a regular
/// file of at most `cap` bytes, reads it whole into `buf` and closes it
/// (source_read.zig). `out` gets (descriptor or -1 when read and closed,
/// fstat size, bytes read) as f64s. Returns 0, or -errno when the open or
/// fstat failed.
export fn oc_read_source(dir_fd: i32, path: ?[*]const u8, path_len: u64, flags: u32, buf: ?[*]u8, cap: u64, out: *[3]f64) i32 {
    if (comptime !source_read.supported) return -ENOSYS;
    switch (source_read.readAt(dir_fd, input(path, path_len), flags, output(buf, cap))) {
        .errno => |e| return -@as(i32, e),
        .ok => |r| {
            out.* = .{ @floatFromInt(r.fd), @floatFromInt(r.size), @floatFromInt(r.read) };
            return 0;
        },
    }
}

/// Queues a job for the file writer's worker (file_writer.zig): `meta` is its
/// Meta record (17 f64s: the job, then the addresses and lengths of its names
/// and of `iov_count` (address, length) u64 pairs of data, all of which the
/// caller keeps alive until the job is done). Returns the job's sequence
/// number (1, 2, ...) or -errno. JS thread only. (One pointer in, 32 bits out:
/// bun:ffi's fast path mishandled seven arguments with an f64 result.)
export fn oc_writer_submit(meta: *const file_writer.Meta) i32 {
    if (comptime !file_writer.supported) return -ENOSYS;
    return @intCast(file_writer.submit(meta.*));
}

/// How many of the writer's jobs are done (they finish in order).
export fn oc_writer_completed() u32 {
    if (comptime !file_writer.supported) return 0;
    return @intCast(file_writer.completed());
}

/// Wakes the writer's worker for the jobs given so far (it is otherwise woken once per batch).
export fn oc_writer_kick() void {
    if (comptime !file_writer.supported) return;
    file_writer.kick();
}

/// Blocks until the writer's job `seq` and all before it are done.
export fn oc_writer_wait(seq: u32) void {
    if (comptime !file_writer.supported) return;
    file_writer.wait(seq);
}

/// The oldest failed job not reported yet, as (seq, errno, step) f64s into out: 1, or 0 when there is none.
export fn oc_writer_take_failure(out: *[3]f64) u32 {
    if (comptime !file_writer.supported) return 0;
    return file_writer.takeFailure(out);
}

/// Queues a job for the stat prefetcher's worker (stat_prefetch.zig): `meta`
/// is its Meta record (8 f64s: the directory's whole path, its entries' base
/// names each followed by a NUL, their count, the first slot of their records
/// and the ring the caller owns and keeps alive). The names are copied.
/// Returns 0, or -EAGAIN (queue full: offer it again later), -EINVAL, -ENOMEM.
/// JS thread only.
export fn oc_statp_submit(meta: *const stat_prefetch.Meta) i32 {
    if (comptime !stat_prefetch.supported) return -ENOSYS;
    return stat_prefetch.submit(meta.*);
}

/// Wakes the stat prefetcher's worker for the jobs given so far (it is otherwise woken once per batch).
export fn oc_statp_kick() void {
    if (comptime !stat_prefetch.supported) return;
    stat_prefetch.kick();
}

/// How many of the stat prefetcher's slots are done, modulo 2^32 (slots finish in order).
export fn oc_statp_done() u32 {
    if (comptime !stat_prefetch.supported) return 0;
    return @truncate(stat_prefetch.done());
}

/// Slots below `slot` (the low 32 bits of the caller's slot counter `slot_hi * 2^32 + slot_lo`) are not wanted any more.
export fn oc_statp_skip_below(slot_lo: u32, slot_hi: u32) void {
    if (comptime !stat_prefetch.supported) return;
    stat_prefetch.skipBelow(@as(u64, slot_hi) << 32 | slot_lo);
}

test {
    _ = caps;
    _ = rolling;
    _ = @import("md4.zig");
    _ = @import("md5.zig");
    _ = @import("xxh3.zig");
    _ = hasher;
    _ = block_sums;
    _ = matcher;
    _ = lz4;
    _ = scan;
    _ = file_sums;
    _ = file_writer;
    _ = source_read;
    _ = stat_prefetch;
    _ = @import("job_ring.zig");
    _ = @import("raw_errno.zig");
    _ = @import("lib_test.zig");
}
