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
