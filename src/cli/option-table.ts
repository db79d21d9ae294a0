/**
 * The options oc-rsync supports, in upstream's --help order. An option that
 * is not here is refused with upstream's "unknown option" wording; the README
 * lists which of upstream's are still missing.
 */
import { usageError } from "../errors.ts";
import { intValue, type OptionSpec } from "./option-spec.ts";
import type { Options } from "./options.ts";

const flag = (
  long: string[],
  short: string | undefined,
  help: string | undefined,
  set: (o: Options) => void,
  unset?: (o: Options) => void,
): OptionSpec => ({ long, short, help, set, unset });

const valued = (
  long: string[],
  short: string | undefined,
  arg: string,
  help: string | undefined,
  set: (o: Options, v: string) => void,
): OptionSpec => ({ long, short, arg, help, set });

export const optionTable: OptionSpec[] = [
  flag(["verbose"], "v", "increase verbosity", (o) => o.verbose++, (o) => (o.verbose = 0)),
  flag(["quiet"], "q", "suppress non-error messages", (o) => o.quiet++),
  flag(["no-motd"], undefined, "suppress daemon-mode MOTD", (o) => (o.noMotd = true)),
  flag(["version"], "V", "print the version + other info and exit", (o) => (o.showVersion = true)),
  // -h is --help only when it is the sole argument (main.ts decides); otherwise --human-readable.
  flag(["human-readable"], "h", "output numbers in a human-readable format", (o) => o.humanReadable++, (o) => (o.humanReadable = 0)),
  flag(["help"], undefined, "show this help (* -h is help only on its own)", (o) => (o.showHelp = true)),
];

/** Options that switch oc-rsync into another mode; parsed like the rest. */
export const modeTable: OptionSpec[] = [
  flag(["daemon"], undefined, undefined, (o) => (o.daemon = true)),
  flag(["server"], undefined, undefined, (o) => (o.server = true)),
  flag(["sender"], undefined, undefined, (o) => (o.sender = true)),
];

export function checkedInt(flagName: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = intValue(flagName, value);
  if (n < min || n > max) throw usageError(`${flagName}=${value}: invalid numeric value`);
  return n;
}
