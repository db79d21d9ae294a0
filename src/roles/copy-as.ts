/**
 * --copy-as=USER[:GROUP] (main.c become_copy_as_user): once the connection
 * is up, the side that touches files drops to USER (and GROUP, or USER's
 * own group and supplementary groups) for good, so what it reads and writes
 * is what that user may. A local copy has both sides in this process: the
 * first side to start switches it, the second finds it done. The option is
 * never sent to a server (-M--copy-as does that).
 */
import type { Options } from "../cli/options.ts";
import { RERR, RsyncError, type Role } from "../errors.ts";
import { errText } from "../fs/errors.ts";

/** The --copy-as this process has already become. */
let become: string | undefined;

function lookup(cmd: string[]): string | null {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "ignore" });
  return r.exitCode === 0 ? r.stdout.toString().trim() : null;
}

/** uidlist.c user_to_uid / group_to_gid with numbers allowed: a number is taken as it is. */
function idOf(name: string, database: "passwd" | "group"): number | null {
  if (name === "") return null;
  if (/^\d+$/.test(name)) return Number.parseInt(name, 10);
  const entry = lookup(["getent", database, name]);
  const id = entry === null ? Number.NaN : Number.parseInt(entry.split(":")[2] ?? "", 10);
  return Number.isFinite(id) ? id : null;
}

/** A user's primary group (getpwuid), or null when the system knows no such uid. */
function primaryGroup(uid: number): number | null {
  const entry = lookup(["getent", "passwd", String(uid)]);
  const gid = entry === null ? Number.NaN : Number.parseInt(entry.split(":")[3] ?? "", 10);
  return Number.isFinite(gid) ? gid : null;
}

interface CopyAsIdentity {
  spec: string;
  userName: string;
  uid: number;
  gid: number;
  /** No group given: the user's supplementary groups come too. */
  withUserGroups: boolean;
}

/** Who --copy-as names, or upstream's error for what it cannot find (as `role` reports it). */
function resolveCopyAs(spec: string, role: Role): CopyAsIdentity {
  const colon = spec.indexOf(":");
  const userName = colon < 0 ? spec : spec.slice(0, colon);
  const groupName = colon < 0 ? null : spec.slice(colon + 1);
  const uid = idOf(userName, "passwd");
  if (uid === null) throw failure(`Invalid copy-as user: ${userName}`, role);
  let gid: number | null;
  if (groupName !== null) {
    gid = idOf(groupName, "group");
    if (gid === null) throw failure(`Invalid copy-as group: ${groupName}`, role);
  } else {
    gid = primaryGroup(uid);
    // getpwuid finds nothing without setting errno: upstream reports errno 0.
    if (gid === null) throw failure(`rsync: [${role}] getpwuid failed: Success (0)`, role);
  }
  // A number names no user, so it brings no supplementary groups (initgroups finds none).
  return { spec, userName, uid, gid, withUserGroups: groupName === null && !/^\d+$/.test(userName) };
}

function failure(message: string, role: Role): RsyncError {
  const e = new RsyncError(RERR.SYNTAX, message);
  e.role = role;
  return e;
}

/**
 * A local copy is two processes in upstream, and each fails on a --copy-as
 * it cannot resolve: the receiving child says so, then the sender. Both are
 * reported here; the sender's failure is thrown.
 */
export function checkLocalCopyAs(o: Options, report: (e: RsyncError) => void): void {
  if (o.copyAs === undefined) return;
  try {
    resolveCopyAs(o.copyAs, "Receiver");
  } catch (e) {
    report(e as RsyncError);
    resolveCopyAs(o.copyAs, "sender");
  }
}

/** Switches this process to --copy-as's identity (nothing without the option, or when done already). */
export function becomeCopyAsUser(o: Options, role: Role): void {
  if (o.copyAs === undefined || become === o.copyAs) return;
  const id = resolveCopyAs(o.copyAs, role);
  const step = (what: string, call: () => void) => {
    try {
      call();
    } catch (e) {
      throw failure(`rsync: [${role}] ${what} failed: ${errText(e)}`, role);
    }
  };
  step("setgid", () => process.setgid!(id.gid));
  step("setgroups", () => process.setgroups!([id.gid]));
  if (id.withUserGroups) step("initgroups", () => (process as unknown as { initgroups(user: string, group: number): void }).initgroups(id.userName, id.gid));
  step("setuid", () => process.setuid!(id.uid));
  become = id.spec;
}
