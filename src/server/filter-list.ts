/** The filter list a server reads before anything else (exclude.c recv_filter_list). */
import type { Input } from "../io/input.ts";
import { FilterList } from "../flist/filter.ts";
import type { RuleDebug } from "../flist/filter-debug.ts";
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
