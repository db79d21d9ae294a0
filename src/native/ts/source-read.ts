/** The TypeScript twin of zig/source_read.zig: Core.readSource through node's fs (and libc's openat for a name relative to a directory). */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { SourceRead } from "../api.ts";
import { AT_FDCWD, openAt } from "../../fs/fd-ops.ts";

export function readSource(path: Uint8Array, flags: number, into: Uint8Array, dirFd = AT_FDCWD): SourceRead {
  // node has no openat; libc's (as the receiver uses it) works in a chroot too, where /proc/self/fd does not.
  const fd = dirFd === AT_FDCWD ? openSync(Buffer.from(path.buffer, path.byteOffset, path.byteLength), flags) : openAt(dirFd, path, flags, () => Buffer.from(path).toString("latin1"));
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
