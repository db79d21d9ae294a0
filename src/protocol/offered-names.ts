/**
 * The names a side offers when the checksum and the compression are
 * negotiated, and what the environment makes of them (compat.c
 * getenv_nstr, parse_nni_str, get_default_nno_list, parse_negotiate_str,
 * validate_choice_vs_env). RSYNC_CHECKSUM_LIST and RSYNC_COMPRESS_LIST
 * replace the list a side offers: a client takes the part before the first
 * '&', a server the part after it (the whole value when there is none);
 * unknown names and repeats are dropped, an alias becomes its main name,
 * and a list whose words are all unknown becomes "INVALID", which no peer
 * shares. An empty list (or blanks) leaves the usual one.
 */

/** One kind of negotiated name (compat.c struct name_num_obj). */
export interface NameKind {
  /** What the messages call it (nno->type): "checksum", "compress". */
  what: string;
  /** The environment variable that replaces the offered list. */
  envVar: string;
  /** The main names, best first, as upstream's table lists them ("none" last). */
  names: readonly string[];
  /** Other spellings of a main name, lower case (xxhash: xxh64). */
  aliases?: Readonly<Record<string, string>>;
}

/** Negotiation strings are at most this long, with their terminating NUL (MAX_NSTR_STRLEN). */
export const MAX_NSTR_STRLEN = 256;

/** isspace() of the C locale. */
const isSpace = (ch: string) => ch === " " || (ch >= "\t" && ch <= "\r");

/** The word's main name (get_nni_by_name: case-insensitive, an alias gives its main name), or undefined when it names nothing. */
export function mainName(kind: NameKind, word: string): string | undefined {
  const key = word.toLowerCase();
  const name = kind.aliases?.[key] ?? key;
  return kind.names.includes(name) ? name : undefined;
}

/**
 * get_default_nno_list: every main name in the table's order; a client
 * leaves out "none" (which only a server offers).
 */
export function defaultNames(kind: NameKind, amServer: boolean): string[] {
  return amServer ? [...kind.names] : kind.names.filter((n) => n !== "none");
}

/**
 * getenv_nstr: this side's part of the environment's list, as bytes (one per
 * char), or undefined when the variable is unset. A client's part ends at
 * the first '&' (parseNameList stops there); a server's starts after it.
 */
export function envListPart(amServer: boolean, env: string | undefined): string | undefined {
  if (env === undefined) return undefined;
  const bytes = Buffer.from(env, "utf8").toString("latin1");
  const amp = bytes.indexOf("&");
  return amServer && amp >= 0 ? bytes.slice(amp + 1) : bytes;
}

export interface ParsedNames {
  /** The words to send, in the user's order: a main name as typed, an alias as its main name; ["INVALID"] when none was known. */
  words: string[];
  /** The main names those words gave, in order: our preferences (parse_nni_str's "saw" numbering). */
  names: string[];
}

/**
 * parse_nni_str: the words of `from` up to its first '&' that name
 * something, each once, in a buffer of MAX_NSTR_STRLEN (a word that would
 * overflow it ends the list there). Words there were, but none known:
 * "INVALID". No words: nothing.
 */
export function parseNameList(kind: NameKind, from: string): ParsedNames {
  const limit = MAX_NSTR_STRLEN;
  let out = "";
  // Where the word being copied starts in `out` (after the blank that separates it), -1 between words.
  let tok = -1;
  let sawWord = false;
  const names: string[] = [];
  // Drops the word being copied and the blank before it.
  const dropWord = () => (out = out.slice(0, tok === 0 ? 0 : tok - 1));
  for (let i = 0; ; ) {
    const ch = i < from.length ? from[i++]! : "";
    const end = ch === "" || ch === "&";
    if (end || isSpace(ch)) {
      if (tok >= 0) {
        const word = out.slice(tok);
        const name = mainName(kind, word);
        if (name !== undefined && !names.includes(name)) {
          names.push(name);
          const alias = kind.aliases?.[word.toLowerCase()];
          if (alias !== undefined) {
            out = out.slice(0, tok) + alias;
            if (out.length >= limit) {
              dropWord();
              break;
            }
          }
        } else dropWord();
        sawWord = true;
        tok = -1;
      }
      if (end) break;
      continue;
    }
    if (tok < 0) {
      if (out) out += " ";
      tok = out.length;
    }
    if (out.length >= limit - 1) {
      dropWord();
      break;
    }
    out += ch;
  }
  if (sawWord && !out) return { words: ["INVALID"], names: [] };
  return { words: out ? out.split(" ") : [], names };
}

/**
 * send_negotiate_str: the list this side offers: its part of the
 * environment's list when that has any words, else the usual one.
 */
export function offeredNames(kind: NameKind, amServer: boolean, env: string | undefined = process.env[kind.envVar]): string[] {
  const part = envListPart(amServer, env);
  if (part) {
    const { words } = parseNameList(kind, part);
    if (words.length > 0) return words;
  }
  return defaultNames(kind, amServer);
}

/** Our preferences among the words we offered: their main names, each once (none for "INVALID"). */
export function preferences(kind: NameKind, offered: readonly string[]): string[] {
  const names: string[] = [];
  for (const word of offered) {
    const name = mainName(kind, word);
    if (name !== undefined && !names.includes(name)) names.push(name);
  }
  return names;
}

/**
 * parse_negotiate_str: our most preferred name that the peer's list (as
 * received) also holds, or undefined when we share none.
 */
export function pickName(kind: NameKind, offered: readonly string[], peerList: string): string | undefined {
  const theirs = new Set<string>();
  for (const word of peerList.split(" ")) {
    const name = word ? mainName(kind, word) : undefined;
    if (name !== undefined) theirs.add(name);
  }
  return preferences(kind, offered).find((n) => theirs.has(n));
}

/**
 * recv_negotiate_str's failure: the peer's list as it came, then ours as
 * our preferences (" INVALID" when we had none), the client's or server's
 * first as `amServer` says.
 */
export function negotiationFailure(kind: NameKind, amServer: boolean, offered: readonly string[], peerList: string): string {
  const ours = preferences(kind, offered).join(" ") || "INVALID";
  const [peer, us] = amServer ? ["Client", "Server"] : ["Server", "Client"];
  return `Failed to negotiate a ${kind.what} choice.\n${peer} list: ${peerList}\n${us} list: ${ours}`;
}

/**
 * validate_choice_vs_env: a server whose environment gives a list (its part
 * not blank) accepts an explicit choice only when the list holds every name
 * chosen (their main names). Returns whether the choice is refused.
 */
export function refusedByEnv(kind: NameKind, chosen: readonly string[], env: string | undefined = process.env[kind.envVar]): boolean {
  const part = envListPart(true, env);
  if (part === undefined) return false;
  let start = 0;
  while (start < part.length && isSpace(part[start]!)) start++;
  if (start === part.length) return false;
  const { names } = parseNameList(kind, part.slice(start));
  return chosen.some((n) => !names.includes(n));
}
