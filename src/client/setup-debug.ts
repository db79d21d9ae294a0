/**
 * The client's --debug lines about starting the transfer: main.c
 * start_client's "cmd=... machine=..." and do_cmd's "cmd[N]=..." (CMD2),
 * and setup_protocol's versions (PROTO) and name lists (NSTR).
 */
import type { Options } from "../cli/options.ts";
import { outputConfig } from "../cli/output-config.ts";
import { terminal } from "../output/terminal.ts";
import type { SetupDebug } from "../protocol/setup.ts";
import { localeCharset, nameConverterFor } from "../flist/iconv.ts";

/** PROTO and NSTR for clientSetupProtocol, or undefined when neither prints. */
export function setupDebug(o: Options): SetupDebug | undefined {
  const debug = outputConfig(o).debug;
  const proto = debug.get("PROTO");
  const nstr = debug.get("NSTR");
  if (!proto && !nstr) return undefined;
  return { proto, nstr, say: (line) => terminal.info(`${line}\n`) };
}

const orNull = (s: string | undefined) => s ?? "<NULL>";

/**
 * start_client and do_cmd (--debug=CMD2): what the command line gave (no
 * remote shell for a local copy; `path` is the remote path, or a local
 * copy's destination), then each argument of the command, ours included.
 */
export function commandDebugLines(o: Options, where: { shell?: string; machine?: string; user?: string; path: string }, argv: string[]): void {
  if (outputConfig(o).debug.get("CMD") < 2) return;
  terminal.info(`cmd=${orNull(where.shell)} machine=${orNull(where.machine)} user=${orNull(where.user)} path=${where.path}\n`);
  terminal.client(`${argv.map((a, i) => `cmd[${i}]=${a} `).join("")}\n`);
}

/** A local copy's other half would print its own "(Server)" versions line, on stderr (it is not multiplexed yet). */
export function localServerProtoLine(o: Options, protocol: number): void {
  if (outputConfig(o).debug.get("PROTO") >= 1) terminal.error(`(Server) Protocol versions: remote=${protocol}, negotiated=${protocol}\n`);
}

/**
 * rsync.c setup_iconv (--debug=ICONV): a client checks its messages against
 * the locale's charset (unless -8), and with --iconv names the charset this
 * side converts from, as `who` ("[sender] charset: UTF-8").
 */
export function charsetDebugLines(o: Options, who: string): void {
  const level = outputConfig(o).debug.get("ICONV");
  if (level >= 2 && !o.eightBitOutput) terminal.info(`msg checking charset: ${localeCharset()}\n`);
  if (level >= 1 && o.iconv) terminal.info(`[${who}] charset: ${nameConverterFor(o.iconv, false)!.charset}\n`);
}

/** The same from a server (or a local copy's receiving half): its charset is the one after the comma; not multiplexed yet, it goes to stderr. */
export function serverCharsetLine(o: Options, who: string): void {
  if (outputConfig(o).debug.get("ICONV") >= 1 && o.iconv) process.stderr.write(`[${who}] charset: ${nameConverterFor(o.iconv, true)!.charset}\n`);
}

/** NSTR for a local copy's other half (which upstream forks with the client's levels): its lines go to stderr. */
export function localServerSetupDebug(o: Options): SetupDebug | undefined {
  const nstr = outputConfig(o).debug.get("NSTR");
  return nstr >= 3 ? { proto: 0, nstr, say: (line) => terminal.error(`${line}\n`) } : undefined;
}
