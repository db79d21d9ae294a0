/**
 * Daemon-mode option parsing (options.c parse_arguments, OPT_DAEMON): the
 * first of --daemon, --config, --dparam, --detach or --no-detach met among
 * the options starts the parse over, with only the daemon's own options:
 * any other is "unknown (in daemon mode)", and daemon options without
 * --daemon are refused. So `rsync --config=FILE SRC DEST` is a usage error,
 * not a copy, and `rsync --daemon -a` too. A daemon parsing a client's
 * options never switches: there the switch is "Attempt to hack rsync
 * thwarted!", the message of the error the switch throws.
 */
import { RERR, RsyncError, usageError } from "../errors.ts";
import { canonicalParam } from "../daemon/config.ts";
import { versionText } from "../version.ts";
import { parseArgv, type OptionSpec } from "./option-spec.ts";
import type { Options } from "./options.ts";

/** Thrown by the options that switch to daemon mode; main.ts parses again with daemonModeTable. */
export class DaemonModeSwitch extends RsyncError {
  constructor() {
    super(RERR.SYNTAX, "Attempt to hack rsync thwarted!");
  }
}

/** The normal table's handler of the options that switch. */
export const switchToDaemonMode = (): never => {
  throw new DaemonModeSwitch();
};

const TYPE_FOR_HELP = '(Type "rsync --daemon --help" for assistance with daemon mode.)';

/** Options of the normal table that daemon mode takes as they are. */
const SHARED = ["address", "bwlimit", "port", "log-file", "log-file-format", "sockopts", "verbose", "ipv4", "ipv6", "protocol", "server", "temp-dir"];

/** Upstream's daemon_usage: the options daemon mode lists, in its order. */
const DAEMON_HELP: [string, string][] = [
  ["--daemon", "run as an rsync daemon"],
  ["--address=ADDRESS", "bind to the specified address"],
  ["--bwlimit=RATE", "limit socket I/O bandwidth"],
  ["--config=FILE", "specify alternate rsyncd.conf file"],
  ["--dparam=OVERRIDE, -M", "override global daemon config parameter"],
  ["--no-detach", "do not detach from the parent"],
  ["--port=PORT", "listen on alternate port number"],
  ["--log-file=FILE", 'override the "log file" setting'],
  ["--log-file-format=FMT", 'override the "log format" setting'],
  ["--sockopts=OPTIONS", "specify custom TCP options"],
  ["--verbose, -v", "increase verbosity"],
  ["--ipv4, -4", "prefer IPv4"],
  ["--ipv6, -6", "prefer IPv6"],
  ["--help, -h", "show this help (when used with --daemon)"],
];

/** Upstream's long_daemon_options, made of the normal table's specs where they mean the same. */
export function daemonModeTable(normal: readonly OptionSpec[]): OptionSpec[] {
  const shared = normal.filter((spec) => SHARED.includes(spec.long[0]!));
  return [
    ...shared.map((spec) => (spec.long[0] === "verbose" ? spec : { ...spec, unset: undefined })),
    { long: ["daemon"], set: (o) => (o.daemon = true) },
    { long: ["config"], arg: "FILE", set: (o, v) => (o.daemonConfig = v) },
    // Here -M is --dparam (a client's -M is --remote-option). The '=' is checked as it is read.
    {
      long: ["dparam"],
      short: "M",
      arg: "OVERRIDE",
      set: (o, v) => {
        if (!v.includes("=")) throw usageError(`--dparam value is missing an '=': ${v}\n${TYPE_FOR_HELP}`);
        o.remoteOptions.push(v);
      },
    },
    { long: ["detach"], set: (o) => (o.detach = true) },
    { long: ["no-detach"], set: (o) => (o.detach = false) },
    { long: ["help"], short: "h", set: (o) => (o.showHelp = true) },
  ];
}

/** Parses `argv` in daemon mode into `o` (fresh options), with upstream's refusals. */
export function parseDaemonArgv(argv: readonly string[], normal: readonly OptionSpec[], o: Options): void {
  try {
    parseArgv(argv, daemonModeTable(normal), o);
  } catch (e) {
    // popt's complaint, said for daemon mode (the --dparam one has its own wording).
    if (!(e instanceof RsyncError) || e.message.includes(TYPE_FOR_HELP)) throw e;
    const [first, ...rest] = e.message.split("\n");
    throw usageError([`${first} (in daemon mode)`, ...rest, TYPE_FOR_HELP].join("\n"));
  }
  if (o.showHelp) return;
  // loadparm.c set_dparams (syntax check only): a parameter the config file could not have either.
  for (const d of o.remoteOptions) {
    const name = d.slice(0, d.indexOf("=")).trim();
    if (!canonicalParam(name)) throw usageError(`Unknown parameter "${name}"`);
  }
  if (!o.daemon) throw usageError(`Daemon option(s) used without --daemon.\n${TYPE_FOR_HELP}`);
}

/** options.c daemon_usage. */
export function daemonHelpText(): string {
  const lines = DAEMON_HELP.map(([left, text]) => `${left.padEnd(24)} ${text}`);
  return `${versionText()}\nUsage: oc-rsync --daemon [OPTION]...\n${lines.join("\n")}\n\nIf you were not trying to invoke rsync as a daemon, avoid using any of the\ndaemon-specific rsync options.  See also the rsyncd.conf(5) manpage.\n`;
}
