import { create } from "@bufbuild/protobuf";
import { InvalidArgumentError } from "@seam/kit/errors";
import { Split, type SplitSpec, SplitSpecSchema } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { describe, expect, it } from "vitest";
import {
  batchOf,
  bool,
  ColumnType,
  int64,
  schemaOf,
  sourceOf,
  timestampMs,
  utf8,
} from "../stats/test-support.js";
import { fnvBytes, fnvInit, hash64OfBytes } from "./hash64.js";
import { assignSplits, countSplits, rowSplitMask, splitOfKey, validateSplitSpec } from "./index.js";

const spec = (init: Partial<Omit<SplitSpec, "$typeName">> = {}): SplitSpec =>
  create(SplitSpecSchema, {
    seed: 42n,
    trainFraction: 0.6,
    validationFraction: 0.2,
    testFraction: 0.2,
    ...init,
  });

// Independent BigInt reference of the documented hash: FNV-1a 64 then fmix64.
const M64 = (1n << 64n) - 1n;
function referenceHash(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & M64;
  h ^= h >> 33n;
  h = (h * 0xff51afd7ed558ccdn) & M64;
  h ^= h >> 33n;
  h = (h * 0xc4ceb9fe1a85ec53n) & M64;
  h ^= h >> 33n;
  return h;
}

function referenceSplit(s: SplitSpec, payload: Uint8Array): Split {
  const bytes = new Uint8Array(8 + payload.length);
  new DataView(bytes.buffer).setBigUint64(0, s.seed, true);
  bytes.set(payload, 8);
  const u = Number(referenceHash(bytes) >> 11n) / 2 ** 53;
  if (u < s.trainFraction) return Split.TRAIN;
  if (u < s.trainFraction + s.validationFraction) return Split.VALIDATION;
  return Split.TEST;
}

const intPayload = (v: bigint): Uint8Array => {
  const b = new Uint8Array(9);
  b[0] = 0x01;
  new DataView(b.buffer).setBigInt64(1, v, true);
  return b;
};

describe("hash64", () => {
  it("is FNV-1a 64 before finalization (published test vectors)", () => {
    const h = fnvInit();
    fnvBytes(h, new TextEncoder().encode("a"), 0, 1);
    expect(((BigInt(h.hi) << 32n) | BigInt(h.lo)).toString(16)).toBe("af63dc4c8601ec8c");
    const foobar = fnvInit();
    fnvBytes(foobar, new TextEncoder().encode("foobar"), 0, 6);
    expect(((BigInt(foobar.hi) << 32n) | BigInt(foobar.lo)).toString(16)).toBe("85944171f73967e8");
  });

  it("matches a BigInt reference on random inputs", () => {
    let state = 12345;
    const rand = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state >>> 16;
    };
    for (let n = 0; n < 300; n++) {
      const bytes = Uint8Array.from({ length: n % 40 }, () => rand() & 0xff);
      expect(hash64OfBytes(bytes)).toBe(referenceHash(bytes));
    }
  });
});

describe("validateSplitSpec", () => {
  const schema = schemaOf([
    ["id", ColumnType.INT64],
    ["score", ColumnType.FLOAT64],
    ["user", ColumnType.STRING],
  ]);

  it("accepts a good spec, with or without a key column", () => {
    expect(() => validateSplitSpec(spec(), schema)).not.toThrow();
    expect(() => validateSplitSpec(spec({ keyColumn: "user" }), schema)).not.toThrow();
    // 0.7 + 0.2 + 0.1 is 0.9999999999999999 in doubles.
    expect(() =>
      validateSplitSpec(spec({ trainFraction: 0.7, validationFraction: 0.2, testFraction: 0.1 }), schema),
    ).not.toThrow();
  });

  it.each([
    [{ trainFraction: 1.5, validationFraction: 0, testFraction: -0.5 }, /spec\.train_fraction/],
    [{ trainFraction: 0.5, validationFraction: -0.1, testFraction: 0.6 }, /spec\.validation_fraction/],
    [{ trainFraction: 0.5, validationFraction: 0.5, testFraction: Number.NaN }, /spec\.test_fraction/],
    [{ trainFraction: 0.5, validationFraction: 0.2, testFraction: 0.2 }, /add up to 1/],
    [{ keyColumn: "nope" }, /spec\.key_column.*"nope"/],
    [{ keyColumn: "score" }, /spec\.key_column.*float64/],
  ])("refuses %o", (init, message) => {
    expect(() => validateSplitSpec(spec(init), schema)).toThrow(InvalidArgumentError);
    expect(() => validateSplitSpec(spec(init), schema)).toThrow(message);
  });

  it("uses the caller's field name", () => {
    expect(() => validateSplitSpec(spec({ keyColumn: "x" }), schema, "metadata.split")).toThrow(
      /metadata\.split\.key_column/,
    );
  });
});

describe("splitOfKey", () => {
  it("is pinned: same spec and key give these splits forever", () => {
    const s = spec(); // seed 42, 0.6 / 0.2 / 0.2
    const letters = (splits: Split[]) =>
      splits.map((x) => ({ 1: "T", 2: "V", 3: "X" })[x as 1 | 2 | 3]).join("");
    expect(letters(Array.from({ length: 16 }, (_, i) => splitOfKey(s, i)))).toBe("XXTTTXTTTTTXXTXX");
    expect(
      letters(["alice", "bob", "carol", "dave", "erin", "", "é", "日本"].map((k) => splitOfKey(s, k))),
    ).toBe("XTTTTTXT");
    expect(letters([true, false, null, 0n, -1n, 9007199254740993n].map((k) => splitOfKey(s, k)))).toBe(
      "TTTXVV",
    );
  });

  it("agrees with the BigInt reference for integers, incl. negatives and int64 extremes", () => {
    const s = spec({ seed: 0xdeadbeefcafef00dn });
    for (const v of [0n, 1n, -1n, 123456789012345n, -(2n ** 63n), 2n ** 63n - 1n]) {
      expect(splitOfKey(s, v)).toBe(referenceSplit(s, intPayload(v)));
    }
    for (let i = 0; i < 200; i++) expect(splitOfKey(s, i)).toBe(referenceSplit(s, intPayload(BigInt(i))));
    expect(splitOfKey(s, -5)).toBe(splitOfKey(s, -5n));
  });

  it("agrees with the reference for strings (UTF-8) and bools", () => {
    const s = spec({ seed: 7n });
    for (const k of ["", "a", "naïve", "日本語", "🎉"]) {
      const utf = new TextEncoder().encode(k);
      expect(splitOfKey(s, k)).toBe(referenceSplit(s, Uint8Array.of(0x03, ...utf)));
    }
    expect(splitOfKey(s, true)).toBe(referenceSplit(s, Uint8Array.of(0x02, 1)));
    expect(splitOfKey(s, null)).toBe(referenceSplit(s, Uint8Array.of(0x00)));
  });

  it("refuses non-integer numbers", () => {
    expect(() => splitOfKey(spec(), 1.5)).toThrow(InvalidArgumentError);
  });

  it("honours edge fractions exactly", () => {
    const keys = Array.from({ length: 2000 }, (_, i) => i);
    const all = (s: SplitSpec) => new Set(keys.map((k) => splitOfKey(s, k)));
    expect(all(spec({ trainFraction: 1, validationFraction: 0, testFraction: 0 }))).toEqual(
      new Set([Split.TRAIN]),
    );
    expect(all(spec({ trainFraction: 0, validationFraction: 1, testFraction: 0 }))).toEqual(
      new Set([Split.VALIDATION]),
    );
    expect(all(spec({ trainFraction: 0, validationFraction: 0, testFraction: 1 }))).toEqual(
      new Set([Split.TEST]),
    );
    // Fractions summing to 1 - 1e-10 must still never reach an empty test split.
    expect(
      all(spec({ trainFraction: 0.5, validationFraction: 0.4999999999, testFraction: 0 })),
    ).not.toContain(Split.TEST);
  });

  it("depends on the seed", () => {
    const a = Array.from({ length: 64 }, (_, i) => splitOfKey(spec({ seed: 1n }), i));
    const b = Array.from({ length: 64 }, (_, i) => splitOfKey(spec({ seed: 2n }), i));
    expect(a).not.toEqual(b);
  });
});

describe("assignSplits / countSplits", () => {
  it("matches splitOfKey for every key column type and for row indexes", () => {
    const s = spec({ seed: 99n });
    const batch = batchOf({
      id: int64([5n, -3n, null, 2n ** 62n]),
      name: utf8(["x", null, "ü", ""]),
      flag: bool([true, false, null, true]),
      at: timestampMs([0, 1714564800000, null, -1]),
    });
    const expectKeys = (column: string, keys: Array<bigint | string | boolean | null>) =>
      expect([...assignSplits(batch, spec({ seed: 99n, keyColumn: column }), 0)]).toEqual(
        keys.map((k) => splitOfKey(s, k)),
      );
    expectKeys("id", [5n, -3n, null, 2n ** 62n]);
    expectKeys("name", ["x", null, "ü", ""]);
    expectKeys("flag", [true, false, null, true]);
    expectKeys("at", [0n, 1714564800000n, null, -1n]);
    expect([...assignSplits(batch, s, 1000)]).toEqual([1000, 1001, 1002, 1003].map((i) => splitOfKey(s, i)));
  });

  it("handles sliced batches (non-zero data offsets)", () => {
    const s = spec({ keyColumn: "name" });
    const batch = batchOf({
      name: utf8(["a", "b", null, "d", "e"]),
      flag: bool([true, false, null, true, false]),
    });
    const sliced = batch.slice(1, 5);
    expect([...assignSplits(sliced, s, 0)]).toEqual(["b", null, "d", "e"].map((k) => splitOfKey(s, k)));
    const f = spec({ keyColumn: "flag" });
    expect([...assignSplits(sliced, f, 0)]).toEqual([false, null, true, false].map((k) => splitOfKey(f, k)));
  });

  it("puts equal keys in the same split", () => {
    const users = Array.from({ length: 5000 }, (_, i) => `user-${i % 37}`);
    const s = spec({ keyColumn: "user" });
    const splits = assignSplits(batchOf({ user: utf8(users) }), s, 0);
    const byUser = new Map<string, Set<number>>();
    users.forEach((u, i) => {
      const set = byUser.get(u) ?? new Set();
      set.add(splits[i] as number);
      byUser.set(u, set);
    });
    expect(byUser.size).toBe(37);
    for (const set of byUser.values()) expect(set.size).toBe(1);
  });

  it("gives every null key the same split", () => {
    const splits = assignSplits(batchOf({ k: int64(Array(50).fill(null)) }), spec({ keyColumn: "k" }), 0);
    expect(new Set(splits).size).toBe(1);
  });

  it("hits the fractions within 1% over 100k rows, counted across batches", async () => {
    const rows = 100_000;
    const batches = [0, 1, 2, 3].map((b) =>
      batchOf({ id: int64(Array.from({ length: rows / 4 }, (_, i) => BigInt(b * (rows / 4) + i))) }),
    );
    for (const keyColumn of ["", "id"]) {
      const s = spec({
        seed: 2024n,
        trainFraction: 0.7,
        validationFraction: 0.2,
        testFraction: 0.1,
        keyColumn,
      });
      const counts = await countSplits(sourceOf(batches), s);
      expect(Number(counts.train + counts.validation + counts.test)).toBe(rows);
      expect(Number(counts.train) / rows).toBeCloseTo(0.7, 1);
      expect(Math.abs(Number(counts.train) / rows - 0.7)).toBeLessThan(0.01);
      expect(Math.abs(Number(counts.validation) / rows - 0.2)).toBeLessThan(0.01);
      expect(Math.abs(Number(counts.test) / rows - 0.1)).toBeLessThan(0.01);
      // The mask is the same assignment, row index continuing across batches.
      let masked = 0;
      let first = 0;
      for (const batch of batches) {
        masked += rowSplitMask(batch, s, first, Split.VALIDATION).reduce((a, b) => a + b, 0);
        first += batch.numRows;
      }
      expect(masked).toBe(Number(counts.validation));
    }
  });
});
