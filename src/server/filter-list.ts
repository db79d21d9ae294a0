/** The filter list a server reads before anything else (exclude.c recv_filter_list). */
import { RERR, RsyncError } from "../errors.ts";
import type { Input } from "../io/input.ts";

/** Only an empty list is accepted until filter rules land (issue 7). */
export async function readFilterList(input: Input): Promise<void> {
  const len = await input.read((r) => r.i32());
  if (len !== 0) throw new RsyncError(RERR.UNSUPPORTED, "rsync: filter rules are not supported by oc-rsync yet");
}
