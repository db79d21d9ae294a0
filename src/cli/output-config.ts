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

  /** The level of `word` when the user set it (--info), or undefined when it is -v's default. */
  userLevel(word: InfoWord): number | undefined {
    return (this.priority.get(word) ?? DEFAULT_PRIORITY) > DEFAULT_PRIORITY ? this.get(word) : undefined;
  }

  /** options.c limit_output_verbosity: no word above what `verbosity` -v would turn on (none beyond the top level). */
  limit(verbosity: number): void {
    if (verbosity > VERBOSITY.length - 1) return;
    const limits = new InfoLevels();
    for (let level = 0; level <= verbosity; level++) limits.apply(VERBOSITY[level]!, DEFAULT_PRIORITY);
    for (const w of INFO_WORDS) this.levels.set(w, Math.min(this.get(w), limits.get(w)));
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
  if (o.outputLimit !== undefined) info.limit(o.outputLimit);

  let stdoutFormat: string | null = o.outFormat ?? null;
  let formatHasI = 0;
  let logBeforeTransfer = false;
  if (stdoutFormat !== null) {
    if (o.server && formatHas(stdoutFormat, "I")) formatHasI = 2;
    else if (formatHas(stdoutFormat, "i")) formatHasI = o.itemizeChanges | 1;
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

/** log.c log_format_has: whether a format uses %X (with its width and its ' and - flags; '#' is no flag there). */
export function formatHas(format: string | null, letter: string): boolean {
  if (format === null) return false;
  return new RegExp(`%[-'0-9]*${letter}`).test(format.replaceAll("%%", ""));
}

/** Which side an --info word matters on (options.c info_words' W_CLI/W_SRV/W_SND/W_REC). */
const INFO_WHERE: Record<InfoWord, string> = {
  BACKUP: "r",
  COPY: "r",
  DEL: "r",
  FLIST: "c",
  MISC: "sr",
  MOUNT: "sr",
  NAME: "sr",
  NONREG: "r",
  PROGRESS: "c",
  REMOVE: "s",
  SKIP: "r",
  STATS: "cS",
  SYMSAFE: "sr",
};

/**
 * options.c make_output_option: the --info words the user gave that matter
 * to a server (receiving when we push, sending when we pull), as one
 * "--info=" argument ("WORD" for level 1, "WORDn" otherwise; "ALLn" first
 * when every such word was given and five or more share a level), or null.
 */
export function serverInfoArg(o: Options, serverReceives: boolean): string | null {
  const info = outputConfig(o).info;
  const side = serverReceives ? "r" : "s";
  const given: [InfoWord, number][] = [];
  let skipped = 0;
  const counts = new Map<number, number>();
  let common = -1;
  let most = 0;
  for (const word of INFO_WORDS) {
    const where = INFO_WHERE[word];
    if (!where.includes(side) && !where.includes("S")) continue;
    const level = info.userLevel(word);
    if (level === undefined) {
      skipped++;
      continue;
    }
    given.push([word, level]);
    const n = (counts.get(level) ?? 0) + 1;
    counts.set(level, n);
    if (n > most) {
      most = n;
      common = level;
    }
  }
  if (given.length === 0) return null;
  const parts: string[] = [];
  if (skipped || most < 5) common = -1;
  else parts.push(common === 0 ? "NONE" : common === 1 ? "ALL" : `ALL${common}`);
  for (const [word, level] of given) if (level !== common) parts.push(level === 1 ? word : `${word}${level}`);
  return `--info=${parts.join(",")}`;
}
