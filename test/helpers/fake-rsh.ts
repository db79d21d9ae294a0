import { writeFileSync } from "node:fs";

/**
 * Writes a stand-in for ssh at `path`: it drops "-l USER" and the host and
 * runs the rest as a shell command, as ssh's far end would, so a client's
 * `-e PATH` starts its server on this machine. Returns `path`.
 */
export function writeFakeRsh(path: string): string {
  writeFileSync(path, '#!/bin/sh\nwhile [ "$1" = "-l" ]; do shift 2; done\nshift\nexec sh -c "$*"\n', { mode: 0o755 });
  return path;
}
