/**
 * --remove-source-files on the sending side (sender.c successful_send): the
 * receiving side confirms each entry it now has with MSG_SUCCESS (the file
 * index; in a local copy also the destination's dev and inode), and the
 * sender removes its own copy, unless that file changed since it was listed
 * or is the destination itself.
 *
 * The file's directory is opened beneath an anchor first (upstream's
 * secure_sender_parent_fd; `confined`): a chroot-less daemon module's root,
 * or the directory of the argument the file came from; a symlink on the way
 * is followed only while it stays beneath it. The re-stat and the unlink go
 * through that directory: by its whole path, a directory swapped for a
 * symlink out of the tree after the file was sent would have us remove a
 * file of the same size and time outside it. A name without an anchor
 * (absolute, or anchored by -R) goes by its whole path, as upstream's does.
 */
import * as fs from "node:fs";
import { protocolError, streamError } from "../errors.ts";
import { LOCAL_SUCCESS_LENGTH } from "../protocol/mux.ts";
import { errText, systemError } from "../fs/errors.ts";
import { closeFd, flooredEntryStat, lstatAt, openDirInside, statAt, unlinkAt } from "../fs/fd-ops.ts";
import { entryStatOf, type EntryStat } from "../native/api.ts";
import type { FileLists } from "../flist/lists.ts";
import { F, isDir } from "../flist/table.ts";

export interface RemovalSide {
  lists: FileLists;
  protocol: number;
  /** The sending side is half of a local copy: confirmations carry the destination's identity. */
  local: boolean;
  /** -L: the entry sent was what a symlink points to. */
  copyLinks: boolean;
  /** --info=remove (-vv): say what was removed. */
  sayRemoved: boolean;
  localPath(row: number): Uint8Array;
  say(kind: "info" | "error", text: string): void;
  /** A chroot-less daemon module: where its files are, for removals confined beneath its root. */
  confined?: ConfinedFiles;
}

export interface ConfinedFiles {
  /** The directory (a path) the row's file is removed beneath: the module's root, or its argument's directory; null for none. */
  anchor(row: number): Uint8Array | null;
  /** Opens an anchor: a module's relative root inside the working directory (fd-ops openConfinedRoot), an argument's as given. */
  openAnchor(anchor: Uint8Array, shown: () => string): number;
  /** The row's directory relative to its anchor ("" for the anchor itself); null when it has none. */
  relativeDir(row: number): Uint8Array | null;
  baseName(row: number): Uint8Array;
}

const ENOENT = 2;
const ELOOP = 40;

/** The row's directory, opened beneath the module's root, with the file's name in it. */
interface Parent {
  fd: number;
  base: Uint8Array;
}

export class SourceRemover {
  /** The anchors opened so far, by path (one for a daemon's module, one per argument directory for a local sender). */
  private readonly anchors = new Map<string, number>();

  constructor(private readonly x: RemovalSide) {}

  /** A MSG_SUCCESS payload from the receiving side. */
  confirmed(payload: Uint8Array): void {
    const x = this.x;
    // (The demultiplexer refuses such a frame already; this keeps the reads below inside the payload.)
    if (payload.length !== (x.local ? LOCAL_SUCCESS_LENGTH : 4)) throw streamError(`invalid multi-message 100:${payload.length} [sender]`);
    const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
    const sent = view.getInt32(0, true);
    // --iconv: the index as transmitted.
    const ndx = sent >= 0 && x.lists.wireOrder ? x.lists.wireOrder.toRow(sent) : sent;
    const list = x.lists.listOf(ndx);
    if (!list || ndx < list.ndxStart) throw protocolError(`invalid file index ${ndx} in MSG_SUCCESS`);
    const t = x.lists.table;
    if (t.flags[ndx]! & F.INACTIVE || isDir(t.mode[ndx]!)) return;
    const dest = x.local ? { dev: view.getBigInt64(4, true), ino: view.getBigInt64(12, true) } : null;
    this.remove(ndx, dest);
  }

  private remove(row: number, dest: { dev: bigint; ino: bigint } | null): void {
    const x = this.x;
    const t = x.lists.table;
    const name = Buffer.from(t.path(row)).toString("latin1");
    let parent: Parent | null = null;
    const anchor = x.confined?.anchor(row) ?? null;
    if (anchor !== null) {
      try {
        parent = this.openParent(x.confined!, anchor, row, name);
      } catch (e) {
        return this.failed("secure-open-parent", name, e);
      }
    }
    try {
      const path = parent ? null : Buffer.from(x.localPath(row));
      // Times as the list counts them (whole seconds rounded down), as upstream compares st_mtime with the entry's.
      let st: EntryStat;
      try {
        st = parent ? this.restatIn(parent, name) : entryStatOf(x.copyLinks ? fs.statSync(path!, { bigint: true }) : fs.lstatSync(path!, { bigint: true }));
      } catch (e) {
        return this.failed("re-lstat", name, e);
      }
      // Source and destination are the same file (a copy onto itself): removing it would lose it.
      if (dest && st.dev === dest.dev && st.ino === dest.ino) {
        x.say("error", `ERROR: Skipping sender remove of destination file: ${name}`);
        return;
      }
      const nsecSent = x.protocol >= 31 && t.nsec[row]! !== 0;
      const changed = st.size !== t.size[row]! || st.mtime !== t.mtime[row]! || (nsecSent && st.nsec !== t.nsec[row]!);
      if (changed) {
        x.say("error", `ERROR: Skipping sender remove for changed file: ${name}`);
        return;
      }
      try {
        if (parent) unlinkAt(parent.fd, parent.base, () => name);
        else fs.unlinkSync(path!);
      } catch (e) {
        return this.failed("remove", name, e);
      }
      if (x.sayRemoved) x.say("info", `sender removed ${name}`);
    } finally {
      if (parent) closeFd(parent.fd, () => name);
    }
  }

  /** The row's directory opened beneath `anchor` (a symlink on the way followed only while it stays beneath). */
  private openParent(c: ConfinedFiles, anchor: Uint8Array, row: number, name: string): Parent {
    const rel = c.relativeDir(row);
    if (rel === null) throw systemError(ELOOP, "open", name);
    const key = Buffer.from(anchor).toString("latin1");
    let anchorFd = this.anchors.get(key);
    if (anchorFd === undefined) {
      anchorFd = c.openAnchor(anchor, () => key);
      this.anchors.set(key, anchorFd);
    }
    return { fd: openDirInside(anchorFd, rel, () => name), base: c.baseName(row) };
  }

  /** The file's stat through its opened directory (-L: what a symlink there points to). */
  private restatIn(parent: Parent, name: string): EntryStat {
    const st = this.x.copyLinks ? statAt(parent.fd, parent.base, () => name) : lstatAt(parent.fd, parent.base, () => name);
    if (st === null) throw systemError(ENOENT, "lstat", name);
    return flooredEntryStat(st);
  }

  /** The session is over: the anchors are closed. */
  end(): void {
    for (const [path, fd] of this.anchors) closeFd(fd, () => path);
    this.anchors.clear();
  }

  private failed(op: string, name: string, e: unknown): void {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") this.x.say("info", `sender file already removed: ${name}`);
    else this.x.say("error", `rsync: [sender] sender failed to ${op} ${name}: ${errText(e)}`);
  }
}

/** The receiving side's confirmation (io.c send_msg_success): the index, and in a local copy what now holds the name. */
export function successPayload(ndx: number, local: boolean, destIdentity: () => { dev: bigint; ino: bigint } | null): Uint8Array {
  const payload = new Uint8Array(local ? LOCAL_SUCCESS_LENGTH : 4);
  const view = new DataView(payload.buffer);
  view.setInt32(0, ndx, true);
  if (local) {
    const id = destIdentity();
    view.setBigInt64(4, id?.dev ?? 0n, true);
    view.setBigInt64(12, id?.ino ?? 0n, true);
  }
  return payload;
}
