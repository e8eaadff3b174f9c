/**
 * 32-bit hash of the UTF-8 bytes bytes[start, end): MurmurHash3's block mix four bytes a
 * step, FNV-1a over the tail, then fmix32 so that every input bit reaches the low bits
 * (hash tables take their slot from those) and the high bits (HyperLogLog takes its
 * register from those). The string sketches and the exact-count table share it, so a
 * value is hashed once per sketch pass however many sketches see it.
 */
export function hashUtf8(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 ^ (end - start);
  let b = start;
  for (; b + 4 <= end; b += 4) {
    let k = bytes[b] | (bytes[b + 1] << 8) | (bytes[b + 2] << 16) | (bytes[b + 3] << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  for (; b < end; b++) h = Math.imul(h ^ bytes[b], 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** Code points in the UTF-8 bytes bytes[start, end): every byte but a continuation byte (10xxxxxx) starts one. */
export function codePointsOf(bytes: Uint8Array, start: number, end: number): number {
  let chars = 0;
  for (let b = start; b < end; b++) if ((bytes[b] & 0xc0) !== 0x80) chars++;
  return chars;
}
