//! Jobs from the JS thread to one worker thread of the native core
//! (file_writer.zig, stat_prefetch.zig): a ring of one producer and one
//! consumer with no lock on either side, whose worker is started by the
//! first job and sleeps on a futex word when the ring is empty.
//!
//! A sleeping worker is woken once `wake_batch` jobs wait, or by kick() (the
//! JS side kicks before it goes idle), never for each job: a wake-up costs
//! futex calls on both sides, and per job they were most of a no-change
//! resync's system time.
const std = @import("std");

const Futex = std.Thread.Futex;

/// Bytes of the caller's memory that a job record (little-endian f64s) gives by address and length.
pub fn bytesAt(address: f64, len: f64) []const u8 {
    if (len == 0) return &.{};
    const p: [*]const u8 = @ptrFromInt(@as(usize, @intFromFloat(address)));
    return p[0..@intFromFloat(len)];
}

pub fn JobRing(comptime Job: type, comptime capacity: usize, comptime wake_batch: u64) type {
    return struct {
        const Self = @This();

        ring: [capacity]*Job = undefined,
        /// Next slot the JS thread fills / the worker takes (free-running counters).
        tail: std.atomic.Value(u64) = .init(0),
        head: std.atomic.Value(u64) = .init(0),
        /// The worker sleeps on `work_word` only after setting `sleeping` and looking at `tail`
        /// again; whoever sees it asleep bumps the word and wakes it (no lost wake-up).
        sleeping: std.atomic.Value(bool) = .init(false),
        work_word: std.atomic.Value(u32) = .init(0),
        started: bool = false,

        /// No room for another job (JS thread).
        pub fn full(self: *Self) bool {
            return self.tail.load(.monotonic) - self.head.load(.acquire) >= capacity - 1;
        }

        /// Hands `job` to the worker (JS thread), starting it (running `work`, on a stack of
        /// `stack` bytes) with the first job. False when the thread could not be started: the job is
        /// still the caller's. Once pushed, the job is the worker's: nothing of it is read after.
        pub fn push(self: *Self, job: *Job, comptime work: fn () void, stack: usize) bool {
            if (!self.started) {
                const t = std.Thread.spawn(.{ .stack_size = stack }, work, .{}) catch return false;
                t.detach();
                self.started = true;
            }
            const tail = self.tail.load(.monotonic);
            self.ring[@intCast(tail % capacity)] = job;
            self.tail.store(tail + 1, .seq_cst);
            if (tail + 1 - self.head.load(.monotonic) >= wake_batch) self.wake();
            return true;
        }

        /// Wakes the worker if it sleeps with jobs waiting (JS thread).
        pub fn kick(self: *Self) void {
            if (self.tail.load(.monotonic) != self.head.load(.monotonic)) self.wake();
        }

        fn wake(self: *Self) void {
            if (!self.sleeping.load(.seq_cst)) return;
            _ = self.work_word.fetchAdd(1, .release);
            Futex.wake(&self.work_word, 1);
        }

        /// The next job, in order (worker thread), sleeping until there is one.
        pub fn take(self: *Self) *Job {
            const head = self.head.load(.monotonic);
            while (self.tail.load(.acquire) == head) {
                const word = self.work_word.load(.acquire);
                self.sleeping.store(true, .seq_cst);
                if (self.tail.load(.seq_cst) != head) break;
                Futex.wait(&self.work_word, word);
            }
            self.sleeping.store(false, .seq_cst);
            const job = self.ring[@intCast(head % capacity)];
            self.head.store(head + 1, .release);
            return job;
        }
    };
}

test "jobs arrive in order, across sleeps and a wrapped ring" {
    const Item = struct { n: u32 };
    const Ring = JobRing(Item, 8, 3);
    const S = struct {
        var ring: Ring = .{};
        var sum: std.atomic.Value(u64) = .init(0);
        var seen: std.atomic.Value(u32) = .init(0);
        var in_order: std.atomic.Value(bool) = .init(true);
        fn work() void {
            while (true) {
                const item = ring.take();
                if (item.n != seen.load(.monotonic)) in_order.store(false, .monotonic);
                _ = sum.fetchAdd(item.n, .monotonic);
                seen.store(item.n + 1, .release);
            }
        }
    };
    var items: [100]Item = undefined;
    for (&items, 0..) |*it, i| {
        it.n = @intCast(i);
        while (S.ring.full()) std.Thread.yield() catch {};
        try std.testing.expect(S.ring.push(it, S.work, 64 * 1024));
        // Fewer than wake_batch jobs at the end of a burst: only a kick wakes the worker.
        if (i % 5 == 4) S.ring.kick();
    }
    S.ring.kick();
    while (S.seen.load(.acquire) < items.len) std.Thread.yield() catch {};
    try std.testing.expect(S.in_order.load(.monotonic));
    try std.testing.expectEqual(@as(u64, 99 * 100 / 2), S.sum.load(.monotonic));
}
