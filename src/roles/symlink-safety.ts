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
