/**
 * A module's own filter rules (clientserver.c rsync_module: "filter",
 * "include from", "include", "exclude from", "exclude", in that order): what
 * they exclude is hidden from the module's clients both ways, whatever the
 * client's own rules say.
 */
import { readFileSync } from "node:fs";
import { RERR, RsyncError } from "../errors.ts";
import { FilterList, FR, XFLG, type ParseContext } from "../flist/filter.ts";
import { errText } from "../fs/errors.ts";
import type { ModuleConfig } from "./config.ts";

export function moduleFilterList(mod: ModuleConfig, amSender: boolean): FilterList | null {
  const list = new FilterList();
  const ctx: ParseContext = { deleteExcluded: false, daemonRules: { amSender }, readRuleFile: (name) => new Uint8Array(readFileSync(name)) };
  const fromFile = (name: string, template: number) => {
    if (!name) return;
    try {
      list.parseFile(name, ctx, template, XFLG.OLD_PREFIXES);
    } catch (e) {
      if (e instanceof RsyncError) throw e;
      throw new RsyncError(RERR.FILEIO, `rsync: failed to open ${template & FR.INCLUDE ? "in" : "ex"}clude file ${name}: ${errText(e)}`);
    }
  };
  const words = (text: string, template: number, xflags: number) => {
    if (text) list.parse(text, ctx, template | FR.WORD_SPLIT, xflags);
  };
  words(mod.str("filter"), 0, 0);
  fromFile(mod.str("include from"), FR.INCLUDE);
  words(mod.str("include"), FR.INCLUDE, XFLG.OLD_PREFIXES);
  fromFile(mod.str("exclude from"), 0);
  words(mod.str("exclude"), 0, XFLG.OLD_PREFIXES);
  return list.empty ? null : list;
}
