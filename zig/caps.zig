//! What this build and this machine can do: the SIMD level compiled in, whether
//! the CPU (and OS) can run the x86-64-v3 build, and whether io_uring works.
const std = @import("std");
const builtin = @import("builtin");

pub const SimdLevel = enum(u32) { scalar = 0, sse2 = 1, avx2 = 2, neon = 3 };

/// The vector instruction set this build's @Vector code compiles to; fixed at
/// compile time by the target CPU of the build (see build.zig).
pub const simd_level: SimdLevel = blk: {
    const cpu = builtin.cpu;
    switch (cpu.arch) {
        .x86_64 => {
            if (cpu.has(.x86, .avx2)) break :blk .avx2;
            if (cpu.has(.x86, .sse2)) break :blk .sse2;
            break :blk .scalar;
        },
        .aarch64, .aarch64_be => break :blk if (cpu.has(.aarch64, .neon)) .neon else .scalar,
        else => break :blk .scalar,
    }
};

const CpuidLeaf = struct { eax: u32, ebx: u32, ecx: u32, edx: u32 };

fn cpuid(leaf: u32, subleaf: u32) CpuidLeaf {
    var eax: u32 = undefined;
    var ebx: u32 = undefined;
    var ecx: u32 = undefined;
    var edx: u32 = undefined;
    asm volatile ("cpuid"
        : [_] "={eax}" (eax),
          [_] "={ebx}" (ebx),
          [_] "={ecx}" (ecx),
          [_] "={edx}" (edx),
        : [_] "{eax}" (leaf),
          [_] "{ecx}" (subleaf),
    );
    return .{ .eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx };
}

/// XCR0: which register states the OS saves on context switch.
fn xgetbv0() u32 {
    return asm volatile ("xgetbv"
        : [_] "={eax}" (-> u32),
        : [_] "{ecx}" (0),
        : .{ .edx = true });
}

inline fn bit(word: u32, comptime n: u5) bool {
    return word & (@as(u32, 1) << n) != 0;
}

/// True when the CPU has every x86-64-v3 feature (and the v2 ones below it)
/// and the OS preserves YMM state, i.e. liboc-v3 can run here. Uses only
/// baseline instructions: cpuid exists on every x86-64, and xgetbv is
/// executed only after cpuid reports OSXSAVE.
pub fn cpuSupportsV3() bool {
    if (builtin.cpu.arch != .x86_64) return false;

    const max_leaf = cpuid(0, 0).eax;
    if (max_leaf < 7) return false;
    const max_ext_leaf = cpuid(0x8000_0000, 0).eax;
    if (max_ext_leaf < 0x8000_0001) return false;

    const l1 = cpuid(1, 0);
    const l7 = cpuid(7, 0);
    const ext = cpuid(0x8000_0001, 0);

    const v2 = bit(l1.ecx, 0) and // SSE3
        bit(l1.ecx, 9) and // SSSE3
        bit(l1.ecx, 13) and // CMPXCHG16B
        bit(l1.ecx, 19) and // SSE4.1
        bit(l1.ecx, 20) and // SSE4.2
        bit(l1.ecx, 23) and // POPCNT
        bit(ext.ecx, 0); // LAHF/SAHF in 64-bit mode
    const v3 = bit(l1.ecx, 12) and // FMA
        bit(l1.ecx, 22) and // MOVBE
        bit(l1.ecx, 26) and // XSAVE
        bit(l1.ecx, 28) and // AVX
        bit(l1.ecx, 29) and // F16C
        bit(l7.ebx, 3) and // BMI1
        bit(l7.ebx, 5) and // AVX2
        bit(l7.ebx, 8) and // BMI2
        bit(ext.ecx, 5); // LZCNT (ABM)
    const os_xsave = bit(l1.ecx, 27); // OSXSAVE: xgetbv is usable
    if (!(v2 and v3 and os_xsave)) return false;

    // XMM (bit 1) and YMM (bit 2) state enabled by the OS.
    return xgetbv0() & 0b110 == 0b110;
}

/// Opens and closes a small io_uring. 1 when that works, else -errno
/// (-ENOSYS when the kernel or a seccomp filter lacks it, -EPERM when
/// forbidden by sysctl io_uring_disabled or a container policy).
pub fn ioUringProbe() i32 {
    if (builtin.os.tag != .linux) return -38; // ENOSYS
    const linux = std.os.linux;
    var ring = linux.IoUring.init(4, 0) catch |err| {
        const e: linux.E = switch (err) {
            error.SystemOutdated => .NOSYS,
            error.PermissionDenied => .PERM,
            error.SystemResources => .NOMEM,
            error.ProcessFdQuotaExceeded => .MFILE,
            error.SystemFdQuotaExceeded => .NFILE,
            error.ArgumentsInvalid => .INVAL,
            error.ParamsOutsideAccessibleAddressSpace => .FAULT,
            else => .IO, // mmap failure or an errno the std wrapper does not name
        };
        return -@as(i32, @intFromEnum(e));
    };
    ring.deinit();
    return 1;
}

const testing = std.testing;

test "simd level matches the compile target" {
    if (builtin.cpu.arch == .x86_64) {
        try testing.expect(simd_level == .sse2 or simd_level == .avx2);
        try testing.expectEqual(std.Target.x86.featureSetHas(builtin.cpu.features, .avx2), simd_level == .avx2);
    }
}

test "cpu v3 detection agrees with std's host CPU detection" {
    if (builtin.cpu.arch != .x86_64) return error.SkipZigTest;
    // Detected at run time, so this holds whatever CPU the test was built for.
    const host = try std.zig.system.resolveTargetQuery(.{});
    const f = host.cpu.features;
    const has = std.Target.x86.featureSetHasAll(f, .{ .avx, .avx2, .bmi, .bmi2, .fma, .lzcnt, .movbe, .f16c, .xsave });
    try testing.expectEqual(has, cpuSupportsV3());
}

test "io_uring probe returns 1 or a negative errno" {
    const r = ioUringProbe();
    try testing.expect(r == 1 or (r < 0 and r > -4096));
}
