/**
 * `oc-rsync --daemon` (clientserver.c daemon_main, socket.c
 * start_accept_loop): reads the config, detaches unless --no-detach, writes
 * the pid file and listens. Each client gets a process of its own, as
 * upstream forks one: the child is this program in daemon mode with the
 * client's socket as its stdin and stdout, which is also how an inetd runs
 * a daemon (a socket on stdin means: serve that one client). Run by a remote
 * shell (`--server --daemon .`, a client's `-e ssh host::module`), it serves
 * that one client on the shell's pipes.
 */
import { spawn } from "node:child_process";
import { selfCommand } from "../boot/self-command.ts";
import { fstatSync, unlinkSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import type { Options } from "../cli/options.ts";
import { RERR, RsyncError } from "../errors.ts";
import { errorLine } from "../cli/report.ts";
import { Input } from "../io/input.ts";
import { Output } from "../io/output.ts";
import type { Channel } from "../io/channel.ts";
import { stdioChannel } from "../io/stream-channel.ts";
import { adoptSocket } from "../io/tcp-channel.ts";
import { plainAddress } from "./access.ts";
import { loadDaemonConfig, type DaemonConfig } from "./config.ts";
import { DaemonLog } from "./log.ts";
import { hostName } from "./host-name.ts";
import { serveDaemonClient } from "./session.ts";
import { awaitConnection, SPARE_FD_ENV, SpareWorkers } from "./spare-worker.ts";

const DEFAULT_CONFIG = "/etc/rsyncd.conf";
const USER_CONFIG = "rsyncd.conf";
const DEFAULT_PORT = 873;
/** The listener tells each client's process who connected. */
const PEER_ENV = "OC_RSYNC_DAEMON_PEER";


export async function runDaemon(o: Options): Promise<number> {
  // A spare client process (spare-worker.ts): it becomes one once the listener hands it a connection.
  if (process.env[SPARE_FD_ENV] !== undefined && !o.server) {
    const peer = awaitConnection();
    if (peer === null) return 0;
    process.env[PEER_ENV] = peer;
  }
  // clientserver.c load_config: a daemon a remote shell started for a user reads that user's rsyncd.conf (in the
  // directory it starts in, the home directory under ssh).
  const overShell = o.server;
  const configFile = o.daemonConfig ?? (overShell && process.getuid?.() !== 0 ? USER_CONFIG : DEFAULT_CONFIG);
  // -M/--dparam arrive as remote options (the client's -M), which a daemon has no use for.
  let cfg: DaemonConfig;
  try {
    cfg = loadDaemonConfig(configFile, o.remoteOptions);
  } catch (e) {
    if (!(e instanceof RsyncError) || stdinIsSocket()) throw e;
    // clientserver.c: why goes to the log (upstream's syslog: no "log file" is known yet); stderr gets the
    // daemon_main line, or under a remote shell start_daemon's exit_cleanup line alone.
    process.stderr.write(overShell ? errorLine(RERR.SYNTAX, "Receiver") : `Failed to parse config file: ${configFile}\n`);
    return RERR.SYNTAX;
  }
  const log = new DaemonLog(o.logFile ?? (cfg.globals.str("log file") || null));
  if (overShell) return await serveOneClient(o, cfg, log, stdioChannel(), shellClientAddress());
  if (stdinIsSocket()) return await serveOneClient(o, cfg, log, await adoptSocket(0), plainAddress(process.env[PEER_ENV] ?? "UNKNOWN"));
  if (o.detach) return detach();
  return await listen(o, cfg, configFile, log);
}

function stdinIsSocket(): boolean {
  try {
    return fstatSync(0).isSocket();
  } catch {
    return false;
  }
}

/** Runs this program again in the background (in a session of its own) and returns at once. */
function detach(): number {
  // process.argv starts with two entries (runtime and script) in both the compiled binary and `bun src/main.ts`.
  const [command, ...args] = selfCommand(...process.argv.slice(2), "--no-detach");
  const child = spawn(command!, args, {
    detached: true,
    stdio: "ignore",
  });
  child.unref();
  return 0;
}

async function listen(o: Options, cfg: DaemonConfig, configFile: string, log: DaemonLog): Promise<number> {
  const port = o.port ?? (cfg.globals.int("rsync port") || DEFAULT_PORT);
  const hostname = o.address ?? (cfg.globals.str("bind address") || "0.0.0.0");
  const pidFile = cfg.globals.str("pid file");
  const childArgs = ["--daemon", "--no-detach", `--config=${configFile}`];
  for (const d of o.remoteOptions) childArgs.push(`--dparam=${d}`);
  if (o.logFile) childArgs.push(`--log-file=${o.logFile}`);
  if (o.protocol) childArgs.push(`--protocol=${o.protocol}`);
  if (o.bwlimit) childArgs.push(`--bwlimit=${o.bwlimit}`);
  let server: { stop(closeActive?: boolean): void };
  // process.env already holds the JIT switch of src/boot/jit-tier.ts, so a client's process starts without re-executing.
  const spares = new SpareWorkers(childArgs, process.env);
  const clientCommand = selfCommand(...childArgs);
  try {
    server = Bun.listen({
      hostname,
      port,
      socket: {
        open(socket) {
          // The child reads the socket; we must not.
          socket.pause();
          // Bun's sockets have their descriptor, though its types do not say so.
          const fd = (socket as unknown as { fd: number }).fd;
          const spare = spares.handOver(fd, socket.remoteAddress);
          const child =
            spare ??
            Bun.spawn(clientCommand, {
              stdin: fd,
              stdout: fd,
              stderr: "inherit",
              env: { ...process.env, [PEER_ENV]: socket.remoteAddress },
            });
          child.exited.then(() => {
            socket.end();
            // The next spare starts once a client is done (not beside its transfer), unless one is waiting.
            spares.start();
          });
        },
        data() {},
      },
    });
  } catch (e) {
    throw new RsyncError(RERR.SOCKETIO, `rsync: [daemon] failed to create listening socket on ${hostname} port ${port}: ${(e as Error).message}`);
  }
  if (pidFile) {
    try {
      writeFileSync(pidFile, `${process.pid}\n`, { flag: "wx", mode: 0o644 });
    } catch (e) {
      server.stop(true);
      throw new RsyncError(RERR.FILEIO, `failed to create pid file ${pidFile}: ${(e as Error).message}`);
    }
  }
  log.line(`rsyncd version oc-rsync starting, listening on port ${port}`);
  spares.start();
  await new Promise<void>((resolve) => {
    const stop = () => {
      spares.stop();
      server.stop(true);
      if (pidFile) {
        try {
          unlinkSync(pidFile);
        } catch {}
      }
      resolve();
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    process.on("SIGHUP", stop);
  });
  return 0;
}

/**
 * clientname.c client_addr for a daemon over a remote shell: the client's
 * address as ssh passes it on (the first word of REMOTE_HOST, SSH_CONNECTION,
 * SSH_CLIENT or SSH2_CLIENT), else 0.0.0.0.
 */
function shellClientAddress(): string {
  const env = process.env;
  const first = (env.REMOTE_HOST ?? env.SSH_CONNECTION ?? env.SSH_CLIENT ?? env.SSH2_CLIENT ?? "").split(" ")[0]!;
  return isIP(first) ? first : "0.0.0.0";
}

/**
 * One client on stdin/stdout: a child of our listener or started by inetd
 * (a socket, which Bun's socket reads and writes, not node streams), or a
 * remote shell's pipes.
 */
async function serveOneClient(o: Options, cfg: DaemonConfig, log: DaemonLog, channel: Channel, addr: string): Promise<number> {
  // (client_name: an address it cannot know is UNKNOWN, with no lookup.)
  const host = !cfg.globals.bool("reverse lookup") ? "UNDETERMINED" : addr === "0.0.0.0" ? "UNKNOWN" : hostName(addr);
  const input = new Input(channel);
  const output = new Output(channel, input);
  try {
    return await serveDaemonClient(input, output, cfg, { addr, host }, log, o);
  } catch (e) {
    log.line(e instanceof Error ? e.message : String(e));
    return e instanceof RsyncError ? e.code : RERR.CRASHED;
  } finally {
    await output.drained().catch(() => {});
    channel.close();
  }
}

