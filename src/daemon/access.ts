/**
 * "hosts allow" / "hosts deny" (access.c allow_access): a client matching an
 * allow entry is in; with an allow list and no deny list everyone else is
 * out; otherwise a deny match is out and everyone else is in. An entry is an
 * address, an address with a /bits or /mask suffix, or a host name pattern
 * (wildcards allowed, matched against the reverse-looked-up name).
 */
import { isIPv4, isIPv6 } from "node:net";
import { hasWildcards, iwildmatch } from "../flist/wildmatch.ts";

/** An IPv4 client on a dual-stack socket shows up as ::ffff:a.b.c.d. */
export function plainAddress(addr: string): string {
  return addr.startsWith("::ffff:") && isIPv4(addr.slice(7)) ? addr.slice(7) : addr;
}

export function allowAccess(addr: string, host: string, allow: string, deny: string): boolean {
  const allowList = splitList(allow);
  const denyList = splitList(deny);
  if (allowList.length === 0 && denyList.length === 0) return true;
  if (allowList.length > 0) {
    if (allowList.some((tok) => matches(tok, addr, host))) return true;
    if (denyList.length === 0) return false;
  }
  return !denyList.some((tok) => matches(tok, addr, host));
}

const splitList = (list: string) => list.split(/[\s,]+/).filter((t) => t !== "");

function matches(tok: string, addr: string, host: string): boolean {
  const slash = tok.indexOf("/");
  if (slash >= 0) return matchMasked(tok.slice(0, slash), tok.slice(slash + 1), addr);
  if (hasWildcards(tok)) return iwildmatch(tok, host) || iwildmatch(tok, addr);
  return tok === addr || tok.toLowerCase() === host.toLowerCase();
}

function matchMasked(net: string, mask: string, addr: string): boolean {
  const a = addressBytes(addr);
  const n = addressBytes(net);
  if (!a || !n || a.length !== n.length) return false;
  let maskBytes: number[];
  if (/^\d+$/.test(mask)) {
    const bits = Number.parseInt(mask, 10);
    if (bits > a.length * 8) return false;
    maskBytes = Array.from({ length: a.length }, (_, i) => {
      const b = Math.max(0, Math.min(8, bits - i * 8));
      return (0xff << (8 - b)) & 0xff;
    });
  } else {
    const mb = addressBytes(mask);
    if (!mb || mb.length !== a.length) return false;
    maskBytes = mb;
  }
  return a.every((byte, i) => (byte & maskBytes[i]!) === (n[i]! & maskBytes[i]!));
}

function addressBytes(addr: string): number[] | null {
  if (isIPv4(addr)) return addr.split(".").map((p) => Number.parseInt(p, 10));
  if (!isIPv6(addr)) return null;
  const [head, tail = ""] = addr.split("::") as [string, string?];
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  let hs = groups(head);
  let ts = groups(tail);
  // An embedded IPv4 tail counts as two groups.
  const v4 = (list: string[]) => {
    const last = list[list.length - 1];
    if (last && isIPv4(last)) {
      const b = last.split(".").map((p) => Number.parseInt(p, 10));
      list.splice(-1, 1, ((b[0]! << 8) | b[1]!).toString(16), ((b[2]! << 8) | b[3]!).toString(16));
    }
    return list;
  };
  hs = v4(hs);
  ts = v4(ts);
  const fill = addr.includes("::") ? Array(8 - hs.length - ts.length).fill("0") : [];
  const all = [...hs, ...fill, ...ts];
  if (all.length !== 8) return null;
  return all.flatMap((h) => {
    const v = Number.parseInt(h, 16);
    return [v >> 8, v & 0xff];
  });
}
