import { type Data, Utf8, vectorFromArray } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { compareFrequencies, SpaceSaving } from "./space-saving.js";
import { StringAccumulator } from "./string-stats.js";
import { prng } from "./test-support.js";
import { codePointsOf } from "./utf8-hash.js";
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

describe("Utf8Table lengths and near-equal values", () => {
  it("counts in code points each value's length, and keeps prefixes and one-byte changes apart", () => {
    const table = new Utf8Table(2);
    // Lengths 0 to 9 cross the four-byte steps of the hash; "\u{1F600}" is four bytes, one code point.
    const values = [
      "",
      "a",
      "ab",
      "abc",
      "abcd",
      "abce",
      "abcde",
      "abcdé",
      "é\u{1F600}x",
      "abcdefghi",
      "bbcdefghi",
    ];
    const counts = new Map<string, number>();
    for (let round = 1; round <= 3; round++) {
      for (const v of values.slice(0, values.length - round + 1)) {
        const bytes = Buffer.from(`<${v}>`, "utf8");
        table.add(bytes, 1, bytes.length - 1);
        expect(codePointsOf(bytes, 1, bytes.length - 1)).toBe([...v].length);
        counts.set(v, (counts.get(v) ?? 0) + 1);
      }
    }
    const got = new Map<string, number>();
    table.forEach((bytes, start, end, count) => {
      got.set(Buffer.from(bytes.subarray(start, end)).toString("utf8"), count);
    });
    expect(got).toEqual(counts);
  });
});

describe("Utf8Table top entries and UTF-8 check", () => {
  /** The table's entries decoded, as the exact counts the sketches are seeded from. */
  function decoded(table: Utf8Table) {
    const all: Array<{ value: string; count: number }> = [];
    table.forEach((bytes, start, end, count) => {
      all.push({ value: Buffer.from(bytes.subarray(start, end)).toString("utf8"), count });
    });
    return all;
  }

  it("lists the k most frequent in compareFrequencies order, ties by code point", () => {
    // Many ties (a long tail of equal counts), multi-byte and astral characters, and
    // U+E000..U+FFFF beside astral ones, where UTF-16 order and code point order differ.
    const rand = prng(7);
    const alphabet = ["a", "b", "é", "\u{1F600}", "\uFF21", "z"];
    const table = new Utf8Table(8);
    for (let i = 0; i < 20_000; i++) {
      const length = 1 + Math.floor(rand() * 3);
      let v = "";
      for (let c = 0; c < length; c++) v += alphabet[Math.floor(rand() * alphabet.length)];
      const bytes = Buffer.from(v, "utf8");
      table.add(bytes, 0, bytes.length, 1 + Math.floor(rand() * 3));
    }
    const expected = decoded(table).sort(compareFrequencies);
    for (const k of [1, 10, 100, table.size, table.size + 5]) {
      const got: Array<{ value: string; count: number }> = [];
      table.forEachTop(k, (bytes, start, end, count) => {
        got.push({ value: Buffer.from(bytes.subarray(start, end)).toString("utf8"), count });
      });
      expect(got).toEqual(expected.slice(0, k));
    }
  });

  it("tells whether every value is valid UTF-8, even where neighbours would join into a character", () => {
    const table = new Utf8Table();
    const add = (bytes: number[]) => table.add(Uint8Array.from(bytes), 0, bytes.length);
    add([0x61, 0xc3, 0xa9]);
    expect(table.allValidUtf8()).toBe(true);
    // 0xc3 alone then 0xa9 alone: each invalid, though together they would read "é".
    add([0x62, 0xc3]);
    add([0xa9]);
    expect(table.allValidUtf8()).toBe(false);
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

describe("StringAccumulator lengths", () => {
  it("counts code points in batches with and without multi-byte values, and in slices of them", () => {
    const data = vectorFromArray(["日本語", "ab", "abcd", null, "é"], new Utf8()).data[0] as Data<Utf8>;
    const lengths = (batch: Data<Utf8>) => {
      const acc = new StringAccumulator();
      acc.add(batch);
      const { minLength, maxLength } = acc.result();
      return [Number(minLength), Number(maxLength)];
    };
    expect(lengths(data)).toEqual([1, 4]);
    // All ASCII: lengths in bytes. The slices' bytes are the parent's, around the slice.
    expect(lengths(data.slice(1, 2))).toEqual([2, 4]);
    expect(lengths(data.slice(0, 2))).toEqual([2, 3]);
    expect(lengths(data.slice(2, 3))).toEqual([1, 4]);
  });
});
