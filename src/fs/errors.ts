import { getSystemErrorMessage, getSystemErrorName } from "node:util";
import { FFIType } from "bun:ffi";
import { openLibcWith } from "./libc.ts";

/** System errors as upstream prints them: "No such file or directory (2)". */
export function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const code = err.errno !== undefined ? Math.abs(err.errno) : 0;
  const libcText = code > 0 ? strerrorText(code) : undefined;
  if (libcText) return `${libcText} (${code})`;
  // node: "ENOENT: no such file or directory, lstat '/x'" -> "no such file or directory"
  const msg = (err.message ?? "unknown error").replace(/^[A-Z0-9]+: /, "").replace(/, \w+( .*)?$/, "");
  return `${msg.charAt(0).toUpperCase()}${msg.slice(1)} (${code})`;
}

/**
 * glibc's own wording of an errno, as upstream's strerror gives it: node's
 * (libuv's) differs for several ("too many symbolic links encountered" for
 * ELOOP, "file already exists", "illegal operation on a directory").
 * strerrordesc_np is the untranslated text (glibc 2.32+; upstream does not
 * set LC_MESSAGES); undefined without it (another libc) or for an errno it
 * does not know, and node's text is used.
 */
let describe: ((errno: number) => unknown) | null | undefined;
function strerrorText(errno: number): string | undefined {
  if (describe === undefined) {
    try {
      describe = openLibcWith({ strerrordesc_np: { args: [FFIType.i32], returns: FFIType.cstring } }).symbols.strerrordesc_np;
    } catch {
      describe = null;
    }
  }
  const text = describe?.(errno);
  // (A NULL comes back as a CString that converts to "null".)
  return text === null || text === undefined || String(text) === "null" ? undefined : String(text);
}

/** The error node's fs functions throw for `errno` (positive) from `syscall` on `path`, property for property. */
export function systemError(errno: number, syscall: string, path: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(-errno);
  const e = new Error(`${code}: ${getSystemErrorMessage(-errno)}, ${syscall} '${path}'`);
  return Object.assign(e, { code, path, syscall, errno: -errno });
}
