/**
 * SHA-1 (CSUM_SHA1) for the twin, through node:crypto: upstream too computes
 * it with OpenSSL (EVP), and nothing here needs a copy of a hasher's state.
 */
import { createHash } from "node:crypto";
import type { Hasher } from "../api.ts";

export function createSha1(): Hasher {
  const h = createHash("sha1");
  return {
    update(data) {
      h.update(data);
    },
    digest() {
      // A plain Uint8Array of its own (a Buffer may be a view into a shared pool).
      return new Uint8Array(h.digest());
    },
  };
}
