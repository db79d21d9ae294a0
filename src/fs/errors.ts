import { getSystemErrorMessage, getSystemErrorName } from "node:util";

/** System errors as upstream prints them: "No such file or directory (2)". */
export function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const code = err.errno !== undefined ? Math.abs(err.errno) : 0;
  // node: "ENOENT: no such file or directory, lstat '/x'" -> "no such file or directory"
  const msg = (err.message ?? "unknown error").replace(/^[A-Z0-9]+: /, "").replace(/, \w+( .*)?$/, "");
  return `${msg.charAt(0).toUpperCase()}${msg.slice(1)} (${code})`;
}

/** The error node's fs functions throw for `errno` (positive) from `syscall` on `path`, property for property. */
export function systemError(errno: number, syscall: string, path: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(-errno);
  const e = new Error(`${code}: ${getSystemErrorMessage(-errno)}, ${syscall} '${path}'`);
  return Object.assign(e, { code, path, syscall, errno: -errno });
}
