/**
 * A generator of uniform numbers in [0, 1) from a 32-bit seed (mulberry32: small, fast,
 * period 2^32). The same seed always gives the same sequence. Not for secrets.
 */
export function createRandom(seed32: number): () => number {
  let state = seed32 >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}
