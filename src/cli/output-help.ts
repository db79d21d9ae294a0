/**
 * --info=help and --debug=help: the word tables upstream prints (options.c
 * output_item_help), and the check of --info/--debug words as they are parsed.
 */
import { usageError } from "../errors.ts";
import { DEBUG_WORDS, INFO_WORDS } from "./output-config.ts";

interface WordHelp {
  name: string;
  help: string;
}

const INFO_HELP: WordHelp[] = [
  { name: "BACKUP", help: "Mention files backed up" },
  { name: "COPY", help: "Mention files copied locally on the receiving side" },
  { name: "DEL", help: "Mention deletions on the receiving side" },
  { name: "FLIST", help: "Mention file-list receiving/sending (levels 1-2)" },
  { name: "MISC", help: "Mention miscellaneous information (levels 1-2)" },
  { name: "MOUNT", help: "Mention mounts that were found or skipped" },
  { name: "NAME", help: "Mention 1) updated file/dir names, 2) unchanged names" },
  { name: "NONREG", help: "Mention skipped non-regular files (default 1, 0 disables)" },
  { name: "PROGRESS", help: "Mention 1) per-file progress or 2) total transfer progress" },
  { name: "REMOVE", help: "Mention files removed on the sending side" },
  { name: "SKIP", help: "Mention files skipped due to transfer overrides (levels 1-2)" },
  { name: "STATS", help: "Mention statistics at end of run (levels 1-3)" },
  { name: "SYMSAFE", help: "Mention symlinks that are unsafe" },
];

const DEBUG_HELP: WordHelp[] = [
  { name: "ACL", help: "Debug extra ACL info" },
  { name: "BACKUP", help: "Debug backup actions (levels 1-2)" },
  { name: "BIND", help: "Debug socket bind actions" },
  { name: "CHDIR", help: "Debug when the current directory changes" },
  { name: "CONNECT", help: "Debug connection events (levels 1-2)" },
  { name: "CMD", help: "Debug commands+options that are issued (levels 1-2)" },
  { name: "DEL", help: "Debug delete actions (levels 1-3)" },
  { name: "DELTASUM", help: "Debug delta-transfer checksumming (levels 1-4)" },
  { name: "DUP", help: "Debug weeding of duplicate names" },
  { name: "EXIT", help: "Debug exit events (levels 1-3)" },
  { name: "FILTER", help: "Debug filter actions (levels 1-3)" },
  { name: "FLIST", help: "Debug file-list operations (levels 1-4)" },
  { name: "FUZZY", help: "Debug fuzzy scoring (levels 1-2)" },
  { name: "GENR", help: "Debug generator functions" },
  { name: "HASH", help: "Debug hashtable code" },
  { name: "HLINK", help: "Debug hard-link actions (levels 1-3)" },
  { name: "ICONV", help: "Debug iconv character conversions (levels 1-2)" },
  { name: "IO", help: "Debug I/O routines (levels 1-4)" },
  { name: "NSTR", help: "Debug negotiation strings" },
  { name: "OWN", help: "Debug ownership changes in users & groups (levels 1-2)" },
  { name: "PROTO", help: "Debug protocol information" },
  { name: "RECV", help: "Debug receiver functions" },
  { name: "SEND", help: "Debug sender functions" },
  { name: "TIME", help: "Debug setting of modified times (levels 1-2)" },
];

/** What each -v level adds, as upstream lists it under the table. */
const LEVELS = {
  info: ["0) NONREG", "1) COPY,DEL,FLIST,MISC,NAME,STATS,SYMSAFE", "2) BACKUP,MISC2,MOUNT,NAME2,REMOVE,SKIP"],
  debug: ["2) BIND,CONNECT,CMD,DEL,DELTASUM,DUP,FILTER,FLIST,ICONV", "3) ACL,BACKUP,CONNECT2,DEL2,DELTASUM2,EXIT,FILTER2,FLIST2,FUZZY,GENR,OWN,RECV,SEND,TIME", "4) CMD2,DEL3,DELTASUM3,EXIT2,FLIST3,ICONV2,OWN2,PROTO,TIME2", "5) CHDIR,DELTASUM4,FLIST4,FUZZY2,HASH,HLINK"],
};

export type OutputKind = "info" | "debug";

/** The help upstream prints for --info=help / --debug=help. */
export function outputWordsHelp(kind: OutputKind): string {
  const words = kind === "info" ? INFO_HELP : DEBUG_HELP;
  const row = (name: string, help: string) => `${name.padEnd(10)} ${help}\n`;
  return (
    "Use OPT or OPT1 for level 1 output, OPT2 for level 2, etc.; OPT0 silences.\n\n" +
    words.map((w) => row(w.name, w.help)).join("") +
    "\n" +
    row("ALL", `Set all --${kind} options (e.g. all4)`) +
    row("NONE", `Silence all --${kind} options (same as all0)`) +
    row("HELP", "Output this help message") +
    "\nOptions added at each level of verbosity:\n" +
    LEVELS[kind].map((l) => `${l}\n`).join("")
  );
}

/**
 * Reads --info/--debug words in order as parse_output_words does: an
 * unknown word fails, HELP asks for the table (and what follows it is not
 * read). Returns whether help was asked for.
 */
export function checkOutputWords(kind: OutputKind, words: string): boolean {
  const known: readonly string[] = kind === "info" ? INFO_WORDS : DEBUG_WORDS;
  for (const item of words.split(",")) {
    if (!item) continue;
    const given = /^(.*?)\d*$/.exec(item)![1] || item;
    const name = given.toUpperCase();
    if (name === "HELP") return true;
    if (name === "ALL" || name === "NONE" || known.includes(name)) continue;
    throw usageError(`Unknown --${kind} item: "${given}"`);
  }
  return false;
}
