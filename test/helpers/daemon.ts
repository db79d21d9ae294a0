/**
 * Starts Debian's `rsync --daemon --no-detach` (or ours) on a random
 * loopback port with a generated config, for interop tests; `stop()` kills it.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";

export interface ModuleConfig {
  name: string;
  path: string;
  /** Extra "key = value" lines for the module. */
  params?: Record<string, string>;
}

export interface RunningDaemon {
  port: number;
  /** The listening process (each connection is served by processes it forks). */
  pid: number;
  url(module: string, path?: string): string;
  logFile: string;
  /** What the daemon (and the processes serving its clients) wrote on stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

async function portIsOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port }, () => {
      s.end();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

function randomPort(): number {
  return 20000 + Math.floor(Math.random() * 40000);
}

const OUR_MAIN = join(import.meta.dir, "../../src/main.ts");

export function startUpstreamDaemon(modules: ModuleConfig[], globals: Record<string, string> = {}): Promise<RunningDaemon> {
  return startDaemon("upstream", modules, globals);
}

/** Upstream's daemon and ours with the same modules, for tests that run every case against both. */
export async function startBothDaemons(modules: ModuleConfig[], globals: Record<string, string> = {}): Promise<{ upstream: RunningDaemon; ours: RunningDaemon }> {
  return { upstream: await startDaemon("upstream", modules, globals), ours: await startDaemon("ours", modules, globals) };
}

/** Stops the daemons a test file started (those it got). */
export async function stopDaemons(...daemons: (RunningDaemon | undefined)[]): Promise<void> {
  for (const d of daemons) await d?.stop();
}

/** `args`: more of the daemon's own options (its --bwlimit, say); `env`: more of its environment (RSYNC_CHECKSUM_LIST, say). */
export async function startDaemon(
  kind: "upstream" | "ours",
  modules: ModuleConfig[],
  globals: Record<string, string> = {},
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<RunningDaemon> {
  const dir = mkdtempSync(join(tmpdir(), "oc-rsyncd-"));
  const logFile = join(dir, "rsyncd.log");
  const lines = ["use chroot = no", `pid file = ${join(dir, "rsyncd.pid")}`, `lock file = ${join(dir, "rsyncd.lock")}`];
  for (const [k, v] of Object.entries(globals)) lines.push(`${k} = ${v}`);
  for (const m of modules) {
    lines.push(`[${m.name}]`, `  path = ${m.path}`, "  read only = yes");
    for (const [k, v] of Object.entries(m.params ?? {})) lines.push(`  ${k} = ${v}`);
  }
  const config = join(dir, "rsyncd.conf");
  writeFileSync(config, lines.join("\n") + "\n");
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = randomPort();
    if (await portIsOpen(port)) continue;
    const program = kind === "upstream" ? ["rsync"] : [process.execPath, OUR_MAIN];
    const proc = Bun.spawn([...program, "--daemon", "--no-detach", `--config=${config}`, `--port=${port}`, "--address=127.0.0.1", `--log-file=${logFile}`, ...args], {
      env: { ...process.env, ...env },
      stdout: "ignore",
      stderr: "pipe",
    });
    let stderr = "";
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of proc.stderr) stderr += decoder.decode(chunk, { stream: true });
    })().catch(() => {});
    for (let i = 0; i < 100; i++) {
      if (await portIsOpen(port)) {
        return {
          port,
          pid: proc.pid,
          logFile,
          stderr: () => stderr,
          url: (module, path = "") => `rsync://127.0.0.1:${port}/${module}/${path}`,
          async stop() {
            proc.kill();
            await proc.exited;
          },
        };
      }
      if (proc.exitCode !== null) break;
      await Bun.sleep(20);
    }
    proc.kill();
  }
  throw new Error("could not start rsync --daemon");
}
