/**
 * A module's "refuse options" (options.c set_refuse_options): each word is
 * an option name or a wildcard matched against long names and short
 * letters; "!" in front accepts what an earlier word refused; "a" or
 * "archive" means the letters -a stands for. A refused "delete" refuses
 * every way of deleting (checked on the parsed options, as upstream's
 * refused_delete is). A few options can never be refused; a few are always
 * refused by a daemon.
 */
import { optionTable } from "../cli/option-table.ts";
import type { OptionSpec } from "../cli/option-spec.ts";
import { compileWildPattern, hasWildcards } from "../flist/wildmatch.ts";

/** Never refused (the client needs them to talk to us at all), and matched exactly, never by a wildcard. */
const ALWAYS_ACCEPTED = new Set(["rsh", "dry-run", "secluded-args", "protect-args", "from0", "checksum-seed", "log-format", "out-format", "sender", "server", "iconv", "no-iconv"]);
/** Refused by every daemon unless a word accepts them by exact name. */
/** Matched by exact name only (options.c set_refuse_options): refused by default, a wildcard neither refuses nor accepts them. */
const EXACT_ONLY = new Set(["copy-devices", "write-devices"]);
const DAEMON_REFUSED = ["copy-devices", "write-devices", "log-file*", "insecure-links"];

interface Named {
  long: string;
  short?: string;
  spec: OptionSpec;
}

const NAMED: Named[] = optionTable.map((spec) => ({ long: spec.long[0]!, short: spec.short, spec }));

/** The set of refused long names for a module's "refuse options" value. */
export function refusedOptions(value: string): Set<string> {
  const refused = new Set<string>();
  const apply = (word: string, negated: boolean) => {
    let pattern = word;
    let wild = hasWildcards(pattern);
    if (pattern === "a" || pattern === "archive") {
      pattern = "[ardlptgoD]";
      wild = true;
    }
    const wildcard = compileWildPattern(pattern);
    for (const n of NAMED) {
      const names = n.spec.long;
      if (!(names.some((l) => wildcard.matches(l)) || (n.short && wildcard.matches(n.short)))) continue;
      if (wild && (ALWAYS_ACCEPTED.has(n.long) || EXACT_ONLY.has(n.long))) continue;
      if (negated) refused.delete(n.long);
      else if (!ALWAYS_ACCEPTED.has(n.long)) refused.add(n.long);
    }
  };
  for (const word of DAEMON_REFUSED) apply(word, false);
  for (const word of value.split(" ").filter((w) => w !== "")) {
    const negated = word.startsWith("!") && word.length > 1;
    apply(negated ? word.slice(1) : word, negated);
  }
  return refused;
}

/**
 * The first refused option in a client's server arguments, as upstream
 * names it ("--delete", or "--times (-t)" for one given by its letter), or null.
 */
export function findRefused(args: string[], refused: Set<string>): string | null {
  if (refused.size === 0) return null;
  const byShort = new Map<string, Named>();
  const byLong = new Map<string, Named>();
  for (const n of NAMED) {
    if (n.short) byShort.set(n.short, n);
    for (const l of n.spec.long) byLong.set(l, n);
  }
  const describe = (n: Named) => `--${n.long}${n.short ? ` (-${n.short})` : ""}`;
  for (const arg of args) {
    if (arg === "--" || arg === ".") break;
    if (arg.startsWith("--")) {
      const name = arg.slice(2).split("=")[0]!;
      const n = byLong.get(name.startsWith("no-") && !byLong.has(name) ? name.slice(3) : name);
      if (n && refused.has(n.long)) return describe(n);
      continue;
    }
    if (!arg.startsWith("-")) continue;
    for (const letter of arg.slice(1)) {
      const n = byShort.get(letter);
      if (!n) break;
      if (refused.has(n.long)) return describe(n);
      // The rest of the word is this option's value (e.g. "-e.LsfxC", "-B2048").
      if (n.spec.arg) break;
    }
  }
  return null;
}
