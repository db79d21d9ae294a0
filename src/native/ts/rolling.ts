/**
 * rsync's weak "rolling" checksum (checksum.c get_checksum1).
 *
 * Bytes are signed chars there, so they are read through an Int8Array view.
 * With x the signed bytes and n the length:
 *   s1 = Σ x[i]            s2 = Σ (n − i)·x[i]        (mod 2^32)
 * and the checksum is (s1 & 0xffff) | (s2 << 16) as an unsigned 32-bit value.
 */
export function rollingChecksum(data: Uint8Array): number {
  const x = new Int8Array(data.buffer, data.byteOffset, data.byteLength);
  const n = x.length;
  let s1 = 0;
  let s2 = 0;
  let i = 0;
  // Four bytes per iteration, as upstream does: s2 gains s1 once per byte
  // consumed, so over four bytes it gains 4·s1 plus the new bytes weighted 4,3,2,1.
  for (; i + 4 <= n; i += 4) {
    const x0 = x[i]!;
    const x1 = x[i + 1]!;
    const x2 = x[i + 2]!;
    const x3 = x[i + 3]!;
    s2 = (s2 + 4 * (s1 + x0) + 3 * x1 + 2 * x2 + x3) | 0;
    s1 = (s1 + x0 + x1 + x2 + x3) | 0;
  }
  for (; i < n; i++) {
    s1 = (s1 + x[i]!) | 0;
    s2 = (s2 + s1) | 0;
  }
  return ((s1 & 0xffff) | (s2 << 16)) >>> 0;
}
