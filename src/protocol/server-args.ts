/**
 * The argument vector the client sends to the server (options.c
 * server_options): "--server", "--sender" for a pull, one cluster of short
 * option letters ending with the "-e." capability block, then long options.
 * The same vector goes on a remote-shell command line or to a daemon.
 */
import type { Options } from "../cli/options.ts";
import { DEFAULT_BACKUP_SUFFIX, backupImpliesOmitDirTimes } from "../cli/backup-options.ts";
import { formatHas, outputConfig, serverInfoArg } from "../cli/output-config.ts";
import { compressRequest, compressServerArgs } from "../compress/choice.ts";

export interface ServerArgsContext {
  /** True when the client is the sender (push). */
  amSender: boolean;
  /** The protocol we will offer (ours, or --protocol). */
  protocol: number;
  /** 0 = no listing, 1 = implied by a lone remote source, 2 = --list-only given. */
  listOnly: number;
}

/** Whether incremental recursion may be used (compat.c set_allow_inc_recurse, client side). */
export function allowIncRecurse(o: Options, amSender: boolean): boolean {
  if (!o.recursive || o.incRecursive === false) return false;
  if (!amSender && (o.deleteMode === "before" || o.deleteMode === "after")) return false;
  // A receiver that prunes empty directories needs the whole list first (compat.c set_allow_inc_recurse).
  if (!amSender && o.pruneEmptyDirs) return false;
  // So does one that puts every file in place at the end (--delay-updates).
  if (!amSender && o.delayUpdates) return false;
  return true;
}

/** The "-e." block: our capabilities (options.c maybe_add_e_option). */
function capabilityLetters(incRecurse: boolean): string {
  return `e.${incRecurse ? "i" : ""}LsfxCIvu`;
}

const ARG_SPECIALS = "*?[]!#$&;|<>(){}\"'` \t\n\r\\";

/**
 * "--opt=value" with the value's shell and wildcard characters backslashed
 * (options.c safe_arg): a remote shell removes the backslashes, and so does a
 * daemon reading the options (io.c read_args).
 */
export function safeOptionArg(opt: string, value: string): string {
  let out = `${opt}=`;
  for (const c of value) out += ARG_SPECIALS.includes(c) ? `\\${c}` : c;
  return out;
}

/**
 * How option values are written (safe_arg): escaped, except when the
 * arguments travel over the connection (-s) or --old-args was given twice;
 * -M options are left alone by a single --old-args too.
 */
function valueWriters(o: Options) {
  const escape = o.secludedArgs <= 0 && o.oldArgs < 2;
  const escapeRemote = escape && o.oldArgs <= 0;
  return {
    /** "--opt=value". */
    joined: (opt: string, value: string) => (escape ? safeOptionArg(opt, value) : `${opt}=${value}`),
    /** The value of a split option ("--backup-dir", "DIR"). */
    split: (value: string) => (escape ? safeOptionArg("", value).slice(1) : value),
    /** A -M option, whole. */
    remote: (arg: string) => (escapeRemote ? safeOptionArg("", arg).slice(1) : arg),
  };
}

export function serverArgs(o: Options, ctx: ServerArgsContext): string[] {
  const args = ["--server"];
  if (!ctx.amSender) args.push("--sender");

  const compress = compressServerArgs(compressRequest(o), ctx.amSender, o.skipCompress);
  const value = valueWriters(o);
  let s = "-";
  // -s: what follows the cluster goes over the connection (see secluded-args.ts).
  if (o.secludedArgs > 0) s += "s";
  s += "v".repeat(Math.min(o.verbose, 9));
  if (o.quiet && o.msgs2stderr) s += "q";
  if (o.backup) s += "b";
  if (o.update) s += "u";
  // --only-write-batch's dry run still has files sent (upstream's do_xfers): no -n for it.
  if (o.dryRun && !(o.writeBatch < 0)) s += "n";
  if (o.links) s += "l";
  const deleting = o.deleteMode !== "none";
  if (o.dirs || (!o.recursive && (ctx.listOnly > 0 || (deleting && ctx.amSender)))) s += "d";
  if (ctx.amSender) {
    if (o.keepDirlinks) s += "K";
    if (o.pruneEmptyDirs) s += "m";
    if (o.omitDirTimes && !backupImpliesOmitDirTimes(o)) s += "O";
    if (o.omitLinkTimes) s += "J";
    // options.c: -yy means "the destination and every basis dir", so without basis dirs it is one -y.
    s += "y".repeat(Math.min(o.fuzzy > 1 ? o.basisDirs.length + 1 : o.fuzzy, 2));
  } else {
    if (o.copyLinks) s += "L";
    if (o.copyDirlinks) s += "k";
  }
  if (o.wholeFile === true) s += "W";
  if (o.hardLinks) s += "H";
  if (o.owner) s += "o";
  if (o.group) s += "g";
  if (o.devices) s += "D";
  if (o.times) s += "t";
  s += "U".repeat(Math.min(o.atimes, 2));
  if (o.perms) s += "p";
  else if (o.executability && ctx.amSender) s += "E";
  if (o.acls) s += "A";
  s += "X".repeat(Math.min(o.xattrs, 2));
  if (o.recursive) s += "r";
  if (o.checksum) s += "c";
  if (o.cvsExclude) s += "C";
  if (o.ignoreTimes) s += "I";
  if (o.relative) s += "R";
  s += "x".repeat(Math.min(o.oneFileSystem, 2));
  if (o.sparse) s += "S";
  if (compress.letter) s += "z";
  if (ctx.protocol >= 30) s += capabilityLetters(allowIncRecurse(o, ctx.amSender));
  if (s.length > 1) args.push(s);
  // The server converts with the REMOTE part; it travels with the cluster, outside -s's secluded part.
  if (o.iconv != null) args.push(safeOptionArg("--iconv", o.iconv.slice(o.iconv.indexOf(",") + 1)));

  if (ctx.listOnly > 1) args.push("--list-only");
  args.push(...compress.level);
  if (o.devices ? !o.specials : o.specials) args.push(o.devices ? "--no-specials" : "--specials");
  // A receiving server does not print, but what it reports depends on whether we itemize.
  if (ctx.amSender) {
    const out = outputConfig(o);
    if (out.stdoutFormat !== null) {
      if (out.formatHasI > 1) args.push("--log-format=%i%I");
      else if (out.formatHasI) args.push("--log-format=%i");
      else if (formatHas(out.stdoutFormat, "o")) args.push("--log-format=%o");
      else if (!o.verbose) args.push("--log-format=X");
    }
  }
  if (o.msgs2stderr === 1) args.push("--msgs2stderr");
  else if (o.msgs2stderr === 0) args.push("--no-msgs2stderr");
  if (o.blockSize) args.push(`-B${o.blockSize}`);
  if (o.timeout) args.push(`--timeout=${o.timeout}`);
  if (o.bwlimit) args.push(`--bwlimit=${o.bwlimit}`);
  if (o.backupDir !== undefined) args.push("--backup-dir", value.split(o.backupDir));
  // Only a suffix other than the default is sent.
  const suffix = o.backupSuffix ?? (o.backupDir !== undefined ? "" : DEFAULT_BACKUP_SUFFIX);
  if (suffix !== (o.backupDir !== undefined ? "" : DEFAULT_BACKUP_SUFFIX)) args.push(value.joined("--suffix", suffix));
  if (o.checksumChoice) args.push(`--checksum-choice=${o.checksumChoice}`);
  args.push(...compress.choice);

  if (ctx.amSender) {
    if (o.maxDelete > 0) args.push(`--max-delete=${o.maxDelete}`);
    else if (o.maxDelete === 0) args.push("--max-delete=-1");
    if (o.minSize >= 0) args.push(`--min-size=${o.minSize}`);
    if (o.maxSize >= 0) args.push(`--max-size=${o.maxSize}`);
    const mode = o.deleteMode;
    if (mode === "before") args.push("--delete-before");
    else if (mode === "delay") args.push("--delete-delay");
    else if (mode === "during") args.push("--delete-during");
    else if (mode === "after") args.push("--delete-after");
    else if (mode === "default" && !o.deleteExcluded) args.push("--delete");
    if (o.deleteExcluded) args.push("--delete-excluded");
    if (o.force) args.push("--force");
    // The receiving server then changes nothing, and gets no file data (the batch has it).
    if (o.writeBatch < 0) args.push("--only-write-batch=X");
    if ((o.superUser ?? 0) > 1) args.push("--super");
    if (o.sizeOnly) args.push("--size-only");
    if (o.stats) args.push("--stats");
    if (o.modifyWindow) args.push(o.modifyWindow < 0 ? `-@${o.modifyWindow}` : `--modify-window=${o.modifyWindow}`);
    if (o.partialDir !== undefined) args.push("--partial-dir", value.split(o.partialDir));
    // --delay-updates brings its own partial dir (and partial files), so no --partial is said with it.
    if (o.delayUpdates) args.push("--delay-updates");
    else if (o.partialDir === undefined && o.partial) args.push("--partial");
  }
  if (o.checksumSeed) args.push(`--checksum-seed=${o.checksumSeed}`);
  if (o.ignoreErrors) args.push("--ignore-errors");
  if (o.copyUnsafeLinks) args.push("--copy-unsafe-links");
  if (o.safeLinks) args.push("--safe-links");
  if (o.numericIds) args.push("--numeric-ids");
  if (ctx.amSender) {
    // The receiver applies the maps (uidlist.c), so only a receiving server needs them.
    if (o.usermap !== undefined) args.push(value.joined("--usermap", o.usermap));
    if (o.groupmap !== undefined) args.push(value.joined("--groupmap", o.groupmap));
    if (o.ignoreExisting) args.push("--ignore-existing");
    if (o.existing) args.push("--existing");
    if (o.tempDir !== undefined) args.push("--temp-dir", value.split(o.tempDir));
    if (o.fsync) args.push("--fsync");
    // Only a receiving server needs the basis directories (an old one may not know them).
    for (const dir of o.basisDirs) args.push(`--${o.altDestType}-dest`, value.split(dir));
  }
  // The --info words that matter to the server's side (make_output_option).
  const infoArg = serverInfoArg(o, ctx.amSender);
  if (infoArg) args.push(infoArg);
  if (compress.skip.length) args.push(value.joined("--skip-compress", o.skipCompress!));
  if (o.mkpath && ctx.amSender) args.push("--mkpath");
  if (o.maxAlloc !== undefined) args.push(`--max-alloc=${o.maxAlloc}`);
  // --delete-missing-args needs both sides; a pushing client's own sender handles --ignore-missing-args, a pulling one tells the sending server.
  if (o.deleteMissingArgs) args.push("--delete-missing-args");
  else if (o.ignoreMissingArgs && !ctx.amSender) args.push("--ignore-missing-args");
  // A list on the remote side is the server's to read (and, receiving, to forward to us); a pulling client forwards its
  // own over the connection (a pushing one reads it itself).
  if (o.filesFrom !== undefined && (o.filesFromHost !== undefined || !ctx.amSender)) {
    if (o.filesFromHost === undefined) args.push("--files-from=-", "--from0");
    else {
      args.push("--files-from", value.split(o.filesFrom));
      if (o.from0) args.push("--from0");
    }
    if (!o.relative) args.push("--no-relative");
  }
  if (o.relative && !o.impliedDirs) args.push("--no-implied-dirs");
  if (o.append) {
    if (o.append > 1) args.push("--append");
    args.push("--append");
  } else if (o.inplace) {
    args.push("--inplace");
    // Upstream's workaround for older receivers that mishandled --inplace --sparse.
    if (o.sparse && o.wholeFile === false && ctx.amSender) args.push("--no-W");
  }
  // Each goes to the side that acts on it: the receiver writes devices, the sender reads them.
  if (o.writeDevices && ctx.amSender) args.push("--write-devices");
  if (o.removeSourceFiles === 1) args.push("--remove-source-files");
  else if (o.removeSourceFiles) args.push("--remove-sent-files");
  if (o.copyDevices && !ctx.amSender) args.push("--copy-devices");
  if (o.preallocate && ctx.amSender) args.push("--preallocate");
  // -UU says it already.
  if (o.openNoatime && o.atimes <= 1) args.push("--open-noatime");
  args.push(...o.remoteOptions.map(value.remote));
  return args;
}
