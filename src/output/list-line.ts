/** One --list-only line (generator.c list_file_entry). */
import { permString } from "./log-format.ts";
import { bigNum } from "./numbers.ts";

export interface ListedEntry {
  mode: number;
  size: number;
  mtime: number;
  /** Byte strings (one char per byte). */
  name: string;
  /** The symlink target when links are preserved, else null. */
  link: string | null;
  /** -U: the access time column (null: blank, for a directory); undefined: no such column. */
  atime?: number | null;
}

export function listLine(e: ListedEntry, human: number, timestring: (secs: number) => string): string {
  const width = human ? 14 : 11;
  const arrow = e.link !== null ? ` -> ${e.link}` : "";
  const mtime = timestring(e.mtime);
  // The atime column is as wide as the mtime and a space, right-aligned.
  const atime = e.atime === undefined ? "" : (e.atime === null ? "" : timestring(e.atime)).padStart(mtime.length + 1);
  return `${permString(e.mode)} ${bigNum(e.size, human).padStart(width)} ${mtime}${atime} ${e.name}${arrow}\n`;
}

/** util1.c timestring: local time as "YYYY/MM/DD HH:MM:SS". */
export function timestring(secs: number): string {
  const d = new Date(secs * 1000);
  if (Number.isNaN(d.getTime())) return "(time out of range)";
  const two = (n: number) => String(n).padStart(2, "0");
  return `${String(d.getFullYear()).padStart(4)}/${two(d.getMonth() + 1)}/${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
