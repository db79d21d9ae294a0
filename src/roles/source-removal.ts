/**
 * --remove-source-files on the sending side (sender.c successful_send): the
 * receiving side confirms each entry it now has with MSG_SUCCESS (the file
 * index; in a local copy also the destination's dev and inode), and the
 * sender removes its own copy, unless that file changed since it was listed
 * or is the destination itself.
 */
import * as fs from "node:fs";
import { protocolError } from "../errors.ts";
import { errText } from "../fs/errors.ts";
import type { FileLists } from "../flist/lists.ts";
import { F, isDir } from "../flist/table.ts";

/** A local copy's MSG_SUCCESS: the index, then the destination's dev and inode (8 bytes each). */
export const LOCAL_SUCCESS_LENGTH = 4 + 8 + 8;

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
}

export class SourceRemover {
  constructor(private readonly x: RemovalSide) {}

  /** A MSG_SUCCESS payload from the receiving side. */
  confirmed(payload: Uint8Array): void {
    const x = this.x;
    if (payload.length !== (x.local ? LOCAL_SUCCESS_LENGTH : 4)) throw protocolError(`invalid multi-message 100:${payload.length} [sender]`);
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
    const path = Buffer.from(x.localPath(row));
    let st: fs.BigIntStats;
    try {
      st = x.copyLinks ? fs.statSync(path, { bigint: true }) : fs.lstatSync(path, { bigint: true });
    } catch (e) {
      return this.failed("re-lstat", name, e);
    }
    // Source and destination are the same file (a copy onto itself): removing it would lose it.
    if (dest && st.dev === dest.dev && st.ino === dest.ino) {
      x.say("error", `ERROR: Skipping sender remove of destination file: ${name}`);
      return;
    }
    const nsecSent = x.protocol >= 31 && t.nsec[row]! !== 0;
    const changed =
      Number(st.size) !== t.size[row]! ||
      Number(st.mtimeNs / 1_000_000_000n) !== t.mtime[row]! ||
      (nsecSent && Number(st.mtimeNs % 1_000_000_000n) !== t.nsec[row]!);
    if (changed) {
      x.say("error", `ERROR: Skipping sender remove for changed file: ${name}`);
      return;
    }
    try {
      fs.unlinkSync(path);
    } catch (e) {
      return this.failed("remove", name, e);
    }
    if (x.sayRemoved) x.say("info", `sender removed ${name}`);
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
