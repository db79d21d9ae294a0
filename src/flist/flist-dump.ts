/**
 * flist.c output_flist (--debug=flist3): a list as upstream dumps it after
 * sending or receiving it, one line per entry with its root (the sender's
 * argument directory, the receiver's depth), name, mode, length, ids and
 * upstream's FLAG_* bits.
 */
import { F, FileTable, isDir, isLink, isReg } from "./table.ts";
import type { EntryStat } from "../native/api.ts";
import type { FileList } from "./lists.ts";
import { bigNum } from "../output/numbers.ts";

/** Upstream's FLAG_* values (rsync.h) for the bits a freshly sent or received entry can have. */
const FLAG = { TOP_DIR: 1 << 0, OWNED_BY_US: 1 << 0, CONTENT_DIR: 1 << 2, MOUNT_DIR: 1 << 3, HLINKED: 1 << 5, IMPLIED_DIR: 1 << 6, LENGTH64: 1 << 9, MOD_NSEC: 1 << 12 } as const;

export interface DumpView {
  /** "sender", "Receiver", "receiver", "generator" (who_am_i). */
  who: string;
  /** The sender's argument directory of a row (F_PATHNAME); undefined on the receiving side, which shows the depth. */
  root?: (row: number) => string;
  /** The ids as the dump shows them (the receiver's mapped ones), or undefined when not shown. */
  uid?: (row: number) => number;
  gid?: (row: number) => number;
  /** Bits of our own flags that stand for upstream's MOUNT_DIR (the builder's). */
  mountDirBit?: number;
  /** -h level: comma_num groups the length's digits unless --no-h. */
  human: number;
  /** Protocol 31+: an mtime with nanoseconds is flagged (FLAG_MOD_NSEC). */
  nsec: boolean;
}

export function flistDump(t: FileTable, list: FileList, v: DumpView): string[] {
  const end = list.ndxStart + list.count;
  let low = -1;
  let high = -1;
  for (let row = list.ndxStart; row < end; row++) {
    if (t.flags[row]! & F.INACTIVE) continue;
    if (low < 0) low = row - list.ndxStart;
    high = row - list.ndxStart;
  }
  const lines = [`[${v.who}] flist start=${list.ndxStart}, used=${list.count}, low=${low < 0 ? 0 : low}, high=${high}`];
  for (let row = list.ndxStart; row < end; row++) {
    const flags = t.flags[row]!;
    const mode = t.mode[row]!;
    let shown = " ";
    if (!(flags & F.INACTIVE)) {
      const path = Buffer.from(t.path(row)).toString("latin1");
      const root = v.root ? v.root(row) || "<NULL>" : String(path === "." ? 0 : path.split("/").length);
      shown = `${root} ${path}${isDir(mode) ? "/" : ""}`;
    }
    const uid = v.uid ? ` uid=${v.uid(row)}` : "";
    const gid = v.gid ? ` gid=${v.gid(row)}` : "";
    lines.push(`[${v.who}] i=${row} ${shown} mode=0${mode.toString(8)} len=${bigNum(t.size[row]!, v.human ? 1 : 0)}${uid}${gid} flags=${upstreamFlags(t, row, v.mountDirBit ?? 0, v.nsec).toString(16)}`);
  }
  return lines;
}

function upstreamFlags(t: FileTable, row: number, mountDirBit: number, nsec: boolean): number {
  const flags = t.flags[row]!;
  let out = 0;
  if (isDir(t.mode[row]!)) {
    if (flags & F.TOP_DIR) out |= FLAG.TOP_DIR;
    if (flags & F.CONTENT_DIR) out |= FLAG.CONTENT_DIR;
    if (flags & F.IMPLIED_DIR) out |= FLAG.IMPLIED_DIR;
    if (flags & mountDirBit) out |= FLAG.MOUNT_DIR;
  }
  if (flags & F.HLINKED) out |= FLAG.HLINKED;
  if (t.size[row]! > 0xffffffff && isReg(t.mode[row]!)) out |= FLAG.LENGTH64;
  if (nsec && t.nsec[row]) out |= FLAG.MOD_NSEC;
  return out;
}

/** An entry of a directory the generator lists itself (generator.c get_dirlist, for --delete). */
export interface ListedEntry {
  path: Uint8Array;
  st: EntryStat;
}

/**
 * output_flist of get_dirlist's list: every entry at depth 0, the ids as on
 * disk, FLAG_OWNED_BY_US for what our uid owns and FLAG_CONTENT_DIR for directories.
 */
export function dirlistDump(entries: readonly ListedEntry[], v: { human: number; nsec: boolean; uid: boolean; gid: boolean; ourUid: number }): string[] {
  const lines = [`[generator] flist start=0, used=${entries.length}, low=0, high=${entries.length - 1}`];
  entries.forEach((e, i) => {
    const dir = isDir(e.st.mode);
    let flags = dir ? FLAG.CONTENT_DIR : 0;
    if (e.st.uid === v.ourUid) flags |= FLAG.OWNED_BY_US;
    if (v.nsec && e.st.nsec) flags |= FLAG.MOD_NSEC;
    if (isReg(e.st.mode) && e.st.size > 0xffffffff) flags |= FLAG.LENGTH64;
    const size = isDir(e.st.mode) || isReg(e.st.mode) || isLink(e.st.mode) ? e.st.size : 0;
    const ids = `${v.uid ? ` uid=${e.st.uid}` : ""}${v.gid ? ` gid=${e.st.gid}` : ""}`;
    lines.push(`[generator] i=${i} 0 ${Buffer.from(e.path).toString("latin1")}${dir ? "/" : ""} mode=0${e.st.mode.toString(8)} len=${bigNum(size, v.human ? 1 : 0)}${ids} flags=${flags.toString(16)}`);
  });
  return lines;
}
