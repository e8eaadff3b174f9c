/**
 * Seeded pseudo-random numbers for everything random in training (weight initialization
 * seeds, shuffling, dropout masks), so the same seed and data give the same model.
 * Each use draws from its own stream, derived from (seed, stream, index), so resuming at
 * epoch N needs no generator state: epoch N's shuffle and masks come from (seed, N).
 */
import { createRandom } from "@seam/kit/random";

/** Independent uses of the seed. */
export const Stream = { init: 1, shuffle: 2, dropout: 3, split: 4 } as const;

/** murmur3's 32-bit finalizer: a bijective mix with full avalanche. */
function fmix32(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * A 32-bit seed derived from a user seed (any finite number; integers up to 2^53 keep all
 * their bits) and further integer parts, e.g. (seed, Stream.shuffle, epoch).
 */
export function deriveSeed(seed: number, ...parts: number[]): number {
  const low = seed >>> 0;
  const high = Math.floor(seed / 0x1_0000_0000) >>> 0;
  let h = fmix32(low ^ 0x9e3779b9);
  h = fmix32(h ^ Math.imul(high, 0x85ebca6b));
  for (const part of parts) h = fmix32(h ^ Math.imul((part >>> 0) + 0x7f4a7c15, 0xc2b2ae35));
  return h;
}

/** A generator of uniform numbers in [0, 1) (mulberry32: fast, 2^32 period, plenty for masks and shuffles). */
export { createRandom };

/** Shuffles `values` in place (Fisher–Yates) and returns it. */
export function shuffleInPlace<T extends { length: number; [i: number]: number }>(
  values: T,
  random: () => number,
): T {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = values[i] as number;
    values[i] = values[j] as number;
    values[j] = tmp;
  }
  return values;
}
