/**
 * Over a remote shell (and between the halves of a local copy) the two sides
 * start by swapping protocol versions as little-endian int32s, each writing
 * before reading (compat.c setup_protocol). The lower one is used.
 */
import { RERR, RsyncError, type Role } from "../errors.ts";
import type { Input } from "../io/input.ts";
import type { Output } from "../io/output.ts";

export const MIN_PROTOCOL = 27;
export const MAX_PROTOCOL = 40;

/** `role`: who says so when nothing came back (a client is its "sender" pushing, its "Receiver" pulling). */
export async function exchangeVersions(input: Input, output: Output, ours: number, role: Role = "Receiver"): Promise<number> {
  output.data.i32(ours);
  output.flush();
  let theirs: number;
  try {
    theirs = await input.read((r) => r.i32());
  } catch (e) {
    // Nothing came back: the remote program never started (or is not rsync).
    if (e instanceof RsyncError && e.code === RERR.STREAMIO) {
      throw new RsyncError(RERR.STREAMIO, `rsync: connection unexpectedly closed (0 bytes received so far) [${role}]`);
    }
    throw e;
  }
  if (theirs < MIN_PROTOCOL || theirs > MAX_PROTOCOL) {
    throw new RsyncError(
      RERR.PROTOCOL,
      `protocol version mismatch -- is your shell clean?\n(see the rsync manpage for an explanation)\nrsync error: protocol incompatibility`,
    );
  }
  return Math.min(ours, theirs);
}
