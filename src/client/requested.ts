/**
 * Refusing file-list names the client did not ask for (exclude.c
 * add_implied_include, upstream's answer to CVE-2022-29154): a pull of
 * "mod/dir" may bring "dir" and what is below it, and nothing else; a pull
 * of "mod/dir/" brings the directory's contents.
 *
 * Wildcards are matched as wildmatch does (flist/wildmatch.ts).
 */
import { compileWildPattern, type WildPattern } from "../flist/wildmatch.ts";

/** A name the client asked for; `below`: what is under it is asked for too. */
interface Root {
  pattern: WildPattern;
  below: boolean;
}

/** `encoding`: how the paths' characters stand for bytes (--files-from names are bytes held as latin1 text). */
export function requestedNames(paths: string[], relative: boolean, encoding: "utf8" | "latin1" = "utf8"): ((name: Uint8Array, isDir: boolean) => boolean) | undefined {
  const roots: Root[] = [];
  for (const full of paths) {
    const slash = full.indexOf("/");
    let arg = slash < 0 ? "" : full.slice(slash + 1);
    if (relative) {
      const dot = arg.indexOf("/./");
      if (dot >= 0) arg = arg.slice(dot + 3);
    } else {
      if (arg === "" || arg.endsWith("/")) return undefined;
      arg = arg.slice(arg.lastIndexOf("/") + 1);
    }
    // Names are raw bytes; the argument is matched as its UTF-8 bytes.
    arg = arg.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
    if (arg === "" || arg === ".") return undefined; // a whole directory's contents: anything below it
    roots.push({ pattern: compileWildPattern(Buffer.from(arg, encoding)), below: true });
    if (relative) {
      // The implied parent directories of a relative path are sent too.
      const parts = arg.split("/");
      for (let i = 1; i < parts.length; i++) roots.push({ pattern: compileWildPattern(Buffer.from(parts.slice(0, i).join("/"), encoding)), below: false });
    }
  }
  if (roots.length === 0) return undefined;
  return (name) => {
    let start = 0;
    while (name[start] === 0x2f) start++;
    const text = name.subarray(start);
    return roots.some((root) => root.pattern.matches(text) || (root.below && matchesAParent(root.pattern, text)));
  };
}

/** Whether the pattern matches the text up to one of its slashes: a directory the name is below. */
function matchesAParent(pattern: WildPattern, text: Uint8Array): boolean {
  for (let slash = text.indexOf(0x2f); slash >= 0; slash = text.indexOf(0x2f, slash + 1)) {
    if (pattern.matches(text.subarray(0, slash))) return true;
  }
  return false;
}
