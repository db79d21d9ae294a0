//! Builds the native core (zig/) into shared libraries that src/native/ dlopens.
//!
//! Two CPU levels are produced per target so the binary runs on any x86-64
//! machine yet uses AVX2 where it exists: Zig has no per-function target
//! attributes, so instead of runtime dispatch inside one library we build the
//! whole library twice and let the loader pick (see src/native/load.ts).
//!   zig-out/lib/liboc-base.so   baseline x86-64 (SSE2) or baseline aarch64
//!   zig-out/lib/liboc-v3.so     x86-64-v3 (AVX2, BMI2, FMA); x86-64 only
const std = @import("std");
const builtin = @import("builtin");

const required_zig = "0.15.1";

pub fn build(b: *std.Build) void {
    if (!std.mem.eql(u8, builtin.zig_version_string, required_zig)) {
        std.debug.panic("oc-rsync needs Zig {s} (found {s}); run `npm run setup`", .{ required_zig, builtin.zig_version_string });
    }
    // ReleaseFast unless told otherwise (`-Doptimize=Debug` for debugging).
    const optimize = b.option(std.builtin.OptimizeMode, "optimize", "Optimization mode (default ReleaseFast)") orelse .ReleaseFast;
    const host = b.graph.host.result;

    // The baseline CPU of the host architecture: never `native`, so that the
    // library runs on any machine of the same platform.
    const base_query: std.Target.Query = .{
        .cpu_arch = host.cpu.arch,
        .os_tag = host.os.tag,
        .abi = if (host.os.tag == .linux) .gnu else null,
        .cpu_model = .baseline,
    };
    addCore(b, "oc-base", b.resolveTargetQuery(base_query), optimize);

    if (host.cpu.arch == .x86_64) {
        var v3 = base_query;
        v3.cpu_model = .{ .explicit = &std.Target.x86.cpu.x86_64_v3 };
        addCore(b, "oc-v3", b.resolveTargetQuery(v3), optimize);
    }

    // `zig build test`: the Zig-side unit tests, on the host CPU.
    // LLVM, as the library itself is built: Zig 0.15's own x86_64 Debug backend miscompiles the matcher's
    // hash-table setup (the table-building loop of matcher.init hashes as if the sums' upper half were 0).
    const tests = b.addTest(.{ .root_module = b.createModule(.{
        .root_source_file = b.path("zig/lib.zig"),
        .target = b.graph.host,
        .optimize = .Debug,
        .link_libc = true,
    }), .use_llvm = true });
    const run_tests = b.addRunArtifact(tests);
    b.step("test", "Run the native core's unit tests").dependOn(&run_tests.step);
}

fn addCore(b: *std.Build, name: []const u8, target: std.Build.ResolvedTarget, optimize: std.builtin.OptimizeMode) void {
    const lib = b.addLibrary(.{
        .name = name,
        .linkage = .dynamic,
        .root_module = b.createModule(.{
            .root_source_file = b.path("zig/lib.zig"),
            .target = target,
            .optimize = optimize,
            .link_libc = true,
            .strip = optimize != .Debug,
        }),
    });
    b.installArtifact(lib);
}
