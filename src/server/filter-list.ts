/** The filter list a server reads before anything else (exclude.c recv_filter_list). */
import type { Input } from "../io/input.ts";
import { FilterList } from "../flist/filter.ts";
import { terminal } from "../output/terminal.ts";
import { addReceivedRule, readFilterRule } from "../flist/filter-options.ts";

/** The client's rules, in the order it sent them; `debug` says what add_rule says of each (--debug=FILTER). */
export async function readFilterList(input: Input, protocol: number, deleteExcluded: boolean, debug?: RuleDebug): Promise<FilterList> {
  const list = new FilterList();
  list.onAddRule = debug?.onAddRule ?? null;
  list.onActivate = debug?.onActivate ?? null;
  list.onParseFile = debug?.onParseFile ?? null;
  for (;;) {
    const rule = await input.read((r) => readFilterRule(r));
    if (rule === null) return list;
    addReceivedRule(list, rule, protocol, deleteExcluded);
  }
}

export type RuleDebug = Pick<FilterList, "onAddRule" | "onActivate" | "onParseFile">;

/** exclude.c add_rule's --debug=FILTER lines for each rule a server reads ("[sender] add_rule(- *.o)"), if its level asks. */
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

/** The same for rules a side adds to its own list after the options (-C's, upstream's send_filter_list and recv_filter_list). */
export function sayAddedRules(list: FilterList, level: number, who: string): void {
  const debug = addRuleDebug(level, who);
  list.onAddRule = debug?.onAddRule ?? null;
  list.onActivate = debug?.onActivate ?? null;
  list.onParseFile = debug?.onParseFile ?? null;
}
