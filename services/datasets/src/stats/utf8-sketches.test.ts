import { describe, expect, it } from "vitest";
import { compareFrequencies, SpaceSaving } from "./space-saving.js";
import { prng } from "./test-support.js";
import { Utf8SpaceSaving } from "./utf8-space-saving.js";
import { Utf8Table } from "./utf8-table.js";

/** Skewed values (a few hot, a long tail), some multi-byte. */
function values(n: number, seed: number): string[] {
  const rand = prng(seed);
  return Array.from({ length: n }, () => {
    const r = rand();
    return r < 0.3 ? `hot-${Math.floor(r * 10)}` : `tail-é-${Math.floor(rand() * 5000)}`;
  });
}

describe("Utf8Table", () => {
  it("counts byte strings exactly, through growth", () => {
    const table = new Utf8Table(4);
    const expected = new Map<string, number>();
    for (const v of values(50_000, 1)) {
      const bytes = Buffer.from(`x${v}y`, "utf8");
      table.add(bytes, 1, bytes.length - 1);
      expected.set(v, (expected.get(v) ?? 0) + 1);
    }
    const got = new Map<string, number>();
    table.forEach((bytes, start, end, count) => {
      got.set(Buffer.from(bytes.subarray(start, end)).toString("utf8"), count);
    });
    expect(table.size).toBe(expected.size);
    expect(got).toEqual(expected);
  });
});

describe("Utf8SpaceSaving", () => {
  it("keeps the same counters as SpaceSaving over strings", () => {
    for (const capacity of [1, 7, 64, 1024]) {
      const strings = new SpaceSaving(capacity);
      const bytes = new Utf8SpaceSaving(capacity);
      for (const v of values(30_000, capacity)) {
        strings.add(v);
        const b = Buffer.from(v, "utf8");
        bytes.add(b, 0, b.length);
      }
      strings.add("seeded", 5);
      const seeded = Buffer.from("seeded");
      bytes.add(seeded, 0, seeded.length, 5);
      expect(bytes.entries().sort(compareFrequencies)).toEqual(strings.entries().sort(compareFrequencies));
    }
  });
});
