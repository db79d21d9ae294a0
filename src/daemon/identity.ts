/**
 * Who a module's transfer runs as (clientserver.c rsync_module): "uid" and
 * "gid" (names or numbers; "gid" may list several), and when the daemon runs
 * as root and they are not set, nobody and nogroup. Names are resolved with
 * the system's own tools (Bun has no getpwnam).
 */
import type { ModuleConfig } from "./config.ts";

const NOBODY_USER = "nobody";
const NOBODY_GROUP = "nogroup";

function lookup(cmd: string[]): string | null {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "ignore" });
  return r.exitCode === 0 ? r.stdout.toString().trim() : null;
}

function userId(name: string): number | null {
  if (/^\d+$/.test(name)) return Number.parseInt(name, 10);
  const out = lookup(["id", "-u", "--", name]);
  return out === null ? null : Number.parseInt(out, 10);
}

function groupId(name: string): number | null {
  if (/^\d+$/.test(name)) return Number.parseInt(name, 10);
  const out = lookup(["getent", "group", name]);
  if (out === null) return null;
  return Number.parseInt(out.split(":")[2] ?? "", 10);
}

/** A user's system groups by name (for "@group" in "auth users"). */
export function groupsOf(user: string): string[] {
  const out = lookup(["id", "-Gn", "--", user]);
  return out === null ? [] : out.split(/\s+/).filter(Boolean);
}

export interface Identity {
  uid: number | null;
  gids: number[];
}

/**
 * The module's uid and gids, looked up now (before a chroot hides the
 * system's user database); throws with upstream's "@ERROR" text on a bad setting.
 */
export function moduleIdentity(mod: ModuleConfig): Identity {
  const amRoot = process.getuid?.() === 0;
  const userName = mod.str("uid") || (amRoot ? NOBODY_USER : "");
  const uid = userName ? userId(userName) : null;
  if (userName && uid === null) throw new Error(`invalid uid ${userName}`);
  const groupNames = mod.str("gid").split(/[\s,]+/).filter(Boolean);
  if (groupNames.length === 0 && amRoot) groupNames.push(NOBODY_GROUP);
  const gids: number[] = [];
  for (const name of groupNames) {
    const gid = groupId(name);
    if (gid === null || !Number.isFinite(gid)) throw new Error(`invalid gid ${name}`);
    gids.push(gid);
  }
  return { uid, gids };
}

/** Takes the module's gids, then its uid (for good: there is no way back to root). */
export function becomeIdentity(id: Identity): void {
  const amRoot = process.getuid?.() === 0;
  if (id.gids.length > 0) {
    try {
      process.setgid!(id.gids[0]!);
      if (amRoot) process.setgroups!(id.gids);
    } catch {
      throw new Error("setgid failed");
    }
  }
  if (id.uid !== null && id.uid !== process.getuid?.()) {
    try {
      process.setuid!(id.uid);
    } catch {
      throw new Error("setuid failed");
    }
  }
}
