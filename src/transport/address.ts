/**
 * Which arguments name a remote location, as upstream decides
 * (options.c check_for_hostspec): "rsync://[USER@]HOST[:PORT]/PATH",
 * "[USER@]HOST::PATH" (daemon), "[USER@]HOST:PATH" (remote shell). HOST may
 * be an IPv6 literal in brackets, returned without them.
 */

export interface HostSpec {
  /** "user@host" as written (user part included when given). */
  machine: string;
  /** The path part (for daemons: "module/path"). */
  path: string;
  /** 0 = remote shell; -1 = daemon on the default port; > 0 = daemon on that port. */
  port: number;
}

const URL_PREFIX = "rsync://";

/** Splits "host...": returns the host (with "user@") and where the path starts, or null if not a host spec. */
function parseHost(s: string, url: boolean): { host: string; rest: string; port: number } | null {
  let hostStart = 0;
  let hostLen = -1;
  let userLen = 0;
  let port = 0;
  let i = 0;
  for (; ; i++) {
    if (i >= s.length) {
      if (!url) return null; // only rsync:// may end without a path
      if (hostLen < 0) hostLen = i - hostStart;
      break;
    }
    const c = s[i];
    if (c === ":" || c === "/") {
      if (hostLen < 0) hostLen = i - hostStart;
      i++;
      if (c === "/") {
        if (!url) return null;
      } else if (url) {
        const digits = /^\d*/.exec(s.slice(i))![0];
        port = digits ? Number.parseInt(digits, 10) : 0;
        i += digits.length;
        if (i < s.length && s[i++] !== "/") return null;
      }
      break;
    }
    if (c === "@") {
      userLen = i + 1;
      hostStart = i + 1;
    } else if (c === "[") {
      if (i !== hostStart) return null;
      hostStart = i + 1;
      while (i < s.length && s[i] !== "]" && s[i] !== "/") i++;
      hostLen = i - hostStart;
      const after = s[i + 1];
      if (s[i] !== "]" || (after !== undefined && after !== "/" && after !== ":") || hostLen === 0) return null;
    }
  }
  const host = s.slice(0, userLen) + s.slice(hostStart, hostStart + hostLen);
  return { host, rest: s.slice(i), port };
}

/**
 * Returns the remote location named by `arg`, or null for a local path.
 * `optionPort` is --port (0 when not given): it applies to "::" and to URLs
 * without a port.
 */
export function checkForHostSpec(arg: string, optionPort = 0): HostSpec | null {
  if (arg.slice(0, URL_PREFIX.length).toLowerCase() === URL_PREFIX) {
    const parsed = parseHost(arg.slice(URL_PREFIX.length), true);
    if (parsed) {
      const port = parsed.port || optionPort || -1;
      return { machine: parsed.host, path: parsed.rest, port };
    }
  }
  const parsed = parseHost(arg, false);
  if (!parsed) return null;
  // parseHost consumed the first ':'; a second one makes it a daemon spec.
  if (parsed.rest.startsWith(":")) return { machine: parsed.host, path: parsed.rest.slice(1), port: optionPort || -1 };
  return { machine: parsed.host, path: parsed.rest, port: 0 };
}

/** Splits "user@host" (the last '@' separates them, as upstream). */
export function splitUser(machine: string): { user: string | undefined; host: string } {
  const at = machine.lastIndexOf("@");
  return at < 0 ? { user: undefined, host: machine } : { user: machine.slice(0, at), host: machine.slice(at + 1) };
}

export const DEFAULT_RSYNC_PORT = 873;
