/**
 * uid/gid -> name for the sending side (uidlist.c uid_to_user/gid_to_group,
 * which ask getpwuid/getgrgid). Node has no getpwuid, so the system's
 * /etc/passwd and /etc/group are read once (the first line for an id wins,
 * as NSS "files" does) and an id they lack is asked of `getent` (LDAP, sssd),
 * once per id. Names are bytes: a name is never re-encoded.
 */
import { readFileSync } from "node:fs";

export interface IdNameSource {
  /** The user name of `uid`, or null when it has none. */
  user(uid: number): Uint8Array | null;
  group(gid: number): Uint8Array | null;
}

function readDatabase(path: string): Map<number, Uint8Array> {
  const map = new Map<number, Uint8Array>();
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch {
    return map;
  }
  let at = 0;
  while (at < text.length) {
    let end = text.indexOf(0x0a, at);
    if (end < 0) end = text.length;
    const line = text.subarray(at, end);
    at = end + 1;
    const c1 = line.indexOf(0x3a);
    if (c1 <= 0) continue;
    const c2 = line.indexOf(0x3a, c1 + 1);
    if (c2 < 0) continue;
    let c3 = line.indexOf(0x3a, c2 + 1);
    if (c3 < 0) c3 = line.length;
    const idText = line.subarray(c2 + 1, c3).toString("latin1");
    if (!/^\d+$/.test(idText)) continue;
    const id = Number(idText);
    if (id > 0xffffffff || map.has(id)) continue;
    map.set(id, new Uint8Array(line.subarray(0, c1)));
  }
  return map;
}

function getent(database: "passwd" | "group", id: number): Uint8Array | null {
  try {
    const r = Bun.spawnSync(["getent", database, String(id)], { stdout: "pipe", stderr: "ignore" });
    if (r.exitCode !== 0) return null;
    const out = r.stdout;
    const colon = out.indexOf(0x3a);
    return colon > 0 ? new Uint8Array(out.subarray(0, colon)) : null;
  } catch {
    return null;
  }
}

class Database {
  private db: Map<number, Uint8Array> | null = null;
  private readonly asked = new Map<number, Uint8Array | null>();
  constructor(
    private readonly name: "passwd" | "group",
    private readonly useGetent: boolean,
  ) {}

  lookup(id: number): Uint8Array | null {
    this.db ??= readDatabase(`/etc/${this.name}`);
    const known = this.db.get(id);
    if (known) return known;
    if (!this.useGetent) return null;
    if (!this.asked.has(id)) this.asked.set(id, getent(this.name, id));
    return this.asked.get(id)!;
  }
}

/** The names this system gives its ids. */
export function systemIdNames(opts: { getent?: boolean } = {}): IdNameSource {
  const users = new Database("passwd", opts.getent ?? true);
  const groups = new Database("group", opts.getent ?? true);
  return { user: (uid) => users.lookup(uid), group: (gid) => groups.lookup(gid) };
}

/** Names from maps (e.g. what a peer announced: FlistDecoder.names). */
export function mapIdNames(users: Map<number, Uint8Array>, groups: Map<number, Uint8Array>): IdNameSource {
  return { user: (uid) => users.get(uid) ?? null, group: (gid) => groups.get(gid) ?? null };
}

/** No names at all. */
export const NO_ID_NAMES: IdNameSource = { user: () => null, group: () => null };
