import { describe, expect, it } from "vitest";
import { datasetUsageTokens, featureServiceUsageTokens } from "./usage-page-tokens.js";

const V1 = "1".padStart(19, "0");

describe("usage page tokens", () => {
  it("round-trip the positions of their own listing", () => {
    for (const position of [`churn/${V1}`, `aaaa/churn/${V1}`, `%2F~x/churn.eu/${V1}`]) {
      expect(datasetUsageTokens.decode(datasetUsageTokens.encode(position))).toBe(position);
    }
    expect(featureServiceUsageTokens.decode(featureServiceUsageTokens.encode(`churn-v2#${V1}`))).toBe(
      `churn-v2#${V1}`,
    );
    expect(datasetUsageTokens.decode("")).toBeUndefined();
    expect(featureServiceUsageTokens.decode("")).toBeUndefined();
  });

  it("refuse another listing's tokens and positions outside their key layout", () => {
    expect(() => featureServiceUsageTokens.decode(datasetUsageTokens.encode(`churn/${V1}`))).toThrow(
      /page_token/,
    );
    expect(() => datasetUsageTokens.decode(featureServiceUsageTokens.encode(`churn#${V1}`))).toThrow(
      /page_token/,
    );
    for (const position of [`churn/${V1}`, `a/churn#${V1}`, `churn#1`, `-churn#${V1}`, "", `churn#${V1}x`]) {
      expect(
        () => featureServiceUsageTokens.decode(featureServiceUsageTokens.encode(position)),
        position,
      ).toThrow(/page_token/);
    }
  });
});
