/**
 * Daemon authentication (authenticate.c, compat.c negotiate_daemon_auth):
 * the response to a challenge is base64 (no padding) of H(password ‖
 * challenge), H chosen from the digest lists in the two greetings.
 */

/** Our preference order; all of them are available through Bun.CryptoHasher. */
export const AUTH_DIGESTS = ["sha512", "sha256", "sha1", "md5", "md4"] as const;
export type AuthDigest = (typeof AUTH_DIGESTS)[number] | "md4-old";

/**
 * The client's choice: the name in the daemon's list that ranks highest in
 * ours. Without a list: MD5 for protocol 30+, else the historic MD4 with a
 * zero seed prefix. Null when nothing is common.
 */
export function chooseAuthDigest(peerList: string | undefined, protocol: number): AuthDigest | null {
  if (peerList === undefined) return protocol >= 30 ? "md5" : "md4-old";
  const offered = new Set(peerList.split(/\s+/).filter(Boolean));
  return AUTH_DIGESTS.find((name) => offered.has(name)) ?? null;
}

/** The daemon's choice: the first name of the client's list that we support. */
export function chooseAuthDigestAsDaemon(peerList: string | undefined, protocol: number): AuthDigest | null {
  if (peerList === undefined) return protocol >= 30 ? "md5" : "md4-old";
  const ours = new Set<string>(AUTH_DIGESTS);
  return (peerList.split(/\s+/).find((name) => ours.has(name)) as AuthDigest | undefined) ?? null;
}

export function authResponse(digest: AuthDigest, password: Uint8Array, challenge: Uint8Array): string {
  const hasher = new Bun.CryptoHasher(digest === "md4-old" ? "md4" : digest);
  if (digest === "md4-old") hasher.update(new Uint8Array(4)); // the seed, always 0 here
  hasher.update(password);
  hasher.update(challenge);
  return Buffer.from(hasher.digest()).toString("base64").replace(/=+$/, "");
}
