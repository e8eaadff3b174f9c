import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { describe, expect, it } from "vitest";
import { entityKeyFromArrow, entityKeyFromText, sortJoinKeys } from "./entity-key.js";

const KEYS = sortJoinKeys([
  { name: "user_id", type: ColumnType.INT64 },
  { name: "merchant", type: ColumnType.STRING },
]);

describe("entity keys", () => {
  it("lists join keys sorted by name, the same from request text and from Arrow values", () => {
    expect(entityKeyFromText(KEYS, { user_id: "42", merchant: "m7" }, () => "row")).toBe(
      "merchant=m7,user_id=42",
    );
    expect(entityKeyFromArrow(KEYS, ["m7", 42n])).toBe("merchant=m7,user_id=42");
  });

  it("normalises int64 text and refuses what is not an int64", () => {
    expect(entityKeyFromText(KEYS, { user_id: "+0042", merchant: "m" }, () => "row")).toBe(
      "merchant=m,user_id=42",
    );
    expect(entityKeyFromText(KEYS, { user_id: "-0", merchant: "m" }, () => "row")).toBe(
      "merchant=m,user_id=0",
    );
    expect(entityKeyFromText(KEYS, { user_id: "-17", merchant: "m" }, () => "row")).toBe(
      "merchant=m,user_id=-17",
    );
    expect(
      entityKeyFromText(KEYS, { user_id: "-9223372036854775808", merchant: "m" }, () => "row"),
    ).toContain("user_id=-9223372036854775808");
    for (const bad of ["", "4.2", "1e3", "x", "9223372036854775808"]) {
      expect(() => entityKeyFromText(KEYS, { user_id: bad, merchant: "m" }, () => "entities[3]")).toThrow(
        `entities[3]: join key "user_id": ${JSON.stringify(bad)} is not an int64`,
      );
    }
    expect(() => entityKeyFromText(KEYS, { user_id: "1" }, () => "entities[0]")).toThrow(
      'entities[0]: join key "merchant" is missing',
    );
  });

  it("escapes separators and hash-tag braces so no value can forge another key", () => {
    const forged = entityKeyFromText(KEYS, { merchant: "a,user_id=1", user_id: "2" }, () => "row");
    const plain = entityKeyFromText(KEYS, { merchant: "a", user_id: "1" }, () => "row");
    expect(forged).not.toBe(plain);
    expect(forged).toBe("merchant=a%2cuser_id%3d1,user_id=2");
    expect(entityKeyFromText(KEYS, { merchant: "{x}%", user_id: "1" }, () => "row")).toBe(
      "merchant=%7bx%7d%25,user_id=1",
    );
  });

  it("has no key when a join key value is null", () => {
    expect(entityKeyFromArrow(KEYS, [null, 1n])).toBeUndefined();
  });
});
