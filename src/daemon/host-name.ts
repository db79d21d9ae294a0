/**
 * socket.c client_name: the name of a client's address, by libc's
 * getnameinfo as upstream asks it. That honours nsswitch.conf (/etc/hosts
 * before DNS), so 127.0.0.1 is "localhost" at once. Bun's dns.lookupService
 * asked a DNS server first and, where none answers, took a second or more
 * per connection before the daemon said a word.
 *
 * It blocks, as upstream's does: it runs in the connection's own process,
 * before anything else happens there.
 */
import { FFIType } from "bun:ffi";
import { isIPv4, isIPv6 } from "node:net";
import { openLibcWith } from "../fs/libc.ts";

const AF_INET = 2;
const AF_INET6 = process.platform === "darwin" ? 30 : 10;
/** getnameinfo: fail rather than give the address back as its name. */
const NI_NAMEREQD = process.platform === "darwin" ? 4 : 8;
const NI_MAXHOST = 1025;

let libc: ReturnType<typeof open> | null = null;
const open = () =>
  openLibcWith({
    inet_pton: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    getnameinfo: { args: [FFIType.ptr, FFIType.u32, FFIType.ptr, FFIType.u32, FFIType.ptr, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
  });

/** The host name of a numeric address, or "UNKNOWN" when it has none (or is not an address). */
export function hostName(addr: string): string {
  const v6 = isIPv6(addr);
  if (!v6 && !isIPv4(addr)) return "UNKNOWN";
  libc ??= open();
  const s = libc.symbols;
  // sockaddr_in (16 bytes: family, port, address) or sockaddr_in6 (28: family, port, flow, address, scope).
  const sa = new Uint8Array(v6 ? 28 : 16);
  const view = new DataView(sa.buffer);
  if (process.platform === "darwin") {
    sa[0] = sa.length;
    sa[1] = v6 ? AF_INET6 : AF_INET;
  } else view.setUint16(0, v6 ? AF_INET6 : AF_INET, true);
  if (s.inet_pton(v6 ? AF_INET6 : AF_INET, Buffer.from(`${addr}\0`), sa.subarray(v6 ? 8 : 4)) !== 1) return "UNKNOWN";
  const host = new Uint8Array(NI_MAXHOST);
  if (s.getnameinfo(sa, sa.length, host, host.length, null, 0, NI_NAMEREQD) !== 0) return "UNKNOWN";
  const end = host.indexOf(0);
  return Buffer.from(host.subarray(0, end < 0 ? host.length : end)).toString() || "UNKNOWN";
}
