/**
 * The daemon's name for a client address (socket.c client_name): libc's
 * getnameinfo, so /etc/hosts answers as it does for upstream (getent asks
 * the same nsswitch sources).
 */
import { describe, expect, test } from "bun:test";
import { hostName } from "../../src/daemon/host-name.ts";

function getent(addr: string): string {
  const r = Bun.spawnSync(["getent", "hosts", addr]);
  return r.exitCode === 0 ? r.stdout.toString().trim().split(/\s+/)[1]! : "UNKNOWN";
}

describe("hostName", () => {
  for (const addr of ["127.0.0.1", "::1"]) {
    test(`${addr} is named as getent names it`, () => {
      expect(hostName(addr)).toBe(getent(addr));
    });
  }

  test("loopback is found in /etc/hosts without waiting for DNS", () => {
    expect(hostName("127.0.0.1")).toBe("localhost");
  });

  test("what is not a numeric address has no name", () => {
    expect(hostName("localhost")).toBe("UNKNOWN");
    expect(hostName("")).toBe("UNKNOWN");
  });
});
