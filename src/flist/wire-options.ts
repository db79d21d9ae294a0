/** How file-list entries are encoded in a session, from the options and the negotiated protocol (both sides use it). */
import type { Options } from "../cli/options.ts";
import type { Session } from "../protocol/setup.ts";
import { nameConverterFor, symlinkTargetsConverted } from "./iconv.ts";
import type { FlistWireOptions } from "./decode.ts";

/** `amServer`: this half takes the REMOTE part of --iconv (a server, or the receiving half of a local copy). */
export function flistWireOptions(o: Options, s: Session, amServer = o.server): FlistWireOptions {
  const iconv = nameConverterFor(o.iconv, amServer);
  return {
    iconv,
    symlinkIconv: iconv !== null && s.protocol >= 30 && symlinkTargetsConverted(o.server, o.rsh, s.compatFlags),
    protocol: s.protocol,
    varintFlags: s.varintFlistFlags,
    safeFlist: s.safeFlist,
    preserveUid: o.owner,
    preserveGid: o.group,
    preserveAcls: o.acls,
    preserveLinks: o.links,
    preserveDevices: o.devices,
    preserveSpecials: o.specials,
    preserveHardLinks: o.hardLinks,
    checksumLength: o.checksum ? s.sums.file.length : 0,
    relativePaths: o.relative,
    recursive: o.recursive,
    preserveAtimes: o.atimes > 0,
    missingEntries: o.deleteMissingArgs,
  };
}
