/**
 * The calling thread's block input so far (getrusage's ru_inblock, in
 * 512-byte units), for the walk's prefetch judge, which reads it around
 * every directory it scans.
 *
 * On Linux through libc's getrusage(RUSAGE_THREAD): one syscall into a
 * buffer kept for it, and only this thread's reads (the scans run on it;
 * other threads' reads meanwhile are not the scans'). node's
 * process.resourceUsage() answers for the whole process with a new object
 * of sixteen fields each time (0.87 against 0.63 us a call, two calls per
 * directory; bench/README.md, "The first file"). It stays the answer
 * elsewhere, and wherever libc cannot be reached.
 */
import { FFIType } from "bun:ffi";
import { openLibcWith } from "./libc.ts";

const RUSAGE_THREAD = 1;
/** struct rusage on 64-bit Linux: two timevals, then fourteen longs; ru_inblock is the eighth (byte 88). */
const RUSAGE_BYTES = 144;
const INBLOCK_WORD = 88 / 4;

function libcGetrusage(): (() => number) | null {
  if (process.platform !== "linux") return null;
  try {
    const libc = openLibcWith({ getrusage: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 } });
    // A buffer of its own: its address stays put for as long as it lives.
    const usage = new Int32Array(new ArrayBuffer(RUSAGE_BYTES));
    const getrusage = libc.symbols.getrusage;
    if (getrusage(RUSAGE_THREAD, usage) !== 0) return null;
    return () => {
      getrusage(RUSAGE_THREAD, usage);
      return (usage[INBLOCK_WORD]! >>> 0) + usage[INBLOCK_WORD + 1]! * 2 ** 32;
    };
  } catch {
    return null;
  }
}

export const blockInput: () => number = libcGetrusage() ?? (() => process.resourceUsage().fsRead);
