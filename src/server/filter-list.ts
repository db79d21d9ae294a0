/** The filter list a server reads before anything else (exclude.c recv_filter_list). */
import type { Input } from "../io/input.ts";
import { FilterList } from "../flist/filter.ts";
import { addReceivedRule, readFilterRule } from "../flist/filter-options.ts";

/** The client's rules, in the order it sent them. */
export async function readFilterList(input: Input, protocol: number, deleteExcluded: boolean): Promise<FilterList> {
  const list = new FilterList();
  for (;;) {
    const rule = await input.read((r) => readFilterRule(r));
    if (rule === null) return list;
    addReceivedRule(list, rule, protocol, deleteExcluded);
  }
}
