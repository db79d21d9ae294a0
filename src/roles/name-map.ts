/**
 * --usermap / --groupmap (and --chown, which is "*:USER"): the receiver's
 * rules for the sender's ids (uidlist.c parse_name_map and recv_add_id).
 * A rule is FROM:TO, comma-separated; FROM is a number, a range "LOW-HIGH",
 * a name, or a wildcard pattern over the sender's name; TO is a local name
 * or number. The first rule that matches wins.
 */
import { RsyncError, RERR } from "../errors.ts";
import { wildmatch } from "../flist/wildmatch.ts";

export type NameMapRule =
  | { kind: "wild"; pattern: string; to: number }
  | { kind: "name"; name: string; to: number }
  /** `high` 0 means the one id `low` (upstream keeps no range then). */
  | { kind: "ids"; low: number; high: number; to: number };

const MAX_ID = 0xffffffff;

/** uidlist.c id_parse: decimal digits only, within an id's 32 bits. */
function parseId(text: string): number {
  if (!/^\d*$/.test(text) || Number(text) > MAX_ID) throw new RsyncError(RERR.SYNTAX, `Invalid ID number: ${text}`);
  return Number(text);
}

/**
 * The rules of a map. `lookup` turns a local name into its id; a name it does
 * not know is reported through `warn` and its rule is dropped (not fatal, as
 * upstream). A malformed rule is a syntax error, the last one found first as
 * upstream reads the list from its end.
 */
export function parseNameMap(map: string, users: boolean, lookup: (name: string) => number | undefined, warn: (text: string) => void): NameMapRule[] {
  const which = users ? "user" : "group";
  const rules: NameMapRule[] = [];
  const items = map.split(",");
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i]!;
    const colon = item.indexOf(":");
    if (colon < 0) throw new RsyncError(RERR.SYNTAX, `No colon found in --${which}map: ${item}`);
    const from = item.slice(0, colon);
    const to = item.slice(colon + 1);
    if (!to) throw new RsyncError(RERR.SYNTAX, `No name found after colon --${which}map: ${item}`);
    let rule: NameMapRule;
    if (/^\d/.test(from)) {
      const dash = from.indexOf("-");
      if (!/^[\d-]*$/.test(from) || (dash >= 0 && (dash === from.length - 1 || from.includes("-", dash + 1)))) {
        throw new RsyncError(RERR.SYNTAX, `Invalid number in --${which}map: ${from}`);
      }
      const low = parseId(dash < 0 ? from : from.slice(0, dash));
      const high = dash < 0 ? 0 : parseId(from.slice(dash + 1));
      rule = { kind: "ids", low, high, to: 0 };
    } else if (/[*[?]/.test(from)) {
      rule = { kind: "wild", pattern: from, to: 0 };
    } else {
      rule = { kind: "name", name: from, to: 0 };
    }
    const id = /^\d+$/.test(to) ? parseId(to) : lookup(to);
    if (id === undefined) {
      warn(`Unknown --${which}map name on receiver: ${to}`);
      continue;
    }
    rule.to = id;
    rules.unshift(rule);
  }
  return rules;
}

/** The local id the first matching rule gives the sender's `id` (named `name`, "" when unnamed), or undefined. */
export function mapById(rules: readonly NameMapRule[], id: number, name: string): number | undefined {
  for (const rule of rules) {
    if (rule.kind === "wild" ? wildmatch(rule.pattern, name) : rule.kind === "name" ? rule.name === name : rule.high ? id >= rule.low && id <= rule.high : id === rule.low) {
      return rule.to;
    }
  }
  return undefined;
}
