/**
 * Maps the sender's uids/gids to ours (uidlist.c match_uid/match_gid): by
 * name when the sender sent one and we are not in --numeric-ids mode, else
 * by number. Each name is looked up once per run: name services can be slow,
 * and a lookup per file made another implementation 15x slower.
 */
import { readFileSync } from "node:fs";
import { mapById, parseNameMap, type NameMapRule } from "./name-map.ts";

/** Parses /etc/passwd- or /etc/group-style lines into name -> id. */
function readDatabase(path: string): Map<string, number> {
  const map = new Map<string, number>();
  let text: string;
  try {
    text = readFileSync(path, "latin1");
  } catch {
    return map;
  }
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields.length < 3 || !fields[0]) continue;
    const id = Number.parseInt(fields[2]!, 10);
    if (Number.isFinite(id) && !map.has(fields[0])) map.set(fields[0], id);
  }
  return map;
}

/** Asks the system's name service (NSS: LDAP, sssd...) for a name /etc does not have. */
function getent(database: "passwd" | "group", name: string): number | undefined {
  try {
    const r = Bun.spawnSync(["getent", database, name], { stdout: "pipe", stderr: "ignore" });
    if (r.exitCode !== 0) return undefined;
    const id = Number.parseInt(r.stdout.toString("latin1").split(":")[2] ?? "", 10);
    return Number.isFinite(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

class NameResolver {
  private db: Map<string, number> | null = null;
  private readonly cache = new Map<string, number | undefined>();
  constructor(private readonly database: "passwd" | "group") {}

  lookup(name: string): number | undefined {
    if (this.cache.has(name)) return this.cache.get(name);
    this.db ??= readDatabase(`/etc/${this.database}`);
    const id = this.db.get(name) ?? getent(this.database, name);
    this.cache.set(name, id);
    return id;
  }
}

export class IdMapper {
  private readonly users = new NameResolver("passwd");
  private readonly groups = new NameResolver("group");
  private readonly uidCache = new Map<number, number>();
  private readonly gidCache = new Map<number, number>();
  private readonly myGroups: Set<number>;
  /** --usermap / --groupmap rules, tried before names (uidlist.c recv_add_id). */
  private userRules: NameMapRule[] = [];
  private groupRules: NameMapRule[] = [];

  constructor(
    private readonly numericIds: boolean,
    private readonly amRoot: boolean,
    private readonly userNames: Map<number, Uint8Array>,
    private readonly groupNames: Map<number, Uint8Array>,
    /** Without CF_ID0_NAMES id 0 has no name on the wire and means "root". */
    private readonly id0IsRoot: boolean,
  ) {
    this.myGroups = new Set(process.getgroups?.() ?? []);
    const egid = process.getegid?.();
    if (egid !== undefined) this.myGroups.add(egid);
  }

  uid(remote: number): number {
    let local = this.uidCache.get(remote);
    if (local === undefined) {
      local = this.mapName(remote, this.userNames, this.users, this.userRules);
      this.uidCache.set(remote, local);
    }
    return local;
  }

  gid(remote: number): number {
    let local = this.gidCache.get(remote);
    if (local === undefined) {
      local = this.mapName(remote, this.groupNames, this.groups, this.groupRules);
      this.gidCache.set(remote, local);
    }
    return local;
  }

  /** A non-root receiver can only give files the groups it belongs to (upstream skips the others silently). */
  canSetGroup(localGid: number): boolean {
    return this.amRoot || this.myGroups.has(localGid);
  }

  /**
   * flist.c recv_file_list: the maps are read as the first list starts to
   * arrive (a malformed one throws; an unknown target name is only reported).
   */
  useMaps(usermap: string | undefined, groupmap: string | undefined, warn: (text: string) => void): void {
    if (usermap !== undefined) this.userRules = parseNameMap(usermap, true, (name) => this.users.lookup(name), warn);
    if (groupmap !== undefined) this.groupRules = parseNameMap(groupmap, false, (name) => this.groups.lookup(name), warn);
  }

  /**
   * uidlist.c recv_add_id: a map's first matching rule, else the local id of
   * the sender's name (never for id 0, which stays 0), else the number as it is.
   * Under --numeric-ids there are no names: only a map changes anything.
   */
  private mapName(remote: number, names: Map<number, Uint8Array>, resolver: NameResolver, rules: readonly NameMapRule[]): number {
    if (this.numericIds && rules.length === 0) return remote;
    const sent = this.numericIds ? undefined : names.get(remote);
    // parse_name_map: when id 0's name is not sent, a map sees it as "root".
    const name = sent ? Buffer.from(sent).toString("latin1") : remote === 0 && this.id0IsRoot && rules.length > 0 && !this.numericIds ? "root" : "";
    const mapped = rules.length ? mapById(rules, remote, name) : undefined;
    if (mapped !== undefined) return mapped;
    if (!name || remote === 0) return remote;
    return resolver.lookup(name) ?? remote;
  }
}
