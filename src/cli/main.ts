/** The command line: argv in, exit code out. */
import { checkSuperOptions } from "../roles/super-user.ts";
import { runCommand } from "citty";
import { RERR, type Role } from "../errors.ts";
import { versionText } from "../version.ts";
import { helpText } from "./help.ts";
import { outputWordsHelp } from "./output-help.ts";
import { optionTable, modeTable } from "./option-table.ts";
import { parseArgv } from "./option-spec.ts";
import { DaemonModeSwitch, daemonHelpText, parseDaemonArgv } from "./daemon-mode.ts";
import { defaultOptions, type Options } from "./options.ts";
import { outputConfig } from "./output-config.ts";
import { finishBackupOptions } from "./backup-options.ts";
import { checkPartialOptions } from "./partial-options.ts";
import { errorLine, reportFailure } from "./report.ts";
import { tools } from "./tools.ts";
import { runClient } from "../client/run.ts";
import { runServer } from "../server/server-main.ts";
import { runDaemon } from "../daemon/daemon.ts";
import { clientLog } from "../output/client-log.ts";
import { terminal } from "../output/terminal.ts";
import { exitDebugLines } from "../client/exit-debug.ts";

export async function main(argv: string[]): Promise<number> {
  const tool = argv[0] === undefined ? undefined : tools[argv[0]];
  if (tool) {
    try {
      await runCommand(tool, { rawArgs: argv.slice(1) });
      return 0;
    } catch (e) {
      return reportFailure(e, "client");
    }
  }

  let o = defaultOptions();
  try {
    // As upstream: no arguments prints the help to stderr and fails; -h alone is --help.
    if (argv.length === 0) {
      process.stderr.write(helpText(optionTable));
      process.stderr.write(errorLine(RERR.SYNTAX, "client"));
      return RERR.SYNTAX;
    }
    if (argv.length === 1 && argv[0] === "-h") o.showHelp = true;
    else {
      try {
        parseArgv(argv, [...optionTable, ...modeTable], o);
      } catch (e) {
        if (!(e instanceof DaemonModeSwitch)) throw e;
        // Daemon mode: the whole command line again, with the daemon's options only.
        o = defaultOptions();
        parseDaemonArgv(argv, [...optionTable, ...modeTable], o);
        if (o.showHelp) {
          process.stdout.write(daemonHelpText());
          return 0;
        }
      }
      if (!o.daemon) {
        finishBackupOptions(o);
        checkPartialOptions(o);
        checkSuperOptions(o);
      }
    }

    if (o.showOutputHelp) {
      process.stdout.write(outputWordsHelp(o.showOutputHelp));
      return 0;
    }
    if (o.showHelp) {
      process.stdout.write(helpText(optionTable));
      return 0;
    }
    if (o.showVersion) {
      process.stdout.write(versionText());
      return 0;
    }
    // A daemon a client's remote shell started (`--server --daemon .`) serves it on the shell's pipes.
    if (o.server && o.daemon) return await runDaemon(o);
    // The far end of a remote shell reports its own failures, to the client.
    if (o.server) return await runServer(o);
    if (o.daemon) return await runDaemon(o);
    // Options without any path: upstream's client prints the help and fails, as with no arguments at all.
    if (o.args.length === 0) {
      process.stderr.write(helpText(optionTable));
      process.stderr.write(errorLine(RERR.SYNTAX, "Receiver"));
      return RERR.SYNTAX;
    }
    const { code, role, plainExit, silent } = await runClient(o);
    if (silent) return code;
    clientLog.exit(code);
    // Errors thrown on the way were reported where they were caught; a run that ended with errors says so here.
    const logExit = () => {
      if (code !== 0) terminal.error(errorLine(code, role));
    };
    if (plainExit) logExit();
    else exitDebugLines(o, role, code, false, logExit);
    return code;
  } catch (e) {
    // A client's --debug=EXIT lines frame its error line (not when the options themselves were wrong).
    const exitLines = o.server || o.daemon || !debugLevelsUsable(o) ? undefined : (code: number, role: Role, logExit: () => void) => exitDebugLines(o, role, code, true, logExit);
    return reportFailure(e, "client", exitLines);
  }
}

function debugLevelsUsable(o: Options): boolean {
  try {
    outputConfig(o);
    return true;
  } catch {
    return false;
  }
}
