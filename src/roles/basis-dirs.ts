/**
 * --compare-dest, --copy-dest and --link-dest on the receiving side
 * (generator.c try_dests_reg / try_dests_non, main.c check_alt_basis_dirs).
 *
 * For an entry missing from the destination (or, for a regular file, one
 * that differs), the basis directories are searched in order for the same
 * name: the best candidate is the first that is up to date with unchanged
 * attributes, else the first that is up to date, else the first of the same
 * type. An exact match is then left alone (compare), hard-linked (link) or
 * copied locally (copy, and link when only attributes differ); an up-to-date
 * one is copied; any other regular file is the delta basis, named to the
 * sender by its index.
 *
 * The directories are kept as paths relative to the destination root (an
 * absolute one is made relative to it), so the destination's DestFs reaches them.
 */
import * as fs from "node:fs";
import { basename, dirname, relative, resolve } from "node:path";
import type { Options } from "../cli/options.ts";
import { isDevice, isDir, isLink, isReg, isSpecial } from "../flist/table.ts";
import { DestFs, tempNameFor, type DestStat } from "../fs/dest-fs.ts";
import { errText } from "../fs/errors.ts";
import { ITEM, type AttrRules, type Wanted } from "./attrs.ts";
import type { ReceivingSide } from "./context.ts";
import { RERR, RsyncError } from "../errors.ts";
import { moduleHides, sanitizePath } from "../daemon/sanitize-path.ts";

/** What the generator lends the search: its itemize and its quick check of a regular file. */
export interface BasisHooks {
  itemize(row: number, ndx: number, iflags: number, xname?: Uint8Array): void;
  /** quick_check_ok for a regular file at `rel` (relative to the destination root). */
  upToDate(row: number, rel: Uint8Array, st: DestStat): boolean;
  /** The target symlink `row` would get here (munged by a daemon). */
  linkTarget(row: number): Uint8Array;
}

interface Candidate {
  index: number;
  rel: Uint8Array;
  st: DestStat;
  /** 1: same type, 2: up to date, 3: and unchanged attributes. */
  level: number;
}

/** A regular file's alternate delta basis: basis directory `type` (FNAMECMP_BASIS_DIR_LOW + index). */
export interface BasisDirFile {
  rel: Uint8Array;
  st: DestStat;
  type: number;
}

const EMPTY = new Uint8Array(0);

/** The basis directories relative to the destination root `root` (relative ones are already). */
export function basisDirRels(o: Options, root: Buffer): string[] {
  return o.basisDirs.map((d) => {
    const dir = d.length > 1 ? d.replace(/\/+$/, "") : d;
    return dir.startsWith("/") ? relative(resolve(root.toString("latin1") || "."), dir) || "." : dir;
  });
}

/** `rel` inside basis directory `dirRel` (both relative to the destination root). */
function inBasis(dirRel: string, rel: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(`${dirRel}/`, "latin1"), rel]);
}

/** The basis file a receiver reads for basis type `type` (a basis directory's index). */
export function basisDirFileRel(o: Options, root: Buffer, type: number, rel: Uint8Array): Uint8Array {
  return inBasis(basisDirRels(o, root)[type]!, rel);
}

/** compat.c setup_protocol: before protocol 29 no basis type goes on the wire, so only one basis dir, and not --inplace. */
export function checkBasisDirProtocol(o: Options, protocol: number): void {
  if (protocol >= 29 || o.basisDirs.length === 0) return;
  const opt = `--${o.altDestType}-dest`;
  let e: RsyncError | null = null;
  if (o.inplace) e = new RsyncError(RERR.PROTOCOL, `${opt} with --inplace requires protocol 29 or higher (negotiated ${protocol}).`);
  else if (o.basisDirs.length > 1) e = new RsyncError(RERR.PROTOCOL, `Using more than one ${opt} option requires protocol 29 or higher (negotiated ${protocol}).`);
  if (!e) return;
  e.role = "Receiver";
  throw e;
}

export class BasisDirs {
  private readonly dirs: string[];
  private readonly type: "compare" | "copy" | "link";
  /** Where the basis dirs are looked up: the destination, or its parent in a dry run that has no destination yet. */
  private readonly lookup: DestFs;
  private readonly missingDest: boolean;

  constructor(
    private readonly x: ReceivingSide,
    private readonly attrs: AttrRules,
    private readonly hooks: BasisHooks,
  ) {
    // main.c: a chroot-less daemon keeps them inside the module (".." only as deep as the destination is).
    if (x.o.confinedModule !== undefined) {
      const depth = relative(process.cwd(), resolve(x.dest.root.toString("latin1") || ".")).split("/").filter((p) => p && p !== ".").length;
      x.o.basisDirs = x.o.basisDirs.map((d) => sanitizePath(d, depth, process.cwd()));
    }
    this.dirs = basisDirRels(x.o, x.dest.root);
    // main.c check_alt_basis_dirs: a dry run into a destination that is not there looks "../DIR" up beside it.
    const root = resolve(x.dest.root.toString("latin1") || ".");
    this.missingDest = x.o.dryRun && !fs.existsSync(root);
    if (this.missingDest) {
      this.lookup = new DestFs(dirname(root));
      this.dirs = x.o.basisDirs.map((d) => {
        const dir = d.length > 1 ? d.replace(/\/+$/, "") : d;
        if (dir.startsWith("/")) return relative(dirname(root), dir) || ".";
        return dir.startsWith("../") ? dir.slice(3) : `${basename(root)}/${dir}`;
      });
    } else this.lookup = x.dest;
    this.type = x.o.altDestType ?? "compare";
  }

  static wanted(o: Options): boolean {
    return o.basisDirs.length > 0;
  }

  get isCopy(): boolean {
    return this.type === "copy";
  }

  /** check_alt_basis_dirs: a basis directory that is missing or no directory is warned about (by its full path). */
  warnMissing(): void {
    const x = this.x;
    const here = resolve(x.dest.root.toString("latin1") || ".");
    for (const d of x.o.basisDirs) {
      const dir = d.length > 1 ? d.replace(/\/+$/, "") : d;
      const base = this.missingDest && dir.startsWith("../") ? dirname(here) : here;
      const path = dir.startsWith("/") ? dir : `${base === "/" ? "" : base}/${this.missingDest && dir.startsWith("../") ? dir.slice(3) : dir}`;
      // A daemon's sanitized relative dir is named as it is (it is never made absolute there).
      const shown = x.o.confinedModule !== undefined ? dir : path;
      const st = fs.statSync(Buffer.from(path, "latin1"), { throwIfNoEntry: false });
      if (!st) x.report.error(`--${this.type}-dest arg does not exist: ${shown}`);
      else if (!st.isDirectory()) x.report.error(`--${this.type}-dest arg is not a dir: ${shown}`);
    }
    // main.c do_server_recv: a basis dir the module's rules exclude is refused.
    const rules = x.o.moduleFilters;
    if (rules && x.o.basisDirs.some((d) => moduleHides(rules, d, process.cwd()))) {
      const e = new RsyncError(RERR.SYNTAX, "Your options have been rejected by the server.");
      e.role = "Receiver";
      throw e;
    }
  }

  /** The generator does not itemize through maybe_ATTRS_REPORT when the output itemizes. */
  private get attrsReport(): boolean {
    return !this.x.out.formatHasI;
  }

  private nameLevel(): number {
    return this.x.out.quiet ? 0 : this.x.out.info.get("NAME");
  }

  /**
   * try_dests_reg for regular file `row` at `rel`. `existing`: the
   * destination's (differing) file, for which only an exact match counts.
   * Returns "done" when the entry is handled, a basis file for the delta, or null.
   * `linked` runs as soon as a --link-dest link is made, before it is
   * reported (finish_hard_link links a group's other members first).
   */
  regular(row: number, ndx: number, rel: Uint8Array, existing: DestStat | null, w: Wanted, linked?: () => void): "done" | BasisDirFile | null {
    const x = this.x;
    const best = this.search(row, rel, w, (st) => isReg(st.mode), (c) => this.hooks.upToDate(row, c.rel, c.st));
    if (!best) return null;
    if (best.level === 3 && this.type !== "copy") {
      if (existing) {
        if (this.type === "link" && existing.dev === best.st.dev && existing.ino === best.st.ino) return null;
        if (!x.o.dryRun) {
          try {
            x.dest.unlink(rel);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "ENOENT") return null;
          }
        }
      }
      if (this.type === "compare") {
        this.hooks.itemize(row, ndx, this.attrs.itemizeFlags(row, best.st, w, 0));
        this.sayUptodate(rel, "");
        return "done";
      }
      if (this.hardLink(best.rel, rel)) {
        linked?.();
        // An empty xname: no time change is reported for it without --times (MATCHED stands in for that rule of itemize).
        this.hooks.itemize(row, ndx, this.attrs.itemizeFlags(row, best.st, w, ITEM.LOCAL_CHANGE | ITEM.XNAME_FOLLOWS | ITEM.MATCHED), EMPTY);
        this.sayUptodate(rel, "");
        return "done";
      }
      // A link that cannot be made (another filesystem, too many links): a local copy instead.
    } else if (existing) return null;
    if (best.level >= 2) {
      if (!x.o.dryRun && !this.copyLocally(row, best.rel, rel)) return null;
      this.hooks.itemize(row, ndx, this.attrs.itemizeFlags(row, best.st, w, ITEM.LOCAL_CHANGE));
      if (best.level === 3) this.sayUptodate(rel, "");
      return "done";
    }
    return { rel: best.rel, st: best.st, type: best.index };
  }

  /**
   * try_dests_non for a missing symlink, device, special file or directory.
   * "done": it is handled (linked, or left to the basis with --compare-dest);
   * "create": make it, already itemized; "create-quietly" the same when a link
   * could not be made; a candidate to itemize against; or null.
   */
  nonRegular(row: number, ndx: number, rel: Uint8Array, w: Wanted): "done" | "create-quietly" | { st: DestStat } | null {
    const x = this.x;
    const mode = x.t.mode[row]!;
    const sameType = (st: DestStat) => fileType(st.mode) === fileType(mode);
    const best = this.search(row, rel, w, sameType, (c) => this.sameContent(row, c));
    if (!best) return null;
    if (best.level < 3) return { st: best.st };
    let level = 3;
    let cannotLink = false;
    if (this.type === "link" && !isDir(mode)) {
      if (!this.hardLink(best.rel, rel)) {
        cannotLink = true;
        level = 2;
      }
    } else level = 2;
    if (x.out.formatHasI && (this.nameLevel() >= 2 || x.out.formatHasI > 1)) {
      const chg = this.type === "compare" && !isDir(mode) ? 0 : ITEM.LOCAL_CHANGE | (level === 3 ? ITEM.XNAME_FOLLOWS : 0);
      this.hooks.itemize(row, ndx, this.attrs.itemizeFlags(row, best.st, w, chg | ITEM.MATCHED), level === 3 ? EMPTY : undefined);
    }
    this.sayUptodate(rel, isDir(mode) ? "/" : "");
    return cannotLink ? "create-quietly" : "done";
  }

  /**
   * hlink.c hard_link_check for a missing member of a hard-link group: with
   * --link-dest, a basis file that is the leader's inode already makes the
   * link no change worth reporting (unless all items are itemized); otherwise
   * an up-to-date basis file is what the item is reported against.
   */
  /**
   * hlink.c under --dry-run: a group's leader settled from a basis dir was not
   * linked, so the leader's state is that basis file's (the first dir that has it).
   */
  dryRunLeader(leaderRel: Uint8Array): DestStat | null {
    for (const dir of this.dirs) {
      const st = this.lookup.lstat(inBasis(dir, leaderRel));
      if (st) return st;
    }
    return null;
  }

  hardLinkMember(row: number, rel: Uint8Array, leader: DestStat): { st: DestStat; quiet: boolean } | null {
    const x = this.x;
    let found: DestStat | null = null;
    for (const dir of this.dirs) {
      const cmpRel = inBasis(dir, rel);
      const st = this.lookup.lstat(cmpRel);
      if (!st) continue;
      if (this.type === "link") {
        if (st.dev !== leader.dev || st.ino !== leader.ino) continue;
        const quiet = !x.out.formatHasI || (this.nameLevel() < 2 && x.out.formatHasI < 2);
        if (quiet) this.sayUptodate(rel, "");
        return { st, quiet };
      }
      if (!isReg(x.t.mode[row]!) || !this.hooks.upToDate(row, cmpRel, st)) continue;
      found = st;
      if (this.unchangedAttrs(row, st, this.attrs.wanted(row, null))) break;
    }
    return found ? { st: found, quiet: false } : null;
  }

  private search(row: number, rel: Uint8Array, w: Wanted, fits: (st: DestStat) => boolean, upToDate: (c: Candidate) => boolean): Candidate | null {
    let best: Candidate | null = null;
    for (let index = 0; index < this.dirs.length; index++) {
      const cmpRel = inBasis(this.dirs[index]!, rel);
      let st: DestStat | null;
      try {
        st = this.lookup.lstat(cmpRel);
      } catch {
        st = null;
      }
      if (!st || !fits(st)) continue;
      const c = { index, rel: cmpRel, st, level: 1 };
      if (!best) best = c;
      if (!upToDate(c)) continue;
      if (best.level < 2) best = { ...c, level: 2 };
      if (this.unchangedAttrs(row, st, w)) return { ...c, level: 3 };
    }
    return best;
  }

  /** quick_check_ok for the other types: a symlink's target, a device's numbers (a directory always). */
  private sameContent(row: number, c: Candidate): boolean {
    const x = this.x;
    const mode = x.t.mode[row]!;
    if (isLink(mode)) {
      const target = this.hooks.linkTarget(row);
      try {
        return Buffer.compare(this.lookup.readLink(c.rel), target) === 0;
      } catch {
        return false;
      }
    }
    if (isDevice(mode)) {
      const e = x.t.extras.get(row);
      return c.st.rdevMajor === (e?.rdevMajor ?? 0) && c.st.rdevMinor === (e?.rdevMinor ?? 0);
    }
    return true;
  }

  /** generator.c unchanged_attrs: time (as --times keeps it), permissions with -p, owner and group as they would be set. */
  private unchangedAttrs(row: number, st: DestStat, w: Wanted): boolean {
    const x = this.x;
    const o = x.o;
    const mode = x.t.mode[row]!;
    const timeKept = isLink(mode) ? o.times && !o.omitLinkTimes : o.times;
    if (timeKept && this.attrs.mtimeDiffers(row, st)) return false;
    if (!isLink(mode) && o.perms && (st.mode & 0o7777) !== (w.mode & 0o7777)) return false;
    if (o.owner && x.amRoot && st.uid !== w.uid) return false;
    if (w.setGroup && st.gid !== w.gid) return false;
    return true;
  }

  private sayUptodate(rel: Uint8Array, slash: string): void {
    if (this.nameLevel() >= 2 && this.attrsReport) {
      // generator.c: an FCLIENT line, kept out of --log-file.
      const line = `${rel.length ? display(rel) : "."}${slash} is uptodate`;
      if (this.x.report.client) this.x.report.client(line);
      else this.x.report.info(line);
    }
  }

  /** hard_link_one (terse): a failure is said only under -v. */
  private hardLink(from: Uint8Array, rel: Uint8Array): boolean {
    const x = this.x;
    if (x.o.dryRun) return true;
    try {
      x.dest.link(from, rel);
      return true;
    } catch (e) {
      if (this.nameLevel() >= 1) x.report.info(`rsync: link "${display(x.dest.abs(rel))}" => ${display(from)} failed: ${errText(e as NodeJS.ErrnoException)}`);
      return false;
    }
  }

  /** copy_altdest_file: a temp copy beside the destination, its attributes set, renamed into place. */
  private copyLocally(row: number, from: Uint8Array, rel: Uint8Array): boolean {
    const x = this.x;
    const tmp = tempNameFor(rel);
    try {
      fs.copyFileSync(x.dest.abs(from), x.dest.abs(tmp), fs.constants.COPYFILE_EXCL);
      const st = x.dest.lstat(tmp);
      if (st) this.attrs.apply(x.dest, tmp, row, st, this.attrs.wanted(row, null), "exact");
      x.dest.rename(tmp, rel);
      return true;
    } catch (e) {
      if (this.nameLevel() >= 1) x.report.info(`rsync: copy_file ${display(x.dest.abs(from))} => ${display(tmp)}: ${errText(e as NodeJS.ErrnoException)}`);
      try {
        x.dest.unlink(tmp);
      } catch {
        // never made
      }
      return false;
    }
  }
}

/** get_file_type: the kinds that must agree for a basis entry to count. */
function fileType(mode: number): string {
  if (isReg(mode)) return "reg";
  if (isLink(mode)) return "link";
  if (isDir(mode)) return "dir";
  if (isSpecial(mode)) return "special";
  if (isDevice(mode)) return "device";
  return "other";
}

const display = (name: Uint8Array) => Buffer.from(name).toString("latin1");
