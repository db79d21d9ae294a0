/** The shape of one command-line option, and the popt-style parser that reads them. */
import { usageError } from "../errors.ts";
import type { Options } from "./options.ts";

export interface OptionSpec {
  /** Long names without "--"; the first is the one shown in --help. */
  long: string[];
  /** A one-letter short name. */
  short?: string;
  /** Name of the argument in --help (e.g. "NUM"); its presence means the option takes one. */
  arg?: string;
  /** --help text; options without it are accepted but not listed (aliases). */
  help?: string;
  /** What --help shows on the left instead of the names (for lines such as "--no-OPTION"). */
  display?: string;
  /** Apply the option. `value` is defined exactly when `arg` is. */
  set(o: Options, value: string): void;
  /** Undo the option for --no-NAME (and --no-X for its short letter). */
  unset?(o: Options): void;
}

/** Parses an integer option value the way popt does (decimal, optional sign). */
export function intValue(flag: string, value: string): number {
  if (!/^[-+]?\d+$/.test(value.trim())) throw usageError(`rsync: ${flag}=${value}: invalid numeric value`);
  return Number.parseInt(value, 10);
}

/**
 * Reads argv into `o` in order. Bundled short options (-avz), short options
 * with attached or separate values (-essh, -e ssh), --long=value and
 * --long value, --no-NAME negation, and "--" ending the options, as upstream's
 * popt does. Everything else is a positional argument, kept in order.
 */
export function parseArgv(argv: readonly string[], specs: readonly OptionSpec[], o: Options): void {
  const byLong = new Map<string, OptionSpec>();
  const byShort = new Map<string, OptionSpec>();
  for (const spec of specs) {
    for (const name of spec.long) byLong.set(name, spec);
    if (spec.short) byShort.set(spec.short, spec);
  }

  let i = 0;
  const next = (flag: string): string => {
    if (i >= argv.length) throw usageError(`rsync: ${flag}: missing argument`);
    return argv[i++]!;
  };

  while (i < argv.length) {
    const arg = argv[i++]!;
    if (arg === "--") {
      o.args.push(...argv.slice(i));
      return;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const spec = byLong.get(name);
      if (spec) {
        if (spec.arg) spec.set(o, eq < 0 ? next(arg) : arg.slice(eq + 1));
        else if (eq >= 0) throw usageError(`rsync: ${arg}: option does not take an argument`);
        else spec.set(o, "");
        continue;
      }
      const negated = name.startsWith("no-") ? (byLong.get(name.slice(3)) ?? byShort.get(name.slice(3))) : undefined;
      if (negated?.unset && eq < 0) {
        negated.unset(o);
        continue;
      }
      throw usageError(`rsync: ${arg.slice(0, eq < 0 ? undefined : eq)}: unknown option`);
    }
    if (arg.startsWith("-") && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!;
        const spec = byShort.get(letter);
        if (!spec) throw usageError(`rsync: -${letter}: unknown option`);
        if (spec.arg) {
          // The rest of the bundle is the value, or else the next argument.
          spec.set(o, j + 1 < arg.length ? arg.slice(j + 1) : next(`-${letter}`));
          break;
        }
        spec.set(o, "");
      }
      continue;
    }
    o.args.push(arg);
  }
}
