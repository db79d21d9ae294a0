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

export const DEBUG_WORDS = [
  "ACL",
  "BACKUP",
  "BIND",
  "CHDIR",
  "CONNECT",
  "CMD",
  "DEL",
  "DELTASUM",
  "DUP",
  "EXIT",
  "FILTER",
  "FLIST",
  "FUZZY",
  "GENR",
  "HASH",
  "HLINK",
  "ICONV",
  "IO",
  "NSTR",
  "OWN",
  "PROTO",
  "RECV",
  "SEND",
  "TIME",
] as const;
export type DebugWord = (typeof DEBUG_WORDS)[number];

/** The words each -v level turns on (options.c info_verbosity and debug_verbosity; -vvvvv is the most that adds any). */
const INFO_VERBOSITY: readonly string[] = ["NONREG", "COPY,DEL,FLIST,MISC,NAME,STATS,SYMSAFE", "BACKUP,MISC2,MOUNT,NAME2,REMOVE,SKIP"];
const DEBUG_VERBOSITY: readonly string[] = [
  "",
  "",
  "BIND,CMD,CONNECT,DEL,DELTASUM,DUP,FILTER,FLIST,ICONV",
  "ACL,BACKUP,CONNECT2,DELTASUM2,DEL2,EXIT,FILTER2,FLIST2,FUZZY,GENR,OWN,RECV,SEND,TIME",
  "CMD2,DELTASUM3,DEL3,EXIT2,FLIST3,ICONV2,OWN2,PROTO,TIME2",
  "CHDIR,DELTASUM4,FLIST4,FUZZY2,HASH,HLINK",
];
const MAX_VERBOSITY = DEBUG_VERBOSITY.length - 1;
const MAX_LEVEL = 4;
const DEFAULT_PRIORITY = 0;
const USER_PRIORITY = 2;

/** The level of each --info or --debug word, with the priority that set it (options.c info_levels / debug_levels). */
class OutputLevels<W extends string> {
  private readonly levels = new Map<W, number>();
  private readonly priority = new Map<W, number>();

  constructor(
    private readonly kind: "info" | "debug",
    private readonly words: readonly W[],
    private readonly verbosity: readonly string[],
  ) {}

  get(word: W): number {
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
        for (const w of this.words) this.set(w, 0, priority);
        continue;
      }
      if (name === "ALL") {
        for (const w of this.words) this.set(w, level, priority);
        continue;
      }
      if (!(this.words as readonly string[]).includes(name)) throw usageError(`Unknown --${this.kind} item: "${m[1]}"`);
      this.set(name as W, level, priority);
    }
  }

  /** set_output_verbosity: what -v given `level` times turns on. */
  applyVerbosity(level: number): void {
    for (let j = 0; j <= Math.min(level, MAX_VERBOSITY); j++) this.apply(this.verbosity[j] ?? "", DEFAULT_PRIORITY);
  }

  /** The level of `word` when the user set it (--info), or undefined when it is -v's default. */
  userLevel(word: W): number | undefined {
    return (this.priority.get(word) ?? DEFAULT_PRIORITY) > DEFAULT_PRIORITY ? this.get(word) : undefined;
  }

  /** options.c limit_output_verbosity: no word above what `verbosity` -v would turn on (no limit past the top level). */
  limit(verbosity: number): void {
    if (verbosity > MAX_VERBOSITY) return;
    const limits = new OutputLevels(this.kind, this.words, this.verbosity);
    limits.applyVerbosity(verbosity);
    for (const w of this.words) this.levels.set(w, Math.min(this.get(w), limits.get(w)));
  }

  private set(word: W, level: number, priority: number): void {
    if (priority >= (this.priority.get(word) ?? 0)) {
      this.priority.set(word, priority);
      this.levels.set(word, level);
    }
  }
}

export class InfoLevels extends OutputLevels<InfoWord> {
  constructor() {
    super("info", INFO_WORDS, INFO_VERBOSITY);
  }
}

/** --debug levels. Upstream's client never forwards --debug: a server's levels come from its -v count alone. */
export class DebugLevels extends OutputLevels<DebugWord> {
  constructor() {
    super("debug", DEBUG_WORDS, DEBUG_VERBOSITY);
  }
}

export interface OutputConfig {
  info: InfoLevels;
  debug: DebugLevels;
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
  info.applyVerbosity(o.verbose);
  const debug = new DebugLevels();
  for (const words of o.debug) debug.apply(words, USER_PRIORITY);
  debug.applyVerbosity(o.verbose);
  if (o.stats) info.apply(o.verbose > 1 ? "stats3" : "stats2", DEFAULT_PRIORITY);
  if (o.outputLimit !== undefined) {
    info.limit(o.outputLimit);
    debug.limit(o.outputLimit);
  }

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
  return { info, debug, stdoutFormat, formatHasI, logBeforeTransfer, quiet: o.quiet > 0 };
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
