/**
 * Shell-style wildcards for the daemon's name lists (hosts, users, groups,
 * option names): '*', '?' and '[...]' classes, anchored at both ends. The
 * filter machinery (issue 7) brings upstream's full wildmatch with '**'.
 */
export function wildRegex(pattern: string): RegExp {
  let re = "";
  for (const ch of pattern) {
    if (ch === "*") re += ".*";
    else if (ch === "?") re += ".";
    else if (ch === "[" || ch === "]") re += ch;
    else re += ch.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  try {
    return new RegExp(`^${re}$`, "s");
  } catch {
    return /(?!)/; // a malformed class matches nothing
  }
}

export const hasWildcards = (pattern: string) => /[*?[]/.test(pattern);

export function wildmatch(pattern: string, text: string): boolean {
  return hasWildcards(pattern) ? wildRegex(pattern).test(text) : pattern === text;
}
