/**
 * Filter rules (exclude.c): parsing the rule text of --filter, --exclude,
 * --include and their files, matching a name against a list, and the rule
 * list as it travels from client to server (send_rules / recv_filter_list).
 *
 * Names are matched as upstream's rule_matches does: a pattern without '/'
 * or "**" is tried against the last path component; one with an inner '/'
 * against the same number of trailing components; a leading '/' anchors it
 * at the transfer root; a trailing '/' limits it to directories; "**" may
 * cross '/' and lets a pattern match after any '/'; a trailing "/***" also
 * matches the directory itself.
 *
 * Per-directory merge files (':' rules, -F): the rule stays in the list as a
 * placeholder; DirScopes reads the named file in each directory the walk
 * enters, and the placeholder stands for that directory's rules followed by
 * its parent's (unless 'n'). -C's per-directory .cvsignore is not here yet.
 */
import { RERR, RsyncError } from "../errors.ts";
import { readFileSync } from "node:fs";
import { compileWildPattern, litmatchArray, type WildPattern } from "./wildmatch.ts";

/** upstream's FILTRULE_* bits (rsync.h). */
export const FR = {
  WILD: 1 << 0,
  WILD2: 1 << 1,
  WILD2_PREFIX: 1 << 2,
  WILD3_SUFFIX: 1 << 3,
  ABS_PATH: 1 << 4,
  INCLUDE: 1 << 5,
  DIRECTORY: 1 << 6,
  WORD_SPLIT: 1 << 7,
  NO_INHERIT: 1 << 8,
  NO_PREFIXES: 1 << 9,
  MERGE_FILE: 1 << 10,
  PERDIR_MERGE: 1 << 11,
  EXCLUDE_SELF: 1 << 12,
  NEGATE: 1 << 14,
  CVS_IGNORE: 1 << 15,
  SENDER_SIDE: 1 << 16,
  RECEIVER_SIDE: 1 << 17,
  CLEAR_LIST: 1 << 18,
  PERISHABLE: 1 << 19,
  XATTR: 1 << 20,
} as const;

const SIDES = FR.SENDER_SIDE | FR.RECEIVER_SIDE;
/** What a rule inherits from the option or merge file it came from (FILTRULES_FROM_CONTAINER). */
const FROM_CONTAINER = FR.ABS_PATH | FR.INCLUDE | FR.DIRECTORY | FR.NEGATE | FR.PERISHABLE;

/** Which rules a check skips (upstream's elide values): the other side's. */
export const enum Elide {
  NONE = 0,
  /** Kept for the peer only, not used here. */
  LOCAL = 1,
  /** Used here only, not sent. */
  REMOTE = 2,
}

export interface FilterRule {
  flags: number;
  /** Without the trailing '/' of a directory rule (FR.DIRECTORY says so). */
  pattern: Uint8Array;
  /** '/' characters in the pattern (how many trailing components it spans). */
  slashCount: number;
  elide: Elide;
  /** The wildcard pattern (without an anchoring '/'), compiled once. */
  wild: WildPattern | null;
  /** A per-directory merge rule's place among its list's (-1 for any other rule). */
  mergeId: number;
  /** Read from a file's contents: debug lines do not show its text (exclude.c rule_text). */
  fromFile?: boolean;
}

/** Parsing modes (upstream's XFLG_*). */
export const XFLG = {
  /** --exclude/--include and their files: only "- " and "+ " prefixes, "!" clears. */
  OLD_PREFIXES: 1 << 0,
} as const;

export interface ParseContext {
  /** --delete-excluded: an unmodified include/exclude becomes a sender-side rule. */
  deleteExcluded: boolean;
  /**
   * Reading a per-directory merge file (XFLG_ANCHORED2ABS): its anchored
   * rules are anchored at its directory (this absolute path, no leading '/'),
   * and rules for the other side are dropped.
   */
  mergeDir?: { absDir: Uint8Array; amSender: boolean };
  /** Protocol 30+: the default CVS ignores are perishable. */
  cvsPerishable?: boolean;
  /** --from0: rule files hold NUL-ended rules, not lines. */
  eolNulls?: boolean;
  /**
   * A daemon module's own rules (XFLG_ABS_IF_SLASH | XFLG_DIR2WILD3): a rule
   * with a '/' matches the path from the module's root, an excluded
   * directory takes its contents with it, and rules for the other side are
   * dropped.
   */
  daemonRules?: { amSender: boolean };
  /** Reads a rule file ('.' rules, --exclude-from; "-" is stdin), or throws the error to report. */
  readRuleFile?(name: string): Uint8Array;
  /**
   * Reading a per-directory merge file: a ':' rule in it joins the top list's
   * per-directory rules (from that directory down, as upstream's mergelist
   * grows while push_local_filters reads); returns its mergeId there.
   */
  nestedPerDir?(rule: FilterRule): number;
}

const SP = 0x20;
const isSpace = (b: number | undefined) => b === 0x20 || (b !== undefined && b >= 0x09 && b <= 0x0d);

export function filterError(message: string, rule: Uint8Array | string): RsyncError {
  const text = typeof rule === "string" ? rule : Buffer.from(rule).toString("latin1");
  return new RsyncError(RERR.SYNTAX, `${message}: ${text}`);
}

/** The long rule names and the prefix letter each stands for. */
const WORDS: [word: string, letter: string][] = [
  ["clear", "!"],
  ["dir-merge", ":"],
  ["exclude", "-"],
  ["hide", "H"],
  ["include", "+"],
  ["merge", "."],
  ["protect", "P"],
  ["risk", "R"],
  ["show", "S"],
];

/** rule_strcmp: a long name counts when followed by a space, '_', ',' (modifiers follow) or the end. */
function longName(s: Uint8Array, at: number): { letter: string; end: number } | null {
  for (const [word, letter] of WORDS) {
    if (at + word.length > s.length) continue;
    let same = true;
    for (let i = 0; i < word.length; i++) if (s[at + i] !== word.charCodeAt(i)) same = false;
    if (!same) continue;
    const after = s[at + word.length];
    // The modifier loop starts at the character after the returned position.
    if (after === undefined || isSpace(after) || after === 0x5f) return { letter, end: at + word.length - 1 };
    if (after === 0x2c) return { letter, end: at + word.length };
  }
  return null;
}

interface Token {
  flags: number;
  start: number;
  end: number;
}

/** parse_rule_tok: one rule's flags and where its pattern lies in `s`, or null at the end. */
function parseRuleToken(s: Uint8Array, at: number, template: number, xflags: number, ctx: ParseContext): Token | null {
  if (template & FR.WORD_SPLIT) while (isSpace(s[at])) at++;
  if (at >= s.length) return null;
  const ruleStart = at;
  let flags = template & FROM_CONTAINER;
  if (template & FR.NO_PREFIXES) {
    if (s[at] === 0x21 && template & FR.CVS_IGNORE) flags |= FR.CLEAR_LIST;
  } else if (xflags & XFLG.OLD_PREFIXES) {
    if (s[at] === 0x2d && s[at + 1] === SP) {
      flags &= ~FR.INCLUDE;
      at += 2;
    } else if (s[at] === 0x2b && s[at + 1] === SP) {
      flags |= FR.INCLUDE;
      at += 2;
    } else if (s[at] === 0x21) flags |= FR.CLEAR_LIST;
  } else {
    const named = longName(s, at);
    let letter: string;
    if (named) {
      letter = named.letter;
      at = named.end;
    } else {
      letter = String.fromCharCode(s[at]!);
      if (s[at + 1] === 0x2c) at++;
    }
    let sideFromPrefix = false;
    switch (letter) {
      case ":":
        flags |= FR.PERDIR_MERGE | FR.MERGE_FILE;
        break;
      case ".":
        flags |= FR.MERGE_FILE;
        break;
      case "+":
        flags |= FR.INCLUDE;
        break;
      case "-":
        break;
      case "S":
        flags |= FR.INCLUDE | FR.SENDER_SIDE;
        sideFromPrefix = true;
        break;
      case "H":
        flags |= FR.SENDER_SIDE;
        sideFromPrefix = true;
        break;
      case "R":
        flags |= FR.INCLUDE | FR.RECEIVER_SIDE;
        sideFromPrefix = true;
        break;
      case "P":
        flags |= FR.RECEIVER_SIDE;
        sideFromPrefix = true;
        break;
      case "!":
        flags |= FR.CLEAR_LIST;
        break;
      default:
        throw filterError("Unknown filter rule", s.subarray(ruleStart));
    }
    if (letter !== "!") {
      for (at++; at < s.length && s[at] !== SP && s[at] !== 0x5f; at++) {
        if (template & FR.WORD_SPLIT && isSpace(s[at])) {
          at--;
          break;
        }
        flags = modifier(flags, s[at]!, sideFromPrefix, s, ruleStart, at);
      }
    }
    if (at < s.length) at++;
  }
  if (template & SIDES) {
    if (flags & SIDES) throw filterError("specified-side merge file contains specified-side filter", s.subarray(ruleStart));
    flags |= template & SIDES;
  }
  let end = s.length;
  if (template & FR.WORD_SPLIT) {
    end = at;
    while (end < s.length && !isSpace(s[end])) end++;
  }
  const len = end - at;
  if (flags & FR.CLEAR_LIST) {
    if (!(template & FR.NO_PREFIXES) && !(xflags & XFLG.OLD_PREFIXES) && len) throw filterError("'!' rule has trailing characters", s.subarray(ruleStart));
    if (len > 1) flags &= ~FR.CLEAR_LIST;
  } else if (!len && !(flags & FR.CVS_IGNORE)) {
    throw filterError("unexpected end of filter rule", s.subarray(ruleStart));
  }
  if (ctx.deleteExcluded && !(flags & (SIDES | FR.MERGE_FILE | FR.PERDIR_MERGE))) flags |= FR.SENDER_SIDE;
  return { flags, start: at, end };
}

const bitsSetUnset = (flags: number, set: number, unset: number) => (flags & (set | unset)) === set;

/** One modifier character after a rule's prefix. */
function modifier(flags: number, ch: number, sideFromPrefix: boolean, s: Uint8Array, ruleStart: number, at: number): number {
  const invalid = () =>
    new RsyncError(RERR.SYNTAX, `invalid modifier '${String.fromCharCode(ch)}' at position ${at - ruleStart} in filter rule: ${Buffer.from(s.subarray(ruleStart)).toString("latin1")}`);
  switch (String.fromCharCode(ch)) {
    case "-":
      if (!bitsSetUnset(flags, FR.MERGE_FILE, FR.NO_PREFIXES)) throw invalid();
      return flags | FR.NO_PREFIXES;
    case "+":
      if (!bitsSetUnset(flags, FR.MERGE_FILE, FR.NO_PREFIXES)) throw invalid();
      return flags | FR.NO_PREFIXES | FR.INCLUDE;
    case "/":
      return flags | FR.ABS_PATH;
    case "!":
      // Negation belongs to a pattern, so it is no merge-file default.
      if (flags & FR.MERGE_FILE) throw invalid();
      return flags | FR.NEGATE;
    case "C":
      if (flags & FR.NO_PREFIXES || sideFromPrefix) throw invalid();
      return flags | FR.NO_PREFIXES | FR.WORD_SPLIT | FR.NO_INHERIT | FR.CVS_IGNORE;
    case "e":
      if (!(flags & FR.MERGE_FILE)) throw invalid();
      return flags | FR.EXCLUDE_SELF;
    case "n":
      if (!(flags & FR.MERGE_FILE)) throw invalid();
      return flags | FR.NO_INHERIT;
    case "p":
      return flags | FR.PERISHABLE;
    case "r":
      if (sideFromPrefix) throw invalid();
      return flags | FR.RECEIVER_SIDE;
    case "s":
      if (sideFromPrefix) throw invalid();
      return flags | FR.SENDER_SIDE;
    case "w":
      if (!(flags & FR.MERGE_FILE)) throw invalid();
      return flags | FR.WORD_SPLIT;
    case "x":
      return flags | FR.XATTR;
    default:
      throw invalid();
  }
}

/** upstream's MAXPATHLEN: longer patterns are dropped with a message. */
const MAXPATHLEN = 4096;

/** A list of rules, checked first to last (filter_rule_list). */
export class FilterList {
  rules: FilterRule[] = [];
  /** The per-directory merge rules (':'), by mergeId. */
  perDir: FilterRule[] = [];
  /** What a "-C" rule stands for: upstream's default CVS ignores, ~/.cvsignore and $CVSIGNORE. */
  cvs: FilterRule[] | null = null;
  /** What a check skips: on a sending side the receiver's rules, and the other way round. */
  skip: Elide = Elide.REMOTE;
  /** How --debug=FILTER lines name this list after the pattern (filter_rule_list's debug_type). */
  debugType = "";
  /** Rule files being read (parseFile): rules added meanwhile came from a file's contents. */
  private fileDepth = 0;
  /**
   * --debug=FILTER: told each rule as add_rule takes it ("- *.o", the text
   * with its prefix), and whether its pattern ends in whitespace (upstream
   * cautions about that from level 1, shows every rule from level 2).
   */
  onAddRule: ((text: string, trailingSpace: boolean, debugType: string) => void) | null = null;
  /** --debug=FILTER2: a rule file read (or not found), as parse_filter_file names it. */
  onParseFile: ((text: string) => void) | null = null;
  /** --debug=FILTER2: a new per-directory merge list (add_rule's "activating mergelist #N [per-dir NAME]"). */
  onActivate: ((id: number, debugType: string) => void) | null = null;

  /** The rule file being read and the number of the line in it (-1 when words are read), for add_rule's text. */
  private source: { name: string; line: number } | null = null;

  private announce(flags: number, pattern: Uint8Array): void {
    if (!this.onAddRule) return;
    const last = pattern[pattern.length - 1];
    // A rule read from a file is named by where it came from (exclude.c rule_text), never by its text.
    const from = this.source && (this.source.line < 0 ? this.source.name : `${this.source.name} line ${this.source.line}`);
    const text = from !== null ? `<rule from ${from}>` : `${rulePrefix({ flags, pattern } as FilterRule, 32, false, false) ?? ""}${Buffer.from(pattern).toString("latin1")}`;
    this.onAddRule(text, from === null && (last === 0x20 || last === 0x09), this.debugType);
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** The mergeId of the per-directory rule reading the same file name (a name given twice counts once), or -1. */
  perDirId(rule: FilterRule): number {
    const base = (n: Uint8Array) => n.subarray(n.lastIndexOf(0x2f) + 1);
    const own = base(rule.pattern);
    return this.perDir.findIndex((r) => Buffer.from(base(r.pattern)).equals(own));
  }

  /**
   * Adds a per-directory rule and returns its mergeId; in this list's own
   * rules too, unless it came from inside a per-directory file (there its
   * placeholder sits among that file's rules).
   */
  addPerDir(rule: FilterRule, inOwnRules = true): number {
    const placed = { ...rule, mergeId: this.perDir.length };
    if (inOwnRules) this.rules.push(placed);
    this.perDir.push(placed);
    return placed.mergeId;
  }

  /**
   * parse_filter_str: adds the rules in `text` (one rule, or several with a
   * word-splitting template) to the list.
   */
  parse(text: Uint8Array | string, ctx: ParseContext, template = 0, xflags = 0, onMessage?: (text: string) => void): void {
    const s = typeof text === "string" ? new Uint8Array(Buffer.from(text, "latin1")) : text;
    for (let at = 0; ; ) {
      const tok = parseRuleToken(s, at, template, xflags, ctx);
      if (!tok) return;
      at = tok.end;
      const pattern = s.subarray(tok.start, tok.end);
      if (pattern.length >= MAXPATHLEN) {
        onMessage?.(`discarding over-long filter: ${Buffer.from(pattern).toString("latin1")}`);
        continue;
      }
      if (tok.flags & FR.CLEAR_LIST) {
        this.rules = [];
        continue;
      }
      if (tok.flags & FR.MERGE_FILE) {
        this.merge(tok.flags, pattern, ctx, onMessage);
        continue;
      }
      this.announce(tok.flags, pattern);
      this.add(pattern, tok.flags, ctx);
      // "-C": the rule stands for the CVS-style ignore list (made once per list, get_cvs_excludes).
      if (tok.flags & FR.CVS_IGNORE && !this.cvs) this.cvs = cvsExcludes(tok.flags, ctx, this);
    }
  }

  /**
   * A '.' rule: the named file's rules join this list now. A ':' rule stays
   * as a placeholder for each directory's file (one per file name: a name
   * given twice counts once).
   */
  private merge(flags: number, pattern: Uint8Array, ctx: ParseContext, onMessage?: (text: string) => void): void {
    const name = pattern.length ? Buffer.from(pattern).toString("latin1") : ".cvsignore";
    if (flags & FR.EXCLUDE_SELF) {
      this.add(new Uint8Array(Buffer.from(name.slice(name.lastIndexOf("/") + 1), "latin1")), 0, ctx);
      flags &= ~FR.EXCLUDE_SELF;
    }
    if (flags & FR.PERDIR_MERGE) {
      this.announce(flags, new Uint8Array(Buffer.from(name, "latin1")));
      const rule: FilterRule = { flags, pattern: new Uint8Array(Buffer.from(name, "latin1")), slashCount: 0, elide: Elide.NONE, wild: null, mergeId: -1, fromFile: this.fileDepth > 0 };
      if (ctx.nestedPerDir) {
        // Inside a per-directory file: the rule stands here for what the top list reads under its name.
        this.rules.push({ ...rule, mergeId: ctx.nestedPerDir(rule) });
        return;
      }
      if (this.perDirId(rule) >= 0) return;
      const id = this.addPerDir(rule);
      this.onActivate?.(id, perDirDebugType(rule));
      return;
    }
    // Upstream reads it with the merge rule as template, fatal errors (XFLG_FATAL_ERRORS).
    this.parseFile(name, ctx, flags & ~FR.MERGE_FILE, 0, onMessage, { template: flags, xflags: 1 });
  }

  /**
   * parse_filter_file: every line of a rule file (--exclude-from and
   * friends, merge files) as a rule; with word splitting every word. Blank
   * lines and, when reading lines, ';' and '#' comments are skipped.
   */
  parseFile(name: string, ctx: ParseContext, template: number, xflags: number, onMessage?: (text: string) => void, shownAs?: { template: number; xflags: number }): void {
    if (!ctx.readRuleFile) throw filterError("merge files are not allowed here", name);
    let content: Uint8Array;
    // parse_filter_file (--debug=FILTER2): the file, the flags its rules start from, the parse flags.
    // (`shownAs`: upstream's template and XFLG_* bits where they differ from what is passed here.)
    const shown = shownAs ?? { template, xflags: 0 };
    const said = `parse_filter_file(${name},${shown.template.toString(16)},${shown.xflags.toString(16)})`;
    try {
      content = ctx.readRuleFile(name);
    } catch (e) {
      this.onParseFile?.(`${said} [not found]`);
      throw e;
    }
    this.onParseFile?.(said);
    // CRLF is one line break, and so is a lone CR.
    const items = template & FR.WORD_SPLIT ? splitWords(content) : ctx.eolNulls ? splitNuls(content) : splitLines(content);
    this.fileDepth++;
    const outer = this.source;
    try {
      for (let i = 0; i < items.length; i++) {
        const item = items[i]!;
        this.source = { name, line: template & FR.WORD_SPLIT ? -1 : i + 1 };
        if (item.length === 0) continue;
        if (!(template & FR.WORD_SPLIT) && (item[0] === 0x3b || item[0] === 0x23)) continue;
        this.parse(item, ctx, template, xflags, onMessage);
      }
    } finally {
      this.fileDepth--;
      this.source = outer;
    }
  }

  /** add_rule: a trailing '/' makes a directory rule; the wildcard flags are worked out once. */
  add(text: Uint8Array, flags: number, ctx?: ParseContext): void {
    let p = text;
    const merging = ctx?.mergeDir;
    const daemon = ctx?.daemonRules;
    // A per-directory file's (or the daemon's) rules for the other side only are no concern here.
    const side = merging ?? daemon;
    if (side && (flags & SIDES) === (side.amSender ? FR.RECEIVER_SIDE : FR.SENDER_SIDE)) return;
    if (p.length > 1 && p[p.length - 1] === 0x2f) {
      p = p.subarray(0, p.length - 1);
      flags |= FR.DIRECTORY;
    }
    if (merging && !(flags & FR.ABS_PATH) && p[0] === 0x2f) {
      // Anchored at the merge file's directory: an absolute rule with that directory in front.
      flags |= FR.ABS_PATH;
      if (merging.absDir.length > 0) p = Uint8Array.from([0x2f, ...merging.absDir, ...p]);
    }
    if (daemon && !(flags & (FR.ABS_PATH | FR.MERGE_FILE)) && p.includes(0x2f)) flags |= FR.ABS_PATH;
    if (daemon && (flags & (FR.DIRECTORY | FR.INCLUDE)) === FR.DIRECTORY) {
      flags &= ~FR.DIRECTORY;
      p = Uint8Array.from([...p, 0x2f, 0x2a, 0x2a, 0x2a]);
    }
    let slashCount = 0;
    let wild = false;
    for (const b of p) {
      if (b === 0x2f) slashCount++;
      else if (b === 0x2a || b === 0x5b || b === 0x3f) wild = true;
    }
    if (wild) {
      flags |= FR.WILD;
      const star2 = indexOfStarStar(p);
      if (star2 >= 0) {
        flags |= FR.WILD2;
        if (star2 === 0) flags |= FR.WILD2_PREFIX;
        const n = p.length;
        if (n >= 3 && p[n - 1] === 0x2a && p[n - 2] === 0x2a && p[n - 3] === 0x2a) flags |= FR.WILD3_SUFFIX;
      }
    }
    const own = p.slice();
    const bare = own[0] === 0x2f ? own.subarray(1) : own;
    this.rules.push({ flags, pattern: own, slashCount, elide: Elide.NONE, wild: flags & FR.WILD ? compileWildPattern(bare) : null, mergeId: -1, fromFile: this.fileDepth > 0 });
  }

  /**
   * check_filter: 1 when the first matching rule includes `name`, -1 when it
   * excludes it, 0 when no rule matches. `name` is the path relative to the
   * transfer root ("dir/file"); `absRoot` the root's own path for rules with
   * the '/' modifier.
   */
  check(name: Uint8Array, isDir: boolean, absRoot?: Uint8Array, ignorePerishable = false, skip = this.skip, scope?: DirScope): -1 | 0 | 1 {
    const hit = this.matchingRule(name, isDir, absRoot, ignorePerishable, skip, scope);
    return hit ? (hit.rule.flags & FR.INCLUDE ? 1 : -1) : 0;
  }

  /** check_filter's first matching rule, with the debug type of the list it is in; null when none matches. */
  matchingRule(name: Uint8Array, isDir: boolean, absRoot?: Uint8Array, ignorePerishable = false, skip = this.skip, scope?: DirScope): FilterMatch | null {
    return firstMatch(this.rules, { name, isDir, absRoot, ignorePerishable, skip, scope, cvs: this.cvs }, this.debugType, this.perDir);
  }

  /**
   * check_server_filter: whether a name the sender listed is one our rules
   * keep from it (our own receiver-side rules aside): a receiver refuses it.
   */
  excludesFromSender(name: Uint8Array, isDir: boolean): boolean {
    return this.check(name, isDir, undefined, false, Elide.LOCAL) < 0;
  }
}

/** upstream's DEFAULT_CVSIGNORE (rsync.1.md's --cvs-exclude list). */
export const DEFAULT_CVSIGNORE =
  "RCS SCCS CVS CVS.adm RCSLOG cvslog.* tags TAGS .make.state .nse_depinfo *~ #* .#* ,* _$* *$ *.old *.bak *.BAK *.orig *.rej .del-* *.a *.olb *.o *.obj *.so *.exe *.Z *.elc *.ln core .svn/ .git/ .hg/ .bzr/";

/**
 * get_cvs_excludes: the default list, then $HOME/.cvsignore, then
 * $CVSIGNORE, each word an exclude (perishable from protocol 30, which the
 * caller's "-C" rule carries).
 */
function cvsExcludes(flags: number, ctx: ParseContext, debug: Pick<FilterList, "onAddRule" | "onParseFile">): FilterRule[] {
  const list = new FilterList();
  list.debugType = " [global CVS]";
  list.onAddRule = debug.onAddRule;
  list.onParseFile = debug.onParseFile;
  const template = (flags & ~FR.MERGE_FILE) | FR.NO_PREFIXES | FR.WORD_SPLIT;
  const plain: ParseContext = { deleteExcluded: ctx.deleteExcluded };
  list.parse(DEFAULT_CVSIGNORE, plain, template | (ctx.cvsPerishable ? FR.PERISHABLE : 0));
  const home = process.env.HOME;
  if (home) {
    try {
      list.parseFile(`${home}/.cvsignore`, { ...plain, readRuleFile: (n) => new Uint8Array(readFileSync(n)) }, template, 0);
    } catch {
      // no ~/.cvsignore
    }
  }
  if (process.env.CVSIGNORE) list.parse(process.env.CVSIGNORE, plain, template);
  // These stand in for the "-C" rule: they are plain rules here, not CVS placeholders.
  for (const r of list.rules) r.flags &= ~FR.CVS_IGNORE;
  return list.rules;
}

/** One check_filter call's question. */
interface Query {
  name: Uint8Array;
  isDir: boolean;
  absRoot?: Uint8Array;
  ignorePerishable: boolean;
  skip: Elide;
  scope?: DirScope;
  cvs: FilterRule[] | null;
}

/** The rules each per-directory merge rule stands for in one directory (by mergeId). */
export type DirScope = FilterRule[][];

/** The rule that decided a check, and its list's debug type (" [per-dir NAME]", " [global CVS]"...). */
export interface FilterMatch {
  rule: FilterRule;
  debugType: string;
}

function firstMatch(rules: FilterRule[], q: Query, debugType: string, perDir: FilterRule[]): FilterMatch | null {
  for (const rule of rules) {
    if (q.ignorePerishable && rule.flags & FR.PERISHABLE) continue;
    if (rule.mergeId >= 0) {
      const merged = q.scope?.[rule.mergeId];
      const hit = merged ? firstMatch(merged, q, perDirDebugType(perDir[rule.mergeId] ?? rule), perDir) : null;
      if (hit) return hit;
      continue;
    }
    if (rule.flags & FR.CVS_IGNORE) {
      const hit = q.cvs ? firstMatch(q.cvs, { ...q, cvs: null }, " [global CVS]", perDir) : null;
      if (hit) return hit;
      continue;
    }
    if (ruleMatches(q.name, rule, q.isDir, q.skip, q.absRoot)) return { rule, debugType };
  }
  return null;
}

/** add_rule's name for a per-directory merge list: the file name it reads. */
function perDirDebugType(rule: FilterRule): string {
  const p = rule.pattern;
  return ` [per-dir ${Buffer.from(p.subarray(p.lastIndexOf(0x2f) + 1)).toString("latin1")}]`;
}

/**
 * exclude.c report_filter_result: "[who] hiding file NAME because of
 * pattern PAT" (--debug=FILTER). A generator protects and risks where others
 * hide and show; a rule read from a file is not quoted (rule_text).
 */
export function filterMatchLine(who: string, name: Uint8Array, isDir: boolean, hit: FilterMatch): string {
  const { rule } = hit;
  const include = (rule.flags & FR.INCLUDE) !== 0;
  const action = who.startsWith("g") ? (include ? "risk" : "protect") : include ? "show" : "hid";
  const text = rule.fromFile ? "<rule from a file read earlier>" : Buffer.from(rule.pattern).toString("latin1");
  const dirMark = !rule.fromFile && rule.flags & FR.DIRECTORY ? "/" : "";
  return `[${who}] ${action}ing ${isDir ? "directory" : "file"} ${Buffer.from(name).toString("latin1")} because of pattern ${text}${dirMark}${hit.debugType}`;
}

function splitLines(content: Uint8Array): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < content.length; i++) {
    const b = content[i];
    if (b !== 0x0a && b !== 0x0d) continue;
    lines.push(content.subarray(start, i));
    if (b === 0x0d && content[i + 1] === 0x0a) i++;
    start = i + 1;
  }
  if (start < content.length) lines.push(content.subarray(start));
  return lines;
}

function splitNuls(content: Uint8Array): Uint8Array[] {
  const items: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= content.length; i++) {
    if (i < content.length && content[i] !== 0) continue;
    if (i > start || i < content.length) items.push(content.subarray(start, i));
    start = i + 1;
  }
  return items;
}

function splitWords(content: Uint8Array): Uint8Array[] {
  const words: Uint8Array[] = [];
  let start = -1;
  for (let i = 0; i <= content.length; i++) {
    const space = i === content.length || isSpace(content[i]);
    if (!space && start < 0) start = i;
    else if (space && start >= 0) {
      words.push(content.subarray(start, i));
      start = -1;
    }
  }
  return words;
}

function indexOfStarStar(p: Uint8Array): number {
  for (let i = 0; i + 1 < p.length; i++) if (p[i] === 0x2a && p[i + 1] === 0x2a) return i;
  return -1;
}

const SLASH = new Uint8Array([0x2f]);

function bytesEqualAt(text: Uint8Array, from: number, pattern: Uint8Array): boolean {
  if (text.length - from !== pattern.length) return false;
  for (let i = 0; i < pattern.length; i++) if (text[from + i] !== pattern[i]) return false;
  return true;
}

/** rule_matches. */
function ruleMatches(fname: Uint8Array, rule: FilterRule, isDir: boolean, skip: Elide, absRoot?: Uint8Array): boolean {
  const hit = !(rule.flags & FR.NEGATE);
  let name = fname[0] === 0x2f ? fname.subarray(1) : fname;
  if (name.length === 0 || (skip !== Elide.NONE && rule.elide === skip)) return false;
  // Rules for xattr names never match file names (xattrs are not supported yet).
  if (rule.flags & FR.XATTR) return false;
  const strings: Uint8Array[] = [];
  if (!rule.slashCount && !(rule.flags & FR.WILD2)) {
    // No '/' and no "**": only the last component counts.
    const slash = name.lastIndexOf(0x2f);
    if (slash >= 0) name = name.subarray(slash + 1);
  } else if (rule.flags & FR.ABS_PATH && fname[0] !== 0x2f && absRoot && absRoot.length > 0) {
    strings.push(absRoot, SLASH);
  } else if (rule.flags & FR.WILD2_PREFIX && fname[0] !== 0x2f) {
    // "**/" may match at the very start.
    strings.push(SLASH);
  }
  strings.push(name);
  if (isDir) {
    // A trailing "/***" also matches the directory itself.
    if (rule.flags & FR.WILD3_SUFFIX) strings.push(SLASH);
  } else if (rule.flags & FR.DIRECTORY) {
    return !hit;
  }
  let pattern = rule.pattern;
  const anchored = pattern[0] === 0x2f;
  if (anchored) pattern = pattern.subarray(1);
  const where = !anchored && rule.slashCount && !(rule.flags & FR.WILD2) ? rule.slashCount + 1 : !anchored && !(rule.flags & FR.WILD2_PREFIX) && rule.flags & FR.WILD2 ? -1 : 0;

  if (rule.wild) {
    if (rule.wild.matchesArray(strings, where)) return hit;
  } else if (strings.length > 1) {
    if (litmatchArray(pattern, strings, where)) return hit;
  } else if (anchored) {
    if (bytesEqualAt(name, 0, pattern)) return hit;
  } else {
    // A literal matches the whole name or a trailing part of it after a '/'.
    const l1 = name.length;
    const l2 = pattern.length;
    if (l2 <= l1 && bytesEqualAt(name, l1 - l2, pattern) && (l1 === l2 || name[l1 - l2 - 1] === 0x2f)) return hit;
  }
  return !hit;
}

/**
 * get_rule_prefix for the wire: the rule's type and modifiers as text, so
 * the peer parses back the same rule; null when this protocol cannot say it.
 */
export function rulePrefix(rule: FilterRule, protocol: number, amSender: boolean, deleteExcluded: boolean): string | null {
  const f = rule.flags;
  // Before protocol 29 only "+ " or "- " may lead a rule, and a plain exclude goes bare.
  let legal = protocol < 29 ? 1 : 15;
  let out = "";
  if (f & FR.PERDIR_MERGE) {
    if (legal === 1) return null;
    out += ":";
  } else if (f & FR.INCLUDE) out += "+";
  else if (legal !== 1 || ((rule.pattern[0] === 0x2d || rule.pattern[0] === 0x2b) && rule.pattern[1] === SP)) out += "-";
  else legal = 0;
  if (f & FR.ABS_PATH) out += "/";
  if (f & FR.NEGATE) out += "!";
  if (f & FR.CVS_IGNORE) out += "C";
  else {
    if (f & FR.NO_INHERIT) out += "n";
    if (f & FR.WORD_SPLIT) out += "w";
    if (f & FR.NO_PREFIXES) out += f & FR.INCLUDE ? "+" : "-";
  }
  if (f & FR.EXCLUDE_SELF) out += "e";
  if (f & FR.XATTR) out += "x";
  if (f & FR.SENDER_SIDE && protocol >= 29) out += "s";
  if (f & FR.RECEIVER_SIDE && (protocol >= 29 || (deleteExcluded && amSender))) out += "r";
  if (f & FR.PERISHABLE) {
    if (protocol >= 30) out += "p";
    else if (amSender) return null;
  }
  if (out.length > legal) return null;
  return legal ? `${out} ` : out;
}
