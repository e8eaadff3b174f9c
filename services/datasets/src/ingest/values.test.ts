import { describe, expect, it } from "vitest";
import {
  INT_INVALID,
  INT_OK,
  INT_OVERFLOW,
  parseBool,
  parsed,
  parseFloat64,
  parseInt64,
  parseTimestamp,
} from "./values.js";

const b = (s: string): Buffer => Buffer.from(s);
const int = (s: string): bigint | string => {
  const status = parseInt64(b(s), 0, s.length);
  if (status !== INT_OK) return status === INT_OVERFLOW ? "overflow" : "invalid";
  return BigInt.asIntN(64, (BigInt(parsed.hi) << 32n) | BigInt(parsed.lo));
};
const float = (s: string): number => parseFloat64(b(s), 0, s.length);
const ts = (s: string): number => parseTimestamp(b(s), 0, s.length);

describe("parseInt64", () => {
  it("parses the int64 range exactly and refuses beyond it", () => {
    expect(int("0")).toBe(0n);
    expect(int("-42")).toBe(-42n);
    expect(int("9007199254740993")).toBe(9007199254740993n);
    expect(int("9223372036854775807")).toBe(9223372036854775807n);
    expect(int("-9223372036854775808")).toBe(-9223372036854775808n);
    expect(int("9223372036854775808")).toBe("overflow");
    expect(int("1.0")).toBe("invalid");
    expect(int("-")).toBe("invalid");
    expect(int("+1")).toBe("invalid");
    expect(parseInt64(b(""), 0, 0)).toBe(INT_INVALID);
  });
});

describe("parseFloat64", () => {
  it("matches Number() on decimal text", () => {
    for (const s of [
      "1.5",
      "-0.25",
      ".5",
      "5.",
      "1e3",
      "1E-7",
      "123456789.123456789",
      "0.1",
      "2.2250738585072014e-308",
    ]) {
      expect(float(s)).toBe(Number(s));
    }
  });
  it("refuses NaN, infinities, overflow and junk", () => {
    for (const s of ["NaN", "Infinity", "-Infinity", "1e999", "1.2.3", "e5", "1e", "", "0x10", " 1"]) {
      expect(float(s)).toBeNaN();
    }
  });
});

describe("parseBool", () => {
  it("takes true/false in any case", () => {
    expect(parseBool(b("TRUE"), 0, 4)).toBe(1);
    expect(parseBool(b("False"), 0, 5)).toBe(0);
    expect(parseBool(b("yes"), 0, 3)).toBe(-1);
  });
});

describe("parseTimestamp", () => {
  it("parses dates and zoned date-times like Date.parse", () => {
    for (const s of [
      "2024-05-01",
      "2024-05-01T12:00:00Z",
      "2024-05-01T12:00Z",
      "2024-02-29T23:59:59.123+02:00",
      "1969-12-31T23:59:59.999Z",
      "0001-01-01T00:00:00Z",
    ]) {
      expect(ts(s)).toBe(Date.parse(s));
    }
    expect(ts("2024-05-01 12:00:00-0130")).toBe(Date.parse("2024-05-01T12:00:00-01:30"));
    expect(ts("2024-05-01T12:00:00.123456Z")).toBe(Date.parse("2024-05-01T12:00:00.123Z"));
  });
  it("refuses zoneless date-times and impossible dates", () => {
    for (const s of [
      "2024-05-01T12:00:00",
      "2023-02-29",
      "2024-13-01",
      "2024-05-01T24:00:00Z",
      "2024-5-1",
      "x",
    ]) {
      expect(ts(s)).toBeNaN();
    }
  });
});
