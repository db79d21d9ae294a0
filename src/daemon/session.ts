/**
 * One client of the daemon (clientserver.c start_daemon and rsync_module),
 * in a process of its own: the greetings and the MOTD, a module listing or
 * the module's checks (hosts, connection slots, authentication), "@RSYNCD:
 * OK", the client's server options (refused ones rejected), then the
 * transfer with the module directory as the root of every path.
 */
import { applyModuleFakeSuper } from "../roles/super-user.ts";
import { finishBackupOptions } from "../cli/backup-options.ts";
import { checkPartialOptions } from "../cli/partial-options.ts";
import { moduleHides, sanitizePath } from "./sanitize-path.ts";
import type { Options } from "../cli/options.ts";
import { defaultOptions } from "../cli/options.ts";
import { modeTable, optionTable } from "../cli/option-table.ts";
import { parseArgv } from "../cli/option-spec.ts";
import { readArgWords, readSecludedArgs } from "../protocol/secluded-args.ts";
import { EARLY_INPUT_CMD, EARLY_INPUT_MAX } from "../transport/daemon-client.ts";
import { RERR, RsyncError } from "../errors.ts";
import { errText } from "../fs/errors.ts";
import type { Input } from "../io/input.ts";
import type { Output } from "../io/output.ts";
import { AUTH_DIGESTS, chooseAuthDigestAsDaemon, type AuthDigest } from "../protocol/daemon-auth.ts";
import { checkServerChoices, serverSetupProtocol } from "../protocol/server-setup.ts";
import { reportFailure } from "../cli/report.ts";
import { NO_COMPRESS_REQUEST, compressRequest } from "../compress/choice.ts";
import { negotiateVersion, parseGreeting } from "../transport/daemon-client.ts";
import { reportToClient, serveTransfer } from "../server/server-main.ts";
import { PROTOCOL_VERSION } from "../version.ts";
import { allowAccess } from "./access.ts";
import { checkAuth, makeChallenge } from "./auth.ts";
import type { DaemonConfig, ModuleConfig } from "./config.ts";
import { claimConnection } from "./connections.ts";
import { DaemonLog } from "./log.ts";
import { findRefused, refusedOptions } from "./refuse.ts";
import { moduleFilterList } from "./module-filters.ts";
import type { FilterList } from "../flist/filter.ts";
import { becomeIdentity, groupsOf, moduleIdentity, type Identity } from "./identity.ts";
import { chroot } from "../fs/libc.ts";
import { symlinkOnPath } from "../fs/path-symlink.ts";
import { runEarlyExec, startPostXfer, startPreXfer, type XferEnv } from "./xfer-exec.ts";
import { closeSync, lstatSync, openSync, readFileSync } from "node:fs";
import { currentUmask, parseChmod } from "../roles/chmod.ts";
import { ServerLog } from "../server/server-log.ts";

export interface Peer {
  addr: string;
  /** The reverse-looked-up name ("UNKNOWN" when there is none). */
  host: string;
}

/** Longest line or argument we read from a client before the transfer. */
const MAX_LINE = 4096;

export async function serveDaemonClient(input: Input, output: Output, cfg: DaemonConfig, peer: Peer, log: DaemonLog, daemonOpts: Options): Promise<number> {
  const ours = daemonOpts.protocol ?? PROTOCOL_VERSION;
  const say = (text: string) => {
    output.data.bytes(Buffer.from(text, "latin1"));
    output.flush();
  };
  say(`@RSYNCD: ${ours}.0 ${AUTH_DIGESTS.join(" ")}\n`);
  const motd = cfg.globals.str("motd file");
  if (motd) {
    try {
      say(readFileSync(motd, "latin1") + "\n");
    } catch {
      // An unreadable MOTD is skipped, as upstream skips it.
    }
  }
  log.line(`connect from ${peer.host} (${peer.addr})`);

  const greeting = parseGreeting(await input.readLine(MAX_LINE));
  if (!greeting) return refuse(say, "@ERROR: protocol startup error\n");
  if (greeting.sub === undefined && greeting.protocol >= 30) return refuse(say, "@ERROR: your client omitted the subprotocol value\n");
  const protocol = negotiateVersion(ours, greeting.protocol, greeting.sub ?? 0);
  if (protocol < 27) return refuse(say, `@ERROR: protocol version mismatch: oc-rsync speaks 27 to ${ours}, the client ${greeting.protocol}\n`);

  let line = await input.readLine(MAX_LINE);
  // --early-input: bytes for the module's pre-xfer exec, before the module line (clientserver.c start_daemon).
  let earlyInput: Uint8Array | undefined;
  if (line.startsWith(EARLY_INPUT_CMD)) {
    const length = Number.parseInt(line.slice(EARLY_INPUT_CMD.length), 10);
    if (!(length > 0 && length <= EARLY_INPUT_MAX)) return refuse(say, "@ERROR: invalid early_input length\n");
    earlyInput = await input.read((r) => r.bytes(length).slice());
    line = await input.readLine(MAX_LINE);
  }
  if (line === "" || line === "#list") {
    log.line(`module-list request from ${peer.host} (${peer.addr})`);
    for (const mod of cfg.modules) if (mod.bool("list")) say(`${mod.name.padEnd(15)}\t${mod.str("comment")}\n`);
    say("@RSYNCD: EXIT\n");
    await output.drained();
    return 0;
  }
  if (line.startsWith("#")) return refuse(say, `@ERROR: Unknown command '${line}'\n`);
  const mod = cfg.module(line);
  if (!mod) {
    log.line(`unknown module '${line}' tried from ${peer.host} (${peer.addr})`);
    return refuse(say, `@ERROR: Unknown module '${line}'\n`);
  }
  return await serveModule(input, output, say, mod, peer, log, protocol, greeting.digests, earlyInput, daemonOpts);
}

async function refuse(say: (text: string) => void, text: string): Promise<number> {
  say(text);
  return RERR.STARTCLIENT;
}

async function serveModule(
  input: Input,
  output: Output,
  say: (text: string) => void,
  mod: ModuleConfig,
  peer: Peer,
  log: DaemonLog,
  protocol: number,
  clientDigests: string | undefined,
  earlyInput: Uint8Array | undefined,
  /** The daemon's own options: its --bwlimit (0: none), and --server when a remote shell started it. */
  daemonOpts: Options,
): Promise<number> {
  const name = mod.name;
  const daemonBwlimit = daemonOpts.bwlimit;
  // A module may log elsewhere ("log file" in its section): from here on, it does.
  const moduleLog = mod.str("log file");
  if (moduleLog && moduleLog !== log.file) log = new DaemonLog(moduleLog);
  if (!allowAccess(peer.addr, peer.host, mod.str("hosts allow"), mod.str("hosts deny"))) {
    log.line(`rsync denied on module ${name} from ${peer.host} (${peer.addr})`);
    return refuse(say, mod.bool("list") ? `@ERROR: access denied to ${name} from ${peer.host} (${peer.addr})\n` : `@ERROR: Unknown module '${name}'\n`);
  }
  log.line(`rsync allowed access on module ${name} from ${peer.host} (${peer.addr})`);
  const claim = claimConnection(mod.str("lock file"), mod.int("max connections"));
  if (!claim.ok) {
    if (claim.error) {
      log.line(`failed to open lock file ${mod.str("lock file")}: ${errText(claim.error)}`);
      return refuse(say, "@ERROR: failed to open lock file\n");
    }
    log.line(`max connections (${mod.int("max connections")}) reached`);
    return refuse(say, `@ERROR: max connections (${mod.int("max connections")}) reached -- try again later\n`);
  }

  let readOnly = mod.bool("read only");
  let authUser = "";
  if (mod.str("auth users")) {
    const digest = chooseAuthDigestAsDaemon(clientDigests, protocol);
    if (!digest) return refuse(say, `@ERROR: your client does not support one of our daemon-auth checksums: ${AUTH_DIGESTS.join(" ")}\n`);
    const outcome = await authenticate(input, say, mod, peer, digest);
    if (outcome.user === null) {
      log.line(`auth failed on module ${name} from ${peer.host} (${peer.addr})${outcome.who ? ` for ${outcome.who}` : ""}: ${outcome.error}`);
      return refuse(say, `@ERROR: auth failed on module ${name}\n`);
    }
    authUser = outcome.user;
    if (outcome.readOnly !== undefined) readOnly = outcome.readOnly;
  }

  const path = mod.str("path");
  if (!path) return refuse(say, "@ERROR: no path setting.\n");
  const env: XferEnv = {
    RSYNC_MODULE_NAME: name,
    RSYNC_MODULE_PATH: path,
    RSYNC_HOST_ADDR: peer.addr,
    RSYNC_HOST_NAME: peer.host,
    RSYNC_USER_NAME: authUser,
    RSYNC_PID: String(process.pid),
  };
  const postXfer = mod.str("post-xfer exec") ? startPostXfer(mod.str("post-xfer exec"), env) : null;
  const earlyExec = mod.str("early exec");
  if (earlyExec && !(await runEarlyExec(earlyExec, env, earlyInput))) {
    log.line("early exec failed");
    const code = await refuse(say, "@ERROR: early exec failed\n");
    await postXfer?.finish(code);
    return code;
  }
  const preXfer = mod.str("pre-xfer exec") ? startPreXfer(mod.str("pre-xfer exec"), env) : null;
  let identity: Identity;
  try {
    identity = moduleIdentity(mod);
  } catch (e) {
    log.line(`${(e as Error).message}`);
    return refuse(say, `@ERROR: ${(e as Error).message}\n`);
  }
  // The module's rules are the operator's: read (as root, before chroot) before the client's options exist,
  // so a rule for one side only is taken as the receiver's (upstream's am_sender is still 0 then).
  let moduleFilters: FilterList | null;
  try {
    moduleFilters = moduleFilterList(mod, false);
  } catch (e) {
    log.line(`${(e as Error).message}`);
    return RERR.FILEIO;
  }
  // Into the module first, as root may be needed to get there (and to chroot); then the module's user.
  const useChroot = mod.bool3("use chroot") ?? process.getuid?.() === 0;
  try {
    process.chdir(path);
  } catch (e) {
    log.line(`chdir ${path} failed: ${errText(e)}`);
    return refuse(say, "@ERROR: chdir failed\n");
  }
  if (useChroot) {
    try {
      chroot(".");
      process.chdir("/");
    } catch (e) {
      log.line(`chroot("${path}") failed: ${(e as Error).message}`);
      return refuse(say, "@ERROR: chroot failed\n");
    }
  }
  try {
    becomeIdentity(identity);
  } catch (e) {
    log.line(`${(e as Error).message}`);
    return refuse(say, `@ERROR: ${(e as Error).message}\n`);
  }

  say("@RSYNCD: OK\n");
  const args = unescapeOptionArgs(await readArgWords(input, protocol >= 30));
  // -s: the rest of the client's arguments follow, unescaped (clientserver.c rsync_module).
  if (asksSecludedArgs(args)) args.push(...(await readSecludedArgs(input)));
  const o = defaultOptions();
  const refusedSet = refusedOptions(mod.str("refuse options"));
  // options.c set_refuse_options: a module without a "charset" refuses --iconv.
  const charset = mod.str("charset");
  if (!charset) refusedSet.add("iconv");
  const refused = findRefused(args, refusedSet);
  let optionError: string | null = refused ? `rsync: The server is configured to refuse ${refused}` : null;
  // clientserver.c rsync_module: the module's "temp dir", unless the client names its own.
  if (mod.str("temp dir")) o.tempDir = mod.str("temp dir");
  if (!optionError) {
    try {
      parseArgv(args, [...optionTable, ...modeTable], o);
      finishBackupOptions(o);
      checkPartialOptions(o);
      // options.c: the daemon's own --bwlimit is the most a client may ask for.
      if (daemonBwlimit && (!o.bwlimit || o.bwlimit > daemonBwlimit)) o.bwlimit = daemonBwlimit;
      if (!useChroot) confineDirOptions(o, path);
      const listFile = o.filesFrom !== undefined && o.filesFrom !== "-" ? o.filesFrom : null;
      // clientserver.c rsync_module: the module's charset (its first part) converts; the client's --iconv only asks for it.
      if (o.iconv != null) o.iconv = charset.split(",")[0]!;
      if (!o.server || o.daemon) optionError = "rsync: the daemon only serves rsync clients (--server expected)";
      // options.c refused_delete: any way of deleting counts (--delete-missing-args, and removing what a sender sent too).
      else if (refusedSet.has("delete") && (o.deleteMode !== "none" || o.deleteMissingArgs || (o.removeSourceFiles && o.sender))) optionError = "rsync: The server is configured to refuse --delete";
      // options.c refused_compress: so does any way of asking for compression.
      else if (refusedSet.has("compress") && compressRequest(o).on) optionError = "rsync: The server is configured to refuse --compress (-z)";
      // options.c refused_inplace: --append and --write-devices update in place too.
      else if (refusedSet.has("inplace") && (o.append || o.writeDevices)) optionError = "rsync: The server is configured to refuse --inplace";
      // options.c: a --backup-dir the module's rules exclude is refused.
      else if (moduleFilters && !o.sender && [o.backupDir, o.tempDir].some((dir) => dir !== undefined && moduleHides(moduleFilters, dir, path))) {
        optionError = "rsync: Your options have been rejected by the server.";
      }
      // ... and so is a --files-from list (read here: --files-from=:LIST) they exclude, or one that cannot be opened.
      else if (moduleFilters && listFile !== null && moduleHides(moduleFilters, listFile, path, false)) optionError = "rsync: Your options have been rejected by the server.";
      else if (listFile !== null) optionError = unreadableListError(listFile);
    } catch (e) {
      optionError = e instanceof RsyncError ? e.message : String(e);
    }
  }
  if (!optionError) {
    try {
      checkServerChoices(o, protocol);
    } catch (e) {
      // Upstream's daemon exits from its option parsing: the lines go to its stderr, and its client sees the connection close.
      const code = reportFailure(e, o.sender ? "sender" : "Receiver");
      await postXfer?.finish(code);
      return code;
    }
  }
  const request = o.args.slice(1).join(" ");
  if (!optionError && preXfer) optionError = await preXfer.run(request, ["rsyncd", ...args]);
  if (optionError) {
    const code = await rejectOptions(input, output, protocol, optionError);
    await postXfer?.finish(code);
    return code;
  }

  applyModuleSettings(o, mod, useChroot);
  applyModuleChmod(o, mod, log);
  o.moduleFilters = moduleFilters;
  o.protocol = protocol;
  const paths = o.args.slice(1).map((p) => modulePath(p, name));
  log.line(`rsync ${o.sender ? "on" : "to"} ${request} from ${authUser ? `${authUser}@` : ""}${peer.host} (${peer.addr})`);
  const code = await serveTransfer(o, input, output, {
    start: async () => protocol,
    paths,
    timeout: mod.int("timeout"),
    // The daemon's log gets what log.c logs for a daemon: the list's start, the messages, the totals.
    serverLog: new ServerLog((text) => log.line(text)),
    // log.c rwrite: a daemon on a socket has no stderr for what goes wrong before the messages to its client start.
    unmultiplexedDropped: !daemonOpts.server,
    transferLog: mod.bool("transfer logging")
      ? {
          format: mod.str("log format"),
          daemon: { module: name, host: peer.host, addr: peer.addr, user: authUser, modulePath: path },
          write: (line) => log.line(line),
        }
      : undefined,
    beforeTransfer: () => {
      if (!o.sender && readOnly) throw new RsyncError(RERR.SYNTAX, "ERROR: module is read only");
      if (o.sender && mod.bool("write only")) throw new RsyncError(RERR.SYNTAX, "ERROR: module is write only");
      // main.c do_server_sender: removing the sent files would write to the module.
      if (o.sender && readOnly && o.removeSourceFiles) {
        throw new RsyncError(RERR.SYNTAX, `ERROR: --remove-${o.removeSourceFiles === 1 ? "source" : "sent"}-files cannot be used with a read-only module`);
      }
      // A push's destination must not be reached through a symlink in a chroot-less module.
      const through = !o.sender && o.confinedModule !== undefined ? symlinkOnTheWay(paths[0] ?? ".") : null;
      if (through) throw new RsyncError(RERR.FILESELECT, `rsync: [Receiver] change_dir#3 "${through}" (in ${name}) failed: Too many levels of symbolic links (40)`);
    },
  });
  await postXfer?.finish(code);
  return code;
}

async function authenticate(input: Input, say: (text: string) => void, mod: ModuleConfig, peer: Peer, digest: AuthDigest) {
  const challenge = makeChallenge(digest, peer.addr);
  say(`@RSYNCD: AUTHREQD ${challenge}\n`);
  const line = await input.readLine(MAX_LINE);
  const outcome = checkAuth({
    authUsers: mod.str("auth users"),
    secretsFile: mod.str("secrets file"),
    strictModes: mod.bool("strict modes"),
    digest,
    challenge,
    line,
    groupsOf,
  });
  return { ...outcome, who: line.split(" ")[0] };
}

/**
 * io.c read_args: the options before "." come backslash-escaped by the
 * client (options.c safe_arg) and no remote shell removed the escapes, so
 * the daemon does ("\\X" is "X"); the paths after "." are left as sent.
 */
export function unescapeOptionArgs(args: string[]): string[] {
  const dot = args.indexOf(".");
  return args.map((arg, i) => (dot >= 0 && i >= dot ? arg : arg.replace(/\\(.)/gs, "$1")));
}

/**
 * Options the daemon cannot take: upstream finishes setup_protocol so the
 * error reaches the client as a message, then exits with code 4.
 */
async function rejectOptions(input: Input, output: Output, protocol: number, message: string): Promise<number> {
  try {
    await serverSetupProtocol(input, output, { protocol, clientInfo: "", allowIncRecurse: false, checksumChoice: undefined, checksumSeed: 0, compress: NO_COMPRESS_REQUEST });
    output.startMultiplex();
  } catch {
    // The client went away: nothing more to tell it.
  }
  return await reportToClient(new RsyncError(RERR.UNSUPPORTED, message), output, input, protocol, "Receiver");
}

/**
 * clientserver.c rsync_module: the module's "incoming chmod" (a push) or
 * "outgoing chmod" (a pull) comes after the client's --chmod, so it wins; a
 * receiver also applies it on its own when setting attributes (rsync.c
 * set_file_attrs), which is what changes an existing file without -p.
 */
function applyModuleChmod(o: Options, mod: ModuleConfig, log: DaemonLog): void {
  const spec = mod.str(o.sender ? "outgoing chmod" : "incoming chmod");
  if (!spec) return;
  const rules = parseChmod(spec, currentUmask());
  if (!rules) {
    log.line(`Invalid "${o.sender ? "outgo" : "incom"}ing chmod" directive: ${spec}`);
    return;
  }
  o.chmod.push(...rules);
  if (!o.sender) o.daemonChmod = rules;
}

/**
 * options.c: without a chroot the module's sanitize_paths keeps --backup-dir,
 * --temp-dir and a --files-from list the daemon reads inside the module. So
 * must --partial-dir be (upstream's path walks refuse to leave the module):
 * absolute, it is put under the module's directory; relative, it lives in
 * each destination directory and may not climb out of it.
 */
function confineDirOptions(o: Options, moduleDir: string): void {
  if (o.backupDir !== undefined) o.backupDir = sanitizePath(o.backupDir, 0, moduleDir);
  if (o.tempDir !== undefined) o.tempDir = sanitizePath(o.tempDir, 0, moduleDir);
  if (o.partialDir !== undefined) o.partialDir = sanitizePath(o.partialDir, 0, moduleDir);
  if (o.filesFrom !== undefined && o.filesFrom !== "-") o.filesFrom = sanitizePath(o.filesFrom, 0, moduleDir);
}

/** options.c: a --files-from list the server is to read must open (the option is refused otherwise); null when it does. */
function unreadableListError(file: string): string | null {
  try {
    closeSync(openSync(file, "r"));
    return null;
  } catch (e) {
    return `rsync: failed to open files-from file ${file}: ${errText(e).replace(/ \(\d+\)$/, "")}`;
  }
}

/** What the module decides over the client's options (rsync_module). */
function applyModuleSettings(o: Options, mod: ModuleConfig, chrooted: boolean): void {
  // Links are munged by default only when no chroot confines them; without one an unmunged link's target is kept inside.
  o.mungeSymlinks = mod.bool3("munge symlinks") ?? !chrooted;
  o.sanitizeLinks = !chrooted && !o.mungeSymlinks;
  if (!chrooted) {
    // Nothing may lead out of the module: a path, a walked directory or a file's content is reached only
    // through symlinks that stay inside it. A client's -L, --copy-dirlinks and --copy-unsafe-links stand, confined
    // so (upstream 3.5.0: flist.c secure_opendir, sender.c sender_open_copylinks_confined).
    o.confinedModule = mod.name;
    // syscall.c symlink_optout_allowed: the module's own opt-out, for the receiver's names.
    o.moduleInsecureLinks = mod.bool("insecure links");
  }
  // clientserver.c: "numeric ids" (the default in a chroot) without breaking the protocol: the id lists still
  // go both ways, but no names are sent or used.
  const numericIds = mod.bool3("numeric ids");
  if (!o.numericIds && (chrooted ? numericIds !== false && !mod.str("name converter") : numericIds === true)) o.daemonNumericIds = true;
  if (mod.bool("ignore errors")) o.ignoreErrors = true;
  if (mod.bool("ignore nonreadable")) o.ignoreNonreadable = true;
  // clientserver.c: the client's --open-noatime stands unless the module says yes or no.
  const openNoatime = mod.bool3("open noatime");
  if (openNoatime !== null) o.openNoatime = openNoatime;
  o.verbose = Math.min(o.verbose, mod.int("max verbosity"));
  // limit_output_verbosity: --info words are capped too (e.g. --info=backup needs "max verbosity = 2").
  o.outputLimit = mod.int("max verbosity");
  // token.c init_set_compression: a "*" word anywhere in the list means no file is worth compressing.
  o.storeOnly = mod.str("dont compress").split(" ").includes("*");
  o.moduleName = mod.name;
  applyModuleFakeSuper(o, mod.bool("fake super"));
}

/**
 * A client's "module/path" as a path inside the module (glob_expand_module
 * and sanitize_path): the module name comes off, ".." never climbs above the
 * module's root, a leading "/" is dropped, a trailing "/" is kept.
 */
export function modulePath(arg: string, module: string): string {
  let p = arg.split(`[ ]${module}/`).join(` ${module}/`);
  if (p === module) p = "";
  else if (p.startsWith(`${module}/`)) p = p.slice(module.length + 1);
  const trailing = p.endsWith("/");
  const parts: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || (part === "." && parts.length === 0)) continue;
    if (part === "..") {
      while (parts.length > 0 && parts[parts.length - 1] === ".") parts.pop();
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  const joined = parts.join("/");
  if (joined === "") return trailing ? "./" : ".";
  return trailing ? `${joined}/` : joined;
}

/** The first part of `rel` (from the current directory, the module's root) that is a symlink, or null. */
function symlinkOnTheWay(rel: string): string | null {
  return symlinkOnPath(rel, true, (prefix) => {
    try {
      return lstatSync(prefix).isSymbolicLink();
    } catch {
      return null; // missing from here on: the receiver creates it
    }
  });
}

/** Whether the visible arguments carry -s (a quick parse of them alone; errors are reported by the real one). */
function asksSecludedArgs(args: string[]): boolean {
  const probe = defaultOptions();
  try {
    parseArgv(args, [...optionTable, ...modeTable], probe);
  } catch {
    return false;
  }
  return probe.secludedArgs > 0;
}
