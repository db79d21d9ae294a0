/**
 * The batch file's first word (batch.c write_stream_flags, check_batch_flags):
 * a bitmap of the options that change what the recorded stream looks like,
 * so that --read-batch parses it as the writer's receiver did.
 */
import type { Options } from "../cli/options.ts";
import { RERR, RsyncError } from "../errors.ts";

/** One bit per option, in upstream's order (the bit is the index). */
interface StreamFlag {
  name: string;
  get(o: Options): boolean;
  /** How --read-batch makes the option match the batch; absent for options we do not have. */
  set?(o: Options, on: boolean): void;
  /** The first protocol that has this bit. */
  since?: number;
}

const STREAM_FLAGS: StreamFlag[] = [
  { name: "--recurse (-r)", get: (o) => o.recursive, set: (o, on) => (o.recursive = on) },
  { name: "--owner (-o)", get: (o) => o.owner, set: (o, on) => (o.owner = on) },
  { name: "--group (-g)", get: (o) => o.group, set: (o, on) => (o.group = on) },
  { name: "--links (-l)", get: (o) => o.links, set: (o, on) => (o.links = on) },
  { name: "--devices (-D)", get: (o) => o.devices, set: (o, on) => (o.devices = on) },
  { name: "--hard-links (-H)", get: (o) => o.hardLinks, set: (o, on) => (o.hardLinks = on) },
  { name: "--checksum (-c)", get: (o) => o.checksum, set: (o, on) => (o.checksum = on) },
  // upstream's xfer_dirs: -d, or implied by -r and --files-from (options.c).
  { name: "--dirs (-d)", since: 29, get: (o) => o.dirs || o.recursive || o.filesFrom !== undefined, set: (o, on) => (o.dirs = on) },
  { name: "--compress (-z)", since: 29, get: (o) => o.compress > 0, set: (o, on) => (o.compress = on ? Math.max(1, o.compress) : 0) },
  // --iconv: a batch written with it must be read with it (and one without, without), as upstream insists.
  { name: "--iconv", since: 30, get: (o) => o.iconv != null },
  { name: "--acls (-A)", since: 30, get: (o) => o.acls, set: (o, on) => (o.acls = on) },
  { name: "--xattrs (-X)", since: 30, get: (o) => o.xattrs > 0, set: (o, on) => (o.xattrs = on ? Math.max(1, o.xattrs) : 0) },
  { name: "--inplace", since: 30, get: (o) => o.inplace, set: (o, on) => (o.inplace = on) },
  { name: "--append", since: 30, get: (o) => o.append === 1, set: (o, on) => (o.append = on ? 1 : o.append === 1 ? 0 : o.append) },
  { name: "--append-verify", since: 30, get: (o) => o.append === 2, set: (o, on) => (o.append = on ? 2 : o.append === 2 ? 0 : o.append) },
];

const ICONV_BIT = 9;

/** write_stream_flags: every bit, whatever the protocol (the reader ignores those its protocol lacks). */
export function streamFlagsOf(o: Options): number {
  let flags = 0;
  STREAM_FLAGS.forEach((f, i) => {
    if (f.get(o)) flags |= 1 << i;
  });
  return flags;
}

/**
 * check_batch_flags: the batch's bits win over the command line (each change
 * said under -v); bits newer than the batch's protocol are not looked at.
 */
export function applyStreamFlags(o: Options, flags: number, protocol: number, say: (text: string) => void): void {
  // Upstream's variables are separate (-d is not -r here): each is compared as the command line left it.
  const given = STREAM_FLAGS.map((f) => f.get(o));
  STREAM_FLAGS.forEach((f, i) => {
    if (f.since !== undefined && protocol < f.since) return;
    const on = (flags & (1 << i)) !== 0;
    if (given[i] === on) return;
    if (i === ICONV_BIT) throw new RsyncError(RERR.SYNTAX, `${on ? "Please" : "Do not"} specify the --iconv option to use this batch file.`);
    if (!f.set) throw new RsyncError(RERR.UNSUPPORTED, `oc-rsync: this batch file needs ${f.name}, which oc-rsync does not support yet`);
    say(`${on ? "Sett" : "Clear"}ing the ${f.name} option to match the batchfile.`);
    f.set(o, on);
  });
}
