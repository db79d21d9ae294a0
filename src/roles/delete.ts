/**
 * Deleting extraneous destination entries (generator.c delete_in_dir,
 * do_delete_pass; delete.c delete_item, delete_dir_contents). Entries go in
 * reverse sorted order, a directory's contents before the directory, as
 * upstream does, so the "deleting" lines come out in the same order.
 */
import { dirlistDump, type ListedEntry } from "../flist/flist-dump.ts";
import { IOERR_DEL_LIMIT, IOERR_GENERAL } from "../flist/decode.ts";
import { compareNames } from "../flist/sort.ts";
import { F, isDir, isDevice, isLink, isReg } from "../flist/table.ts";
import type { FileList } from "../flist/lists.ts";
import type { DestStat } from "../fs/dest-fs.ts";
import { destFullName } from "../fs/full-name.ts";
import { errText } from "../fs/errors.ts";
import { absolute, DirScopes, withSlash } from "../flist/dir-merge.ts";
import { filterMatchLine, FR } from "../flist/filter.ts";
import type { ReceivingSide } from "./context.ts";
import { BACKUP, Backups } from "./backup.ts";

interface DirEntry {
  name: Buffer;
  st: DestStat;
}

/** delete.c's DEL_* flags, as --debug=DEL shows them. */
const DEL = {
  RECURSE: 1 << 1,
  DIR_IS_EMPTY: 1 << 2,
  FOR_FILE: 1 << 3,
  FOR_DIR: 1 << 4,
  FOR_SYMLINK: 1 << 5,
  FOR_DEVICE: 1 << 6,
  FOR_SPECIAL: 1 << 7,
} as const;

/** What a removed entry makes room for (delete.c get_del_for_flag), as its DEL_FOR_* flag and the error message names it. */
export type MakeRoomFor = "file" | "dir" | "symlink" | "device" | "special";
const FOR_FLAG: Record<MakeRoomFor, number> = { file: DEL.FOR_FILE, dir: DEL.FOR_DIR, symlink: DEL.FOR_SYMLINK, device: DEL.FOR_DEVICE, special: DEL.FOR_SPECIAL };
const FOR_TEXT: Record<MakeRoomFor, string> = { file: "regular file", dir: "directory", symlink: "symlink", device: "device file", special: "special file" };

export class Deleter {
  private warnedIoError = false;
  private skipped = 0;
  /** --delete-delay: what to delete once the transfer is done. */
  private readonly delayed: { rel: Uint8Array; st: DestStat }[] = [];
  /** Non-incremental runs: base names of the list's entries, per directory-name id. */
  private namesByDir: Map<number, Set<string>> | null = null;

  constructor(private readonly x: ReceivingSide) {}

  /** The effective mode: plain --delete is "during" for protocol 30+, "before" for older peers. */
  get mode() {
    const m = this.x.o.deleteMode;
    if (m === "default") return this.x.s.protocol >= 30 ? "during" : "before";
    return m;
  }

  /** Deletion happens directory by directory while generating (--delete-during / --delete-delay). */
  get duringMode(): boolean {
    return this.mode === "during" || this.mode === "delay";
  }

  /** --delete-before / --delete-after: every content directory of the transfer. */
  deleteEverywhere(): void {
    const t = this.x.t;
    for (const list of this.x.lists.lists) {
      for (let row = list.ndxStart; row < list.ndxStart + list.count; row++) {
        // do_delete_pass moves its local filters to every other entry's place, files too (change_local_filter_dir).
        if (!(t.flags[row]! & (F.CONTENT_DIR | F.INACTIVE))) this.pushedFilters(t.path(row));
        if (isDir(t.mode[row]!) && t.flags[row]! & F.CONTENT_DIR && !(t.flags[row]! & F.INACTIVE)) {
          const p = t.path(row);
          if (t.flags[row]! & F.TOP_DIR) this.debugDel(1, `deleting in ${display(p)}`);
          const rel = p.length === 1 && p[0] === 0x2e ? new Uint8Array(0) : p;
          // A directory not there yet (--delete-before) has nothing to delete in, nor has anything else standing
          // at its name (do_delete_pass: link_stat, through a symlink with -K, and S_ISDIR).
          if (rel.length > 0) {
            const st = this.x.o.keepDirlinks ? this.x.dest.stat(rel) : this.x.dest.lstat(rel);
            if (!st || !isDir(st.mode)) continue;
          }
          this.deleteInDir(row, rel, null);
        }
      }
    }
    this.endPass();
  }

  /**
   * Removes what `rel` (a content directory, flist row `row`) holds that the
   * sender does not have. In incremental mode `list` is the directory's own list.
   */
  deleteInDir(row: number, rel: Uint8Array, list: FileList | null): void {
    const x = this.x;
    if (x.o.dryRun && x.t.flags[row]! & F.MISSING_DIR) return;
    this.debugDel(2, `delete_in_dir(${rel.length ? display(rel) : "."})`);
    if (x.ioError & IOERR_GENERAL && !x.o.ignoreErrors) {
      if (!this.warnedIoError) x.report.info("IO error encountered -- skipping file deletion");
      this.warnedIoError = true;
      return;
    }
    this.pushedFilters(rel);
    // With per-directory merge lists the push holds state that is popped when deletion ends (change_local_filter_dir).
    if (!x.filters.empty && x.filters.perDir.length > 0) this.dirsPushed++;
    const keep = this.namesIn(rel, list);
    if (!x.filters.empty && x.filters.perDir.length > 0) this.dirScopes().enter(Buffer.from(x.dest.abs(rel)).toString("latin1"));
    const entries = this.listSorted(rel);
    // get_dirlist applies the filters to every entry before anything goes: --debug=FILTER shows each one a rule decides.
    const checkKept = x.out.debug.get("FILTER") >= 1;
    const protectedNames = new Set<Buffer>();
    // get_dirlist's make_file says each entry the rules let through (--debug=flist2).
    const listDebug = x.out.debug.get("FLIST") >= 2;
    const listed: ListedEntry[] = [];
    for (const e of entries) {
      const kept = keep.has(e.name.toString("latin1"));
      const excluded = (!kept || checkKept || listDebug) && this.excluded(join(rel, e.name), e.st);
      if (excluded && !kept) protectedNames.add(e.name);
      if (listDebug && !excluded) {
        x.report.info(`[generator] make_file(${display(join(rel, e.name))},*,2)`);
        listed.push({ path: join(rel, e.name), st: e.st });
      }
    }
    // ... and at flist3 the list it made (output_flist).
    if (x.out.debug.get("FLIST") >= 3) {
      const view = { human: x.o.humanReadable, nsec: x.s.protocol >= 31, uid: x.amRoot && x.o.owner, gid: x.o.group, ourUid: process.getuid?.() ?? -1 };
      for (const line of dirlistDump(listed, view)) x.report.info(line);
    }
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (keep.has(e.name.toString("latin1")) || this.isPartialDir(e.name)) continue;
      const child = join(rel, e.name);
      // An excluded (or protected) entry is not seen, so not deleted.
      if (protectedNames.has(e.name)) continue;
      if (this.mode === "delay") this.delayed.push({ rel: child, st: e.st });
      else this.deleteItem(child, e.st, false);
    }
  }

  /** Directories deleteInDir pushed local filters for and has not popped (counted only with merge lists). */
  private dirsPushed = 0;

  /** delete_in_dir(NULL): the end of a deletion pass pops what is still pushed (--debug=FILTER2). */
  endPass(): void {
    for (; this.dirsPushed > 0; this.dirsPushed--) this.poppedFilters();
  }

  /** push_local_filters (--debug=FILTER2): the directory whose entries are read next. */
  private pushedFilters(rel: Uint8Array): void {
    if (this.x.out.debug.get("FILTER") < 2) return;
    this.x.report.info(`[generator] pushing local filters for ${withSlash(absolute(Buffer.from(this.x.dest.abs(rel)).toString("latin1")))}`);
  }

  /** pop_local_filters (--debug=FILTER2), with each per-directory merge list. */
  private poppedFilters(): void {
    if (this.x.out.debug.get("FILTER") < 2) return;
    if (!this.x.filters.empty && this.x.filters.perDir.length > 0) this.dirScopes().popLines();
    else this.x.report.info("[generator] popping local filters");
  }

  /** A --debug=DEL line (delete.c, generator.c delete_in_dir) at `level`. */
  private debugDel(level: number, text: string): void {
    if (this.x.out.debug.get("DEL") >= level) this.x.report.info(text);
  }

  /** A relative --partial-dir inside each directory is ours: never deleted as extraneous. */
  private isPartialDir(name: Buffer): boolean {
    const dir = this.x.o.partialDir;
    return dir !== undefined && !dir.startsWith("/") && name.toString("latin1") === Buffer.from(dir.replace(/\/+$/, "")).toString("latin1");
  }

  flushDelayed(): void {
    for (const d of this.delayed.splice(0)) this.deleteItem(d.rel, d.st, false);
  }

  warnIfLimited(): void {
    if (this.x.o.maxDelete >= 0 && this.skipped > 0) {
      this.x.report.error(`Deletions stopped due to --max-delete limit (${this.skipped} skipped)`);
      this.x.ioError |= IOERR_DEL_LIMIT;
    }
  }

  /**
   * Makes room for an entry of another type (DEL_MAKE_ROOM): not counted or
   * reported as a deletion, but a directory's contents are, and a non-empty
   * directory goes only with --delete or --force.
   */
  removeForReplacement(rel: Uint8Array, st: DestStat, forWhat: MakeRoomFor): boolean {
    const x = this.x;
    // (A dry run goes the same way: deleteItem only says what it would delete, and a non-empty directory without
    // --delete or --force is in the way all the same.)
    const recurse = x.o.deleteMode !== "none" || x.o.force;
    const flags = (recurse ? DEL.RECURSE : 0) | FOR_FLAG[forWhat];
    this.debugDel(2, deleteItemLine(rel, st, flags));
    if (isDir(st.mode)) {
      this.debugDel(3, `delete_dir_contents(${display(rel)}) flags=${flags}`);
      this.pushedFilters(rel);
      const entries = this.listSorted(rel);
      if (entries.length > 0 && !recurse) {
        this.poppedFilters();
        x.report.info(`cannot delete non-empty directory: ${display(rel)}`);
        return this.couldNotMakeWay(rel, forWhat);
      }
      for (let i = entries.length - 1; i >= 0; i--) this.deleteItem(join(rel, entries[i]!.name), entries[i]!.st, false, true, contentsFlags(flags));
      this.poppedFilters();
    }
    // Contents kept (-b backs them up beside themselves, --max-delete stops) leave the directory in the way.
    return this.deleteItem(rel, st, true, true, flags | DEL.DIR_IS_EMPTY, true) || this.couldNotMakeWay(rel, forWhat);
  }

  /** delete.c delete_item's check_ret: making room failed, a transfer error (exit 23). */
  private couldNotMakeWay(rel: Uint8Array, forWhat: MakeRoomFor): false {
    const x = this.x;
    x.report.error(`could not make way for new ${FOR_TEXT[forWhat]}: ${display(rel)}`, true);
    x.hadTransferError = true;
    return false;
  }

  /**
   * --delete-missing-args (generator.c recv_generator for a mode-0 entry):
   * unless the rules protect the name (checked as a file's), it is deleted;
   * a directory's contents only with --delete or --force (DEL_RECURSE).
   */
  deleteMissing(rel: Uint8Array, st: DestStat): void {
    if (this.excluded(rel, { ...st, mode: 0 })) return;
    const recurse = this.x.o.deleteMode !== "none" || this.x.o.force;
    this.deleteItem(rel, st, false, recurse, recurse ? DEL.RECURSE : 0);
  }

  private excluded(rel: Uint8Array, st: DestStat, ignorePerishable = false): boolean {
    const filters = this.x.filters;
    // A daemon module's rules hide their names from deletion too (name_is_excluded).
    const moduleRules = this.x.o.moduleFilters;
    if (moduleRules && moduleRules.check(rel, isDir(st.mode), this.x.moduleRoot, ignorePerishable) < 0) return true;
    if (filters.empty) return false;
    const scopes = this.dirScopes();
    const dir = Buffer.from(this.x.dest.abs(rel)).toString("latin1");
    const slash = dir.lastIndexOf("/");
    const scope = scopes.active ? scopes.scopeOf(slash < 0 ? "." : slash === 0 ? "/" : dir.slice(0, slash)) : undefined;
    const hit = filters.matchingRule(rel, isDir(st.mode), this.absRoot, ignorePerishable, undefined, scope);
    if (!hit) return false;
    // report_filter_result: the generator protects (or risks) what the rules decide.
    if (this.x.out.debug.get("FILTER") >= 1) this.x.report.info(filterMatchLine("generator", rel, isDir(st.mode), hit));
    return (hit.rule.flags & FR.INCLUDE) === 0;
  }

  /** Per-directory merge files of the destination, read as deletion meets its directories. */
  private scopes: DirScopes | null = null;
  private absRoot: Uint8Array | undefined;

  private dirScopes(): DirScopes {
    if (!this.scopes) {
      const debug = { level: this.x.out.debug.get("FILTER"), who: "generator", say: (line: string) => this.x.report.info(line) };
      this.scopes = new DirScopes(this.x.filters, { deleteExcluded: this.x.o.deleteExcluded, amSender: false, debug, confinedModule: this.x.o.confinedModule });
      this.absRoot = DirScopes.absRootOf(Buffer.from(this.x.dest.abs(new Uint8Array(0))).toString("latin1"));
    }
    return this.scopes;
  }

  /**
   * `flags` are upstream's for --debug=DEL: a directory's contents are gone
   * through with DEL_DIR_IS_EMPTY (delete_dir_contents recursing), which
   * says so before the entry's own delete_item line; `announced`: the caller
   * printed this item's lines.
   */
  private deleteItem(rel: Uint8Array, st: DestStat, makeRoom: boolean, recurse = true, flags = DEL.RECURSE, announced = false): boolean {
    const x = this.x;
    const nested = (flags & DEL.DIR_IS_EMPTY) !== 0;
    if (!nested && !announced) this.debugDel(2, deleteItemLine(rel, st, flags));
    // delete_dir_contents reads the directory with its own local filters pushed (--debug=FILTER2 says so).
    const contents = isDir(st.mode) && !makeRoom && !announced;
    if (contents) {
      this.debugDel(3, `delete_dir_contents(${display(rel)}) flags=${nested ? flags | DEL.RECURSE : flags}`);
      this.pushedFilters(rel);
    }
    // Without DEL_RECURSE, delete_dir_contents only says whether there is anything in the way (a dry run too).
    if (isDir(st.mode) && !makeRoom && !recurse && this.listSorted(rel).length > 0) {
      if (contents) this.poppedFilters();
      x.report.info(`cannot delete non-empty directory: ${display(rel)}`);
      return false;
    }
    // Something inside a directory met in another's contents stayed: upstream still goes on to the directory's own
    // delete_item (the --max-delete limit counts it, its rmdir fails and says so again, a dry run's "succeeds"),
    // but the directory holding it stays either way.
    let contentsKept = false;
    if (isDir(st.mode) && !makeRoom && recurse) {
      const entries = this.listSorted(rel);
      let kept = false;
      for (let i = entries.length - 1; i >= 0; i--) {
        const child = join(rel, entries[i]!.name);
        // delete_dir_contents: what non-perishable rules hide stays, and so does the directory holding it.
        if (this.excluded(child, entries[i]!.st, true)) kept = true;
        // What could not go (the --max-delete limit, an error) keeps the directory too (delete_dir_contents: DR_NOT_EMPTY).
        else if (!this.deleteItem(child, entries[i]!.st, false, true, contentsFlags(flags))) kept = true;
      }
      if (contents) this.poppedFilters();
      if (kept) {
        // Upstream's rmdir then fails on what stayed, and says so.
        x.report.info(`cannot delete non-empty directory: ${display(rel)}`);
        if (!nested) return false;
        contentsKept = true;
      }
    } else if (contents) this.poppedFilters();
    if (nested && !announced) this.debugDel(2, deleteItemLine(rel, st, flags));
    if (!makeRoom && x.o.maxDelete >= 0 && x.stats.deletedFiles >= x.o.maxDelete) {
      this.skipped++;
      return false;
    }
    const kept = isDir(st.mode) ? "no" : this.backUp(rel);
    if (kept === "failed") return false;
    if (!x.o.dryRun && kept !== "moved") {
      try {
        if (isDir(st.mode)) x.dest.rmdir(rel);
        else x.dest.unlink(rel);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === "ENOENT") return true;
        if (err.code === "ENOTEMPTY" && isDir(st.mode)) {
          x.report.info(`cannot delete non-empty directory: ${display(rel)}`);
        } else {
          x.report.error(`rsync: [generator] delete_file: ${isDir(st.mode) ? "rmdir" : "unlink"}(${display(rel)}) failed: ${errText(err)}`, true);
          x.hadTransferError = true;
        }
        return false;
      }
    }
    if (!makeRoom) {
      x.report.deleted(rel, isDir(st.mode));
      const s = x.stats;
      s.deletedFiles++;
      if (isReg(st.mode)) {
        // counted above
      } else if (isDir(st.mode)) s.deletedDirs++;
      else if (isLink(st.mode)) s.deletedSymlinks++;
      else if (isDevice(st.mode)) s.deletedDevices++;
      else s.deletedSpecials++;
    }
    return !contentsKept;
  }

  /**
   * delete.c delete_item with -b: a file about to go is kept as a backup
   * first (moved there when it can be), unless it is itself a backup.
   */
  private backUp(rel: Uint8Array): "no" | "moved" | "copied" | "failed" {
    const backups = Backups.of(this.x);
    if (!backups || !backups.keepsOnDelete(rel)) return "no";
    const r = backups.make(rel, true);
    if (r === BACKUP.DUPLICATED) return "copied";
    if (r !== BACKUP.FAILED) return "moved";
    this.x.report.error(`rsync: [generator] delete_file: make_backup(${display(rel)}) failed`, true);
    this.x.hadTransferError = true;
    return "failed";
  }

  /** The destination directory's entries, sorted as upstream's get_dirlist sorts them. */
  private listSorted(rel: Uint8Array): DirEntry[] {
    const x = this.x;
    let names: Buffer[];
    try {
      names = x.dest.listDir(rel);
    } catch (e) {
      // flist.c send_directory (get_dirlist): a directory gone is nothing to delete; one that cannot be read (or is
      // no directory: a file --ignore-existing left where the list has a directory) is an I/O error, which stops
      // the deletions that come after it.
      const err = e as NodeJS.ErrnoException;
      if (err.code !== "ENOENT") {
        x.ioError |= IOERR_GENERAL;
        x.report.error(`rsync: [generator] opendir ${destFullName(x.dest.root, rel, x.o.moduleName)} failed: ${errText(err)}`, true);
        x.hadTransferError = true;
      }
      return [];
    }
    const entries: DirEntry[] = [];
    for (const name of names) {
      const st = x.dest.lstat(join(rel, name));
      if (st) entries.push({ name, st });
    }
    const empty = new Uint8Array(0);
    entries.sort((a, b) => compareNames(empty, a.name, isDir(a.st.mode), empty, b.name, isDir(b.st.mode), x.s.protocol));
    return entries;
  }

  /** Base names the sender has in a directory (type is not compared: replacements are the generator's job). */
  private namesIn(rel: Uint8Array, list: FileList | null): Set<string> {
    const x = this.x;
    const t = x.t;
    if (list) {
      const names = new Set<string>();
      for (let r = list.ndxStart; r < list.ndxStart + list.count; r++) {
        if (!(t.flags[r]! & F.INACTIVE)) names.add(Buffer.from(t.baseName(r)).toString("latin1"));
      }
      return names;
    }
    if (!this.namesByDir) {
      this.namesByDir = new Map();
      for (const l of x.lists.lists) {
        for (let r = l.ndxStart; r < l.ndxStart + l.count; r++) {
          if (t.flags[r]! & F.INACTIVE) continue;
          let set = this.namesByDir.get(t.dirId[r]!);
          if (!set) this.namesByDir.set(t.dirId[r]!, (set = new Set()));
          set.add(Buffer.from(t.baseName(r)).toString("latin1"));
        }
      }
    }
    const id = rel.length === 0 ? 0 : t.internDir(rel);
    return this.namesByDir.get(id) ?? new Set();
  }
}

/** delete_dir_contents: its entries go without recursing or making room, their directory already emptied. */
const contentsFlags = (flags: number) => (flags & ~(DEL.RECURSE | DEL.FOR_FILE | DEL.FOR_DIR | DEL.FOR_SYMLINK | DEL.FOR_DEVICE | DEL.FOR_SPECIAL)) | DEL.DIR_IS_EMPTY;

const deleteItemLine = (rel: Uint8Array, st: DestStat, flags: number) => `delete_item(${display(rel)}) mode=${st.mode.toString(8)} flags=${flags}`;

function join(dir: Uint8Array, name: Uint8Array): Uint8Array {
  if (dir.length === 0) return name;
  return Buffer.concat([dir, Buffer.from("/"), name]);
}

const display = (name: Uint8Array) => Buffer.from(name).toString("latin1");
