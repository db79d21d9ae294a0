/**
 * The client side of the daemon text handshake (clientserver.c
 * start_inband_exchange): greetings, module request, authentication, MOTD and
 * module listing, then the server argument list.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { secludedArgsBytes, secludedStart } from "../protocol/secluded-args.ts";
import { ConnectionBroken, RERR, RsyncError } from "../errors.ts";
import { authResponse, AUTH_DIGESTS, chooseAuthDigest } from "../protocol/daemon-auth.ts";
import type { Input } from "../io/input.ts";
import type { Output } from "../io/output.ts";
import { errText } from "../fs/errors.ts";
import { terminal } from "../output/terminal.ts";

export interface DaemonRequest {
  /** Our highest protocol (or --protocol). */
  protocol: number;
  /** Remote path arguments, each "module/path" (the first names the module). */
  paths: string[];
  /** The server option vector (options.c server_options), without the paths. */
  serverArgs: string[];
  /** -s: what follows the option cluster is sent after the argument lines, unescaped. */
  secluded?: boolean;
  /** --iconv under -s: each secluded argument from our charset to UTF-8. */
  convertSecluded?: ((arg: Uint8Array) => Uint8Array) | null;
  /** --old-args: paths are sent without the " module/" split protection. */
  oldArgs?: boolean;
  /** --early-input: a file handed to the module's "early exec"/"pre-xfer exec" before the module is named. */
  earlyInput?: string;
  user: string | undefined;
  passwordFile: string | undefined;
  /** Print MOTD and listing lines (false with --no-motd). */
  showMotd: boolean;
  /** -vv (upstream's --debug=cmd): show the arguments sent. */
  showArgs?: boolean;
  /** --debug=NSTR2: show the daemon-auth digests we offer (compat.c output_daemon_greeting) and the daemon's. */
  showAuthList?: boolean;
  /** --debug=NSTR: show the daemon-auth digest chosen. */
  showAuthChoice?: boolean;
}

export type DaemonOutcome = { kind: "ready"; protocol: number } | { kind: "listed" };

const startFailure = (message: string) => new RsyncError(RERR.STARTCLIENT, message);

/** The command that carries --early-input's bytes, and their limit (upstream's BIGPATHBUFLEN). */
export const EARLY_INPUT_CMD = "#early_input=";
export const EARLY_INPUT_MAX = 4096 + 1024;

/** --early-input's contents (clientserver.c start_inband_exchange: at most EARLY_INPUT_MAX bytes). */
function readEarlyInput(file: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    throw startFailure(`rsync: failed to open ${file}: ${errText(e)}`);
  }
  if (data.length > EARLY_INPUT_MAX) throw startFailure(`${file} is > ${EARLY_INPUT_MAX} bytes.`);
  return data;
}

/** Parses "@RSYNCD: 31.0 md5 md4" (exchange_protocols). */
export function parseGreeting(line: string): { protocol: number; sub: number | undefined; digests: string | undefined } | null {
  const m = /^@RSYNCD: (\d+)(?:\.(\d+))?/.exec(line);
  if (!m) return null;
  const rest = line.slice(9);
  const space = rest.indexOf(" ");
  return {
    protocol: Number.parseInt(m[1]!, 10),
    sub: m[2] === undefined ? undefined : Number.parseInt(m[2], 10),
    digests: space < 0 ? undefined : rest.slice(space + 1),
  };
}

/** Negotiated protocol from both greetings (exchange_protocols). */
export function negotiateVersion(ours: number, theirs: number, theirSub: number): number {
  if (ours > theirs) return theirSub ? theirs - 1 : theirs;
  if (ours === theirs && theirSub !== 0) return ours - 1;
  return ours;
}

/** The password for the daemon: --password-file (first line), else $RSYNC_PASSWORD, else a prompt. */
function readPassword(passwordFile: string | undefined): Uint8Array {
  if (passwordFile !== undefined) {
    let fd: number;
    try {
      fd = passwordFile === "-" ? 0 : openSync(passwordFile, "r");
    } catch (e) {
      throw new RsyncError(RERR.SYNTAX, `rsync: could not open password file ${passwordFile}: ${errText(e)}`);
    }
    if (passwordFile !== "-") {
      const st = fstatSync(fd);
      if ((st.mode & 0o6) !== 0) {
        closeSync(fd);
        throw new RsyncError(RERR.SYNTAX, "ERROR: password file must not be other-accessible");
      }
      if (process.getuid?.() === 0 && st.uid !== 0) {
        closeSync(fd);
        throw new RsyncError(RERR.SYNTAX, "ERROR: password file must be owned by root when running as root");
      }
    }
    const buf = new Uint8Array(511);
    const n = readSync(fd, buf);
    if (passwordFile !== "-") closeSync(fd);
    const text = buf.subarray(0, Math.max(n, 0));
    const end = text.findIndex((b) => b === 0x0a || b === 0x0d);
    return text.subarray(0, end < 0 ? text.length : end);
  }
  const env = process.env.RSYNC_PASSWORD;
  if (env !== undefined) return new TextEncoder().encode(env);
  return promptPassword();
}

/** getpass(): asks on the terminal with echo off. No terminal: an empty password. */
function promptPassword(): Uint8Array {
  let fd: number;
  try {
    fd = openSync("/dev/tty", "r+");
  } catch {
    return new Uint8Array(0);
  }
  try {
    Bun.spawnSync(["stty", "-echo"], { stdin: fd });
    readSync(fd, new Uint8Array(0));
    const prompt = new TextEncoder().encode("Password: ");
    Bun.write(Bun.file(fd), prompt);
    const bytes: number[] = [];
    const one = new Uint8Array(1);
    while (readSync(fd, one) === 1 && one[0] !== 0x0a) bytes.push(one[0]!);
    return Uint8Array.from(bytes);
  } finally {
    Bun.spawnSync(["stty", "echo"], { stdin: fd });
    closeSync(fd);
  }
}

/** Latin-1 strings carry raw bytes through readLine; this puts them back. */
const rawBytes = (line: string) => Buffer.from(line, "latin1");

/** A line's read stopped by the connection's plain end (not broken under the read, nor a timeout): upstream's read_line_old finding EOF. */
function endedPlainly(e: unknown): boolean {
  return e instanceof RsyncError && e.code === RERR.STREAMIO && !(e instanceof ConnectionBroken);
}

/**
 * Everything up to the point where setup_protocol starts. A module listing
 * ends the session here (upstream exits 0 on "@RSYNCD: EXIT").
 */
export async function daemonHandshake(input: Input, output: Output, req: DaemonRequest): Promise<DaemonOutcome> {
  const first = req.paths[0] ?? "";
  if (first.startsWith("/")) throw startFailure("ERROR: The remote path must start with a module name");
  const slash = first.indexOf("/");
  const module = slash < 0 ? first : first.slice(0, slash);

  output.data.bytes(Buffer.from(`@RSYNCD: ${req.protocol}.0 ${AUTH_DIGESTS.join(" ")}\n`));
  output.flush();
  if (req.showAuthList) terminal.info(Buffer.from(`Client daemon auth checksum list (on client): ${AUTH_DIGESTS.join(" ")}\n`));

  let line: string;
  try {
    line = await input.readLine(1023);
  } catch (e) {
    // A closed connection means no greeting; anything else (a timeout, a reset: the read's own error) stays what it is.
    if (endedPlainly(e)) throw startFailure("rsync: did not see server greeting");
    throw e;
  }
  const greeting = parseGreeting(line);
  if (!greeting) throw startFailure(`rsync: server sent "${line}" rather than greeting`);
  if (greeting.sub === undefined && greeting.protocol >= 30) throw startFailure(`rsync: the server omitted the subprotocol value: ${line}`);
  if (greeting.digests === undefined && greeting.protocol > 31) throw startFailure(`rsync: the server omitted the digest name list: ${line}`);
  const protocol = negotiateVersion(req.protocol, greeting.protocol, greeting.sub ?? 0);

  if (req.earlyInput !== undefined) {
    const data = readEarlyInput(req.earlyInput);
    if (data.length > 0) output.data.bytes(Buffer.concat([Buffer.from(`${EARLY_INPUT_CMD}${data.length}\n`), data]));
  }
  output.data.bytes(Buffer.from(`${module}\n`));
  output.flush();

  for (;;) {
    let reply: string;
    try {
      reply = await input.readLine(5120);
    } catch (e) {
      if (endedPlainly(e)) throw startFailure("rsync: didn't get server startup line");
      throw e;
    }
    if (reply.startsWith("@RSYNCD: AUTHREQD ")) {
      const digest = chooseAuthDigest(greeting.digests, protocol);
      if (!digest) throw startFailure(`Failed to negotiate a daemon auth digest from the server's list: ${greeting.digests}`);
      // compat.c negotiate_daemon_auth (--debug=NSTR): the daemon's list (or what its protocol implies) and our pick.
      if (req.showAuthList) terminal.info(Buffer.from(`Server daemon auth checksum list (on client): ${greeting.digests ?? (protocol >= 30 ? "md5" : "md4")}\n`));
      if (req.showAuthChoice) terminal.info(Buffer.from(`Client negotiated daemon auth checksum: ${digest === "md4-old" ? "md4" : digest}\n`));
      const user = req.user ?? process.env.USER ?? process.env.LOGNAME ?? "nobody";
      const response = authResponse(digest, readPassword(req.passwordFile), rawBytes(reply.slice(18)));
      output.data.bytes(Buffer.from(`${user || "nobody"} ${response}\n`));
      output.flush();
      continue;
    }
    if (reply === "@RSYNCD: OK") break;
    if (reply === "@RSYNCD: EXIT") return { kind: "listed" };
    if (reply.startsWith("@ERROR")) {
      terminal.error(Buffer.concat([rawBytes(reply), Buffer.from("\n")]));
      throw new RsyncError(RERR.STARTCLIENT, reply, true);
    }
    // A MOTD line or a listing line: upstream cannot tell them apart either.
    if (req.showMotd) terminal.info(Buffer.concat([rawBytes(reply), Buffer.from("\n")]));
  }

  const args = [...req.serverArgs, ".", ...req.paths.map((p) => daemonPathArg(p, module, req.oldArgs))];
  // util1.c print_child_argv: the user's only (FCLIENT), never logged.
  const split = req.secluded ? secludedStart(args) : args.length;
  // (Under -s the list stops where the secluded arguments start.)
  if (req.showArgs) terminal.client(Buffer.from(childArgvText("sending daemon args:", args.slice(0, split))));
  const sep = protocol >= 30 ? "\0" : "\n";
  output.data.bytes(Buffer.from(args.slice(0, split).map((a) => a + sep).join("") + sep));
  if (req.secluded) {
    // rsync.c send_protected_args (--debug=CMD).
    if (req.showArgs) terminal.client(Buffer.from(childArgvText("protected args:", args.slice(split))));
    output.data.bytes(secludedArgsBytes(args.slice(split), req.convertSecluded));
  }
  output.flush();
  return { kind: "ready", protocol };
}

/** util1.c print_child_argv: each argument, quoted when it has characters outside a safe set. */
export function childArgvText(prefix: string, args: string[]): string {
  const words = args.map((a) => (/^[A-Za-z0-9,.\-_=+@/]*$/.test(a) ? a : `"${a}"`));
  return `${prefix} ${words.map((w) => `${w} `).join("")} (${args.length} args)\n`;
}

/**
 * A path argument as upstream's client sends it: the bare module name gets a
 * trailing "/", a leading "-" gets "./", and " module/" inside the path is
 * escaped as "[ ]module/" so the daemon cannot split it there.
 */
export function daemonPathArg(path: string, module: string, oldArgs = false): string {
  if (path === module) return `${module}/`;
  let arg = oldArgs ? path : path.split(` ${module}/`).join(`[ ]${module}/`);
  if (arg.startsWith("-")) arg = `./${arg}`;
  return arg;
}
