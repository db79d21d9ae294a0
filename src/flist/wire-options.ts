/** How file-list entries are encoded in a session, from the options and the negotiated protocol (both sides use it). */
import type { Options } from "../cli/options.ts";
import type { Session } from "../protocol/setup.ts";
import type { FlistWireOptions } from "./decode.ts";

export function flistWireOptions(o: Options, s: Session): FlistWireOptions {
  return {
    protocol: s.protocol,
    varintFlags: s.varintFlistFlags,
    safeFlist: s.safeFlist,
    preserveUid: o.owner,
    preserveGid: o.group,
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
