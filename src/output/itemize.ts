/** The 11-character change summary of -i / %i (log.c log_formatted, case 'i'). */
import { isDevice, isDir, isLink, isSpecial } from "../flist/table.ts";
import { ITEM } from "../roles/attrs.ts";

export interface ItemizeContext {
  /** "send" shows '<' for a transfer, anything else '>'. */
  op: string;
  preserveMtimes: boolean;
  /** Whether the receiving side can set symlink times (protocol 29+ on Linux). */
  receiverSymlinkTimes: boolean;
}

export function itemizeString(iflags: number, mode: number, cx: ItemizeContext): string {
  if (iflags & ITEM.DELETED) return "*deleting  ";
  const c = new Array<string>(11).fill(".");
  c[0] = iflags & ITEM.LOCAL_CHANGE ? (iflags & ITEM.XNAME_FOLLOWS ? "h" : "c") : !(iflags & ITEM.TRANSFER) ? "." : cx.op.startsWith("s") ? "<" : ">";
  const time = iflags & ITEM.REPORT_TIME;
  if (isLink(mode)) {
    c[1] = "L";
    c[4] = !time ? "." : !cx.preserveMtimes || !cx.receiverSymlinkTimes || iflags & ITEM.REPORT_TIMEFAIL ? "T" : "t";
  } else {
    c[1] = isDir(mode) ? "d" : isSpecial(mode) ? "S" : isDevice(mode) ? "D" : "f";
    if (iflags & ITEM.REPORT_SIZE) c[3] = "s";
    c[4] = !time ? "." : !cx.preserveMtimes ? "T" : "t";
  }
  if (iflags & ITEM.REPORT_CHANGE) c[2] = "c";
  if (iflags & ITEM.REPORT_PERMS) c[5] = "p";
  if (iflags & ITEM.REPORT_OWNER) c[6] = "o";
  if (iflags & ITEM.REPORT_GROUP) c[7] = "g";
  const atime = iflags & ITEM.REPORT_ATIME;
  const crtime = iflags & ITEM.REPORT_CRTIME;
  if (atime || crtime) c[8] = atime && crtime ? "b" : atime ? "u" : "n";
  if (iflags & ITEM.REPORT_ACL) c[9] = "a";
  if (iflags & ITEM.REPORT_XATTR) c[10] = "x";

  if (iflags & (ITEM.IS_NEW | ITEM.MISSING_DATA)) c.fill(iflags & ITEM.IS_NEW ? "+" : "?", 2);
  else if (".hc".includes(c[0]!) && c.slice(2).every((ch) => ch === ".")) c.fill(" ", 2);
  return c.join("");
}
