/**
 * Walking a relative path component by component to see whether it passes
 * through a symlink: how a chroot-less daemon keeps every path inside its
 * module (upstream's secure_relative_open refuses such paths).
 */

/**
 * The first prefix of `rel` that is a symlink, or null. Every component but
 * the last is checked, the last too with `includeLast`. `isSymlink` answers
 * for one prefix, null when it does not exist (the walk stops there: what is
 * missing is reported, or created, by the caller in its own way).
 */
export function symlinkOnPath(rel: string, includeLast: boolean, isSymlink: (prefix: string) => boolean | null): string | null {
  const parts = rel.split("/").filter((p) => p !== "" && p !== ".");
  const upTo = includeLast ? parts.length : parts.length - 1;
  for (let i = 0; i < upTo; i++) {
    const prefix = parts.slice(0, i + 1).join("/");
    const link = isSymlink(prefix);
    if (link === null) return null;
    if (link) return prefix;
  }
  return null;
}
