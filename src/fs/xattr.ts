/**
 * Extended attributes (lgetxattr, lsetxattr, llistxattr, lremovexattr)
 * through bun:ffi, which node's fs lacks. All calls act on the named entry
 * itself, never on what a symlink points to. Names are raw bytes without
 * their terminating NUL; values are raw bytes.
 */
import { FFIType } from "bun:ffi";
import { cPath, openLibcWith, SysError } from "./libc.ts";


export const ENOTSUP = 95;
export const ENODATA = 61;
const ERANGE = 34;

/** Opened on first use: a run without -X never needs these symbols. */
let libc: ReturnType<typeof openXattrCalls> | null = null;
const openXattrCalls = () => openLibcWith({
  llistxattr: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  lgetxattr: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  lsetxattr: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  lremovexattr: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
});
const lib = () => (libc ??= openXattrCalls());

const errno = (): number => lib().errno();

/** A NUL-terminated copy of an attribute name. */
const cName = (name: Uint8Array | string) => cPath(name);

/** An empty buffer still needs an address to pass; its size says how much may be written. */
const ONE = new Uint8Array(1);

/**
 * The names of `path`'s attributes, in the order the system lists them.
 * A file system without attributes (ENOTSUP) has none.
 */
export function listXattrs(path: Uint8Array | string): Uint8Array[] {
  const p = cPath(path);
  for (;;) {
    const need = Number(lib().symbols.llistxattr(p, null, 0));
    if (need < 0) {
      const e = errno();
      if (e === ENOTSUP) return [];
      throw new SysError(e, "llistxattr");
    }
    if (need === 0) return [];
    const buf = new Uint8Array(need);
    const got = Number(lib().symbols.llistxattr(p, buf, need));
    if (got < 0) {
      const e = errno();
      if (e === ERANGE) continue; // the list grew in between: ask again
      if (e === ENOTSUP) return [];
      throw new SysError(e, "llistxattr");
    }
    const names: Uint8Array[] = [];
    let start = 0;
    for (let i = 0; i < got; i++) {
      if (buf[i] !== 0) continue;
      if (i > start) names.push(buf.slice(start, i));
      start = i + 1;
    }
    return names;
  }
}

/** The value of attribute `name` of `path`; null when it has none by that name (or attributes are unsupported). */
export function getXattr(path: Uint8Array | string, name: Uint8Array | string): Uint8Array | null {
  const p = cPath(path);
  const n = cName(name);
  for (;;) {
    const need = Number(lib().symbols.lgetxattr(p, n, null, 0));
    if (need < 0) {
      const e = errno();
      if (e === ENODATA || e === ENOTSUP) return null;
      throw new SysError(e, "lgetxattr");
    }
    const buf = new Uint8Array(need);
    const got = Number(lib().symbols.lgetxattr(p, n, need ? buf : ONE, need));
    if (got < 0) {
      const e = errno();
      if (e === ERANGE) continue;
      if (e === ENODATA || e === ENOTSUP) return null;
      throw new SysError(e, "lgetxattr");
    }
    return got === need ? buf : buf.slice(0, got);
  }
}

/** Sets (creates or replaces) attribute `name` of `path`. */
export function setXattr(path: Uint8Array | string, name: Uint8Array | string, value: Uint8Array): void {
  const rc = lib().symbols.lsetxattr(cPath(path), cName(name), value.length ? value : ONE, value.length, 0);
  if (rc !== 0) throw new SysError(errno(), "lsetxattr");
}

/** Removes attribute `name` of `path`. */
export function removeXattr(path: Uint8Array | string, name: Uint8Array | string): void {
  if (lib().symbols.lremovexattr(cPath(path), cName(name)) !== 0) throw new SysError(errno(), "lremovexattr");
}
