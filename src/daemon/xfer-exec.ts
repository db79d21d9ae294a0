/**
 * A module's "pre-xfer exec" and "post-xfer exec" (clientserver.c
 * start_pre_exec, finish_pre_exec and the post-xfer fork): shell commands
 * run with the RSYNC_* environment. The pre-xfer command sees the request
 * and the client's arguments (RSYNC_REQUEST, RSYNC_ARG0...) and can refuse
 * the transfer by failing; its output is then shown to the client. The
 * post-xfer command runs after the transfer with RSYNC_EXIT_STATUS and
 * RSYNC_RAW_STATUS, as the daemon's user (it is started before the module's
 * user is taken, and waits for the status on a pipe). The "early exec"
 * command runs first, before the request is known, with the client's
 * --early-input on its stdin.
 */
import { spawn, type ChildProcess } from "node:child_process";

export type XferEnv = Record<string, string>;

/** A value for the shell, single-quoted. */
const quote = (v: string) => `'${v.replaceAll("'", "'\\''")}'`;

export interface PreXfer {
  /** Gives the command the request and arguments and waits: null when it succeeded, else upstream's error text. */
  run(request: string, args: string[]): Promise<string | null>;
}

/**
 * Starts the pre-xfer command's shell now (as the daemon's user, before the
 * module's user is taken, as upstream forks it); it runs CMD once `run`
 * hands it the request and the arguments as shell assignments.
 */
export function startPreXfer(cmd: string, env: XferEnv): PreXfer {
  // Nothing on stdin means the session ended before the request came: like upstream's child, do not run.
  const script = 'vars="$(cat)"; [ -n "$vars" ] || exit 1; eval "$vars"; exec /bin/sh -c "$0" </dev/null';
  const child = spawn("/bin/sh", ["-c", script, cmd], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString("latin1")));
  const status = new Promise<number>((resolve) => {
    child.on("error", () => resolve(-1));
    child.on("close", (code, signal) => resolve(signal ? 1 : (code ?? 1) << 8));
  });
  return {
    async run(request, args) {
      const vars = [`RSYNC_REQUEST=${quote(request)}`, ...args.map((a, i) => `RSYNC_ARG${i}=${quote(a)}`)];
      const names = ["RSYNC_REQUEST", ...args.map((_, i) => `RSYNC_ARG${i}`)];
      child.stdin!.end(`${vars.join("\n")}\nexport ${names.join(" ")}\n`);
      const code = await status;
      if (code === 0) return null;
      const text = out.replace(/\r\n/g, "\n");
      return `pre-xfer exec returned failure (${code})${text ? ":" : ""}\n${text}`;
    },
  };
}

/**
 * A module's "early exec": runs at once with RSYNC_REQUEST "(NONE)" and the
 * client's --early-input bytes (or nothing) on stdin; resolves to whether it
 * succeeded (clientserver.c rsync_module, write_pre_exec_args exec_type 1).
 */
export function runEarlyExec(cmd: string, env: XferEnv, earlyInput: Uint8Array | undefined): Promise<boolean> {
  // Its output never reaches the client (our session's stdout may be the connection itself).
  const child = spawn("/bin/sh", ["-c", cmd], { env: { ...process.env, ...env, RSYNC_REQUEST: "(NONE)" }, stdio: ["pipe", "ignore", "inherit"] });
  // A command that does not read its input must not fail the write.
  child.stdin!.on("error", () => {});
  child.stdin!.end(earlyInput ?? new Uint8Array(0));
  return new Promise<boolean>((resolve) => {
    child.on("error", () => resolve(false));
    child.on("close", (code, signal) => resolve(!signal && code === 0));
  });
}

export interface PostXfer {
  /** Hands the transfer's exit code to the waiting command and waits for it. */
  finish(exitCode: number): Promise<void>;
}

/** Starts the post-xfer command's shell now (with our current privileges); it runs CMD once `finish` gives it the status. */
export function startPostXfer(cmd: string, env: XferEnv): PostXfer {
  const script = 'read raw status || { raw=-1; status=-1; }; RSYNC_RAW_STATUS=$raw RSYNC_EXIT_STATUS=$status; export RSYNC_RAW_STATUS RSYNC_EXIT_STATUS; exec /bin/sh -c "$0" </dev/null';
  const child: ChildProcess = spawn("/bin/sh", ["-c", script, cmd], { env: { ...process.env, ...env }, stdio: ["pipe", "ignore", "inherit"] });
  const done = new Promise<void>((resolve) => {
    child.on("error", () => resolve());
    child.on("close", () => resolve());
  });
  return {
    async finish(exitCode) {
      child.stdin!.end(`${exitCode << 8} ${exitCode}\n`);
      await done;
    },
  };
}
