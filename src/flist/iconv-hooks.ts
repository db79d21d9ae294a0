/** Where --iconv meets a session: the sending side's check of each name before it is listed. */
import type { Options } from "../cli/options.ts";
import { CF, type Session } from "../protocol/setup.ts";
import { convertFailed, nameConverterFor } from "./iconv.ts";

/**
 * send_file_name: a name (or, when the receiver takes converted targets, a
 * symlink's target) that does not convert to UTF-8 is left out of the list.
 */
export function senderNameCheck(o: Options, s: Session) {
  const iconv = nameConverterFor(o.iconv, o.server);
  if (!iconv) return undefined;
  const symlinks = (s.compatFlags & CF.SYMLINK_ICONV) !== 0;
  return (name: Uint8Array, link: Uint8Array | undefined) => {
    const converted = iconv.toWire(name);
    if (convertFailed(converted)) return { what: "filename" as const, error: converted.error };
    if (link && symlinks) {
      const target = iconv.toWire(link);
      if (convertFailed(target)) return { what: "symlink" as const, error: target.error };
    }
    return null;
  };
}

/**
 * A local copy's output: upstream's receiving half (the server, REMOTE
 * charset) sends its lines as UTF-8 and the client shows them in its LOCAL
 * charset (log.c rwrite with ic_recv); what does not convert stays as it is.
 */
export function localCopyNameShown(o: Options): ((name: Uint8Array) => Uint8Array) | null {
  const remote = nameConverterFor(o.iconv, true);
  const local = nameConverterFor(o.iconv, false);
  if (!remote || !local) return null;
  return (name) => {
    const wire = remote.toWire(name);
    if (convertFailed(wire)) return name;
    const shown = local.fromWire(wire);
    return convertFailed(shown) ? name : shown;
  };
}

/**
 * A client's --iconv (options.c): $RSYNC_ICONV stands in when the option is
 * not given (--no-iconv counts as given), "-" means no conversion, and the
 * LOCAL charset must open before anything connects (setup_iconv).
 */
export function resolveIconvOption(o: Options, env: NodeJS.ProcessEnv = process.env): void {
  if (o.iconv === undefined && env.RSYNC_ICONV) o.iconv = env.RSYNC_ICONV;
  if (o.iconv === "-" || o.iconv === undefined) o.iconv = null;
  nameConverterFor(o.iconv, false);
}

/**
 * --files-from names on the connection (compat.c filesfrom_convert): only
 * under -s are they converted, the client's from its charset to UTF-8, the
 * sending server's back; what does not convert passes as it is.
 */
export function filesFromConversion(o: Options, amServer: boolean): ((name: Uint8Array) => Uint8Array) | null {
  if (!(o.secludedArgs > 0)) return null;
  const iconv = nameConverterFor(o.iconv, amServer);
  if (!iconv) return null;
  return amServer ? (name) => iconv.fromWireKeepingBad(name) : (name) => iconv.toWireKeepingBad(name);
}
