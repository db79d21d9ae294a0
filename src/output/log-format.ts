/**
 * --out-format / --log-format escapes (log.c log_formatted): "%[-][width]['...]X"
 * expanded for one item. Strings are byte strings (one char per byte), so
 * widths count bytes as printf does. Escapes that mean nothing on this side
 * (%h, %a, %P, %u outside a daemon; unknown letters) stay as written.
 */
import { isDir, isLink, isReg } from "../flist/table.ts";
import { ITEM } from "../roles/attrs.ts";
import { type ItemizeContext, itemizeString } from "./itemize.ts";
import { bigNum } from "./numbers.ts";

export interface LoggedItem {
  /** "send", "recv" or "del.". */
  op: string;
  mode: number;
  size: number;
  mtime: number;
  uid: number;
  gid: number;
  /** The entry's name, without a trailing slash for directories. */
  name: string;
  /** A deletion names its file directly: %L shows no symlink target then. */
  nameGiven: boolean;
  /** Symlink target, or "" for other entries. */
  link: string;
  /** Hard-link: the name this item was linked to. */
  hlink: string;
  iflags: number;
  /** Protocol bytes this item's data took in each direction (%b / %c). */
  bytesIn: number;
  bytesOut: number;
  /** Whole-file checksum as hex, or null when there is none to show. */
  checksumHex: string | null;
  /** A sending side's own path of the entry, which its %f shows. */
  senderPath?: string;
}

export interface LogFormatContext extends ItemizeContext {
  amSender: boolean;
  preserveUid: boolean;
  preserveGid: boolean;
  /** Characters a missing %C is padded to (twice the checksum length). */
  checksumWidth: number;
  moduleName: string;
  /** A daemon's log: the client's host name, address and user (%h, %a, %u), the module's path (%P). */
  daemon?: { host: string; addr: string; user: string; modulePath: string };
  pid: number;
  /** Local time as "YYYY/MM/DD HH:MM:SS". */
  timestring(secs: number): string;
  now(): number;
}

const ESCAPE = /%('*)(-?)(\d*)('*)([\s\S]?)/g;

export function formatItem(format: string, item: LoggedItem, cx: LogFormatContext): string {
  return `${format}\n`.replace(ESCAPE, (whole, q1: string, minus: string, width: string, q2: string, letter: string) => {
    if (!letter || letter === "\n") return whole;
    const humanize = q1.length + q2.length;
    if (letter === "L") return linkText(item, minus, width);
    const value = expand(letter, item, cx, humanize);
    if (value === null) return whole;
    return pad(value, minus, width);
  });
}

/** %L: " -> target" or " => hard-link"; a width pads the target, after the arrow. */
function linkText(item: LoggedItem, minus: string, width: string): string {
  if (item.hlink) return ` => ${pad(item.hlink, minus, width)}`;
  if (isLink(item.mode) && !item.nameGiven) return ` -> ${pad(item.link, minus, width)}`;
  return minus || width ? `    ${pad("", minus, width)}` : "";
}

function pad(value: string, minus: string, width: string): string {
  const w = width ? Number.parseInt(width, 10) : 0;
  if (value.length >= w) return value;
  return minus ? value.padEnd(w) : value.padStart(w);
}

/** The text for one escape letter, or null to leave the escape as written. */
function expand(letter: string, item: LoggedItem, cx: LogFormatContext, humanize: number): string | null {
  switch (letter) {
    case "l":
      return bigNum(item.size, humanize);
    case "U":
      return String(cx.preserveUid ? item.uid : 0);
    case "G":
      return cx.preserveGid ? String(item.gid) : "DEFAULT";
    case "p":
      return String(cx.pid);
    case "M":
      return cx.timestring(item.mtime).replaceAll(" ", "-");
    case "B":
      return permString(item.mode).slice(1);
    case "o":
      return item.op;
    case "f": {
      const n = cx.amSender && item.senderPath !== undefined ? cleanFname(item.senderPath) : cleanName(item.name);
      return n.startsWith("/") ? n.slice(1) : n;
    }
    case "n":
      return isDir(item.mode) ? `${item.name}/` : item.name;
    case "m":
      return cx.moduleName;
    case "h":
      return cx.daemon ? cx.daemon.host : null;
    case "a":
      return cx.daemon ? cx.daemon.addr : null;
    case "u":
      return cx.daemon ? cx.daemon.user : null;
    case "P":
      return cx.daemon ? cx.daemon.modulePath : null;
    case "t":
      return cx.timestring(cx.now());
    case "b":
    case "c": {
      // %b is what came in to the receiver (went out from a sender), %c the other way.
      const outgoing = cx.amSender !== (letter === "c");
      const n = !(item.iflags & ITEM.TRANSFER) ? 0 : outgoing ? item.bytesOut : item.bytesIn;
      return bigNum(n, humanize);
    }
    case "C":
      if (isReg(item.mode) && item.checksumHex !== null) return item.checksumHex;
      return " ".repeat(cx.checksumWidth);
    case "i":
      return itemizeString(item.iflags, item.mode, cx);
    case "%":
      return "%";
    default:
      return null;
  }
}

/** "drwxr-xr-x" as ls shows it (lib/compat.c permstring). */
export function permString(mode: number): string {
  const type = mode & 0o170000;
  const types: Record<number, string> = { 0o040000: "d", 0o120000: "l", 0o020000: "c", 0o060000: "b", 0o010000: "p", 0o140000: "s" };
  const bits = "rwxrwxrwx";
  let s = types[type] ?? "-";
  for (let i = 0; i < 9; i++) s += mode & (0o400 >> i) ? bits[i] : "-";
  const exec = (pos: number, set: number, lower: string, upper: string) => {
    if (!(mode & set)) return;
    s = s.slice(0, pos) + (s[pos] === "x" ? lower : upper) + s.slice(pos + 1);
  };
  exec(3, 0o4000, "s", "S");
  exec(6, 0o2000, "s", "S");
  exec(9, 0o1000, "t", "T");
  return s;
}

/** util1.c clean_fname with no flags: repeated slashes and "./" components go, a trailing "." stays. */
function cleanFname(name: string): string {
  const abs = name.startsWith("/");
  const parts = name.split("/").filter((p, i, all) => p !== "" && (p !== "." || i === all.length - 1));
  const joined = parts.join("/");
  return abs ? `/${joined}` : joined || ".";
}

/** util1.c clean_fname without its "collapse ..": drops "." components and repeated slashes. */
function cleanName(name: string): string {
  const abs = name.startsWith("/");
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  const joined = parts.join("/");
  return abs ? `/${joined}` : joined || ".";
}
