/**
 * rsyncd.conf, read as upstream reads it (params.c, loadparm.c): "[name]"
 * sections, "key = value" lines, '#' and ';' comments, a trailing '\'
 * continuing a line, names matched without regard to case, spaces or
 * underscores ("read only" = "ReadOnly" = "read_only"), %VAR% taken from the
 * environment, module parameters in the global section as defaults for the
 * modules after them, "&include" (a file, or a directory's *.conf, whose
 * global settings stay inside it) and "&merge" (a file, or a directory's
 * *.inc, read as if inline).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { RERR, RsyncError } from "../errors.ts";
import { errText } from "../fs/errors.ts";

type Kind = "string" | "path" | "int" | "bool" | "bool3";

interface ParamSpec {
  kind: Kind;
  global: boolean;
  default: string | null;
}

/** upstream's DEFAULT_DONT_COMPRESS (already-compressed suffixes). */
const DEFAULT_DONT_COMPRESS =
  "*.3g2 *.3gp *.7z *.aac *.ace *.apk *.avi *.bz2 *.deb *.dmg *.ear *.f4v *.flac *.flv *.gpg *.gz *.iso *.jar *.jpeg *.jpg *.lrz *.lz *.lz4 *.lzma *.lzo *.m1a *.m1v *.m2a *.m2ts *.m2v *.m4a *.m4b *.m4p *.m4r *.m4v *.mka *.mkv *.mov *.mp1 *.mp2 *.mp3 *.mp4 *.mpa *.mpeg *.mpg *.mpv *.mts *.odb *.odf *.odg *.odi *.odm *.odp *.ods *.odt *.oga *.ogg *.ogm *.ogv *.ogx *.opus *.otg *.oth *.otp *.ots *.ott *.oxt *.png *.qt *.rar *.rpm *.rz *.rzip *.spx *.squashfs *.sxc *.sxd *.sxg *.sxm *.sxw *.sz *.tbz *.tbz2 *.tgz *.tlz *.ts *.txz *.tzo *.vob *.war *.webm *.webp *.xz *.z *.zip *.zst";

const g = (kind: Kind, def: string | null = null): ParamSpec => ({ kind, global: true, default: def });
const m = (kind: Kind, def: string | null = null): ParamSpec => ({ kind, global: false, default: def });

/** daemon-parm.txt: every parameter upstream knows, with its synonyms. */
const PARAMS: Record<string, ParamSpec> = {
  "bind address": g("string"),
  "daemon chroot": g("string"),
  "daemon gid": g("string"),
  "daemon uid": g("string"),
  "motd file": g("string"),
  "pid file": g("string"),
  "proxy protocol hosts": g("string"),
  "socket options": g("string"),
  "listen backlog": g("int", "5"),
  "rsync port": g("int", "0"),
  "proxy protocol": g("bool", "no"),

  "auth digest": m("string"),
  "auth users": m("string"),
  charset: m("string"),
  comment: m("string"),
  "dont compress": m("string", DEFAULT_DONT_COMPRESS),
  "early exec": m("string"),
  exclude: m("string"),
  "exclude from": m("string"),
  filter: m("string"),
  gid: m("string"),
  "hosts allow": m("string"),
  "hosts deny": m("string"),
  include: m("string"),
  "include from": m("string"),
  "incoming chmod": m("string"),
  "lock file": m("string", "/var/run/rsyncd.lock"),
  "log file": m("string"),
  "log format": m("string", "%o %h [%a] %m (%u) %f %l"),
  name: m("string"),
  "name converter": m("string"),
  "outgoing chmod": m("string"),
  "post-xfer exec": m("string"),
  "pre-xfer exec": m("string"),
  "refuse options": m("string"),
  "secrets file": m("string"),
  "syslog tag": m("string", "rsyncd"),
  uid: m("string"),
  path: m("path"),
  "temp dir": m("path"),
  "max connections": m("int", "0"),
  "max verbosity": m("int", "1"),
  timeout: m("int", "0"),
  "syslog facility": m("string", "daemon"),
  "fake super": m("bool", "no"),
  "forward lookup": m("bool", "yes"),
  "ignore errors": m("bool", "no"),
  "ignore nonreadable": m("bool", "no"),
  "insecure links": m("bool", "no"),
  list: m("bool", "yes"),
  "read only": m("bool", "yes"),
  "reverse lookup": m("bool", "yes"),
  "strict modes": m("bool", "yes"),
  "transfer logging": m("bool", "no"),
  "write only": m("bool", "no"),
  "munge symlinks": m("bool3"),
  "numeric ids": m("bool3"),
  "open noatime": m("bool3"),
  "use chroot": m("bool3"),
};

const SYNONYMS: Record<string, string> = { address: "bind address", port: "rsync port" };

/** strwicmp: case, spaces and underscores do not count. */
const squash = (name: string) => name.toLowerCase().replace(/[\s_]+/g, "");
const BY_SQUASHED = new Map<string, string>();
for (const name of Object.keys(PARAMS)) BY_SQUASHED.set(squash(name), name);
for (const [alias, name] of Object.entries(SYNONYMS)) BY_SQUASHED.set(squash(alias), name);

/** The canonical name of a parameter, or null when upstream would not know it. */
export function canonicalParam(name: string): string | null {
  return BY_SQUASHED.get(squash(name)) ?? null;
}

export type Params = Map<string, string>;

/** One module's settings, its own over the global defaults over upstream's defaults. */
export class ModuleConfig {
  constructor(
    readonly name: string,
    private readonly params: Params,
  ) {}

  raw(param: string): string | null {
    const spec = PARAMS[param];
    if (!spec) throw new Error(`unknown daemon parameter ${param}`);
    return this.params.get(param) ?? spec.default;
  }

  str(param: string): string {
    return this.raw(param) ?? "";
  }

  int(param: string): number {
    const v = Number.parseInt(this.raw(param) ?? "0", 10);
    return Number.isFinite(v) ? v : 0;
  }

  bool(param: string): boolean {
    return parseBool(this.raw(param) ?? "no") === true;
  }

  /** BOOL3: true, false, or null when not set (its default then depends on other settings). */
  bool3(param: string): boolean | null {
    const v = this.raw(param);
    return v === null ? null : parseBool(v);
  }
}

/** set_boolean: yes/true/1 and no/false/0 in any case; "unset" / -1 only for BOOL3. */
export function parseBool(value: string): boolean | null {
  const v = value.toLowerCase();
  if (v === "yes" || v === "true" || v === "1") return true;
  if (v === "no" || v === "false" || v === "0") return false;
  if (v === "unset" || v === "-1") return null;
  throw new Error(`Badly formed boolean in configuration file: "${value}".`);
}

export class DaemonConfig {
  constructor(
    /** Global settings, and module parameters given in the global section (defaults). */
    readonly globals: ModuleConfig,
    readonly modules: ModuleConfig[],
  ) {}

  module(name: string): ModuleConfig | undefined {
    return this.modules.find((mod) => mod.name === name);
  }
}

/** %VAR% from the environment; unknown names and lone '%' stay as written (loadparm.c expand_vars). */
function expandVars(value: string): string {
  return value.replace(/%([^%\s]+)%/g, (whole, name: string) => process.env[name] ?? whole);
}

interface ParseState {
  globals: Params;
  modules: { name: string; params: Params }[];
  current: { name: string; params: Params } | null;
}

/**
 * Reads a config file. `dparams` are --dparam settings, applied as if they
 * were in the global section before the file's own lines.
 */
export function loadDaemonConfig(file: string, dparams: string[] = []): DaemonConfig {
  const state: ParseState = { globals: new Map(), modules: [], current: null };
  for (const d of dparams) {
    const eq = d.indexOf("=");
    if (eq < 0) throw configError(`--dparam value is missing an '=': ${d}`);
    setParam(state, d.slice(0, eq).trim(), d.slice(eq + 1).trim(), "--dparam");
  }
  parseFile(file, state);
  const globals = new ModuleConfig("", state.globals);
  return new DaemonConfig(
    globals,
    state.modules.map((mod) => new ModuleConfig(mod.name, mod.params)),
  );
}

const configError = (message: string) => new RsyncError(RERR.SYNTAX, message);

function parseFile(file: string, state: ParseState): void {
  let text: string;
  try {
    text = readFileSync(file, "latin1");
  } catch (e) {
    throw configError(`rsync: [daemon] failed to open config file ${file}: ${errText(e)}`);
  }
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/\r$/, "");
    // A trailing backslash joins the next line (its leading spaces dropped).
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, "") + lines[++i]!.replace(/\r$/, "").trimStart();
    }
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(";")) continue;
    const where = `${file}:${i + 1}`;
    if (trimmed.startsWith("[")) {
      const close = trimmed.indexOf("]");
      if (close < 0) throw configError(`rsync: [daemon] config error at ${where}: missing ']' in a section name`);
      startSection(state, trimmed.slice(1, close).trim().replace(/\s+/g, " "));
      continue;
    }
    const eq = trimmed.indexOf("=");
    if (trimmed.startsWith("&")) {
      const space = trimmed.search(/\s/);
      const directive = (space < 0 ? trimmed : trimmed.slice(0, space)).toLowerCase();
      const arg = expandVars(space < 0 ? "" : trimmed.slice(space).replace(/^\s*=?\s*/, "").trim());
      includeConfig(directive, arg, state, where);
      continue;
    }
    if (eq < 0) throw configError(`rsync: [daemon] config error at ${where}: no '=' in "${trimmed}"`);
    setParam(state, trimmed.slice(0, eq).trim(), expandVars(trimmed.slice(eq + 1).trim()), where);
  }
}

function startSection(state: ParseState, name: string): void {
  if (name.toLowerCase() === "global") {
    state.current = null;
    return;
  }
  // A module starts with the module defaults set so far in the global section.
  const params: Params = new Map();
  for (const [k, v] of state.globals) if (!PARAMS[k]!.global) params.set(k, v);
  const existing = state.modules.find((mod) => mod.name === name);
  if (existing) {
    state.current = existing;
    return;
  }
  state.current = { name, params };
  state.modules.push(state.current);
}

function setParam(state: ParseState, rawName: string, value: string, where: string): void {
  const name = canonicalParam(rawName);
  if (!name) throw configError(`rsync: [daemon] Unknown Parameter encountered: "${rawName}" (${where})`);
  const spec = PARAMS[name]!;
  if (spec.kind === "bool" || spec.kind === "bool3") {
    try {
      const b = parseBool(value);
      if (b === null && spec.kind === "bool") throw new Error(`Badly formed boolean in configuration file: "${value}".`);
    } catch (e) {
      throw configError(`rsync: [daemon] ${(e as Error).message} (${where})`);
    }
  }
  if (state.current) {
    // Global-only parameters in a module section are ignored, as upstream ignores them there.
    if (spec.global) return;
    state.current.params.set(name, value);
  } else state.globals.set(name, value);
}

/** &include: a file or a directory's *.conf, its global settings kept to itself; &merge: a file or *.inc, inline. */
function includeConfig(directive: string, path: string, state: ParseState, where: string): void {
  if (directive !== "&include" && directive !== "&merge") throw configError(`rsync: [daemon] Unknown directive: ${directive}. (${where})`);
  const isolate = directive === "&include";
  let files: string[];
  try {
    if (statSync(path).isDirectory()) {
      const suffix = isolate ? ".conf" : ".inc";
      files = readdirSync(path)
        .filter((n) => n.endsWith(suffix))
        .sort()
        .map((n) => join(path, n));
    } else files = [path];
  } catch (e) {
    throw configError(`rsync: [daemon] unable to stat config file "${path}": ${errText(e)}`);
  }
  for (const file of files) {
    if (!isolate) {
      parseFile(file, state);
      continue;
    }
    const savedGlobals = new Map(state.globals);
    const savedCurrent = state.current;
    state.current = null;
    parseFile(file, state);
    state.globals.clear();
    for (const [k, v] of savedGlobals) state.globals.set(k, v);
    state.current = savedCurrent;
  }
}
