/**
 * The client's last --debug=EXIT lines (cleanup.c _exit_cleanup): "entered"
 * at level 2 and "about to call exit(N)" at level 1, named after the part
 * of upstream's client that ends the run. Upstream names the C file and
 * line that called exit_cleanup; for a run that ends normally we give the
 * place upstream's client ends such a run (main.c client_run), and for a
 * failure, which has no such counterpart, our own program's name.
 */
import type { Options } from "../cli/options.ts";
import { outputConfig } from "../cli/output-config.ts";
import type { Role } from "../errors.ts";
import { terminal } from "../output/terminal.ts";

/** Where upstream's client_run calls exit_cleanup(0): after sending (a push or a local copy), after receiving (a pull). */
const NORMAL_END: Partial<Record<Role, string>> = { sender: "file=main.c, line=1394", generator: "file=main.c, line=1956", Receiver: "file=main.c, line=1956" };

/**
 * Around `logExit` (the "rsync error" line, which upstream prints between
 * the two). A run that got to its end (`failed` false) calls exit_cleanup
 * with 0 there, and the errors met on the way make the exit code; one that
 * failed calls it with the failure's code.
 */
export function exitDebugLines(o: Options, role: Role, code: number, failed: boolean, logExit: () => void): void {
  const level = outputConfig(o).debug.get("EXIT");
  const where = (!failed && NORMAL_END[role]) || "file=oc-rsync, line=0";
  const head = `[${role}] _exit_cleanup(code=${failed ? code : 0}, ${where})`;
  if (level >= 2) terminal.info(`${head}: entered\n`);
  logExit();
  if (level >= 1) terminal.info(`${head}: about to call exit(${code})${o.dryRun ? " (DRY RUN)" : ""}\n`);
}

/** main.c client_run (--debug=EXIT2): the client waits for its child (the remote shell, or a local copy's other half). */
export function waitingDebugLine(o: Options, pid: number): void {
  if (outputConfig(o).debug.get("EXIT") >= 2) terminal.info(`client_run waiting on ${pid}\n`);
}
