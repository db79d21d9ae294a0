/**
 * FILE.sh, the script --write-batch leaves next to the batch (batch.c
 * write_batch_shell_file): the command line again, with --read-batch in place
 * of --write-batch/--only-write-batch, without the source arguments and the
 * filter options (the rules follow as a here-document read by --filter=._-),
 * and the destination replaceable by the script's first argument.
 */
import { FR, rulePrefix, type FilterList } from "../flist/filter.ts";
import { RERR, RsyncError } from "../errors.ts";

export interface ShellScriptRequest {
  /** How to run us again (upstream: its argv[0]), as one or more words. */
  program: string[];
  /** The command line as given, options and paths (without the program). */
  rawArgs: string[];
  /** The path arguments the options left (the last is the destination). */
  paths: string[];
  filters: FilterList;
  protocol: number;
  /** --from0: the rules are NUL-ended (and the here-document ends with ";"). */
  eolNulls: boolean;
}

/** An option's value, quoted for sh: "--name=" stays bare when it is a plain option word. */
function quoted(arg: string): string {
  let prefix = "";
  const eq = arg.indexOf("=");
  if (arg.startsWith("-") && eq >= 0 && /^[-_0-9A-Za-z]*$/.test(arg.slice(0, eq))) {
    prefix = arg.slice(0, eq + 1);
    arg = arg.slice(eq + 1);
  }
  return `${prefix}'${arg.replaceAll("'", "'\\''")}'`;
}

/** True when `p` starts with `name` (upstream compares prefixes: "--filter" matches "--filter=..." and "--filters"). */
const startsWith = (p: string, name: string) => p.startsWith(name);

export function batchShellScript(req: ShellScriptRequest): Buffer {
  const parts: string[] = req.program.map(quoted);
  const hasRules = req.filters.rules.length > 0;
  if (hasRules) parts.push(req.protocol >= 29 ? "--filter='._-'" : "--exclude-from='-'");

  // The path arguments are left out: matched from the end, as they come last.
  const raw: (string | null)[] = [...req.rawArgs];
  for (let i = raw.length - 1, j = req.paths.length - 1; i >= 0 && j >= 0; i--) {
    if (raw[i] === req.paths[j]) {
      raw[i] = null;
      j--;
    }
  }
  for (let i = 0; i < raw.length; i++) {
    const p = raw[i];
    if (p === null || p === undefined) continue;
    if (["--files-from", "--filter", "--include", "--exclude"].some((n) => startsWith(p, n))) {
      if (!p.includes("=")) i++;
      continue;
    }
    if (p === "-f") {
      i++;
      continue;
    }
    const batchOpt = ["--write-batch", "--only-write-batch"].find((n) => startsWith(p, n));
    if (batchOpt) parts.push(p[batchOpt.length] === "=" ? `--read-batch=${quoted(p.slice(batchOpt.length + 1))}` : "--read-batch");
    else parts.push(quoted(p));
  }
  const dest = req.paths[req.paths.length - 1] ?? "";
  // A remote destination names only its path here.
  parts.push(`\${1:-${quoted(localPart(dest))}}`);
  let text = parts.join(" ");
  if (hasRules) text += ruleHereDocument(req.filters, req.eolNulls);
  return Buffer.from(`${text}\n`, "latin1");
}

/** check_for_hostspec's path part of a remote argument (host:path, host::module/path, rsync://host/module/path). */
function localPart(arg: string): string {
  const url = /^rsync:\/\/[^/]*\/?(.*)$/i.exec(arg);
  if (url) return url[1]!;
  const colon = arg.indexOf(":");
  const slash = arg.indexOf("/");
  if (colon > 0 && (slash < 0 || colon < slash)) return arg.slice(colon + (arg[colon + 1] === ":" ? 2 : 1));
  return arg;
}

function ruleHereDocument(filters: FilterList, eolNulls: boolean): string {
  let doc = " <<'#E#'\n";
  for (const rule of filters.rules) {
    const pattern = Buffer.from(rule.pattern).toString("latin1");
    // A newline would end the here-document early and let the rest run as commands.
    if (pattern.includes("\n")) throw new RsyncError(RERR.SYNTAX, "cannot write a filter rule containing a newline to the batch replay script");
    doc += `${rulePrefix(rule, 32, false, false) ?? "- "}${pattern}${rule.flags & FR.DIRECTORY ? "/" : ""}${eolNulls ? "\0" : "\n"}`;
  }
  if (eolNulls) doc += ";\n";
  return `${doc}#E#`;
}
