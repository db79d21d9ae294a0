/**
 * Paths the operator names for us to open (a batch file), walked as
 * syscall.c open_no_attacker_symlinks walks them: a symlink on the way is
 * followed only when root or we own it, so that nobody else can redirect the
 * open (a planted link truncating another file, or feeding the parser
 * attacker bytes). --insecure-links turns the walk off.
 */
import { lstatSync, readlinkSync } from "node:fs";
import path from "node:path";

/** Links followed on one path before giving up, as the kernel's limit. */
const MAX_LINKS = 40;

export const UNTRUSTED_LINK_NOTICE =
  'refusing to follow a symlink owned by an untrusted user; use --insecure-links locally or "insecure links = yes" in a daemon module ONLY if every path component is trusted';

/** ELOOP as glibc words it (node's own text for it is libuv's). */
function tooManyLinks(untrusted: boolean): Error {
  return Object.assign(new Error("ELOOP: too many levels of symbolic links"), { code: "ELOOP", errno: -40, untrusted });
}

/** Throws ELOOP (with `untrusted` set) when a symlink on `name` belongs to someone else; a missing component ends the walk (the open reports it). */
export function checkOperatorPath(name: string): void {
  const euid = process.geteuid?.() ?? 0;
  let current = path.isAbsolute(name) ? "/" : process.cwd();
  const remaining = name.split("/").filter((c) => c !== "" && c !== ".");
  let links = 0;
  while (remaining.length > 0) {
    const part = remaining.shift()!;
    if (part === "..") {
      current = path.dirname(current);
      continue;
    }
    const next = path.join(current, part);
    let st;
    try {
      st = lstatSync(next);
    } catch {
      return;
    }
    if (!st.isSymbolicLink()) {
      current = next;
      continue;
    }
    if ((st.uid !== 0 && st.uid !== euid) || ++links > MAX_LINKS) {
      throw tooManyLinks(links <= MAX_LINKS);
    }
    const target = readlinkSync(next);
    if (path.isAbsolute(target)) current = "/";
    remaining.unshift(...target.split("/").filter((c) => c !== "" && c !== "."));
  }
}
