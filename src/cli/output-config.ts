/**
 * What the client prints, derived from -v, -q, -i, --info, --stats,
 * --progress and --out-format exactly as upstream derives it (options.c
 * set_output_verbosity, parse_output_words and the stdout_format rules).
 */
import { usageError } from "../errors.ts";
import type { Options } from "./options.ts";

export const INFO_WORDS = [
  "BACKUP",
  "COPY",
  "DEL",
  "FLIST",
  "MISC",
  "MOUNT",
  "NAME",
  "NONREG",
  "PROGRESS",
  "REMOVE",
  "SKIP",
  "STATS",
  "SYMSAFE",
] as const;
export type InfoWord = (typeof INFO_WORDS)[number];

/** The info words each -v level turns on (options.c info_verbosity). */
const VERBOSITY: string[] = ["NONREG", "COPY,DEL,FLIST,MISC,NAME,STATS,SYMSAFE", "BACKUP,MISC2,MOUNT,NAME2,REMOVE,SKIP"];
const MAX_LEVEL = 4;
const DEFAULT_PRIORITY = 0;
const USER_PRIORITY = 2;

export class InfoLevels {
  private readonly levels = new Map<InfoWord, number>();
  private readonly priority = new Map<InfoWord, number>();

  get(word: InfoWord): number {
    return this.levels.get(word) ?? 0;
  }

  /** parse_output_words: "WORD", "WORDn", "ALL", "NONE", comma separated. */
  apply(words: string, priority: number): void {
    for (const item of words.split(",")) {
      if (!item) continue;
      const m = /^(.*?)(\d*)$/.exec(item)!;
      let name = m[1]!.toUpperCase();
      let level = m[2] ? Math.min(Number.parseInt(m[2], 10), MAX_LEVEL) : 1;
      if (name === "") {
        name = item;
        level = 1;
      }
      if (name === "NONE") {
        for (const w of INFO_WORDS) this.set(w, 0, priority);
        continue;
      }
      if (name === "ALL") {
        for (const w of INFO_WORDS) this.set(w, level, priority);
        continue;
      }
      if (!(INFO_WORDS as readonly string[]).includes(name)) throw usageError(`Unknown --info item: "${m[1]}"`);
      this.set(name as InfoWord, level, priority);
    }
  }

  private set(word: InfoWord, level: number, priority: number): void {
    if (priority >= (this.priority.get(word) ?? 0)) {
      this.priority.set(word, priority);
      this.levels.set(word, level);
    }
  }
}

export interface OutputConfig {
  info: InfoLevels;
  /** The per-item format for stdout, or null for none. */
  stdoutFormat: string | null;
  /** 0, 1 (-i / %i) or 2 (-ii). */
  formatHasI: number;
  /** Items are printed when their data starts, not when it is done (no %b/%c/%C in the format). */
  logBeforeTransfer: boolean;
  quiet: boolean;
}

export function outputConfig(o: Options): OutputConfig {
  const info = new InfoLevels();
  for (const words of o.info) info.apply(words, USER_PRIORITY);
  for (let level = 0; level <= Math.min(o.verbose, VERBOSITY.length - 1); level++) info.apply(VERBOSITY[level]!, DEFAULT_PRIORITY);
  if (o.stats) info.apply(o.verbose > 1 ? "stats3" : "stats2", DEFAULT_PRIORITY);

  let stdoutFormat: string | null = o.outFormat ?? null;
  let formatHasI = 0;
  let logBeforeTransfer = false;
  if (stdoutFormat !== null) {
    if (formatHas(stdoutFormat, "i")) formatHasI = o.itemizeChanges | 1;
    if (!formatHas(stdoutFormat, "b") && !formatHas(stdoutFormat, "c") && !formatHas(stdoutFormat, "C")) logBeforeTransfer = true;
  } else if (o.itemizeChanges) {
    stdoutFormat = "%i %n%L";
    formatHasI = o.itemizeChanges;
    logBeforeTransfer = true;
  }
  if (o.progress) {
    if (!logBeforeTransfer && info.get("NAME") === 0) info.apply("name", DEFAULT_PRIORITY);
    info.apply("FLIST2,PROGRESS", DEFAULT_PRIORITY);
  }
  if (info.get("NAME") >= 1 && stdoutFormat === null) {
    stdoutFormat = "%n%L";
    logBeforeTransfer = true;
  }
  return { info, stdoutFormat, formatHasI, logBeforeTransfer, quiet: o.quiet > 0 };
}

/** log.c log_format_has: whether a format uses %X (with any width or flags). */
export function formatHas(format: string, letter: string): boolean {
  return new RegExp(`%[-'#0-9]*${letter}`).test(format.replaceAll("%%", ""));
}
