/**
 * The command line that starts the far end over a remote shell (main.c
 * do_cmd): the shell command split into words as upstream splits it (quotes
 * group, a doubled quote inside quotes is a literal one), "-l USER" when a
 * user was given, the host, the remote program, the server options, "." and
 * the remote paths escaped for the remote shell (options.c safe_arg).
 */
import { RERR, RsyncError } from "../errors.ts";

export const DEFAULT_RSH = "ssh";

/** Splits `-e "ssh -p 22 -o 'Opt=a b'"` into words. */
export function splitShellCommand(cmd: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < cmd.length) {
    if (cmd[i] === " ") {
      i++;
      continue;
    }
    let word = "";
    let quote = "";
    while (i < cmd.length && (cmd[i] !== " " || quote)) {
      const c = cmd[i]!;
      if (c === "'" || c === '"') {
        if (!quote) {
          quote = c;
          i++;
          continue;
        }
        if (c === quote) {
          // A doubled quote inside quotes stands for itself.
          if (cmd[i + 1] === quote) {
            word += c;
            i += 2;
            continue;
          }
          quote = "";
          i++;
          continue;
        }
      }
      word += c;
      i++;
    }
    if (quote) throw new RsyncError(RERR.SYNTAX, `Missing trailing-${quote} in remote-shell command.`);
    words.push(word);
  }
  return words;
}

const SHELL_CHARS = "!#$&;|<>(){}\"'` \t\n\r\\";
const WILD_CHARS = "*?[]";

/**
 * A file name on the remote command line: shell specials get a backslash (a
 * backslash before a wildcard is kept as the user's own escape), a leading
 * "-" becomes "./-", and a leading "~" is escaped on a pull unless it names
 * a home directory path ("~user/..."), so the remote shell does not expand it.
 */
export function escapeRemoteName(arg: string, amSender: boolean, relative: boolean): string {
  let out = arg.startsWith("-") ? "./" : "";
  if (arg.startsWith("~") && !amSender && ((relative && !arg.includes("/./")) || !arg.includes("/"))) out += "\\";
  for (let i = 0; i < arg.length; i++) {
    const c = arg[i]!;
    if (c === "\\") {
      const next = arg[i + 1];
      if (!(next !== undefined && WILD_CHARS.includes(next))) out += "\\";
    } else if (SHELL_CHARS.includes(c)) out += "\\";
    out += c;
  }
  return out;
}

export interface RemoteShellCommand {
  /** -e, else $RSYNC_RSH, else ssh. */
  rsh: string | undefined;
  user: string | undefined;
  host: string;
  /** --rsync-path: the program the remote shell runs (may hold arguments: the remote shell splits it). */
  rsyncPath: string;
  serverArgs: string[];
  paths: string[];
  amSender: boolean;
  relative: boolean;
  /** Escape names for the remote shell (not with --old-args). */
  escapeNames: boolean;
  /** The "." before the paths; with -s it goes over the connection instead. */
  endWithDot?: boolean;
}

export function remoteShellArgv(c: RemoteShellCommand): string[] {
  const words = splitShellCommand(c.rsh ?? process.env.RSYNC_RSH ?? DEFAULT_RSH);
  if (words.length === 0) throw new RsyncError(RERR.SYNTAX, "The remote-shell command is empty.");
  const argv = [...words];
  if (c.user !== undefined) argv.push("-l", c.user);
  argv.push(c.host, c.rsyncPath, ...c.serverArgs);
  if (c.endWithDot ?? true) argv.push(".");
  for (const p of c.paths) argv.push(c.escapeNames ? escapeRemoteName(p, c.amSender, c.relative) : p);
  return argv;
}
