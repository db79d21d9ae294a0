/**
 * Size arguments (options.c parse_size_arg): a number, maybe fractional,
 * with an optional unit K/M/G/T/P (powers of 1024; "KB" etc. powers of
 * 1000; "KiB" 1024), an optional "+1"/"-1", and a default unit when none is
 * given. Used by --bwlimit, --max-size, --min-size.
 */
import { usageError } from "../errors.ts";
import { bigNum } from "../output/numbers.ts";

const UNITS = "bkmgtp";

export function parseSizeArg(arg: string, defaultUnit: string, optName: string, min: number, max: number, unlimited0: boolean): number {
  const fail = (err: string, which?: "min" | "max", limit?: number) => {
    let msg = `rsync: --${optName}=${arg} is ${err}`;
    if (which && limit !== undefined && limit >= 0) msg += ` (${which}: ${bigNum(limit, 3)}${unlimited0 && which === "min" ? " or 0 for unlimited" : ""})`;
    return usageError(msg);
  };
  const m = /^(\d*(?:\.\d*)?)([bBkKmMgGtTpP]?)(B|b|iB|ib)?([+-]1)?$/.exec(arg);
  if (!m || m[1] === "" || m[1] === ".") throw fail("invalid");
  const unit = (m[2] || defaultUnit).toLowerCase();
  const mult = m[3] === "b" || m[3] === "B" ? 1000 : 1024;
  let size = Math.trunc(Number.parseFloat(m[1]!) * mult ** UNITS.indexOf(unit));
  if (m[4] === "+1") size++;
  else if (m[4] === "-1") size--;
  if (!Number.isSafeInteger(size) || size < 0 || (max >= 0 && size > max)) throw fail("too large", "max", max);
  if (size < min && (!unlimited0 || size !== 0)) throw fail("too small", "min", min);
  return size;
}
