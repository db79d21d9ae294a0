/**
 * Reaching the far end (main.c start_socket_client and do_cmd): a TCP
 * connection to a daemon and its text handshake, or a remote-shell command
 * and the version exchange. Both give a channel and a `start` that ends
 * where setup_protocol begins.
 */
import { secludedArgConversion } from "../flist/iconv-hooks.ts";
import type { Options } from "../cli/options.ts";
import { RERR, RsyncError, type Role } from "../errors.ts";
import type { Channel } from "../io/channel.ts";
import type { Input } from "../io/input.ts";
import type { Output } from "../io/output.ts";
import { spawnShell, type ShellChild } from "../io/stream-channel.ts";
import { connectTcp } from "../io/tcp-channel.ts";
import { serverArgs } from "../protocol/server-args.ts";
import { secludedArgsBytes, secludedStart } from "../protocol/secluded-args.ts";
import { exchangeVersions } from "../protocol/version-exchange.ts";
import { terminal } from "../output/terminal.ts";
import { errText } from "../fs/errors.ts";
import { DEFAULT_RSYNC_PORT, splitUser, type HostSpec } from "../transport/address.ts";
import { childArgvText, daemonHandshake } from "../transport/daemon-client.ts";
import { outputConfig } from "../cli/output-config.ts";
import { charsetDebugLines, commandDebugLines } from "./setup-debug.ts";
import { remoteShellArgv } from "../transport/remote-shell.ts";
import { PROTOCOL_VERSION } from "../version.ts";

export interface Connection {
  channel: Channel;
  /** The daemon handshake or the version exchange: the protocol, or null when nothing follows (a module listing). */
  start(input: Input, output: Output): Promise<number | null>;
  /** The remote shell's exit status once it is gone (0 for a daemon). */
  exited(): Promise<number>;
  /**
   * After a failure: the remote shell's exit status if it has ended (0 for
   * a daemon, a shell still running or one a signal ended); see raisedByShell.
   */
  statusAfterFailure(): Promise<number>;
  /** The remote shell's process id (none for a daemon). */
  pid?: number;
}

export interface ConnectRequest {
  o: Options;
  spec: HostSpec;
  /** Remote paths: "module/path" for a daemon, plain paths for a remote shell. */
  paths: string[];
  /** We send (a push). */
  amSender: boolean;
  /** 0 = a transfer; 1 = a lone remote source (listing implied); 2 = --list-only. */
  listOnly: number;
}

/** How upstream's client names itself before the transfer starts. */
const clientRole = (amSender: boolean): Role => (amSender ? "sender" : "Receiver");

export async function connectToRemote(req: ConnectRequest): Promise<Connection> {
  if (req.spec.port === 0) return connectShell(req);
  // main.c start_client: a daemon ("host::module", rsync://) with -e is reached through that remote shell,
  // whose far end runs a daemon for this one connection (`rsync --server --daemon .`).
  return req.o.rsh !== undefined ? connectDaemonOverShell(req) : await connectDaemon(req);
}

async function connectDaemon(req: ConnectRequest): Promise<Connection> {
  const o = req.o;
  const { user, host } = splitUser(req.spec.machine);
  const port = req.spec.port > 0 ? req.spec.port : DEFAULT_RSYNC_PORT;
  const channel = await connect(o, host.replace(/^\[|\]$/g, ""), port, clientRole(req.amSender));
  // start_socket_client sets up iconv once connected.
  charsetDebugLines(o, clientRole(req.amSender));
  return { channel, start: (input, output) => daemonStart(input, output, req, user), exited: async () => 0, statusAfterFailure: async () => 0 };
}

/** The daemon's greeting, the module and the arguments (start_inband_exchange): the protocol, or null after a module listing. */
async function daemonStart(input: Input, output: Output, req: ConnectRequest, user: string | undefined): Promise<number | null> {
  const o = req.o;
  const protocol = o.protocol ?? PROTOCOL_VERSION;
  const outcome = await daemonHandshake(input, output, {
    protocol,
    paths: req.paths,
    serverArgs: serverArgs(o, { amSender: req.amSender, protocol, listOnly: req.listOnly }),
    secluded: o.secludedArgs > 0,
    convertSecluded: secludedArgConversion(o),
    oldArgs: o.oldArgs > 0,
    earlyInput: o.earlyInput,
    user,
    passwordFile: o.passwordFile,
    showMotd: !o.noMotd,
    showArgs: outputConfig(o).debug.get("CMD") >= 1,
    showAuthList: outputConfig(o).debug.get("NSTR") >= 2,
    showAuthChoice: outputConfig(o).debug.get("NSTR") >= 1,
  });
  return outcome.kind === "listed" ? null : outcome.protocol;
}

/** A daemon through the remote shell: `SHELL [-l USER] HOST rsync --server --daemon .`, then the daemon's own handshake on its pipes (the user names itself to both). */
function connectDaemonOverShell(req: ConnectRequest): Connection {
  const o = req.o;
  const { user, host } = splitUser(req.spec.machine);
  const argv = remoteShellArgv({
    rsh: o.rsh,
    user,
    host: host.replace(/^\[|\]$/g, ""),
    rsyncPath: o.rsyncPath,
    serverArgs: ["--server", "--daemon"],
    paths: [],
    amSender: req.amSender,
    relative: false,
    escapeNames: false,
  });
  if (outputConfig(o).debug.get("CMD") >= 1) terminal.client(childArgvText("opening connection using:", argv));
  charsetDebugLines(o, clientRole(req.amSender));
  const shell = spawnShell(argv);
  return {
    channel: shell.channel,
    pid: shell.pid,
    async start(input, output) {
      await shellStarted(shell, argv, req.amSender);
      return daemonStart(input, output, req, user);
    },
    exited: () => shellExit(shell),
    statusAfterFailure: () => shellStatusSoon(shell),
  };
}

/** The remote program runs `--server` (with `--sender` for a pull); versions are swapped as plain integers. */
function connectShell(req: ConnectRequest): Connection {
  const o = req.o;
  const { user, host } = splitUser(req.spec.machine);
  const protocol = o.protocol ?? PROTOCOL_VERSION;
  const all = serverArgs(o, { amSender: req.amSender, protocol, listOnly: req.listOnly });
  const secluded = o.secludedArgs > 0;
  const split = secluded ? secludedStart(all) : all.length;
  const visible = all.slice(0, split);
  const argv = remoteShellArgv({
    rsh: o.rsh,
    user,
    host: host.replace(/^\[|\]$/g, ""),
    rsyncPath: o.rsyncPath,
    serverArgs: visible,
    paths: secluded ? [] : req.paths,
    amSender: req.amSender,
    relative: o.relative,
    // --old-args: names go as given (the remote shell splits them as it likes).
    escapeNames: !(o.oldArgs > 0),
    endWithDot: !secluded,
  });
  commandDebugLines(o, { shell: o.rsh, machine: host, user: user || undefined, path: req.paths[0] ?? "" }, argv);
  // pipe.c piped_child (--debug=CMD): print_child_argv, FCLIENT, never logged.
  if (outputConfig(o).debug.get("CMD") >= 1) terminal.client(childArgvText("opening connection using:", argv));
  charsetDebugLines(o, clientRole(req.amSender));
  const shell = spawnShell(argv);
  return {
    channel: shell.channel,
    pid: shell.pid,
    async start(input, output) {
      await shellStarted(shell, argv, req.amSender);
      if (secluded) {
        const hidden = [...all.slice(split), ".", ...req.paths];
        // rsync.c send_protected_args (--debug=CMD).
        if (outputConfig(o).debug.get("CMD") >= 1) terminal.client(childArgvText("protected args:", hidden));
        output.data.bytes(secludedArgsBytes(hidden, secludedArgConversion(o)));
        output.flush();
      }
      return exchangeVersions(input, output, protocol, clientRole(req.amSender));
    },
    exited: () => shellExit(shell),
    statusAfterFailure: () => shellStatusSoon(shell),
  };
}

/** The remote shell is running, or the run ends as upstream's does when it cannot exec it. */
async function shellStarted(shell: ShellChild, argv: string[], amSender: boolean): Promise<void> {
  try {
    await shell.started;
  } catch (e) {
    const role = clientRole(amSender);
    const err = new RsyncError(RERR.IPC, `rsync: [${role}] Failed to exec ${argv[0]}: ${errText(e)}`);
    err.role = role;
    throw err;
  }
}

/** How long a failed run waits for its remote shell's end: the end of the connection and the shell's come apart. */
const SHELL_EXIT_WAIT_MS = 100;

/** The shell's exit status when it ends within SHELL_EXIT_WAIT_MS, else 0 (cleanup.c only looks, WNOHANG). */
async function shellStatusSoon(shell: ShellChild): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<number>((resolve) => {
    timer = setTimeout(() => resolve(0), SHELL_EXIT_WAIT_MS);
  });
  try {
    return await Promise.race([shell.exitStatus, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * cleanup.c _exit_cleanup: a client failing while its remote shell has
 * ended takes the shell's exit status when that is higher than its own code
 * (ssh's 255 when it could not connect, which scripts test for: "unexplained
 * error (code 255)"). Other errors pass unchanged.
 */
export async function raisedByShell(e: unknown, conn: Connection): Promise<unknown> {
  if (!(e instanceof RsyncError)) return e;
  const status = await conn.statusAfterFailure();
  if (status <= e.code) return e;
  const raised = new RsyncError(status, e.message, e.quiet);
  raised.role = e.role;
  return raised;
}

/** main.c client_run: the exit status of the remote shell counts too. */
async function shellExit(shell: ShellChild): Promise<number> {
  const code = await shell.exited;
  return code < 0 ? RERR.IPC : code;
}

async function connect(o: Options, host: string, port: number, role: Role): Promise<Channel> {
  // socket.c open_socket_out_wrapped (--debug=CONNECT).
  if (outputConfig(o).debug.get("CONNECT") >= 1) terminal.info(Buffer.from(`opening tcp connection to ${host} port ${port}\n`));
  const connecting = connectTcp(host, port)
    .then((channel) => {
      // socket.c open_socket_out (--debug=CONNECT2).
      if (outputConfig(o).debug.get("CONNECT") >= 2) terminal.info(Buffer.from(`Connected to ${host} (${channel.remoteAddress})\n`));
      return channel;
    })
    .catch((e) => failConnect(host, e, role));
  if (!o.contimeout) return connecting;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RsyncError(RERR.CONTIMEOUT, `rsync: failed to connect to ${host} (${host}): Connection timed out (110)`)), o.contimeout * 1000);
  });
  try {
    return await Promise.race([connecting, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Socket errors as upstream names them (strerror and errno). */
const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: "Connection refused (111)",
  ETIMEDOUT: "Connection timed out (110)",
  EHOSTUNREACH: "No route to host (113)",
  ENETUNREACH: "Network is unreachable (101)",
  ECONNRESET: "Connection reset by peer (104)",
};

function failConnect(host: string, e: unknown, role: Role): never {
  const code = (e as NodeJS.ErrnoException)?.code ?? "";
  const reason = SOCKET_ERRORS[code] ?? (e instanceof Error ? e.message : String(e));
  const err = new RsyncError(RERR.SOCKETIO, `rsync: [${role}] failed to connect to ${host} (${host}): ${reason}`);
  err.role = role;
  throw err;
}
