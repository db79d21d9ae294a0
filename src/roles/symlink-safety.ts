/**
 * --safe-links (util1.c unsafe_symlink): a link is unsafe when its target is
 * empty or absolute, contains ".." anywhere but a leading run, ends in "/..",
 * or climbs with leading ".." above the top of the transfer, counting from
 * the directory the link itself is in.
 */
const text = (b: Uint8Array) => Buffer.from(b).toString("latin1");

export function isUnsafeSymlink(target: Uint8Array, linkPath: Uint8Array): boolean {
  const dest = text(target);
  if (dest === "" || dest.startsWith("/")) return true;
  let rest = dest;
  while (rest.startsWith("../")) rest = rest.slice(3).replace(/^\/+/, "");
  if (rest.includes("/../")) return true;
  if (dest.length > 3 && dest.endsWith("/..")) return true;

  // How deep the link sits: its directory components, where ".." restarts the count.
  let depth = 0;
  const parts = text(linkPath).split("/").filter((p) => p !== "");
  for (const part of parts.slice(0, -1)) {
    if (part === "..") depth = 0;
    else if (part !== ".") depth++;
  }
  if (parts[parts.length - 1] === "..") depth = 0;

  const segments = dest.split("/");
  const last = segments.pop()!;
  for (const part of segments) {
    if (part === "..") {
      if (--depth < 0) return true;
    } else if (part !== "." && part !== "") {
      depth++;
    }
  }
  return last === ".." && depth - 1 < 0;
}

/**
 * util1.c sanitize_path for a symlink a chroot-less daemon receives (with
 * "munge symlinks" off): no leading "/", no "." components, and ".." only
 * at the start and at most `depth` of them (the link's own directory depth),
 * so the link cannot point above the module.
 */
export function sanitizeLinkTarget(target: Uint8Array, depth: number): Uint8Array {
  const out: string[] = [];
  let fixed = 0; // leading ".." components kept
  for (const part of Buffer.from(target).toString("latin1").split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > fixed) out.pop();
      else if (depth > 0) {
        depth--;
        out.push("..");
        fixed++;
      }
      continue;
    }
    out.push(part);
  }
  return Buffer.from(out.length === 0 ? "." : out.join("/"), "latin1");
}
