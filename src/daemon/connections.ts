/**
 * "max connections" (connection.c claim_connection): upstream locks one
 * record per slot in the lock file. Bun has no record locks, so each slot is
 * a file beside the lock file ("LOCKFILE.N") holding the owner's pid; a slot
 * whose owner is gone is taken over. The slot is freed when the process exits.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";

export type Claim = { ok: true } | { ok: false; error?: Error };

export function claimConnection(lockFile: string, max: number): Claim {
  if (max <= 0) return { ok: true };
  for (let slot = 0; slot < max; slot++) {
    const path = `${lockFile}.${slot}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, "wx", 0o600);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        process.on("exit", () => {
          try {
            unlinkSync(path);
          } catch {}
        });
        return { ok: true };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "EEXIST") return { ok: false, error: e as Error };
        if (!ownerIsGone(path)) break;
        try {
          unlinkSync(path);
        } catch {}
      }
    }
  }
  return { ok: false };
}

function ownerIsGone(path: string): boolean {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(path, "utf8"), 10);
  } catch {
    return false;
  }
  if (!Number.isFinite(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}
