/** Prints failures the way upstream does, and picks the exit code. */
import { RERR, RsyncError, exitCodeText, type Role } from "../errors.ts";
import { terminal } from "../output/terminal.ts";
import { VERSION } from "../version.ts";

/**
 * upstream: "rsync error: <text> (code N) at <file>(<line>) [<role>=<version>]",
 * a warning for code 24 (vanished files are not an error).
 */
export function errorLine(code: number, role: Role): string {
  const kind = code === RERR.VANISHED ? "warning" : "error";
  return `rsync ${kind}: ${exitCodeText(code)} (code ${code}) at oc-rsync [${role}=oc-${VERSION}]\n`;
}

/** Reports `e` on stderr and returns the exit code to use. */
export function reportFailure(e: unknown, role: Role, aroundErrorLine?: (code: number, role: Role, logExit: () => void) => void): number {
  if (e instanceof RsyncError) {
    // Ended by the peer's MSG_ERROR_EXIT: the peer said what went wrong, and nothing is added.
    if ((e as { peerExited?: boolean }).peerExited) return e.code;
    // Each line on its own, as upstream's separate rprintf calls give them (a newline within one would be escaped).
    if (!e.quiet && e.message) for (const line of e.message.split("\n")) terminal.error(`${line}\n`);
    const logExit = () => terminal.error(errorLine(e.code, e.role ?? role));
    if (aroundErrorLine) aroundErrorLine(e.code, e.role ?? role, logExit);
    else logExit();
    return e.code;
  }
  // A bug, not a peer's or user's fault: show where, and exit like upstream's crash code.
  terminal.error(`rsync: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  terminal.error(errorLine(RERR.CRASHED, role));
  return RERR.CRASHED;
}
