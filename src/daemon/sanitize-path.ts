/**
 * util1.c sanitize_path, for the directory options a chroot-less daemon
 * takes from its client (--backup-dir, --compare-dest/--copy-dest/--link-dest):
 * an absolute path is put under the module's directory, "." components and
 * extra slashes go, and ".." may climb only `depth` levels (the depth of the
 * directory the path is relative to, inside the module); any other ".."
 * takes back the component before it, or is dropped.
 */
export function sanitizePath(p: string, depth: number, moduleDir: string): string {
  let prefix = "";
  if (p.startsWith("/")) {
    prefix = moduleDir === "/" ? "/" : `${moduleDir.replace(/\/+$/, "")}/`;
    depth = 0;
  }
  const out: string[] = [];
  /** Leading ".." components that were allowed stay in front of `out`. */
  let kept = 0;
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (depth <= 0 || out.length > kept) {
        if (out.length > kept) out.pop();
        continue;
      }
      depth--;
      kept++;
    }
    out.push(part);
  }
  const joined = prefix + out.join("/");
  return joined === "" ? "." : joined;
}

/**
 * options.c / main.c: whether a module's rules exclude a directory option's
 * path (--backup-dir, a basis dir), taken as the module sees it: collapsed,
 * an absolute one made relative to the module's directory.
 */
export function moduleHides(rules: { check(name: Uint8Array, isDir: boolean): number }, dir: string, moduleDir: string, isDir = true): boolean {
  let clean = sanitizePath(dir, 0, "/");
  const root = moduleDir.replace(/\/+$/, "");
  if (clean.startsWith("/") && root.length > 1) clean = clean === root ? "" : clean.startsWith(`${root}/`) ? clean.slice(root.length + 1) : clean.slice(1);
  else if (clean.startsWith("/")) clean = clean.slice(1);
  return clean !== "" && rules.check(Buffer.from(clean, "latin1"), isDir) < 0;
}
