/** Where --iconv meets a session: the sending side's check of each name before it is listed. */
import type { Options } from "../cli/options.ts";
import type { Session } from "../protocol/setup.ts";
import { convertFailed, nameConverterFor, symlinkTargetsConverted, type NameConverter } from "./iconv.ts";
import { escapeForOutput } from "../output/escape.ts";
import { terminal } from "../output/terminal.ts";

/**
 * send_file_name: a name (or, when the receiver takes converted targets, a
 * symlink's target) that does not convert to UTF-8 is left out of the list.
 */
export function senderNameCheck(o: Options, s: Session) {
  const iconv = nameConverterFor(o.iconv, o.server);
  if (!iconv) return undefined;
  const symlinks = s.protocol >= 30 && symlinkTargetsConverted(o.server, o.rsh, s.compatFlags);
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
  terminal.peerText = peerTextShown(o);
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

/**
 * A client's view of its server's lines (log.c rwrite with ic_recv): they
 * come as UTF-8 and are shown in our charset; converted text is escaped as
 * -8 output is (control characters), a byte that does not convert as \#ooo.
 */
export function peerTextShown(o: Options): ((text: Uint8Array) => Uint8Array) | null {
  const iconv = nameConverterFor(o.iconv, false);
  return iconv && utf8TextShown(iconv);
}

/** A UTF-8 line shown in `iconv`'s charset, as rwrite shows one with is_utf8. */
export function utf8TextShown(iconv: NameConverter): (text: Uint8Array) => Uint8Array {
  return (text) => {
    const out: Uint8Array[] = [];
    for (const piece of iconv.fromWirePieces(text)) {
      if (typeof piece === "number") out.push(Buffer.from(`\\#${piece.toString(8).padStart(3, "0")}`, "latin1"));
      else out.push(escapeForOutput(piece, null));
    }
    return new Uint8Array(Buffer.concat(out));
  };
}

/** A server's own lines go to the client as UTF-8 (io.c send_msg converting with ic_send, bad bytes kept). */
export function serverTextSent(o: Options): ((text: Uint8Array) => Uint8Array) | null {
  const iconv = nameConverterFor(o.iconv, true);
  return iconv && ((text) => iconv.toWireKeepingBad(text));
}

/**
 * A sending server's paths as bytes: under -s with --iconv they came over
 * the connection in UTF-8 and are read into our charset (io.c read_args with
 * RL_CONVERT; what does not convert stays as sent).
 */
export function secludedPathBytes(o: Options, paths: string[]): Uint8Array[] {
  const iconv = o.secludedArgs > 0 ? nameConverterFor(o.iconv, true) : null;
  return paths.map((p) => {
    const bytes = new Uint8Array(Buffer.from(p));
    return iconv ? iconv.fromWireKeepingBad(bytes) : bytes;
  });
}

/** rsync.c send_protected_args: under --iconv each secluded argument goes from our charset to UTF-8 (bad bytes kept). */
export function secludedArgConversion(o: Options): ((arg: Uint8Array) => Uint8Array) | null {
  const iconv = nameConverterFor(o.iconv, false);
  return iconv && ((arg) => iconv.toWireKeepingBad(arg));
}
