/**
 * Everything the command line can set, with upstream's defaults. One plain
 * object: the option table (option-table.ts) writes it, everything else
 * reads it.
 */

import type { FilterList } from "../flist/filter.ts";
import type { ChmodRule } from "../roles/chmod.ts";

/** "default" is plain --delete: during for protocol 30+, before for older peers. */
export type DeleteMode = "none" | "default" | "before" | "during" | "delay" | "after";

/** A filter rule as given on the command line, kept in order (filters are order-sensitive). */
export interface FilterArg {
  kind: "exclude" | "include" | "filter" | "exclude-from" | "include-from";
  value: string;
}

export interface Options {
  verbose: number;
  quiet: number;
  /** --info=/--debug= flag words, in order (expanded later). */
  info: string[];
  debug: string[];
  /** How many filter options came before each --debug value (upstream applies --debug as it parses). */
  debugBeforeFilters: number[];
  noMotd: boolean;
  checksum: boolean;
  recursive: boolean;
  /** -r came with -a only (--files-from then turns it off). */
  recursiveFromArchive: boolean;
  /** undefined = upstream's default (on when allowed). */
  incRecursive: boolean | undefined;
  relative: boolean;
  /** --no-relative was given (--files-from implies -R otherwise). */
  noRelative: boolean;
  impliedDirs: boolean;
  dirs: boolean;
  /** --no-dirs was given (--files-from implies -d otherwise). */
  noDirs: boolean;
  links: boolean;
  copyLinks: boolean;
  copyUnsafeLinks: boolean;
  safeLinks: boolean;
  copyDirlinks: boolean;
  keepDirlinks: boolean;
  hardLinks: boolean;
  perms: boolean;
  executability: boolean;
  /** --chmod, every value's rules in order (a daemon module's incoming/outgoing chmod appended: clientserver.c). */
  chmod: ChmodRule[];
  /** Set by a receiving daemon module ("incoming chmod"): applied again when attributes are set (rsync.c set_file_attrs). */
  daemonChmod: ChmodRule[];
  /** -A: POSIX ACLs travel and are applied (it also turns -p on). */
  acls: boolean;
  /** -X once or twice (upstream preserve_xattrs; -XX also copies rsync's own "user.rsync.%" names). */
  xattrs: number;
  /** --super (2), --no-super (0), --fake-super (-1): upstream's am_root when given; undefined = by our uid. */
  superUser: number | undefined;
  owner: boolean;
  group: boolean;
  devices: boolean;
  specials: boolean;
  times: boolean;
  omitDirTimes: boolean;
  omitLinkTimes: boolean;
  /** -U once or twice: access times travel in the file list and are set (-UU also opens with O_NOATIME). */
  atimes: number;
  /** --open-noatime: files are opened with O_NOATIME where the system allows. */
  openNoatime: boolean;
  /** -y once or twice: a missing file's delta basis is a similar file in its directory (twice: also in the basis dirs). */
  fuzzy: number;
  /** --delay-updates: updated files wait in the partial dir and are renamed into place at the end. */
  delayUpdates: boolean;
  /** --fsync: every written file is fsync'ed before it is put in place. */
  fsync: boolean;
  dryRun: boolean;
  /** undefined = default (whole-file for local copies, delta otherwise). */
  wholeFile: boolean | undefined;
  checksumChoice: string | undefined;
  blockSize: number;
  rsh: string | undefined;
  rsyncPath: string;
  existing: boolean;
  ignoreExisting: boolean;
  update: boolean;
  /** -b: replaced and deleted files are kept as backups (--backup-dir implies it). */
  backup: boolean;
  /** --backup-dir: backups go into this tree (relative to the destination unless absolute). */
  backupDir: string | undefined;
  /** --suffix; undefined = upstream's default ("~", or "" with --backup-dir). */
  backupSuffix: string | undefined;
  /** A daemon module's "max verbosity": no --info word above what that many -v turn on (limit_output_verbosity). */
  outputLimit: number | undefined;
  /** --compare-dest / --copy-dest / --link-dest: which kind, and the directories in order (at most 20). */
  altDestType: "compare" | "copy" | "link" | undefined;
  basisDirs: string[];
  inplace: boolean;
  append: number; // 0, 1 = --append, 2 = --append-verify
  deleteMode: DeleteMode;
  deleteExcluded: boolean;
  maxDelete: number; // -1 = unlimited
  ignoreErrors: boolean;
  force: boolean;
  partial: boolean;
  partialDir: string | undefined;
  numericIds: boolean;
  /** --usermap / --groupmap (--chown makes them "*:USER" / "*:GROUP"); the receiver applies them (uidlist.c parse_name_map). */
  usermap: string | undefined;
  groupmap: string | undefined;
  /** Which of the maps came from --chown (options.c usermap_via_chown): the conflict messages differ. */
  usermapViaChown: boolean;
  groupmapViaChown: boolean;
  /** Set by a daemon module's "numeric ids" (upstream's numeric_ids -1): ids go by number, the id lists are still exchanged. */
  daemonNumericIds: boolean;
  timeout: number;
  contimeout: number;
  /** --bwlimit in KiB/s (0 = unlimited). */
  bwlimit: number;
  ignoreTimes: boolean;
  sizeOnly: boolean;
  modifyWindow: number;
  tempDir: string | undefined;
  compress: number; // count of -z
  compressChoice: string | undefined;
  compressLevel: number | undefined;
  /** --compress-threads: accepted; our zstd runs on one thread. */
  compressThreads: number;
  /** --skip-compress: forwarded to a sending server; upstream 3.5 no longer acts on it. */
  skipCompress: string | undefined;
  filters: FilterArg[];
  /** --files-from: the names to send (relative to the one source), from a file or "-" (stdin). */
  filesFrom: string | undefined;
  /** --files-from=[HOST]:PATH: the list is read on the remote side (filesfrom_host: HOST, "" for ":PATH"); filesFrom is PATH. */
  filesFromHost: string | undefined;
  /** --from0: names in --files-from and rule files end with NUL, not newline. */
  from0: boolean;
  /** -x once or twice: the sender stays on the source's filesystems (twice: mount points are left out too). */
  oneFileSystem: number;
  /** --mkpath: the destination's missing parent directories are made. */
  mkpath: boolean;
  /** --ignore-missing-args: a source argument that is not there is no error. */
  ignoreMissingArgs: boolean;
  /** --delete-missing-args: a missing source argument deletes its counterpart on the receiver (sent as a mode-0 entry). */
  deleteMissingArgs: boolean;
  /** --remove-source-files (1) / the deprecated --remove-sent-files (2): the sender removes what the receiver has. */
  removeSourceFiles: number;
  /** -m: the receiver leaves empty directory chains out of the list. */
  pruneEmptyDirs: boolean;
  /** -S: runs of zeros in written files become holes. */
  sparse: boolean;
  /** --preallocate: destination files get their length allocated before writing. */
  preallocate: boolean;
  /** --max-size / --min-size in bytes (-1: none): the generator leaves other files alone. */
  maxSize: number;
  minSize: number;
  /** How many -F were given (the first two each add a rule). */
  dashF: number;
  /** -C: CVS-style ignores, added around the rule exchange (exclude.c send_filter_list / recv_filter_list). */
  cvsExclude: boolean;
  port: number | undefined;
  address: string | undefined;
  stats: boolean;
  /** Upstream's human_readable: 0 (--no-h) plain digits, 1 (default) thousands separators, 2 (-h) units of 1000, 3 (-hh) of 1024. */
  humanReadable: number;
  progress: boolean;
  itemizeChanges: number;
  outFormat: string | undefined;
  passwordFile: string | undefined;
  listOnly: boolean;
  protocol: number | undefined;
  /** --iconv=CONVERT_SPEC ("LOCAL" or "LOCAL,REMOTE"); undefined = not given (then $RSYNC_ICONV), null = --no-iconv. */
  iconv: string | null | undefined;
  checksumSeed: number;
  /** --write-batch/--only-write-batch/--read-batch FILE. */
  batchName: string | undefined;
  /** upstream's write_batch: 1 = --write-batch, -1 = --only-write-batch (nothing changes here), 0 = none. */
  writeBatch: number;
  readBatch: boolean;
  ipv4: boolean;
  ipv6: boolean;
  eightBitOutput: boolean;
  /** Options sent to the remote side only (-M). */
  remoteOptions: string[];
  /** --version given (-V); --help given, or -h as the only argument. */
  showVersion: boolean;
  showHelp: boolean;
  /** Mode switches. */
  daemon: boolean;
  /** --daemon: --config FILE (default /etc/rsyncd.conf). */
  daemonConfig: string | undefined;
  /** --daemon: fork into the background (--no-detach: stay). */
  detach: boolean;
  /** Set by a daemon module ("munge symlinks"): links are stored with a "/rsyncd-munged/" prefix and sent without it. */
  mungeSymlinks: boolean;
  /** Set by a chroot-less daemon module that does not munge: received link targets are kept inside the module. */
  sanitizeLinks: boolean;
  /** Set by a chroot-less daemon module (its name): paths, walks and reads follow only symlinks that stay inside it. */
  confinedModule: string | undefined;
  /** Set by a daemon module's "insecure links = yes": its receiver follows symlinks out of the module (never from a client's --insecure-links, which is refused). */
  moduleInsecureLinks: boolean;
  /** Set by a daemon module ("ignore nonreadable"): files the module's user cannot read are not listed. */
  ignoreNonreadable: boolean;
  /** Set by a daemon module whose "dont compress" lists "*": deflate only stores (token.c per_file_default_level). */
  storeOnly: boolean;
  /** Set by a daemon: the module being served (messages name files "in" it). */
  moduleName: string | undefined;
  /** Set by a daemon module with exclude/include/filter parameters: what they exclude is hidden both ways. */
  moduleFilters: FilterList | null;
  /** --log-file: where a daemon, or the client, logs. */
  logFile: string | undefined;
  /** --log-file-format: the client's item lines in its --log-file. */
  logFileFormat: string | undefined;
  server: boolean;
  sender: boolean;
  config: string | undefined;
  noDetach: boolean;
  dparams: string[];
  /** --info=help / --debug=help: print that table and stop. */
  showOutputHelp: "info" | "debug" | undefined;
  /** --old-dirs: -d as old rsyncs spelled it (-r with a rule excluding below the top level, after the user's rules). */
  oldDirs: boolean;
  /** --stop-after / --stop-at: when the run gives up, in epoch seconds (0 = never). */
  stopAt: number;
  /** --stderr: upstream's msgs2stderr (2 = errors only, the default; 1 = all; 0 = client). */
  msgs2stderr: number;
  /** --max-alloc as given, when it is not the default (then it is forwarded). */
  maxAlloc: string | undefined;
  /** -s/--secluded-args: -1 unset (then $RSYNC_PROTECT_ARGS), 0 off, 1 on. */
  secludedArgs: number;
  /** --old-args: -1 unset (then $RSYNC_OLD_ARGS), 0 off, 1 or more on. */
  oldArgs: number;
  /** --drop-D: this receiver does not create devices or specials (not forwarded). */
  dropDevices: boolean;
  /** --copy-devices: the sender lists a device as a regular file and sends its contents (flist.c make_file). */
  copyDevices: boolean;
  /** --write-devices: the receiver writes into an existing destination device instead of replacing it (implies --inplace). */
  writeDevices: boolean;
  /** --copy-as=USER[:GROUP]: the identity the local side's file work runs under (main.c become_copy_as_user). */
  copyAs: string | undefined;
  /** --insecure-links: local-only opt-out; never forwarded. */
  insecureLinks: boolean;
  /** --confine-root: an absolute directory the operator's paths must stay under. */
  confineRoot: string | undefined;
  /** --early-input: a file whose contents a daemon's early exec reads. */
  earlyInput: string | undefined;
  /** Remaining positional arguments. */
  args: string[];
}

export function defaultOptions(): Options {
  return {
    verbose: 0,
    quiet: 0,
    info: [],
    debug: [],
    debugBeforeFilters: [],
    noMotd: false,
    checksum: false,
    recursive: false,
    incRecursive: undefined,
    relative: false,
    impliedDirs: true,
    recursiveFromArchive: false,
    noRelative: false,
    noDirs: false,
    filesFrom: undefined,
    filesFromHost: undefined,
    from0: false,
    dirs: false,
    links: false,
    copyLinks: false,
    copyUnsafeLinks: false,
    safeLinks: false,
    copyDirlinks: false,
    keepDirlinks: false,
    hardLinks: false,
    xattrs: 0,
    acls: false,
    superUser: undefined,
    perms: false,
    executability: false,
    chmod: [],
    daemonChmod: [],
    owner: false,
    group: false,
    devices: false,
    specials: false,
    times: false,
    omitDirTimes: false,
    omitLinkTimes: false,
    atimes: 0,
    openNoatime: false,
    fuzzy: 0,
    delayUpdates: false,
    fsync: false,
    dryRun: false,
    wholeFile: undefined,
    checksumChoice: undefined,
    blockSize: 0,
    rsh: undefined,
    rsyncPath: "rsync",
    existing: false,
    ignoreExisting: false,
    update: false,
    backup: false,
    backupDir: undefined,
    backupSuffix: undefined,
    outputLimit: undefined,
    altDestType: undefined,
    basisDirs: [],
    inplace: false,
    append: 0,
    deleteMode: "none",
    deleteExcluded: false,
    maxDelete: -1,
    ignoreErrors: false,
    force: false,
    partial: false,
    partialDir: undefined,
    numericIds: false,
    usermap: undefined,
    groupmap: undefined,
    usermapViaChown: false,
    groupmapViaChown: false,
    daemonNumericIds: false,
    timeout: 0,
    contimeout: 0,
    bwlimit: 0,
    ignoreTimes: false,
    sizeOnly: false,
    modifyWindow: 0,
    tempDir: undefined,
    compress: 0,
    compressChoice: undefined,
    compressLevel: undefined,
    compressThreads: 0,
    skipCompress: undefined,
    filters: [],
    dashF: 0,
    maxSize: -1,
    oneFileSystem: 0,
    ignoreMissingArgs: false,
    deleteMissingArgs: false,
    removeSourceFiles: 0,
    pruneEmptyDirs: false,
    sparse: false,
    preallocate: false,
    mkpath: false,
    minSize: -1,
    cvsExclude: false,
    port: undefined,
    address: undefined,
    stats: false,
    humanReadable: 1,
    progress: false,
    itemizeChanges: 0,
    outFormat: undefined,
    passwordFile: undefined,
    listOnly: false,
    protocol: undefined,
    iconv: undefined,
    checksumSeed: 0,
    batchName: undefined,
    writeBatch: 0,
    readBatch: false,
    ipv4: false,
    ipv6: false,
    eightBitOutput: false,
    remoteOptions: [],
    showVersion: false,
    showHelp: false,
    daemon: false,
    daemonConfig: undefined,
    detach: true,
    logFile: undefined,
    logFileFormat: undefined,
    mungeSymlinks: false,
    sanitizeLinks: false,
    confinedModule: undefined,
    storeOnly: false,
    moduleFilters: null,
    moduleName: undefined,
    ignoreNonreadable: false,
    server: false,
    sender: false,
    config: undefined,
    noDetach: false,
    dparams: [],
    showOutputHelp: undefined,
    oldDirs: false,
    stopAt: 0,
    msgs2stderr: 2,
    maxAlloc: undefined,
    secludedArgs: -1,
    oldArgs: -1,
    dropDevices: false,
    copyDevices: false,
    writeDevices: false,
    copyAs: undefined,
    insecureLinks: false,
    moduleInsecureLinks: false,
    confineRoot: undefined,
    earlyInput: undefined,
    args: [],
  };
}
