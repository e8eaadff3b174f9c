import { describe, expect, it } from "vitest";
import { createRandom } from "./mulberry32.js";

describe("createRandom", () => {
  it("gives mulberry32's sequence: the same for a seed, another for another seed, in [0, 1)", () => {
    const draws = (seed: number) => Array.from({ length: 1000 }, createRandom(seed));
    const a = draws(1);
    // mulberry32(1)'s first value, as published implementations give it.
    expect(a[0]).toBeCloseTo(0.6270739405881613, 15);
    expect(draws(1)).toEqual(a);
    expect(draws(2)).not.toEqual(a);
    expect(a.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});
