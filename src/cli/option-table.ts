/**
 * The options oc-rsync supports, in upstream's --help order. An option that
 * is not here is refused with upstream's "unknown option" wording; the README
 * lists which of upstream's are still missing.
 */
import { RERR, RsyncError, usageError } from "../errors.ts";
import { helpText } from "./help.ts";
import { switchToDaemonMode } from "./daemon-mode.ts";
import { intValue, type OptionSpec } from "./option-spec.ts";
import { parseSizeArg } from "./size-arg.ts";
import { checkOutputWords } from "./output-help.ts";
import { stopAfter, stopAt } from "./stop-time.ts";
import { addChmod, setChown, setGroupmap, setUsermap } from "./owner-args.ts";
import type { Options } from "./options.ts";

const flag = (
  long: string[],
  short: string | undefined,
  help: string | undefined,
  set: (o: Options) => void,
  unset?: (o: Options) => void,
): OptionSpec => ({ long, short, help, set, unset });

const valued = (
  long: string[],
  short: string | undefined,
  arg: string,
  help: string | undefined,
  set: (o: Options, v: string) => void,
): OptionSpec => ({ long, short, arg, help, set });

export const optionTable: OptionSpec[] = [
  flag(["verbose"], "v", "increase verbosity", (o) => o.verbose++, (o) => (o.verbose = 0)),
  valued(["info"], undefined, "FLAGS", "fine-grained informational verbosity", (o, v) => {
    if (checkOutputWords("info", v)) o.showOutputHelp ??= "info";
    o.info.push(v);
  }),
  valued(["debug"], undefined, "FLAGS", "fine-grained debug verbosity", (o, v) => {
    if (checkOutputWords("debug", v)) o.showOutputHelp ??= "debug";
    o.debug.push(v);
    o.debugBeforeFilters.push(o.filters.length);
  }),
  valued(["stderr"], undefined, "e|a|c", "change stderr output mode (default: errors)", (o, v) => (o.msgs2stderr = stderrMode(v))),
  { long: ["msgs2stderr"], set: (o) => (o.msgs2stderr = 1), unset: (o) => (o.msgs2stderr = 0) },
  flag(["quiet"], "q", "suppress non-error messages", (o) => o.quiet++, (o) => (o.quiet = 0)),
  flag(["no-motd"], undefined, "suppress daemon-mode MOTD", (o) => (o.noMotd = true)),
  flag(["checksum"], "c", "skip based on checksum, not mod-time & size", (o) => (o.checksum = true), (o) => (o.checksum = false)),
  flag(["archive"], "a", "archive mode is -rlptgoD (no -A,-X,-U,-N,-H)", (o) => {
    // -a's -r gives way to --files-from; an explicit -r does not (options.c recurse == 1 vs 2).
    if (!o.recursive) o.recursiveFromArchive = true;
    o.recursive = o.links = o.perms = o.times = o.group = o.owner = o.devices = o.specials = true;
  }),
  // Only a line of help: --no-NAME itself is handled by the parser for every option that can be undone.
  { long: [], display: "--no-OPTION", help: "turn off an implied OPTION (e.g. --no-D)", set: () => {} },
  flag(["recursive"], "r", "recurse into directories", (o) => ((o.recursive = true), (o.recursiveFromArchive = false)), (o) => (o.recursive = false)),
  { ...flag(["inc-recursive", "i-r"], undefined, "enable incremental recursion", (o) => (o.incRecursive = true), (o) => (o.incRecursive = false)), display: "--inc-recursive, --i-r" },
  flag(["no-inc-recursive"], undefined, "disable incremental recursion", (o) => (o.incRecursive = false)),
  flag(["no-i-r"], undefined, "same as --no-inc-recursive", (o) => (o.incRecursive = false)),
  flag(["relative"], "R", "use relative path names", (o) => (o.relative = true), (o) => ((o.relative = false), (o.noRelative = true))),
  { long: ["no-implied-dirs"], help: "don't send implied directories with --relative", set: (o) => (o.impliedDirs = false) },
  { long: ["implied-dirs"], set: (o) => (o.impliedDirs = true), unset: (o) => (o.impliedDirs = false) },
  flag(["backup"], "b", "make backups (see --suffix & --backup-dir)", (o) => (o.backup = true), (o) => (o.backup = false)),
  valued(["backup-dir"], undefined, "DIR", "make backups into hierarchy based in DIR", (o, v) => (o.backupDir = v)),
  valued(["suffix"], undefined, "SUFFIX", "backup suffix (default ~ w/o --backup-dir)", (o, v) => (o.backupSuffix = v)),
  flag(["update"], "u", "skip files that are newer on the receiver", (o) => (o.update = true), (o) => (o.update = false)),
  flag(["inplace"], undefined, "update destination files in-place", (o) => (o.inplace = true), (o) => (o.inplace = false)),
  // A server counts them: a client says --append-verify as "--append --append" (options.c OPT_APPEND).
  flag(["append"], undefined, "append data onto shorter files", (o) => (o.append = o.server ? Math.min(o.append + 1, 2) : 1), (o) => (o.append = 0)),
  flag(["append-verify"], undefined, "--append w/old data in file checksum", (o) => (o.append = 2)),
  flag(["dirs"], "d", "transfer directories without recursing", (o) => (o.dirs = true), (o) => ((o.dirs = false), (o.noDirs = true))),
  flag(["old-dirs"], undefined, "works like --dirs when talking to old rsync", (o) => (o.oldDirs = true)),
  flag(["old-d"], undefined, "same as --old-dirs", (o) => (o.oldDirs = true)),
  flag(["mkpath"], undefined, "create destination's missing path components", (o) => (o.mkpath = true), (o) => (o.mkpath = false)),
  flag(["links"], "l", "copy symlinks as symlinks", (o) => (o.links = true), (o) => (o.links = false)),
  flag(["copy-links"], "L", "transform symlink into referent file/directory", (o) => (o.copyLinks = true), (o) => (o.copyLinks = false)),
  flag(["copy-unsafe-links"], undefined, "only \"unsafe\" symlinks are transformed", (o) => (o.copyUnsafeLinks = true), (o) => (o.copyUnsafeLinks = false)),
  flag(["safe-links"], undefined, "ignore symlinks that point outside the tree", (o) => (o.safeLinks = true), (o) => (o.safeLinks = false)),
  flag(["insecure-links"], undefined, "follow attacker-owned symlinks in operator paths", (o) => (o.insecureLinks = true), (o) => (o.insecureLinks = false)),
  valued(["confine-root"], undefined, "DIR", "refuse operator paths resolving outside DIR", (o, v) => (o.confineRoot = v)),
  flag(["munge-links"], undefined, "munge symlinks to make them safe & unusable", (o) => (o.mungeSymlinks = true), (o) => (o.mungeSymlinks = false)),
  flag(["copy-dirlinks"], "k", "transform symlink to directory into referent directory", (o) => (o.copyDirlinks = true), (o) => (o.copyDirlinks = false)),
  flag(["keep-dirlinks"], "K", "treat symlinked directory on receiver as directory", (o) => (o.keepDirlinks = true), (o) => (o.keepDirlinks = false)),
  flag(["hard-links"], "H", "preserve hard links", (o) => (o.hardLinks = true), (o) => (o.hardLinks = false)),
  flag(["perms"], "p", "preserve permissions", (o) => (o.perms = true), (o) => (o.perms = false)),
  flag(["executability"], "E", "preserve executability", (o) => (o.executability = true), (o) => (o.executability = false)),
  valued(["chmod"], undefined, "CHMOD", "affect file and/or directory permissions", addChmod),
  flag(["acls"], "A", "preserve ACLs (implies --perms)", (o) => ((o.acls = true), (o.perms = true)), (o) => (o.acls = false)),
  flag(["xattrs"], "X", "preserve extended attributes", (o) => o.xattrs++, (o) => (o.xattrs = 0)),
  flag(["owner"], "o", "preserve owner (super-user only)", (o) => (o.owner = true), (o) => (o.owner = false)),
  flag(["group"], "g", "preserve group", (o) => (o.group = true), (o) => (o.group = false)),
  flag(["devices"], undefined, "preserve device files (super-user only)", (o) => (o.devices = true), (o) => (o.devices = false)),
  // --copy-devices has no --no- form in upstream (POPT_ARG_NONE); --write-devices has one.
  flag(["copy-devices"], undefined, "copy device contents as a regular file", (o) => (o.copyDevices = true)),
  flag(["write-devices"], undefined, "write to devices as files (implies --inplace)", (o) => (o.writeDevices = true), (o) => (o.writeDevices = false)),
  flag(["specials"], undefined, "preserve special files", (o) => (o.specials = true), (o) => (o.specials = false)),
  flag(["drop-D"], undefined, "receiver refuses to create devices/specials", (o) => (o.dropDevices = true), (o) => (o.dropDevices = false)),
  { long: [], short: "D", help: "same as --devices --specials", set: (o) => (o.devices = o.specials = true), unset: (o) => (o.devices = o.specials = false) },
  flag(["times"], "t", "preserve modification times", (o) => (o.times = true), (o) => (o.times = false)),
  // options.c: a second -U also opens files with O_NOATIME.
  flag(["atimes"], "U", "preserve access (use) times", (o) => {
    if (++o.atimes > 1) o.openNoatime = true;
  }, (o) => (o.atimes = 0)),
  flag(["open-noatime"], undefined, "avoid changing the atime on opened files", (o) => (o.openNoatime = true), (o) => (o.openNoatime = false)),
  // Linux keeps no creation times that can be set: upstream built here refuses the option the same way.
  flag(["crtimes"], "N", "preserve create times (newness)", () => {
    throw usageError("rsync: This rsync does not support --crtimes (-N)");
  }),
  flag(["omit-dir-times"], "O", "omit directories from --times", (o) => (o.omitDirTimes = true), (o) => (o.omitDirTimes = false)),
  flag(["omit-link-times"], "J", "omit symlinks from --times", (o) => (o.omitLinkTimes = true), (o) => (o.omitLinkTimes = false)),
  flag(["super"], undefined, "receiver attempts super-user activities", (o) => (o.superUser = 2), (o) => (o.superUser = 0)),
  flag(["fake-super"], undefined, "store/recover privileged attrs using xattrs", (o) => (o.superUser = -1)),
  flag(["sparse"], "S", "turn sequences of nulls into sparse blocks", (o) => (o.sparse = true), (o) => (o.sparse = false)),
  flag(["preallocate"], undefined, "allocate dest files before writing them", (o) => (o.preallocate = true)),
  flag(["dry-run"], "n", "perform a trial run with no changes made", (o) => (o.dryRun = true), (o) => (o.dryRun = false)),
  flag(["whole-file"], "W", "copy files whole (w/o delta-xfer algorithm)", (o) => (o.wholeFile = true), (o) => (o.wholeFile = false)),
  { ...flag(["no-whole-file", "no-W"], undefined, "use the delta-xfer algorithm", (o) => (o.wholeFile = false)), display: "--no-whole-file, --no-W" },
  // options.c: "auto" (or "auto,auto") is no choice: the names are negotiated, and the server hears of none.
  valued(["checksum-choice", "cc"], undefined, "STR", "choose the checksum algorithm (aka --cc)", (o, v) => (o.checksumChoice = /^auto(,auto)?$/i.test(v) ? undefined : v)),
  flag(["one-file-system"], "x", "don't cross filesystem boundaries", (o) => o.oneFileSystem++, (o) => (o.oneFileSystem = 0)),
  valued(["block-size"], "B", "SIZE", "force a fixed checksum block-size", (o, v) => (o.blockSize = blockSize(v))),
  valued(["rsh"], "e", "COMMAND", "specify the remote shell to use", (o, v) => (o.rsh = v)),
  valued(["rsync-path"], undefined, "PROGRAM", "specify the rsync to run on remote machine", (o, v) => (o.rsyncPath = v)),
  flag(["existing"], undefined, "skip creating new files on receiver", (o) => (o.existing = true), (o) => (o.existing = false)),
  flag(["ignore-non-existing"], undefined, "skip creating new files on receiver", (o) => (o.existing = true), (o) => (o.existing = false)),
  flag(["ignore-existing"], undefined, "skip updating files that exist on receiver", (o) => (o.ignoreExisting = true), (o) => (o.ignoreExisting = false)),
  flag(["remove-source-files"], undefined, "sender removes synchronized files (non-directory)", (o) => (o.removeSourceFiles = 1)),
  // Upstream's deprecated spelling: it also removes what the old option did (created symlinks, not up-to-date files).
  flag(["remove-sent-files"], undefined, undefined, (o) => (o.removeSourceFiles = 2)),
  flag(["del"], undefined, "an alias for --delete-during", (o) => (o.deleteMode = "during")),
  flag(["delete"], undefined, "delete extraneous files from dest directories", (o) => {
    if (o.deleteMode === "none") o.deleteMode = "default";
  }, (o) => (o.deleteMode = "none")),
  flag(["delete-before"], undefined, "receiver deletes before xfer, not during", (o) => (o.deleteMode = "before")),
  flag(["delete-during"], undefined, "receiver deletes during the transfer", (o) => (o.deleteMode = "during")),
  flag(["delete-delay"], undefined, "find deletions during, delete after", (o) => (o.deleteMode = "delay")),
  flag(["delete-after"], undefined, "receiver deletes after transfer, not during", (o) => (o.deleteMode = "after")),
  flag(["delete-excluded"], undefined, "also delete excluded files from dest directories", (o) => {
    // It implies --delete (options.c: delete_mode when only --delete-excluded was given).
    o.deleteExcluded = true;
    if (o.deleteMode === "none") o.deleteMode = "default";
  }, (o) => (o.deleteExcluded = false)),
  flag(["ignore-missing-args"], undefined, "ignore missing source arguments without error", (o) => (o.ignoreMissingArgs = true), (o) => (o.ignoreMissingArgs = false)),
  flag(["delete-missing-args"], undefined, "delete missing source arguments from destination", (o) => (o.deleteMissingArgs = true)),
  flag(["ignore-errors"], undefined, "delete even if there are I/O errors", (o) => (o.ignoreErrors = true), (o) => (o.ignoreErrors = false)),
  flag(["force"], undefined, "force deletion of directories even if not empty", (o) => (o.force = true), (o) => (o.force = false)),
  valued(["max-delete"], undefined, "NUM", "don't delete more than NUM files", (o, v) => (o.maxDelete = Math.max(0, intValue("--max-delete", v)))), // options.c: a negative NUM means no deletions (how a client forwards 0)
  valued(["max-size"], undefined, "SIZE", "don't transfer any file larger than SIZE", (o, v) => (o.maxSize = parseSizeArg(v, "b", "max-size", 0, -1, false))),
  valued(["min-size"], undefined, "SIZE", "don't transfer any file smaller than SIZE", (o, v) => (o.minSize = parseSizeArg(v, "b", "min-size", 0, -1, false))),
  valued(["max-alloc"], undefined, "SIZE", "change a limit relating to memory alloc", (o, v) => (o.maxAlloc = maxAlloc(v))),
  flag(["partial"], undefined, "keep partially transferred files", (o) => (o.partial = true), (o) => (o.partial = false)),
  valued(["partial-dir"], undefined, "DIR", "put a partially transferred file into DIR", (o, v) => {
    o.partialDir = v;
    o.partial = true;
  }),
  flag(["delay-updates"], undefined, "put all updated files into place at end", (o) => (o.delayUpdates = true), (o) => (o.delayUpdates = false)),
  flag(["prune-empty-dirs"], "m", "prune empty directory chains from file-list", (o) => (o.pruneEmptyDirs = true), (o) => (o.pruneEmptyDirs = false)),
  flag(["numeric-ids"], undefined, "don't map uid/gid values by user/group name", (o) => (o.numericIds = true), (o) => (o.numericIds = false)),
  valued(["usermap"], undefined, "STRING", "custom username mapping", setUsermap),
  valued(["groupmap"], undefined, "STRING", "custom groupname mapping", setGroupmap),
  valued(["chown"], undefined, "USER:GROUP", "simple username/groupname mapping", setChown),
  valued(["timeout"], undefined, "SECONDS", "set I/O timeout in seconds", (o, v) => (o.timeout = intValue("--timeout", v))),
  valued(["contimeout"], undefined, "SECONDS", "set daemon connection timeout in seconds", (o, v) => (o.contimeout = intValue("--contimeout", v))),
  flag(["ignore-times"], "I", "don't skip files that match size and time", (o) => (o.ignoreTimes = true), (o) => (o.ignoreTimes = false)),
  flag(["size-only"], undefined, "skip files that match in size", (o) => (o.sizeOnly = true), (o) => (o.sizeOnly = false)),
  valued(["modify-window"], "@", "NUM", "set the accuracy for mod-time comparisons", (o, v) => (o.modifyWindow = intValue("--modify-window", v))),
  valued(["temp-dir"], "T", "DIR", "create temporary files in directory DIR", (o, v) => (o.tempDir = v)),
  flag(["fuzzy"], "y", "find similar file for basis if no dest file", (o) => o.fuzzy++, (o) => (o.fuzzy = 0)),
  valued(["compare-dest"], undefined, "DIR", "also compare destination files relative to DIR", (o, v) => addBasisDir(o, "compare", v)),
  valued(["copy-dest"], undefined, "DIR", "... and include copies of unchanged files", (o, v) => addBasisDir(o, "copy", v)),
  valued(["link-dest"], undefined, "DIR", "hardlink to files in DIR when unchanged", (o, v) => addBasisDir(o, "link", v)),
  flag(["compress"], "z", "compress file data during the transfer", (o) => o.compress++, (o) => {
    o.compress = 0;
    o.compressChoice = undefined;
  }),
  valued(["compress-choice", "zc"], undefined, "STR", "choose the compression algorithm (aka --zc)", (o, v) => (o.compressChoice = v)),
  valued(["compress-level", "zl"], undefined, "NUM", "explicitly set compression level (aka --zl)", (o, v) => (o.compressLevel = intValue("--compress-level", v))),
  valued(["compress-threads", "zt"], undefined, "NUM", "explicitly set compression threads (aka --zt)", (o, v) => (o.compressThreads = intValue("--compress-threads", v))),
  valued(["skip-compress"], undefined, "LIST", "skip compressing files with suffix in LIST", (o, v) => (o.skipCompress = v)),
  flag(["cvs-exclude"], "C", "auto-ignore files in the same way CVS does", (o) => (o.cvsExclude = true), (o) => (o.cvsExclude = false)),
  valued(["filter"], "f", "RULE", "add a file-filtering RULE", (o, v) => o.filters.push({ kind: "filter", value: v })),
  {
    long: [],
    short: "F",
    help: "same as --filter='dir-merge /.rsync-filter'\n                         repeated: --filter='- .rsync-filter'",
    // options.c F_option_cnt: the first -F reads .rsync-filter files, the second also leaves them out.
    set: (o) => {
      o.dashF++;
      if (o.dashF === 1) o.filters.push({ kind: "filter", value: ": /.rsync-filter" });
      else if (o.dashF === 2) o.filters.push({ kind: "filter", value: "- .rsync-filter" });
    },
  },
  valued(["exclude"], undefined, "PATTERN", "exclude files matching PATTERN", (o, v) => o.filters.push({ kind: "exclude", value: v })),
  valued(["exclude-from"], undefined, "FILE", "read exclude patterns from FILE", (o, v) => o.filters.push({ kind: "exclude-from", value: v })),
  valued(["include"], undefined, "PATTERN", "don't exclude files matching PATTERN", (o, v) => o.filters.push({ kind: "include", value: v })),
  valued(["include-from"], undefined, "FILE", "read include patterns from FILE", (o, v) => o.filters.push({ kind: "include-from", value: v })),
  valued(["files-from"], undefined, "FILE", "read list of source-file names from FILE", (o, v) => (o.filesFrom = v)),
  flag(["from0"], "0", "all *-from/filter files are delimited by 0s", (o) => (o.from0 = true), (o) => (o.from0 = false)),
  flag(["old-args"], undefined, "disable the modern argument-protection idiom", (o) => (o.oldArgs = Math.max(o.oldArgs, 0) + 1), (o) => (o.oldArgs = 0)),
  flag(["secluded-args"], "s", "use the protocol to safely send the arguments", (o) => (o.secludedArgs = 1), (o) => (o.secludedArgs = 0)),
  { long: ["protect-args"], set: (o) => (o.secludedArgs = 1), unset: (o) => (o.secludedArgs = 0) },
  // Upstream's client checks the sender's file list whatever this says; so do we.
  flag(["trust-sender"], undefined, "trust the remote sender's file list", () => {}),
  // Upstream's hidden spellings for the two deflate flavours.
  { long: ["old-compress"], set: (o) => (o.compressChoice = "zlib") },
  { long: ["new-compress"], set: (o) => (o.compressChoice = "zlibx") },
  valued(["copy-as"], undefined, "USER[:GROUP]", "specify user & optional group for the copy", (o, v) => (o.copyAs = v)),
  valued(["address"], undefined, "ADDRESS", "bind address for outgoing socket to daemon", (o, v) => (o.address = v)),
  valued(["port"], undefined, "PORT", "specify double-colon alternate port number", (o, v) => (o.port = intValue("--port", v))),
  // Accepted as upstream accepts them; our sockets and pipes need neither.
  valued(["sockopts"], undefined, "OPTIONS", "specify custom TCP options", () => {}),
  flag(["blocking-io"], undefined, "use blocking I/O for the remote shell", () => {}, () => {}),
  valued(["outbuf"], undefined, "N|L|B", "set out buffering to None, Line, or Block", (_o, v) => outbufMode(v)),
  flag(["stats"], undefined, "give some file-transfer stats", (o) => (o.stats = true), (o) => (o.stats = false)),
  flag(["8-bit-output"], "8", "leave high-bit chars unescaped in output", (o) => (o.eightBitOutput = true), (o) => (o.eightBitOutput = false)),
  // -h is --help only when it is the sole argument (main.ts decides); otherwise --human-readable.
  flag(["human-readable"], "h", "output numbers in a human-readable format", (o) => o.humanReadable++, (o) => (o.humanReadable = 0)),
  flag(["progress"], undefined, "show progress during transfer", (o) => (o.progress = true), (o) => (o.progress = false)),
  { long: [], short: "P", help: "same as --partial --progress", set: (o) => (o.partial = o.progress = true) },
  flag(["itemize-changes"], "i", "output a change-summary for all updates", (o) => o.itemizeChanges++, (o) => (o.itemizeChanges = 0)),
  valued(["remote-option"], "M", "OPT", "send OPTION to the remote side only", (o, v) => {
    if (!v.startsWith("-")) throw usageError(`rsync: Remote option must start with a dash: ${v}`);
    o.remoteOptions.push(v);
  }),
  valued(["out-format", "log-format"], undefined, "FORMAT", "output updates using the specified FORMAT", (o, v) => (o.outFormat = v)),
  // One option for the client's log and daemon mode's (which upstream's daemon popt table has too).
  valued(["log-file"], undefined, "FILE", "log what we're doing to the specified FILE", (o, v) => (o.logFile = v)),
  valued(["log-file-format"], undefined, "FMT", "log updates using the specified FMT", (o, v) => (o.logFileFormat = v)),
  valued(["password-file"], undefined, "FILE", "read daemon-access password from FILE", (o, v) => (o.passwordFile = v)),
  valued(["early-input"], undefined, "FILE", "use FILE for daemon's early exec input", (o, v) => (o.earlyInput = v)),
  flag(["list-only"], undefined, "list the files instead of copying them", (o) => (o.listOnly = true)),
  {
    long: ["bwlimit"],
    arg: "RATE",
    help: "limit socket I/O bandwidth",
    set: (o, v) => (o.bwlimit = Math.floor((parseSizeArg(v, "K", "bwlimit", 512, -1, true) + 512) / 1024)),
    unset: (o) => (o.bwlimit = 0),
  },
  valued(["stop-after"], undefined, "MINS", "Stop rsync after MINS minutes have elapsed", (o, v) => (o.stopAt = stopAfter(v, nowSeconds()))),
  { long: ["time-limit"], arg: "MINS", set: (o, v) => (o.stopAt = stopAfter(v, nowSeconds())) },
  valued(["stop-at"], undefined, "y-m-dTh:m", "Stop rsync at the specified point in time", (o, v) => (o.stopAt = stopAt(v, nowSeconds()))),
  flag(["fsync"], undefined, "fsync every written file", (o) => (o.fsync = true)),
  // options.c: the name is kept, and which of the three was given last decides (write_batch 1 or -1, read_batch).
  valued(["write-batch"], undefined, "FILE", "write a batched update to FILE", (o, v) => ((o.batchName = v), (o.writeBatch = 1))),
  valued(["only-write-batch"], undefined, "FILE", "like --write-batch but w/o updating dest", (o, v) => ((o.batchName = v), (o.writeBatch = -1))),
  valued(["read-batch"], undefined, "FILE", "read a batched update from FILE", (o, v) => ((o.batchName = v), (o.readBatch = true))),
  valued(["protocol"], undefined, "NUM", "force an older protocol version to be used", (o, v) => (o.protocol = intValue("--protocol", v))),
  valued(["iconv"], undefined, "CONVERT_SPEC", "request charset conversion of filenames", (o, v) => (o.iconv = v)),
  { long: ["no-iconv"], set: (o) => (o.iconv = null) },
  valued(["checksum-seed"], undefined, "NUM", "set block/file checksum seed (advanced)", (o, v) => (o.checksumSeed = intValue("--checksum-seed", v))),
  flag(["ipv4"], "4", "prefer IPv4", (o) => (o.ipv4 = true)),
  flag(["ipv6"], "6", "prefer IPv6", (o) => (o.ipv6 = true)),
  flag(["version"], "V", "print the version + other info and exit", (o) => (o.showVersion = true)),
  { long: ["help"], display: "--help, -h (*)", help: "show this help (* -h is help only on its own)", set: (o) => (o.showHelp = true) },
];

/** Options that switch oc-rsync into another mode; parsed like the rest. */
export const modeTable: OptionSpec[] = [
  // Daemon mode starts the parse over with its own options (./daemon-mode.ts); so do --config, --dparam,
  // --detach and --no-detach, below.
  flag(["daemon"], undefined, undefined, switchToDaemonMode),
  // A server never inherits a client-side --iconv (options.c OPT_SERVER): only one given after --server counts.
  flag(["server"], undefined, undefined, (o) => ((o.server = true), (o.iconv = null))),
  // options.c: only after --server; before it (or without it) the usage and a syntax error, as upstream's usage(FERROR).
  flag(["sender"], undefined, undefined, (o) => {
    if (!o.server) throw new RsyncError(RERR.SYNTAX, helpText(optionTable).trimEnd());
    o.sender = true;
  }),
  valued(["config"], undefined, "FILE", undefined, switchToDaemonMode),
  valued(["dparam"], undefined, "OVERRIDE", undefined, switchToDaemonMode),
  flag(["no-detach"], undefined, undefined, switchToDaemonMode),
  flag(["detach"], undefined, undefined, switchToDaemonMode),
];

/** MAX_BASIS_DIRS: upstream's limit on --compare-dest/--copy-dest/--link-dest. */
const MAX_BASIS_DIRS = 20;

/** One more --compare-dest/--copy-dest/--link-dest (options.c set_dest_dir): the kinds do not mix. */
function addBasisDir(o: Options, type: "compare" | "copy" | "link", dir: string): void {
  if (o.altDestType && o.altDestType !== type) {
    throw usageError(`rsync: ERROR: the --${type}-dest option conflicts with the --${o.altDestType}-dest option`);
  }
  o.altDestType = type;
  if (o.basisDirs.length >= MAX_BASIS_DIRS) throw usageError(`rsync: ERROR: at most ${MAX_BASIS_DIRS} --${type}-dest args may be specified`);
  o.basisDirs.push(dir);
}

/** --block-size: a size with an optional K/M suffix, at most 128K (upstream's MAX_BLOCK_SIZE). */
function blockSize(value: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(value);
  if (!m) throw usageError(`rsync: --block-size=${value} is invalid`);
  const n = Number.parseInt(m[1]!, 10) * (m[2] === "" ? 1 : /[kK]/.test(m[2]!) ? 1024 : 1 << 20);
  if (n > 1 << 17) throw usageError(`rsync: --block-size=${value} is too large (max: 128.00K)`);
  return n;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** --stderr: any prefix of errors, all or client (options.c OPT_STDERR). */
function stderrMode(v: string): number {
  const modes: [string, number][] = [
    ["errors", 2],
    ["all", 1],
    ["client", 0],
  ];
  const found = v ? modes.find(([name]) => name.startsWith(v)) : undefined;
  if (!found) throw usageError(`rsync: --stderr mode "${v}" is not one of errors, all, or client`);
  return found[1];
}

/** --outbuf: checked as upstream checks it; we already write whole lines (and flush them) ourselves. */
function outbufMode(v: string): void {
  if (!/^[NnLlBb]/.test(v)) throw usageError("rsync: Invalid --outbuf setting -- specify N, L, or B.");
}

/**
 * --max-alloc: a size (default unit bytes, at least 1 MiB, 0 = no limit),
 * kept as given when it is not upstream's default of 1 GiB (only then is it
 * forwarded). Our allocations are bounded by the protocol's own limits.
 */
function maxAlloc(v: string): string | undefined {
  return parseSizeArg(v, "B", "max-alloc", 1024 * 1024, -1, true) === 1 << 30 ? undefined : v;
}
