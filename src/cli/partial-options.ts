/**
 * options.c parse_arguments: an update in place has no partial dir to put
 * files in, so --inplace and --append refuse --partial-dir and
 * --delay-updates (whose ".~tmp~" is a partial dir).
 */
import { usageError } from "../errors.ts";
import type { Options } from "./options.ts";

export function checkPartialOptions(o: Options): void {
  // --write-devices writes into the device itself: in place, whatever --no-inplace said (options.c).
  if (o.writeDevices) o.inplace = true;
  if (!o.inplace && !o.append) return;
  if (!o.delayUpdates && o.partialDir === undefined) return;
  throw usageError(`rsync: --${o.append ? "append" : "inplace"} cannot be used with --${o.delayUpdates ? "delay-updates" : "partial-dir"}`);
}
