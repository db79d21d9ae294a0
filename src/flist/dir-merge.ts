/**
 * Per-directory merge files as a walk meets them (exclude.c
 * push_local_filters, setup_merge_file, parse_merge_name): in each directory
 * of the transfer every ':' rule reads its file there; the rule then stands
 * for those rules followed by the ones it stood for in the parent directory
 * (not with 'n'). A merge name with a directory part that leads above the
 * transfer ("/.rsync-filter", as -F has it) first reads the file in every
 * directory from there down to the transfer's parent, which the transfer
 * then inherits.
 *
 * Directories are keyed by their absolute path. The walk says which ones are
 * tops (the directories it starts from); below a top, a directory's rules
 * come from its parent's, worked out on demand.
 */
import { closeSync, constants, readFileSync, realpathSync } from "node:fs";
import { posix } from "node:path";
import { AT_FDCWD, fdOpsAvailable, openInside } from "../fs/fd-ops.ts";
import { FilterList, FR, filterMatchLine, type DirScope, type FilterRule, type ParseContext } from "./filter.ts";

const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");
const bytes = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

/** Where a walk's --debug=FILTER lines go, and who says them ("sender", "generator"). */
export interface FilterDebug {
  level: number;
  who: string;
  say(line: string): void;
}

export class DirScopes {
  private readonly scopes = new Map<string, DirScope>();
  private readonly tops = new Set<string>();
  /** A chroot-less daemon's module (its real path): no merge file is read from outside it. */
  private readonly confineTo: string | null;
  constructor(
    private readonly list: FilterList,
    private readonly o: { deleteExcluded: boolean; amSender: boolean; debug?: FilterDebug; confinedModule?: string },
  ) {
    // The daemon works in the module's root (daemon/session.ts).
    this.confineTo = o.confinedModule !== undefined ? realpathSync(".", { encoding: "latin1" }) : null;
  }

  /**
   * Whether a merge file may be read where a file cannot be opened inside
   * the module (no descriptor operations): anywhere, except in a chroot-less
   * module, where it must be inside the module, symlinks followed (upstream
   * sanitizes merge names there, parse_merge_name): a client's
   * "dir-merge /etc/shadow", or one in a file it uploaded, would otherwise
   * have the file's lines quoted back in errors about them.
   */
  private readable(path: string): boolean {
    if (this.confineTo === null) return true;
    let real: string;
    try {
      real = realpathSync(Buffer.from(path, "latin1"), { encoding: "latin1" });
    } catch {
      return false;
    }
    return real === this.confineTo || real.startsWith(this.confineTo === "/" ? "/" : `${this.confineTo}/`);
  }

  /**
   * A merge file's bytes. In a chroot-less module it is opened inside the
   * module (fd-ops openInside from the working directory, the module's
   * root): symlinks on the way followed while they stay in it, one leading
   * out refused, in the same open that then reads it. A check of the path
   * followed by a read by path left a window for a directory on the way to
   * be swapped for a symlink out of the module in between.
   */
  private readMergeFile(path: string): Uint8Array {
    if (this.confineTo !== null && fdOpsAvailable) return this.readInsideModule(path, this.confineTo);
    if (!this.readable(path)) throw new Error("outside the module");
    return new Uint8Array(readFileSync(Buffer.from(path, "latin1")));
  }

  /** readMergeFile in a chroot-less module: `path` (absolute) opened beneath the module's `root`, the working directory. */
  private readInsideModule(path: string, root: string): Uint8Array {
    if (root !== "/" && !path.startsWith(`${root}/`)) throw new Error("outside the module");
    const rel = Buffer.from(path.slice(root === "/" ? 1 : root.length + 1), "latin1");
    const fd = openInside(AT_FDCWD, rel, constants.O_RDONLY, () => path);
    try {
      return new Uint8Array(readFileSync(fd));
    } finally {
      closeSync(fd);
    }
  }

  /** --debug=FILTER2 lines (push_local_filters and friends), when asked for. */
  private debug2(text: string): void {
    const d = this.o.debug;
    if (d && d.level >= 2) d.say(`[${d.who}] ${text}`);
  }

  /** pop_local_filters: what leaving a directory says (the merge lists last to first). */
  popLines(): void {
    this.debug2("popping local filters");
    for (let i = this.list.perDir.length - 1; i >= 0; i--) this.debug2(`popping mergelist #${i} [per-dir ${this.fileName(i)}]`);
  }

  /** The file name a merge rule looks for in each directory (its last component). */
  private fileName(i: number): string {
    const name = latin1(this.list.perDir[i]!.pattern);
    return name.slice(name.lastIndexOf("/") + 1);
  }

  get active(): boolean {
    return this.list.perDir.length > 0;
  }

  /** A directory the walk is about to read: under a known one its rules follow from its parent's; otherwise it is a top. */
  enter(fsDir: string): void {
    if (!this.scopeOf(fsDir)) this.enterTop(fsDir);
  }

  /** A directory the walk starts from: its parents' files are read now (parent_dirscan), its own with it. */
  enterTop(fsDir: string): void {
    const dir = absolute(fsDir);
    if (this.tops.has(dir)) return;
    this.tops.add(dir);
    const inherited = this.list.perDir.map((rule, i) => this.parentScan(rule, i, dir));
    this.scopes.set(dir, this.readDir(dir, inherited));
  }

  /** absRoot for a check: the absolute path of `fsDir` without its leading '/' (for anchored rules of merge files). */
  static absRootOf(fsDir: string): Uint8Array {
    return bytes(absolute(fsDir).slice(1));
  }

  /** The rules each merge rule stands for in `fsDir` (undefined outside every top). */
  scopeOf(fsDir: string): DirScope | undefined {
    const dir = absolute(fsDir);
    const known = this.scopes.get(dir);
    if (known) return known;
    const parent = dirname(dir);
    if (parent === dir || !this.underTop(dir)) return undefined;
    const parentScope = this.scopeOf(parent);
    if (!parentScope) return undefined;
    const scope = this.readDir(dir, parentScope);
    this.scopes.set(dir, scope);
    return scope;
  }

  private underTop(dir: string): boolean {
    for (const top of this.tops) if (dir.startsWith(top === "/" ? "/" : `${top}/`)) return true;
    return false;
  }

  /** push_local_filters: each merge rule's file here, then what it inherits. */
  private readDir(dir: string, inherited: DirScope): DirScope {
    const scope: DirScope = [];
    // A ':' rule met in one of these files adds a merge rule, read here too (the list grows as it is walked).
    for (let i = 0; i < this.list.perDir.length; i++) {
      const rule = this.list.perDir[i]!;
      this.debug2(`pushing mergelist #${i} [per-dir ${this.fileName(i)}]`);
      const local = this.parseFile(rule, join(dir, this.fileName(i)), dir, i);
      scope.push(rule.flags & FR.NO_INHERIT ? local : [...local, ...(inherited[i] ?? [])]);
    }
    return scope;
  }

  /**
   * setup_merge_file: a merge name whose directory part is `dir` or above it
   * reads its file in each directory from there down to `dir`'s parent.
   */
  private parentScan(rule: FilterRule, i: number, dir: string): FilterRule[] {
    const name = latin1(rule.pattern);
    const slash = name.lastIndexOf("/");
    if (slash < 0) return [];
    const start = absolute(name.startsWith("/") ? name.slice(0, slash) || "/" : `${dir}/${name.slice(0, slash)}`);
    if (start !== "/" && dir !== start && !dir.startsWith(`${start}/`)) return [];
    if (dir === start) return [];
    let rules: FilterRule[] = [];
    const parts = dir.slice(start === "/" ? 1 : start.length + 1).split("/");
    let at = start;
    for (let k = 0; k < parts.length; k++) {
      const local = this.parseFile(rule, join(at, this.fileName(i)), at, i);
      rules = rule.flags & FR.NO_INHERIT ? local : [...local, ...rules];
      at = join(at, parts[k]!);
    }
    return rules;
  }

  /** One merge file's rules (none when it cannot be read, as upstream skips a missing one). */
  private parseFile(rule: FilterRule, path: string, dir: string, mergeId: number): FilterRule[] {
    let content: Uint8Array;
    // parse_filter_file (--debug=FILTER2): the file with its rule's flags and the parse flags (XFLG_ANCHORED2ABS).
    const said = `parse_filter_file(${path},${rule.flags.toString(16)},4)`;
    try {
      content = this.readMergeFile(path);
    } catch {
      this.debug2(`${said} [not found]`);
      return [];
    }
    this.debug2(said);
    const sub = new FilterList();
    if (this.o.debug && this.o.debug.level >= 2) sub.onAddRule = (text) => this.debug2(`add_rule(${text}) [per-dir ${this.fileName(mergeId)}]`);
    const ctx: ParseContext = {
      deleteExcluded: this.o.deleteExcluded,
      readRuleFile: () => content,
      mergeDir: { absDir: bytes(dir === "/" ? "" : dir.slice(1)), amSender: this.o.amSender },
      nestedPerDir: (nested) => {
        const known = this.list.perDirId(nested);
        return known >= 0 ? known : this.list.addPerDir(nested, false);
      },
    };
    sub.parseFile(path, ctx, rule.flags & ~(FR.PERDIR_MERGE | FR.MERGE_FILE | FR.EXCLUDE_SELF | FR.NO_INHERIT), 0);
    return sub.rules;
  }
}

/**
 * Paths are handled as latin1 strings of their bytes (any byte but NUL may
 * be in a name), made absolute against the working directory's bytes.
 */
export function absolute(p: string): string {
  return posix.normalize(p.startsWith("/") ? p : `${latin1(Buffer.from(process.cwd()))}/${p}`).replace(/(.)\/+$/, "$1");
}
const { dirname, join } = posix;

/** push_local_filters names a directory with its trailing '/'. */
export const withSlash = (dir: string) => (dir.endsWith("/") ? dir : `${dir}/`);

/**
 * The walk's filter hooks for a list of rules: whether an entry is in, and
 * per-directory merge files as directories are entered. `debug` gets the
 * --debug=FILTER line for each name a rule decides (the module's rules
 * only go to the daemon's log upstream, so not here).
 */
export function filterHooks(
  list: FilterList,
  o: { deleteExcluded: boolean; moduleFilters?: FilterList | null; confinedModule?: string },
  amSender: boolean,
  debug?: FilterDebug,
  incRecurse = false,
): {
  include?: (name: Uint8Array, isDir: boolean, fsPath: Uint8Array) => boolean;
  enterDir?: (fsPath: Uint8Array) => void;
  leaveDir?: (fsPath: Uint8Array) => void;
  hidden?: (name: Uint8Array, isDir: boolean, fsPath: Uint8Array) => boolean;
  /** The walk is over: an incremental one pops what it still has pushed (only merge lists make that say anything). */
  endWalk?: () => void;
} {
  // push_local_filters / pop_local_filters say so for every directory the walk reads (--debug=FILTER2).
  const say2 = debug && debug.level >= 2 ? (text: string) => debug.say(`[${debug.who}] ${text}`) : undefined;
  const moduleRules = o.moduleFilters ?? null;
  // An entry's transfer root (its path without its list name) is one of a few, one per argument's
  // directory: absolute without the leading '/' for the user's rules (upstream's curr_dir), from the
  // module's root for a module's rules (the daemon works there). Worked out once each.
  const roots = new Map<string, Uint8Array>();
  const rootOf = (path: string, name: Uint8Array, absolutePath: boolean) => {
    const root = path.slice(0, Math.max(0, path.length - name.length));
    const key = `${absolutePath ? "a" : "m"}${root}`;
    let found = roots.get(key);
    if (!found) roots.set(key, (found = absolutePath ? bytes(absolute(root || ".").slice(1)) : moduleRelative(root)));
    return found;
  };
  // A module's rules see paths from the module's root (the daemon's working directory).
  const hidden = moduleRules
    ? (name: Uint8Array, isDir: boolean, fsPath: Uint8Array) => moduleRules.check(name, isDir, rootOf(latin1(fsPath), name, false)) < 0
    : undefined;
  const pushed = say2 && ((fsPath: Uint8Array) => say2(`pushing local filters for ${withSlash(absolute(latin1(fsPath)))}`));
  if (list.empty) {
    const popped = say2 && (() => say2("popping local filters"));
    return { ...(hidden ? { include: (name, isDir, fsPath) => !hidden(name, isDir, fsPath), hidden } : {}), enterDir: pushed, leaveDir: popped };
  }
  const scopes = new DirScopes(list, { deleteExcluded: o.deleteExcluded, amSender, debug, confinedModule: o.confinedModule });
  let stillPushed = 0;
  return {
    include(name, isDir, fsPath) {
      if (hidden?.(name, isDir, fsPath)) return false;
      const path = latin1(fsPath);
      const scope = scopes.active ? scopes.scopeOf(dirname(path)) : undefined;
      const hit = list.matchingRule(name, isDir, rootOf(path, name, true), false, undefined, scope);
      if (!hit) return true;
      if (debug && debug.level >= 1) debug.say(filterMatchLine(debug.who, name, isDir, hit));
      return (hit.rule.flags & FR.INCLUDE) !== 0;
    },
    enterDir:
      scopes.active || pushed
        ? (fsPath) => {
            pushed?.(fsPath);
            if (scopes.active) scopes.enter(latin1(fsPath));
            if (incRecurse && scopes.active) stillPushed++;
          }
        : undefined,
    leaveDir: say2 && (() => scopes.popLines()),
    endWalk: () => {
      for (; stillPushed > 0; stillPushed--) scopes.popLines();
    },
    hidden,
  };
}

/** A path relative to the daemon's working directory (the module's root), as a module's rules see it: no "./", no trailing '/'. */
export function moduleRelative(path: string): Uint8Array {
  const rel = posix.normalize(path || ".").replace(/\/+$/, "");
  return bytes(rel === "." ? "" : rel.replace(/^\.\//, ""));
}
