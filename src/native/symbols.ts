/**
 * Every symbol the native core exports (zig/lib.zig), with its bun:ffi types.
 * Lengths are u64 (a number is accepted); results are 32-bit where possible
 * because 64-bit results come back as bigint (slow).
 */
import { FFIType } from "bun:ffi";

const { u32, i32, i64, u64, ptr, void: none } = FFIType;

export const symbols = {
  oc_abi_version: { args: [], returns: u32 },
  oc_simd_level: { args: [], returns: u32 },
  oc_cpu_supports_v3: { args: [], returns: u32 },
  oc_io_uring_probe: { args: [], returns: i32 },

  oc_rolling_checksum: { args: [ptr, u64], returns: u32 },
  oc_block_sums: { args: [ptr, u64, u32, u32, u32, i32, u32, ptr], returns: FFIType.i64_fast },
  oc_match_blocks: { args: [ptr, ptr, u64, ptr, ptr, u64], returns: FFIType.i64_fast },
  oc_match_state_size: { args: [ptr], returns: FFIType.u64_fast },
  oc_match_init: { args: [ptr, ptr, u64, ptr, u64], returns: FFIType.i64_fast },
  oc_match_step: { args: [ptr, u64, ptr, ptr, u64, ptr, u64], returns: FFIType.i64_fast },
  oc_lz4_compress: { args: [ptr, u64, ptr, u64], returns: FFIType.i64_fast },
  oc_lz4_decompress: { args: [ptr, u64, ptr, u64], returns: FFIType.i64_fast },

  oc_scan_dir: { args: [ptr, u64, ptr, u64], returns: FFIType.i64_fast },
  oc_scan_fd: { args: [FFIType.i32, ptr, u64], returns: FFIType.i64_fast },
  oc_scan_prefetch: { args: [ptr, u64], returns: none },
  oc_scan_end: { args: [], returns: none },
  oc_scan_noatime: { args: [FFIType.bool], returns: none },

  oc_file_sums_prefetch: { args: [ptr, u64, ptr, u64, u32], returns: i32 },
  oc_file_sum: { args: [ptr, u64, FFIType.f64, u32, ptr], returns: i32 },
  oc_file_sum_stat: { args: [ptr, u64, FFIType.f64, u32, ptr], returns: i32 },
  oc_file_sums_end: { args: [], returns: none },

  oc_read_source: { args: [i32, ptr, u64, u32, ptr, u64, ptr], returns: i32 },

  oc_writer_submit: { args: [ptr], returns: i32 },
  oc_writer_completed: { args: [], returns: u32 },
  oc_writer_kick: { args: [], returns: none },
  oc_writer_wait: { args: [u32], returns: none },
  oc_writer_take_failure: { args: [ptr], returns: u32 },

  oc_statp_submit: { args: [ptr], returns: i32 },
  oc_statp_kick: { args: [], returns: none },
  oc_statp_done: { args: [], returns: u32 },
  oc_statp_skip_below: { args: [u32, u32], returns: none },

  oc_hash: { args: [u32, ptr, u64, i64, ptr], returns: i32 },
  oc_hash_state_size: { args: [], returns: u32 },
  oc_hash_init: { args: [ptr, u32, i64], returns: i32 },
  oc_hash_update: { args: [ptr, ptr, u64], returns: i32 },
  oc_hash_final: { args: [ptr, ptr], returns: i32 },
} as const;

export type Symbols = typeof symbols;
