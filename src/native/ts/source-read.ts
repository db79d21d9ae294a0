/** The TypeScript twin of zig/source_read.zig: Core.readSource through node's fs. */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { SourceRead } from "../api.ts";

/** openat's "relative to the working directory" (Core.readSource without a directory). */
export const AT_FDCWD = -100;

export function readSource(path: Uint8Array, flags: number, into: Uint8Array, dirFd = AT_FDCWD): SourceRead {
  const fd = openSync(openablePath(path, dirFd), flags);
  let size: number;
  try {
    const st = fstatSync(fd);
    size = st.size;
    if (!st.isFile() || size > into.length) return { fd, size, read: 0 };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let read = 0;
  try {
    while (read < size) {
      const n = readSync(fd, into, read, size - read, read);
      if (n <= 0) break; // shrank since fstat: what there is goes
      read += n;
    }
  } catch {
    // A read error is the caller's to meet again (and report) through the descriptor.
    return { fd, size, read: 0 };
  }
  closeSync(fd);
  return { fd: -1, size, read };
}

/** node has no openat: a name relative to a directory descriptor goes through the descriptor's /proc link (Linux). */
function openablePath(path: Uint8Array, dirFd: number): Buffer {
  const bytes = Buffer.from(path.buffer, path.byteOffset, path.byteLength);
  if (dirFd === AT_FDCWD || path[0] === 0x2f) return bytes;
  return Buffer.concat([Buffer.from(`/proc/self/fd/${dirFd}/`), bytes]);
}
