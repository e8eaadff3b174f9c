import { InvalidArgumentError } from "@seam/kit/errors";
import { describe, expect, it } from "vitest";
import {
  checkAlias,
  checkModelName,
  decodeModelPageToken,
  decodeVersionPageToken,
  encodeModelPageToken,
  encodeVersionPageToken,
  parseReference,
} from "./names.js";

describe("names", () => {
  it("accepts model names of letters, digits, - _ . starting alphanumeric, 1..128 long", () => {
    for (const ok of ["a", "A.b-c_d", "9lives", "x".repeat(128)]) expect(checkModelName(ok)).toBe(ok);
    for (const bad of ["", "-a", ".a", "a/b", "a b", "é", "x".repeat(129), "a\u0000"]) {
      expect(() => checkModelName(bad)).toThrow(InvalidArgumentError);
    }
  });

  it("accepts aliases starting with a letter (so never all digits)", () => {
    for (const ok of ["champion", "A-1", "b_2"]) expect(checkAlias(ok)).toBe(ok);
    for (const bad of ["", "1", "123", "-x", "a.b", "a@b"])
      expect(() => checkAlias(bad)).toThrow(InvalidArgumentError);
  });

  it("parses the three reference forms", () => {
    expect(parseReference("m")).toEqual({ kind: "latest", name: "m" });
    expect(parseReference("m@champion")).toEqual({ kind: "alias", name: "m", alias: "champion" });
    expect(parseReference("m.v2:12")).toEqual({ kind: "version", name: "m.v2", version: 12n });
    for (const bad of ["", "m:", "m:0", "m:-1", "m:1x", "m@", "@a", ":1", "m@1"]) {
      expect(() => parseReference(bad), bad).toThrow(InvalidArgumentError);
    }
  });

  it("round-trips page tokens and refuses forged ones", () => {
    expect(decodeModelPageToken(encodeModelPageToken("team-3"))).toBe("team-3");
    expect(decodeVersionPageToken(encodeVersionPageToken(42n))).toBe(42n);
    expect(decodeModelPageToken("")).toBeUndefined();
    const forged = (text: string) => Buffer.from(text).toString("base64url");
    for (const bad of [forged("m1:a/../b"), forged("team-3"), forged("v1:3"), "%%%", "a".repeat(500)]) {
      expect(() => decodeModelPageToken(bad), bad).toThrow(/page_token/);
    }
    for (const bad of [forged("v1:0"), forged("v1:-3"), forged("v1:1e9"), forged("m1:abc")]) {
      expect(() => decodeVersionPageToken(bad), bad).toThrow(/page_token/);
    }
  });
});
