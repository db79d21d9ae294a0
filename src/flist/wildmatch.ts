/**
 * Shell-style wildcards as upstream's wildmatch reads them, without '**'
 * yet: '*' and '?' never match a '/', '[...]' is a class. Used for the
 * names a client asked for and for the daemon's lists (hosts, users,
 * groups, option names, where no '/' occurs). The filter rules (issue 7)
 * bring the whole of wildmatch.
 */

/** The pattern as the body of a regular expression, to embed in a larger one. */
export function wildSource(pattern: string): string {
  let re = "";
  for (const ch of pattern) {
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "[" || ch === "]") re += ch;
    else re += ch.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return re;
}

/** The whole pattern, anchored at both ends. */
export function wildRegex(pattern: string): RegExp {
  try {
    return new RegExp(`^${wildSource(pattern)}$`, "s");
  } catch {
    return /(?!)/; // a malformed class matches nothing
  }
}

export const hasWildcards = (pattern: string) => /[*?[]/.test(pattern);

export function wildmatch(pattern: string, text: string): boolean {
  return hasWildcards(pattern) ? wildRegex(pattern).test(text) : pattern === text;
}
