/**
 * Refusing file-list names the client did not ask for (exclude.c
 * add_implied_include, upstream's answer to CVE-2022-29154): a pull of
 * "mod/dir" may bring "dir" and what is below it, and nothing else; a pull
 * of "mod/dir/" brings the directory's contents.
 *
 * Wildcards are matched as wildmatch does without '**' (flist/wildmatch.ts);
 * the filter machinery brings the rest.
 */
import { wildSource } from "../flist/wildmatch.ts";

export function requestedNames(paths: string[], relative: boolean): ((name: Uint8Array, isDir: boolean) => boolean) | undefined {
  const roots: RegExp[] = [];
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
    // Names are raw bytes, compared as latin1 text; the argument is UTF-8.
    arg = Buffer.from(arg.replace(/^(\.\/)+/, "").replace(/\/+$/, "")).toString("latin1");
    if (arg === "" || arg === ".") return undefined; // a whole directory's contents: anything below it
    roots.push(new RegExp(`^${wildSource(arg)}(/.*)?$`, "s"));
    if (relative) {
      // The implied parent directories of a relative path are sent too.
      const parts = arg.split("/");
      for (let i = 1; i < parts.length; i++) roots.push(new RegExp(`^${wildSource(parts.slice(0, i).join("/"))}$`, "s"));
    }
  }
  if (roots.length === 0) return undefined;
  return (name) => {
    const text = Buffer.from(name).toString("latin1").replace(/^\/+/, "");
    return roots.some((re) => re.test(text));
  };
}
