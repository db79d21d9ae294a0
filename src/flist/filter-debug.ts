/**
 * What exclude.c says of rules as a side adds them (--debug=FILTER):
 * add_rule's line for each rule ("[sender] add_rule(- *.o)"; from level 1
 * only to caution about trailing whitespace), and at level 2 a new
 * per-directory merge list and each rule file read.
 */
import { DebugLevels } from "../cli/output-config.ts";
import type { Options } from "../cli/options.ts";
import { terminal } from "../output/terminal.ts";
import type { FilterList } from "./filter.ts";

export type RuleDebug = Pick<FilterList, "onAddRule" | "onActivate" | "onParseFile">;

/** The lines for a side named `who` at FILTER `level`, or undefined when it prints none. */
export function addRuleDebug(level: number, who: string): RuleDebug | undefined {
  if (level < 1) return undefined;
  const say = (text: string) => terminal.info(`[${who}] ${text}\n`);
  return {
    onAddRule(text, trailingSpace, debugType) {
      if (trailingSpace) say(`add_rule(${text})${debugType} -- CAUTION: trailing whitespace!`);
      else if (level >= 2) say(`add_rule(${text})${debugType}`);
    },
    onActivate(id, debugType) {
      if (level >= 2) say(`activating mergelist #${id}${debugType}`);
    },
    onParseFile(text) {
      if (level >= 2) say(text);
    },
  };
}

/** From now on `list` tells what is added to it (or, at level 0, nothing). */
export function sayAddedRules(list: FilterList, level: number, who: string): void {
  const debug = addRuleDebug(level, who);
  list.onAddRule = debug?.onAddRule ?? null;
  list.onActivate = debug?.onActivate ?? null;
  list.onParseFile = debug?.onParseFile ?? null;
}

/**
 * The FILTER level while upstream's client parses its `index`th filter
 * option: --debug takes effect as it is parsed (and -v only after all the
 * options), so only the --debug values given before that option count.
 */
export function filterLevelAtOption(o: Options, index: number): number {
  const levels = new DebugLevels();
  o.debug.forEach((words, j) => {
    if ((o.debugBeforeFilters[j] ?? 0) <= index) levels.apply(words, 2);
  });
  return levels.get("FILTER");
}
