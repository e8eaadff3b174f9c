import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../errors/index.js";
import {
  checkDescription,
  checkResourceName,
  checkResourceNamePrefix,
  checkSha256,
  checkTags,
  decodePageToken,
  encodePageToken,
  isResourceName,
  pageSizeOf,
} from "./index.js";

describe("naming", () => {
  it("accepts resource names of letters, digits, - _ . starting alphanumeric, 1..128 long", () => {
    for (const ok of ["a", "A.b-c_d", "9lives", "x".repeat(128)]) {
      expect(checkResourceName(ok, "dataset")).toBe(ok);
      expect(isResourceName(ok)).toBe(true);
    }
    for (const bad of ["", "-a", ".a", "a/b", "a b", "é", "x".repeat(129), "a\u0000", "a@b"]) {
      expect(() => checkResourceName(bad, "dataset", "metadata.dataset"), bad).toThrow(InvalidArgumentError);
      expect(isResourceName(bad)).toBe(false);
    }
    expect(() => checkResourceName("a/b", "dataset", "metadata.dataset")).toThrow(
      /metadata\.dataset "a\/b" is not a valid dataset name/,
    );
  });

  it("checks name prefixes, descriptions, tags and sha256s", () => {
    expect(checkResourceNamePrefix("")).toBe("");
    expect(checkResourceNamePrefix("-iris")).toBe("-iris");
    expect(() => checkResourceNamePrefix("a/")).toThrow(/name_prefix/);
    expect(() => checkDescription("x".repeat(16 * 1024 + 1))).toThrow(/description/);
    checkTags({ team: "growth", "k8s.io/app": "x" });
    expect(() => checkTags({ "": "x" })).toThrow(/tags: key ""/);
    expect(() => checkTags({ k: "v".repeat(257) })).toThrow(/at most 256/);
    expect(() => checkTags(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, ""])))).toThrow(
      /at most 64 tags/,
    );
    expect(checkSha256("AB".repeat(32), "sha")).toBe("ab".repeat(32));
    expect(() => checkSha256("ab", "sha")).toThrow(/sha must be 64 hex digits/);
  });

  it("resolves page sizes", () => {
    expect(pageSizeOf(0)).toBe(50);
    expect(pageSizeOf(1000)).toBe(1000);
    expect(() => pageSizeOf(1001)).toThrow(/page_size/);
    expect(() => pageSizeOf(-1)).toThrow(/page_size/);
  });

  it("round-trips page tokens and refuses forged or foreign ones", () => {
    const digits = (p: string) => /^[0-9]+$/.test(p);
    expect(decodePageToken(encodePageToken("n1:", "42"), "n1:", digits)).toBe("42");
    expect(decodePageToken("", "n1:", digits)).toBeUndefined();
    const forged = (text: string) => Buffer.from(text).toString("base64url");
    for (const bad of [forged("n1:4x"), forged("x1:42"), forged("42"), "%%%", "a".repeat(500)]) {
      expect(() => decodePageToken(bad, "n1:", digits), bad).toThrow(/page_token is not valid/);
    }
  });
});
