/** `--help`: upstream's layout, listing only the options oc-rsync supports. */
import { versionText } from "../version.ts";
import type { OptionSpec } from "./option-spec.ts";

const USAGE = `oc-rsync is a file transfer program capable of efficient remote update
via a fast differencing algorithm.

Usage: oc-rsync [OPTION]... SRC [SRC]... DEST
  or   oc-rsync [OPTION]... SRC [SRC]... [USER@]HOST:DEST
  or   oc-rsync [OPTION]... SRC [SRC]... [USER@]HOST::DEST
  or   oc-rsync [OPTION]... SRC [SRC]... rsync://[USER@]HOST[:PORT]/DEST
  or   oc-rsync [OPTION]... [USER@]HOST:SRC [DEST]
  or   oc-rsync [OPTION]... [USER@]HOST::SRC [DEST]
  or   oc-rsync [OPTION]... rsync://[USER@]HOST[:PORT]/SRC [DEST]
The ':' usages connect via remote shell, while '::' & 'rsync://' usages connect
to an rsync daemon, and require SRC or DEST to start with a module name.`;

/** One help line: "--long=ARG, -s" padded to 25 columns, then the text. */
export function helpLine(spec: OptionSpec): string {
  if (spec.display) return `${spec.display.padEnd(24)} ${spec.help ?? ""}`;
  const name = spec.long[0];
  let left = name ? `--${name}${spec.arg ? `=${spec.arg}` : ""}` : "";
  if (spec.short) left = left ? `${left}, -${spec.short}` : `-${spec.short}`;
  return `${left.padEnd(24)} ${spec.help ?? ""}`;
}

export function helpText(specs: readonly OptionSpec[]): string {
  const lines = specs.filter((s) => s.help !== undefined).map(helpLine);
  return `${versionText()}\n${USAGE}\n\nOptions\n${lines.join("\n")}\n\nSee https://rsync.samba.org/ for rsync's own documentation.\n`;
}
