/**
 * A daemon module's authentication (authenticate.c auth_server): a random
 * challenge, the client's "USER RESPONSE" line, the first "auth users" rule
 * matching the user (a name pattern, or "@group" for the user's system
 * groups; ":deny", ":ro" or ":rw" after it), and the secrets file's password
 * for the user (or "@group") hashed with the challenge.
 */
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { authResponse, type AuthDigest } from "../protocol/daemon-auth.ts";
import { wildmatch } from "../flist/wildmatch.ts";

export interface AuthOutcome {
  /** The authenticated user, or null with `error` saying why not (for the log). */
  user: string | null;
  error?: string;
  /** ":ro" or ":rw" on the matching rule. */
  readOnly?: boolean;
}

/** A challenge as long as the digest, base64 without padding (gen_challenge). */
export function makeChallenge(digest: AuthDigest, addr: string): string {
  const hasher = new Bun.CryptoHasher(digest === "md4-old" ? "md4" : digest);
  hasher.update(randomBytes(32));
  hasher.update(`${addr}\0${Date.now()}\0${process.pid}`);
  return Buffer.from(hasher.digest()).toString("base64").replace(/=+$/, "");
}

export interface AuthCheck {
  authUsers: string;
  secretsFile: string;
  strictModes: boolean;
  digest: AuthDigest;
  challenge: string;
  /** The client's line: "USER RESPONSE". */
  line: string;
  /** The system groups of a user (for "@group" rules). */
  groupsOf: (user: string) => string[];
}

export function checkAuth(c: AuthCheck): AuthOutcome {
  const space = c.line.indexOf(" ");
  if (space < 0) return { user: null, error: "invalid challenge response" };
  const user = c.line.slice(0, space);
  const response = c.line.slice(space + 1);
  let option = "";
  let group: string | null = null;
  let matched = false;
  for (const rule of splitRules(c.authUsers)) {
    const colon = rule.indexOf(":");
    const pattern = colon < 0 ? rule : rule.slice(0, colon);
    const opts = colon < 0 ? "" : rule.slice(colon + 1).toLowerCase();
    option = opts.startsWith("d") ? "deny" : opts.startsWith("ro") ? "ro" : opts.startsWith("rw") ? "rw" : "";
    if (!pattern.startsWith("@")) {
      if (wildmatch(pattern, user)) {
        matched = true;
        break;
      }
      continue;
    }
    const hit = c.groupsOf(user).find((name) => wildmatch(pattern.slice(1), name));
    if (hit !== undefined) {
      group = hit;
      matched = true;
      break;
    }
  }
  if (!matched) return { user: null, error: "no matching rule" };
  if (option === "deny") return { user: null, error: "denied by rule" };
  const error = checkSecret(c, user, group, response);
  if (error) return { user: null, error };
  return { user, readOnly: option === "ro" ? true : option === "rw" ? false : undefined };
}

/** conf_strtok: a list starting with ',' splits on commas only (names may hold spaces); else on commas and spaces. */
function splitRules(list: string): string[] {
  const sep = list.trimStart().startsWith(",") ? /,/ : /[\s,]+/;
  return list.split(sep).map((t) => t.trim()).filter((t) => t !== "");
}

function checkSecret(c: AuthCheck, user: string, group: string | null, response: string): string | null {
  if (!c.secretsFile) return "no secrets file";
  let text: string;
  try {
    const fd = openSync(c.secretsFile, "r");
    try {
      const st = fstatSync(fd);
      if (c.strictModes) {
        if ((st.mode & 0o6) !== 0) return "ignoring secrets file (secrets file must not be other-accessible (see strict modes option))";
        if (process.getuid?.() === 0 && st.uid !== 0) return "ignoring secrets file (secrets file must be owned by root when running as root (see strict modes))";
      }
      text = readFileSync(fd, "latin1");
    } finally {
      closeSync(fd);
    }
  } catch {
    return "no secrets file";
  }
  if (user.startsWith("#")) return "invalid username";
  let error = "secret not found";
  let lookUser: string | null = user;
  let lookGroup = group;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\r$/, "");
    if (line === "") continue;
    const isGroup = line.startsWith("@");
    const name = isGroup ? lookGroup : lookUser;
    const body = isGroup ? line.slice(1) : line;
    if (name === null || !body.startsWith(`${name}:`)) continue;
    const password = Buffer.from(body.slice(name.length + 1), "latin1");
    if (authResponse(c.digest, password, Buffer.from(c.challenge, "latin1")) === response) return null;
    error = "password mismatch";
    if (isGroup) lookGroup = null;
    else lookUser = null;
  }
  return error;
}
