/**
 * The filter list from the command line (options.c: --filter, --exclude,
 * --include, --exclude-from, --include-from, in the order given), and the
 * list on the wire: what a client sends its server (exclude.c send_rules,
 * send_filter_list) and what a server reads (recv_filter_list).
 */
import { readFileSync } from "node:fs";
import type { Options } from "../cli/options.ts";
import { RERR, RsyncError } from "../errors.ts";
import { errText } from "../fs/errors.ts";
import type { ChunkReader } from "../protocol/reader.ts";
import type { ByteWriter } from "../protocol/writer.ts";
import { DELAY_UPDATES_DIR } from "../roles/delayed-updates.ts";
import { Elide, FilterList, FR, rulePrefix, XFLG, type FilterRule, type ParseContext } from "./filter.ts";
import { filterLevelAtOption, sayAddedRules } from "./filter-debug.ts";

/** Rule files: a name, or "-" for standard input (only where we are no server: stdin is the protocol then). */
function ruleFileReader(amServer: boolean): (name: string) => Uint8Array {
  return (name) => new Uint8Array(name === "-" && !amServer ? readFileSync(0) : readFileSync(name));
}

/**
 * The client's (or a local copy's) rules, parsed as upstream parses its
 * options; `announce`: say what is added as upstream's client does then
 * (--debug=FILTER given before the rule, see filterLevelAtOption).
 */
export function filterListFromOptions(o: Options, amServer = false, announce = false): FilterList {
  const list = new FilterList();
  const ctx: ParseContext = { deleteExcluded: o.deleteExcluded, readRuleFile: ruleFileReader(amServer), eolNulls: o.from0 };
  for (const [i, f] of o.filters.entries()) {
    if (announce) sayAddedRules(list, filterLevelAtOption(o, i), "client");
    switch (f.kind) {
      case "filter":
        list.parse(f.value, ctx);
        break;
      case "exclude":
        list.parse(f.value, ctx, 0, XFLG.OLD_PREFIXES);
        break;
      case "include":
        list.parse(f.value, ctx, FR.INCLUDE, XFLG.OLD_PREFIXES);
        break;
      case "exclude-from":
      case "include-from": {
        const include = f.kind === "include-from";
        try {
          // (Upstream's XFLG_FATAL_ERRORS | XFLG_OLD_PREFIXES.)
          list.parseFile(f.value, ctx, include ? FR.INCLUDE : 0, XFLG.OLD_PREFIXES, undefined, { template: include ? FR.INCLUDE : 0, xflags: 3 });
        } catch (e) {
          if (e instanceof RsyncError) throw e;
          throw new RsyncError(RERR.FILEIO, `rsync: [client] failed to open ${include ? "in" : "ex"}clude file ${f.value}: ${errText(e)}`);
        }
        break;
      }
    }
  }
  if (announce) sayAddedRules(list, 0, "client");
  return list;
}

/** upstream's read buffer for one rule (BIGPATHBUFLEN). */
const MAX_RULE_LENGTH = 4096 + 1024;

/**
 * send_rules: decides which side each rule is for (a sender-side rule does
 * not apply on a receiver and the other way round, --delete-excluded makes
 * plain rules the sender's), then writes those the peer needs, each as its
 * length and its text, and the terminating 0. `w` null: only decide.
 */
export function writeFilterRules(w: ByteWriter | null, list: FilterList, o: { amSender: boolean; protocol: number; deleteExcluded: boolean }): void {
  writeRules(w, list.rules, list, o);
  list.skip = Elide.REMOTE;
  if (w) w.i32(0);
}

function writeRules(w: ByteWriter | null, rules: FilterRule[], list: FilterList, o: { amSender: boolean; protocol: number; deleteExcluded: boolean }): void {
  for (const rule of rules) {
    let elide = Elide.NONE;
    if (rule.flags & FR.SENDER_SIDE) elide = o.amSender ? Elide.LOCAL : Elide.REMOTE;
    if (rule.flags & FR.RECEIVER_SIDE) elide = elide ? Elide.NONE : o.amSender ? Elide.REMOTE : Elide.LOCAL;
    else if (o.deleteExcluded && !elide && (!(rule.flags & FR.PERDIR_MERGE) || rule.flags & FR.NO_PREFIXES)) elide = o.amSender ? Elide.LOCAL : Elide.REMOTE;
    rule.elide = elide;
    if (elide === Elide.LOCAL) continue;
    // A "-C" rule goes as the rules it stands for to a receiver (or an old peer); a newer sender makes its own.
    // Either way those rules get their sides decided here (--delete-excluded keeps them off a receiver).
    if (rule.flags & FR.CVS_IGNORE && !(rule.flags & FR.MERGE_FILE)) {
      const sendsThem = o.amSender || o.protocol < 29;
      writeRules(sendsThem ? w : null, list.cvs ?? [], list, o);
      if (sendsThem) continue;
    }
    const prefix = rulePrefix(rule, o.protocol, o.amSender, o.deleteExcluded);
    if (prefix === null) throw new RsyncError(RERR.PROTOCOL, "filter rules are too modern for remote rsync.");
    if (!w) continue;
    const dir = rule.flags & FR.DIRECTORY ? 1 : 0;
    const length = prefix.length + rule.pattern.length + dir;
    if (length === 0) continue;
    w.i32(length).bytes(Buffer.from(prefix, "latin1")).bytes(rule.pattern);
    if (dir) w.u8(0x2f);
  }
}

/**
 * -C around the exchange (send_filter_list, recv_filter_list): a sender's
 * list gets the per-directory .cvsignore rule and the CVS ignores; a
 * receiver's the per-directory rule (before protocol 29 only the receiver
 * side that sends them can say so). `when` says which half of the exchange.
 */
export function addCvsRules(list: FilterList, o: { amSender: boolean; protocol: number; deleteExcluded: boolean }, when: "before-sending" | "after-sending" | "received"): void {
  const ctx: ParseContext = { deleteExcluded: o.deleteExcluded, cvsPerishable: o.protocol >= 30 };
  const merge = () => list.parse(":C", ctx);
  const ignores = () => list.parse("-C", ctx);
  if (when === "before-sending") {
    if (o.amSender && o.protocol >= 29) {
      merge();
      ignores();
    }
  } else if (when === "after-sending") {
    if (!o.amSender || o.protocol < 29) merge();
    if (!o.amSender) ignores();
  } else {
    if (o.amSender || o.protocol < 29) merge();
    if (o.amSender) ignores();
  }
}

/** recv_filter_list: the client's rules, each parsed as the client wrote it (old prefixes before protocol 29). */
export function readFilterRule(r: ChunkReader): Uint8Array | null {
  const len = r.i32();
  if (len === 0) return null;
  if (len < 0 || len >= MAX_RULE_LENGTH) throw new RsyncError(RERR.PROTOCOL, "rsync: overflow in recv_rules");
  return r.bytes(len).slice();
}

export function addReceivedRule(list: FilterList, rule: Uint8Array, protocol: number, deleteExcluded: boolean): void {
  list.parse(rule, { deleteExcluded }, 0, protocol >= 29 ? 0 : XFLG.OLD_PREFIXES);
}

/**
 * compat.c setup_protocol: a client (or either side of a local copy) keeps a
 * relative --partial-dir (or --delay-updates' ".~tmp~") out of the transfer
 * with an exclude rule of its own, which also goes to the server and there
 * protects the partial dirs from --delete. Perishable from the receiver,
 * and from a sender speaking protocol 30 or later.
 */
export function addPartialDirRule(list: FilterList, o: Options, side: { amSender: boolean; protocol: number }): void {
  const dir = o.inplace || o.append ? undefined : (o.partialDir ?? (o.delayUpdates ? DELAY_UPDATES_DIR : undefined));
  if (dir === undefined || dir.startsWith("/")) return;
  const clean = dir.replace(/\/+$/, "");
  if (clean === "" || clean === ".") return;
  const perishable = !side.amSender || side.protocol >= 30 ? FR.PERISHABLE : 0;
  list.parse(clean, { deleteExcluded: o.deleteExcluded }, FR.NO_PREFIXES | FR.DIRECTORY | perishable);
}
